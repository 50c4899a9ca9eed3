// Memory this process has pinned (VmPin of /proc/self/status), as io_uring pins registered
// buffers: counted against RLIMIT_MEMLOCK until they are let go of.
#pragma once

#include <fstream>
#include <string>

namespace kaio::testing {

// In KiB; -1 when the kernel does not say.
inline long pinned_kib()
{
	std::ifstream status("/proc/self/status");
	std::string field;
	while (status >> field) {
		if (field == "VmPin:") {
			long kib = -1;
			status >> kib;
			return kib;
		}
	}
	return -1;
}

} // namespace kaio::testing
