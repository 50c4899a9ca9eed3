// What the kernel does rarely or only under load, scripted through fault_kernel: partial and
// failing io_submit, interrupted or short io_getevents, a failing io_setup. Nothing may be lost
// or sent twice, and every error reaches either the submission's return value or the callback.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/block_writes.hpp"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/open_descriptors.hpp"
#include "support/pipe_pair.hpp"
#include "support/resubmitter.hpp"
#include "support/wait_callbacks.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

// True when the file holds exactly `expected`.
bool file_holds(int fd, const aligned_buffer &expected)
{
	struct stat status {};
	if (::fstat(fd, &status) != 0)
		return false;
	if (static_cast<std::size_t>(status.st_size) != expected.size())
		return false;
	aligned_buffer back(expected.size());
	return ::pread(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()) &&
	       std::memcmp(back.data(), expected.data(), back.size()) == 0;
}

bool readable(int fd)
{
	pollfd ready{fd, POLLIN, 0};
	return ::poll(&ready, 1, 0) == 1 && (ready.revents & POLLIN) != 0;
}

// --- io_submit ---------------------------------------------------------------------------------

// Destroy, once wait_cb has failed, waits in the kernel, after asking it to stop the requests
// that would wait for ever (a read of a pipe nobody writes to). io_uring answers -EALREADY for
// one an io-wq worker is running as it is asked; a moment later that worker may arm a poll and
// leave the read waiting: destroy asks again, rather than wait for ever. The seam gives that
// answer to the first question here. (In a child: a destroy that hangs ends with SIGALRM.)
TEST(KernelFault, DestroyAsksAgainToStopAReadThatWasRunningWhenAsked)
{
	if (!uring_by_default())
		GTEST_SKIP() << "io_uring only: AIO cannot stop a read of a pipe";
	EXPECT_EQ(in_child([] {
			  ::alarm(10);
			  pipe_pair pipe;
			  aligned_buffer data(block);
			  completion read;
			  fault_kernel kernel;
			  kernel.cancel_script = {-EALREADY};
			  reset_waits(-EINTR);
			  io_ctx ctx{};
			  if (kaio::detail::create_io_ctx(&ctx, 2, wait_answering, nullptr,
							  &kernel) != 0 ||
			      io_ctx_read(&ctx, pipe.read_end(), data.data(), block, 0, record,
					  &read) <= 0)
				  return std::string("could not create the context or read\n");
			  io_ctx_destroy(&ctx);
			  std::string failures;
			  if (kernel.cancel_calls < 2)
				  failures += "the read was not asked to stop again\n";
			  if (read.calls != 1 || read.result != -ECANCELED)
				  failures += "the read did not end with -ECANCELED, once\n";
			  return failures;
		  }),
		  "");
}

TEST(KernelFault, PartialSubmitSendsTheRestOnceEach)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(4, 1);
	std::vector<completion> writes;
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 8, nullptr, &options, &kernel), 0);
	submit_block_writes(context.ctx, file.fd(), data, 4, writes);
	kernel.submit_script = {1}; // the kernel takes 1 of 4, then the rest

	EXPECT_EQ(io_ctx_flush(&context.ctx), 4);
	EXPECT_EQ(kernel.submit_calls, 2);
	EXPECT_EQ(kernel.submitted, 4);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.submitted, 4u);
	EXPECT_EQ(stats.submit_calls, 2u);
	EXPECT_EQ(stats.queued, 0u);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	EXPECT_EQ(stats_of(context.ctx).completed, 4u);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

// Each read's callback writes the block it read to the target.
struct copy_block {
	io_ctx *ctx;
	int target;
	std::byte *buffer;
	long long offset;
	completion read;
	completion write;
	int write_key;
	// Non-null: the blocks this one is copied with, all written by the last read's callback.
	std::vector<copy_block> *together;
};

void on_copy_write(int result, void *data)
{
	record(result, &static_cast<copy_block *>(data)->write);
}

void write_copy(copy_block &b)
{
	b.write_key = io_ctx_write(b.ctx, b.target, b.buffer, block, b.offset, on_copy_write, &b);
}

void on_copy_read(int result, void *data)
{
	auto *b = static_cast<copy_block *>(data);
	record(result, &b->read);
	if (b->together == nullptr)
		return write_copy(*b);
	if (std::all_of(b->together->begin(), b->together->end(),
			[](const copy_block &other) { return other.read.calls > 0; })) {
		for (copy_block &other : *b->together)
			write_copy(other);
	}
}

