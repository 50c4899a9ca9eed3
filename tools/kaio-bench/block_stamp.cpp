#include "block_stamp.hpp"

#include <fmt/core.h>

#include <time.h>
#include <unistd.h>

#include <cstring>

namespace kaio::bench {
namespace {

constexpr std::uint64_t magic = 0x6b61696f62656e63; // "kaiobenc"
constexpr std::size_t words = stamp_unit / sizeof(std::uint64_t);
// Sector layout, in 64-bit words.
constexpr std::size_t magic_word = 0, offset_word = 1, generation_word = 2, checksum_word = 3;
constexpr std::size_t first_payload_word = 4;

// splitmix64's finalizer: every input bit moves about half the output bits.
std::uint64_t mix(std::uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9;
	x ^= x >> 27;
	x *= 0x94d049bb133111eb;
	return x ^ (x >> 31);
}

std::uint64_t word_at(const std::byte *sector, std::size_t index)
{
	std::uint64_t value = 0;
	std::memcpy(&value, sector + index * sizeof value, sizeof value);
	return value;
}

void put_word(std::byte *sector, std::size_t index, std::uint64_t value)
{
	std::memcpy(sector + index * sizeof value, &value, sizeof value);
}

// Each payload word weighted by a distinct odd number, so any one changed word changes the sum;
// the header words go through the final mix.
std::uint64_t checksum_of(const std::byte *sector)
{
	std::uint64_t sum = 0;
	for (std::size_t i = first_payload_word; i < words; ++i)
		sum += word_at(sector, i) * (2 * i + 1);
	return mix(sum ^ mix(word_at(sector, offset_word) ^ mix(word_at(sector, generation_word))));
}

// The payload's words follow from the header's offset and generation.
std::uint64_t payload_seed(std::uint64_t offset, std::uint64_t generation)
{
	return mix(offset ^ mix(generation));
}

void stamp_sector(std::byte *sector, std::uint64_t offset, std::uint64_t generation)
{
	put_word(sector, magic_word, magic);
	put_word(sector, offset_word, offset);
	put_word(sector, generation_word, generation);
	std::uint64_t seed = payload_seed(offset, generation);
	for (std::size_t i = first_payload_word; i < words; ++i)
		put_word(sector, i, mix(seed + i));
	put_word(sector, checksum_word, checksum_of(sector));
}

// Word for word against what the header implies: the checksum alone misses changes that cancel
// out in its sum (the top bits of two words flipped).
bool payload_as_stamped(const std::byte *sector)
{
	std::uint64_t seed =
		payload_seed(word_at(sector, offset_word), word_at(sector, generation_word));
	for (std::size_t i = first_payload_word; i < words; ++i) {
		if (word_at(sector, i) != mix(seed + i))
			return false;
	}
	return true;
}

stamp_check check_sector(const std::byte *sector, std::uint64_t offset,
			 std::optional<std::uint64_t> generation)
{
	if (word_at(sector, magic_word) != magic)
		return {stamp_fault::no_stamp, offset, 0};
	if (word_at(sector, checksum_word) != checksum_of(sector) || !payload_as_stamped(sector))
		return {stamp_fault::bad_checksum, offset, 0};
	if (std::uint64_t found = word_at(sector, offset_word); found != offset)
		return {stamp_fault::wrong_offset, offset, found};
	std::uint64_t found = word_at(sector, generation_word);
	if (generation && found != *generation)
		return {stamp_fault::wrong_generation, offset, found};
	return {};
}

} // namespace

std::uint64_t new_generation()
{
	timespec now{};
	::clock_gettime(CLOCK_REALTIME, &now);
	std::uint64_t nanoseconds =
		std::uint64_t(now.tv_sec) * 1'000'000'000 + std::uint64_t(now.tv_nsec);
	std::uint64_t generation = mix(nanoseconds + (std::uint64_t(::getpid()) << 40));
	return generation == layout_generation ? 1 : generation;
}

void stamp_block(std::span<std::byte> block, std::uint64_t offset, std::uint64_t generation)
{
	for (std::size_t at = 0; at + stamp_unit <= block.size(); at += stamp_unit)
		stamp_sector(block.data() + at, offset + at, generation);
}

stamp_check check_block(std::span<const std::byte> block, std::uint64_t offset,
			std::optional<std::uint64_t> generation)
{
	for (std::size_t at = 0; at + stamp_unit <= block.size(); at += stamp_unit) {
		stamp_check check = check_sector(block.data() + at, offset + at, generation);
		if (!check)
			return check;
	}
	return {};
}

std::string describe(const stamp_check &check)
{
	switch (check.fault) {
	case stamp_fault::none: return "ok";
	case stamp_fault::no_stamp: return "no stamp (not written by kaio-bench, or overwritten)";
	case stamp_fault::bad_checksum: return "checksum mismatch";
	case stamp_fault::wrong_offset:
		return fmt::format("holds the block written for offset {}", check.found);
	case stamp_fault::wrong_generation:
		return fmt::format("holds data of an earlier write (generation {:#x})",
				   check.found);
	}
	return "?";
}

} // namespace kaio::bench
