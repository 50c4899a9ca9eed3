// io_ctx_cancel(): a queued request stops at once, one in the kernel stops only when the kernel
// agrees, and keys of finished or never issued requests name nothing.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/pipe_pair.hpp"
#include "support/resubmitter.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

TEST(Cancel, QueuedRequestStopsWithEcanceledBeforeCancelReturns)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(3, 70);
	completion writes[3];
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(io_ctx_create_opts(&context.ctx, 4, nullptr, &options), 0);
	int keys[3];
	for (unsigned i = 0; i < 3; ++i) {
		keys[i] = io_ctx_write(&context.ctx, file.fd(), data.data() + i * block, block,
				       offset_of(i), record, &writes[i]);
		ASSERT_GT(keys[i], 0);
	}

	EXPECT_EQ(io_ctx_cancel(&context.ctx, keys[1]), 0);
	EXPECT_EQ(writes[1].calls, 1);
	EXPECT_EQ(writes[1].result, -ECANCELED);
	EXPECT_EQ(writes[0].calls, 0);
	EXPECT_EQ(writes[2].calls, 0);
	EXPECT_EQ(stats_of(context.ctx).queued, 2u);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, keys[1]), -ENOENT);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(writes[0].calls, 1);
	EXPECT_EQ(writes[0].result, block_result);
	EXPECT_EQ(writes[1].calls, 1);
	EXPECT_EQ(writes[2].calls, 1);
	EXPECT_EQ(writes[2].result, block_result);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.submitted, 2u);
	EXPECT_EQ(stats.completed, 3u);

	// The middle block was never written: a hole that reads as zeros.
	aligned_buffer back(3 * block);
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0),
		  static_cast<ssize_t>(back.size()));
	EXPECT_EQ(std::memcmp(back.data(), data.data(), block), 0);
	aligned_buffer zeros(block);
	EXPECT_EQ(std::memcmp(back.data() + block, zeros.data(), block), 0);
	EXPECT_EQ(std::memcmp(back.data() + 2 * block, data.data() + 2 * block, block), 0);
}

TEST(Cancel, CancelledQueuedRequestFreesItsSlotAtOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data(block);
	completion first, second;
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 1, nullptr, &options, &kernel), 0);
	int key = io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &first);
	ASSERT_GT(key, 0);
	ASSERT_EQ(io_ctx_cancel(&context.ctx, key), 0);
	// Capacity 1: this only succeeds without the kernel if the slot came back.
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &second), 0);
	EXPECT_EQ(kernel.submit_calls, 0);
	EXPECT_EQ(stats_of(context.ctx).waits, 0u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(first.result, -ECANCELED);
	EXPECT_EQ(second.calls, 1);
	EXPECT_EQ(second.result, block_result);
}

TEST(Cancel, RequestInKernelOnRegularFileReturnsEinprogressAndCompletesNormally)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 80);
	aligned_buffer expected = patterned(1, 80);
	aligned_buffer data(block);
	completion read;
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 2, nullptr), 0);
	int key = io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &read);
	ASSERT_GT(key, 0);

	// Neither backend can stop direct I/O the block layer has: the cancel says so at once, and
	// the callback runs later, with the read's own result. io_uring hands a read that the
	// device refused a tag (its queue full of other programs' I/O) to a worker thread, where it
	// can still be stopped before it starts: then the cancel succeeds, as the contract allows.
	int cancelled = io_ctx_cancel(&context.ctx, key);
	if (cancelled == 0 && on_uring(context.ctx)) {
		EXPECT_EQ(read.calls, 1);
		EXPECT_EQ(read.result, -ECANCELED);
		GTEST_SKIP() << "the kernel stopped the read before it reached the device";
	}
	EXPECT_EQ(cancelled, -EINPROGRESS);
	EXPECT_EQ(read.calls, 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, block_result);
	EXPECT_EQ(std::memcmp(data.data(), expected.data(), block), 0);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -ENOENT);
}

TEST(Cancel, RequestStoppedByKernelRunsCallbackWithEcanceledBeforeCancelReturns)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 81);
	aligned_buffer data(block);
	completion read;
	fault_kernel kernel;
	kernel.cancel_script = {-EINPROGRESS};
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, nullptr, &kernel), 0);
	int key = io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &read);
	ASSERT_GT(key, 0);

	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), 0);
	EXPECT_EQ(kernel.cancel_calls, 1);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, -ECANCELED);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.in_kernel, 0u);
	EXPECT_EQ(stats.completed, 1u);
	EXPECT_EQ(io_ctx_process(&context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -ENOENT);
}

