// The C++ API as a user meets it: kaio::context (RAII, callables as callbacks, move), the
// awaitables from C++20 coroutines, and aligned_buffer. Every test does real O_DIRECT I/O.
#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "kaio/kaio.hpp"
#include "support/direct_file.hpp"

namespace {

constexpr std::size_t block = 4096; // what every device accepts for O_DIRECT
constexpr int block_bytes = static_cast<int>(block);

std::int64_t offset_of(std::size_t index)
{
	return static_cast<std::int64_t>(index * block);
}

// Every 8-byte word of a file gets its own value: a misplaced or stale block cannot pass.
std::uint64_t word_at(std::int64_t file_position)
{
	return (static_cast<std::uint64_t>(file_position) + 1) * 0x9e3779b97f4a7c15u;
}

void fill(std::span<std::byte> buffer, std::int64_t offset)
{
	for (std::size_t i = 0; i + 8 <= buffer.size(); i += 8) {
		std::uint64_t word = word_at(offset + static_cast<std::int64_t>(i));
		std::memcpy(buffer.data() + i, &word, sizeof word);
	}
}

::testing::AssertionResult holds_pattern(std::span<const std::byte> buffer, std::int64_t offset)
{
	for (std::size_t i = 0; i + 8 <= buffer.size(); i += 8) {
		std::uint64_t word = 0;
		std::memcpy(&word, buffer.data() + i, sizeof word);
		std::int64_t position = offset + static_cast<std::int64_t>(i);
		if (word != word_at(position))
			return ::testing::AssertionFailure() << "wrong data at offset " << position;
	}
	return ::testing::AssertionSuccess();
}

// Runs completions until nothing is in flight; process() < 0 would be a failed wait.
int run(kaio::context &ctx)
{
	int rc = 0;
	while ((rc = ctx.process()) > 0) {
	}
	return rc;
}

// Writes the pattern's first `size` bytes synchronously, to set a file up outside the code
// under test.
void write_pattern_through_kernel(int fd, std::size_t size)
{
	kaio::aligned_buffer data(size);
	fill(data, 0);
	ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
}

// A minimal eager coroutine: starts at once, runs until its first real suspension, and frees
// itself when it ends. Results travel through references to the test's locals, which outlive
// it because every test drives the context until nothing is in flight.
struct task {
	struct promise_type {
		task get_return_object() noexcept { return {}; }
		std::suspend_never initial_suspend() noexcept { return {}; }
		std::suspend_never final_suspend() noexcept { return {}; }
		void return_void() noexcept {}
		void unhandled_exception() noexcept { std::terminate(); }
	};
};

task read_once(kaio::context &ctx, int fd, std::span<std::byte> buffer, std::int64_t offset,
	       int &result, bool &finished)
{
	result = co_await ctx.read(fd, buffer, offset);
	finished = true;
}

} // namespace

// --- construction and destruction -------------------------------------------------------------

TEST(CppContext, ConstructorThrowsEinvalForCapacityOutOfRange)
{
	for (int capacity : {0, -1, kaio::context::max_capacity + 1}) {
		try {
			kaio::context ctx(capacity);
			ADD_FAILURE() << "capacity " << capacity << " was accepted";
		} catch (const std::system_error &error) {
			SCOPED_TRACE(::testing::Message() << "capacity " << capacity);
			EXPECT_EQ(error.code().value(), EINVAL);
			EXPECT_EQ(error.code(), std::errc::invalid_argument);
		}
	}
}

// As io_ctx_create_opts answers -EINVAL for a backend number it does not know.
TEST(CppContext, ConstructorThrowsEinvalForABackendNoneHas)
{
	kaio::context_options options;
	options.backend = static_cast<kaio::backend>(7);
	try {
		kaio::context ctx(4, std::move(options));
		ADD_FAILURE() << "backend 7 was accepted, as " << static_cast<int>(ctx.backend());
	} catch (const std::system_error &error) {
		EXPECT_EQ(error.code(), std::errc::invalid_argument);
	}
}

