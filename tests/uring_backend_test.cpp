// The io_uring backend's own behaviour: what AIO cannot do (stop a request that waits) and what
// only io_uring uses (registered buffers and files). Every context here asks for io_uring
// explicitly; a kernel that refuses it skips the test.
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"
#include "kaio/io_ctx.h"
#include "support/block_pattern.hpp"
#include "support/block_writes.hpp"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/open_descriptors.hpp"
#include "support/pinned_pages.hpp"
#include "support/pipe_pair.hpp"
#include "support/small_filesystem.hpp"
#include "support/wait_callbacks.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

// Creates an io_uring context in `ctx`, or says why the test cannot run.
int create_uring_into(io_ctx &ctx, int capacity, unsigned flags = 0, int (*wait_cb)(int) = nullptr)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.backend = IO_CTX_BACKEND_URING;
	options.flags = flags;
	return io_ctx_create_opts(&ctx, capacity, wait_cb, &options);
}

int create_uring(context_guard &guard, int capacity, unsigned flags = 0,
		 int (*wait_cb)(int) = nullptr)
{
	return create_uring_into(guard.ctx, capacity, flags, wait_cb);
}

#define KAIO_URING_OR_SKIP(guard, capacity, ...)                                                   \
	do {                                                                                       \
		int rc_ = create_uring(guard, capacity __VA_OPT__(, ) __VA_ARGS__);                \
		if (rc_ == -EPERM || rc_ == -ENOSYS)                                               \
			GTEST_SKIP() << "io_uring refused here: " << std::strerror(-rc_);          \
		ASSERT_EQ(rc_, 0);                                                                 \
	} while (0)

TEST(UringBackend, ContextReportsItsBackend)
{
	context_guard context;
	KAIO_URING_OR_SKIP(context, 4);
	EXPECT_EQ(io_ctx_backend(&context.ctx), static_cast<int>(IO_CTX_BACKEND_URING));
}

TEST(UringBackend, CancelStopsAReadThatWaitsAndItsCallbackRunsOnceWithEcanceled)
{
	// A read from an empty pipe waits for a writer that never comes: only a real cancel ends
	// it.
	pipe_pair pipe;
	aligned_buffer data(block);
	completion read;
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	int key = io_ctx_read(&context.ctx, pipe.read_end(), data.data(), block, 0, record, &read);
	ASSERT_GT(key, 0);
	EXPECT_EQ(io_ctx_poll(&context.ctx), 0);
	EXPECT_EQ(read.calls, 0);

	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, -ECANCELED);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -ENOENT);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	io_ctx_stats stats = stats_of(context.ctx);
	EXPECT_EQ(stats.completed, 1u);
	EXPECT_EQ(stats.in_kernel, 0u);
}

TEST(UringBackend, DestroyWhoseWaitCbFailsStopsAReadThatWouldWaitForEver)
{
	// With wait_cb failing, destroy waits in the kernel, where a read from a pipe nobody writes
	// to would keep it for ever (before the fix this test never returned: ctest's timeout
	// failed it).
	pipe_pair pipe;
	aligned_buffer data(block);
	completion read;
	context_guard context;
	reset_waits(-EINTR);
	KAIO_URING_OR_SKIP(context, 2, 0, wait_answering);
	ASSERT_GT(io_ctx_read(&context.ctx, pipe.read_end(), data.data(), block, 0, record, &read),
		  0);
	io_ctx_destroy(&context.ctx);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, -ECANCELED);
	// Stopped, not left behind in the kernel: what is written now stays in the pipe.
	ASSERT_EQ(::write(pipe.write_end(), "abc", 3), 3);
	int unread = 0;
	ASSERT_EQ(::ioctl(pipe.read_end(), FIONREAD, &unread), 0);
	EXPECT_EQ(unread, 3);
}

// A read of a pipe whose callback, once stopped, reads the pipe again.
struct rereading_read {
	io_ctx *ctx;
	int fd;
	std::byte *buffer;
	completion first;
	completion second;
	int second_key;
};

void read_again(int result, void *data)
{
	auto *r = static_cast<rereading_read *>(data);
	record(result, &r->first);
	r->second_key = io_ctx_read(r->ctx, r->fd, r->buffer, block, 0, record, &r->second);
}

TEST(UringBackend, DestroyWhoseWaitCbFailsStopsAReadSubmittedByACallbackMeanwhile)
{
	pipe_pair pipe;
	aligned_buffer data(block);
	context_guard context;
	reset_waits(-EINTR);
	KAIO_URING_OR_SKIP(context, 2, 0, wait_answering);
	rereading_read reader{&context.ctx, pipe.read_end(), data.data(), {}, {}, 0};
	ASSERT_GT(io_ctx_read(&context.ctx, pipe.read_end(), data.data(), block, 0, read_again,
			      &reader),
		  0);
	io_ctx_destroy(&context.ctx);
	EXPECT_EQ(reader.first.calls, 1);
	EXPECT_EQ(reader.first.result, -ECANCELED);
	ASSERT_GT(reader.second_key, 0);
	EXPECT_EQ(reader.second.calls, 1);
	EXPECT_EQ(reader.second.result, -ECANCELED);
}

// Two reads that end in the same reap, each cancelling the other from its callback if that has
// not run yet.
struct rival_read {
	io_ctx *ctx = nullptr;
	rival_read *other = nullptr;
	int key = 0;
	completion self;
	int cancel_result = 1; // 1: did not cancel
	int waits_during_cancel = 0;
};

// The waits of the context below, and the pipe each of them unblocks.
int waits = 0;
int write_end_to_unblock = -1;

int unblock_on_wait(int /*wait_fd*/)
{
	++waits;
	char byte = 0;
	EXPECT_EQ(::write(write_end_to_unblock, &byte, 1), 1);
	return 0; // early: process() looks again
}

