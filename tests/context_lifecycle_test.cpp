// A context's life: creation with every valid and invalid argument, what a failed creation
// leaves behind, and destruction, which runs every outstanding callback exactly once.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_writes.hpp"
#include "support/completion_record.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/open_descriptors.hpp"
#include "support/wait_callbacks.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

// Room left under /proc/sys/fs/aio-max-nr (0 when unknown).
long aio_room()
{
	long max = -1;
	long used = -1;
	std::ifstream("/proc/sys/fs/aio-max-nr") >> max;
	std::ifstream("/proc/sys/fs/aio-nr") >> used;
	return max < 0 || used < 0 ? 0 : max - used;
}

// A context that never worked: every call refuses it and destroy does nothing.
void expect_harmless(io_ctx &ctx)
{
	EXPECT_EQ(ctx.impl, nullptr);
	EXPECT_EQ(io_ctx_process(&ctx), -EINVAL);
	EXPECT_EQ(io_ctx_eventfd(&ctx), -EINVAL);
	io_ctx_destroy(&ctx);
	io_ctx_destroy(&ctx);
}

// Writes and reads back one block: the context works.
void expect_round_trip(io_ctx &ctx, int fd, long long offset = 0)
{
	aligned_buffer written(4096);
	std::memset(written.data(), 0x5a, written.size());
	aligned_buffer read(4096);
	completion wrote, got;
	ASSERT_GT(io_ctx_write(&ctx, fd, written.data(), 4096, offset, record, &wrote), 0);
	while (wrote.calls == 0)
		ASSERT_GE(io_ctx_process(&ctx), 1);
	ASSERT_EQ(wrote.result, 4096);
	ASSERT_GT(io_ctx_read(&ctx, fd, read.data(), 4096, offset, record, &got), 0);
	while (got.calls == 0)
		ASSERT_GE(io_ctx_process(&ctx), 1);
	EXPECT_EQ(wrote.calls, 1);
	EXPECT_EQ(got.calls, 1);
	EXPECT_EQ(got.result, 4096);
	EXPECT_EQ(std::memcmp(read.data(), written.data(), 4096), 0);
}

// The file's first bytes, read with pread(2), are `expected`.
void expect_file_starts_with(int fd, const aligned_buffer &expected)
{
	aligned_buffer on_disk(expected.size());
	ASSERT_EQ(::pread(fd, on_disk.data(), on_disk.size(), 0),
		  static_cast<ssize_t>(on_disk.size()));
	EXPECT_EQ(std::memcmp(on_disk.data(), expected.data(), on_disk.size()), 0);
}

TEST(Lifecycle, CapacityOutOfRangeIsRefused)
{
	for (int bad : {0, -1, INT_MIN, IO_CTX_MAX_CAPACITY + 1, INT_MAX}) {
		SCOPED_TRACE(bad);
		io_ctx ctx{};
		EXPECT_EQ(io_ctx_create(&ctx, bad, nullptr), -EINVAL);
		expect_harmless(ctx);
	}
}

TEST(Lifecycle, NullContextPointerIsRefused)
{
	EXPECT_EQ(io_ctx_create(nullptr, 4, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_create_opts(nullptr, 4, nullptr, nullptr), -EINVAL);
}

TEST(Lifecycle, CapacityOneWorks)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 1, nullptr), 0);
	// The second request has to wait for the first one's slot.
	aligned_buffer buffer(2 * 4096);
	completion first, second;
	ASSERT_GT(io_ctx_write(&ctx, file.fd(), buffer.data(), 4096, 0, record, &first), 0);
	ASSERT_GT(io_ctx_write(&ctx, file.fd(), buffer.data() + 4096, 4096, 4096, record, &second),
		  0);
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(first.result, 4096);
	expect_round_trip(ctx, file.fd(), 8192);
	io_ctx_destroy(&ctx);
	EXPECT_EQ(second.calls, 1);
	EXPECT_EQ(second.result, 4096);
}

// The real kernel, except that io_setup reserves only a few events of the system-wide
// /proc/sys/fs/aio-max-nr, whatever it is asked: it records what create asked for.
class small_setup_kernel final : public kaio::detail::kernel_aio {
public:
	unsigned requested = 0;