TEST(CppContext, DestructorWaitsForInFlightRequestsAndRunsTheirCallbacks)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr std::size_t blocks = 16;
	kaio::aligned_buffer data(blocks * block);
	fill(data, 0);
	int calls = 0;
	std::vector<int> results(blocks, 0);
	{
		kaio::context ctx(static_cast<int>(blocks));
		for (std::size_t i = 0; i < blocks; ++i) {
			int key = ctx.write(file.fd(), data.span().subspan(i * block, block),
					    offset_of(i), [&calls, slot = &results[i]](int result) {
						    *slot = result;
						    ++calls;
					    });
			ASSERT_GT(key, 0);
		}
		EXPECT_EQ(calls, 0); // callbacks run only from the context's own calls
	}
	EXPECT_EQ(calls, static_cast<int>(blocks));
	for (int result : results)
		EXPECT_EQ(result, block_bytes);
	kaio::aligned_buffer check(blocks * block);
	ASSERT_EQ(::pread(file.fd(), check.data(), check.size(), 0),
		  static_cast<ssize_t>(check.size()));
	EXPECT_TRUE(holds_pattern(check.span(), 0));
}

TEST(CppContext, DestructorResumesSuspendedCoroutines)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::aligned_buffer buffer(block);
	int result = 0;
	bool finished = false;
	{
		kaio::context ctx(1);
		read_once(ctx, file.fd(), buffer, 0, result, finished);
		EXPECT_FALSE(finished);
	}
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, block_bytes);
	EXPECT_TRUE(holds_pattern(buffer, 0));
}

// --- callbacks ----------------------------------------------------------------------------

TEST(CppContext, WriteThenReadWithCapturingLambdasRoundTripsData)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(4);
	kaio::aligned_buffer out(2 * block);
	fill(out, 0);
	int write_result = 0;
	int write_calls = 0;
	ASSERT_GT(ctx.write(file.fd(), out, 0,
			    [&write_result, &write_calls](int result) {
				    write_result = result;
				    ++write_calls;
			    }),
		  0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(write_calls, 1);
	EXPECT_EQ(write_result, 2 * block_bytes);

	kaio::aligned_buffer in(2 * block);
	int read_result = 0;
	int read_calls = 0;
	ASSERT_GT(ctx.read(file.fd(), in, 0,
			   [&read_result, &read_calls](int result) {
				   read_result = result;
				   ++read_calls;
			   }),
		  0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(read_calls, 1);
	EXPECT_EQ(read_result, 2 * block_bytes);
	EXPECT_TRUE(holds_pattern(in, 0));
}

TEST(CppContext, CallbackCapturingFourPointersIsAccepted)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(1);
	kaio::aligned_buffer out(block);
	fill(out, 0);
	int result = 0;
	int calls = 0;
	kaio::context *seen = nullptr;
	auto on_complete = [r = &result, c = &calls, s = &seen, self = &ctx](int bytes) {
		*r = bytes;
		++*c;
		*s = self;
	};
	// The documented budget, used to the last byte: four pointers, stored inside the request.
	static_assert(sizeof(on_complete) == kaio::completion_callback::capacity);
	ASSERT_GT(ctx.write(file.fd(), out, 0, std::move(on_complete)), 0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(result, block_bytes);
	EXPECT_EQ(calls, 1);
	EXPECT_EQ(seen, &ctx);
}

TEST(CppContext, WritevThenReadvRoundTripsAcrossBufferBoundaries)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(2);
	kaio::aligned_buffer whole(4 * block);
	fill(whole, 0);
	// Three pieces of the same bytes in separate buffers: 1, 2 and 1 blocks.
	std::vector<kaio::aligned_buffer> pieces;
	for (std::size_t blocks : {1, 2, 1})
		pieces.emplace_back(blocks * block);
	std::size_t at = 0;
	for (kaio::aligned_buffer &piece : pieces) {
		std::memcpy(piece.data(), whole.data() + at, piece.size());
		at += piece.size();
	}
	int write_result = 0;
	{
		std::vector<iovec> iov;
		for (kaio::aligned_buffer &piece : pieces)
			iov.push_back({piece.data(), piece.size()});
		auto on_written = [&write_result](int r) { write_result = r; };
		ASSERT_GT(ctx.writev(file.fd(), iov, 0, on_written), 0);
		// The array is copied at submission: spoiling it now must not matter.
		for (iovec &entry : iov)
			entry = {nullptr, 0};
	}
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(write_result, 4 * block_bytes);

	// Read back split differently: 3 blocks, then 1.
	kaio::aligned_buffer first(3 * block);
	kaio::aligned_buffer second(block);
	iovec iov[] = {{first.data(), first.size()}, {second.data(), second.size()}};
	int read_result = 0;
	ASSERT_GT(ctx.readv(file.fd(), iov, 0, [&read_result](int r) { read_result = r; }), 0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(read_result, 4 * block_bytes);
	EXPECT_TRUE(holds_pattern(first, 0));
	EXPECT_TRUE(holds_pattern(second, offset_of(3)));
}

TEST(CppContext, FsyncAndFdatasyncCompleteWithZero)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(2);
	kaio::aligned_buffer out(block);
	fill(out, 0);
	ASSERT_GT(ctx.write(file.fd(), out, 0, nullptr), 0);
	ASSERT_EQ(run(ctx), 0);
	int fsync_result = -1;
	int fdatasync_result = -1;
	ASSERT_GT(ctx.fsync(file.fd(), [&fsync_result](int r) { fsync_result = r; }), 0);
	ASSERT_GT(ctx.fdatasync(file.fd(), [&fdatasync_result](int r) { fdatasync_result = r; }),
		  0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(fsync_result, 0);
	EXPECT_EQ(fdatasync_result, 0);
}

// An empty std::function is no callback, as nullptr is: the request runs and nothing is called.
TEST(CppContext, EmptyStdFunctionAsCallbackRunsTheRequestAlone)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::context ctx(1);
	kaio::aligned_buffer buffer(block);
	ASSERT_GT(ctx.read(file.fd(), buffer, 0, std::function<void(int)>()), 0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_TRUE(holds_pattern(buffer, 0));
	EXPECT_EQ(ctx.stats().completed, 1u);
}

TEST(CppContext, SubmissionErrorIsReturnedAndItsCallbackNeverRuns)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(2);
	kaio::aligned_buffer buffer(block);
	int calls = 0;
	auto count = [&calls](int) { ++calls; };
	EXPECT_EQ(ctx.read(-1, buffer, 0, count), -EBADF);
	EXPECT_EQ(ctx.write(file.fd(), buffer, 100, count), -EINVAL); // unaligned offset
	EXPECT_EQ(ctx.read(file.fd(), buffer.span().subspan(1), 0, count), -EINVAL); // address
	EXPECT_EQ(ctx.fsync(-1, count), -EBADF);
	EXPECT_EQ(ctx.process(), 0);
	EXPECT_EQ(calls, 0);
	EXPECT_EQ(ctx.stats().submitted, 0u);
}

