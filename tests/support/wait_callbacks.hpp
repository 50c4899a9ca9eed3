// wait_cb functions for tests. A wait_cb has no user pointer, so what they saw goes to one
// global record, `waits`; a test that looks at it starts with reset_waits().
#pragma once

#include <poll.h>

#include <cerrno>

namespace kaio::testing {

struct wait_record {
	int calls = 0;
	int last_fd = -1;       // the fd of the latest call
	int expected_fd = -1;   // the context's eventfd, once the test has set it
	int wrong_fd_calls = 0; // calls given another fd than expected_fd
	int answer = 0;         // what wait_answering returns
};

inline wait_record waits;

inline void reset_waits(int answer = 0)
{
	waits = wait_record{};
	waits.answer = answer;
}

inline void note_wait(int fd)
{
	++waits.calls;
	waits.last_fd = fd;
	if (fd != waits.expected_fd)
		++waits.wrong_fd_calls;
}

// Blocks until the eventfd is readable, as an application's wait_cb would.
inline int wait_readable(int fd)
{
	note_wait(fd);
	pollfd readable{fd, POLLIN, 0};
	while (::poll(&readable, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

// Returns waits.answer at once (returning early is allowed). For kernels that report nothing
// ready (fault_kernel): a blocking wait could miss completions whose eventfd signal the
// library already drained.
inline int wait_answering(int fd)
{
	note_wait(fd);
	return waits.answer;
}

} // namespace kaio::testing
