// What kaio-stress writes: every 4 KiB block opens with its file offset, a generation (which
// write put it there) and a checksum of the rest, which is filled from offset and generation.
// A read can then tell a block that is misplaced, torn, stale or corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kaio::stress {

constexpr std::size_t block_size = 4096;

struct block_header {
	std::uint64_t offset;
	std::uint64_t generation;
	std::uint64_t checksum; // of the bytes after the header
};

inline std::uint64_t mix(std::uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

// FNV-1a over the payload.
inline std::uint64_t checksum_of(const std::byte *payload, std::size_t size)
{
	std::uint64_t sum = 0xcbf29ce484222325ull;
	for (std::size_t i = 0; i < size; ++i)
		sum = (sum ^ static_cast<std::uint64_t>(payload[i])) * 0x100000001b3ull;
	return sum;
}

inline void stamp(std::byte *block, std::uint64_t offset, std::uint64_t generation)
{
	std::byte *payload = block + sizeof(block_header);
	std::size_t words = (block_size - sizeof(block_header)) / 8;
	for (std::size_t i = 0; i < words; ++i) {
		std::uint64_t value = mix(offset ^ (generation << 40) ^ i);
		std::memcpy(payload + i * 8, &value, 8);
	}
	block_header header{offset, generation,
			    checksum_of(payload, block_size - sizeof(block_header))};
	std::memcpy(block, &header, sizeof header);
}

// The generation the block holds, or -1 when it is not an intact block stamped for `offset`.
inline long long stamped_generation(const std::byte *block, std::uint64_t offset)
{
	block_header header{};
	std::memcpy(&header, block, sizeof header);
	const std::byte *payload = block + sizeof(block_header);
	if (header.offset != offset ||
	    header.checksum != checksum_of(payload, block_size - sizeof(block_header)))
		return -1;
	return static_cast<long long>(header.generation);
}

} // namespace kaio::stress