// A descriptor number that names no open file here.
int closed_descriptor()
{
	int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		::close(fd);
	return fd;
}

// A callback may own its context, to keep it alive until the request is done: when the kernel
// refuses the request as it is submitted, the callback never runs and is destroyed, and with it
// the context, which must then go once the submit call is over (ASan and UBSan runs catch any
// use of it after). On io_uring the kernel refuses it in its completion instead.
TEST(CppContext, CallbackOwningItsContextMayEndWithARefusedSubmission)
{
	auto owner = std::make_shared<kaio::context>(4);
	std::weak_ptr<kaio::context> watch = owner;
	kaio::context &ctx = *owner;
	kaio::aligned_buffer buffer(block);
	int calls = 0;
	int result = 0;
	int key = ctx.read(closed_descriptor(), buffer, 0,
			   [keep = std::move(owner), &calls, &result](int got) {
				   ++calls;
				   result = got;
			   });
	if (key > 0) {
		ASSERT_FALSE(watch.expired());
		ASSERT_GE(ctx.process(), 0); // runs the callback, and the context goes after
		EXPECT_EQ(calls, 1);
		EXPECT_EQ(result, -EBADF);
	} else {
		EXPECT_EQ(key, -EBADF);
		EXPECT_EQ(calls, 0);
	}
	EXPECT_TRUE(watch.expired());
}

// The same for a callback that was deferred (it completed while another callback waited for a
// free slot): run by a later process(), then destroyed, and the context with it.
TEST(CppContext, DeferredCallbackOwningItsContextMayEndIt)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), 3 * block);
	auto owner = std::make_shared<kaio::context>(1);
	std::weak_ptr<kaio::context> watch = owner;
	kaio::context &ctx = *owner;
	kaio::aligned_buffer buffer(3 * block);
	std::vector<int> results;
	// What the first callback uses, behind one pointer: its capture has room for four.
	struct chain {
		std::shared_ptr<kaio::context> &owner;
		kaio::aligned_buffer &buffer;
		std::vector<int> &results;
		int fd;

		std::span<std::byte> chunk(std::size_t i) const
		{
			return buffer.span().subspan(i * block, block);
		}
	} next{owner, buffer, results, file.fd()};
	ASSERT_GT(ctx.read(file.fd(), next.chunk(0), 0,
			   [&ctx, &next](int first) {
				   next.results.push_back(first);
				   // The context is full (capacity 1): the third read waits for the
				   // second, whose callback, owning the context, is deferred.
				   ctx.read(next.fd, next.chunk(1), offset_of(1),
					    [keep = next.owner, &next](int second) {
						    next.results.push_back(second);
					    });
				   ctx.read(next.fd, next.chunk(2), offset_of(2),
					    [&next](int third) { next.results.push_back(third); });
			   }),
		  0);
	ASSERT_GE(ctx.process(), 0);
	owner.reset();
	ASSERT_FALSE(watch.expired()) << "the second read's callback did not wait for a process()";
	while (!watch.expired())
		ASSERT_GE(ctx.process(), 0);
	EXPECT_EQ(results, (std::vector<int>{block_bytes, block_bytes, block_bytes}));
	EXPECT_TRUE(holds_pattern(buffer, 0));
}

