// Files kernel AIO would block on: without O_DIRECT, pipes, and direct reads the kernel answers
// -EAGAIN to under RWF_NOWAIT. Their requests run on kaio's worker threads; what a user checks
// is that the data is right, each callback runs once, and the submitting thread never sleeps.
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/pipe_pair.hpp"
#include "support/wait_callbacks.hpp"
#include "support/worker_completions.hpp"

namespace {

using namespace kaio::testing;

constexpr std::size_t block = 4096;

long long offset_of(unsigned index)
{
	return static_cast<long long>(index) * static_cast<long long>(block);
}

// This thread's context switches so far. A voluntary one is a sleep in the kernel. An
// involuntary one is a preemption, not a sleep: by the timer, or by the worker a submission
// wakes, which the scheduler may run at once on a busy machine (several per submission under
// load, so no bound on them can hold), or a sched_yield.
struct context_switches {
	long voluntary = 0;
	long involuntary = 0;

	static context_switches now()
	{
		rusage usage{};
		::getrusage(RUSAGE_THREAD, &usage);
		return {usage.ru_nvcsw, usage.ru_nivcsw};
	}
	context_switches since(const context_switches &before) const
	{
		return {voluntary - before.voluntary, involuntary - before.involuntary};
	}
	context_switches &operator+=(const context_switches &more)
	{
		voluntary += more.voluntary;
		involuntary += more.involuntary;
		return *this;
	}
};

// What a user checks of submit calls that would have blocked: none slept. The preemptions are
// recorded beside (in the XML report, and in the message of a failure).
void expect_no_sleep(const context_switches &during)
{
	::testing::Test::RecordProperty("involuntary_switches",
					static_cast<int>(during.involuntary));
	EXPECT_EQ(during.voluntary, 0) << "the submitting thread slept in the kernel ("
				       << during.involuntary << " preemptions besides)";
}

// A file of `blocks` blocks written through the page cache, synced, then dropped from it, so
// that the next buffered read has to wait for the device. False when the cache kept it.
bool make_cold_file(int fd, unsigned blocks)
{
	std::vector<char> data(blocks * block, 'c');
	if (::pwrite(fd, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
		return false;
	if (::fsync(fd) != 0)
		return false;
	return ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
}

// A pipe's reader, reading again until it has all that its writer sends.
struct pipe_reader {
	io_ctx *ctx = nullptr;
	int fd = -1;
	std::byte *buffer = nullptr;
	std::size_t wanted = 0;
	std::size_t got = 0;
	int failed = 0;
};

void read_the_rest(int result, void *data)
{
	auto *r = static_cast<pipe_reader *>(data);
	if (result <= 0) {
		r->failed = result < 0 ? result : -EIO;
		return;
	}
	r->got += static_cast<std::size_t>(result);
	if (r->got < r->wanted && io_ctx_read(r->ctx, r->fd, r->buffer + r->got, r->wanted - r->got,
					      0, read_the_rest, r) <= 0)
		r->failed = -EIO;
}

// More writes than there are workers, each longer than its pipe holds, and then the reads that
// drain the pipes: a pipe with room polls as writable, but a write longer than the room waits
// for its reader. Those writes must not take every worker, or the reads wait behind them for ever
// (the context hung so). In a child: a hang ends with SIGALRM.
TEST(BlockingFiles, WritesLongerThanTheirPipesLeaveWorkersForTheReaders)
{
	KAIO_SKIP_ON_URING("kaio's worker threads are AIO's");
	EXPECT_EQ(in_child([] {
			  ::alarm(20);
			  constexpr int pipes = 6; // more than the 4 workers kept free
			  constexpr std::size_t pipe_size = 64 * 1024;
			  constexpr std::size_t length = 2 * pipe_size;
			  std::vector<int> ends(2 * pipes);
			  for (int i = 0; i < pipes; ++i) {
				  if (::pipe2(&ends[2 * static_cast<std::size_t>(i)], O_CLOEXEC) !=
					      0 ||
				      ::fcntl(ends[2 * static_cast<std::size_t>(i)], F_SETPIPE_SZ,
					      pipe_size) < 0)
					  return std::string("pipes\n");
			  }
			  kaio::aligned_buffer out(length);
			  for (std::size_t i = 0; i < length; ++i)
				  out.data()[i] = static_cast<std::byte>(i % 241);
			  std::vector<kaio::aligned_buffer> in;
			  for (int i = 0; i < pipes; ++i)
				  in.emplace_back(length);
			  io_ctx ctx{};
			  if (io_ctx_create(&ctx, 4 * pipes, nullptr) != 0)
				  return std::string("no context\n");
			  std::vector<completion> writes(pipes);
			  std::vector<pipe_reader> readers(pipes);
			  for (std::size_t i = 0; i < pipes; ++i)
				  if (io_ctx_write(&ctx, ends[2 * i + 1], out.data(), length, 0,
						   record, &writes[i]) <= 0)
					  return std::string("a write was refused\n");
			  for (std::size_t i = 0; i < pipes; ++i) {
				  readers[i] = {&ctx, ends[2 * i], in[i].data(), length, 0, 0};
				  if (io_ctx_read(&ctx, ends[2 * i], in[i].data(), length, 0,
						  read_the_rest, &readers[i]) <= 0)
					  return std::string("a read was refused\n");
			  }
			  if (run_until_idle(ctx) != 0)
				  return std::string("process failed\n");
			  io_ctx_destroy(&ctx);
			  std::string failures;
			  for (std::size_t i = 0; i < pipes; ++i) {
				  if (writes[i].calls != 1 ||
				      writes[i].result != static_cast<int>(length))
					  failures += "write " + std::to_string(i) +
						      " ended with " +
						      std::to_string(writes[i].result) + "\n";
				  if (readers[i].failed != 0 || readers[i].got != length ||
				      std::memcmp(in[i].data(), out.data(), length) != 0)
					  failures += "read " + std::to_string(i) +
						      " did not get it all\n";
			  }
			  for (int fd : ends)
				  ::close(fd);
			  return failures;
		  }),
		  "");
}

// Whether thread `tid` of this process sleeps now (state S: in poll(2), say), sampled every
// millisecond for up to ten seconds. A thread that spins on a readable fd never does.
bool comes_to_sleep(pid_t tid)
{
	std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
	for (int look = 0; look < 10'000; ++look) {
		std::ifstream stat(path);
		std::string line;
		std::getline(stat, line);
		std::size_t after_name = line.rfind(") ");
		if (after_name != std::string::npos && line[after_name + 2] == 'S')
			return true;
		timespec millisecond{0, 1'000'000};
		::nanosleep(&millisecond, nullptr);
	}
	return false;
}

// Reads of pipes whose callbacks another thread watches.
struct watched_reads {
	std::atomic<int> ended{0};
	std::atomic<bool> all_whole{true};
};

void count_ended(int result, void *data)
{
	auto *reads = static_cast<watched_reads *>(data);
	if (result != 4)
		reads->all_whole = false;
	++reads->ended;
}

// Destroy after wait_cb has failed waits in poll(2) for what the workers still run (reads of
// idle pipes here): after each completion it sleeps again, rather than spin at full speed on an
// eventfd left readable until the last read ends (it spun, 34,000 polls in 1.6 s). Another
// thread writes to the first pipe once the destroying thread sleeps, then, once that read's
// callback has run, to the second once it sleeps again.
TEST(BlockingFiles, DestroyWaitingForWorkersSleepsBetweenTheirCompletions)
{
	KAIO_SKIP_ON_URING("kaio's worker threads are AIO's");
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  pipe_pair first, second;
			  kaio::aligned_buffer data(2 * block);
			  watched_reads reads;
			  reset_waits(-EINTR);
			  io_ctx ctx{};
			  if (io_ctx_create(&ctx, 4, wait_answering) != 0 ||
			      io_ctx_read(&ctx, first.read_end(), data.data(), block, 0,
					  count_ended, &reads) <= 0 ||
			      io_ctx_read(&ctx, second.read_end(), data.data() + block, block, 0,
					  count_ended, &reads) <= 0)
				  return std::string("no context, or a read refused\n");
			  auto destroying = static_cast<pid_t>(::syscall(SYS_gettid));
			  std::string failures;
			  std::thread writer([&] {
				  int expected = 0;
				  for (const pipe_pair *pipe : {&first, &second}) {
					  while (reads.ended < expected) {
						  timespec millisecond{0, 1'000'000};
						  ::nanosleep(&millisecond, nullptr);
					  }
					  if (!comes_to_sleep(destroying))
						  failures += "destroy did not sleep: it spun\n";
					  if (::write(pipe->write_end(), "data", 4) != 4)
						  failures += "a write to a pipe failed\n";
					  ++expected;
				  }
			  });
			  io_ctx_destroy(&ctx);
			  writer.join();
			  if (reads.ended != 2 || !reads.all_whole)
				  failures +=
					  "the reads did not end, once each, with their 4 bytes\n";
			  return failures;
		  }),
		  "");
}

