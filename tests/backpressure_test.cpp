// A context full of requests: submissions wait through wait_cb and run completions until a slot
// is free, process() waits until something completes, and callbacks may submit (re-entrantly,
// also into a full context) without losing or repeating anything.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
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
#include "support/wait_callbacks.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

// The whole file, read with plain pread(2).
std::vector<std::byte> read_file(int fd)
{
	struct stat status {};
	if (::fstat(fd, &status) != 0)
		return {};
	auto size = static_cast<std::size_t>(status.st_size);
	aligned_buffer data((size + block - 1) / block * block + block);
	ssize_t got = ::pread(fd, data.data(), data.size(), 0);
	if (got < 0)
		return {};
	return {data.data(), data.data() + got};
}

// A context over `kernel` waiting through wait_answering.
int create_over(fault_kernel &kernel, io_ctx &ctx, int capacity)
{
	int rc = kaio::detail::create_io_ctx(&ctx, capacity, wait_answering, nullptr, &kernel);
	waits.expected_fd = io_ctx_eventfd(&ctx);
	return rc;
}

class Backpressure : public ::testing::Test {
protected:
	void SetUp() override { reset_waits(); }
};

// Writes 64 blocks, then reads them back, through a context of `capacity`.
void write_and_read_back(int capacity, int fd)
{
	constexpr unsigned blocks = 64;
	aligned_buffer out = patterned(blocks, 0);
	aligned_buffer in(blocks * block);
	std::vector<completion> writes(blocks);
	std::vector<completion> reads(blocks);
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, capacity, wait_readable), 0);
	waits.expected_fd = io_ctx_eventfd(&context.ctx);

	// All the writes, then all the reads.
	for (bool writing : {true, false}) {
		auto submit = writing ? io_ctx_write : io_ctx_read;
		std::byte *buffer = writing ? out.data() : in.data();
		std::vector<completion> &done = writing ? writes : reads;
		const char *what = writing ? "write " : "read ";
		for (unsigned i = 0; i < blocks; ++i) {
			ASSERT_GT(submit(&context.ctx, fd, buffer + i * block, block, offset_of(i),
					 record, &done[i]),
				  0);
			io_ctx_stats stats = stats_of(context.ctx);
			ASSERT_LE(stats.in_kernel + stats.queued, static_cast<unsigned>(capacity));
		}
		ASSERT_EQ(run_until_idle(context.ctx), 0);
		for (unsigned i = 0; i < blocks; ++i) {
			EXPECT_EQ(done[i].calls, 1) << what << i;
			EXPECT_EQ(done[i].result, static_cast<int>(block)) << what << i;
		}
	}
	EXPECT_EQ(std::memcmp(in.data(), out.data(), out.size()), 0);

	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.completed, 2u * blocks);
	EXPECT_EQ(stats.submitted, 2u * blocks);
	EXPECT_EQ(stats.waits, static_cast<unsigned long long>(waits.calls));
	EXPECT_EQ(waits.wrong_fd_calls, 0);
}

TEST_F(Backpressure, SubmissionsBeyondCapacityTwoWaitAndCompleteEachOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_and_read_back(2, file.fd());
}

TEST_F(Backpressure, SubmissionsBeyondCapacityOneWaitAndCompleteEachOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_and_read_back(1, file.fd());
}

TEST_F(Backpressure, SubmitWaitsThroughWaitCbWhenFull)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 5);
	aligned_buffer first(block);
	aligned_buffer second(block);
	completion a, b;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_over(kernel, context.ctx, 1), 0);

	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), first.data(), block, 0, record, &a), 0);
	await_completions(waits.expected_fd, 1);
	kernel.nothing_ready = 2; // the first looks find nothing: the submission must wait
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), second.data(), block, 0, record, &b), 0);
	EXPECT_GE(waits.calls, 1);
	EXPECT_EQ(waits.wrong_fd_calls, 0);
	EXPECT_EQ(a.calls, 1); // its completion freed the slot during the submission
	EXPECT_EQ(a.result, static_cast<int>(block));
	EXPECT_EQ(b.calls, 0);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(b.calls, 1);
	EXPECT_EQ(b.result, static_cast<int>(block));
	EXPECT_EQ(std::memcmp(first.data(), second.data(), block), 0);
	EXPECT_EQ(stats_of(context.ctx).waits, static_cast<unsigned long long>(waits.calls));
}

