// Every invalid input the header names is refused with its documented errno before anything
// reaches the kernel: no key, no callback, no io_submit, nothing queued.
#include <limits.h>
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/direct_file.hpp"

namespace {

using kaio::aligned_buffer;

int callbacks = 0;

void count_callback(int, void *)
{
	++callbacks;
}

// A context, a scratch O_DIRECT file and a buffer, and a check that a refused call left no trace.
class Validation : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (!file_.unusable_reason().empty())
			GTEST_SKIP() << file_.unusable_reason();
		callbacks = 0;
		io_ctx_options options = IO_CTX_OPTIONS_INIT;
		options.flags = deferred() ? IO_CTX_DEFER_SUBMIT : 0;
		ASSERT_EQ(io_ctx_create_opts(&ctx_, 4, nullptr, &options), 0);
		ASSERT_EQ(io_ctx_get_stats(&ctx_, &before_), 0);
	}

	void TearDown() override { io_ctx_destroy(&ctx_); }

	virtual bool deferred() const { return false; }

	// Nothing was sent, queued or completed since SetUp, and no callback ran.
	void expect_no_trace()
	{
		EXPECT_EQ(io_ctx_process(&ctx_), 0);
		io_ctx_stats after{};
		ASSERT_EQ(io_ctx_get_stats(&ctx_, &after), 0);
		EXPECT_EQ(after.submit_calls, before_.submit_calls);
		EXPECT_EQ(after.submitted, 0u);
		EXPECT_EQ(after.completed, 0u);
		EXPECT_EQ(after.queued, 0u);
		EXPECT_EQ(after.in_kernel, 0u);
		EXPECT_EQ(callbacks, 0);
	}

	// Every transfer at `offset` is refused with -EINVAL.
	void expect_offset_refused(long long offset)
	{
		SCOPED_TRACE(offset);
		iovec one{buffer_.data(), 4096};
		EXPECT_EQ(write(buffer_.data(), 4096, offset), -EINVAL);
		EXPECT_EQ(read(buffer_.data(), 4096, offset), -EINVAL);
		EXPECT_EQ(pwrite(&one, 1, offset), -EINVAL);
		EXPECT_EQ(pread(&one, 1, offset), -EINVAL);
	}

	int fd() const { return file_.fd(); }

	int write(void *data, std::size_t count, long long offset)
	{
		return io_ctx_write(&ctx_, fd(), data, count, offset, count_callback, nullptr);
	}
	int read(void *data, std::size_t count, long long offset)
	{
		return io_ctx_read(&ctx_, fd(), data, count, offset, count_callback, nullptr);
	}
	int pwrite(const iovec *iov, int iovcnt, long long offset = 0)
	{
		return io_ctx_pwrite(&ctx_, fd(), iov, iovcnt, offset, count_callback, nullptr);
	}
	int pread(const iovec *iov, int iovcnt, long long offset = 0)
	{
		return io_ctx_pread(&ctx_, fd(), iov, iovcnt, offset, count_callback, nullptr);
	}

	kaio::testing::direct_file file_;
	io_ctx ctx_{};
	io_ctx_stats before_{};
	aligned_buffer buffer_{8192};
};

// Deferred submission must not queue what it refuses either.
class ValidationDeferred : public Validation {
protected:
	bool deferred() const override { return true; }
};

// Address space that faults on any access: lengths above the limit without 2 GiB of memory, and
// a request wrongly let through fails in the kernel instead of touching anything.
class unmapped_range {
public:
	explicit unmapped_range(std::size_t size)
		: size_(size), base_(::mmap(nullptr, size, PROT_NONE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))
	{}
	~unmapped_range()
	{
		if (base_ != MAP_FAILED)
			::munmap(base_, size_);
	}
	unmapped_range(const unmapped_range &) = delete;
	unmapped_range &operator=(const unmapped_range &) = delete;

	bool ok() const { return base_ != MAP_FAILED; }
	void *data() const { return base_; }

private:
	std::size_t size_;
	void *base_;
};

constexpr std::size_t too_long = static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES) + 4096;

