// Submissions through the C API on real O_DIRECT files: every kind of request reaches the disk
// and comes back byte for byte, each callback runs once with the right result, and the counters
// tell what happened.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_alignment.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/wait_callbacks.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

// An io_ctx destroyed with the test.
class c_context {
public:
	explicit c_context(int capacity, int (*wait_cb)(int) = wait_readable, unsigned flags = 0,
			   kaio::detail::kernel_aio *kernel = nullptr)
	{
		io_ctx_options options = IO_CTX_OPTIONS_INIT;
		options.flags = flags;
		error_ = kaio::detail::create_io_ctx(&ctx_, capacity, wait_cb, &options, kernel);
	}
	~c_context() { io_ctx_destroy(&ctx_); }
	c_context(const c_context &) = delete;
	c_context &operator=(const c_context &) = delete;

	io_ctx *get() { return &ctx_; }
	int error() const { return error_; }
	io_ctx_stats stats() const
	{
		io_ctx_stats counters{};
		EXPECT_EQ(io_ctx_get_stats(&ctx_, &counters), 0);
		return counters;
	}

private:
	io_ctx ctx_{};
	int error_ = 0;
};

// Runs completions until `done()` holds; fails when process errs or has nothing left to run.
template <class Done>
::testing::AssertionResult process_until(io_ctx *ctx, Done done)
{
	while (!done()) {
		int ran = io_ctx_process(ctx);
		if (ran < 0)
			return ::testing::AssertionFailure()
			       << "io_ctx_process: " << std::strerror(-ran);
		if (ran == 0)
			return ::testing::AssertionFailure() << "nothing in flight, yet not done";
	}
	return ::testing::AssertionSuccess();
}

// Bytes that differ from block to block and from seed to seed.
void fill(std::span<std::byte> bytes, std::uint32_t seed)
{
	std::uint32_t state = seed * 2654435761u + 1;
	for (std::byte &b : bytes) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		b = static_cast<std::byte>(state);
	}
}

// The file's bytes read with pread(2), bypassing kaio.
aligned_buffer read_directly(int fd, std::size_t length, off_t offset)
{
	aligned_buffer bytes(length);
	EXPECT_EQ(::pread(fd, bytes.data(), length, offset), static_cast<ssize_t>(length));
	return bytes;
}

// Writes `bytes` at `offset` through kaio and waits for the callback.
void write_all(io_ctx *ctx, int fd, std::span<std::byte> bytes, long long offset)
{
	completion done;
	ASSERT_GT(io_ctx_write(ctx, fd, bytes.data(), bytes.size(), offset, record, &done), 0);
	ASSERT_TRUE(process_until(ctx, [&] { return done.calls > 0; }));
	ASSERT_EQ(done.calls, 1);
	ASSERT_EQ(done.result, static_cast<int>(bytes.size()));
}

TEST(Submission, WriteThenReadReturnsSameBytes)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	KAIO_NEED_512_ALIGNMENT(file);
	c_context ctx(4);
	ASSERT_EQ(ctx.error(), 0);
	std::uint32_t seed = 0;
	for (std::size_t size : {512 * std::size_t{1}, 4 * KiB, 8 * KiB + 512, 64 * KiB, MiB}) {
		for (long long offset : {0LL, 512LL, 4096LL, 3LL * 1024 * 1024 + 512}) {
			SCOPED_TRACE("size " + std::to_string(size) + " at " +
				     std::to_string(offset));
			aligned_buffer written(size);
			fill(written.span(), ++seed);
			write_all(ctx.get(), file.fd(), written.span(), offset);

			aligned_buffer read(size);
			completion done;
			ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), read.data(), size, offset,
					      record, &done),
				  0);
			ASSERT_TRUE(process_until(ctx.get(), [&] { return done.calls > 0; }));
			EXPECT_EQ(done.calls, 1);
			EXPECT_EQ(done.result, static_cast<int>(size));
			EXPECT_TRUE(same_bytes(read.span(), written.span()));
		}
	}
}

