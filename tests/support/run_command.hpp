// Runs a program as a user would from a shell, and collects its exit status and output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace kaio::testing {

struct command_result {
	int exit_status = -1; // -1 when the program did not exit normally
	std::string output;   // stdout and stderr together, in order
};

// One word for /bin/sh, whatever characters it holds (a path, a command for script -c).
inline std::string shell_quoted(const std::string &word)
{
	std::string quoted = "'";
	for (char c : word)
		quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return quoted + "'";
}

// `command` goes to /bin/sh; quote arguments with shell_quoted().
inline command_result run_command(const std::string &command)
{
	command_result result;
	FILE *pipe = ::popen((command + " 2>&1").c_str(), "r");
	if (pipe == nullptr)
		return result;
	std::array<char, 4096> chunk{};
	while (std::size_t got = std::fread(chunk.data(), 1, chunk.size(), pipe))
		result.output.append(chunk.data(), got);
	int status = ::pclose(pipe);
	if (status != -1 && WIFEXITED(status))
		result.exit_status = WEXITSTATUS(status);
	return result;
}

} // namespace kaio::testing
