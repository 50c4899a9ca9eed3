#include "kernel_aio.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kaio::detail {
namespace {

// Unmaps this process's mapping of the AIO ring at `context`, as /proc/self/maps gives its
// extent: reading the ring's own header could fault, as the parent's io_destroy truncates it.
void unmap_ring_copy(io_context_t context) noexcept
{
	std::FILE *maps = std::fopen("/proc/self/maps", "re");
	if (maps == nullptr)
		return;
	auto wanted = reinterpret_cast<std::uintptr_t>(context);
	char *line = nullptr;
	std::size_t size = 0;
	while (::getline(&line, &size, maps) > 0) {
		char *dash = nullptr;
		if (std::strtoull(line, &dash, 16) != wanted || *dash != '-')
			continue;
		std::uintptr_t end = std::strtoull(dash + 1, nullptr, 16);
		if (std::strstr(line, "[aio]") != nullptr)
			::munmap(static_cast<void *>(context), end - wanted);
		break;
	}
	std::free(line);
	static_cast<void>(std::fclose(maps));
}

class linux_aio final : public kernel_aio {
public:
	int setup(unsigned max_events, io_context_t *context) override
	{
		return io_setup(static_cast<int>(max_events), context);
	}

	int destroy(io_context_t context) override { return io_destroy(context); }

	// The completion ring's mapping reached the child; nothing else of the context did.
	void forget_after_fork(io_context_t context) override { unmap_ring_copy(context); }

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
