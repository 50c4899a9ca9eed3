#include "aio_context.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>
#include <utility>

#include "aio_limit.hpp"
#include "failure.hpp"

namespace kaio::bench {
namespace {

failure aio_limit_failure(unsigned capacity, std::uint64_t run_needs)
{
	return run_failure(fmt::format("cannot create an AIO context for {} requests: {}", capacity,
				       tools::aio_limit_advice(run_needs)));
}

} // namespace

kaio::context_options on(kaio::backend backend)
{
	kaio::context_options tuning;
	tuning.backend = backend;
	return tuning;
}

kaio::context open_context(unsigned capacity, std::uint64_t run_needs, kaio::context_options tuning)
{
	kaio::backend backend = tuning.backend;
	tuning.defer_submit = true;
	try {
		return kaio::context(int(capacity), std::move(tuning));
	} catch (const std::system_error &error) {
		if (error.code().value() == EAGAIN)
			throw aio_limit_failure(capacity, run_needs);
		if (error.code().value() == EINVAL && backend == kaio::backend::from_environment) {
			// NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here sets the environment
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
