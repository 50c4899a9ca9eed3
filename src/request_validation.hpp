// What a request must be before anything of it reaches the kernel (see io_ctx.h): checked on
// every submission, so the common case, one aligned buffer, costs a handful of instructions.
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "kaio/operation.hpp"

namespace kaio::detail {

inline constexpr long max_io_bytes = 0x7ffff000L; // the kernel's MAX_RW_COUNT
inline constexpr std::uintptr_t io_alignment = 512;

inline bool aligned(std::uintptr_t value)
{
	return value % io_alignment == 0;
}

inline bool valid_span(const void *buffer, std::size_t length)
{
	return (buffer != nullptr || length == 0) &&
	       aligned(reinterpret_cast<std::uintptr_t>(buffer) | length);
}

inline bool valid_offset(long long offset)
{
	return offset >= 0 && aligned(static_cast<std::uintptr_t>(offset));
}

// The bytes the iovec array spans, or -EINVAL for a bad one.
int validate_vector(const iovec *iov, int iovcnt) noexcept;

// The bytes the request moves (0 for a sync), which tell a short transfer at completion; or
// the negative errno the submission returns.
inline int validate(const operation &what)
{
	if (what.fd < 0)
		return -EBADF;
	switch (what.op) {
	case opcode::read:
	case opcode::write:
		if (what.length > static_cast<std::size_t>(max_io_bytes))
			return -EINVAL;
		return valid_offset(what.offset) && valid_span(what.buffer, what.length)
			       ? static_cast<int>(what.length)
			       : -EINVAL;
	case opcode::readv:
	case opcode::writev:
		return valid_offset(what.offset) ? validate_vector(what.iov, what.iovcnt) : -EINVAL;
	case opcode::fsync:
	case opcode::fdsync: break;
	}
	return 0;
}

} // namespace kaio::detail
