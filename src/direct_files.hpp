// Which descriptors of one io_submit batch were opened with O_DIRECT: one fcntl(F_GETFL) per
// descriptor and batch (about 0.1 us, 1/32 of one per I/O at depth 32). Nothing is kept across
// batches: a descriptor can be closed and its number reused, or its flag changed with F_SETFL,
// at any moment, and a wrong answer would put the caller's thread to sleep in io_submit.
#pragma once

#include <fcntl.h>

#include <algorithm>

namespace kaio::detail {

class direct_files {
public:
	// A descriptor fcntl does not know stays with io_submit, which gives the caller its EBADF.
	bool is_direct(int fd) noexcept
	{
		if (fd == last_fd_) // the common batch: every request on one file
			return last_direct_;
		last_fd_ = fd;
		last_direct_ = lookup(fd);
		return last_direct_;
	}

private:
	static constexpr int remembered = 8;

	bool lookup(int fd) noexcept
	{
		int *found = std::find(fds_, fds_ + known_, fd);
		if (found != fds_ + known_)
			return direct_[found - fds_];
		int flags = ::fcntl(fd, F_GETFL);
		bool direct = flags < 0 || (flags & O_DIRECT) != 0;
		if (known_ < remembered) {
			fds_[known_] = fd;
			direct_[known_++] = direct;
		}
		return direct;
	}

	int last_fd_ = -1;
	bool last_direct_ = true;
	int fds_[remembered];
	bool direct_[remembered];
	int known_ = 0;
};

} // namespace kaio::detail