// A callback that reads again (IO_CTX_SUBMIT_EARLY sends it to a worker at once) waits until
// that read has ended, as a fast worker may have it end: one io_ctx_poll() still runs only the
// callbacks of the requests out when it began, as io_ctx_poll(3) says, not on and on.
struct rereading {
	io_ctx *ctx = nullptr;
	int fd = -1;
	std::byte *buffer = nullptr;
	bool again = true;
	int callbacks = 0;
};

void read_again_and_wait_for_it(int /*result*/, void *data)
{
	auto *r = static_cast<rereading *>(data);
	++r->callbacks;
	if (!r->again)
		return;
	EXPECT_GT(io_ctx_read(r->ctx, r->fd, r->buffer, block, 0, read_again_and_wait_for_it, r),
		  0);
	// The worker signals the eventfd once the read has ended.
	pollfd readable{io_ctx_eventfd(r->ctx), POLLIN, 0};
	EXPECT_EQ(::poll(&readable, 1, 60'000), 1);
}

TEST(BlockingFiles, PollRunsTheCallbacksOfTheRequestsOutWhenItBegan)
{
	KAIO_SKIP_ON_URING("kaio's worker threads are AIO's");
	constexpr int reads = 8;
	direct_file buffered(O_RDWR | O_CREAT); // no O_DIRECT: its requests go to the workers
	ASSERT_GE(buffered.fd(), 0) << buffered.unusable_reason();
	kaio::aligned_buffer data(block);
	context_guard guard;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_SUBMIT_EARLY;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 2 * reads, nullptr, &options), 0);
	rereading reader{&guard.ctx, buffered.fd(), data.data(), true, 0};
	for (int i = 0; i < reads; ++i)
		ASSERT_GT(io_ctx_read(&guard.ctx, buffered.fd(), data.data(), block, 0,
				      read_again_and_wait_for_it, &reader),
			  0);
	ASSERT_TRUE(await_worker_completions(io_ctx_eventfd(&guard.ctx), reads));
	EXPECT_EQ(io_ctx_poll(&guard.ctx), reads);
	EXPECT_EQ(reader.callbacks, reads);
	reader.again = false; // or the context's destroy would never end
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(reader.callbacks, 2 * reads);
}