TEST(Submission, ManyRequestsInFlightKeepTheirOwnBytes)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 64;
	constexpr std::size_t size = 8 * KiB;
	c_context ctx(count);
	ASSERT_EQ(ctx.error(), 0);

	std::vector<aligned_buffer> written;
	std::vector<completion> writes(count);
	for (int i = 0; i < count; ++i) {
		written.emplace_back(size);
		fill(written.back().span(), static_cast<std::uint32_t>(i + 1));
		ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), written.back().data(), size,
				       static_cast<long long>(i * size), record, &writes[i]),
			  0);
	}
	EXPECT_EQ(ctx.stats().in_kernel + ctx.stats().completed, static_cast<unsigned>(count));
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == count; }));
	expect_each_once(writes, static_cast<int>(size));

	std::vector<aligned_buffer> read;
	std::vector<completion> reads(count);
	for (int i = 0; i < count; ++i) {
		read.emplace_back(size);
		ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), read.back().data(), size,
				      static_cast<long long>(i * size), record, &reads[i]),
			  0);
	}
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == 2 * count; }));
	for (int i = 0; i < count; ++i) {
		SCOPED_TRACE("request " + std::to_string(i));
		EXPECT_EQ(reads[i].calls, 1);
		EXPECT_EQ(reads[i].result, static_cast<int>(size));
		EXPECT_TRUE(same_bytes(read[i].span(), written[i].span()));
	}
}

// Vectors of 1, 3 and 9 elements (more than 4 take another copy path), sent at once or deferred
// until flush: the caller's iovec array is garbage by the time the kernel reads the request.
class SubmissionVectors : public ::testing::TestWithParam<std::tuple<int, bool>> {};

// Submits through an iovec array that is overwritten and freed as soon as the call returns.
int submit_vector(bool write, io_ctx *ctx, int fd, std::vector<aligned_buffer> &pieces,
		  long long offset, completion &done)
{
	auto array = std::make_unique<iovec[]>(pieces.size());
	for (std::size_t i = 0; i < pieces.size(); ++i)
		array[i] = iovec{pieces[i].data(), pieces[i].size()};
	int iovcnt = static_cast<int>(pieces.size());
	int key = write ? io_ctx_pwrite(ctx, fd, array.get(), iovcnt, offset, record, &done)
			: io_ctx_pread(ctx, fd, array.get(), iovcnt, offset, record, &done);
	for (std::size_t i = 0; i < pieces.size(); ++i)
		array[i] = iovec{nullptr, 4097};
	array.reset();
	return key;
}

TEST_P(SubmissionVectors, RoundTripWithTheArrayFreedAtOnce)
{
	auto [iovcnt, deferred] = GetParam();
	KAIO_DIRECT_FILE_OR_SKIP(file);
	KAIO_NEED_512_ALIGNMENT(file);
	c_context ctx(4, wait_readable, deferred ? IO_CTX_DEFER_SUBMIT : 0);
	ASSERT_EQ(ctx.error(), 0);
	constexpr long long offset = 4096;

	// Pieces of different lengths, so that a misordered copy shows in the bytes.
	std::vector<aligned_buffer> written;
	std::size_t total = 0;
	for (int i = 0; i < iovcnt; ++i) {
		written.emplace_back(512 * static_cast<std::size_t>(i + 1));
		fill(written.back().span(), static_cast<std::uint32_t>(100 + i));
		total += written.back().size();
	}
	completion wrote;
	ASSERT_GT(submit_vector(true, ctx.get(), file.fd(), written, offset, wrote), 0);
	if (deferred) {
		ASSERT_EQ(io_ctx_flush(ctx.get()), 1);
	}
	ASSERT_TRUE(process_until(ctx.get(), [&] { return wrote.calls > 0; }));
	EXPECT_EQ(wrote.calls, 1);
	ASSERT_EQ(wrote.result, static_cast<int>(total));

	// On disk: the pieces one after another, in order.
	aligned_buffer on_disk = read_directly(file.fd(), total, offset);
	std::size_t at = 0;
	for (aligned_buffer &piece : written) {
		EXPECT_TRUE(same_bytes(on_disk.span().subspan(at, piece.size()), piece.span()));
		at += piece.size();
	}

	std::vector<aligned_buffer> read;
	for (aligned_buffer &piece : written)
		read.emplace_back(piece.size());
	completion got;
	ASSERT_GT(submit_vector(false, ctx.get(), file.fd(), read, offset, got), 0);
	if (deferred) {
		ASSERT_EQ(io_ctx_flush(ctx.get()), 1);
	}
	ASSERT_TRUE(process_until(ctx.get(), [&] { return got.calls > 0; }));
	EXPECT_EQ(got.calls, 1);
	EXPECT_EQ(got.result, static_cast<int>(total));
	for (std::size_t i = 0; i < read.size(); ++i)
		EXPECT_TRUE(same_bytes(read[i].span(), written[i].span())) << "piece " << i;
}