TEST(Cancel, KernelRefusingWithEagainReturnsEinprogress)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 82);
	aligned_buffer expected = patterned(1, 82);
	aligned_buffer data(block);
	completion read;
	fault_kernel kernel;
	kernel.cancel_script = {-EAGAIN};
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 2, nullptr, nullptr, &kernel), 0);
	int key = io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &read);
	ASSERT_GT(key, 0);

	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -EINPROGRESS);
	EXPECT_EQ(kernel.cancel_calls, 1);
	EXPECT_EQ(read.calls, 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, block_result);
	EXPECT_EQ(std::memcmp(data.data(), expected.data(), block), 0);
}

TEST(Cancel, StaleAndNeverIssuedKeysReturnEnoent)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data(block);
	completion done, live;
	io_ctx_options options = deferred_options();
	context_guard context;
	ASSERT_EQ(io_ctx_create_opts(&context.ctx, 4, nullptr, &options), 0);
	for (int garbage : {0, -1, 12345, INT_MAX, INT_MIN, 1})
		EXPECT_EQ(io_ctx_cancel(&context.ctx, garbage), -ENOENT) << garbage;

	int stale = io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &done);
	ASSERT_GT(stale, 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	ASSERT_EQ(done.calls, 1);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, stale), -ENOENT);

	// A queued request (cancellable by its own key) is untouched by keys that are not its own.
	int key = io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &live);
	ASSERT_GT(key, 0);
	for (int garbage : {0, -1, 12345, INT_MAX, INT_MIN, stale, key + 65536, key ^ 0x40000000})
		EXPECT_EQ(io_ctx_cancel(&context.ctx, garbage), -ENOENT) << garbage;
	EXPECT_EQ(live.calls, 0);
	EXPECT_EQ(stats_of(context.ctx).queued, 1u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(live.calls, 1);
	EXPECT_EQ(live.result, block_result);
	EXPECT_EQ(done.calls, 1);
}

// --- cancel from a callback ------------------------------------------------------------------

struct canceller {
	io_ctx *ctx = nullptr;
	int victim = 0; // the key to cancel
	completion *victim_record = nullptr;
	completion self;
	int cancel_result = 1; // 1: cancel not called
	int victim_calls_at_return = -1;
};

void cancel_victim(int result, void *data)
{
	auto *c = static_cast<canceller *>(data);
	record(result, &c->self);
	c->cancel_result = io_ctx_cancel(c->ctx, c->victim);
	c->victim_calls_at_return = c->victim_record->calls;
}

TEST(Cancel, CallbackCancelsAnotherRequestStillQueued)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 83);
	aligned_buffer data(2 * block);
	completion victim;
	canceller first;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	first.ctx = &context.ctx;
	first.victim_record = &victim;
	ASSERT_GT(
		io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, cancel_victim, &first),
		0);
	// The kernel is out of resources while the first read is in flight: the second waits in
	// the library's queue, still there when the first read's callback runs.
	kernel.submit_script = {-EAGAIN, -EAGAIN};
	first.victim = io_ctx_read(&context.ctx, file.fd(), data.data() + block, block,
				   offset_of(1), record, &victim);
	ASSERT_GT(first.victim, 0);
	ASSERT_EQ(stats_of(context.ctx).queued, 1u);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.self.calls, 1);
	EXPECT_EQ(first.self.result, block_result);
	EXPECT_EQ(first.cancel_result, 0);
	EXPECT_EQ(first.victim_calls_at_return, 1);
	EXPECT_EQ(victim.calls, 1);
	EXPECT_EQ(victim.result, -ECANCELED);
	EXPECT_EQ(kernel.submitted, 1);
	EXPECT_EQ(stats_of(context.ctx).completed, 2u);
}

