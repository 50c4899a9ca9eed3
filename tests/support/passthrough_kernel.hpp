// A kernel seam that passes every call to a real one: by default this pass's, io_uring in the
// pass of the suite run with KAIO_BACKEND=uring (support/backend.hpp), AIO otherwise. The
// fault-injecting seams derive from it and override what they script. A context created over
// one runs on the backend it wraps (kernel_aio::backend()). completion_ring() and peek() stay
// kernel_aio's, so that every completion comes through getevents(), where the faults are.
#pragma once

#include "kernel_aio.hpp"
#include "support/backend.hpp"
#include "uring_backend.hpp"

namespace kaio::testing {

inline detail::kernel_aio &pass_kernel()
{
	return uring_by_default() ? detail::linux_kernel_uring({}) : detail::linux_kernel_aio();
}

class passthrough_kernel : public detail::kernel_aio {
public:
	explicit passthrough_kernel(detail::kernel_aio &real = pass_kernel()) : real_(real) {}

	kaio::backend backend() const noexcept override { return real_.backend(); }
	int setup(unsigned max_events, io_context_t *context) override
	{
		return real_.setup(max_events, context);
	}
	int destroy(io_context_t context) override { return real_.destroy(context); }
	void forget_after_fork(io_context_t context) override { real_.forget_after_fork(context); }
	int submit(io_context_t context, long count, iocb **requests) override
	{
		return real_.submit(context, count, requests);
	}
	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		return real_.getevents(context, min_count, max_count, events, timeout);
	}
	int cancel(io_context_t context, iocb *request, io_event *result) override
	{
		return real_.cancel(context, request, result);
	}
	int attach_eventfd(io_context_t context, int fd) override
	{
		return real_.attach_eventfd(context, fd);
	}
	int register_buffers(io_context_t context, const iovec *buffers, int count) override
	{
		return real_.register_buffers(context, buffers, count);
	}
	int register_files(io_context_t context, const int *fds, int count) override
	{
		return real_.register_files(context, fds, count);
	}
	bool serves_another_thread(io_context_t context) override
	{
		return real_.serves_another_thread(context);
	}
	std::uint64_t fixed_buffer_requests(io_context_t context) override
	{
		return real_.fixed_buffer_requests(context);
	}
	std::uint64_t async_requests(io_context_t context) override
	{
		return real_.async_requests(context);
	}
	int statx(int fd, unsigned mask, struct statx *status) override
	{
		return real_.statx(fd, mask, status);
	}

protected:
	detail::kernel_aio &real() const { return real_; }

private:
	detail::kernel_aio &real_;
};

} // namespace kaio::testing