TEST(BlockingFiles, BufferedFileRequestsRunOnWorkersWithTheirData)
{
	direct_file file(O_RDWR | O_CREAT); // no O_DIRECT
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	constexpr unsigned blocks = 64;
	kaio::aligned_buffer out(blocks * block);
	kaio::aligned_buffer back(blocks * block);
	for (std::size_t i = 0; i < out.size(); ++i)
		out.data()[i] = static_cast<std::byte>(i * 7 + 3);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 16, nullptr), 0);
	std::vector<completion> writes(blocks), reads(blocks);
	for (unsigned i = 0; i < blocks; ++i)
		ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data() + i * block, block,
				       offset_of(i), record, &writes[i]),
			  0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	for (unsigned i = 0; i < blocks; ++i)
		ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), back.data() + i * block, block,
				      offset_of(i), record, &reads[i]),
			  0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(writes, static_cast<int>(block));
	expect_each_once(reads, static_cast<int>(block));
	EXPECT_EQ(std::memcmp(out.data(), back.data(), out.size()), 0);
	io_ctx_stats stats = stats_of(guard.ctx);
	// io_uring never blocks the caller on any file: it needs no workers of kaio's.
	EXPECT_EQ(stats.worker_requests, on_uring(guard.ctx) ? 0u : 2u * blocks);
	EXPECT_EQ(stats.submitted, 2u * blocks);
	EXPECT_EQ(stats.completed, 2u * blocks);
	EXPECT_EQ(stats.in_kernel, 0u);
}

// io_ctx_flush() counts what it sent, to the kernel or to the workers: a batch of buffered
// requests all sent is not "nothing sent".
TEST(BlockingFiles, FlushCountsTheRequestsItHandsToWorkers)
{
	direct_file file(O_RDWR | O_CREAT); // no O_DIRECT
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	kaio::aligned_buffer out(3 * block);
	std::memset(out.data(), 'f', out.size());
	context_guard guard;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DEFER_SUBMIT;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 4, nullptr, &options), 0);
	std::vector<completion> writes(3);
	for (unsigned i = 0; i < 3; ++i)
		ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data() + i * block, block,
				       offset_of(i), record, &writes[i]),
			  0);
	EXPECT_EQ(io_ctx_flush(&guard.ctx), 3);
	EXPECT_EQ(stats_of(guard.ctx).queued, 0u);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(writes, static_cast<int>(block));
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, on_uring(guard.ctx) ? 0u : 3u);
}

