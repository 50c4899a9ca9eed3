#include "byte_size.hpp"

#include <fmt/core.h>

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace kaio::tools {

std::optional<std::uint64_t> parse_byte_size(std::string_view text)
{
	std::uint64_t value = 0;
	auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (error != std::errc{} || end == text.data())
		return std::nullopt;
	std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
	if (suffix.size() == 2 && (suffix[1] == 'b' || suffix[1] == 'B'))
		suffix.remove_suffix(1); // "4kb" as fio accepts it
	if (suffix.size() > 1)
		return std::nullopt;
	int shift = 0;
	if (!suffix.empty()) {
		switch (std::tolower(static_cast<unsigned char>(suffix[0]))) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		default: return std::nullopt;
		}
	}
	if (value > (std::numeric_limits<std::uint64_t>::max() >> shift))
		return std::nullopt;
	return value << shift;
}

std::string format_bytes(double bytes)
{
	static constexpr std::array units{"B", "KiB", "MiB", "GiB", "TiB"};
	std::size_t unit = 0;
	while (bytes >= 1024 && unit + 1 < units.size()) {
		bytes /= 1024;
		++unit;
	}
	return unit == 0 ? fmt::format("{:.0f} {}", bytes, units[unit])
			 : fmt::format("{:.4g} {}", bytes, units[unit]);
}

} // namespace kaio::tools