std::string vector_case_name(const ::testing::TestParamInfo<std::tuple<int, bool>> &which)
{
	return std::to_string(std::get<0>(which.param)) + "Elements" +
	       (std::get<1>(which.param) ? "Deferred" : "AtOnce");
}

INSTANTIATE_TEST_SUITE_P(Submission, SubmissionVectors,
			 ::testing::Combine(::testing::Values(1, 3, 9), ::testing::Bool()),
			 vector_case_name);

TEST(Submission, ReadAtEndOfFileIsShort)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	KAIO_NEED_512_ALIGNMENT(file);
	c_context ctx(2);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer written(4096 + 512);
	fill(written.span(), 7);
	write_all(ctx.get(), file.fd(), written.span(), 0);

	aligned_buffer read(8192);
	completion tail;
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), read.data(), read.size(), 4096, record, &tail),
		  0);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return tail.calls > 0; }));
	EXPECT_EQ(tail.calls, 1);
	ASSERT_EQ(tail.result, 512);
	EXPECT_TRUE(same_bytes(read.span().first(512), written.span().subspan(4096)));
}

TEST(Submission, ReadAtOrBeyondEndOfFileReturnsZero)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	KAIO_NEED_512_ALIGNMENT(file);
	c_context ctx(2);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer written(4096 + 512);
	fill(written.span(), 8);
	write_all(ctx.get(), file.fd(), written.span(), 0);

	aligned_buffer read(4096);
	completion at_end, beyond;
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), read.data(), read.size(), 4096 + 512, record,
			      &at_end),
		  0);
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), read.data(), read.size(), MiB, record, &beyond),
		  0);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return at_end.calls + beyond.calls == 2; }));
	EXPECT_EQ(at_end.calls, 1);
	EXPECT_EQ(at_end.result, 0);
	EXPECT_EQ(beyond.calls, 1);
	EXPECT_EQ(beyond.result, 0);
}

TEST(Submission, ZeroLengthTransfersCompleteWithZero)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	c_context ctx(8);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(4096);
	iovec empty_null{nullptr, 0};
	iovec empty_buffer{buffer.data(), 0};
	std::vector<completion> done(6);
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), nullptr, 0, 0, record, &done[0]), 0);
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), nullptr, 0, 0, record, &done[1]), 0);
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data(), 0, 4096, record, &done[2]), 0);
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), buffer.data(), 0, 4096, record, &done[3]), 0);
	ASSERT_GT(io_ctx_pwrite(ctx.get(), file.fd(), &empty_null, 1, 0, record, &done[4]), 0);
	ASSERT_GT(io_ctx_pread(ctx.get(), file.fd(), &empty_buffer, 1, 0, record, &done[5]), 0);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == done.size(); }));
	expect_each_once(done, 0);
	struct stat about {};
	ASSERT_EQ(::fstat(file.fd(), &about), 0);
	EXPECT_EQ(about.st_size, 0);
}

TEST(Submission, FsyncAndFdsyncCompleteWithZero)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	c_context ctx(4);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer written(4096);
	fill(written.span(), 9);
	write_all(ctx.get(), file.fd(), written.span(), 0);

	completion synced, data_synced;
	ASSERT_GT(io_ctx_fsync(ctx.get(), file.fd(), record, &synced), 0);
	ASSERT_GT(io_ctx_fdsync(ctx.get(), file.fd(), record, &data_synced), 0);
	ASSERT_TRUE(
		process_until(ctx.get(), [&] { return synced.calls + data_synced.calls == 2; }));
	EXPECT_EQ(synced.calls, 1);
	EXPECT_EQ(synced.result, 0);
	EXPECT_EQ(data_synced.calls, 1);
	EXPECT_EQ(data_synced.result, 0);
}