TEST_F(Backpressure, FailingWaitCbWhileFullFailsSubmissionWithoutCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 9);
	aligned_buffer first(block);
	aligned_buffer second(block);
	completion a, b;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_over(kernel, context.ctx, 1), 0);

	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), first.data(), block, 0, record, &a), 0);
	kernel.nothing_ready = 1000; // whether or not it is done, the read looks unfinished
	waits.answer = -ETIMEDOUT;
	EXPECT_EQ(io_ctx_read(&context.ctx, file.fd(), second.data(), block, 0, record, &b),
		  -ETIMEDOUT);
	EXPECT_EQ(waits.calls, 1);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.in_kernel, 1u);
	EXPECT_EQ(stats.queued, 0u);

	kernel.nothing_ready = 0;
	waits.answer = 0;
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(a.result, static_cast<int>(block));
	EXPECT_EQ(b.calls, 0);
	stats = stats_of(context.ctx);
	EXPECT_EQ(stats.submitted, 1u);
	EXPECT_EQ(stats.completed, 1u);
}

TEST_F(Backpressure, ProcessKeepsWaitingWhenWaitCbReturnsEarly)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 3);
	aligned_buffer data(block);
	completion a;
	fault_kernel kernel;
	context_guard context;
	ASSERT_EQ(create_over(kernel, context.ctx, 4), 0);

	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &a), 0);
	await_completions(waits.expected_fd, 1);
	kernel.nothing_ready = 10; // wait_cb returns early, and again, with nothing to reap
	EXPECT_EQ(io_ctx_process(&context.ctx), 1);
	EXPECT_GE(waits.calls, 2);
	EXPECT_EQ(kernel.nothing_ready, 0);
	EXPECT_EQ(a.calls, 1);
	EXPECT_EQ(a.result, static_cast<int>(block));
	EXPECT_EQ(stats_of(context.ctx).waits, static_cast<unsigned long long>(waits.calls));
}

TEST_F(Backpressure, ProcessWithNothingInFlightReturnsZeroWithoutWaiting)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data(block);
	completion a;
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 2, wait_readable), 0);
	waits.expected_fd = io_ctx_eventfd(&context.ctx);
	EXPECT_EQ(io_ctx_process(&context.ctx), 0);
	EXPECT_EQ(waits.calls, 0);

	// And again once a request has come and gone.
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), data.data(), block, 0, record, &a), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(a.calls, 1);
	int waits_before = waits.calls;
	EXPECT_EQ(io_ctx_process(&context.ctx), 0);
	EXPECT_EQ(io_ctx_process(&context.ctx), 0);
	EXPECT_EQ(waits.calls, waits_before);
	EXPECT_EQ(stats_of(context.ctx).waits, static_cast<unsigned long long>(waits.calls));
}

// --- callbacks that submit -------------------------------------------------------------------

struct copy_job;

struct copy_block {
	copy_job *job;
	unsigned index;
};

// aiocp: each read's callback writes the same block to the destination.
struct copy_job {
	copy_job(int from, int to, unsigned blocks)
		: source(from), target(to), buffer(blocks * block), reads(blocks), writes(blocks)
	{
		for (unsigned i = 0; i < blocks; ++i)
			parts.push_back({this, i});
	}
	copy_job(const copy_job &) = delete; // the parts point to it
	copy_job &operator=(const copy_job &) = delete;

	io_ctx *ctx = nullptr;
	int source;
	int target;
	aligned_buffer buffer;
	std::vector<completion> reads;
	std::vector<completion> writes;
	std::vector<copy_block> parts; // user data of block i's read and write
	int failed_submissions = 0;
};

void on_copy_write(int result, void *data)
{
	auto *b = static_cast<copy_block *>(data);
	record(result, &b->job->writes[b->index]);
}

void on_copy_read(int result, void *data)
{
	auto *b = static_cast<copy_block *>(data);
	copy_job &job = *b->job;
	record(result, &job.reads[b->index]);
	if (result != static_cast<int>(block))
		return; // the test fails on the read's result
	if (io_ctx_write(job.ctx, job.target, job.buffer.data() + b->index * block, block,
			 offset_of(b->index), on_copy_write, b) <= 0)
		++job.failed_submissions;
}