// Reads `count` blocks of `source` with callbacks that write them to `target`.
void submit_copies(io_ctx &ctx, int source, int target, aligned_buffer &buffer, unsigned count,
		   std::vector<copy_block> &blocks, bool written_together = false)
{
	for (unsigned i = 0; i < count; ++i)
		blocks.push_back({&ctx,
				  target,
				  buffer.data() + i * block,
				  offset_of(i),
				  {},
				  {},
				  0,
				  written_together ? &blocks : nullptr});
	for (unsigned i = 0; i < count; ++i) {
		ASSERT_GT(io_ctx_read(&ctx, source, buffer.data() + i * block, block, offset_of(i),
				      on_copy_read, &blocks[i]),
			  0);
	}
}

TEST(KernelFault, PartialSubmitOfCallbackSubmissionsLosesNothing)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	aligned_buffer original = patterned(4, 20);
	ASSERT_EQ(::pwrite(source.fd(), original.data(), original.size(), 0),
		  static_cast<ssize_t>(original.size()));
	aligned_buffer buffer(4 * block);
	std::vector<copy_block> blocks;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	submit_copies(context.ctx, source.fd(), target.fd(), buffer, 4, blocks, true);
	int calls_before = kernel.submit_calls;
	kernel.submit_script = {1, 2};

	// The callback of the last read back (on btrfs some come from a worker, after the kernel
	// answered -EAGAIN under RWF_NOWAIT) queues the four writes; its process() sends them.
	while (blocks[0].write_key == 0)
		ASSERT_GT(io_ctx_process(&context.ctx), 0);
	EXPECT_EQ(kernel.submit_calls - calls_before, 3); // 1, 2, then the last one
	EXPECT_EQ(kernel.submitted, 8);
	EXPECT_EQ(stats_of(context.ctx).in_kernel, 4u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	for (const copy_block &b : blocks) {
		EXPECT_EQ(b.read.calls, 1);
		EXPECT_EQ(b.read.result, block_result);
		EXPECT_GT(b.write_key, 0);
		EXPECT_EQ(b.write.calls, 1);
		EXPECT_EQ(b.write.result, block_result);
	}
	EXPECT_TRUE(file_holds(target.fd(), original));
}

TEST(KernelFault, EagainWithRequestsInFlightLeavesRequestQueuedForLater)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(2, 30);
	completion first, second;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &first), 0);
	kernel.submit_script = {-EAGAIN};
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data() + block, block, offset_of(1),
			       record, &second),
		  0);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.queued, 1u);
	EXPECT_EQ(stats.in_kernel, 1u);
	EXPECT_EQ(second.calls, 0);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(first.result, block_result);
	EXPECT_EQ(second.calls, 1);
	EXPECT_EQ(second.result, block_result);
	EXPECT_EQ(kernel.submitted, 2);
	EXPECT_EQ(stats_of(context.ctx).submitted, 2u);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

TEST(KernelFault, TransientSubmitErrorsWithNothingInKernelAreRetried)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(1, 31);
	completion write;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, nullptr, &kernel), 0);
	kernel.submit_script = {-EAGAIN, -ENOMEM, -EAGAIN};
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &write), 0);
	// Plus one refused for RWF_NOWAIT where the file system lacks it (tmpfs).
	EXPECT_EQ(kernel.submit_calls - stats_of(context.ctx).nowait_refusals, 4u);
	EXPECT_EQ(stats_of(context.ctx).in_kernel, 1u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(write.calls, 1);
	EXPECT_EQ(write.result, block_result);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

TEST(KernelFault, PersistentEagainFailsDirectSubmissionWithoutCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(2, 32);
	completion refused, later;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 1, nullptr, nullptr, &kernel), 0);
	kernel.submit_script = std::deque<int>(1000, -EAGAIN);
	EXPECT_EQ(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &refused),
		  -EAGAIN);
	EXPECT_GT(kernel.submit_calls, 1); // retried before giving up
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.queued, 0u);
	EXPECT_EQ(stats.in_kernel, 0u);

	// Capacity 1: the refused request's slot is free again.
	kernel.submit_script.clear();
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data() + block, block, offset_of(1),
			       record, &later),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(refused.calls, 0);
	EXPECT_EQ(later.calls, 1);
	EXPECT_EQ(later.result, block_result);
	EXPECT_EQ(stats_of(context.ctx).completed, 1u);
	EXPECT_EQ(kernel.submitted, 1);
}

