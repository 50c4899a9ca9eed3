// kaio-bench run as a user would, with bad input: one line on stderr naming the option and the
// reason, exit status 2, and no file laid out.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>

#include "bench_command.hpp"
#include "support/direct_file.hpp"

namespace kaio::testing {
namespace {

// Runs in a fresh directory, so that the default kaio-bench.dat would show there.
class BenchCommandLine : public ::testing::Test {
protected:
	command_result run_here(const std::string &arguments)
	{
		return run_command("cd " + shell_quoted(scratch_.directory()) + " && " +
				   shell_quoted(KAIO_BENCH) + " " + arguments);
	}

	void expect_usage_error(const std::string &arguments, const std::string &message)
	{
		command_result result = run_here(arguments);
		EXPECT_EQ(result.exit_status, 2) << arguments << "\n" << result.output;
		EXPECT_EQ(result.output, "kaio-bench: " + message + "\n") << arguments;
		EXPECT_FALSE(std::filesystem::exists(scratch_.directory() / "kaio-bench.dat"))
			<< arguments;
	}

	direct_file scratch_;
};

TEST_F(BenchCommandLine, HelpListsTheOptions)
{
	command_result result = run_bench("--help");
	EXPECT_EQ(result.exit_status, 0);
	EXPECT_NE(result.output.find("--iodepth"), std::string::npos) << result.output;
	EXPECT_NE(result.output.find("--output-format"), std::string::npos) << result.output;
}

TEST_F(BenchCommandLine, VersionIsTheProjects)
{
	command_result result = run_bench("--version");
	EXPECT_EQ(result.exit_status, 0);
	EXPECT_EQ(result.output,
		  "kaio-bench " KAIO_BENCH_VERSION " (libkaio " KAIO_BENCH_VERSION ")\n");
}

TEST_F(BenchCommandLine, UnknownOption)
{
	expect_usage_error("--ioengine=libaio", "unknown option '--ioengine=libaio'");
	expect_usage_error("stray", "unexpected argument 'stray' (options are --name=value)");
}

TEST_F(BenchCommandLine, SizeNotAMultipleOf512)
{
	expect_usage_error("--size=1000", "--size: 1000 is not a multiple of 512");
	expect_usage_error("--size 1m5", "--size: '1m5' is not a size (like 4096, 4k, 1m, 1g)");
}

TEST_F(BenchCommandLine, BlockSizeNotAMultipleOf512OrLargerThanSize)
{
	expect_usage_error("--bs=4000", "--bs: 4000 is not a multiple of 512");
	expect_usage_error("--bs 1m --size 64k", "--bs: 1m is larger than --size 64k");
}

TEST_F(BenchCommandLine, IodepthOutOfRange)
{
	expect_usage_error("--iodepth=0", "--iodepth: 0 is outside 1..65535");
	expect_usage_error("--iodepth 65536", "--iodepth: 65536 is outside 1..65535");
}

TEST_F(BenchCommandLine, RwmixreadOutOfRange)
{
	expect_usage_error("--rwmixread=101", "--rwmixread: 101 is outside 0..100");
}

TEST_F(BenchCommandLine, UnknownNames)
{
	expect_usage_error("--rw=trim", "--rw: unknown value 'trim' (expected read, write, "
					"randread, randwrite or randrw)");
	expect_usage_error("--engine=libaio",
			   "--engine: unknown value 'libaio' (expected kaio or psync)");
	expect_usage_error("--output-format=terse",
			   "--output-format: unknown value 'terse' (expected normal or json)");
}

TEST_F(BenchCommandLine, OtherNumbers)
{
	expect_usage_error("--numjobs=0", "--numjobs: 0 is outside 1..1024");
	expect_usage_error(
		"--runtime=-1",
		"--runtime: '-1' is not a positive number of seconds (like 10, 2.5, 5m)");
	expect_usage_error("--number_ios=none", "--number_ios: 'none' is not a whole number");
	// Too short to run anything, or past the 64-bit nanosecond deadline: not a run of 0 I/Os.
	expect_usage_error("--runtime=1e-10",
			   "--runtime: '1e-10' is outside 1 ms to one year (31536000 s)");
	expect_usage_error("--runtime=inf",
			   "--runtime: 'inf' is outside 1 ms to one year (31536000 s)");
	expect_usage_error("--size=9000000t", "--size: 9000000t is larger than any file");
}

// A block larger than the file it would create: refused before the file exists.
TEST_F(BenchCommandLine, BlockLargerThanTheDefaultSizeLeavesNoFile)
{
	expect_usage_error(
		"--bs=1536m --iodepth=1",
		"--bs: 1610612736 is larger than the size of kaio-bench.dat (1073741824)");
}

// A file it created but cannot lay out (ext4 takes no file of 100 TiB) is removed again.
TEST_F(BenchCommandLine, FileThatCannotBeLaidOutIsNotLeftBehind)
{
	if (!scratch_.unusable_reason().empty())
		GTEST_SKIP() << scratch_.unusable_reason();
	command_result result = run_here("--size=100t --number_ios=1");
	if (result.exit_status == 0)
		GTEST_SKIP() << "this filesystem took a file of 100 TiB";
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_FALSE(std::filesystem::exists(scratch_.directory() / "kaio-bench.dat"))
		<< result.output;
}

TEST_F(BenchCommandLine, DirectoryAsFilename)
{
	if (!scratch_.unusable_reason().empty())
		GTEST_SKIP() << scratch_.unusable_reason();
	std::string directory = scratch_.directory().string();
	expect_usage_error("--filename=" + shell_quoted(directory),
			   "--filename: " + directory + " is a directory");
}

// A regular file on a filesystem that refuses O_DIRECT. procfs does (open(2) answers EINVAL);
// tmpfs, which once did, accepts it on current kernels. Nothing is ever written to it: the
// check comes first.
TEST_F(BenchCommandLine, FilesystemWithoutODirect)
{
	const char *path = "/proc/version";
	int fd = ::open(path, O_RDONLY | O_DIRECT);
	if (fd >= 0 || errno != EINVAL) {
		if (fd >= 0)
			::close(fd);
		GTEST_SKIP() << path << " takes O_DIRECT here";
	}
	expect_usage_error(std::string("--rw=read --filename=") + path,
			   std::string("--filename: ") + path +
				   ": the filesystem does not support O_DIRECT");
}

} // namespace
} // namespace kaio::testing