TEST(Submission, NullCallbackStillRunsTheRequest)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	c_context ctx(2);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer written(64 * KiB);
	fill(written.span(), 10);
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), written.data(), written.size(), 0, nullptr,
			       nullptr),
		  0);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == 1; }));
	EXPECT_EQ(ctx.stats().in_kernel, 0u);
	aligned_buffer on_disk = read_directly(file.fd(), written.size(), 0);
	EXPECT_TRUE(same_bytes(on_disk.span(), written.span()));
}

TEST(Submission, KernelRejectionIsReturnedWithoutCallback)
{
	// io_submit refuses a write to a file opened read-only (EBADF) when the request arrives.
	// io_uring takes every request and answers in its completion: there the callback gets it.
	KAIO_DIRECT_FILE_OR_SKIP(file);
	int read_only = ::open(file.path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(read_only, 0) << std::strerror(errno);
	c_context ctx(2);
	ASSERT_EQ(ctx.error(), 0);
	bool uring = on_uring(*ctx.get());
	aligned_buffer buffer(4096);
	completion refused;
	int key = io_ctx_write(ctx.get(), read_only, buffer.data(), buffer.size(), 0, record,
			       &refused);
	EXPECT_EQ(key > 0, uring);
	EXPECT_EQ(io_ctx_process(ctx.get()), uring ? 1 : 0);
	EXPECT_EQ(refused.calls, uring ? 1 : 0);
	if (uring)
		EXPECT_EQ(refused.result, -EBADF);
	else
		EXPECT_EQ(key, -EBADF);
	io_ctx_stats after = ctx.stats();
	EXPECT_EQ(after.submitted, uring ? 1u : 0u);
	EXPECT_EQ(after.completed, uring ? 1u : 0u);
	EXPECT_EQ(after.in_kernel, 0u);
	EXPECT_EQ(after.queued, 0u);

	// The context goes on: the same fd can still be read (an empty file: 0 bytes).
	completion read;
	ASSERT_GT(io_ctx_read(ctx.get(), read_only, buffer.data(), buffer.size(), 0, record, &read),
		  0);
	EXPECT_TRUE(process_until(ctx.get(), [&] { return read.calls > 0; }));
	EXPECT_EQ(read.result, 0);
	EXPECT_EQ(refused.calls, uring ? 1 : 0);
	::close(read_only);
}

TEST(Submission, DeferredKernelRejectionReachesTheCallback)
{
	// A deferred request already has its key when io_submit refuses it: the callback gets it.
	KAIO_DIRECT_FILE_OR_SKIP(file);
	int read_only = ::open(file.path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(read_only, 0) << std::strerror(errno);
	c_context ctx(2, wait_readable, IO_CTX_DEFER_SUBMIT);
	ASSERT_EQ(ctx.error(), 0);
	bool uring = on_uring(*ctx.get()); // takes the request, refuses it in the completion
	aligned_buffer buffer(4096);
	completion refused;
	ASSERT_GT(io_ctx_write(ctx.get(), read_only, buffer.data(), buffer.size(), 0, record,
			       &refused),
		  0);
	EXPECT_EQ(io_ctx_flush(ctx.get()), uring ? 1 : 0);
	EXPECT_TRUE(process_until(ctx.get(), [&] { return refused.calls > 0; }));
	EXPECT_EQ(refused.calls, 1);
	EXPECT_EQ(refused.result, -EBADF);
	EXPECT_EQ(ctx.stats().submitted, uring ? 1u : 0u);
	EXPECT_EQ(io_ctx_process(ctx.get()), 0);
	EXPECT_EQ(refused.calls, 1);
	::close(read_only);
}

TEST(Submission, KeysArePositiveAndDistinctWhileLive)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 32;
	c_context ctx(count);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(count * 4096);
	std::vector<completion> done(count);
	std::set<int> keys;
	for (int i = 0; i < count; ++i) {
		int key = io_ctx_read(ctx.get(), file.fd(), buffer.data() + i * 4096, 4096,
				      static_cast<long long>(i) * 4096, record, &done[i]);
		EXPECT_GT(key, 0);
		keys.insert(key);
	}
	EXPECT_EQ(keys.size(), static_cast<std::size_t>(count));
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == count; }));
	for (const completion &one : done)
		EXPECT_EQ(one.calls, 1);
}

