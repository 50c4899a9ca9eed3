// A file descriptor closed with its owner.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace kaio::tools {

class unique_fd {
public:
	unique_fd() noexcept = default;
	explicit unique_fd(int fd) noexcept : fd_(fd) {}
	unique_fd(unique_fd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
	unique_fd &operator=(unique_fd &&other) noexcept
	{
		unique_fd old(std::move(*this));
		fd_ = std::exchange(other.fd_, -1);
		return *this;
	}
	unique_fd(const unique_fd &) = delete;
	unique_fd &operator=(const unique_fd &) = delete;
	~unique_fd() { close(); }

	int get() const noexcept { return fd_; }

	// 0, or the errno of close(2): a late write error on some filesystems.
	int close() noexcept
	{
		if (fd_ < 0)
			return 0;
		return ::close(std::exchange(fd_, -1)) == 0 ? 0 : errno;
	}

private:
	int fd_ = -1;
};

} // namespace kaio::tools
