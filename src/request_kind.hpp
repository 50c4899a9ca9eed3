// What an iocb asks for, as the engine, the worker threads and the io_uring backend each need to
// tell: its direction, and whether it names one buffer (u.c.buf, u.c.nbytes bytes) or an iovec
// array (u.c.buf, u.c.nbytes entries).
#pragma once

#include <libaio.h>

namespace kaio::detail {

inline bool is_read(const iocb &request) noexcept
{
	return request.aio_lio_opcode == IO_CMD_PREAD || request.aio_lio_opcode == IO_CMD_PREADV;
}

inline bool is_write(const iocb &request) noexcept
{
	return request.aio_lio_opcode == IO_CMD_PWRITE || request.aio_lio_opcode == IO_CMD_PWRITEV;
}

inline bool has_one_buffer(const iocb &request) noexcept
{
	return request.aio_lio_opcode == IO_CMD_PREAD || request.aio_lio_opcode == IO_CMD_PWRITE;
}

} // namespace kaio::detail
