#include "aio_context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "failure.hpp"

namespace kaio::bench {
namespace {

std::uint64_t proc_value(const char *path)
{
	std::uint64_t value = 0;
	std::ifstream(path) >> value;
	return value;
}

failure aio_limit_failure(unsigned capacity, std::uint64_t run_needs)
{
	std::uint64_t in_use = proc_value("/proc/sys/fs/aio-nr");
	std::uint64_t limit = proc_value("/proc/sys/fs/aio-max-nr");
	std::uint64_t enough = std::bit_ceil(std::max(2 * limit, in_use + run_needs));
	return run_failure(fmt::format(
		"cannot create an AIO context for {} requests: /proc/sys/fs/aio-max-nr is "
		"exhausted (aio-nr {}, aio-max-nr {}, this run needs {}); raise it with: "
		"sysctl -w fs.aio-max-nr={}",
		capacity, in_use, limit, run_needs, enough));
}

} // namespace

kaio::context open_context(unsigned capacity, std::uint64_t run_needs, bool submit_early,
			   bool wait_in_getevents, kaio::backend backend)
{
	try {
		return kaio::context(int(capacity), {.defer_submit = true,
						     .reap_with_syscall = false,
						     .submit_early = submit_early,
						     .wait_in_getevents = wait_in_getevents,
						     .wait = {},
						     .backend = backend});
	} catch (const std::system_error &error) {
		if (error.code().value() == EAGAIN)
			throw aio_limit_failure(capacity, run_needs);
		if (error.code().value() == EINVAL && backend == kaio::backend::from_environment) {
			const char *name = std::getenv("KAIO_BACKEND");
			throw run_failure(fmt::format(
				"KAIO_BACKEND='{}' names no backend (expected aio, uring or auto)",
				name != nullptr ? name : ""));
		}
		if (backend == kaio::backend::uring)
			throw run_failure(fmt::format("cannot create an io_uring context: {}",
						      reason_of(error.code().value())));
		throw run_failure(fmt::format("cannot create an AIO context for {} requests: {}",
					      capacity, reason_of(error.code().value())));
	}
}

} // namespace kaio::bench
