// How many file descriptors the process has open: a test compares it before and after, to
// catch a leaked one.
#pragma once

#include <filesystem>

namespace kaio::testing {

inline int open_descriptors()
{
	int count = 0;
	for ([[maybe_unused]] const auto &entry :
	     std::filesystem::directory_iterator("/proc/self/fd"))
		++count;
	return count;
}

} // namespace kaio::testing