// --- move -----------------------------------------------------------------------------------

TEST(CppContext, MoveConstructionKeepsPendingRequestsWorking)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr std::size_t blocks = 8;
	kaio::aligned_buffer data(blocks * block);
	fill(data, 0);
	kaio::context source(static_cast<int>(blocks));
	int eventfd = source.eventfd();
	int done = 0;
	for (std::size_t i = 0; i < blocks; ++i) {
		auto piece = data.span().subspan(i * block, block);
		ASSERT_GT(source.write(file.fd(), piece, offset_of(i),
				       [&done](int r) { done += r == block_bytes ? 1 : 0; }),
			  0);
	}
	kaio::context target(std::move(source));
	EXPECT_EQ(target.eventfd(), eventfd);
	ASSERT_EQ(run(target), 0);
	EXPECT_EQ(done, static_cast<int>(blocks));
	EXPECT_EQ(target.stats().completed, blocks);

	// And the moved-to context keeps working for new requests.
	kaio::aligned_buffer in(blocks * block);
	int read_result = 0;
	ASSERT_GT(target.read(file.fd(), in, 0, [&read_result](int r) { read_result = r; }), 0);
	ASSERT_EQ(run(target), 0);
	EXPECT_EQ(read_result, static_cast<int>(blocks * block));
	EXPECT_TRUE(holds_pattern(in, 0));
}

TEST(CppContext, MoveAssignmentFinishesTargetsRequestsAndAdoptsSources)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::aligned_buffer first(block);
	kaio::aligned_buffer second(block);
	fill(first, 0);
	fill(second, offset_of(1));
	kaio::context target(1);
	kaio::context source(1);
	int target_result = 0;
	int source_result = 0;
	ASSERT_GT(target.write(file.fd(), first, 0, [&target_result](int r) { target_result = r; }),
		  0);
	ASSERT_GT(source.write(file.fd(), second, offset_of(1),
			       [&source_result](int r) { source_result = r; }),
		  0);
	target = std::move(source);
	// The old context behind `target` is gone: like a destructor, it ran its callback first.
	EXPECT_EQ(target_result, block_bytes);
	EXPECT_EQ(source_result, 0);
	ASSERT_EQ(run(target), 0);
	EXPECT_EQ(source_result, block_bytes);

	kaio::aligned_buffer in(2 * block);
	ASSERT_EQ(::pread(file.fd(), in.data(), in.size(), 0), static_cast<ssize_t>(in.size()));
	EXPECT_TRUE(holds_pattern(in, 0));
}

TEST(CppContext, SuspendedCoroutineResumesFromTheContextItWasMovedInto)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::aligned_buffer buffer(block);
	int result = 0;
	bool finished = false;
	kaio::context source(1);
	read_once(source, file.fd(), buffer, 0, result, finished);
	kaio::context target(std::move(source));
	EXPECT_FALSE(finished);
	ASSERT_EQ(run(target), 0);
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, block_bytes);
	EXPECT_TRUE(holds_pattern(buffer, 0));
}

