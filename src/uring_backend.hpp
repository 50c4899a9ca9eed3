// The kernel seam over io_uring: the engine keeps building iocbs, and this backend turns each one
// into an SQE whose user_data is the iocb, and each CQE back into the io_event AIO would have
// returned. The io_context_t it hands out is our own handle (an io_uring and what was registered
// with it), not a kernel AIO context: only this backend may use it.
#pragma once

#include "kernel_aio.hpp"

namespace kaio::detail {

// io_uring through liburing. setup() fails with what io_uring_queue_init answers (-EPERM where
// seccomp or /proc/sys/kernel/io_uring_disabled refuse it, -ENOSYS on kernels without it).
// How a context uses its ring: made with IO_CTX_SINGLE_THREAD, with IO_CTX_DIRECT_ONLY.
struct ring_use {
	bool single_thread = false;
	bool direct_only = false;
};
kernel_aio &linux_kernel_uring(ring_use use) noexcept;

} // namespace kaio::detail
