// A pipe that closes both ends when the test is done with it, failed assertions included.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace kaio::testing {

class pipe_pair {
public:
	pipe_pair() { EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0) << std::strerror(errno); }
	~pipe_pair()
	{
		::close(fds_[0]);
		::close(fds_[1]);
	}
	pipe_pair(const pipe_pair &) = delete;
	pipe_pair &operator=(const pipe_pair &) = delete;
	int read_end() const { return fds_[0]; }
	int write_end() const { return fds_[1]; }
	void close_write_end() { ::close(std::exchange(fds_[1], -1)); }

private:
	int fds_[2] = {-1, -1};
};

} // namespace kaio::testing