void cancel_rival_read(int result, void *data)
{
	auto *r = static_cast<rival_read *>(data);
	record(result, &r->self);
	if (r->other->self.calls != 0)
		return;
	int waits_before = waits;
	r->cancel_result = io_ctx_cancel(r->ctx, r->other->key);
	r->waits_during_cancel = waits - waits_before;
}

// The rival's completion is already in hand, up the stack: it has finished and cannot be
// stopped, so the cancel answers -EINPROGRESS at once, without waiting for the requests still in
// flight, such as a read from a pipe that nobody writes to.
TEST(UringBackend, CancelOfARequestReapedInTheSameBatchDoesNotWait)
{
	pipe_pair idle;
	pipe_pair full;
	aligned_buffer data(3 * block);
	ASSERT_EQ(::write(full.write_end(), data.data(), 2 * block), 2 * static_cast<long>(block));
	waits = 0;
	write_end_to_unblock = idle.write_end();
	context_guard context;
	KAIO_URING_OR_SKIP(context, 4, 0, unblock_on_wait);
	completion idle_read;
	ASSERT_GT(io_ctx_read(&context.ctx, idle.read_end(), data.data() + 2 * block, block, 0,
			      record, &idle_read),
		  0);
	rival_read reads[2];
	for (unsigned i = 0; i < 2; ++i) {
		reads[i].ctx = &context.ctx;
		reads[i].other = &reads[1 - i];
		reads[i].key = io_ctx_read(&context.ctx, full.read_end(), data.data() + i * block,
					   block, 0, cancel_rival_read, &reads[i]);
		ASSERT_GT(reads[i].key, 0);
	}

	ASSERT_EQ(io_ctx_poll(&context.ctx), 2); // both ended in their submission
	rival_read &canceller = reads[0].cancel_result != 1 ? reads[0] : reads[1];
	EXPECT_EQ(canceller.cancel_result, -EINPROGRESS);
	EXPECT_EQ(canceller.waits_during_cancel, 0);
	EXPECT_EQ(canceller.other->cancel_result, 1);
	for (const rival_read &read : reads) {
		EXPECT_EQ(read.self.calls, 1);
		EXPECT_EQ(read.self.result, block_result);
	}
	EXPECT_EQ(idle_read.calls, 0);

	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(idle_read.calls, 1);
	EXPECT_EQ(idle_read.result, 1);
}

// Freezes a mounted filesystem (FIFREEZE) until thaw() or the end of the object: a write to it
// then waits in the kernel, on an io-wq worker for io_uring, where nothing can stop it.
class frozen_filesystem {
public:
	explicit frozen_filesystem(const std::filesystem::path &mount_point)
		: fd_(::open(mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	{
		frozen_ = fd_ >= 0 && ::ioctl(fd_, FIFREEZE, 0) == 0;
	}
	~frozen_filesystem()
	{
		thaw();
		if (fd_ >= 0)
			::close(fd_);
	}
	frozen_filesystem(const frozen_filesystem &) = delete;
	frozen_filesystem &operator=(const frozen_filesystem &) = delete;

	bool frozen() const { return frozen_; }
	void thaw()
	{
		if (frozen_)
			frozen_ = ::ioctl(fd_, FITHAW, 0) != 0;
	}

private:
	int fd_;
	bool frozen_ = false;
};

// How many of this process's io_uring workers (iou-wrk-*) sleep uninterruptibly.
int io_workers_waiting_in_the_kernel()
{
	int waiting = 0;
	for (const auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
		std::ifstream stat(task.path() / "stat");
		std::string line;
		std::getline(stat, line);
		std::size_t name_end = line.rfind(')');
		if (line.find("(iou-wrk-") != std::string::npos && name_end != std::string::npos &&
		    line.compare(name_end, 4, ") D ") == 0)
			++waiting;
	}
	return waiting;
}

// Until `count` io_uring workers have taken up their requests and wait in the kernel; false
// after 20 seconds.
bool io_workers_wait_in_the_kernel(int count)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	while (io_workers_waiting_in_the_kernel() < count) {
		if (std::chrono::steady_clock::now() > deadline)
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return true;
}

frozen_filesystem *to_thaw = nullptr;

int thaw_on_wait(int /*wait_fd*/)
{
	++waits;
	to_thaw->thaw();
	return 0;
}

// The wait callback thaw_on_wait() thaws `frozen`, and counts its waits from 0. Whether it is
// frozen, for the test to assert.
bool thaw_on_wait_from_now(frozen_filesystem &frozen)
{
	waits = 0;
	to_thaw = &frozen;
	return frozen.frozen();
}

// A write that a frozen filesystem holds on an io-wq worker cannot be stopped: the kernel says
// so within the cancel's submit, and the cancel answers -EINPROGRESS at once instead of waiting
// for the write (here, until the wait thaws the filesystem). The write then ends normally.
TEST(UringBackend, CancelOfARequestTheKernelCannotStopDoesNotWaitForIt)
{
	KAIO_SMALL_EXT4_FILE_OR_SKIP(filesystem, file);
	int fd = file.fd;
	aligned_buffer data = patterned(1, 96);
	ASSERT_EQ(::pwrite(fd, data.data(), block, 0), block_result);
	{
		frozen_filesystem frozen(filesystem.mount_point());
		ASSERT_TRUE(thaw_on_wait_from_now(frozen)) << std::strerror(errno);
		context_guard context;
		KAIO_URING_OR_SKIP(context, 2, 0, thaw_on_wait);
		completion write;
		int key = io_ctx_write(&context.ctx, fd, data.data(), block, 0, record, &write);
		ASSERT_GT(key, 0);
		ASSERT_TRUE(io_workers_wait_in_the_kernel(1));

		EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -EINPROGRESS);
		EXPECT_EQ(waits, 0);
		EXPECT_EQ(write.calls, 0);

		frozen.thaw();
		ASSERT_EQ(run_until_idle(context.ctx), 0);
		EXPECT_EQ(write.calls, 1);
		EXPECT_EQ(write.result, block_result);
	}
}

// The kernel posts a CQE for every cancel it is asked: repeats of one it refused are answered
// from memory, so that they cannot fill the CQ (here room for four) and push the kernel's answer
// to the cancel of another request onto its overflow list, where a cancel that did not see it
// would wait for that write (until the wait thaws the filesystem).
TEST(UringBackend, RepeatedCancelsOfARequestTheKernelCannotStopLeaveRoomForOthers)
{
	KAIO_SMALL_EXT4_FILE_OR_SKIP(filesystem, file);
	// Two files: io_uring's workers take writes to one file in turn, and both must be taken.
	open_file other{::open((filesystem.mount_point() / "other").c_str(),
			       O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600)};
	ASSERT_GE(other.fd, 0) << std::strerror(errno);
	aligned_buffer data = patterned(1, 97);
	for (int fd : {file.fd, other.fd})
		ASSERT_EQ(::pwrite(fd, data.data(), block, 0), block_result);
	{
		frozen_filesystem frozen(filesystem.mount_point());
		ASSERT_TRUE(thaw_on_wait_from_now(frozen)) << std::strerror(errno);
		context_guard context;
		KAIO_URING_OR_SKIP(context, 2, 0, thaw_on_wait);
		completion writes[2];
		int keys[2];
		for (int i = 0; i < 2; ++i) {
			keys[i] = io_ctx_write(&context.ctx, i == 0 ? file.fd : other.fd,
					       data.data(), block, 0, record, &writes[i]);
			ASSERT_GT(keys[i], 0);
		}
		ASSERT_TRUE(io_workers_wait_in_the_kernel(2));

		for (int repeat = 0; repeat < 4; ++repeat)
			EXPECT_EQ(io_ctx_cancel(&context.ctx, keys[0]), -EINPROGRESS) << repeat;
		EXPECT_EQ(io_ctx_cancel(&context.ctx, keys[1]), -EINPROGRESS);
		EXPECT_EQ(waits, 0);
		EXPECT_EQ(writes[1].calls, 0);

		frozen.thaw();
		ASSERT_EQ(run_until_idle(context.ctx), 0);
		for (const completion &write : writes) {
			EXPECT_EQ(write.calls, 1);
			EXPECT_EQ(write.result, block_result);
		}
	}
}

// Each cancel reads its own answer: the answers to cancels of the slot's previous request
// (refused: it had finished), still in the CQ or on the kernel's overflow list behind it (room
// for two here), are not taken for the answer to this one, which the kernel stops.
TEST(UringBackend, CancelReadsItsOwnAnswerNotOneLeftByTheSlotsPreviousRequest)
{
	pipe_pair ready;
	pipe_pair idle;
	aligned_buffer data(2 * block);
	ASSERT_EQ(::write(ready.write_end(), data.data(), block), block_result);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 1);
	completion first;
	int first_key =
		io_ctx_read(&context.ctx, ready.read_end(), data.data(), block, 0, record, &first);
	ASSERT_GT(first_key, 0);
	for (int repeat = 0; repeat < 2; ++repeat) // finished at its submit: nothing to stop
		EXPECT_EQ(io_ctx_cancel(&context.ctx, first_key), -EINPROGRESS) << repeat;
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.result, block_result);

	completion second;
	int second_key = io_ctx_read(&context.ctx, idle.read_end(), data.data() + block, block, 0,
				     record, &second);
	ASSERT_GT(second_key, 0);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, second_key), 0);
	EXPECT_EQ(second.calls, 1);
	EXPECT_EQ(second.result, -ECANCELED);
}

