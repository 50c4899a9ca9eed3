// fork() with a live context: the kernel gives the child none of the parent's AIO contexts, so in
// the child every call on an inherited context answers -ECHILD, touches nothing, and destroy
// frees the child's copy without waiting; the parent's requests all complete with their data.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kaio/kaio.hpp"
#include "support/aio_ring_mappings.hpp"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/open_descriptors.hpp"
#include "support/pinned_pages.hpp"
#include "support/pipe_pair.hpp"
#include "support/worker_completions.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr unsigned blocks = 16;

// Appends "what: got X, expected Y" when they differ.
void expect_in_child(std::string &failures, const char *what, long long got, long long expected)
{
	if (got != expected)
		failures += std::string(what) + ": got " + std::to_string(got) + ", expected " +
			    std::to_string(expected) + "\n";
}

int callbacks_run(const std::vector<completion> &done)
{
	int calls = 0;
	for (const completion &each : done)
		calls += each.calls;
	return calls;
}

// Every C function on the inherited context, then destroy; nothing may run a callback.
std::string use_inherited_c_context(io_ctx &ctx, int fd, aligned_buffer &data, int key,
				    const std::vector<completion> &parents)
{
	std::string failures;
	completion mine;
	iovec vector{data.data(), block};
	expect_in_child(failures, "read",
			io_ctx_read(&ctx, fd, data.data(), block, 0, record, &mine), -ECHILD);
	expect_in_child(failures, "write",
			io_ctx_write(&ctx, fd, data.data(), block, 0, record, &mine), -ECHILD);
	expect_in_child(failures, "pread", io_ctx_pread(&ctx, fd, &vector, 1, 0, record, &mine),
			-ECHILD);
	expect_in_child(failures, "pwrite", io_ctx_pwrite(&ctx, fd, &vector, 1, 0, record, &mine),
			-ECHILD);
	expect_in_child(failures, "fsync", io_ctx_fsync(&ctx, fd, record, &mine), -ECHILD);
	expect_in_child(failures, "fdsync", io_ctx_fdsync(&ctx, fd, record, &mine), -ECHILD);
	expect_in_child(failures, "flush", io_ctx_flush(&ctx), -ECHILD);
	expect_in_child(failures, "poll", io_ctx_poll(&ctx), -ECHILD);
	expect_in_child(failures, "process", io_ctx_process(&ctx), -ECHILD);
	expect_in_child(failures, "cancel", io_ctx_cancel(&ctx, key), -ECHILD);
	expect_in_child(failures, "eventfd", io_ctx_eventfd(&ctx), -ECHILD);
	io_ctx_stats stats{};
	expect_in_child(failures, "get_stats", io_ctx_get_stats(&ctx, &stats), -ECHILD);
	io_ctx_destroy(&ctx);
	expect_in_child(failures, "context freed by destroy", ctx.impl == nullptr, 1);
	expect_in_child(failures, "callbacks run in the child", callbacks_run(parents) + mine.calls,
			0);
	return failures;
}

// A context of the child's own does I/O as usual.
std::string use_new_context(int fd)
{
	std::string failures;
	context_guard guard;
	expect_in_child(failures, "create in the child", io_ctx_create(&guard.ctx, 4, nullptr), 0);
	aligned_buffer back(block);
	completion read_back;
	expect_in_child(failures, "read key > 0",
			io_ctx_read(&guard.ctx, fd, back.data(), block, 0, record, &read_back) > 0,
			1);
	run_until_idle(guard.ctx);
	expect_in_child(failures, "read in the child", read_back.result, block_result);
	expect_in_child(failures, "data read in the child",
			std::memcmp(back.data(), patterned(1, 0).data(), block), 0);
	return failures;
}