	int setup(unsigned max_events, io_context_t *context) override
	{
		requested = max_events;
		return real().setup(std::min(max_events, 64u), context);
	}
	int destroy(io_context_t context) override { return real().destroy(context); }
	int submit(io_context_t context, long count, iocb **requests) override
	{
		return real().submit(context, count, requests);
	}
	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		return real().getevents(context, min_count, max_count, events, timeout);
	}
	int cancel(io_context_t context, iocb *request, io_event *result) override
	{
		return real().cancel(context, request, result);
	}

private:
	static kaio::detail::kernel_aio &real() { return kaio::detail::linux_kernel_aio(); }
};

TEST(Lifecycle, MaximumCapacityIsAcceptedAndAskedOfTheKernel)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	small_setup_kernel kernel;
	io_ctx ctx{};
	ASSERT_EQ(kaio::detail::create_io_ctx(&ctx, IO_CTX_MAX_CAPACITY, nullptr, nullptr, &kernel),
		  0);
	EXPECT_EQ(kernel.requested, static_cast<unsigned>(IO_CTX_MAX_CAPACITY));
	expect_round_trip(ctx, file.fd());
	io_ctx_destroy(&ctx);
}

TEST(Lifecycle, MaximumCapacityWorksInTheKernel)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// It takes nearly all of the default aio-max-nr (65536): ctest runs it alone (RUN_SERIAL).
	long room = aio_room();
	if (room < IO_CTX_MAX_CAPACITY)
		GTEST_SKIP() << "needs " << IO_CTX_MAX_CAPACITY << " free AIO events, "
			     << "/proc/sys/fs/aio-max-nr leaves " << room
			     << " (raise it with sysctl fs.aio-max-nr=1048576)";
	io_ctx ctx{};
	int rc = io_ctx_create(&ctx, IO_CTX_MAX_CAPACITY, nullptr);
	if (rc == -EAGAIN)
		GTEST_SKIP()
			<< "other processes took the room in /proc/sys/fs/aio-max-nr meanwhile";
	ASSERT_EQ(rc, 0);
	expect_round_trip(ctx, file.fd());
	io_ctx_destroy(&ctx);
}

TEST(Lifecycle, UnknownOptionFlagIsRefused)
{
	for (unsigned flag : {1u << 7, 1u << 8, 1u << 31}) {
		SCOPED_TRACE(flag);
		io_ctx_options options = IO_CTX_OPTIONS_INIT;
		options.flags = IO_CTX_DEFER_SUBMIT | flag;
		io_ctx ctx{};
		EXPECT_EQ(io_ctx_create_opts(&ctx, 4, nullptr, &options), -EINVAL);
		expect_harmless(ctx);
	}
}

TEST(Lifecycle, NonzeroReservedOptionIsRefused)
{
	for (std::size_t field = 0; field < std::size(io_ctx_options{}.reserved); ++field) {
		SCOPED_TRACE(field);
		io_ctx_options options = IO_CTX_OPTIONS_INIT;
		options.reserved[field] = 1;
		io_ctx ctx{};
		EXPECT_EQ(io_ctx_create_opts(&ctx, 4, nullptr, &options), -EINVAL);
		expect_harmless(ctx);
	}
}

TEST(Lifecycle, NullOrDefaultOptionsWork)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create_opts(&ctx, 4, nullptr, nullptr), 0);
	expect_round_trip(ctx, file.fd());
	io_ctx_destroy(&ctx);

	io_ctx_options defaults = IO_CTX_OPTIONS_INIT;
	ASSERT_EQ(io_ctx_create_opts(&ctx, 4, nullptr, &defaults), 0);
	expect_round_trip(ctx, file.fd());
	io_ctx_destroy(&ctx);
}