TEST(UringBackend, RequestsInsideARegisteredBufferUseItAndOthersDoNot)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer pool = patterned(4, 90);
	aligned_buffer outside(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 4);
	iovec registered{pool.data(), pool.size()};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, &registered, 1), 0);

	std::vector<completion> writes;
	ASSERT_NO_FATAL_FAILURE(submit_block_writes(context.ctx, file.fd(), pool, 4, writes));
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	completion read;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), outside.data(), block, offset_of(2), record,
			      &read),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.result, block_result);

	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 4u);
	EXPECT_EQ(std::memcmp(outside.data(), pool.data() + 2 * block, block), 0);
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, nullptr, 0), 0); // unregisters
}

// Destroy lets go of what registration holds before it returns, though the kernel takes the ring
// itself down later, on a worker of its own: the buffers' pinned pages, counted against
// RLIMIT_MEMLOCK (a loop creating contexts that register the same buffers ran out of it), and
// the files (the reader of a pipe whose registered write end its owner closes then sees the end
// of the stream at once).
TEST(UringBackend, DestroyLetsGoOfRegisteredBuffersAndFilesBeforeItReturns)
{
	aligned_buffer pool(1 << 20);
	pipe_pair pipe;
	long pinned_before = pinned_kib();
	ASSERT_GE(pinned_before, 0) << "no VmPin in /proc/self/status";
	io_ctx ctx{};
	if (int rc = create_uring_into(ctx, 4); rc == -EPERM || rc == -ENOSYS)
		GTEST_SKIP() << "io_uring refused here: " << std::strerror(-rc);
	else
		ASSERT_EQ(rc, 0);
	iovec registered{pool.data(), pool.size()};
	int write_end = pipe.write_end();
	EXPECT_EQ(io_ctx_register_buffers(&ctx, &registered, 1), 0);
	EXPECT_EQ(io_ctx_register_files(&ctx, &write_end, 1), 0);
	EXPECT_GE(pinned_kib(), pinned_before + 1024) << "registration pins the buffer";
	io_ctx_destroy(&ctx);
	EXPECT_EQ(pinned_kib(), pinned_before) << "the buffer is still pinned";
	pipe.close_write_end();
	ASSERT_EQ(::fcntl(pipe.read_end(), F_SETFL, O_NONBLOCK), 0);
	char byte = 0;
	EXPECT_EQ(::read(pipe.read_end(), &byte, 1), 0) << "the ring still holds the write end";
}

