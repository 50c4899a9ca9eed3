// What the kaio-cp tests share: running the built binary as a user would, and making and
// comparing real files in a scratch directory that supports O_DIRECT.
#pragma once

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/direct_file.hpp"
#include "support/run_command.hpp"

namespace kaio::testing {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

// "'SRC' 'DST'"
inline std::string operands(const std::filesystem::path &source,
			    const std::filesystem::path &destination)
{
	return shell_quoted(source) + " " + shell_quoted(destination);
}

// `arguments` as the shell splits them; stdout and stderr together.
inline command_result run_kaio_cp(const std::string &arguments)
{
	return run_command(std::string(KAIO_CP) + " " + arguments);
}

// `size` bytes that only this seed gives, so a misplaced block cannot pass a comparison.
inline void write_random_file(const std::filesystem::path &path, std::uint64_t size,
			      std::uint64_t seed = 1)
{
	std::mt19937_64 generator(seed);
	std::vector<std::uint64_t> chunk(mib / sizeof(std::uint64_t));
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	for (std::uint64_t written = 0; written < size;) {
		std::generate(chunk.begin(), chunk.end(), std::ref(generator));
		std::uint64_t now = std::min<std::uint64_t>(mib, size - written);
		out.write(reinterpret_cast<const char *>(chunk.data()),
			  static_cast<std::streamsize>(now));
		written += now;
	}
	ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// The first offset where the two files differ (including where the shorter one ends), or
// nothing when they are byte for byte the same.
inline std::optional<std::uint64_t> first_difference(const std::filesystem::path &a,
						     const std::filesystem::path &b)
{
	std::ifstream left(a, std::ios::binary);
	std::ifstream right(b, std::ios::binary);
	std::vector<char> left_chunk(mib);
	std::vector<char> right_chunk(mib);
	for (std::uint64_t offset = 0;; offset += mib) {
		left.read(left_chunk.data(), static_cast<std::streamsize>(mib));
		right.read(right_chunk.data(), static_cast<std::streamsize>(mib));
		auto left_got = static_cast<std::size_t>(left.gcount());
		auto right_got = static_cast<std::size_t>(right.gcount());
		std::size_t common = std::min(left_got, right_got);
		auto at = static_cast<std::uint64_t>(std::mismatch(left_chunk.begin(),
								   left_chunk.begin() + common,
								   right_chunk.begin())
							     .first -
						     left_chunk.begin());
		if (at < common || left_got != right_got)
			return offset + at;
		if (left_got < mib)
			return std::nullopt;
	}
}

inline unsigned permission_bits(const std::filesystem::path &path)
{
	struct stat status {};
	if (::stat(path.c_str(), &status) != 0)
		return ~0u;
	return status.st_mode & 0777;
}

// Expects `copy` to be exactly as long as `original` and the same byte for byte.
inline void expect_same_file(const std::filesystem::path &original,
			     const std::filesystem::path &copy)
{
	ASSERT_TRUE(std::filesystem::exists(copy)) << copy;
	EXPECT_EQ(std::filesystem::file_size(copy), std::filesystem::file_size(original));
	std::optional<std::uint64_t> difference = first_difference(original, copy);
	EXPECT_FALSE(difference.has_value())
		<< "first difference at offset " << difference.value_or(0);
}

} // namespace kaio::testing