// The caller's promise that every fd is O_DIRECT (IO_CTX_DIRECT_ONLY) turns the check off: a
// buffered file then goes to the kernel like any other, which runs it inside io_submit.
TEST(BlockingFiles, DirectOnlyContextsSendEverythingToTheKernel)
{
	KAIO_SKIP_ON_URING("io_uring has no workers of kaio's to turn off");
	direct_file file(O_RDWR | O_CREAT);
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DIRECT_ONLY;
	context_guard guard;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 4, nullptr, &options), 0);
	kaio::aligned_buffer out(block);
	std::memset(out.data(), 'o', block);
	completion done;
	ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data(), block, 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.result, static_cast<int>(block));
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, 0u);
}

TEST(BlockingFiles, SyncsOfABufferedFileRunOnWorkers)
{
	direct_file file(O_RDWR | O_CREAT);
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	completion fsynced, fdsynced;
	ASSERT_GT(io_ctx_fsync(&guard.ctx, file.fd(), record, &fsynced), 0);
	ASSERT_GT(io_ctx_fdsync(&guard.ctx, file.fd(), record, &fdsynced), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(fsynced.calls, 1);
	EXPECT_EQ(fsynced.result, 0);
	EXPECT_EQ(fdsynced.calls, 1);
	EXPECT_EQ(fdsynced.result, 0);
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, on_uring(guard.ctx) ? 0u : 2u);
}

// Kernel AIO would read a pipe inside io_submit, waiting there for data; a worker reads it as
// read(2) would, when data comes.
TEST(BlockingFiles, PipeReadCompletesWhenDataArrives)
{
	int ends[2];
	ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	kaio::aligned_buffer in(block);
	completion done;
	ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &done), 0);
	EXPECT_EQ(io_ctx_poll(&guard.ctx), 0);
	EXPECT_EQ(done.calls, 0) << "completed before anything was written";
	std::vector<char> message(block, 'p');
	ASSERT_EQ(::write(ends[1], message.data(), message.size()),
		  static_cast<ssize_t>(message.size()));
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, static_cast<int>(block));
	EXPECT_EQ(std::memcmp(in.data(), message.data(), block), 0);
	::close(ends[0]);
	::close(ends[1]);
}

// A pipe opened O_DIRECT (packet mode) goes to kernel AIO, whose read under RWF_NOWAIT returns one
// packet, as read(2) does: that short count is the read's result, not a cut for a worker to
// finish, which would join the next packet to it (or wait for one).
TEST(BlockingFiles, PacketPipeReadGetsOnePacketAsReadDoes)
{
	int ends[2];
	ASSERT_EQ(::pipe2(ends, O_CLOEXEC | O_DIRECT), 0);
	// pipe2's O_DIRECT makes packets but leaves the flag out of F_GETFL, which kaio reads.
	ASSERT_EQ(::fcntl(ends[0], F_SETFL, O_DIRECT), 0);
	constexpr std::size_t packet = 512;
	std::vector<char> first(packet, 'a');
	std::vector<char> second(packet, 'b');
	ASSERT_EQ(::write(ends[1], first.data(), packet), static_cast<ssize_t>(packet));
	ASSERT_EQ(::write(ends[1], second.data(), packet), static_cast<ssize_t>(packet));
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	kaio::aligned_buffer in(block);
	completion done;
	ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, static_cast<int>(packet)) << "packets joined";
	EXPECT_EQ(std::memcmp(in.data(), first.data(), packet), 0);
	completion next;
	ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &next), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(next.result, static_cast<int>(packet));
	EXPECT_EQ(std::memcmp(in.data(), second.data(), packet), 0);
	::close(ends[0]);
	::close(ends[1]);
}

// The threads of this process.
int thread_count()
{
	auto tasks = std::filesystem::directory_iterator("/proc/self/task");
	return static_cast<int>(std::distance(begin(tasks), end(tasks)));
}

// The threads of this process once `ctx` has started its worker pool, with a read of /dev/zero
// (always ready: it takes no thread beyond the pool). Counted after the pool starts, as a
// sanitizer's runtime may start a thread of its own with the first ones.
int threads_with_the_pool_started(io_ctx &ctx)
{
	int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
	EXPECT_GE(zero, 0);
	kaio::aligned_buffer in(block);
	completion read;
	EXPECT_GT(io_ctx_read(&ctx, zero, in.data(), block, 0, record, &read), 0);
	EXPECT_EQ(run_until_idle(ctx), 0);
	EXPECT_EQ(read.result, static_cast<int>(block));
	::close(zero);
	return thread_count();
}

