#include "transfer.hpp"

#include <algorithm>
#include <cerrno>
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
		throw failure(fmt::format("cannot create an AIO context for {} requests: {}",
					  capacity, reason));
	} catch (const std::bad_alloc &) {
		throw system_failure("cannot create an AIO context", ENOMEM);
	}
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