// A registration the kernel refuses (a buffer in memory that is not mapped: -EFAULT) leaves none
// registered, not the set before it, as io_ctx_register_buffers(3) says: a write from the old
// buffer then goes as a plain one, and still writes its bytes.
TEST(UringBackend, ARefusedRegistrationLeavesNoBufferRegistered)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer pool = patterned(2, 95);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	iovec first{pool.data(), pool.size()};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, &first, 1), 0);
	void *gone =
		::mmap(nullptr, block, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(gone, MAP_FAILED);
	ASSERT_EQ(::munmap(gone, block), 0);
	iovec second[] = {{pool.data(), pool.size()}, {gone, block}};
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, second, 2), -EFAULT);
	std::vector<completion> writes;
	ASSERT_NO_FATAL_FAILURE(submit_block_writes(context.ctx, file.fd(), pool, 2, writes));
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 0u);
	aligned_buffer back(pool.size());
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0),
		  static_cast<ssize_t>(back.size()));
	EXPECT_EQ(std::memcmp(back.data(), pool.data(), pool.size()), 0);
}

// A sparse entry ({ NULL, 0 }, which the kernel accepts) holds no request, not even one of no
// bytes at NULL: sent as fixed, the kernel would fail it with -EFAULT.
TEST(UringBackend, ReadOfNoBytesIsNotSentWithAnEmptyRegisteredBuffer)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer pool(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	iovec registered[] = {{nullptr, 0}, {pool.data(), pool.size()}};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, registered, 2), 0);
	completion read;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), nullptr, 0, 0, record, &read), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, 0);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 0u);
}

// One buffer per request, as kaio-bench --fixedbufs and fio's fixedbufs=1 register them, here
// against their address order: each request finds its own; one outside them all does not.
TEST(UringBackend, EachOfManyRegisteredBuffersIsFound)
{
	constexpr unsigned count = 8;
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::vector<aligned_buffer> buffers;
	for (unsigned i = 0; i < count; ++i)
		buffers.push_back(patterned(1, 100 + static_cast<int>(i)));
	aligned_buffer outside = patterned(1, 99);
	context_guard context;
	KAIO_URING_OR_SKIP(context, count + 1);
	std::vector<iovec> registered;
	for (aligned_buffer &buffer : buffers)
		registered.push_back({buffer.data(), block});
	std::sort(registered.begin(), registered.end(), [](const iovec &a, const iovec &b) {
		return a.iov_base > b.iov_base; // the highest address first
	});
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, registered.data(), count), 0);

	std::vector<completion> writes(count + 1);
	for (unsigned i = 0; i < count; ++i)
		ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), buffers[i].data(), block,
				       offset_of(i), record, &writes[i]),
			  0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), outside.data(), block, offset_of(count),
			       record, &writes[count]),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, count);
	aligned_buffer back(block);
	for (unsigned i = 0; i <= count; ++i) {
		ASSERT_EQ(::pread(file.fd(), back.data(), block, offset_of(i)),
			  static_cast<ssize_t>(block));
		const aligned_buffer &sent = i < count ? buffers[i] : outside;
		EXPECT_EQ(std::memcmp(back.data(), sent.data(), block), 0) << "block " << i;
	}
}

// Registered buffers may overlap (a pool and a part of it): a request inside the pool but past
// the part that starts last below it is still sent with a registered buffer.
TEST(UringBackend, OverlappingRegisteredBuffersAreFoundToo)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer pool = patterned(4, 110);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 4);
	iovec registered[2] = {{pool.data(), pool.size()}, {pool.data() + block, block}};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, registered, 2), 0);
	std::vector<completion> writes;
	ASSERT_NO_FATAL_FAILURE(submit_block_writes(context.ctx, file.fd(), pool, 4, writes));
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 4u);
}

TEST(UringBackend, ReadsIntoARegisteredBufferGetTheFileContents)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 91);
	aligned_buffer expected = patterned(2, 91);
	aligned_buffer pool(2 * block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	iovec registered{pool.data(), pool.size()};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, &registered, 1), 0);
	std::vector<completion> reads(2);
	for (unsigned i = 0; i < 2; ++i)
		ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), pool.data() + i * block, block,
				      offset_of(i), record, &reads[i]),
			  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(reads, block_result);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 2u);
	EXPECT_EQ(std::memcmp(pool.data(), expected.data(), pool.size()), 0);
}