TEST(Fork, ChildGetsEchildAndParentsRequestsComplete)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 0));
	aligned_buffer into(blocks * block);
	std::vector<completion> reads(blocks);
	context_guard guard;
	io_ctx_options options = deferred_options();
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, blocks, nullptr, &options), 0);
	int key = 0;
	// Half in the kernel, half still queued in the library when the process forks.
	for (unsigned i = 0; i < blocks; ++i) {
		key = io_ctx_read(&guard.ctx, file.fd(), into.data() + i * block, block,
				  offset_of(i), record, &reads[i]);
		ASSERT_GT(key, 0);
		if (i == blocks / 2 - 1) {
			ASSERT_EQ(io_ctx_flush(&guard.ctx), static_cast<int>(blocks / 2));
		}
	}
	aligned_buffer scratch(block);
	EXPECT_EQ(in_child([&] {
			  return use_inherited_c_context(guard.ctx, file.fd(), scratch, key,
							 reads) +
				 use_new_context(file.fd());
		  }),
		  "");

	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(reads, block_result);
	EXPECT_EQ(std::memcmp(into.data(), patterned(blocks, 0).data(), into.size()), 0);
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.submitted, blocks);
	EXPECT_EQ(stats.completed, blocks);
}

// A context whose worker threads have started: one buffered read of a file of two blocks
// (written with pattern `seed`), done.
struct context_with_workers {
	direct_file buffered{O_RDWR | O_CREAT}; // no O_DIRECT: its requests go to the workers
	aligned_buffer into{2 * block};
	context_guard guard;
	completion before;

	void start(int seed)
	{
		ASSERT_NO_FATAL_FAILURE(write_patterned(buffered.fd(), 2, seed));
		ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
		ASSERT_GT(io_ctx_read(&guard.ctx, buffered.fd(), into.data(), block, 0, record,
				      &before),
			  0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		ASSERT_EQ(stats_of(guard.ctx).worker_requests, 1u);
	}
};

// A context whose worker threads ran in the parent: they stay there, idle in their condition
// variable, and the child's copy of it still counts them as waiters. Destroy in the child must
// free its copy without waiting for threads that do not exist there.
TEST(Fork, ChildDestroysAContextWhoseWorkerThreadsStartedInTheParent)
{
	KAIO_SKIP_ON_URING("io_uring runs buffered reads itself, without worker threads");
	context_with_workers started;
	if (!started.buffered.unusable_reason().empty())
		GTEST_SKIP() << started.buffered.unusable_reason();
	ASSERT_NO_FATAL_FAILURE(started.start(6));

	EXPECT_EQ(in_child([&] {
			  ::alarm(10); // a destroy that waits is killed by SIGALRM, not awaited
			  io_ctx_destroy(&started.guard.ctx);
			  return std::string();
		  }),
		  "");

	completion after;
	ASSERT_GT(io_ctx_read(&started.guard.ctx, started.buffered.fd(),
			      started.into.data() + block, block, offset_of(1), record, &after),
		  0);
	ASSERT_EQ(run_until_idle(started.guard.ctx), 0);
	EXPECT_EQ(started.before.result, block_result);
	EXPECT_EQ(after.result, block_result);
	EXPECT_EQ(std::memcmp(started.into.data(), patterned(2, 6).data(), started.into.size()), 0);
}

// A child that makes threads of its own (a context of its own, as io_ctx.h advises, and a thread
// of the application's) and then destroys the parent's context, whose worker threads stayed in
// the parent: their handles are forgotten, not detached, for glibc gives a dead thread's
// descriptor to the child's new ones (a detach there made the child's own joins fail: EINVAL,
// std::terminate).
TEST(Fork, ChildWithThreadsOfItsOwnDestroysAContextWhoseWorkersStartedInTheParent)
{
	KAIO_SKIP_ON_URING("io_uring runs buffered reads itself, without worker threads");
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
	// TSan refuses; ASan's allocator may keep a lock a parent thread held at the fork, and the
	// child's new threads then wait on it for ever (5 runs in 15 here), where glibc's does not.
	GTEST_SKIP() << "the sanitizers cannot start threads in the child of a threaded process";
#endif
	context_with_workers started;
	if (!started.buffered.unusable_reason().empty())
		GTEST_SKIP() << started.buffered.unusable_reason();
	ASSERT_NO_FATAL_FAILURE(started.start(7));

	EXPECT_EQ(in_child([&] {
			  ::alarm(10);
			  io_ctx own{};
			  completion mine;
			  if (io_ctx_create(&own, 4, nullptr) != 0 ||
			      io_ctx_read(&own, started.buffered.fd(), started.into.data() + block,
					  block, offset_of(1), record, &mine) <= 0 ||
			      run_until_idle(own) != 0)
				  return std::string("the child's own context failed\n");
			  bool ran = false;
			  std::thread application([&ran] { ran = true; });
			  io_ctx_destroy(&started.guard.ctx);
			  application.join();   // failed with EINVAL, std::terminate
			  io_ctx_destroy(&own); // joins its workers: aborted likewise
			  if (!ran || mine.result != block_result)
				  return std::string("the child's own work did not run\n");
			  return std::string();
		  }),
		  "");
	EXPECT_EQ(started.before.result, block_result);
}

// How many io_uring rings this process holds.
int uring_fds_open()
{
	return static_cast<int>(io_uring_descriptors().size());
}

// A context of 4 on `backend` in `guard`: what io_ctx_create_opts answers.
int create_on_backend(context_guard &guard, unsigned backend)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.backend = backend;
	return io_ctx_create_opts(&guard.ctx, 4, nullptr, &options);
}