// Runs callbacks until `done` has run, waiting on the eventfd. false when nothing came for a
// minute: a request that cannot run, where a test would otherwise hang.
bool process_until_done(io_ctx &ctx, const completion &done)
{
	pollfd readable{io_ctx_eventfd(&ctx), POLLIN, 0};
	while (done.calls == 0) {
		if (::poll(&readable, 1, 60'000) != 1)
			return false;
		EXPECT_GE(io_ctx_poll(&ctx), 0);
	}
	return true;
}

// More pipe reads than there are workers wait for data that a later write of this context
// brings: that write must not wait behind them (a deadlock), and the threads started for them
// end with them.
TEST(BlockingFiles, WriteAReadWaitsForRunsBesideMoreWaitingReadsThanWorkers)
{
	constexpr int reads = 6;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 16, nullptr), 0);
	int base = threads_with_the_pool_started(guard.ctx);
	pipe_pair pipe;
	std::vector<kaio::aligned_buffer> in;
	std::vector<completion> read(reads);
	for (int i = 0; i < reads; ++i) {
		in.emplace_back(block);
		ASSERT_GT(io_ctx_read(&guard.ctx, pipe.read_end(), in.back().data(), block, 0,
				      record, &read[i]),
			  0);
	}
	kaio::aligned_buffer message(reads * block);
	std::memset(message.data(), 'p', message.size());
	completion written;
	ASSERT_GT(io_ctx_write(&guard.ctx, pipe.write_end(), message.data(), message.size(), 0,
			       record, &written),
		  0);
	if (!process_until_done(guard.ctx, written)) {
		ADD_FAILURE() << "the write never ran: every worker waits on a read";
		// The queued write holds a duplicate of the write end: only data ends the reads.
		ASSERT_EQ(::write(pipe.write_end(), message.data(), message.size()),
			  static_cast<ssize_t>(message.size()));
	}
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(written.result, static_cast<int>(message.size()));
	for (int i = 0; i < reads; ++i) {
		EXPECT_EQ(read[i].calls, 1);
		EXPECT_EQ(read[i].result, static_cast<int>(block));
		EXPECT_EQ(std::memcmp(in[i].data(), message.data(), block), 0);
	}
	if (!on_uring(guard.ctx)) { // io_uring's own workers are threads of the process too
		// Each ends on its own, after its request: wait for that, for a minute at most.
		for (int tries = 0; thread_count() > base && tries < 60'000; ++tries)
			::usleep(1000);
		EXPECT_EQ(thread_count(), base);
	}
}

// A character device, a pipe or a socket that is ready answers at once: its requests need no
// thread beyond the pool's four.
TEST(BlockingFiles, RequestsOnAReadyDeviceStartNoThreadBeyondThePool)
{
	KAIO_SKIP_ON_URING("io_uring reads devices itself, without kaio's workers");
	int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(zero, 0);
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
		int base = threads_with_the_pool_started(guard.ctx);
		std::vector<kaio::aligned_buffer> in;
		std::vector<completion> read(8);
		for (completion &each : read) {
			in.emplace_back(block);
			ASSERT_GT(io_ctx_read(&guard.ctx, zero, in.back().data(), block, 0, record,
					      &each),
				  0);
		}
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		expect_each_once(read, static_cast<int>(block));
		// Threads beyond the pool would linger for seconds after their request.
		EXPECT_EQ(thread_count(), base);
	}
	::close(zero);
}

// A character device may be CUSE's, whose daemon serves each read inside the call that starts it
// (this kernel is built without CUSE: /dev/zero stands in). On either backend its requests run on
// workers, plain or registered: kaio's on AIO (no character device opens with O_DIRECT),
// io_uring's on io_uring (IOSQE_ASYNC).
TEST(BlockingFiles, CharacterDeviceRequestsRunOnWorkers)
{
	int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(zero, 0);
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
		kaio::aligned_buffer in(2 * block);
		std::memset(in.data(), 'x', in.size());
		std::vector<completion> read(2);
		ASSERT_GT(io_ctx_read(&guard.ctx, zero, in.data(), block, 0, record, &read[0]), 0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		ASSERT_EQ(io_ctx_register_files(&guard.ctx, &zero, 1), 0);
		ASSERT_GT(io_ctx_read(&guard.ctx, zero, in.data() + block, block, 0, record,
				      &read[1]),
			  0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		expect_each_once(read, static_cast<int>(block));
		EXPECT_EQ(std::count(in.data(), in.data() + in.size(), std::byte{0}),
			  static_cast<std::ptrdiff_t>(in.size()));
		EXPECT_EQ(stats_of(guard.ctx).worker_requests, 2u);
	}
	::close(zero);
}

// Every descriptor the process may open in use, until it goes: a worker gets no duplicate of
// a request's fd (EMFILE).
class descriptors_used_up {
public:
	descriptors_used_up()
	{
		EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &before_), 0);
		rlimit few = before_;
		few.rlim_cur = 256;
		EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
		for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
			filler_.push_back(fd);
	}
	~descriptors_used_up()
	{
		for (int fd : filler_)
			::close(fd);
		EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &before_), 0);
	}
	descriptors_used_up(const descriptors_used_up &) = delete;
	descriptors_used_up &operator=(const descriptors_used_up &) = delete;