TEST(Lifecycle, FailedCreateOverwritesAGarbageContext)
{
	// A struct never zeroed, passed to a create that fails, must be harmless afterwards.
	int not_a_context = 0;
	io_ctx ctx;
	ctx.impl = &not_a_context;
	EXPECT_EQ(io_ctx_create(&ctx, 0, nullptr), -EINVAL);
	expect_harmless(ctx);

	io_ctx_options bad = IO_CTX_OPTIONS_INIT;
	bad.reserved[0] = 7;
	ctx.impl = &not_a_context;
	EXPECT_EQ(io_ctx_create_opts(&ctx, 4, nullptr, &bad), -EINVAL);
	expect_harmless(ctx);
}

TEST(Lifecycle, AioLimitReachedFailsWithEagainAndLeavesNothingBehind)
{
	kaio::testing::fault_kernel kernel;
	kernel.setup_error = -EAGAIN;
	int descriptors = open_descriptors();
	io_ctx ctx{};
	EXPECT_EQ(kaio::detail::create_io_ctx(&ctx, 8, nullptr, nullptr, &kernel), -EAGAIN);
	EXPECT_EQ(open_descriptors(), descriptors) << "the eventfd leaked";
	expect_harmless(ctx);

	// Once io_setup works again, so does create.
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kernel.setup_error = 0;
	ASSERT_EQ(kaio::detail::create_io_ctx(&ctx, 8, nullptr, nullptr, &kernel), 0);
	expect_round_trip(ctx, file.fd());
	io_ctx_destroy(&ctx);
}

TEST(Lifecycle, DestroyIsHarmlessOnZeroedContextAndTwice)
{
	io_ctx zeroed{};
	io_ctx_destroy(&zeroed);
	EXPECT_EQ(zeroed.impl, nullptr);

	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 4, nullptr), 0);
	io_ctx_destroy(&ctx);
	EXPECT_EQ(ctx.impl, nullptr);
	io_ctx_destroy(&ctx);
	EXPECT_EQ(ctx.impl, nullptr);
}

TEST(Lifecycle, DestroyClosesTheEventfd)
{
	int descriptors = open_descriptors();
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 4, nullptr), 0);
	// The eventfd, and on io_uring the ring's own descriptor.
	EXPECT_EQ(open_descriptors(), descriptors + (on_uring(ctx) ? 2 : 1));
	io_ctx_destroy(&ctx);
	EXPECT_EQ(open_descriptors(), descriptors);
}

// Writes `count` blocks of distinct bytes, leaves them in flight (or queued) and destroys the
// context: every callback has run once, with the full length, and the bytes are on disk.
void expect_destroy_completes_everything(unsigned flags)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 16;
	reset_waits();
	io_ctx ctx{};
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = flags;
	ASSERT_EQ(io_ctx_create_opts(&ctx, count, wait_readable, &options), 0);
	aligned_buffer written(count * 4096);
	for (int i = 0; i < count; ++i)
		std::memset(written.data() + i * 4096, i + 1, 4096);
	std::vector<completion> done;
	ASSERT_NO_FATAL_FAILURE(submit_block_writes(ctx, file.fd(), written, count, done));
	io_ctx_destroy(&ctx);
	EXPECT_EQ(ctx.impl, nullptr);
	expect_each_once(done, 4096);
	expect_file_starts_with(file.fd(), written);
}

TEST(Lifecycle, DestroyRunsEveryCallbackOfRequestsInFlight)
{
	expect_destroy_completes_everything(0);
}

TEST(Lifecycle, DestroySendsAndCompletesDeferredRequests)
{
	expect_destroy_completes_everything(IO_CTX_DEFER_SUBMIT);
}

struct destroying_callback {
	io_ctx *ctx;
	completion done;
};

void destroy_from_callback(int result, void *data)
{
	auto *self = static_cast<destroying_callback *>(data);
	io_ctx_destroy(self->ctx);
	record(result, &self->done);
}

TEST(Lifecycle, DestroyFromCallbackDoesNothing)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 4, nullptr), 0);
	void *impl = ctx.impl;
	aligned_buffer buffer(4096);
	destroying_callback callback{&ctx, {}};
	ASSERT_GT(io_ctx_write(&ctx, file.fd(), buffer.data(), 4096, 0, destroy_from_callback,
			       &callback),
		  0);
	while (callback.done.calls == 0)
		ASSERT_GE(io_ctx_process(&ctx), 1);
	EXPECT_EQ(callback.done.calls, 1);
	EXPECT_EQ(callback.done.result, 4096);
	EXPECT_EQ(ctx.impl, impl);
	expect_round_trip(ctx, file.fd(), 4096);
	io_ctx_destroy(&ctx);
	EXPECT_EQ(ctx.impl, nullptr);
}