TEST(Submission, EventfdIsNonBlockingAndBecomesReadableOnCompletion)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	c_context ctx(2);
	ASSERT_EQ(ctx.error(), 0);
	int fd = io_ctx_eventfd(ctx.get());
	ASSERT_GE(fd, 0);
	int flags = ::fcntl(fd, F_GETFL);
	ASSERT_GE(flags, 0);
	EXPECT_NE(flags & O_NONBLOCK, 0);
	pollfd readable{fd, POLLIN, 0};
	EXPECT_EQ(::poll(&readable, 1, 0), 0) << "readable before any request";

	aligned_buffer written(4096);
	fill(written.span(), 11);
	// An overwrite, which ext4 runs at once. Where the kernel answers -EAGAIN under RWF_NOWAIT
	// (an append, a btrfs file) the request goes on to a worker: a readiness announces that,
	// without a callback, and the worker's completion makes the fd readable again.
	ASSERT_EQ(::pwrite(file.fd(), written.data(), written.size(), 0), 4096);
	completion done;
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), written.data(), written.size(), 0, record,
			       &done),
		  0);
	int ran = 0;
	for (int readiness = 0; readiness < 2 && ran == 0; ++readiness) {
		ASSERT_EQ(::poll(&readable, 1, -1), 1);
		EXPECT_NE(readable.revents & POLLIN, 0);
		ran = io_ctx_poll(ctx.get());
	}
	EXPECT_EQ(ran, 1);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 4096);
}

TEST(Submission, PollWithNothingInFlightReturnsZero)
{
	reset_waits();
	c_context ctx(2, wait_answering);
	ASSERT_EQ(ctx.error(), 0);
	EXPECT_EQ(io_ctx_poll(ctx.get()), 0);
	EXPECT_EQ(waits.calls, 0);
}

TEST(Submission, PollReapsWithoutWaiting)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	reset_waits();
	c_context ctx(2, wait_readable);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer written(4096);
	fill(written.span(), 12);
	completion done;
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), written.data(), written.size(), 0, record,
			       &done),
		  0);
	// The caller's own event loop: sleep on the eventfd, then poll.
	pollfd readable{io_ctx_eventfd(ctx.get()), POLLIN, 0};
	while (done.calls == 0) {
		ASSERT_EQ(::poll(&readable, 1, -1), 1);
		ASSERT_GE(io_ctx_poll(ctx.get()), 0);
	}
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 4096);
	EXPECT_EQ(waits.calls, 0);
	EXPECT_EQ(ctx.stats().waits, 0u);
}

TEST(Submission, DeferredSubmissionsWaitForOneFlush)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 8;
	c_context ctx(count, wait_readable, IO_CTX_DEFER_SUBMIT);
	ASSERT_EQ(ctx.error(), 0);
	std::vector<aligned_buffer> written;
	std::vector<completion> done(count);
	for (int i = 0; i < count; ++i) {
		written.emplace_back(4096);
		fill(written.back().span(), static_cast<std::uint32_t>(200 + i));
		ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), written.back().data(), 4096,
				       static_cast<long long>(i) * 4096, record, &done[i]),
			  0);
	}
	io_ctx_stats queued = ctx.stats();
	EXPECT_EQ(queued.queued, static_cast<unsigned>(count));
	EXPECT_EQ(queued.in_kernel, 0u);
	EXPECT_EQ(queued.submitted, 0u);
	for (const completion &one : done)
		EXPECT_EQ(one.calls, 0);

	EXPECT_EQ(io_ctx_flush(ctx.get()), count);
	io_ctx_stats sent = ctx.stats();
	// A file system without RWF_NOWAIT (tmpfs) refuses the first call that carries it.
	EXPECT_EQ(sent.submit_calls - sent.nowait_refusals, queued.submit_calls + 1);
	EXPECT_EQ(sent.queued, 0u);
	EXPECT_EQ(sent.submitted, static_cast<unsigned long long>(count));
	EXPECT_EQ(io_ctx_flush(ctx.get()), 0);
	EXPECT_EQ(ctx.stats().submit_calls, sent.submit_calls);

	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == count; }));
	aligned_buffer on_disk = read_directly(file.fd(), count * 4096, 0);
	for (int i = 0; i < count; ++i) {
		EXPECT_EQ(done[i].calls, 1);
		EXPECT_EQ(done[i].result, 4096);
		std::size_t at = static_cast<std::size_t>(i) * 4096;
		EXPECT_TRUE(same_bytes(on_disk.span().subspan(at, 4096), written[i].span()));
	}
}