TEST(KernelFault, PersistentEagainOnDeferredRequestReachesItsCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(1, 33);
	completion refused;
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, &options, &kernel), 0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &refused),
		  0);
	kernel.submit_script = std::deque<int>(1000, -EAGAIN);
	EXPECT_EQ(io_ctx_flush(&context.ctx), 0);
	EXPECT_EQ(refused.calls, 0); // flush() runs no callback
	kernel.submit_script.clear();
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(refused.calls, 1);
	EXPECT_EQ(refused.result, -EAGAIN);
	EXPECT_EQ(kernel.submitted, 0);
}

TEST(KernelFault, EintrFromSubmitIsRetriedEvenWithRequestsInFlight)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(2, 34);
	completion first, second;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &first), 0);
	kernel.submit_script = {-EINTR};
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data() + block, block, offset_of(1),
			       record, &second),
		  0);
	EXPECT_EQ(kernel.submit_calls - stats_of(context.ctx).nowait_refusals, 3u);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.queued, 0u);
	EXPECT_EQ(stats.in_kernel, 2u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(second.calls, 1);
	EXPECT_EQ(second.result, block_result);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

TEST(KernelFault, PermanentSubmitErrorFailsDirectSubmissionWithoutCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(1, 35);
	completion refused, later;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 1, nullptr, nullptr, &kernel), 0);
	kernel.submit_script = {-EBADF};
	EXPECT_EQ(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &refused),
		  -EBADF);
	EXPECT_EQ(kernel.submit_calls, 1); // not retried
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.queued, 0u);
	EXPECT_EQ(stats.in_kernel, 0u);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &later), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(refused.calls, 0);
	EXPECT_EQ(later.calls, 1);
	EXPECT_EQ(later.result, block_result);
	EXPECT_EQ(stats_of(context.ctx).completed, 1u);
}

TEST(KernelFault, PermanentSubmitErrorOnDeferredRequestReachesItsCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(2, 36);
	std::vector<completion> writes;
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, &options, &kernel), 0);
	submit_block_writes(context.ctx, file.fd(), data, 2, writes);
	kernel.submit_script = {-EBADF}; // refuses the first; the second still goes

	EXPECT_EQ(io_ctx_flush(&context.ctx), 1);
	EXPECT_EQ(writes[0].calls, 0); // flush() runs no callback
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(writes[0].calls, 1);
	EXPECT_EQ(writes[0].result, -EBADF);
	EXPECT_EQ(writes[1].calls, 1);
	EXPECT_EQ(writes[1].result, block_result);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.submitted, 1u);
	EXPECT_EQ(stats.completed, 2u);
	EXPECT_EQ(kernel.submitted, 1);
}

TEST(KernelFault, PermanentSubmitErrorOnRequestQueuedFromCallbackReachesItsCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	aligned_buffer original = patterned(1, 37);
	ASSERT_EQ(::pwrite(source.fd(), original.data(), block, 0), static_cast<ssize_t>(block));
	aligned_buffer buffer(block);
	std::vector<copy_block> blocks;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, nullptr, &kernel), 0);
	submit_copies(context.ctx, source.fd(), target.fd(), buffer, 1, blocks);
	kernel.submit_script = {-EBADF}; // for the write, the next io_submit

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	const copy_block &b = blocks[0];
	EXPECT_EQ(b.read.calls, 1);
	EXPECT_EQ(b.read.result, block_result);
	EXPECT_GT(b.write_key, 0); // queued from a callback: the error comes later
	EXPECT_EQ(b.write.calls, 1);
	EXPECT_EQ(b.write.result, -EBADF);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.submitted, 1u);
	EXPECT_EQ(stats.completed, 2u);
}

// An application driven by the eventfd alone (epoll, then io_ctx_poll on readiness) must learn
// of a request the kernel refused after its key was handed out: nothing else will wake it.
TEST(KernelFault, RequestRefusedAtFlushMakesEventfdReadable)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(1, 38);
	completion refused;
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, &options, &kernel), 0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &refused),
		  0);
	kernel.submit_script = {-EBADF};
	EXPECT_EQ(io_ctx_flush(&context.ctx), 0);
	EXPECT_TRUE(readable(io_ctx_eventfd(&context.ctx)));
	EXPECT_EQ(io_ctx_poll(&context.ctx), 1);
	EXPECT_EQ(refused.calls, 1);
	EXPECT_EQ(refused.result, -EBADF);
}