TEST(UringBackend, RequestsOnRegisteredFilesReachThoseFiles)
{
	KAIO_DIRECT_FILE_OR_SKIP(first);
	KAIO_DIRECT_FILE_OR_SKIP(second);
	aligned_buffer one = patterned(1, 92);
	aligned_buffer two = patterned(1, 93);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	// Registered in the other order than the descriptors: index and fd differ.
	int fds[2] = {second.fd(), first.fd()};
	ASSERT_EQ(io_ctx_register_files(&context.ctx, fds, 2), 0);
	std::vector<completion> writes(2);
	ASSERT_GT(io_ctx_write(&context.ctx, first.fd(), one.data(), block, 0, record, &writes[0]),
		  0);
	ASSERT_GT(io_ctx_write(&context.ctx, second.fd(), two.data(), block, 0, record, &writes[1]),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	expect_each_once(writes, block_result);
	aligned_buffer back(block);
	ASSERT_EQ(::pread(first.fd(), back.data(), block, 0), static_cast<ssize_t>(block));
	EXPECT_EQ(std::memcmp(back.data(), one.data(), block), 0);
	ASSERT_EQ(::pread(second.fd(), back.data(), block, 0), static_cast<ssize_t>(block));
	EXPECT_EQ(std::memcmp(back.data(), two.data(), block), 0);
}

// What io_ctx_register_files(3) says registration does on io_uring: a request names the file
// registered, not whatever its descriptor number means now. The number is given to another file
// with dup2; a write on it still reaches the registered file, and the other file stays empty.
TEST(UringBackend, ARegisteredNumberReachesTheRegisteredFileAfterDup2)
{
	KAIO_DIRECT_FILE_OR_SKIP(registered);
	KAIO_DIRECT_FILE_OR_SKIP(other);
	int kept_open = ::open(registered.path().c_str(), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(kept_open, 0);
	aligned_buffer data = patterned(1, 94);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	int fds[1] = {registered.fd()};
	ASSERT_EQ(io_ctx_register_files(&context.ctx, fds, 1), 0);
	ASSERT_EQ(::dup2(other.fd(), registered.fd()), registered.fd());
	completion write;
	ASSERT_GT(
		io_ctx_write(&context.ctx, registered.fd(), data.data(), block, 0, record, &write),
		0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(write.calls, 1);
	EXPECT_EQ(write.result, block_result);
	aligned_buffer back(block);
	EXPECT_EQ(::pread(kept_open, back.data(), block, 0), static_cast<ssize_t>(block));
	EXPECT_EQ(std::memcmp(back.data(), data.data(), block), 0);
	EXPECT_EQ(::lseek(other.fd(), 0, SEEK_END), 0) << "the write reached the file dup2 gave";
	::close(kept_open);
}

// A write through the page cache to an O_DSYNC file would be synced in io_uring_enter, in the
// caller's thread, on xfs (the filesystem matrix shows it: BlockingFiles.*Sleep* on xfs): it goes
// to io_uring's workers, counted in worker_requests. A direct O_DSYNC write, a write to a file
// without the flag, and a read of the O_DSYNC file go as any other; so does a write to a
// registered file opened without the flag, which is never asked.
TEST(UringBackend, WritesThatWouldSyncThePageCacheGoToIoUringsWorkers)
{
	direct_file synced(O_RDWR | O_CREAT | O_DSYNC);
	direct_file direct_synced(O_RDWR | O_CREAT | O_DIRECT | O_DSYNC);
	direct_file buffered(O_RDWR | O_CREAT);
	for (const direct_file *file : {&synced, &direct_synced, &buffered})
		if (!file->unusable_reason().empty())
			GTEST_SKIP() << file->unusable_reason();
	aligned_buffer data = patterned(1, 96);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 4);
	auto async_after = [&](int fd, bool write) {
		std::uint64_t before = stats_of(context.ctx).worker_requests;
		completion done;
		int key =
			write ? io_ctx_write(&context.ctx, fd, data.data(), block, 0, record, &done)
			      : io_ctx_read(&context.ctx, fd, data.data(), block, 0, record, &done);
		EXPECT_GT(key, 0);
		EXPECT_EQ(run_until_idle(context.ctx), 0);
		EXPECT_EQ(done.result, block_result);
		return stats_of(context.ctx).worker_requests - before;
	};
	EXPECT_EQ(async_after(synced.fd(), true), 1u);
	EXPECT_EQ(async_after(synced.fd(), false), 0u);
	EXPECT_EQ(async_after(direct_synced.fd(), true), 0u);
	EXPECT_EQ(async_after(buffered.fd(), true), 0u);
	int fds[2] = {synced.fd(), buffered.fd()};
	ASSERT_EQ(io_ctx_register_files(&context.ctx, fds, 2), 0);
	EXPECT_EQ(async_after(synced.fd(), true), 1u);
	EXPECT_EQ(async_after(buffered.fd(), true), 0u);
}

TEST(UringBackend, RegisteringANegativeDescriptorIsRefused)
{
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	int fds[1] = {-1};
	EXPECT_EQ(io_ctx_register_files(&context.ctx, fds, 1), -EBADF);
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, nullptr, 1), -EINVAL);
}

// The number of a descriptor that is not open is refused as such, before anything is sized by
// it: a table indexed by descriptor up to INT_MAX would be 8 GiB.
TEST(UringBackend, RegisteringADescriptorThatIsNotOpenCostsNoMemory)
{
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2);
	auto peak_kib = [] {
		rusage usage{};
		::getrusage(RUSAGE_SELF, &usage);
		return usage.ru_maxrss;
	};
	long before = peak_kib();
	int fds[1] = {std::numeric_limits<int>::max()};
	EXPECT_EQ(io_ctx_register_files(&context.ctx, fds, 1), -EBADF);
	EXPECT_LT(peak_kib() - before, 64L << 10) << "the registration touched a huge table";
}

// Waits, up to 10 s, for the context's eventfd to become readable; false if it never does.
bool eventfd_signalled(io_ctx &ctx)
{
	pollfd readable{io_ctx_eventfd(&ctx), POLLIN, 0};
	return ::poll(&readable, 1, 10000) == 1;
}

// A single-thread ring defers the kernel's task work to the thread's next look at the events,
// where Linux runs at most 20 items per io_uring_enter and keeps the rest, which signal the
// eventfd no more. One byte wakes every read waiting on a pipe, and all but one wait again; a
// read of another pipe, woken after them, must still reach the event loop.
TEST(UringBackend, ReadWokenBehindManyWaitingReadsReachesTheEventLoop)
{
	constexpr int waiting = 100;
	pipe_pair crowded, other;
	aligned_buffer buffers((waiting + 1) * block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, waiting + 1, IO_CTX_SINGLE_THREAD);
	std::vector<completion> crowd(waiting);
	for (int i = 0; i < waiting; ++i)
		ASSERT_GT(io_ctx_read(&context.ctx, crowded.read_end(), buffers.data() + i * block,
				      block, 0, record, &crowd[static_cast<std::size_t>(i)]),
			  0);
	completion behind;
	ASSERT_GT(io_ctx_read(&context.ctx, other.read_end(), buffers.data() + waiting * block,
			      block, 0, record, &behind),
		  0);
	ASSERT_EQ(::write(crowded.write_end(), "c", 1), 1);
	ASSERT_EQ(::write(other.write_end(), "o", 1), 1);
	pollfd watch{io_ctx_eventfd(&context.ctx), POLLIN, 0};
	while (behind.calls == 0) {
		ASSERT_EQ(::poll(&watch, 1, 10000), 1) << "the loop would sleep with the read done";
		ASSERT_GE(io_ctx_poll(&context.ctx), 0);
	}
	EXPECT_EQ(behind.result, 1);
	int served = 0;
	for (const completion &read : crowd)
		served += read.calls;
	EXPECT_EQ(served, 1) << "one byte for the crowd";
	crowded.close_write_end(); // the end of the stream for the reads still waiting
	EXPECT_EQ(run_until_idle(context.ctx), 0);
}