// A moved-from context is no crash: every call says -EINVAL, as the C API does on a destroyed
// io_ctx, and no callback ever runs; assigned another, it works again.
TEST(CppContext, MovedFromContextAnswersEinvalUntilAssignedAnother)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::aligned_buffer buffer(block);
	kaio::context source(1);
	kaio::context target(std::move(source));
	int calls = 0;
	auto count = [&calls](int) { ++calls; };
	// NOLINTNEXTLINE(bugprone-use-after-move): what we check
	EXPECT_EQ(source.read(file.fd(), buffer, 0, count), -EINVAL);
	EXPECT_EQ(source.write(file.fd(), buffer, 0, count), -EINVAL);
	iovec vector{buffer.data(), block};
	EXPECT_EQ(source.readv(file.fd(), {&vector, 1}, 0, count), -EINVAL);
	EXPECT_EQ(source.writev(file.fd(), {&vector, 1}, 0, count), -EINVAL);
	EXPECT_EQ(source.fsync(file.fd(), count), -EINVAL);
	EXPECT_EQ(source.fdatasync(file.fd(), count), -EINVAL);
	int result = 0;
	bool finished = false;
	read_once(source, file.fd(), buffer, 0, result, finished);
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, -EINVAL);
	EXPECT_EQ(source.cancel(1), -EINVAL);
	EXPECT_EQ(source.process(), -EINVAL);
	EXPECT_EQ(source.poll(), -EINVAL);
	EXPECT_EQ(source.flush(), -EINVAL);
	EXPECT_EQ(source.eventfd(), -EINVAL);
	EXPECT_EQ(source.stats().submitted, 0u);
	EXPECT_EQ(source.backend(), kaio::backend::from_environment);
	EXPECT_EQ(source.register_buffers({&vector, 1}), -EINVAL);
	int fd = file.fd();
	EXPECT_EQ(source.register_files({&fd, 1}), -EINVAL);
	EXPECT_EQ(calls, 0);

	source = std::move(target);
	ASSERT_GT(source.read(file.fd(), buffer, 0, count), 0);
	ASSERT_EQ(run(source), 0);
	EXPECT_EQ(calls, 1);
	EXPECT_TRUE(holds_pattern(buffer, 0));
}

// --- stats, eventfd, cancel, wait -----------------------------------------------------------

TEST(CppContext, StatsCountQueuedSubmittedAndCompletedRequests)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr std::size_t blocks = 8;
	kaio::context_options options;
	options.defer_submit = true;
	kaio::context ctx(static_cast<int>(blocks), std::move(options));
	kaio::aligned_buffer data(blocks * block);
	fill(data, 0);
	for (std::size_t i = 0; i < blocks; ++i)
		ASSERT_GT(ctx.write(file.fd(), data.span().subspan(i * block, block), offset_of(i),
				    nullptr),
			  0);
	kaio::context_stats queued = ctx.stats();
	EXPECT_EQ(queued.queued, blocks);
	EXPECT_EQ(queued.in_kernel, 0u);
	EXPECT_EQ(queued.submitted, 0u);
	EXPECT_EQ(queued.submit_calls, 0u);

	// One io_submit for the whole batch.
	EXPECT_EQ(ctx.flush(), static_cast<int>(blocks));
	kaio::context_stats sent = ctx.stats();
	EXPECT_EQ(sent.queued, 0u);
	EXPECT_EQ(sent.submitted, blocks);
	EXPECT_EQ(sent.submit_calls - sent.nowait_refusals, 1u); // tmpfs refuses RWF_NOWAIT once
	EXPECT_EQ(sent.in_kernel + sent.completed, blocks);

	ASSERT_EQ(run(ctx), 0);
	kaio::context_stats done = ctx.stats();
	EXPECT_EQ(done.completed, blocks);
	EXPECT_EQ(done.in_kernel, 0u);
	EXPECT_EQ(done.queued, 0u);
	EXPECT_GE(done.getevents_calls + done.ring_reaps, 1u);
}

TEST(CppContext, EventfdIsOpenNonBlockingAndDistinctPerContext)
{
	kaio::context first(1);
	kaio::context second(1);
	int fd = first.eventfd();
	ASSERT_GE(fd, 0);
	int flags = ::fcntl(fd, F_GETFL);
	ASSERT_GE(flags, 0) << std::strerror(errno);
	EXPECT_NE(flags & O_NONBLOCK, 0);
	EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	EXPECT_NE(second.eventfd(), fd);
}

TEST(CppContext, CancelOfUnknownKeyReturnsEnoent)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(4);
	for (int key : {0, -1, 1, 12345, INT_MAX, INT_MIN})
		EXPECT_EQ(ctx.cancel(key), -ENOENT) << "key " << key;

	// A key whose callback has run is dead too.
	kaio::aligned_buffer out(block);
	int key = ctx.write(file.fd(), out, 0, nullptr);
	ASSERT_GT(key, 0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(ctx.cancel(key), -ENOENT);
}