// A callback that submits into a full context waits for a slot, and the callbacks of what
// completes meanwhile wait for a later process(). Another fiber of the caller's (here its
// wait_cb) may run in that wait, submit a request and cancel it while it is still queued: the
// cancel answers 0, so that callback has run when it returns, deferred or not. The two reads
// that fill the context come from a pipe, so that the wait is certain: the first wait_cb writes
// their data, then submits, and its submission waits (in wait_cb again) for their slots.
struct cancel_in_a_wait {
	io_ctx *ctx = nullptr;
	int file = -1;
	int pipe_read_end = -1;
	int pipe_write_end = -1;
	std::byte *buffers = nullptr; // five blocks
	bool in_full_submission = false;
	bool submitted = false; // once: its own submission waits, in wait_cb again
	int cancel_result = 1;  // 1: cancel not called
	int calls_at_return = -1;
	completion cancelled;
};

cancel_in_a_wait *waiting = nullptr;

int submit_and_cancel_while_waiting(int eventfd)
{
	cancel_in_a_wait &w = *waiting;
	if (w.in_full_submission && !w.submitted) {
		w.submitted = true;
		std::vector<char> data(2 * block, 'p');
		if (::write(w.pipe_write_end, data.data(), data.size()) !=
		    static_cast<ssize_t>(data.size()))
			return -EIO;
		int key = io_ctx_read(w.ctx, w.file, w.buffers + 4 * block, block, 0, record,
				      &w.cancelled);
		w.cancel_result = key > 0 ? io_ctx_cancel(w.ctx, key) : key;
		w.calls_at_return = w.cancelled.calls;
	}
	pollfd readable{eventfd, POLLIN, 0};
	return ::poll(&readable, 1, 60'000) == 1 ? 0 : -ETIMEDOUT;
}

void submit_three_into_two_slots(int /*result*/, void * /*data*/)
{
	cancel_in_a_wait &w = *waiting;
	w.in_full_submission = true;
	for (std::size_t i = 1; i <= 2; ++i)
		EXPECT_GT(io_ctx_read(w.ctx, w.pipe_read_end, w.buffers + i * block, block, 0,
				      nullptr, nullptr),
			  0);
	// Waits for a slot.
	EXPECT_GT(io_ctx_read(w.ctx, w.file, w.buffers + 3 * block, block, 0, nullptr, nullptr), 0);
	w.in_full_submission = false;
}

TEST(Cancel, QueuedRequestCancelledWhileCallbacksWaitHasRunItsCallbackWhenCancelReturns)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 84);
	pipe_pair pipe;
	aligned_buffer data(5 * block);
	cancel_in_a_wait scene;
	waiting = &scene;
	context_guard context;
	io_ctx_options options = deferred_options();
	ASSERT_EQ(io_ctx_create_opts(&context.ctx, 2, submit_and_cancel_while_waiting, &options),
		  0);
	scene.ctx = &context.ctx;
	scene.file = file.fd();
	scene.pipe_read_end = pipe.read_end();
	scene.pipe_write_end = pipe.write_end();
	scene.buffers = data.data();
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0,
			      submit_three_into_two_slots, nullptr),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	ASSERT_NE(scene.cancel_result, 1) << "wait_cb never ran during the full submission";
	EXPECT_EQ(scene.cancel_result, 0);
	EXPECT_EQ(scene.calls_at_return, 1);
	EXPECT_EQ(scene.cancelled.calls, 1);
	EXPECT_EQ(scene.cancelled.result, -ECANCELED);
	EXPECT_EQ(stats_of(context.ctx).completed, 5u);
}

TEST(Cancel, SubmissionFromTheCallbackOfACancelledQueuedRequestIsSent)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data = patterned(2, 86);
	completion first;
	resubmitter victim;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &first), 0);
	// Out of kernel resources while the first write is in flight: the second stays queued.
	kernel.submit_script = {-EAGAIN};
	victim.ctx = &context.ctx;
	victim.fd = file.fd();
	victim.data = data.data() + block;
	int key = io_ctx_write(&context.ctx, file.fd(), data.data() + block, block, offset_of(1),
			       resubmit_on_completion, &victim);
	ASSERT_GT(key, 0);
	ASSERT_EQ(stats_of(context.ctx).queued, 1u);

	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), 0);
	EXPECT_EQ(victim.self.calls, 1);
	EXPECT_EQ(victim.self.result, -ECANCELED);
	EXPECT_GT(victim.next_key, 0);
	// The write its callback made is in the kernel: an epoll loop that waits now is woken.
	io_ctx_stats after = stats_of(context.ctx);
	EXPECT_EQ(after.queued, 0u);
	EXPECT_EQ(kernel.submitted, 2);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(victim.next.calls, 1);
	EXPECT_EQ(victim.next.result, block_result);
}