TEST(Submission, DeferredSubmissionsAreSentByProcessAndPoll)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	c_context ctx(4, wait_readable, IO_CTX_DEFER_SUBMIT);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(2 * 4096);
	completion by_process, by_poll;
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data(), 4096, 0, record, &by_process),
		  0);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return by_process.calls > 0; }));
	EXPECT_EQ(by_process.result, 4096);

	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data() + 4096, 4096, 4096, record,
			       &by_poll),
		  0);
	EXPECT_EQ(ctx.stats().queued, 1u);
	EXPECT_GE(io_ctx_poll(ctx.get()), 0);
	EXPECT_EQ(ctx.stats().queued, 0u);
	ASSERT_TRUE(process_until(ctx.get(), [&] { return by_poll.calls > 0; }));
	EXPECT_EQ(by_poll.calls, 1);
	EXPECT_EQ(by_poll.result, 4096);
}

TEST(Submission, ProcessWithNothingInFlightReturnsAtOnce)
{
	reset_waits();
	c_context ctx(2, wait_answering);
	ASSERT_EQ(ctx.error(), 0);
	EXPECT_EQ(io_ctx_process(ctx.get()), 0);
	EXPECT_EQ(waits.calls, 0);
	EXPECT_EQ(ctx.stats().waits, 0u);
}

TEST(Submission, ProcessRunsAtLeastOneCallbackWhileRequestsAreInFlight)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 4;
	c_context ctx(count);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(count * 4096);
	std::vector<completion> done(count);
	for (int i = 0; i < count; ++i)
		ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data() + i * 4096, 4096,
				       static_cast<long long>(i) * 4096, record, &done[i]),
			  0);
	int total = 0;
	while (total < count) {
		int ran = io_ctx_process(ctx.get());
		ASSERT_GE(ran, 1);
		total += ran;
	}
	EXPECT_EQ(total, count);
	EXPECT_EQ(io_ctx_process(ctx.get()), 0);
	for (const completion &one : done)
		EXPECT_EQ(one.calls, 1);
}

// What a fiber runtime does: while one fiber waits in wait_cb, another runs process(), which
// runs the first fiber's callback (and submits more). The first process() then returns at once
// instead of waiting again for some other request.
struct reentering_wait_state {
	io_ctx *context = nullptr;
	int file = -1;
	void *buffer = nullptr;
	completion *later_read = nullptr;
	fault_kernel *kernel = nullptr;
	int outer_waits = 0;
	bool inside = false;
};
reentering_wait_state reentering;

int wait_running_another_process(int fd)
{
	if (reentering.inside)
		return wait_readable(fd); // the inner process() waits plainly
	// A second wait is the failure this test looks for; the event it awaits already sits in
	// the kernel's ring (the seam hid it), so return at once rather than block on the fd.
	if (++reentering.outer_waits > 1)
		return 0;
	reentering.inside = true;
	EXPECT_GE(io_ctx_process(reentering.context), 1);
	EXPECT_GT(io_ctx_read(reentering.context, reentering.file, reentering.buffer, 4096, 0,
			      record, reentering.later_read),
		  0);
	reentering.kernel->nothing_ready = 2; // the later read is not ready for a while
	reentering.inside = false;
	return 0;
}

TEST(Submission, ProcessEndsItsWaitWhenAnotherProcessRanTheCallbacks)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	fault_kernel kernel;
	kernel.nothing_ready = 2; // the outer process() finds nothing, twice, and so must wait
	c_context ctx(4, wait_running_another_process, 0, &kernel);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(2 * 4096);
	completion first, second;
	reentering = {ctx.get(), file.fd(), buffer.data() + 4096, &second, &kernel, 0, false};
	ASSERT_GT(io_ctx_read(ctx.get(), file.fd(), buffer.data(), 4096, 0, record, &first), 0);
	EXPECT_GE(io_ctx_process(ctx.get()), 1) << "the first read's callback ran during the wait";
	EXPECT_EQ(first.calls, 1);
	EXPECT_EQ(reentering.outer_waits, 1) << "the outer process() waited again";
	while (io_ctx_process(ctx.get()) > 0) {
	}
	EXPECT_EQ(second.calls, 1);
}

