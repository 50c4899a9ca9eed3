// --verify's stamps: what one run writes checks clean; another generation, another offset,
// a changed byte or unstamped data each show, at the offset of the sector concerned.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "block_stamp.hpp"

namespace kaio::bench {
namespace {

constexpr std::uint64_t generation = 0x1234;
constexpr std::uint64_t offset = 1 << 20;

std::vector<std::byte> stamped(std::size_t size = 4096)
{
	std::vector<std::byte> block(size);
	stamp_block(block, offset, generation);
	return block;
}

TEST(BlockStamp, WhatWasWrittenChecksClean)
{
	std::vector<std::byte> block = stamped();
	EXPECT_TRUE(check_block(block, offset, generation));
	EXPECT_TRUE(check_block(block, offset, std::nullopt));
}

TEST(BlockStamp, EverySectorChecksOnItsOwn)
{
	std::vector<std::byte> block = stamped(8192);
	std::span<const std::byte> third(block.data() + 2 * stamp_unit, stamp_unit);
	EXPECT_TRUE(check_block(third, offset + 2 * stamp_unit, generation));
}

TEST(BlockStamp, AnotherGenerationIsNamed)
{
	stamp_check check = check_block(stamped(), offset, generation + 1);
	EXPECT_EQ(check.fault, stamp_fault::wrong_generation);
	EXPECT_EQ(check.offset, offset);
	EXPECT_EQ(check.found, generation);
}

TEST(BlockStamp, AnotherOffsetIsNamed)
{
	stamp_check check = check_block(stamped(), offset + 4096, std::nullopt);
	EXPECT_EQ(check.fault, stamp_fault::wrong_offset);
	EXPECT_EQ(check.offset, offset + 4096);
	EXPECT_EQ(check.found, offset);
}

TEST(BlockStamp, AChangedByteIsFoundInItsSector)
{
	std::vector<std::byte> block = stamped();
	block[3 * stamp_unit + 100] ^= std::byte{1};
	stamp_check check = check_block(block, offset, generation);
	EXPECT_EQ(check.fault, stamp_fault::bad_checksum);
	EXPECT_EQ(check.offset, offset + 3 * stamp_unit);
	EXPECT_EQ(describe(check), "checksum mismatch");
}

// Changes a weighted sum of the words would not see: the top bit of two words flipped.
TEST(BlockStamp, ChangesThatCancelOutInTheChecksumAreFound)
{
	std::vector<std::byte> block = stamped();
	constexpr std::size_t sector = 2 * stamp_unit;
	block[sector + 8 * 10 + 7] ^= std::byte{0x80};
	block[sector + 8 * 20 + 7] ^= std::byte{0x80};
	stamp_check check = check_block(block, offset, generation);
	EXPECT_EQ(check.fault, stamp_fault::bad_checksum);
	EXPECT_EQ(check.offset, offset + sector);
}

TEST(BlockStamp, UnstampedDataIsNamed)
{
	std::vector<std::byte> zeros(4096);
	stamp_check check = check_block(zeros, offset, std::nullopt);
	EXPECT_EQ(check.fault, stamp_fault::no_stamp);
	EXPECT_EQ(check.offset, offset);
}

TEST(BlockStamp, GenerationsDifferFromTheLayoutsAndFromEachOther)
{
	std::uint64_t first = new_generation();
	EXPECT_NE(first, layout_generation);
	EXPECT_NE(first, new_generation());
}

} // namespace
} // namespace kaio::bench