// An io_uring ring reaches the child as a copy of its fd: destroy in the child closes it, or
// the child would keep the parent's ring (and what is registered with it) alive as long as it
// lives.
TEST(Fork, ChildDestroyOfAnIoUringContextClosesItsCopyOfTheRing)
{
	context_guard guard;
	if (int rc = create_on_backend(guard, IO_CTX_BACKEND_URING); rc < 0)
		GTEST_SKIP() << "io_uring refused here: " << std::strerror(-rc);
	int before = uring_fds_open();
	ASSERT_GE(before, 1);
	EXPECT_EQ(in_child([&] {
			  io_ctx_destroy(&guard.ctx);
			  int left = uring_fds_open();
			  return left == before - 1
					 ? std::string()
					 : "io_uring fds after destroy: " + std::to_string(left) +
						   " of " + std::to_string(before);
		  }),
		  "");
	EXPECT_EQ(uring_fds_open(), before) << "the parent's ring must stay";
}

// The child's copy of the ring is the parent's ring: the child's destroy lets go of its copy and
// leaves what the parent registered with the ring in place.
TEST(Fork, ChildDestroyOfAnIoUringContextLeavesTheParentsRegisteredBuffers)
{
	context_guard guard;
	if (int rc = create_on_backend(guard, IO_CTX_BACKEND_URING); rc < 0)
		GTEST_SKIP() << "io_uring refused here: " << std::strerror(-rc);
	aligned_buffer pool(1 << 20);
	iovec registered{pool.data(), pool.size()};
	ASSERT_EQ(io_ctx_register_buffers(&guard.ctx, &registered, 1), 0);
	long pinned = pinned_kib();
	ASSERT_GE(pinned, 1024) << "registration pins the buffer";
	EXPECT_EQ(in_child([&] {
			  io_ctx_destroy(&guard.ctx);
			  return std::string();
		  }),
		  "");
	EXPECT_EQ(pinned_kib(), pinned) << "the child's destroy unregistered the parent's buffer";
}

// How many AIO completion rings this process has mapped.
int aio_rings_mapped()
{
	return static_cast<int>(aio_ring_mappings().size());
}

// The AIO completion ring reaches the child as a mapping of the parent's ring: destroy in the
// child unmaps it, and the parent's stays.
TEST(Fork, ChildDestroyOfAnAioContextUnmapsItsCopyOfTheRing)
{
	context_guard guard;
	ASSERT_EQ(create_on_backend(guard, IO_CTX_BACKEND_AIO), 0);
	int before = aio_rings_mapped();
	ASSERT_GE(before, 1);
	EXPECT_EQ(in_child([&] {
			  io_ctx_destroy(&guard.ctx);
			  int left = aio_rings_mapped();
			  return left == before - 1 ? std::string()
						    : "AIO rings mapped after destroy: " +
							      std::to_string(left) + " of " +
							      std::to_string(before);
		  }),
		  "");
	EXPECT_EQ(aio_rings_mapped(), before) << "the parent's ring must stay";
}