TEST(Submission, ProcessReturnsTheErrorOfWaitCallback)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// Two empty reaps make process wait, whatever the disk's speed.
	kaio::testing::fault_kernel kernel;
	kernel.getevents_script = {-EAGAIN, -EAGAIN};
	reset_waits(-ETIMEDOUT);
	c_context ctx(2, wait_answering, 0, &kernel);
	ASSERT_EQ(ctx.error(), 0);
	aligned_buffer buffer(4096);
	completion done;
	ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data(), 4096, 0, record, &done), 0);
	EXPECT_EQ(io_ctx_process(ctx.get()), -ETIMEDOUT);
	EXPECT_EQ(waits.calls, 1);
	EXPECT_EQ(done.calls, 0);

	// The request is still there and completes once waiting works again.
	waits.answer = 0;
	ASSERT_TRUE(process_until(ctx.get(), [&] { return done.calls > 0; }));
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, 4096);
}

TEST(Submission, StatsCountEveryRequestOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int count = 10;
	c_context ctx(4);
	ASSERT_EQ(ctx.error(), 0);
	io_ctx_stats fresh = ctx.stats();
	EXPECT_EQ(fresh.submitted, 0u);
	EXPECT_EQ(fresh.completed, 0u);
	EXPECT_EQ(fresh.submit_calls, 0u);
	EXPECT_EQ(fresh.in_kernel, 0u);
	EXPECT_EQ(fresh.queued, 0u);

	aligned_buffer buffer(4096);
	std::vector<completion> done(count);
	for (int i = 0; i < count; ++i) {
		// A full context runs completions itself to free a slot.
		ASSERT_GT(io_ctx_write(ctx.get(), file.fd(), buffer.data(), 4096,
				       static_cast<long long>(i) * 4096, record, &done[i]),
			  0);
		EXPECT_LE(ctx.stats().in_kernel, 4u);
	}
	ASSERT_TRUE(process_until(ctx.get(), [&] { return ctx.stats().completed == count; }));
	io_ctx_stats drained = ctx.stats();
	EXPECT_EQ(drained.submitted, static_cast<unsigned long long>(count));
	EXPECT_EQ(drained.completed, static_cast<unsigned long long>(count));
	EXPECT_EQ(drained.submit_calls - drained.nowait_refusals,
		  static_cast<unsigned long long>(count));
	EXPECT_GE(drained.getevents_calls + drained.ring_reaps, 1u);
	EXPECT_EQ(drained.in_kernel, 0u);
	EXPECT_EQ(drained.queued, 0u);
	expect_each_once(done, 4096);
}

// Buffers and files are registered with nothing in flight: on io_uring, replacing a set under
// requests that use it could make the call wait inside the kernel for them. Refused while a
// request is out (whether or not the kernel has finished it, until its callback has run), taken
// once it is back, and the requests that follow use the registration.
TEST(Submission, RegisteringWithARequestInFlightIsRefusedUntilItIsBack)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 47);
	aligned_buffer data(2 * block);
	iovec buffers[1] = {{data.data(), data.size()}};
	int fds[1] = {file.fd()};
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 2, nullptr), 0);
	completion first;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data(), block, 0, record, &first), 0);
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, buffers, 1), -EBUSY);
	EXPECT_EQ(io_ctx_register_files(&context.ctx, fds, 1), -EBUSY);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(first.result, block_result);

	ASSERT_EQ(io_ctx_register_buffers(&context.ctx, buffers, 1), 0);
	ASSERT_EQ(io_ctx_register_files(&context.ctx, fds, 1), 0);
	completion second;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), data.data() + block, block, offset_of(1),
			      record, &second),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	EXPECT_EQ(second.result, block_result);
	EXPECT_EQ(std::memcmp(data.data(), patterned(2, 47).data(), data.size()), 0);
	EXPECT_EQ(stats_of(context.ctx).fixed_buffer_requests, on_uring(context.ctx) ? 1u : 0u);
	EXPECT_EQ(io_ctx_register_files(&context.ctx, nullptr, 0), 0);
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, nullptr, 0), 0);
}

} // namespace
