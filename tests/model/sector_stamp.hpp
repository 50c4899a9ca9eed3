// The contents the model writes: every 512-byte sector of a block carries a pattern derived from
// the block's index, the sector's index and a tag (which write put it there), so a sector that
// is stale, misplaced or torn shows, and a short transfer can be checked sector by sector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kaio::model {

constexpr std::size_t sector = 512;
constexpr std::size_t block_size = 4096;
constexpr std::size_t sectors_per_block = block_size / sector;

// splitmix64: a cheap, well-mixed word from a counter.
inline std::uint64_t mix(std::uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

inline std::uint64_t stamp_word(std::uint32_t tag, std::uint32_t block, std::size_t sector_index,
				std::size_t word)
{
	return mix((std::uint64_t{tag} << 32) ^ (std::uint64_t{block} << 16) ^ (sector_index << 8) ^
		   word);
}

inline void stamp_sector(std::byte *to, std::uint32_t tag, std::uint32_t block, std::size_t index)
{
	for (std::size_t word = 0; word < sector / 8; ++word) {
		std::uint64_t value = stamp_word(tag, block, index, word);
		std::memcpy(to + word * 8, &value, 8);
	}
}

inline void stamp_block(std::byte *to, std::uint32_t tag, std::uint32_t block)
{
	for (std::size_t index = 0; index < sectors_per_block; ++index)
		stamp_sector(to + index * sector, tag, block, index);
}

inline bool sector_holds(const std::byte *at, std::uint32_t tag, std::uint32_t block,
			 std::size_t index)
{
	for (std::size_t word = 0; word < sector / 8; ++word) {
		std::uint64_t value = 0;
		std::memcpy(&value, at + word * 8, 8);
		if (value != stamp_word(tag, block, index, word))
			return false;
	}
	return true;
}

} // namespace kaio::model
