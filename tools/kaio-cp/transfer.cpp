#include "transfer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <system_error>

#include "aio_limit.hpp"
#include "byte_size.hpp"
#include "failure.hpp"
#include "kaio/io_ctx.h"

namespace kaio::cp {

std::size_t data_bytes_at(const transfer &job, std::int64_t offset)
{
	std::uint64_t left = job.size - static_cast<std::uint64_t>(offset);
	return static_cast<std::size_t>(std::min<std::uint64_t>(left, job.block_size));
}

bool can_resume(int result, std::size_t transferred)
{
	return result > 0 && transferred % IO_CTX_ALIGNMENT == 0;
}

int blocks_needed(const transfer &job)
{
	std::uint64_t blocks = (job.size + job.block_size - 1) / job.block_size;
	return static_cast<int>(std::clamp<std::uint64_t>(blocks, 1, job.iodepth));
}

kaio::context make_context(int capacity)
{
	try {
		return kaio::context(capacity);
	} catch (const std::system_error &error) {
		int code = error.code().value();
		std::string reason = reason_of(code);
		// Every context reserves its capacity from a system-wide limit.
		if (code == EAGAIN)
			reason = tools::aio_limit_advice(static_cast<std::uint64_t>(capacity)) +
				 ", or lower --iodepth";
		// Plain contexts take their backend from it: a typo is refused, not guessed.
		// NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here sets the environment
		const char *backend = std::getenv("KAIO_BACKEND");
		if (code == EINVAL && backend != nullptr)
			throw failure(fmt::format(
				"KAIO_BACKEND='{}' names no backend (expected aio, uring or auto)",
				backend));
		throw failure(fmt::format("cannot create an AIO context for {} requests: {}",
					  capacity, reason));
	} catch (const std::bad_alloc &) {
		throw system_failure("cannot create an AIO context", ENOMEM);
	}
}

void check_buffer_memory(const transfer &job, int buffers_per_block)
{
	std::uint64_t buffers = std::uint64_t(blocks_needed(job)) *
				std::uint64_t(buffers_per_block) * job.block_size;
	auto memory =
		std::uint64_t(::sysconf(_SC_PHYS_PAGES)) * std::uint64_t(::sysconf(_SC_PAGESIZE));
	if (buffers > memory)
		throw failure(fmt::format("--bs {} x {} blocks in flight: {} of buffers, more than "
					  "this machine's memory ({})",
					  job.block_size, blocks_needed(job) * buffers_per_block,
					  tools::format_bytes(double(buffers)),
					  tools::format_bytes(double(memory))));
}

kaio::aligned_buffer make_buffer(std::size_t size)
{
	try {
		return kaio::aligned_buffer(size);
	} catch (const std::bad_alloc &) {
		throw system_failure(fmt::format("cannot allocate a buffer of {}",
						 tools::format_bytes(static_cast<double>(size))),
				     ENOMEM);
	}
}

} // namespace kaio::cp