TEST(KernelFault, RequestFromCallbackRefusedAtEndOfPollMakesEventfdReadable)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	aligned_buffer original = patterned(1, 39);
	ASSERT_EQ(::pwrite(source.fd(), original.data(), block, 0), static_cast<ssize_t>(block));
	aligned_buffer buffer(block);
	std::vector<copy_block> blocks;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, nullptr, &kernel), 0);
	submit_copies(context.ctx, source.fd(), target.fd(), buffer, 1, blocks);
	int eventfd = io_ctx_eventfd(&context.ctx);
	kernel.submit_script = {-EBADF};
	// The read; its callback queues the write. Where the kernel answers the read -EAGAIN under
	// RWF_NOWAIT (btrfs), a worker runs it and announces it again.
	int ran = 0;
	for (int readiness = 0; readiness < 2 && ran == 0; ++readiness) {
		await_completions(eventfd, 1);
		ran = io_ctx_poll(&context.ctx);
	}
	EXPECT_EQ(ran, 1);
	ASSERT_EQ(blocks[0].read.calls, 1);
	EXPECT_GT(blocks[0].write_key, 0);
	EXPECT_TRUE(readable(eventfd));
	EXPECT_EQ(io_ctx_poll(&context.ctx), 1);
	EXPECT_EQ(blocks[0].write.calls, 1);
	EXPECT_EQ(blocks[0].write.result, -EBADF);
}

// Why the next two tests are AIO's: a registered eventfd is signalled for every completion
// io_uring posts from then on, and those posted before are in its ring for the first reap to find.
// The reap scripted to find nothing while one is there, which breaks AIO, cannot happen there.
constexpr const char *late_eventfd_on_uring =
	"io_uring signals its eventfd for each completion posted after the eventfd was registered";

// A context of 2 over `kernel` that waits in io_getevents, and so attaches its eventfd only when
// asked for it.
int create_waiting_in_getevents(context_guard &context, fault_kernel &kernel)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_WAIT_IN_GETEVENTS;
	return kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, &options, &kernel);
}

// An event loop over `eventfd`: waits for it (10 s at most) and polls, until `done` has run.
void loop_until_run(io_ctx &ctx, int eventfd, const completion &done)
{
	pollfd watch{eventfd, POLLIN, 0};
	while (done.calls == 0) {
		ASSERT_EQ(::poll(&watch, 1, 10000), 1) << "the loop would sleep forever";
		EXPECT_GE(io_ctx_poll(&ctx), 0);
	}
}

// A context that waits in io_getevents attaches its eventfd only when asked for it, and the
// requests sent before then do not signal it. Until they are all back it must stay readable, or
// an event loop that starts watching it now sleeps through their completions. Here the first reap
// finds nothing, as when the read has not finished yet.
TEST(KernelFault, EventfdAskedForWhileRequestsAreInTheKernelStaysReadableUntilTheyAreBack)
{
	KAIO_SKIP_ON_URING(late_eventfd_on_uring);
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 40);
	aligned_buffer data(block);
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_waiting_in_getevents(context, kernel), 0);
	completion before;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &before), 0);
	kernel.nothing_ready = 1;
	pollfd watch{io_ctx_eventfd(&context.ctx), POLLIN, 0};
	ASSERT_GE(watch.fd, 0);
	ASSERT_NO_FATAL_FAILURE(loop_until_run(context.ctx, watch.fd, before));
	EXPECT_EQ(kernel.nothing_ready, 0); // a reap found nothing on the way
	EXPECT_EQ(before.result, block_result);

	// Requests sent from now on signal it; with none from before left, io_ctx_poll drains it.
	completion after;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &after), 0);
	ASSERT_NO_FATAL_FAILURE(loop_until_run(context.ctx, watch.fd, after));
	EXPECT_EQ(after.result, block_result);
	EXPECT_EQ(io_ctx_poll(&context.ctx), 0);
	EXPECT_EQ(::poll(&watch, 1, 0), 0) << "nothing is out: the loop should sleep";
}

// A's callback sends X, then Y into the full context: Y's wait keeps X's callback for later, and
// the callback then cancels Y. Nothing is in the kernel any more, but X's callback is due: the
// eventfd, asked for only now, must say so, or the loop that starts watching it sleeps for ever.
struct sends_two_cancels_one {
	io_ctx *ctx;
	int fd;
	std::byte *x_buffer;
	std::byte *y_buffer;
	completion x{};
	completion y{};
	int cancelled = 1; // 1: not asked
};