TEST(CppContext, WaitCallbackIsGivenTheEventfdAndCountedAsWaits)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	int calls = 0;
	int fd_seen = -1;
	kaio::context_options options;
	options.wait = [&calls, &fd_seen](int wait_fd) {
		++calls;
		fd_seen = wait_fd;
		pollfd readable{wait_fd, POLLIN, 0};
		return ::poll(&readable, 1, -1);
	};
	kaio::context ctx(4, std::move(options));
	kaio::aligned_buffer data(4 * block);
	fill(data, 0);
	for (std::size_t i = 0; i < 4; ++i)
		ASSERT_GT(ctx.write(file.fd(), data.span().subspan(i * block, block), offset_of(i),
				    nullptr),
			  0);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(ctx.stats().completed, 4u);
	EXPECT_EQ(ctx.stats().waits, static_cast<std::uint64_t>(calls));
	if (calls > 0) {
		EXPECT_EQ(fd_seen, ctx.eventfd());
	}
}

// A wait callable that throws ends the program, as a callback that throws does: an exception out
// of a wait would leave the engine's state for a waiting cancel or delivery behind it. The read
// from an empty pipe cannot finish, so process() must wait.
TEST(CppContextDeathTest, WaitCallableThatThrowsEndsTheProgram)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	int pipe_fds[2];
	ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
	EXPECT_DEATH(
		{
			kaio::context_options options;
			options.wait = [](int) -> int {
				throw std::runtime_error("no more waiting");
			};
			kaio::context ctx(2, std::move(options));
			kaio::aligned_buffer into(block);
			if (ctx.read(pipe_fds[0], into, 0, nullptr) > 0)
				ctx.process();
		},
		"terminate called after throwing.*no more waiting");
	::close(pipe_fds[0]);
	::close(pipe_fds[1]);
}

// --- aligned_buffer -----------------------------------------------------------------------

TEST(AlignedBuffer, DataIsAlignedZeroFilledAndSized)
{
	for (std::size_t alignment : {std::size_t{512}, std::size_t{4096}, std::size_t{1} << 16}) {
		kaio::aligned_buffer buffer(3 * block, alignment);
		ASSERT_NE(buffer.data(), nullptr);
		EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer.data()) % alignment, 0u)
			<< "alignment " << alignment;
		EXPECT_EQ(buffer.size(), 3 * block);
		std::vector<std::byte> zeros(buffer.size());
		EXPECT_EQ(std::memcmp(buffer.data(), zeros.data(), zeros.size()), 0);
	}
	kaio::aligned_buffer by_default(block);
	EXPECT_EQ(reinterpret_cast<std::uintptr_t>(by_default.data()) %
			  kaio::aligned_buffer::default_alignment,
		  0u);
	EXPECT_EQ(kaio::aligned_buffer().size(), 0u);
	EXPECT_EQ(kaio::aligned_buffer().data(), nullptr);
}

// Sizes above PTRDIFF_MAX, among them those at which the rounding up to the alignment would
// wrap around. (Smaller ones are the allocator's to refuse; under ASan it ends the program.)
TEST(AlignedBuffer, SizeNoMemoryCanHoldThrowsBadAlloc)
{
	constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
	for (std::size_t size : {most, most - 100, most - 4096, most / 2 + 1})
		EXPECT_THROW(kaio::aligned_buffer{size}, std::bad_alloc) << "size " << size;
}

TEST(AlignedBuffer, MoveTransfersMemoryAndLeavesSourceEmpty)
{
	kaio::aligned_buffer source(block, 512);
	fill(source, 0);
	std::byte *memory = source.data();

	kaio::aligned_buffer constructed(std::move(source));
	EXPECT_EQ(constructed.data(), memory);
	EXPECT_EQ(constructed.size(), block);
	EXPECT_EQ(source.data(), nullptr); // NOLINT(bugprone-use-after-move): what we check
	EXPECT_EQ(source.size(), 0u);

	kaio::aligned_buffer assigned(2 * block);
	assigned = std::move(constructed);
	EXPECT_EQ(assigned.data(), memory);
	EXPECT_EQ(assigned.size(), block);
	EXPECT_TRUE(holds_pattern(assigned, 0));
	EXPECT_EQ(constructed.data(), nullptr); // NOLINT(bugprone-use-after-move)
	EXPECT_EQ(constructed.size(), 0u);
}

TEST(AlignedBuffer, ConvertsToSpansOfBytes)
{
	kaio::aligned_buffer buffer(2 * block);
	std::span<std::byte> writable = buffer;
	EXPECT_EQ(writable.data(), buffer.data());
	EXPECT_EQ(writable.size(), buffer.size());
	const kaio::aligned_buffer &view = buffer;
	std::span<const std::byte> readable = view;
	EXPECT_EQ(readable.data(), buffer.data());
	EXPECT_EQ(readable.size(), buffer.size());
	static_assert(!std::is_convertible_v<const kaio::aligned_buffer &, std::span<std::byte>>);
	// A temporary's view would outlive it: `ctx.read(fd, kaio::aligned_buffer(4096), ...)`
	// would have the kernel write into freed memory.
	static_assert(!std::is_convertible_v<kaio::aligned_buffer, std::span<std::byte>>);
	static_assert(!std::is_convertible_v<kaio::aligned_buffer, std::span<const std::byte>>);
}

