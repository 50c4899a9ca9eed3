// What --verify writes and checks. Every 512-byte sector of a block carries a stamp: a magic
// number, its own offset in the file, the generation of the run that wrote it, and a checksum of
// the whole sector, whose rest is a pattern derived from offset and generation. Stamping sectors
// rather than blocks lets a file written with one --bs be checked with another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace kaio::bench {

constexpr std::size_t stamp_unit = 512;

// The generation of the blocks laid out when the file is created; runs use others.
constexpr std::uint64_t layout_generation = 0;

// A generation for a new run, unlike any earlier one's (the clock and the process id, mixed).
std::uint64_t new_generation();

// Fills `block` (whole sectors) as the run `generation` writes it at `offset`.
void stamp_block(std::span<std::byte> block, std::uint64_t offset, std::uint64_t generation);

enum class stamp_fault { none, no_stamp, wrong_offset, wrong_generation, bad_checksum };

struct stamp_check {
	stamp_fault fault = stamp_fault::none;
	std::uint64_t offset = 0; // of the first bad sector
	std::uint64_t found = 0;  // the offset or generation found there, for those faults

	explicit operator bool() const noexcept { return fault == stamp_fault::none; }
};

// Checks the sectors of `block`, read at `offset`. A generation to expect, or any.
stamp_check check_block(std::span<const std::byte> block, std::uint64_t offset,
			std::optional<std::uint64_t> generation);

// "no stamp (never written by kaio-bench, or overwritten)", "checksum mismatch", ...
std::string describe(const stamp_check &check);

} // namespace kaio::bench