void send_two_cancel_the_second(int /*result*/, void *data)
{
	auto *sender = static_cast<sends_two_cancels_one *>(data);
	EXPECT_GT(io_ctx_read(sender->ctx, sender->fd, sender->x_buffer, block, 0, record,
			      &sender->x),
		  0);
	int y = io_ctx_read(sender->ctx, sender->fd, sender->y_buffer, block, 0, record,
			    &sender->y);
	EXPECT_GT(y, 0);
	sender->cancelled = io_ctx_cancel(sender->ctx, y);
}

TEST(KernelFault, EventfdAskedForWhileACallbackIsKeptForLaterIsReadable)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 47);
	aligned_buffer a(block), b(block), x(block), y(block);
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_waiting_in_getevents(context, kernel), 0);
	sends_two_cancels_one sender{&context.ctx, file.fd(), x.data(), y.data()};
	completion other;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), a.data(), block, 0,
			      send_two_cancel_the_second, &sender),
		  0);
	ASSERT_GT(
		io_ctx_read(&context.ctx, file.fd(), b.data(), block, offset_of(1), record, &other),
		0);
	kernel.gather = 2; // one reap takes both: B's slot stays taken during A's callback
	EXPECT_GE(io_ctx_process(&context.ctx), 1);
	EXPECT_EQ(sender.cancelled, 0);
	EXPECT_EQ(sender.y.calls, 1);
	ASSERT_EQ(sender.x.calls, 0) << "X's callback was not kept for later";
	ASSERT_EQ(stats_of(context.ctx).in_kernel, 0u) << "X's callback was not kept for later";
	int eventfd = io_ctx_eventfd(&context.ctx);
	ASSERT_GE(eventfd, 0);
	ASSERT_NO_FATAL_FAILURE(loop_until_run(context.ctx, eventfd, sender.x));
	EXPECT_EQ(sender.x.result, block_result);
}

// The same for an edge-triggered loop: a level it already saw wakes it no more, so every look
// that leaves such requests out must write the fd again.
TEST(KernelFault, EventfdAskedForWhileRequestsAreInTheKernelWakesAnEdgeTriggeredLoop)
{
	KAIO_SKIP_ON_URING(late_eventfd_on_uring);
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 43);
	aligned_buffer data(block);
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_waiting_in_getevents(context, kernel), 0);
	completion read;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &read), 0);
	kernel.nothing_ready = 1;
	int eventfd = io_ctx_eventfd(&context.ctx);
	ASSERT_GE(eventfd, 0);
	int loop = ::epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(loop, 0);
	epoll_event wanted{};
	wanted.events = EPOLLIN | EPOLLET;
	ASSERT_EQ(::epoll_ctl(loop, EPOLL_CTL_ADD, eventfd, &wanted), 0);
	while (read.calls == 0) {
		epoll_event ready{};
		ASSERT_EQ(::epoll_wait(loop, &ready, 1, 10000), 1)
			<< "the loop would sleep forever";
		EXPECT_GE(io_ctx_poll(&context.ctx), 0);
	}
	::close(loop);
	EXPECT_EQ(kernel.nothing_ready, 0); // a look found nothing on the way
	EXPECT_EQ(read.result, block_result);
}

// A callback that asks for the eventfd while the reap that ran it holds another finished
// request, io_ctx_eventfd(3) called by a completion handler.
struct asks_for_eventfd {
	io_ctx *ctx;
	completion seen;
	int eventfd = -1;
};

void record_and_ask_for_eventfd(int result, void *data)
{
	auto *asker = static_cast<asks_for_eventfd *>(data);
	record(result, &asker->seen);
	asker->eventfd = io_ctx_eventfd(asker->ctx);
}

// Sends a read of block `index` from `fd` into `buffer` and runs an event loop over `eventfd`
// until its callback has run; then nothing is out, and the fd must not wake the loop.
void read_through_event_loop(io_ctx &ctx, int fd, int eventfd, aligned_buffer &buffer, int index)
{
	completion read;
	ASSERT_GT(io_ctx_read(&ctx, fd, buffer.data(), block, offset_of(index), record, &read), 0);
	ASSERT_NO_FATAL_FAILURE(loop_until_run(ctx, eventfd, read));
	EXPECT_EQ(read.result, block_result);
	pollfd watch{eventfd, POLLIN, 0};
	EXPECT_EQ(io_ctx_poll(&ctx), 0);
	EXPECT_EQ(::poll(&watch, 1, 0), 0) << "nothing is out: the loop should sleep";
}