private:
	rlimit before_{};
	std::vector<int> filler_;
};

// With no descriptor left to duplicate for a worker, a pipe read fails with EMFILE rather than
// go to kernel AIO, which would read the pipe inside io_submit (holding the caller there until
// data came, had there been none yet).
TEST(BlockingFiles, PipeReadWithNoDescriptorLeftForAWorkerFailsInsteadOfBlocking)
{
	KAIO_SKIP_ON_URING("io_uring reads pipes itself, without workers");
	int ends[2];
	ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
	std::vector<char> message(block, 'p');
	ASSERT_EQ(::write(ends[1], message.data(), message.size()),
		  static_cast<ssize_t>(message.size()));
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	kaio::aligned_buffer in(block);
	completion done;
	int key = 0;
	{
		descriptors_used_up none_left;
		key = io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &done);
	}
	EXPECT_EQ(key, -EMFILE);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.calls, 0) << "a failed submission runs no callback";
	// With descriptors again, the same read goes to a worker.
	ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.result, static_cast<int>(block));
	::close(ends[0]);
	::close(ends[1]);
}

// With no thread to spare (RLIMIT_NPROC), reads that may wait for ever take the workers one by
// one, but never the last: the read that would take it fails with -EAGAIN, and the write that
// feeds a read still finds a worker. Before, it waited for ever behind reads that waited for it.
TEST(BlockingFiles, ReadsThatMayWaitForEverLeaveAWorkerWhenNoThreadCanStart)
{
	KAIO_SKIP_ON_URING("io_uring reads pipes itself, without workers");
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root, to run as a user whose threads nothing else counts";
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  constexpr uid_t made_up_user = 54321; // no process but this one
			  constexpr int reads = 4;              // as many as the pool's workers
			  std::array<pipe_pair, reads> pipes;
			  if (::setresuid(made_up_user, made_up_user, made_up_user) != 0)
				  return std::string("setresuid failed\n");
			  // This thread and the workers (fewer under TSan, whose own thread
			  // counts).
			  rlimit threads{reads + 1, reads + 1};
			  if (::setrlimit(RLIMIT_NPROC, &threads) != 0)
				  return std::string("setrlimit failed\n");
			  io_ctx ctx{};
			  if (io_ctx_create(&ctx, 8, nullptr) != 0)
				  return std::string("no context\n");
			  kaio::aligned_buffer in(reads * block), out(block);
			  std::array<completion, reads> read{};
			  for (std::size_t i = 0; i < reads; ++i)
				  io_ctx_read(&ctx, pipes[i].read_end(), in.data() + i * block,
					      block, 0, record, &read[i]);
			  completion fed;
			  io_ctx_write(&ctx, pipes[0].write_end(), out.data(), block, 0, record,
				       &fed);
			  std::string failures;
			  while (fed.calls == 0 || read[0].calls == 0) {
				  if (int rc = io_ctx_process(&ctx); rc < 0)
					  return "io_ctx_process: " + std::to_string(rc) + "\n";
			  }
			  if (fed.result != static_cast<int>(block))
				  failures += "the write gave " + std::to_string(fed.result) + "\n";
			  int refused = 0;
			  for (const completion &r : read)
				  refused += r.calls == 1 && r.result == -EAGAIN ? 1 : 0;
			  if (refused == 0 || refused == reads)
				  failures += std::to_string(refused) + " reads of " +
					      std::to_string(reads) + " refused\n";
			  for (const pipe_pair &pipe : pipes) // for the reads still waiting
				  if (::write(pipe.write_end(), out.data(), block) < 0)
					  failures += "a write to a pipe failed\n";
			  io_ctx_destroy(&ctx);
			  return failures;
		  }),
		  "");
}

// A direct read the kernel answers -EAGAIN under the RWF_NOWAIT kaio added, when no worker can
// run it again: its callback says why (EMFILE), not -EAGAIN, which the caller never asked for.
TEST(BlockingFiles, DirectReadNoWorkerCanRetryGetsTheReasonRatherThanEagain)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT, and retries an -EAGAIN itself");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	fault_kernel kernel;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 4, nullptr, nullptr, &kernel), 0);
	kaio::aligned_buffer in(block);
	completion probe;
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &probe), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	if (stats_of(guard.ctx).nowait_refusals != 0)
		GTEST_SKIP() << "the file system of " << file.path() << " refuses RWF_NOWAIT";

	kernel.result_script = {-EAGAIN};
	completion done;
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &done), 0);
	{
		descriptors_used_up none_left;
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
	}
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, -EMFILE);
}

