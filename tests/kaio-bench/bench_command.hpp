// Runs the built kaio-bench (its path comes from CMake as KAIO_BENCH) as a user would.
#pragma once

#include <filesystem>
#include <string>

#include "support/run_command.hpp"

namespace kaio::testing {

// `arguments` go to /bin/sh after the program's path.
inline command_result run_bench(const std::string &arguments)
{
	return run_command(shell_quoted(KAIO_BENCH) + " " + arguments);
}

} // namespace kaio::testing
