// ENOSPC midway: as root, a small filesystem is mounted (a tmpfs, and an ext4 image on a loop
// device) and a larger file copied onto it. kaio-cp must stop, wait for what is in flight, say
// "No space left on device" naming the destination, and exit 1, never claiming success.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "kaio_cp.hpp"

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
		mount_point_ = scratch_.directory() / "mnt";
		fs::create_directory(mount_point_);
	}

	// Unmounts even when the test failed; the scratch directory goes afterwards.
	void TearDown() override
	{
		if (mounted_)
			run_command("umount " + shell_quoted(mount_point_));
	}

	// Mounts with `command`, then checks that the filesystem takes O_DIRECT. An empty string,
	// or why the test cannot run.
	std::string mount_with(const std::string &command)
	{
		command_result result = run_command(command);
		if (result.exit_status != 0)
			return "cannot mount (" + command + "): " + result.output;
		mounted_ = true;
		fs::path probe = mount_point_ / "probe";
		int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
		if (fd < 0)
			return "no O_DIRECT on " + command + ": " + std::strerror(errno);
		::close(fd);
		fs::remove(probe);
		return {};
	}

	// Copies a file larger than the filesystem onto it.
	void expect_no_space(const std::string &options)
	{
		fs::path source = scratch_.directory() / "source";
		fs::path destination = mount_point_ / "destination";
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
	fs::path mount_point_;
	bool mounted_ = false;
};

TEST_F(KaioCpNoSpace, OnASmallTmpfs)
{
	if (std::string why = mount_with("mount -t tmpfs -o size=8m kaio-cp-test " +
					 shell_quoted(mount_point_));
	    !why.empty())
		GTEST_SKIP() << why;
	expect_no_space("");
}

TEST_F(KaioCpNoSpace, OnASmallExt4Image)
{
	fs::path image = scratch_.directory() / "ext4.img";
	std::ofstream{image}.close();
	fs::resize_file(image, 16 * mib);
	if (run_command("mkfs.ext4 -q -F " + shell_quoted(image)).exit_status != 0)
		GTEST_SKIP() << "mkfs.ext4 cannot make a filesystem image";
	if (std::string why = mount_with("mount -o loop " + shell_quoted(image) + " " +
					 shell_quoted(mount_point_));
	    !why.empty())
		GTEST_SKIP() << why;
	expect_no_space("--fsync --verify --bs 256k --iodepth 8");
}

} // namespace
} // namespace kaio::testing