// Writes one block and processes until its callback has run, waiting as often as the kernel
// makes it.
void write_block_until_done(io_ctx &ctx, int fd, completion &done)
{
	aligned_buffer buffer(4096);
	ASSERT_GT(io_ctx_write(&ctx, fd, buffer.data(), 4096, 0, record, &done), 0);
	while (done.calls == 0)
		ASSERT_GE(io_ctx_process(&ctx), 0);
}

TEST(Lifecycle, WaitCallbackReceivesTheEventfd)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// Two empty reaps make process wait, whatever the disk's speed.
	kaio::testing::fault_kernel kernel;
	kernel.getevents_script = {-EAGAIN, -EAGAIN};
	reset_waits();
	io_ctx ctx{};
	ASSERT_EQ(kaio::detail::create_io_ctx(&ctx, 4, wait_answering, nullptr, &kernel), 0);
	completion done;
	ASSERT_NO_FATAL_FAILURE(write_block_until_done(ctx, file.fd(), done));
	EXPECT_GE(waits.calls, 1);
	EXPECT_EQ(waits.last_fd, io_ctx_eventfd(&ctx));
	EXPECT_EQ(done.result, 4096);
	io_ctx_destroy(&ctx);
}

// wait_cb has no user pointer: the context it destroys is here.
io_ctx *context_to_destroy = nullptr;

int destroy_then_answer(int fd)
{
	io_ctx_destroy(context_to_destroy);
	return wait_answering(fd);
}

// The process() that called wait_cb still runs on the context, as would the destroy that called
// it: freeing the context there would pull it from under them.
TEST(Lifecycle, DestroyFromWaitCallbackDoesNothing)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::testing::fault_kernel kernel;
	kernel.getevents_script = {-EAGAIN, -EAGAIN}; // two empty reaps: process() waits
	reset_waits();
	io_ctx ctx{};
	ASSERT_EQ(kaio::detail::create_io_ctx(&ctx, 4, destroy_then_answer, nullptr, &kernel), 0);
	context_to_destroy = &ctx;
	void *impl = ctx.impl;
	completion done;
	ASSERT_NO_FATAL_FAILURE(write_block_until_done(ctx, file.fd(), done));
	EXPECT_GE(waits.calls, 1);
	EXPECT_EQ(ctx.impl, impl);
	EXPECT_EQ(done.result, 4096);
	kernel.getevents_script = {-EAGAIN}; // and once more from destroy's own drain
	aligned_buffer buffer(4096);
	ASSERT_GT(io_ctx_write(&ctx, file.fd(), buffer.data(), 4096, 0, record, &done), 0);
	io_ctx_destroy(&ctx);
	EXPECT_EQ(ctx.impl, nullptr);
	EXPECT_EQ(done.calls, 2);
	context_to_destroy = nullptr;
}

TEST(Lifecycle, DestroyWaitsInTheKernelWhenWaitCallbackFails)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// Destroy must not return while the kernel may still write into the buffers: it falls back
	// to waiting in io_getevents. The faults make it wait whatever the disk's speed.
	constexpr int count = 8;
	kaio::testing::fault_kernel kernel;
	kernel.getevents_script = {-EAGAIN, -EAGAIN};
	reset_waits(-EIO);
	io_ctx ctx{};
	ASSERT_EQ(kaio::detail::create_io_ctx(&ctx, count, wait_answering, nullptr, &kernel), 0);
	aligned_buffer written(count * 4096);
	std::memset(written.data(), 0x3c, written.size());
	std::vector<completion> done;
	ASSERT_NO_FATAL_FAILURE(submit_block_writes(ctx, file.fd(), written, count, done));
	io_ctx_destroy(&ctx);
	EXPECT_GE(waits.calls, 1);
	expect_each_once(done, 4096);
	expect_file_starts_with(file.fd(), written);
}

} // namespace