void copy_through_callbacks(int capacity)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	constexpr unsigned blocks = 48;
	write_patterned(source.fd(), blocks, 17);
	copy_job job(source.fd(), target.fd(), blocks);
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, capacity, nullptr), 0);
	job.ctx = &context.ctx;

	for (unsigned i = 0; i < blocks; ++i) {
		ASSERT_GT(io_ctx_read(&context.ctx, source.fd(), job.buffer.data() + i * block,
				      block, offset_of(i), on_copy_read, &job.parts[i]),
			  0);
	}
	ASSERT_EQ(run_until_idle(context.ctx), 0);

	EXPECT_EQ(job.failed_submissions, 0);
	for (unsigned i = 0; i < blocks; ++i) {
		EXPECT_EQ(job.reads[i].calls, 1) << "block " << i;
		EXPECT_EQ(job.reads[i].result, static_cast<int>(block)) << "block " << i;
		EXPECT_EQ(job.writes[i].calls, 1) << "block " << i;
		EXPECT_EQ(job.writes[i].result, static_cast<int>(block)) << "block " << i;
	}
	std::vector<std::byte> original = read_file(source.fd());
	ASSERT_EQ(original.size(), blocks * block);
	EXPECT_TRUE(read_file(target.fd()) == original);
	EXPECT_EQ(stats_of(context.ctx).completed, 2u * blocks);
}

TEST_F(Backpressure, CopyLoopSubmittingWritesFromReadCallbacksAtCapacityFour)
{
	copy_through_callbacks(4);
}

TEST_F(Backpressure, CopyLoopSubmittingWritesFromReadCallbacksAtCapacityOne)
{
	copy_through_callbacks(1);
}

// Eight reads complete together; each read's callback submits the write of its block. Returns
// how many io_submit calls the one process() that runs the eight callbacks makes, after
// checking that the copy is whole. `flags` go to the context with IO_CTX_DEFER_SUBMIT.
unsigned submit_calls_of_one_copy_round(const direct_file &source, const direct_file &target,
					unsigned flags)
{
	constexpr unsigned blocks = 8;
	write_patterned(source.fd(), blocks, 40);
	copy_job job(source.fd(), target.fd(), blocks);
	fault_kernel kernel;
	io_ctx_options options = deferred_options();
	options.flags |= flags;
	context_guard context;
	// Each write takes the slot its read just left: capacity 8 is enough.
	EXPECT_EQ(kaio::detail::create_io_ctx(&context.ctx, 8, nullptr, &options, &kernel), 0);
	job.ctx = &context.ctx;

	for (unsigned i = 0; i < blocks; ++i) {
		EXPECT_GT(io_ctx_read(&context.ctx, source.fd(), job.buffer.data() + i * block,
				      block, offset_of(i), on_copy_read, &job.parts[i]),
			  0);
	}
	EXPECT_EQ(io_ctx_flush(&context.ctx), static_cast<int>(blocks));
	// Without RWF_NOWAIT in the file system (tmpfs), one more: the refused first try.
	EXPECT_EQ(kernel.submit_calls - stats_of(context.ctx).nowait_refusals, 1u);
	// All eight reads are done before process() looks: it reaps them together.
	kernel.gather = blocks;
	io_ctx_stats before = stats_of(context.ctx);
	EXPECT_EQ(io_ctx_process(&context.ctx), static_cast<int>(blocks));
	io_ctx_stats after = stats_of(context.ctx);
	EXPECT_EQ(after.submitted - before.submitted, blocks);
	EXPECT_EQ(after.in_kernel, blocks);
	EXPECT_EQ(after.queued, 0u);

	EXPECT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(job.failed_submissions, 0);
	for (unsigned i = 0; i < blocks; ++i) {
		EXPECT_EQ(job.writes[i].calls, 1) << "block " << i;
		EXPECT_EQ(job.writes[i].result, static_cast<int>(block)) << "block " << i;
	}
	EXPECT_TRUE(read_file(target.fd()) == read_file(source.fd()));
	return static_cast<unsigned>((after.submit_calls - after.nowait_refusals) -
				     (before.submit_calls - before.nowait_refusals));
}

TEST_F(Backpressure, SubmissionsFromCallbacksOfOneProcessGoInOneIoSubmit)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	EXPECT_EQ(submit_calls_of_one_copy_round(source, target, 0), 1u);
}

TEST_F(Backpressure, SubmitEarlySendsCallbackSubmissionsInPairs)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(target);
	// The first write at once, then three pairs, and the last one when process() ends.
	EXPECT_EQ(submit_calls_of_one_copy_round(source, target, IO_CTX_SUBMIT_EARLY), 5u);
}

// The read callback writes its block to two files at capacity 1: the first write takes the
// slot the read left, the second finds the context full and must wait until the first write is
// done. Its callback runs after the read's callback has returned, not inside it: a wait from a
// callback frees slots without nesting callbacks.
struct fan_out;

