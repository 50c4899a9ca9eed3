// The seam between kaio and the kernel's AIO system calls: everything kaio asks of the kernel
// goes through one of these functions. The real implementation calls the kernel; tests put
// a fault-injecting one in its place to produce what the kernel will not do on demand (a partial
// io_submit, EAGAIN, EINTR). One virtual call per batch, never per request.
#pragma once

#include <libaio.h>

#include <ctime>

#include "completion_ring.hpp"

namespace kaio::detail {

class kernel_aio {
public:
	virtual ~kernel_aio() = default;

	// Each returns what the system call returns, with errors as a negative errno.
	virtual int setup(unsigned max_events, io_context_t *context) = 0;
	virtual int destroy(io_context_t context) = 0;
	virtual int submit(io_context_t context, long count, iocb **requests) = 0;
	virtual int getevents(io_context_t context, long min_count, long max_count, io_event *events,
			      timespec *timeout) = 0;
	virtual int cancel(io_context_t context, iocb *request, io_event *result) = 0;
	// Where completions can be taken without a system call; null: only through getevents.
	virtual aio_ring *completion_ring(io_context_t /*context*/) { return nullptr; }
};

// The kernel itself.
kernel_aio &linux_kernel_aio() noexcept;

} // namespace kaio::detail