// Suspends the calling thread in vfork until a byte comes through `release` (or 40 s have passed,
// after the test's own alarm); a byte through `started` says it is suspended.
void suspend_in_vfork(const pipe_pair &started, const pipe_pair &release)
{
	pid_t child = ::vfork();
	if (child == 0) {
		::alarm(40); // so that it lets go of the pipe the test reports through
		char byte = 0;
		if (::write(started.write_end(), &byte, 1) == 1)
			(void)!::read(release.read_end(), &byte, 1);
		::_exit(0);
	}
	if (child > 0)
		::waitpid(child, nullptr, 0);
}

// A context without IO_CTX_SINGLE_THREAD may pass from thread to thread. A read's completion
// becomes task work of the thread that submitted it, which the kernel flags; another thread's
// io_ctx_poll, while that one cannot run it (suspended in vfork here), must return rather than
// look again and again until it can (it spun until the first thread ran).
TEST(UringBackend, PollOfAnotherThreadEndsWhileTheSubmitterCannotRun)
{
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  pipe_pair data, started, release;
			  io_ctx ctx{};
			  if (int rc = create_uring_into(ctx, 4); rc < 0)
				  return rc == -EPERM || rc == -ENOSYS
						 ? std::string()
						 : std::string("no context\n");
			  aligned_buffer buffer(block);
			  completion read;
			  if (io_ctx_read(&ctx, data.read_end(), buffer.data(), block, 0, record,
					  &read) <= 0)
				  return std::string("the read was not sent\n");
			  std::string failures;
			  std::thread other([&] {
				  char byte = 'd';
				  if (::read(started.read_end(), &byte, 1) != 1 ||
				      ::write(data.write_end(), &byte, 1) != 1)
					  failures += "no byte for the read\n";
				  if (io_ctx_poll(&ctx) < 0)
					  failures += "io_ctx_poll failed\n";
				  if (::write(release.write_end(), &byte, 1) != 1)
					  failures += "the vfork child was not released\n";
			  });
			  suspend_in_vfork(started, release);
			  other.join();
			  while (read.calls == 0 && io_ctx_process(&ctx) >= 0) {
			  }
			  if (read.result != 1)
				  failures += "the read gave " + std::to_string(read.result) + "\n";
			  io_ctx_destroy(&ctx);
			  return failures;
		  }),
		  "");
}

// Created on one thread, buffers registered there, then used by another: the thread of the
// first submission. A read that the kernel finishes on one of its worker threads (from a pipe)
// must still make the eventfd readable and reach io_ctx_poll, although the kernel posts it only
// when the issuing thread asks for completions.
TEST(UringBackend, SingleThreadContextServesTheThreadOfItsFirstSubmission)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	pipe_pair pipe;
	aligned_buffer pool = patterned(4, 94);
	aligned_buffer back(4 * block);
	aligned_buffer piped(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 8, IO_CTX_SINGLE_THREAD);
	iovec registered{pool.data(), pool.size()};
	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, &registered, 1), 0);

	std::vector<completion> writes(4);
	std::vector<completion> reads(4);
	completion from_pipe;
	std::thread issuer([&] {
		for (unsigned i = 0; i < 4; ++i)
			EXPECT_GT(io_ctx_write(&context.ctx, file.fd(), pool.data() + i * block,
					       block, offset_of(i), record, &writes[i]),
				  0);
		EXPECT_EQ(run_until_idle(context.ctx), 0);
		for (unsigned i = 0; i < 4; ++i)
			EXPECT_GT(io_ctx_read(&context.ctx, file.fd(), back.data() + i * block,
					      block, offset_of(i), record, &reads[i]),
				  0);
		EXPECT_EQ(run_until_idle(context.ctx), 0);

		EXPECT_GT(io_ctx_read(&context.ctx, pipe.read_end(), piped.data(), block, 0, record,
				      &from_pipe),
			  0);
		EXPECT_EQ(::write(pipe.write_end(), pool.data(), 512), 512);
		EXPECT_TRUE(eventfd_signalled(context.ctx));
		while (from_pipe.calls == 0 && eventfd_signalled(context.ctx))
			EXPECT_GE(io_ctx_poll(&context.ctx), 0);
	});
	issuer.join();
	expect_each_once(writes, block_result);
	expect_each_once(reads, block_result);
	EXPECT_EQ(std::memcmp(back.data(), pool.data(), back.size()), 0);
	EXPECT_EQ(from_pipe.calls, 1);
	EXPECT_EQ(from_pipe.result, 512);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 4u);
}

// Limits the ring `ring_fd`, still disabled, to IORING_OP_READ without SQE flags: the kernel
// then fails any other request as it takes it from the SQ (-EACCES, in that request's CQE) and
// takes none after it in that io_uring_enter, a partial submission on demand.
int allow_only_reads(int ring_fd)
{
	io_uring_restriction only_reads{};
	only_reads.opcode = IORING_RESTRICTION_SQE_OP;
	only_reads.sqe_op = IORING_OP_READ;
	if (::syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_RESTRICTIONS, &only_reads,
		      1) < 0)
		return -errno;
	return 0;
}