// operator new's alignment must be a power of two: anything else is undefined behaviour there.
TEST(AlignedBuffer, AlignmentNotAPowerOfTwoThrowsBadAlloc)
{
	for (std::size_t alignment : {std::size_t{0}, std::size_t{3000}, std::size_t{4097}})
		EXPECT_THROW(kaio::aligned_buffer(block, alignment), std::bad_alloc)
			<< "alignment " << alignment;
}

// --- coroutines -----------------------------------------------------------------------------

TEST(CppCoroutines, CoAwaitReadYieldsBytesRead)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), 2 * block);
	kaio::context ctx(1);
	kaio::aligned_buffer buffer(2 * block);
	int result = 0;
	bool finished = false;
	read_once(ctx, file.fd(), buffer, 0, result, finished);
	EXPECT_FALSE(finished); // suspended until process() delivers the completion
	ASSERT_EQ(run(ctx), 0);
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, 2 * block_bytes);
	EXPECT_TRUE(holds_pattern(buffer, 0));
}

TEST(CppCoroutines, CoAwaitReadPastEndOfFileYieldsShortCount)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::context ctx(1);
	kaio::aligned_buffer buffer(4 * block);
	int result = 0;
	bool finished = false;
	read_once(ctx, file.fd(), buffer, 0, result, finished);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, block_bytes);
	EXPECT_TRUE(holds_pattern(buffer.span().first(block), 0));
}

namespace {

// A coroutine that owns its context: it ends inside the callback of its last co_await, and so
// destroys the context from inside the context's own process(). `published` points at the
// context while it lives; `other` is a read left in flight when it ends.
task read_with_own_context(int fd, std::span<std::byte> buffer, std::span<std::byte> other,
			   int &result, int &other_result, kaio::context *&published)
{
	kaio::context ctx(2);
	published = &ctx;
	if (ctx.read(fd, other, 0, [&other_result](int r) { other_result = r; }) < 0)
		other_result = -1;
	result = co_await ctx.read(fd, buffer, 0);
	published = nullptr;
}

// Keeps its frame after it ends, so that a test may destroy it while it is suspended.
struct held_task {
	struct promise_type {
		held_task get_return_object() noexcept
		{
			return {std::coroutine_handle<promise_type>::from_promise(*this)};
		}
		std::suspend_never initial_suspend() noexcept { return {}; }
		std::suspend_always final_suspend() noexcept { return {}; }
		void return_void() noexcept {}
		void unhandled_exception() noexcept { std::terminate(); }
	};
	std::coroutine_handle<promise_type> handle;
};

held_task read_and_hold(kaio::context &ctx, int fd, std::span<std::byte> buffer)
{
	(void)co_await ctx.read(fd, buffer, 0);
}

} // namespace

// Its context goes when the process() that ran the callback returns, after the read still in
// flight has completed, as the destructor would have it (ASan and UBSan runs catch any use of
// the freed context or engine on the way out).
TEST(CppCoroutines, CoroutineOwningItsContextMayEndInItsCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_pattern_through_kernel(file.fd(), block);
	kaio::aligned_buffer buffer(block);
	kaio::aligned_buffer other(block);
	int result = 0;
	int other_result = 0;
	kaio::context *published = nullptr;
	read_with_own_context(file.fd(), buffer, other, result, other_result, published);
	while (published != nullptr)
		ASSERT_GE(published->process(), 0);
	EXPECT_EQ(result, block_bytes);
	EXPECT_EQ(other_result, block_bytes);
	EXPECT_TRUE(holds_pattern(buffer, 0));
	EXPECT_TRUE(holds_pattern(other, 0));
}

// The kernel still owns the buffer in flight, and the completion would resume a coroutine that
// is gone: the program ends with a message instead of corrupting memory.
TEST(CppCoroutinesDeathTest, CoroutineDestroyedWhileSuspendedOnItsIoEndsTheProgram)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_DEATH(
		{
			kaio::context ctx(1);
			kaio::aligned_buffer buffer(block);
			held_task reader = read_and_hold(ctx, file.fd(), buffer);
			reader.handle.destroy();
		},
		"kaio: a coroutine was destroyed while suspended on its I/O");
}

