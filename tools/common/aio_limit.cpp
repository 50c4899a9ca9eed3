#include "aio_limit.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <fstream>

namespace kaio::tools {
namespace {

std::uint64_t proc_value(const char *path)
{
	std::uint64_t value = 0;
	std::ifstream(path) >> value;
	return value;
}

} // namespace

std::string aio_limit_advice(std::uint64_t run_needs)
{
	std::uint64_t in_use = proc_value("/proc/sys/fs/aio-nr");
	std::uint64_t limit = proc_value("/proc/sys/fs/aio-max-nr");
	// A power of two with room to spare: what an administrator would type.
	std::uint64_t enough = std::bit_ceil(std::max(2 * limit, in_use + run_needs));
	return fmt::format(
		"/proc/sys/fs/aio-max-nr is exhausted (aio-nr {}, aio-max-nr {}, this run "
		"needs {}); raise it with: sysctl -w fs.aio-max-nr={}",
		in_use, limit, run_needs, enough);
}

} // namespace kaio::tools