// io_uring_enter takes the SQEs before the one it fails and stops there; the rest stay in the
// SQ, where the next call would find them after kaio had sent them again. kaio withdraws them
// and sends each once, in order.
TEST(UringBackend, SubmissionTheKernelStopsPartWaySendsTheRestOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 4, 97);
	std::vector<int> rings_before = io_uring_descriptors();
	context_guard context;
	// Single-thread rings start disabled (Linux 6.1), which restrictions need.
	KAIO_URING_OR_SKIP(context, 8, IO_CTX_SINGLE_THREAD | IO_CTX_DEFER_SUBMIT);
	std::vector<int> rings_after = io_uring_descriptors();
	std::vector<int> created;
	std::set_difference(rings_after.begin(), rings_after.end(), rings_before.begin(),
			    rings_before.end(), std::back_inserter(created));
	ASSERT_EQ(created.size(), 1u);
	if (int err = allow_only_reads(created[0]); err == -EBADFD)
		GTEST_SKIP() << "the ring did not start disabled (Linux before 6.1)";
	else
		ASSERT_EQ(err, 0);

	aligned_buffer expected = patterned(4, 97);
	aligned_buffer first(block), written(block), third(block);
	completion read_first, write, read_third;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), first.data(), block, offset_of(0), record,
			      &read_first),
		  0);
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), written.data(), block, offset_of(1), record,
			       &write),
		  0);
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), third.data(), block, offset_of(2), record,
			      &read_third),
		  0);
	EXPECT_EQ(io_ctx_flush(&context.ctx), 3);
	io_ctx_stats sent = stats_of(context.ctx);
	EXPECT_EQ(sent.submit_calls, 2u); // the read and the refused write, then the other read
	EXPECT_EQ(sent.submitted, 3u);
	ASSERT_EQ(run_until_idle(context.ctx), 0);

	EXPECT_EQ(read_first.calls, 1);
	EXPECT_EQ(read_first.result, block_result);
	EXPECT_EQ(write.calls, 1);
	EXPECT_EQ(write.result, -EACCES);
	EXPECT_EQ(read_third.calls, 1);
	EXPECT_EQ(read_third.result, block_result);
	EXPECT_TRUE(same_bytes({first.data(), block}, {expected.data(), block}));
	EXPECT_TRUE(same_bytes({third.data(), block}, {expected.data() + 2 * block, block}));
	io_ctx_stats done = stats_of(context.ctx);
	EXPECT_EQ(done.completed, 3u);
	EXPECT_EQ(done.in_kernel, 0u);
}

// The promise broken: another thread's submission is refused, no callback runs for it, and
// the counters count nothing of it.
TEST(UringBackend, SingleThreadContextRefusesAnotherThreadsSubmission)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2, IO_CTX_SINGLE_THREAD);
	completion first;
	std::thread issuer([&] {
		EXPECT_GT(
			io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &first),
			0);
		EXPECT_EQ(run_until_idle(context.ctx), 0);
		// Registered by the issuer, which the kernel asks of a single-issuer ring.
		iovec registered{data.data(), block};
		EXPECT_EQ(io_ctx_register_buffers(&context.ctx, &registered, 1), 0);
	});
	issuer.join();
	EXPECT_EQ(first.calls, 1);
	completion stray;
	EXPECT_EQ(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &stray),
		  -EEXIST);
	EXPECT_EQ(stray.calls, 0);
	EXPECT_EQ(stats_of(context.ctx).in_kernel, 0u);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, 0u); // the kernel took none
}

// The issuer's requests queued with IO_CTX_DEFER_SUBMIT are not another thread's to send or
// to fail: its flush and poll are refused, and the requests go when the issuer says so.
TEST(UringBackend, SingleThreadContextKeepsTheIssuersQueueFromAnotherThread)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), 1, 0));
	aligned_buffer data(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2, IO_CTX_SINGLE_THREAD | IO_CTX_DEFER_SUBMIT);
	completion first;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &first), 0);
	ASSERT_EQ(io_ctx_flush(&context.ctx), 1); // this thread becomes the issuer
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	completion queued;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &queued), 0);
	std::thread other([&] {
		EXPECT_EQ(io_ctx_flush(&context.ctx), -EEXIST);
		EXPECT_EQ(io_ctx_poll(&context.ctx), -EEXIST);
	});
	other.join();
	EXPECT_EQ(queued.calls, 0);
	EXPECT_EQ(io_ctx_flush(&context.ctx), 1);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(queued.calls, 1);
	EXPECT_EQ(queued.result, static_cast<int>(block));
}

// Destroyed from another thread with nothing in the kernel, but a request queued: only the ring's
// thread could send it, so its callback gets -EEXIST, as that thread's calls do, and destroy
// returns (it waited for ever for a request it could not send). In a child: a hang ends with
// SIGALRM.
TEST(UringBackend, SingleThreadContextDestroyedByAnotherThreadEndsItsQueue)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), 1, 0));
	{
		context_guard probe;
		KAIO_URING_OR_SKIP(probe, 2, IO_CTX_SINGLE_THREAD);
	}
	EXPECT_EQ(in_child([&] {
			  ::alarm(10);
			  aligned_buffer data(block);
			  io_ctx ctx{};
			  if (create_uring_into(ctx, 2,
						IO_CTX_SINGLE_THREAD | IO_CTX_DEFER_SUBMIT) != 0)
				  return std::string("no context\n");
			  completion first, queued;
			  if (io_ctx_read(&ctx, file.fd(), data.data(), block, 0, record, &first) <=
				      0 ||
			      io_ctx_flush(&ctx) != 1 || run_until_idle(ctx) != 0 ||
			      io_ctx_read(&ctx, file.fd(), data.data(), block, 0, record,
					  &queued) <= 0)
				  return std::string("the first read or the queued one failed\n");
			  std::thread other([&] { io_ctx_destroy(&ctx); });
			  other.join();
			  if (queued.calls != 1 || queued.result != -EEXIST)
				  return "the queued read's callback ran " +
					 std::to_string(queued.calls) + " times, with " +
					 std::to_string(queued.result) + "\n";
			  return std::string();
		  }),
		  "");
}