TEST(Fork, CppContextInChildAnswersEchild)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 0));
	aligned_buffer into(blocks * block);
	int parent_results = 0;
	int callbacks = 0;
	kaio::context ctx(static_cast<int>(blocks));
	int key = 0;
	for (unsigned i = 0; i < blocks; ++i) {
		std::span<std::byte> part(into.data() + i * block, block);
		key = ctx.read(file.fd(), part, offset_of(i), [&](int result) {
			++callbacks;
			parent_results += result;
		});
		ASSERT_GT(key, 0);
	}
	EXPECT_EQ(in_child([&] {
			  std::string failures;
			  std::span<std::byte> part(into.data(), block);
			  expect_in_child(failures, "read",
					  ctx.read(file.fd(), part, 0, [&](int) { ++callbacks; }),
					  -ECHILD);
			  expect_in_child(failures, "fsync", ctx.fsync(file.fd(), [](int) {}),
					  -ECHILD);
			  expect_in_child(failures, "process", ctx.process(), -ECHILD);
			  expect_in_child(failures, "poll", ctx.poll(), -ECHILD);
			  expect_in_child(failures, "flush", ctx.flush(), -ECHILD);
			  expect_in_child(failures, "cancel", ctx.cancel(key), -ECHILD);
			  expect_in_child(failures, "eventfd", ctx.eventfd(), -ECHILD);
			  expect_in_child(failures, "stats().submitted",
					  static_cast<long long>(ctx.stats().submitted), 0);
			  {
				  kaio::context mine = std::move(ctx); // its destructor runs here
			  }
			  expect_in_child(failures, "callbacks run in the child", callbacks, 0);
			  return failures;
		  }),
		  "");

	while (ctx.process() > 0) {
	}
	EXPECT_EQ(callbacks, static_cast<int>(blocks));
	EXPECT_EQ(parent_results, static_cast<int>(blocks * block));
	EXPECT_EQ(std::memcmp(into.data(), patterned(blocks, 0).data(), into.size()), 0);
	EXPECT_EQ(ctx.stats().completed, blocks);
}

// A callback or wait_cb that forks: the child returns into the library while the parent waits
// for it to be gone, so that the child goes first. It must take nothing of the parent's from
// the kernel (the completion ring and the eventfd are the parent's too).
struct fork_in_user_code {
	pid_t parent = ::getpid();
	pid_t child = -1;
	int child_status = 0;
	int callbacks = 0;

	void fork_once()
	{
		if (child >= 0)
			return;
		child = ::fork();
		if (child == 0) {
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			::alarm(60); // a child that hangs in the library ends here, and says so
			return;
		}
		while (::waitpid(child, &child_status, 0) < 0 && errno == EINTR) {
		}
	}
	// In the child, back in the test from the library: it is done.
	void end_if_child() const
	{
		if (::getpid() != parent)
			::_exit(0);
	}
	// The same, back from a process() that ran in the child, which must answer -ECHILD, as
	// every call on the parent's context does there (status 3 if not).
	void end_if_child_after(int processed) const
	{
		if (::getpid() != parent)
			::_exit(processed == -ECHILD ? 0 : 3);
	}
	bool child_ended_well() const
	{
		return WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0;
	}
};

fork_in_user_code *forking = nullptr;

void count_and_fork(int /*result*/, void * /*data*/)
{
	++forking->callbacks;
	forking->fork_once();
}

