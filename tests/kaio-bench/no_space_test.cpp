// ENOSPC midway through a run: as root, a sparse file larger than a small ext4 image is written
// through kaio. kaio-bench must name the failed writes and the reason, count them as errors,
// end the run and exit 1.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bench_command.hpp"
#include "support/direct_file.hpp"
#include "support/small_filesystem.hpp"

namespace kaio::testing {
namespace {

TEST(BenchNoSpace, FailedWritesAreReportedAndTheRunEnds)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	small_filesystem filesystem(scratch.directory());
	if (std::string why = filesystem.mount_image("mkfs.ext4 -q -F", 16 << 20); !why.empty())
		GTEST_SKIP() << why;
	// Sparse and already of the run's size: no layout, the writes themselves fill the disk.
	std::filesystem::path file = filesystem.mount_point() / "sparse";
	std::ofstream{file}.close();
	std::filesystem::resize_file(file, 32 << 20);
	command_result result =
		run_bench("--filename=" + shell_quoted(file) +
			  " --size=32m --bs=64k --rw=write --iodepth=16 --number_ios=512");
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_NE(result.output.find("kaio-bench: write at offset "), std::string::npos)
		<< result.output;
	EXPECT_NE(result.output.find(": No space left on device\n"), std::string::npos)
		<< result.output;
	EXPECT_EQ(result.output.find(", errors=0,"), std::string::npos) << result.output;
}

} // namespace
} // namespace kaio::testing
