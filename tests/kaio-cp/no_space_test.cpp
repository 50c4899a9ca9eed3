// ENOSPC midway: as root, a small filesystem is mounted (a tmpfs, and an ext4 image on a loop
// device) and a larger file copied onto it. kaio-cp must stop, wait for what is in flight, say
// "No space left on device" naming the destination, and exit 1, never claiming success.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kaio_cp.hpp"
#include "support/small_filesystem.hpp"

namespace kaio::testing {
namespace {

namespace fs = std::filesystem;

class KaioCpNoSpace : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (::geteuid() != 0)
			GTEST_SKIP() << "needs root to mount a small filesystem";
		if (!scratch_.unusable_reason().empty())
			GTEST_SKIP() << scratch_.unusable_reason();
	}

	// Copies a file larger than the filesystem onto it.
	void expect_no_space(const std::string &options)
	{
		fs::path source = scratch_.directory() / "source";
		fs::path destination = filesystem_.mount_point() / "destination";
		write_random_file(source, 32 * mib + 5);
		command_result result =
			run_kaio_cp("-v " + options + " " + operands(source, destination));
		EXPECT_EQ(result.exit_status, 1) << result.output;
		std::string failed_write = "kaio-cp: write " + destination.string() + " at offset ";
		EXPECT_NE(result.output.find(failed_write), std::string::npos) << result.output;
		EXPECT_NE(result.output.find(": No space left on device\n"), std::string::npos)
			<< result.output;
		EXPECT_EQ(result.output.find("MiB/s"), std::string::npos)
			<< "a summary claims success";
	}

	direct_file scratch_;
	small_filesystem filesystem_{scratch_.directory()};
};

TEST_F(KaioCpNoSpace, OnASmallTmpfs)
{
	if (std::string why = filesystem_.mount_tmpfs(8 * mib); !why.empty())
		GTEST_SKIP() << why;
	expect_no_space("");
}

TEST_F(KaioCpNoSpace, OnASmallExt4Image)
{
	if (std::string why = filesystem_.mount_image("mkfs.ext4 -q -F", 16 * mib); !why.empty())
		GTEST_SKIP() << why;
	expect_no_space("--fsync --verify --bs 256k --iodepth 8");
}

} // namespace
} // namespace kaio::testing