// The request still to run in that reap is back from the kernel: the next request sent from its
// slot must signal the fd, and nothing may be counted as out once it is done.
TEST(KernelFault, EventfdAskedForByACallbackIsSignalledByTheRequestsThatFollow)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 3, 44);
	aligned_buffer first(block), second(block), third(block);
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_waiting_in_getevents(context, kernel), 0);
	asks_for_eventfd asker{&context.ctx, {}};
	completion other;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), first.data(), block, 0,
			      record_and_ask_for_eventfd, &asker),
		  0);
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), second.data(), block, offset_of(1), record,
			      &other),
		  0);
	kernel.gather = 2; // one reap takes both
	EXPECT_EQ(io_ctx_poll(&context.ctx), 2);
	ASSERT_GE(asker.eventfd, 0);
	EXPECT_EQ(asker.seen.result, block_result);
	EXPECT_EQ(other.result, block_result);
	read_through_event_loop(context.ctx, file.fd(), asker.eventfd, third, 2);
	read_through_event_loop(context.ctx, file.fd(), asker.eventfd, third, 0);
}

// The same when the library attaches the fd itself, in the middle of a reap: a read that would
// have blocked under RWF_NOWAIT runs again on a worker, whose completions only the fd announces.
TEST(KernelFault, ReadRetriedOnAWorkerInTheMiddleOfAReapLeavesNothingCountedAsOut)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 3, 45);
	aligned_buffer first(block), second(block), third(block);
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_waiting_in_getevents(context, kernel), 0);
	completion reads[2];
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), first.data(), block, 0, record, &reads[0]),
		  0);
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), second.data(), block, offset_of(1), record,
			      &reads[1]),
		  0);
	kernel.gather = 2;
	kernel.result_script = {-EAGAIN}; // the first to complete would have blocked
	EXPECT_GE(io_ctx_poll(&context.ctx), 1);
	if (stats_of(context.ctx).nowait_retries == 0)
		GTEST_SKIP() << "reads in " << file.directory()
			     << " carry no RWF_NOWAIT (the filesystem refuses it): none is retried";
	// btrfs answers -EAGAIN now and then to a read of blocks just written.
	if (stats_of(context.ctx).nowait_retries > 1)
		GTEST_SKIP() << "the kernel answered -EAGAIN to the other read too";
	// The kernel completes the two in either order: the script hit whichever came first.
	completion &retried = reads[0].calls == 0 ? reads[0] : reads[1];
	completion &other = reads[0].calls == 0 ? reads[1] : reads[0];
	EXPECT_EQ(other.calls, 1);
	EXPECT_EQ(other.result, block_result);
	int eventfd = io_ctx_eventfd(&context.ctx);
	ASSERT_GE(eventfd, 0);
	ASSERT_NO_FATAL_FAILURE(loop_until_run(context.ctx, eventfd, retried));
	EXPECT_EQ(retried.result, block_result);
	pollfd watch{eventfd, POLLIN, 0};
	EXPECT_EQ(io_ctx_poll(&context.ctx), 0);
	EXPECT_EQ(::poll(&watch, 1, 0), 0) << "nothing is out: the loop should sleep";
	read_through_event_loop(context.ctx, file.fd(), eventfd, third, 2);
}

// --- io_getevents ------------------------------------------------------------------------------

TEST(KernelFault, InterruptedGeteventsStillCompletesEverythingOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(4, 50);
	std::vector<completion> writes;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	submit_block_writes(context.ctx, file.fd(), data, 4, writes);
	kernel.gather = 4; // the first reap to reach the kernel waits for every write
	kernel.getevents_script = {-EINTR, -EINTR};

	EXPECT_GE(io_ctx_process(&context.ctx), 1);
	EXPECT_TRUE(kernel.getevents_script.empty());
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	EXPECT_EQ(stats_of(context.ctx).completed, 4u);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

TEST(KernelFault, GeteventsReturningFewerThanAskedStillCompletesEverythingOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(8, 60);
	std::vector<completion> writes;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 8, nullptr, nullptr, &kernel), 0);
	submit_block_writes(context.ctx, file.fd(), data, 8, writes);
	kernel.gather = 8; // the first reap to reach the kernel waits for every write
	kernel.getevents_script = {1, 2, 1, 3};

	EXPECT_GE(io_ctx_process(&context.ctx), 1);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.completed, 8u);
	EXPECT_EQ(stats.in_kernel, 0u);
	EXPECT_TRUE(file_holds(file.fd(), data));
}

