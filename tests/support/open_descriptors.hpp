// The file descriptors the process has open: how many, to compare before and after and catch a
// leaked one; and which are io_uring rings.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace kaio::testing {

inline int open_descriptors()
{
	int count = 0;
	for ([[maybe_unused]] const auto &entry :
	     std::filesystem::directory_iterator("/proc/self/fd"))
		++count;
	return count;
}

// The io_uring rings open in this process (links to anon_inode:[io_uring]), in ascending order.
inline std::vector<int> io_uring_descriptors()
{
	std::vector<int> found;
	for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd")) {
		std::error_code unreadable;
		auto target = std::filesystem::read_symlink(entry.path(), unreadable);
		if (!unreadable && target == "anon_inode:[io_uring]")
			found.push_back(std::stoi(entry.path().filename().string()));
	}
	std::sort(found.begin(), found.end());
	return found;
}

} // namespace kaio::testing
