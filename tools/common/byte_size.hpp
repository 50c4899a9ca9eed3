// Sizes as people type them on a command line: 4096, 4k, 128K, 1m, 1G (powers of 1024).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kaio::tools {

// The number of bytes, or nothing when `text` is not a size.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

// 4096 -> "4 KiB", 1536 -> "1.5 KiB".
std::string format_bytes(double bytes);

} // namespace kaio::tools