struct fan_block {
	fan_out *job;
	unsigned index;
	unsigned target; // of a write
};

struct fan_out {
	io_ctx *ctx = nullptr;
	int targets[2] = {-1, -1};
	std::byte *buffer = nullptr;
	std::vector<completion> reads;
	std::vector<completion> writes[2];
	std::vector<fan_block> write_parts[2];
	int failed_submissions = 0;
	int first_write_run = 0; // the first write's callback ran inside the read's callback
};

void on_fan_write(int result, void *data)
{
	auto *b = static_cast<fan_block *>(data);
	record(result, &b->job->writes[b->target][b->index]);
}

void on_fan_read(int result, void *data)
{
	auto *b = static_cast<fan_block *>(data);
	fan_out &job = *b->job;
	record(result, &job.reads[b->index]);
	if (result != static_cast<int>(block))
		return;
	std::byte *from = job.buffer + b->index * block;
	for (unsigned t = 0; t < 2; ++t) {
		int key = io_ctx_write(job.ctx, job.targets[t], from, block, offset_of(b->index),
				       on_fan_write, &job.write_parts[t][b->index]);
		if (key <= 0)
			++job.failed_submissions;
	}
	if (job.writes[0][b->index].calls != 0)
		++job.first_write_run;
}

TEST_F(Backpressure, CallbackSubmittingIntoFullContextWaitsWithoutNestingCallbacks)
{
	KAIO_DIRECT_FILE_OR_SKIP(source);
	KAIO_DIRECT_FILE_OR_SKIP(first);
	KAIO_DIRECT_FILE_OR_SKIP(second);
	constexpr unsigned blocks = 8;
	write_patterned(source.fd(), blocks, 60);
	aligned_buffer buffer(blocks * block);
	fan_out job;
	job.targets[0] = first.fd();
	job.targets[1] = second.fd();
	job.buffer = buffer.data();
	job.reads.resize(blocks);
	job.writes[0].resize(blocks);
	job.writes[1].resize(blocks);
	std::vector<fan_block> parts;
	for (unsigned i = 0; i < blocks; ++i) {
		parts.push_back({&job, i, 0});
		for (unsigned t = 0; t < 2; ++t)
			job.write_parts[t].push_back({&job, i, t});
	}
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 1, wait_readable), 0);
	waits.expected_fd = io_ctx_eventfd(&context.ctx);
	job.ctx = &context.ctx;

	for (unsigned i = 0; i < blocks; ++i) {
		ASSERT_GT(io_ctx_read(&context.ctx, source.fd(), buffer.data() + i * block, block,
				      offset_of(i), on_fan_read, &parts[i]),
			  0);
	}
	ASSERT_EQ(run_until_idle(context.ctx), 0);

	EXPECT_EQ(job.failed_submissions, 0);
	EXPECT_EQ(job.first_write_run, 0);
	for (unsigned i = 0; i < blocks; ++i) {
		EXPECT_EQ(job.reads[i].calls, 1) << "block " << i;
		for (unsigned t = 0; t < 2; ++t) {
			EXPECT_EQ(job.writes[t][i].calls, 1) << "block " << i << " target " << t;
			EXPECT_EQ(job.writes[t][i].result, static_cast<int>(block))
				<< "block " << i << " target " << t;
		}
	}
	std::vector<std::byte> original = read_file(source.fd());
	EXPECT_TRUE(read_file(first.fd()) == original);
	EXPECT_TRUE(read_file(second.fd()) == original);
	EXPECT_EQ(stats_of(context.ctx).completed, 3u * blocks);
	EXPECT_EQ(waits.wrong_fd_calls, 0);
}

// Each completion's callback reads two blocks more (a fan-out) into a context full of reads whose
// completions are reaped one at a time: every second submission waits for a slot. Were the
// callbacks of what completes during that wait run inside it, each would wait in turn, a stack
// frame deeper, as deep as the requests in flight (hundreds of KiB here; a copy loop at
// capacity 2048 overflowed an 8 MiB stack). The callbacks must all run at one depth.
struct fan_out_depth {
	io_ctx *ctx = nullptr;
	int fd = -1;
	std::byte *buffer = nullptr;
	unsigned budget = 0; // reads still to send
	unsigned done = 0;
	unsigned expected = 0; // callbacks in all
	int failed = 0;
	std::uintptr_t lowest = UINTPTR_MAX; // of a local of the callback: how deep the stack is
	std::uintptr_t highest = 0;
};