// Two reads, each ready to cancel the other: the one whose callback runs first does.
struct rival {
	io_ctx *ctx = nullptr;
	int *cancellers = nullptr;
	rival *other = nullptr;
	int key = 0;
	completion self;
	int cancel_result = 1; // 1: cancel not called
	int other_calls_at_return = -1;
};

void cancel_rival(int result, void *data)
{
	auto *r = static_cast<rival *>(data);
	record(result, &r->self);
	if (r->other->self.calls != 0)
		return;
	++*r->cancellers;
	r->cancel_result = io_ctx_cancel(r->ctx, r->other->key);
	r->other_calls_at_return = r->other->self.calls;
}

TEST(Cancel, CallbackCancelsAnotherRequestInKernelThatTheKernelStops)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 84);
	aligned_buffer data(2 * block);
	int cancellers = 0;
	rival reads[2];
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, nullptr, &kernel), 0);
	for (unsigned i = 0; i < 2; ++i) {
		reads[i].ctx = &context.ctx;
		reads[i].cancellers = &cancellers;
		reads[i].other = &reads[1 - i];
	}
	for (unsigned i = 0; i < 2; ++i) {
		reads[i].key = io_ctx_read(&context.ctx, file.fd(), data.data() + i * block, block,
					   offset_of(i), cancel_rival, &reads[i]);
		ASSERT_GT(reads[i].key, 0);
	}
	// Both are done in the kernel, but the first io_getevents hands over only one: the other
	// is still in the kernel, as far as the library knows, when the first callback cancels it.
	kernel.gather = 2;
	kernel.getevents_script = {1};
	kernel.cancel_script = {-EINPROGRESS};

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	ASSERT_EQ(cancellers, 1);
	rival &winner = reads[0].cancel_result != 1 ? reads[0] : reads[1];
	rival &loser = *winner.other;
	EXPECT_EQ(winner.cancel_result, 0);
	EXPECT_EQ(winner.other_calls_at_return, 1);
	EXPECT_EQ(winner.self.calls, 1);
	EXPECT_EQ(winner.self.result, block_result);
	EXPECT_EQ(loser.self.calls, 1);
	EXPECT_EQ(loser.self.result, -ECANCELED);
	EXPECT_EQ(loser.cancel_result, 1);
	EXPECT_EQ(kernel.cancel_calls, 1);
}

// --- keys --------------------------------------------------------------------------------------

void count_result(int result, void *data)
{
	auto *results = static_cast<std::vector<int> *>(data);
	results->push_back(result);
}

TEST(Cancel, KeysOfOneSlotStayDistinctFor2To15SubmissionsAndStaleKeyCancelsNothing)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int submissions = 1 << 15;
	aligned_buffer data(block);
	std::vector<int> results;
	results.reserve(submissions);
	io_ctx_options options = deferred_options();
	context_guard context;
	// Capacity 1: every request takes the same slot. Queued requests (deferred) are what a
	// reused key could wrongly cancel.
	ASSERT_EQ(io_ctx_create_opts(&context.ctx, 1, nullptr, &options), 0);
	std::unordered_set<int> keys;
	int first = 0;
	int stale_cancelled = 0;
	for (int i = 0; i < submissions; ++i) {
		// Zero bytes: the kernel completes it at once.
		int key = io_ctx_read(&context.ctx, file.fd(), data.data(), 0, 0, count_result,
				      &results);
		ASSERT_GT(key, 0) << "submission " << i;
		keys.insert(key);
		if (i == 0)
			first = key;
		else if (io_ctx_cancel(&context.ctx, first) != -ENOENT)
			++stale_cancelled;
		ASSERT_EQ(run_until_idle(context.ctx), 0);
		ASSERT_EQ(results.size(), static_cast<std::size_t>(i) + 1);
	}
	EXPECT_EQ(keys.size(), static_cast<std::size_t>(submissions));
	EXPECT_EQ(stale_cancelled, 0);
	int failed = 0;
	for (int result : results)
		failed += result != 0;
	EXPECT_EQ(failed, 0);
}

} // namespace