// Every call that takes a context, on this one, answers -EINVAL and runs no callback.
void expect_every_call_refused(io_ctx *ctx, int fd)
{
	aligned_buffer buffer(4096);
	iovec one{buffer.data(), buffer.size()};
	io_ctx_stats stats{};
	callbacks = 0;
	EXPECT_EQ(io_ctx_write(ctx, fd, buffer.data(), 4096, 0, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_read(ctx, fd, buffer.data(), 4096, 0, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_pwrite(ctx, fd, &one, 1, 0, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_pread(ctx, fd, &one, 1, 0, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_fsync(ctx, fd, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_fdsync(ctx, fd, count_callback, nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_process(ctx), -EINVAL);
	EXPECT_EQ(io_ctx_poll(ctx), -EINVAL);
	EXPECT_EQ(io_ctx_flush(ctx), -EINVAL);
	EXPECT_EQ(io_ctx_cancel(ctx, 1), -EINVAL);
	EXPECT_EQ(io_ctx_eventfd(ctx), -EINVAL);
	EXPECT_EQ(io_ctx_get_stats(ctx, &stats), -EINVAL);
	EXPECT_EQ(callbacks, 0);
}

TEST(ValidationContext, NullContextIsRefused)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	expect_every_call_refused(nullptr, file.fd());
	io_ctx_destroy(nullptr); // harmless
}

TEST(ValidationContext, NeverCreatedZeroedContextIsRefused)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx ctx{};
	expect_every_call_refused(&ctx, file.fd());
	io_ctx_destroy(&ctx);
}

TEST(ValidationContext, DestroyedContextIsRefused)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 4, nullptr), 0);
	io_ctx_destroy(&ctx);
	expect_every_call_refused(&ctx, file.fd());
}

TEST(ValidationContext, NullStatsPointerIsRefused)
{
	io_ctx ctx{};
	ASSERT_EQ(io_ctx_create(&ctx, 1, nullptr), 0);
	EXPECT_EQ(io_ctx_get_stats(&ctx, nullptr), -EINVAL);
	io_ctx_destroy(&ctx);
}

TEST_F(Validation, NullBufferWithLengthIsRefused)
{
	EXPECT_EQ(write(nullptr, 4096, 0), -EINVAL);
	EXPECT_EQ(read(nullptr, 4096, 0), -EINVAL);
	EXPECT_EQ(write(nullptr, 512, 0), -EINVAL);
	expect_no_trace();
}

TEST_F(Validation, NegativeFdIsBadForEveryRequest)
{
	iovec one{buffer_.data(), 4096};
	for (int bad : {-1, -2, INT_MIN}) {
		SCOPED_TRACE(bad);
		EXPECT_EQ(
			io_ctx_write(&ctx_, bad, buffer_.data(), 4096, 0, count_callback, nullptr),
			-EBADF);
		EXPECT_EQ(io_ctx_read(&ctx_, bad, buffer_.data(), 4096, 0, count_callback, nullptr),
			  -EBADF);
		EXPECT_EQ(io_ctx_pwrite(&ctx_, bad, &one, 1, 0, count_callback, nullptr), -EBADF);
		EXPECT_EQ(io_ctx_pread(&ctx_, bad, &one, 1, 0, count_callback, nullptr), -EBADF);
		EXPECT_EQ(io_ctx_fsync(&ctx_, bad, count_callback, nullptr), -EBADF);
		EXPECT_EQ(io_ctx_fdsync(&ctx_, bad, count_callback, nullptr), -EBADF);
	}
	expect_no_trace();
}

TEST_F(Validation, NegativeOffsetIsRefused)
{
	for (long long bad : {-512LL, -4096LL, LLONG_MIN})
		expect_offset_refused(bad);
	expect_no_trace();
}

TEST_F(Validation, UnalignedOffsetIsRefused)
{
	for (long long bad : {1LL, 256LL, 511LL, 513LL, 4097LL})
		expect_offset_refused(bad);
	expect_no_trace();
}

TEST_F(Validation, UnalignedAddressIsRefused)
{
	for (std::size_t shift : {1, 8, 256, 511}) {
		SCOPED_TRACE(shift);
		EXPECT_EQ(write(buffer_.data() + shift, 4096, 0), -EINVAL);
		EXPECT_EQ(read(buffer_.data() + shift, 4096, 0), -EINVAL);
	}
	expect_no_trace();
}

TEST_F(Validation, UnalignedLengthIsRefused)
{
	for (std::size_t bad : {1, 100, 511, 513, 4095, 4097}) {
		SCOPED_TRACE(bad);
		EXPECT_EQ(write(buffer_.data(), bad, 0), -EINVAL);
		EXPECT_EQ(read(buffer_.data(), bad, 0), -EINVAL);
	}
	expect_no_trace();
}

TEST_F(Validation, LengthAboveTheMaximumIsRefused)
{
	unmapped_range range(too_long);
	ASSERT_TRUE(range.ok());
	for (std::size_t bad : {too_long, static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES) + 512}) {
		SCOPED_TRACE(bad);
		EXPECT_EQ(write(range.data(), bad, 0), -EINVAL);
		EXPECT_EQ(read(range.data(), bad, 0), -EINVAL);
	}
	expect_no_trace();
}

TEST_F(Validation, LengthOfExactlyTheMaximumIsAccepted)
{
	// An empty file: the kernel reads nothing, so the unmapped buffer is never touched.
	unmapped_range range(static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES));
	ASSERT_TRUE(range.ok());
	int result = 1;
	auto keep = [](int got, void *where) { *static_cast<int *>(where) = got; };
	ASSERT_GT(io_ctx_read(&ctx_, fd(), range.data(), IO_CTX_MAX_IO_BYTES, 0, keep, &result), 0);
	while (result == 1)
		ASSERT_GE(io_ctx_process(&ctx_), 1);
	EXPECT_EQ(result, 0);
}

