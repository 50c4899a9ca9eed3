// Waiting, in a test, for kaio's worker threads to finish requests before the library looks: each
// finished request writes 1 to the context's eventfd, whose counter therefore counts them.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <cstdint>

namespace kaio::testing {

// Waits until the workers have signalled `count` completions on the context's eventfd (a minute
// at most), and leaves its counter as it found it, for the library to see. False on time out.
inline bool await_worker_completions(int eventfd, std::uint64_t count)
{
	std::uint64_t seen = 0;
	while (seen < count) {
		pollfd readable{eventfd, POLLIN, 0};
		if (::poll(&readable, 1, 60'000) != 1)
			return false;
		std::uint64_t more = 0;
		if (::read(eventfd, &more, sizeof more) == sizeof more)
			seen += more;
	}
	return ::write(eventfd, &seen, sizeof seen) == sizeof seen;
}

} // namespace kaio::testing
