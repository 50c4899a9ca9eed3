// kaio-cp's command line: what to copy where, and how.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace kaio::cp {

struct options {
	std::string source;
	std::string destination;
	std::size_t block_size = std::size_t{1} << 20;
	int iodepth = 16;
	bool fsync = false;
	bool verify = false;
	bool verbose = false;
};

// The options of a copy, or, when there is nothing to copy, the exit status: 0 after --help or
// --version (printed), 2 after a usage error (reported on stderr).
struct command_line {
	std::optional<options> wanted;
	int exit_status = 0;
};

command_line parse_command_line(int argc, char **argv);

} // namespace kaio::cp