// Forks at the first wait; then waits for the eventfd, a minute at most.
int fork_and_wait(int fd)
{
	forking->fork_once();
	pollfd readable{fd, POLLIN, 0};
	return ::poll(&readable, 1, 60'000) == 1 ? 0 : -ETIMEDOUT;
}

// Requests whose completions the child took never complete here: rather than hang in destroy,
// a failing test leaves the context behind.
void leave_if_lost(io_ctx &ctx)
{
	unsigned lost = stats_of(ctx).in_kernel;
	if (lost == 0)
		return;
	ADD_FAILURE() << lost << " requests will never complete in the parent";
	ctx = io_ctx{};
}

TEST(Fork, ChildForkedByACallbackLeavesTheParentsCompletionsToTheParent)
{
	constexpr int reads = 200; // more than one reap takes
	KAIO_DIRECT_FILE_OR_SKIP(file);
	fork_in_user_code fork_point;
	forking = &fork_point;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 256, fork_and_wait), 0);
	aligned_buffer data(block);
	for (int i = 0; i < reads; ++i) // of an empty file: all done within io_submit
		ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), data.data(), block, 0, count_and_fork,
				      nullptr),
			  0);
	int ran = 0;
	while (fork_point.callbacks < reads && (ran = io_ctx_process(&guard.ctx)) > 0)
		fork_point.end_if_child_after(ran);
	fork_point.end_if_child_after(ran);
	EXPECT_GE(ran, 0);
	EXPECT_EQ(fork_point.callbacks, reads);
	EXPECT_TRUE(fork_point.child_ended_well())
		<< "the child's process() did not answer -ECHILD (status "
		<< fork_point.child_status << ")";
	leave_if_lost(guard.ctx);
}

// The same with completions the worker threads hold, more than one reap takes (128): the child
// runs at most the rest of the batch its callback forked in, and takes nothing more from the
// threads, which are the parent's (their lock too: had a worker held it at the fork, the child
// would have spun on it for ever).
TEST(Fork, ChildForkedByACallbackLeavesTheWorkersCompletionsToTheParent)
{
	KAIO_SKIP_ON_URING("io_uring runs buffered reads itself, without worker threads");
	constexpr int reads = 300;
	constexpr int most_in_one_reap = 128;
	direct_file buffered(O_RDWR | O_CREAT); // no O_DIRECT: its requests go to the workers
	if (!buffered.unusable_reason().empty())
		GTEST_SKIP() << buffered.unusable_reason();
	fork_in_user_code fork_point;
	forking = &fork_point;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, reads, nullptr), 0);
	aligned_buffer data(block);
	for (int i = 0; i < reads; ++i) // of an empty file: each done at once by a worker
		ASSERT_GT(io_ctx_read(&guard.ctx, buffered.fd(), data.data(), block, 0,
				      count_and_fork, nullptr),
			  0);
	ASSERT_TRUE(await_worker_completions(io_ctx_eventfd(&guard.ctx), reads));
	int ran = io_ctx_process(&guard.ctx);
	if (::getpid() != fork_point.parent)
		::_exit(ran != -ECHILD ? 3 : fork_point.callbacks > most_in_one_reap ? 4 : 0);
	EXPECT_TRUE(fork_point.child_ended_well())
		<< "the child's process() did not answer -ECHILD (status 3), or it ran more "
		   "callbacks than one reap holds (status 4): "
		<< fork_point.child_status;
	while (ran > 0 && fork_point.callbacks < reads)
		ran = io_ctx_process(&guard.ctx);
	EXPECT_GE(ran, 0);
	EXPECT_EQ(fork_point.callbacks, reads);
}

TEST(Fork, ChildForkedByWaitCbLeavesTheParentsCompletionsToTheParent)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 0));
	fork_in_user_code fork_point;
	forking = &fork_point;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, blocks, fork_and_wait), 0);
	aligned_buffer into(blocks * block);
	std::vector<completion> done(blocks);
	// Until process() has to wait for a read: where the device is quick, it may not.
	for (int round = 0; round < 100 && fork_point.child < 0; ++round) {
		for (unsigned i = 0; i < blocks; ++i)
			ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), into.data() + i * block, block,
					      offset_of(i), record, &done[i]),
				  0);
		int ran = 0;
		while (stats_of(guard.ctx).in_kernel > 0 && (ran = io_ctx_process(&guard.ctx)) > 0)
			fork_point.end_if_child_after(ran);
		fork_point.end_if_child_after(ran);
		EXPECT_GE(ran, 0);
		leave_if_lost(guard.ctx);
		if (guard.ctx.impl == nullptr)
			return;
	}
	if (fork_point.child < 0)
		GTEST_SKIP() << "reads of " << file.path() << " never made process() wait";
	EXPECT_TRUE(fork_point.child_ended_well())
		<< "the child's process() did not answer -ECHILD (status "
		<< fork_point.child_status << ")";
	EXPECT_EQ(callbacks_run(done), static_cast<int>(stats_of(guard.ctx).submitted));
	EXPECT_EQ(std::memcmp(into.data(), patterned(blocks, 0).data(), into.size()), 0);
}