// Another thread's poll leaves the issuer's eventfd as it was: drained, the issuer's event loop
// would sleep through the completion it signals.
TEST(UringBackend, SingleThreadContextKeepsItsEventfdFromAnotherThread)
{
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2, IO_CTX_SINGLE_THREAD);
	pipe_pair pipe;
	aligned_buffer in(block);
	completion read;
	ASSERT_GT(io_ctx_read(&context.ctx, pipe.read_end(), in.data(), block, 0, record, &read),
		  0);
	pollfd readable{io_ctx_eventfd(&context.ctx), POLLIN, 0};
	ASSERT_GE(readable.fd, 0);
	ASSERT_EQ(::write(pipe.write_end(), "a", 1), 1);
	ASSERT_EQ(::poll(&readable, 1, 60'000), 1); // the read's completion is signalled
	std::thread other([&] { EXPECT_EQ(io_ctx_poll(&context.ctx), -EEXIST); });
	other.join();
	EXPECT_EQ(::poll(&readable, 1, 0), 1) << "another thread drained the issuer's eventfd";
	EXPECT_EQ(read.calls, 0);
	EXPECT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(read.calls, 1);
	EXPECT_EQ(read.result, 1);
}

// Another thread's look for completions must not wait for ones that only the issuer can
// bring in (the kernel posts them when the issuer enters it): process, poll and cancel answer
// -EEXIST, and the request completes on its own thread.
TEST(UringBackend, SingleThreadContextRefusesAnotherThreadsReapsAndCancels)
{
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2, IO_CTX_SINGLE_THREAD);
	int pipe_fds[2];
	ASSERT_EQ(::pipe(pipe_fds), 0);
	aligned_buffer in(512);
	completion done;
	std::promise<int> submitted;
	std::promise<void> checked;
	std::thread issuer([&] {
		submitted.set_value(io_ctx_read(&context.ctx, pipe_fds[0], in.data(), in.size(), 0,
						record, &done));
		checked.get_future().wait();
		std::vector<char> out(512, 'p');
		EXPECT_EQ(::write(pipe_fds[1], out.data(), out.size()),
			  static_cast<ssize_t>(out.size()));
		EXPECT_EQ(run_until_idle(context.ctx), 0);
	});
	int key = submitted.get_future().get();
	EXPECT_GT(key, 0);
	EXPECT_EQ(io_ctx_poll(&context.ctx), -EEXIST);
	EXPECT_EQ(io_ctx_process(&context.ctx), -EEXIST);
	EXPECT_EQ(io_ctx_cancel(&context.ctx, key), -EEXIST);
	EXPECT_EQ(done.calls, 0);
	checked.set_value();
	issuer.join();
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 512);
	::close(pipe_fds[0]);
	::close(pipe_fds[1]);
}

// A context that waits in the kernel attaches its eventfd to the ring only when asked for it. A
// completion the kernel queued before then signalled nothing, and the ring signals only when its
// queue of completions was empty: the fd handed out must be readable already, or an event loop
// that starts watching it now sleeps forever. Later completions signal it as usual.
TEST(UringBackend, EventfdAskedForAfterACompletionWakesAnEventLoop)
{
	for (unsigned flags : {0u, static_cast<unsigned>(IO_CTX_SINGLE_THREAD)}) {
		SCOPED_TRACE(flags == 0 ? "shared ring" : "single-thread ring");
		pipe_pair pipe;
		aligned_buffer piped(block);
		context_guard context;
		KAIO_URING_OR_SKIP(context, 2, IO_CTX_WAIT_IN_GETEVENTS | flags);
		completion first;
		ASSERT_GT(io_ctx_read(&context.ctx, pipe.read_end(), piped.data(), block, 0, record,
				      &first),
			  0);
		ASSERT_EQ(::write(pipe.write_end(), "a", 1), 1); // the read completes in here
		pollfd readable{io_ctx_eventfd(&context.ctx), POLLIN, 0};
		ASSERT_GE(readable.fd, 0);
		EXPECT_EQ(::poll(&readable, 1, 0), 1);
		EXPECT_EQ(io_ctx_poll(&context.ctx), 1);
		EXPECT_EQ(first.calls, 1);
		EXPECT_EQ(first.result, 1);

		completion second;
		ASSERT_GT(io_ctx_read(&context.ctx, pipe.read_end(), piped.data(), block, 0, record,
				      &second),
			  0);
		ASSERT_EQ(::write(pipe.write_end(), "b", 1), 1);
		EXPECT_TRUE(eventfd_signalled(context.ctx));
		EXPECT_EQ(io_ctx_poll(&context.ctx), 1);
		EXPECT_EQ(second.calls, 1);
	}
}

// Attaching the eventfd is the issuer's to do on a single-thread ring: another thread that asks
// for it first is refused as its submissions are, and the issuer still gets it.
TEST(UringBackend, SingleThreadContextThatWaitsInTheKernelHandsItsEventfdToItsThread)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	aligned_buffer data(block);
	context_guard context;
	KAIO_URING_OR_SKIP(context, 2, IO_CTX_SINGLE_THREAD | IO_CTX_WAIT_IN_GETEVENTS);
	completion read;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &read), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	int from_another_thread = 0;
	std::thread([&] { from_another_thread = io_ctx_eventfd(&context.ctx); }).join();
	EXPECT_EQ(from_another_thread, -EEXIST);
	EXPECT_GE(io_ctx_eventfd(&context.ctx), 0);
}

TEST(UringBackend, CppContextRunsOnTheBackendItAskedFor)
{
	try {
		kaio::context ctx(4, {.defer_submit = false,
				      .reap_with_syscall = false,
				      .submit_early = false,
				      .wait_in_getevents = false,
				      .wait = {},
				      .backend = kaio::backend::uring});
		EXPECT_EQ(ctx.backend(), kaio::backend::uring);
	} catch (const std::system_error &error) {
		GTEST_SKIP() << "io_uring refused here: " << error.what();
	}
}

} // namespace