TEST_F(Validation, IovcntOutsideOneToIovMaxIsRefused)
{
	std::vector<iovec> many(IOV_MAX + 1, iovec{buffer_.data(), 512});
	for (int bad : {0, -1, INT_MIN, IOV_MAX + 1}) {
		SCOPED_TRACE(bad);
		EXPECT_EQ(pwrite(many.data(), bad), -EINVAL);
		EXPECT_EQ(pread(many.data(), bad), -EINVAL);
	}
	expect_no_trace();
}

TEST_F(Validation, NullIovecArrayIsRefused)
{
	EXPECT_EQ(pwrite(nullptr, 1), -EINVAL);
	EXPECT_EQ(pread(nullptr, 1), -EINVAL);
	EXPECT_EQ(pwrite(nullptr, 3), -EINVAL);
	expect_no_trace();
}

// One bad element among good ones, first, in the middle or last, in vectors short and long
// (more than 4 elements take another copy path).
TEST_F(Validation, BadIovecElementIsRefused)
{
	aligned_buffer pieces(9 * 512);
	const iovec bad_elements[] = {
		{pieces.data() + 1, 512},   // misaligned address
		{pieces.data() + 256, 512}, // misaligned address
		{pieces.data(), 100},       // misaligned length
		{pieces.data(), 513},       // misaligned length
		{nullptr, 512},             // NULL base with a length
	};
	for (int iovcnt : {1, 3, 9}) {
		for (int at : {0, iovcnt / 2, iovcnt - 1}) {
			for (const iovec &bad : bad_elements) {
				SCOPED_TRACE(::testing::Message()
					     << iovcnt << " elements, bad one at " << at
					     << ", length " << bad.iov_len);
				std::vector<iovec> iov;
				for (int i = 0; i < iovcnt; ++i)
					iov.push_back({pieces.data() + i * 512, 512});
				iov[static_cast<std::size_t>(at)] = bad;
				EXPECT_EQ(pwrite(iov.data(), iovcnt), -EINVAL);
				EXPECT_EQ(pread(iov.data(), iovcnt), -EINVAL);
			}
		}
	}
	expect_no_trace();
}

TEST_F(Validation, IovecTotalAboveTheMaximumIsRefused)
{
	// Each element is within the limit; together they are not.
	unmapped_range range(too_long);
	ASSERT_TRUE(range.ok());
	constexpr std::size_t half = static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES) / 2 + 2048;
	const iovec two[] = {{range.data(), half}, {range.data(), half}};
	EXPECT_EQ(pwrite(two, 2), -EINVAL);
	EXPECT_EQ(pread(two, 2), -EINVAL);
	std::vector<iovec> nine(9, iovec{range.data(), 512});
	nine[4] = iovec{range.data(), static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES)};
	EXPECT_EQ(pwrite(nine.data(), 9), -EINVAL);
	EXPECT_EQ(pread(nine.data(), 9), -EINVAL);
	expect_no_trace();
}

TEST_F(Validation, IovecLengthsSummingPastSizeMaxAreRefused)
{
	// A sum computed in size_t wraps around and looks small: the lengths must still be refused.
	unmapped_range range(too_long);
	ASSERT_TRUE(range.ok());
	const iovec wrapping[] = {{range.data(), static_cast<std::size_t>(IO_CTX_MAX_IO_BYTES)},
				  {range.data(), ~std::size_t{511}}};
	EXPECT_EQ(pwrite(wrapping, 2), -EINVAL);
	EXPECT_EQ(pread(wrapping, 2), -EINVAL);
	expect_no_trace();
}

TEST_F(ValidationDeferred, RefusedRequestIsNotQueued)
{
	iovec misaligned{buffer_.data() + 1, 512};
	EXPECT_EQ(write(buffer_.data(), 100, 0), -EINVAL);
	EXPECT_EQ(read(buffer_.data(), 4096, 3), -EINVAL);
	EXPECT_EQ(pwrite(&misaligned, 1), -EINVAL);
	EXPECT_EQ(io_ctx_fsync(&ctx_, -1, count_callback, nullptr), -EBADF);
	io_ctx_stats queued{};
	ASSERT_EQ(io_ctx_get_stats(&ctx_, &queued), 0);
	EXPECT_EQ(queued.queued, 0u);
	EXPECT_EQ(io_ctx_flush(&ctx_), 0);
	expect_no_trace();
}

TEST_F(Validation, ContextStillWorksAfterRefusals)
{
	EXPECT_EQ(write(buffer_.data() + 1, 4096, 0), -EINVAL);
	EXPECT_EQ(write(buffer_.data(), 4096, 1), -EINVAL);
	int result = 1;
	auto keep = [](int got, void *where) { *static_cast<int *>(where) = got; };
	ASSERT_GT(io_ctx_write(&ctx_, fd(), buffer_.data(), 4096, 0, keep, &result), 0);
	while (result == 1)
		ASSERT_GE(io_ctx_process(&ctx_), 1);
	EXPECT_EQ(result, 4096);
}

} // namespace
