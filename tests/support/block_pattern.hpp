// Blocks of 4 KiB (what every device accepts for O_DIRECT) with a pattern that differs from
// block to block and within a block, so that a misplaced, repeated or stale block shows.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <span>

#include "kaio/aligned_buffer.hpp"

namespace kaio::testing {

constexpr std::size_t block = 4096;
constexpr int block_result = static_cast<int>(block); // what a whole-block transfer returns

inline long long offset_of(unsigned index)
{
	return static_cast<long long>(index * block);
}

// Whether two runs of bytes are the same, length and all.
inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b)
{
	return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// The block tagged `tag`, written at `to`.
inline void fill_block(std::byte *to, unsigned tag)
{
	for (std::size_t i = 0; i < block; ++i)
		to[i] = static_cast<std::byte>((tag * 131u + i * 7u) & 0xffu);
}

// `blocks` patterned blocks, tags seed, seed + 1, ...
inline aligned_buffer patterned(unsigned blocks, unsigned seed)
{
	aligned_buffer data(blocks * block);
	for (unsigned i = 0; i < blocks; ++i)
		fill_block(data.data() + i * block, seed + i);
	return data;
}

// Writes patterned(blocks, seed) at the start of the file with plain pwrite(2), to set a file
// up outside the code under test.
inline void write_patterned(int fd, unsigned blocks, unsigned seed)
{
	aligned_buffer data = patterned(blocks, seed);
	ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
	// btrfs may still be finishing a direct write after pwrite returns, and answers a
	// RWF_NOWAIT read of it -EAGAIN (a worker then reads it): in 12 of 200 rounds of the
	// backpressure copy tests, none after this wait. Tests that count calls need one path.
	ASSERT_EQ(::fdatasync(fd), 0);
}

} // namespace kaio::testing