// Destroy waits for what the workers still run, and runs every callback once.
TEST(BlockingFiles, DestroyWaitsForWorkerRequests)
{
	int ends[2];
	ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
	kaio::aligned_buffer in(block);
	completion done;
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
		ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], in.data(), block, 0, record, &done), 0);
		// The writer end closes: the worker's read sees end of file, and destroy can
		// finish.
		::close(ends[1]);
	}
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 0);
	::close(ends[0]);
}

// The promise itself: submitting a read that must wait for the device does not put this thread
// to sleep. The same read done by the thread itself does, which shows the count can tell.
TEST(BlockingFiles, ColdBufferedReadDoesNotSleepInSubmit)
{
	direct_file file(O_RDWR | O_CREAT);
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	constexpr unsigned blocks = 256;
	ASSERT_TRUE(make_cold_file(file.fd(), blocks));
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	kaio::aligned_buffer in(block);
	completion warm_up;
	// The first request starts the worker threads: not what is measured.
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &warm_up), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	ASSERT_EQ(::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED), 0);

	completion cold;
	context_switches before = context_switches::now();
	int key = io_ctx_read(&guard.ctx, file.fd(), in.data(), block, offset_of(blocks / 2),
			      record, &cold);
	context_switches during = context_switches::now().since(before);
	ASSERT_GT(key, 0);
	expect_no_sleep(during);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(cold.calls, 1);
	EXPECT_EQ(cold.result, static_cast<int>(block));

	// The control: a read of another cold block by this thread sleeps until the device answers.
	ASSERT_EQ(::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED), 0);
	std::vector<char> plain(block);
	before = context_switches::now();
	ASSERT_EQ(::pread(file.fd(), plain.data(), block, offset_of(blocks - 1)),
		  static_cast<ssize_t>(block));
	if (context_switches::now().since(before).voluntary == 0)
		GTEST_SKIP()
			<< "a cold pread did not sleep here (the device answered at once): the "
			   "measurement cannot tell on this machine";
}

// This thread appends `count` blocks of 'p' at `from` itself with pwrite(2), as the control of a
// test whose writes should sleep: true when at least one of them did.
bool own_appends_slept(int fd, unsigned from, unsigned count)
{
	kaio::aligned_buffer out(block); // aligned: the file may be O_DIRECT
	std::memset(out.data(), 'p', block);
	context_switches before = context_switches::now();
	for (unsigned i = from; i < from + count; ++i) {
		if (::pwrite(fd, out.data(), block, offset_of(i)) != static_cast<ssize_t>(block))
			return false;
	}
	return context_switches::now().since(before).voluntary > 0;
}

// An append to an O_DSYNC file through the page cache waits for the device, which must write
// the data and the file's new size before it returns. On a worker, the submitting thread does
// not wait. The same appends done by this thread sleep, which shows the count can tell.
TEST(BlockingFiles, ExtendingBufferedWriteDoesNotSleepInSubmit)
{
	direct_file file(O_RDWR | O_CREAT | O_DSYNC);
	ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	constexpr unsigned blocks = 16;
	kaio::aligned_buffer out(blocks * block);
	for (std::size_t i = 0; i < out.size(); ++i)
		out.data()[i] = static_cast<std::byte>(i % 253);
	completion warm_up; // the first request starts the worker threads: not what is measured
	ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data(), block, 0, record, &warm_up), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	ASSERT_EQ(warm_up.result, static_cast<int>(block));

	std::vector<completion> appended(blocks - 1);
	context_switches during;
	for (unsigned i = 1; i < blocks; ++i) {
		context_switches before = context_switches::now();
		ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data() + i * block, block,
				       offset_of(i), record, &appended[i - 1]),
			  0);
		during += context_switches::now().since(before);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
	}
	expect_no_sleep(during);
	expect_each_once(appended, static_cast<int>(block));
	std::vector<std::byte> back(out.size());
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0),
		  static_cast<ssize_t>(back.size()));
	EXPECT_EQ(std::memcmp(out.data(), back.data(), back.size()), 0);

	if (!own_appends_slept(file.fd(), blocks, blocks))
		GTEST_SKIP() << "O_DSYNC appends by this thread did not sleep here (tmpfs?): the "
				"measurement cannot tell on this machine";
}

