// A scratch file opened with O_DIRECT in a fresh temporary directory, removed afterwards.
// The directory is $KAIO_TEST_DIR when set (to run the suite on another filesystem), else the
// system's temporary directory. Tests skip, saying why, where the filesystem refuses O_DIRECT.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace kaio::testing {

class direct_file {
public:
	explicit direct_file(int flags = O_RDWR | O_CREAT | O_DIRECT)
	{
		const char *base = std::getenv("KAIO_TEST_DIR");
		std::string pattern = (base != nullptr ? std::filesystem::path(base)
						       : std::filesystem::temp_directory_path()) /
				      "kaio-test-XXXXXX";
		if (::mkdtemp(pattern.data()) == nullptr) {
			error_ = errno;
			return;
		}
		directory_ = pattern;
		path_ = directory_ / "data";
		fd_ = ::open(path_.c_str(), flags | O_CLOEXEC, 0600);
		if (fd_ < 0)
			error_ = errno;
	}

	~direct_file()
	{
		if (fd_ >= 0)
			::close(fd_);
		std::error_code ignored;
		if (!directory_.empty())
			std::filesystem::remove_all(directory_, ignored);
	}

	direct_file(const direct_file &) = delete;
	direct_file &operator=(const direct_file &) = delete;

	int fd() const { return fd_; }
	int error() const { return error_; }
	const std::filesystem::path &path() const { return path_; }
	const std::filesystem::path &directory() const { return directory_; }

	// Why a test cannot run here, or an empty string.
	std::string unusable_reason() const
	{
		if (fd_ >= 0)
			return {};
		return "cannot open an O_DIRECT file in " + directory_.string() + ": " +
		       std::strerror(error_);
	}

private:
	std::filesystem::path directory_;
	std::filesystem::path path_;
	int fd_ = -1;
	int error_ = 0;
};

} // namespace kaio::testing

// Opens `name` as a direct_file, or skips the test with the reason.
#define KAIO_DIRECT_FILE_OR_SKIP(name)                                                             \
	::kaio::testing::direct_file name;                                                         \
	if (!name.unusable_reason().empty())                                                       \
	GTEST_SKIP() << name.unusable_reason()