void on_fan_out_read(int result, void *data)
{
	auto *job = static_cast<fan_out_depth *>(data);
	char here = 0;
	auto at = reinterpret_cast<std::uintptr_t>(&here);
	job->lowest = std::min(job->lowest, at);
	job->highest = std::max(job->highest, at);
	++job->done;
	if (result != static_cast<int>(block))
		++job->failed;
	for (int k = 0; k < 2 && job->budget > 0; ++k, --job->budget) {
		if (io_ctx_read(job->ctx, job->fd, job->buffer, block, 0, on_fan_out_read, job) <=
		    0)
			++job->failed;
	}
}

io_ctx *fan_out_context = nullptr; // for a wait_cb

// Sends `capacity` fan-out reads into a full context, then runs `drive` until every read has run
// its callback. With `one_per_reap`, each reap takes one completion (a seam fault: what it
// leaves in the ring signals the eventfd no more, so only process() can drive such a context).
template <class Drive>
void fan_out_from_a_full_context(bool one_per_reap, Drive drive, int (*wait_cb)(int) = nullptr)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 1, 70);
	constexpr unsigned capacity = 256;
	aligned_buffer buffer(block); // every read lands here: only results are checked
	fault_kernel kernel;
	if (one_per_reap)
		kernel.getevents_script = std::deque<int>(1 << 16, 1);
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_REAP_SYSCALL;
	context_guard context;
	ASSERT_EQ(kaio::detail::create_io_ctx(&context.ctx, capacity, wait_cb, &options, &kernel),
		  0);
	fan_out_context = &context.ctx;
	fan_out_depth job;
	job.ctx = &context.ctx;
	job.fd = file.fd();
	job.buffer = buffer.data();
	job.budget = 4 * capacity;
	job.expected = 5 * capacity;
	for (unsigned i = 0; i < capacity; ++i)
		ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), buffer.data(), block, 0,
				      on_fan_out_read, &job),
			  0);
	ASSERT_NO_FATAL_FAILURE(drive(context.ctx, job));
	EXPECT_EQ(job.failed, 0);
	EXPECT_EQ(job.done, 5 * capacity);
	EXPECT_EQ(stats_of(context.ctx).completed, 5u * capacity);
	EXPECT_EQ(stats_of(context.ctx).in_kernel, 0u);
	EXPECT_LT(job.highest - job.lowest, std::uintptr_t{64} << 10)
		<< "callbacks ran nested inside the waits of other callbacks";
}

TEST_F(Backpressure, CallbacksSubmittingMoreThanCompletesRunAtOneStackDepth)
{
	fan_out_from_a_full_context(true, [](io_ctx &ctx, const fan_out_depth &) {
		ASSERT_EQ(run_until_idle(ctx), 0);
	});
}

// A wait_cb that runs a turn of an event loop on the waiting stack, whose handler for the
// context's eventfd calls io_ctx_poll().
int event_loop_turn(int eventfd)
{
	pollfd readable{eventfd, POLLIN, 0};
	if (::poll(&readable, 1, 10000) != 1)
		return -ETIMEDOUT;
	return io_ctx_poll(fan_out_context) < 0 ? -EIO : 0;
}

// The same with that wait_cb: what its io_ctx_poll() reaps while a callback waits for a slot is
// kept for later there too, not run a frame deeper each time (a chain of 20000 overflowed the
// stack when a change ran them).
TEST_F(Backpressure, CallbacksRunAtOneStackDepthWhenWaitCbPollsTheContext)
{
	fan_out_from_a_full_context(
		false,
		[](io_ctx &ctx, const fan_out_depth &) { ASSERT_EQ(run_until_idle(ctx), 0); },
		event_loop_turn);
}

// The same driven by an event loop on the eventfd: the callbacks kept for later must make it
// readable, or the loop sleeps with work left.
TEST_F(Backpressure, CallbacksKeptForLaterWakeAnEventLoop)
{
	fan_out_from_a_full_context(false, [](io_ctx &ctx, const fan_out_depth &job) {
		pollfd watch{io_ctx_eventfd(&ctx), POLLIN, 0};
		while (job.done < job.expected) {
			ASSERT_EQ(::poll(&watch, 1, 10000), 1) << "the loop would sleep forever";
			ASSERT_GE(io_ctx_poll(&ctx), 0);
		}
	});
}

} // namespace