// On ext4 an O_DIRECT write past the end of the file runs inside io_submit: the thread would
// sleep until the device answers. With IO_CTX_NOWAIT_WRITES the kernel says -EAGAIN instead and
// a worker runs it; the appended data is all there, and no submission slept. Each append is
// submitted with nothing else in flight: while a worker writes the same file, the kernel may still
// make a submission wait briefly on a lock of its own (see io_ctx_write(3)).
TEST(BlockingFiles, DirectAppendWithNowaitWritesDoesNotSleepInSubmit)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	context_guard guard;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_NOWAIT_WRITES;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 8, nullptr, &options), 0);
	constexpr unsigned blocks = 16;
	kaio::aligned_buffer out(blocks * block);
	for (std::size_t i = 0; i < out.size(); ++i)
		out.data()[i] = static_cast<std::byte>(i % 251);
	std::vector<completion> appended(blocks);
	context_switches during;
	for (unsigned i = 0; i < blocks; ++i) {
		context_switches before = context_switches::now();
		ASSERT_GT(io_ctx_write(&guard.ctx, file.fd(), out.data() + i * block, block,
				       offset_of(i), record, &appended[i]),
			  0);
		during += context_switches::now().since(before);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
	}
	expect_no_sleep(during);
	expect_each_once(appended, static_cast<int>(block));
	kaio::aligned_buffer back(blocks * block);
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0),
		  static_cast<ssize_t>(back.size()));
	EXPECT_EQ(std::memcmp(out.data(), back.data(), out.size()), 0);
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.completed, blocks);
	EXPECT_EQ(stats.nowait_retries, stats.worker_requests);

	// The control: the same direct appends done by this thread wait for the device.
	if (!own_appends_slept(file.fd(), blocks, blocks))
		GTEST_SKIP() << "direct appends by this thread did not sleep here: the "
				"measurement cannot tell on this machine";
}

// O_DIRECT reads carry RWF_NOWAIT: a read the kernel would block on comes back -EAGAIN and is
// run again on a worker, counted; the caller sees only the data. Dirty page-cache pages over
// the range make the kernel answer -EAGAIN (it would have to write them back first).
TEST(BlockingFiles, DirectReadTheKernelWouldBlockOnIsRetriedOnAWorker)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	int cached = ::open(file.path().c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(cached, 0);
	std::vector<char> dirty(block, 'd');
	ASSERT_EQ(::pwrite(cached, dirty.data(), block, 0), static_cast<ssize_t>(block));
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	kaio::aligned_buffer in(block);
	completion done;
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, static_cast<int>(block));
	EXPECT_EQ(std::memcmp(in.data(), dirty.data(), block), 0);
	io_ctx_stats stats = stats_of(guard.ctx);
	if (stats.nowait_retries == 0)
		GTEST_SKIP() << "this kernel read the dirty range under RWF_NOWAIT without -EAGAIN";
	EXPECT_EQ(stats.nowait_retries, 1u);
	EXPECT_EQ(stats.worker_requests, 1u);
	::close(cached);
}

// A file system without RWF_NOWAIT refuses it with EOPNOTSUPP at io_submit (a fault the seam
// makes here, as ext4 and xfs accept the flag). Without the flag the kernel could block on a
// file system that is not tmpfs (served from memory): the request goes to a worker, and so do
// later requests there in that direction, without another refusal
// (tests/nowait_refusals_test.cpp and fuse_test.cpp: on real file systems).
TEST(BlockingFiles, RefusedNowaitSendsTheFileSystemsRequestsToWorkers)
{
	KAIO_SKIP_ON_URING("RWF_NOWAIT is AIO's");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	struct statfs where {};
	if (::fstatfs(file.fd(), &where) == 0 && where.f_type == TMPFS_MAGIC)
		GTEST_SKIP() << "the scratch file is on tmpfs, whose requests go to the kernel";
	fault_kernel kernel;
	kernel.submit_script = {-EOPNOTSUPP};
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 4, nullptr, nullptr, &kernel), 0);
	kaio::aligned_buffer in(block);
	completion first, second;
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &first), 0);
	EXPECT_EQ(kernel.submit_calls, 1) << "refused, then sent again to the kernel, not a worker";
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), in.data(), block, 0, record, &second), 0);
	EXPECT_EQ(kernel.submit_calls, 1) << "the second read went to the kernel, not a worker";
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	for (const completion &read : {first, second}) {
		EXPECT_EQ(read.calls, 1);
		EXPECT_EQ(read.result, 0); // the file is empty: end of file at once
	}
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_refusals, 1u);
	EXPECT_EQ(stats.worker_requests, 2u);
}

} // namespace