// A cancel that waits for the request it stopped runs the callbacks that come meanwhile: the
// child of one that forks finishes them too, and its cancel answers -ECHILD. Whether the ready
// read's completion comes before the cancelled one's depends on io_uring: tried until it does.
bool cancelling = false;

void fork_if_cancelling(int /*result*/, void * /*data*/)
{
	if (cancelling)
		forking->fork_once();
}

TEST(Fork, ChildForkedByACallbackDuringACancelGetsEchildFromIt)
{
	if (!uring_by_default())
		GTEST_SKIP()
			<< "io_uring only: on AIO a worker reads the pipe, and nothing stops it";
	fork_in_user_code fork_point;
	forking = &fork_point;
	for (int attempt = 0; attempt < 100 && fork_point.child < 0; ++attempt) {
		pipe_pair idle;
		pipe_pair ready;
		aligned_buffer data(2 * block);
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
		completion stopped;
		int key = io_ctx_read(&guard.ctx, idle.read_end(), data.data(), block, 0, record,
				      &stopped);
		ASSERT_GT(key, 0);
		ASSERT_EQ(::write(ready.write_end(), data.data(), block),
			  static_cast<ssize_t>(block));
		ASSERT_GT(io_ctx_read(&guard.ctx, ready.read_end(), data.data() + block, block, 0,
				      fork_if_cancelling, nullptr),
			  0);
		cancelling = true;
		int cancelled = io_ctx_cancel(&guard.ctx, key);
		cancelling = false;
		fork_point.end_if_child_after(cancelled);
		EXPECT_EQ(cancelled, 0);
		EXPECT_EQ(stopped.result, -ECANCELED);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
	}
	if (fork_point.child < 0)
		GTEST_SKIP() << "the ready read never completed during the cancel";
	EXPECT_TRUE(fork_point.child_ended_well())
		<< "the child's cancel did not answer -ECHILD (status " << fork_point.child_status
		<< ")";
}

// The drain of io_ctx_destroy runs callbacks too: a child forked by one of them returns into it,
// and must leave it at once, without waiting for the parent's requests or joining the parent's
// worker threads (those of a context that has run a buffered read).
TEST(Fork, ChildForkedByACallbackOfDestroyLeavesIt)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), 1, 0));
	int buffered = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(buffered, 0);
	fork_in_user_code fork_point;
	forking = &fork_point;
	aligned_buffer into(block);
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
		completion warm;
		ASSERT_GT(io_ctx_read(&guard.ctx, buffered, into.data(), block, 0, record, &warm),
			  0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), into.data(), block, 0, count_and_fork,
				      nullptr),
			  0);
	} // destroy: the read's callback forks
	fork_point.end_if_child();
	::close(buffered);
	EXPECT_EQ(fork_point.callbacks, 1);
	EXPECT_TRUE(fork_point.child_ended_well())
		<< "the child did not leave destroy (status " << fork_point.child_status << ")";
}

// A child made without the fork handlers (_Fork(3), a raw clone) is told too: the page that
// holds the process's token comes to it zeroed.
TEST(Fork, ChildMadeWithoutTheForkHandlersGetsEchild)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), 1, 0));
	aligned_buffer into(block);
	completion read;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), into.data(), block, 0, record, &read), 0);
	pid_t child = ::_Fork();
	ASSERT_GE(child, 0) << std::strerror(errno);
	if (child == 0) {
		::alarm(60); // a destroy that waits for the parent's request ends here
		int processed = io_ctx_process(&guard.ctx);
		io_ctx_destroy(&guard.ctx);
		::_exit(processed == -ECHILD && read.calls == 0 ? 0 : 1);
	}
	int status = 0;
	while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ADD_FAILURE() << "the child reaped the parent's read, or hung (status " << status
			      << ")";
		guard.ctx = io_ctx{}; // what the child took never completes here: no destroy
		return;
	}
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, block_result);
}

} // namespace
