// Where this process has AIO completion rings mapped: the lines of /proc/self/maps that name
// "[aio]", each ring's mapping at the address io_setup gave as its context.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace kaio::testing {

// The start address of each mapping, in the order the kernel lists them.
inline std::vector<std::uintptr_t> aio_ring_mappings()
{
	std::ifstream maps("/proc/self/maps");
	std::vector<std::uintptr_t> rings;
	for (std::string line; std::getline(maps, line);) {
		if (line.find("[aio]") != std::string::npos)
			rings.push_back(std::stoul(line, nullptr, 16));
	}
	return rings;
}

} // namespace kaio::testing
