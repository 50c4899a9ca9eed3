// The seam between kaio and the kernel's AIO system calls: everything kaio asks of the kernel
// goes through one of these functions. The real implementation calls the kernel; tests put
// a fault-injecting one in its place to produce what the kernel will not do on demand (a partial
// io_submit, EAGAIN, EINTR). One virtual call per batch, never per request.
#pragma once

#include <fcntl.h>
#include <libaio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

#include "completion_ring.hpp"
#include "kaio/operation.hpp"

namespace kaio::detail {

class kernel_aio {
public:
	virtual ~kernel_aio() = default;

	// Which kernel interface serves the requests: aio or uring. The engine sets up its
	// requests for it (RWF_NOWAIT and worker threads on AIO only), also behind a test's seam.
	virtual kaio::backend backend() const noexcept { return kaio::backend::aio; }

	// Each returns what the system call returns, with errors as a negative errno.
	virtual int setup(unsigned max_events, io_context_t *context) = 0;
	virtual int destroy(io_context_t context) = 0;
	// In a fork child: lets go of the child's copy of the context (an io_uring ring's fd and
	// mappings, the AIO completion ring's mapping), leaving the parent's context, and what is
	// registered with it, as they are.
	virtual void forget_after_fork(io_context_t /*context*/) {}
	virtual int submit(io_context_t context, long count, iocb **requests) = 0;
	virtual int getevents(io_context_t context, long min_count, long max_count,
			      io_event *events, timespec *timeout) = 0;
	virtual int cancel(io_context_t context, iocb *request, io_event *result) = 0;
	// Where completions can be taken without a system call; null: only through getevents.
	virtual aio_ring *completion_ring(io_context_t /*context*/) { return nullptr; }
	// Completions also signal `fd`. AIO needs nothing here: each iocb names the eventfd.
	virtual int attach_eventfd(io_context_t /*context*/, int /*fd*/) { return 0; }
	// Takes up to `max` finished completions without a system call, as io_getevents would
	// return them; -ENOSYS: this backend cannot, use getevents.
	virtual int peek(io_context_t /*context*/, io_event * /*events*/, int /*max*/)
	{
		return -ENOSYS;
	}
	// Buffers and files that requests may use by index (count 0: none); a backend without
	// them answers 0 and does nothing.
	virtual int register_buffers(io_context_t /*context*/, const iovec * /*buffers*/,
				     int /*count*/)
	{
		return 0;
	}
	virtual int register_files(io_context_t /*context*/, const int * /*fds*/, int /*count*/)
	{
		return 0;
	}
	// Whether this thread is not the one a single-issuer context serves (io_uring's
	// IORING_SETUP_SINGLE_ISSUER, fixed at the first submission).
	virtual bool serves_another_thread(io_context_t /*context*/) { return false; }
	// Requests sent so far with a registered buffer.
	virtual std::uint64_t fixed_buffer_requests(io_context_t /*context*/) { return 0; }
	// Requests sent straight to the kernel's own worker threads (io_uring's IOSQE_ASYNC).
	virtual std::uint64_t async_requests(io_context_t /*context*/) { return 0; }
	// What the kernel holds of an fd's file (`mask`: STATX_*), never asked of a FUSE daemon
	// or an NFS server (AT_STATX_DONT_SYNC), which could keep this thread waiting: where a
	// request's file lives, once per descriptor of a batch, on AIO only after some filesystem
	// refused RWF_NOWAIT (nowait_refusals.hpp), on io_uring always (daemon_files.hpp), or
	// once at registration; and where a file ends, after a read cut short. Where a seccomp
	// filter older than statx refuses it (EPERM, ENOSYS), fstat answers instead, which may ask
	// the daemon or server.
	virtual int statx(int fd, unsigned mask, struct statx *status)
	{
		int flags = AT_EMPTY_PATH | AT_STATX_DONT_SYNC;
		if (::statx(fd, "", flags, mask, status) == 0)
			return 0;
		if (errno != EPERM && errno != ENOSYS)
			return -errno;
		struct stat about {};
		if (::fstat(fd, &about) != 0)
			return -errno;
		*status = {};
		status->stx_mode = static_cast<std::uint16_t>(about.st_mode);
		status->stx_size = static_cast<std::uint64_t>(about.st_size);
		status->stx_dev_major = major(about.st_dev);
		status->stx_dev_minor = minor(about.st_dev);
		status->stx_rdev_major = major(about.st_rdev);
		status->stx_rdev_minor = minor(about.st_rdev);
		return 0;
	}
};

// The kernel itself, through AIO.
kernel_aio &linux_kernel_aio() noexcept;

} // namespace kaio::detail
