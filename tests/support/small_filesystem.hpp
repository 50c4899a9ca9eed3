// A small filesystem mounted for one test (as root): a tmpfs, or an image made by mkfs on a loop
// device, in a scratch directory. To fill it up (ENOSPC) or to see what it requires of O_DIRECT.
// Unmounted when the object goes, however the test ends.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/direct_file.hpp"
#include "support/run_command.hpp"

namespace kaio::testing {

class small_filesystem {
public:
	// Mounts nothing yet: `directory` holds the image and the mount point.
	explicit small_filesystem(const std::filesystem::path &directory)
		: image_(directory / "filesystem.img"), mount_point_(directory / "mnt")
	{}

	~small_filesystem()
	{
		if (mounted_)
			run_command("umount " + shell_quoted(mount_point_));
	}

	small_filesystem(const small_filesystem &) = delete;
	small_filesystem &operator=(const small_filesystem &) = delete;

	// Each returns an empty string once mounted and able to take O_DIRECT, or why not.
	std::string mount_tmpfs(std::uint64_t bytes)
	{
		return mount("mount -t tmpfs -o size=" + std::to_string(bytes) + " kaio-test " +
			     shell_quoted(mount_point_));
	}

	// `mkfs`: "mkfs.ext4 -q -F", "mkfs.xfs -q -f", ...
	std::string mount_image(const std::string &mkfs, std::uint64_t bytes)
	{
		std::ofstream{image_}.close();
		std::filesystem::resize_file(image_, bytes);
		command_result made = run_command(mkfs + " " + shell_quoted(image_));
		if (made.exit_status != 0)
			return mkfs + " cannot make a filesystem image: " + made.output;
		return mount("mount -o loop " + shell_quoted(image_) + " " +
			     shell_quoted(mount_point_));
	}

	// An overlayfs whose layers are directories beside the mount point: files written through
	// it land in the upper one, on the filesystem that holds the scratch directory.
	std::string mount_overlay()
	{
		std::filesystem::path layers = mount_point_.parent_path();
		for (const char *layer : {"lower", "upper", "work"})
			std::filesystem::create_directories(layers / layer);
		return mount(
			"mount -t overlay kaio-test -o lowerdir=" + shell_quoted(layers / "lower") +
			",upperdir=" + shell_quoted(layers / "upper") + ",workdir=" +
			shell_quoted(layers / "work") + " " + shell_quoted(mount_point_));
	}

	const std::filesystem::path &mount_point() const { return mount_point_; }

private:
	std::string mount(const std::string &command)
	{
		if (::geteuid() != 0)
			return "needs root to mount a filesystem";
		std::filesystem::create_directories(mount_point_);
		command_result result = run_command(command);
		if (result.exit_status != 0)
			return "cannot mount (" + command + "): " + result.output;
		mounted_ = true;
		std::filesystem::path probe = mount_point_ / "probe";
		int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
		if (fd < 0)
			return "no O_DIRECT on " + command + ": " + std::strerror(errno);
		::close(fd);
		std::filesystem::remove(probe);
		return {};
	}

	std::filesystem::path image_;
	std::filesystem::path mount_point_;
	bool mounted_ = false;
};

// Closes the file before the filesystem is unmounted, however the test ends.
struct open_file {
	int fd;
	~open_file()
	{
		if (fd >= 0)
			::close(fd);
	}
};

} // namespace kaio::testing

// A 16 MiB ext4 mounted as `filesystem` (in a scratch directory of its own), and `file`, its file
// "data" opened O_RDWR | O_CREAT | O_DIRECT; or the test skips, saying why.
#define KAIO_SMALL_EXT4_FILE_OR_SKIP(filesystem, file)                                             \
	KAIO_DIRECT_FILE_OR_SKIP(filesystem##_scratch);                                            \
	::kaio::testing::small_filesystem filesystem(filesystem##_scratch.directory());            \
	if (std::string why_ = filesystem.mount_image("mkfs.ext4 -q -F", 16 << 20); !why_.empty()) \
		GTEST_SKIP() << why_;                                                              \
	::kaio::testing::open_file file{::open((filesystem.mount_point() / "data").c_str(),        \
					       O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600)};    \
	ASSERT_GE(file.fd, 0) << std::strerror(errno)
