// Copies of real files through the built kaio-cp, checked byte for byte: sizes around the
// 512-byte sector and the block, a large file, default and small --bs/--iodepth, permissions,
// an existing destination, --fsync, --verify, -v, and the progress bar on a terminal.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <tuple>

#include "kaio_cp.hpp"

namespace kaio::testing {
namespace {

namespace fs = std::filesystem;

struct option_set {
	const char *name;
	const char *arguments;
};

// For test names and messages: the set's name, not its bytes.
void PrintTo(const option_set &options, std::ostream *out)
{
	*out << options.name;
}

constexpr option_set defaults{"Defaults", ""};
constexpr option_set one_sector_one_deep{"Bs512Depth1", "--bs 512 --iodepth 1"};
constexpr option_set odd_block{"Bs12kDepth3", "--bs 12k --iodepth 3"};

// Copies a random file of `size` bytes with `arguments` and checks the copy.
void expect_exact_copy(const fs::path &directory, std::uint64_t size, const std::string &arguments)
{
	fs::path source = directory / "source";
	fs::path destination = directory / "destination";
	write_random_file(source, size);
	command_result result = run_kaio_cp(arguments + " " + operands(source, destination));
	ASSERT_EQ(result.exit_status, 0) << result.output;
	EXPECT_EQ(result.output, "") << "nothing is printed on success without -v";
	expect_same_file(source, destination);
}

class KaioCpSizes : public ::testing::TestWithParam<std::tuple<std::uint64_t, option_set>> {};

TEST_P(KaioCpSizes, CopiesExactly)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	auto [size, options] = GetParam();
	expect_exact_copy(scratch.directory(), size, options.arguments);
}

INSTANTIATE_TEST_SUITE_P(AroundSectorsAndBlocks, KaioCpSizes,
			 ::testing::Combine(::testing::Values(0, 1, 511, 512, 4095, mib + 1),
					    ::testing::Values(defaults, one_sector_one_deep,
							      odd_block)),
			 [](const auto &test) {
				 return "Size" + std::to_string(std::get<0>(test.param)) + "_" +
					std::get<1>(test.param).name;
			 });

// A few hundred MiB in the optimised build. Under a sanitizer every byte costs ten times more
// (a minute a copy under TSan): the same pipeline there runs through fewer blocks, 48 of the
// default 1 MiB (three times the default depth) and 768 of 64 KiB.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::uint64_t large_size = 48 * mib + 12345;
#else
constexpr std::uint64_t large_size = 300 * mib + 12345;
#endif

TEST(KaioCpCopy, LargeFileWithDefaults)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	expect_exact_copy(scratch.directory(), large_size, "");
}

TEST(KaioCpCopy, LargeFileWithSmallBlocksAndDepth)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	expect_exact_copy(scratch.directory(), large_size, "--bs 64k --iodepth 4");
}

TEST(KaioCpCopy, KeepsPermissionBits)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	for (unsigned mode : {0640u, 0755u, 0400u}) {
		fs::path source = scratch.directory() / "source";
		fs::path destination = scratch.directory() / ("copy-" + std::to_string(mode));
		write_random_file(source, 4096 + 7);
		fs::permissions(source, static_cast<fs::perms>(mode));
		command_result result = run_kaio_cp(operands(source, destination));
		ASSERT_EQ(result.exit_status, 0) << result.output;
		EXPECT_EQ(permission_bits(destination), mode) << std::oct << mode;
		fs::remove(source);
	}
}

TEST(KaioCpCopy, OverwritesALongerDestinationAndTakesTheSourcePermissions)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 3 * mib + 100, 1);
	write_random_file(destination, 9 * mib, 2);
	fs::permissions(source, static_cast<fs::perms>(0640));
	fs::permissions(destination, static_cast<fs::perms>(0666));
	command_result result = run_kaio_cp(operands(source, destination));
	ASSERT_EQ(result.exit_status, 0) << result.output;
	expect_same_file(source, destination);
	EXPECT_EQ(permission_bits(destination), 0640u);
}

TEST(KaioCpCopy, FsyncSucceeds)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	expect_exact_copy(scratch.directory(), 5 * mib + 123, "--fsync");
}

TEST(KaioCpCopy, VerifySucceeds)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	expect_exact_copy(scratch.directory(), 5 * mib + 123, "--verify --bs 64k --iodepth 5");
}

TEST(KaioCpCopy, FsyncAndVerifyOfAnEmptyFile)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	expect_exact_copy(scratch.directory(), 0, "--fsync --verify");
}

TEST(KaioCpCopy, VerbosePrintsOneSummaryLine)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 2 * mib);
	command_result result = run_kaio_cp("-v --verify " + operands(source, destination));
	ASSERT_EQ(result.exit_status, 0) << result.output;
	EXPECT_NE(result.output.find("2097152 bytes (2 MiB)"), std::string::npos) << result.output;
	EXPECT_NE(result.output.find(" s, "), std::string::npos) << result.output;
	EXPECT_NE(result.output.find("MiB/s, verified\n"), std::string::npos) << result.output;
	EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
}

// script(1) gives kaio-cp a terminal; the first redraw is due at once, so a bar is always drawn.
TEST(KaioCpCopy, DrawsAProgressBarOnATerminal)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	if (run_command("script --version").exit_status != 0)
		GTEST_SKIP() << "script(1) from util-linux is needed to run kaio-cp on a terminal";
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 4 * mib);
	std::string command = std::string(KAIO_CP) + " " + operands(source, destination);
	command_result result = run_command("script -qec " + shell_quoted(command) + " /dev/null");
	ASSERT_EQ(result.exit_status, 0) << result.output;
	EXPECT_NE(result.output.find("copy ["), std::string::npos) << result.output;
	EXPECT_NE(result.output.find("ETA"), std::string::npos) << result.output;
	expect_same_file(source, destination);
}

} // namespace
} // namespace kaio::testing
