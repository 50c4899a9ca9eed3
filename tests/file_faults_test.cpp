// What happens to requests when their file changes under them, and at its edges: an fd closed
// or a file truncated while requests are in flight, reads at and beyond end of file, a file
// opened without O_DIRECT (run by a worker). Each test shows the behaviour io_ctx.h documents.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr unsigned blocks = 16;

// Submits a read of every block of the file into `into`, one request per block.
void submit_block_reads(io_ctx &ctx, int fd, aligned_buffer &into, std::vector<completion> &done)
{
	done.resize(blocks);
	for (unsigned i = 0; i < blocks; ++i)
		ASSERT_GT(io_ctx_read(&ctx, fd, into.data() + i * block, block, offset_of(i),
				      record, &done[i]),
			  0)
			<< "read " << i;
}

// The kernel holds its own reference to the file of every request it has taken.
TEST(FileFaults, ClosingTheFdLeavesRequestsInTheKernelToComplete)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 3));
	int fd = ::dup(file.fd());
	ASSERT_GE(fd, 0);
	aligned_buffer into(blocks * block);
	std::vector<completion> reads;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, blocks, nullptr), 0);
	ASSERT_NO_FATAL_FAILURE(submit_block_reads(guard.ctx, fd, into, reads));
	ASSERT_EQ(::close(fd), 0);
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(reads, block_result);
	EXPECT_EQ(std::memcmp(into.data(), patterned(blocks, 3).data(), into.size()), 0);
}

// A queued request names its fd only when io_submit sends it: closed by then, it fails.
TEST(FileFaults, ClosingTheFdFailsRequestsStillQueued)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 3));
	int fd = ::dup(file.fd());
	ASSERT_GE(fd, 0);
	aligned_buffer into(blocks * block);
	std::vector<completion> reads;
	context_guard guard;
	io_ctx_options options = deferred_options();
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, blocks, nullptr, &options), 0);
	ASSERT_NO_FATAL_FAILURE(submit_block_reads(guard.ctx, fd, into, reads));
	ASSERT_EQ(::close(fd), 0);
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(reads, -EBADF);
	io_ctx_stats stats = stats_of(guard.ctx);
	// io_uring takes the requests and refuses each in its completion; AIO refuses the batch.
	EXPECT_EQ(stats.submitted, on_uring(guard.ctx) ? blocks : 0u);
	EXPECT_EQ(stats.completed, blocks);
}

// Each read in flight when the file is truncated sees the file before (the whole block, its
// data) or after (0 bytes: end of file), never a mix.
TEST(FileFaults, TruncatingTheFileEndsReadsInFlightCleanly)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), blocks, 5));
	aligned_buffer into(blocks * block);
	std::vector<completion> reads;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, blocks, nullptr), 0);
	ASSERT_NO_FATAL_FAILURE(submit_block_reads(guard.ctx, file.fd(), into, reads));
	ASSERT_EQ(::ftruncate(file.fd(), 0), 0);
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	aligned_buffer expected = patterned(blocks, 5);
	for (unsigned i = 0; i < blocks; ++i) {
		EXPECT_EQ(reads[i].calls, 1) << "read " << i;
		if (reads[i].result == block_result)
			EXPECT_EQ(std::memcmp(into.data() + i * block, expected.data() + i * block,
					      block),
				  0)
				<< "read " << i;
		else
			EXPECT_EQ(reads[i].result, 0) << "read " << i;
	}
}

// Reads return the bytes up to end of file, even when it is not a multiple of 512, and 0 from
// end of file on.
TEST(FileFaults, ReadsAtAndBeyondEndOfFileAreShort)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr int tail = 100; // the file ends 100 bytes into its second block
	ASSERT_NO_FATAL_FAILURE(write_patterned(file.fd(), 2, 9));
	ASSERT_EQ(::ftruncate(file.fd(), static_cast<off_t>(block + tail)), 0);
	aligned_buffer into(4 * block);
	completion straddling, at_end, beyond;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 4, nullptr), 0);
	ASSERT_GT(
		io_ctx_read(&guard.ctx, file.fd(), into.data(), 2 * block, 0, record, &straddling),
		0);
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), into.data() + 2 * block, block,
			      static_cast<long long>(2 * block), record, &at_end),
		  0);
	ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), into.data() + 3 * block, block,
			      static_cast<long long>(64 * block), record, &beyond),
		  0);
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(straddling.result, block_result + tail);
	EXPECT_EQ(std::memcmp(into.data(), patterned(2, 9).data(), block + tail), 0);
	EXPECT_EQ(at_end.result, 0);
	EXPECT_EQ(beyond.result, 0);
}

// Without O_DIRECT a worker thread does the I/O (see blocking_files_test.cpp). It works on its
// own duplicate of the fd: closing the caller's fd right after the submission, as with a request
// the kernel took, disturbs nothing. A pipe keeps the read waiting until after the close.
TEST(FileFaults, ClosingTheFdOfAWorkerRequestDoesNotDisturbIt)
{
	int ends[2];
	ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 2, nullptr), 0);
	aligned_buffer into(block);
	completion done;
	ASSERT_GT(io_ctx_read(&guard.ctx, ends[0], into.data(), block, 0, record, &done), 0);
	ASSERT_EQ(::close(ends[0]), 0);
	aligned_buffer message = patterned(1, 5);
	ASSERT_EQ(::write(ends[1], message.data(), block), static_cast<ssize_t>(block));
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, block_result);
	EXPECT_EQ(std::memcmp(into.data(), message.data(), block), 0);
	::close(ends[1]);
}

} // namespace
