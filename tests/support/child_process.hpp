// Runs a check in a forked child and brings back what it found: for what must happen in another
// process (after fork(), or under a seccomp filter that can never be lifted again).
#pragma once

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

namespace kaio::testing {

// `check` runs in the child and returns an empty string, or what went wrong. The answer here is
// the same, or why the child did not answer (it crashed, it hung up).
template <class Check>
std::string in_child(Check check)
{
	int pipe_fds[2];
	if (::pipe(pipe_fds) != 0)
		return "pipe failed";
	pid_t child = ::fork();
	if (child < 0)
		return "fork failed";
	if (child == 0) {
		::prctl(PR_SET_PDEATHSIG,
			SIGKILL); // a hung child goes with a test killed for its time
		::close(pipe_fds[0]);
		std::string failure = check();
		[[maybe_unused]] ssize_t ignored =
			::write(pipe_fds[1], failure.data(), failure.size());
		::_exit(failure.empty() ? 0
					: 1); // no atexit handlers, no gtest teardown in the child
	}
	::close(pipe_fds[1]);
	std::string failure;
	char chunk[512];
	ssize_t got;
	while ((got = ::read(pipe_fds[0], chunk, sizeof chunk)) != 0) {
		if (got < 0 && errno != EINTR)
			break;
		if (got > 0)
			failure.append(chunk, static_cast<std::size_t>(got));
	}
	::close(pipe_fds[0]);
	int status = 0;
	while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
	}
	if (WIFSIGNALED(status))
		return failure + "child killed by signal " + std::to_string(WTERMSIG(status));
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && failure.empty()))
		return "child exited with status " + std::to_string(WEXITSTATUS(status));
	return failure;
}

} // namespace kaio::testing
