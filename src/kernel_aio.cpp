#include "kernel_aio.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace kaio::detail {
namespace {

class linux_aio final : public kernel_aio {
public:
	int setup(unsigned max_events, io_context_t *context) override
	{
		return io_setup(static_cast<int>(max_events), context);
	}

	int destroy(io_context_t context) override { return io_destroy(context); }

	int submit(io_context_t context, long count, iocb **requests) override
	{
		return io_submit(context, count, requests);
	}

	// Some libaio builds send io_getevents through io_pgetevents (Debian 12's amd64 build does
	// not), which container seccomp profiles refuse with EPERM; the plain system call is
	// allowed everywhere AIO is (tests/seccomp_test.cpp).
	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		long got =
			syscall(SYS_io_getevents, context, min_count, max_count, events, timeout);
		return got < 0 ? -errno : static_cast<int>(got);
	}

	int cancel(io_context_t context, iocb *request, io_event *result) override
	{
		return io_cancel(context, request, result);
	}

	aio_ring *completion_ring(io_context_t context) override { return recognise_ring(context); }
};

} // namespace

kernel_aio &linux_kernel_aio() noexcept
{
	static linux_aio kernel;
	return kernel;
}

} // namespace kaio::detail