// --- io_setup ----------------------------------------------------------------------------------

TEST(KernelFault, SetupEagainFailsCreateWithoutLeaks)
{
	fault_kernel kernel;
	kernel.setup_error = -EAGAIN; // /proc/sys/fs/aio-max-nr exhausted
	int fds_before = open_descriptors();
	io_ctx ctx{};
	EXPECT_EQ(kaio::detail::create_io_ctx(&ctx, 8, nullptr, nullptr, &kernel), -EAGAIN);
	EXPECT_EQ(ctx.impl, nullptr);
	EXPECT_EQ(open_descriptors(), fds_before); // the eventfd was closed again
	EXPECT_EQ(io_ctx_process(&ctx), -EINVAL);
	io_ctx_destroy(&ctx); // harmless after a failed create
}

// io_getevents failing for good (EPERM under a seccomp filter) is returned by process(), which
// would otherwise wait for a reap that can never happen; the request stays, and completes once
// io_getevents works again.
TEST(KernelFault, GeteventsFailingForGoodIsReturnedNotWaitedOn)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	fault_kernel kernel;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_REAP_SYSCALL;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, &options, &kernel), 0);
	aligned_buffer into(block);
	completion done;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), into.data(), block, 0, record, &done), 0);
	kernel.getevents_script = {-EPERM};
	EXPECT_EQ(io_ctx_process(&context.ctx), -EPERM);
	EXPECT_EQ(done.calls, 0);
	EXPECT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 0); // the file is empty
}

// io_getevents failing for good while the context is destroyed, where the completion ring is not
// read: no completion can ever be reaped. Destroy still ends: it destroys the kernel context,
// which waits for the requests in it, and each callback runs once with the error, the one of a
// request sent from a callback during that drain too. Run in a child, so that a destroy that
// hangs fails the test (killed by its alarm) instead of stopping the suite.
TEST(KernelFault, DestroyEndsWhenGeteventsFailsForGood)
{
	KAIO_SKIP_ON_URING("io_uring's completions are read from its ring in memory (which this "
			   "seam hides), so no getevents failure strands them; nor does its "
			   "teardown wait for requests as io_destroy does");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::string failure = in_child([&]() -> std::string {
		::alarm(20);
		fault_kernel kernel;
		io_ctx_options options = IO_CTX_OPTIONS_INIT;
		options.flags = IO_CTX_REAP_SYSCALL;
		io_ctx ctx{};
		if (kaio::detail::create_io_ctx(&ctx, 4, nullptr, &options, &kernel) != 0)
			return "create failed";
		aligned_buffer first(block);
		aligned_buffer second(block);
		completion plain;
		resubmitter chain;
		chain.ctx = &ctx;
		chain.fd = file.fd();
		chain.data = second.data();
		if (io_ctx_read(&ctx, file.fd(), first.data(), block, 0, record, &plain) <= 0 ||
		    io_ctx_write(&ctx, file.fd(), second.data(), block, 0, resubmit_on_completion,
				 &chain) <= 0)
			return "submission failed";
		kernel.getevents_error = -EPERM;
		io_ctx_destroy(&ctx);
		std::string found;
		if (plain.calls != 1 || plain.result != -EPERM)
			found += "plain read: " + std::to_string(plain.calls) + " calls, result " +
				 std::to_string(plain.result) + "\n";
		if (chain.self.calls != 1 || chain.self.result != -EPERM)
			found +=
				"write whose callback writes: " + std::to_string(chain.self.calls) +
				" calls, result " + std::to_string(chain.self.result) + "\n";
		if (chain.next_key <= 0 || chain.next.calls != 1 || chain.next.result != -EPERM)
			found += "write from the callback: key " + std::to_string(chain.next_key) +
				 ", " + std::to_string(chain.next.calls) + " calls, result " +
				 std::to_string(chain.next.result) + "\n";
		if (kernel.destroy_calls != 1)
			found += "kernel context destroyed " +
				 std::to_string(kernel.destroy_calls) + " times\n";
		return found;
	});
	EXPECT_EQ(failure, "");
}

} // namespace