TEST(CppCoroutines, SubmissionErrorResumesAtOnceWithEbadf)
{
	kaio::context ctx(1);
	kaio::aligned_buffer buffer(block);
	int result = 0;
	bool finished = false;
	read_once(ctx, -1, buffer, 0, result, finished);
	// No process() yet: the coroutine never suspended.
	EXPECT_TRUE(finished);
	EXPECT_EQ(result, -EBADF);
	EXPECT_EQ(ctx.stats().submitted, 0u);
	EXPECT_EQ(ctx.process(), 0);
}

namespace {

struct worker_report {
	int written = 0;  // blocks whose write yielded the full block
	int verified = 0; // blocks read back whole and holding their pattern
	int synced = -1;  // what fdatasync yielded
	int first_error = 0;
	bool finished = false;
};

// Owns blocks worker, worker + workers, worker + 2 * workers, ...: the workers' blocks
// interleave in the file, so a request landing at another's offset shows up as wrong data.
task write_then_verify(kaio::context &ctx, int fd, std::size_t worker, std::size_t workers,
		       std::size_t blocks, worker_report &report)
{
	kaio::aligned_buffer buffer(block);
	for (std::size_t i = 0; i < blocks; ++i) {
		std::int64_t offset = offset_of(worker + i * workers);
		fill(buffer, offset);
		int n = co_await ctx.write(fd, buffer, offset);
		if (n != block_bytes && report.first_error == 0)
			report.first_error = n;
		report.written += n == block_bytes ? 1 : 0;
	}
	report.synced = co_await ctx.fdatasync(fd);
	for (std::size_t i = 0; i < blocks; ++i) {
		std::int64_t offset = offset_of(worker + i * workers);
		std::memset(buffer.data(), 0, buffer.size());
		int n = co_await ctx.read(fd, buffer, offset);
		if (n != block_bytes && report.first_error == 0)
			report.first_error = n;
		report.verified += n == block_bytes && holds_pattern(buffer, offset) ? 1 : 0;
	}
	report.finished = true;
}

void run_workers(int capacity, std::size_t workers, std::size_t blocks)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(capacity);
	std::vector<worker_report> reports(workers);
	for (std::size_t w = 0; w < workers; ++w)
		write_then_verify(ctx, file.fd(), w, workers, blocks, reports[w]);
	ASSERT_EQ(run(ctx), 0);
	for (std::size_t w = 0; w < workers; ++w) {
		SCOPED_TRACE(::testing::Message() << "worker " << w);
		EXPECT_TRUE(reports[w].finished);
		EXPECT_EQ(reports[w].first_error, 0) << std::strerror(-reports[w].first_error);
		EXPECT_EQ(reports[w].written, static_cast<int>(blocks));
		EXPECT_EQ(reports[w].synced, 0);
		EXPECT_EQ(reports[w].verified, static_cast<int>(blocks));
	}
	kaio::context_stats stats = ctx.stats();
	EXPECT_EQ(stats.completed, workers * (2 * blocks + 1));
	EXPECT_EQ(stats.in_kernel, 0u);
}

} // namespace

TEST(CppCoroutines, ConcurrentCoroutinesWriteAndReadBackManyBlocks)
{
	run_workers(64, 8, 32);
}

// Eight coroutines on two slots: awaiting a full context waits for a slot inside the
// submission, which resumes other coroutines meanwhile.
TEST(CppCoroutines, CoroutinesOutnumberingCapacityAllComplete)
{
	run_workers(2, 8, 16);
}

TEST(CppCoroutines, CoAwaitWritevThenReadvRoundTrips)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::context ctx(1);
	kaio::aligned_buffer a(block);
	kaio::aligned_buffer b(2 * block);
	fill(a, 0);
	fill(b, offset_of(1));
	int written = 0;
	int read = 0;
	kaio::aligned_buffer whole(3 * block);
	auto body = [](kaio::context &c, int fd, kaio::aligned_buffer &x, kaio::aligned_buffer &y,
		       kaio::aligned_buffer &into, int &w, int &r) -> task {
		iovec out[] = {{x.data(), x.size()}, {y.data(), y.size()}};
		w = co_await c.writev(fd, out, 0);
		iovec in[] = {{into.data(), into.size()}};
		r = co_await c.readv(fd, in, 0);
	};
	body(ctx, file.fd(), a, b, whole, written, read);
	ASSERT_EQ(run(ctx), 0);
	EXPECT_EQ(written, 3 * block_bytes);
	EXPECT_EQ(read, 3 * block_bytes);
	EXPECT_TRUE(holds_pattern(whole, 0));
}
