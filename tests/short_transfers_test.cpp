// Reads (and, with IO_CTX_NOWAIT_WRITES, writes) that kaio sends with RWF_NOWAIT may come back
// short where going on would block: btrfs serves direct I/O not aligned to its sectors through
// its page cache, and stops at the first page not in it. The caller never asked for the flag
// and would take the count for the end of the file: a worker moves the rest, and the callback
// gets the whole length. A read that stops at the end of the file stays short, without a
// worker. The seam cuts a count short at will; the last test meets the
// real case, on btrfs in the file system matrix (tests/filesystems).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
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
#include "support/loop_device.hpp"
#include "support/run_command.hpp"

namespace {

using namespace kaio::testing;
using kaio::aligned_buffer;

constexpr unsigned blocks = 4;
constexpr int whole = static_cast<int>(blocks * block);

// A context over the seam, on a file system that reads the file under RWF_NOWAIT; skips the
// test where it does not: tmpfs refuses the flag, and then nothing carries it; btrfs answers
// -EAGAIN to reads of a file just written.
void create_on_nowait_file_system(context_guard &context, fault_kernel &kernel,
				  const direct_file &file, unsigned flags)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = flags;
	EXPECT_EQ(kaio::detail::create_io_ctx(&context.ctx, 4, nullptr, &options, &kernel), 0);
	aligned_buffer probe(block);
	completion done;
	EXPECT_GT(io_ctx_read(&context.ctx, file.fd(), probe.data(), block, 0, record, &done), 0);
	EXPECT_EQ(run_until_idle(context.ctx), 0);
	if (stats_of(context.ctx).nowait_refusals != 0)
		GTEST_SKIP() << "the file system of " << file.path() << " refuses RWF_NOWAIT";
	if (stats_of(context.ctx).nowait_retries != 0)
		GTEST_SKIP() << "the file system of " << file.path()
			     << " answers -EAGAIN to a read of it under RWF_NOWAIT";
}

// Where the kernel answered the request -EAGAIN after all, there was no count to cut short.
#define KAIO_SKIP_UNLESS_CUT_SHORT(kernel)                                                         \
	if (!(kernel).result_script.empty())                                                       \
	GTEST_SKIP() << "the kernel answered -EAGAIN under RWF_NOWAIT: nothing to cut short"

TEST(ShortTransfers, NowaitReadCutShortIsFinishedOnAWorker)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), blocks, 1);
	fault_kernel kernel;
	context_guard context;
	create_on_nowait_file_system(context, kernel, file, 0);
	if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure())
		return;

	kernel.result_script = {1536};
	kernel.undo_past_scripted_count = true;
	aligned_buffer in(blocks * block);
	completion done;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), in.data(), in.size(), 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	KAIO_SKIP_UNLESS_CUT_SHORT(kernel);

	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, whole);
	EXPECT_TRUE(same_bytes(in.span(), patterned(blocks, 1).span()));
	EXPECT_EQ(stats_of(context.ctx).nowait_retries, 1u);
	EXPECT_EQ(stats_of(context.ctx).worker_requests, 1u);
}

// Cut inside the second of three iovecs: the worker starts in the middle of it.
TEST(ShortTransfers, NowaitVectorReadCutShortInsideAnIovecIsFinishedOnAWorker)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), blocks, 2);
	fault_kernel kernel;
	context_guard context;
	create_on_nowait_file_system(context, kernel, file, 0);
	if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure())
		return;

	aligned_buffer first(block), middle(2 * block), last(block);
	iovec pieces[] = {{first.data(), first.size()},
			  {middle.data(), middle.size()},
			  {last.data(), last.size()}};
	kernel.result_script = {static_cast<int>(block + block / 2)};
	kernel.undo_past_scripted_count = true;
	completion done;
	ASSERT_GT(io_ctx_pread(&context.ctx, file.fd(), pieces, 3, 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	KAIO_SKIP_UNLESS_CUT_SHORT(kernel);

	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, whole);
	aligned_buffer expected = patterned(blocks, 2);
	EXPECT_TRUE(same_bytes(first.span(), {expected.data(), block}));
	EXPECT_TRUE(same_bytes(middle.span(), {expected.data() + block, 2 * block}));
	EXPECT_TRUE(same_bytes(last.span(), {expected.data() + 3 * block, block}));
	// The caller's array is as it gave it: the worker moved along kaio's copy.
	EXPECT_EQ(pieces[1].iov_base, middle.data());
	EXPECT_EQ(pieces[1].iov_len, middle.size());
}

TEST(ShortTransfers, NowaitWriteCutShortIsFinishedOnAWorker)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), blocks, 3); // an overwrite, which RWF_NOWAIT lets through
	fault_kernel kernel;
	context_guard context;
	create_on_nowait_file_system(context, kernel, file, IO_CTX_NOWAIT_WRITES);
	if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure())
		return;

	aligned_buffer out = patterned(blocks, 30);
	kernel.result_script = {static_cast<int>(block)};
	kernel.undo_past_scripted_count = true;
	completion done;
	ASSERT_GT(io_ctx_write(&context.ctx, file.fd(), out.data(), out.size(), 0, record, &done),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	KAIO_SKIP_UNLESS_CUT_SHORT(kernel);

	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, whole);
	aligned_buffer back(blocks * block);
	ASSERT_EQ(::pread(file.fd(), back.data(), back.size(), 0), whole);
	EXPECT_TRUE(same_bytes(back.span(), out.span()));
	EXPECT_EQ(stats_of(context.ctx).nowait_retries, 1u);
}

// The kernel's own short count at the end of the file: the worker would find nothing more.
TEST(ShortTransfers, ReadThatStopsAtTheEndOfTheFileNeedsNoWorker)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	write_patterned(file.fd(), 2, 4);
	fault_kernel kernel; // only the kernel
	context_guard context;
	create_on_nowait_file_system(context, kernel, file, 0);
	if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure())
		return;
	aligned_buffer in(blocks * block);
	completion done;
	ASSERT_GT(io_ctx_read(&context.ctx, file.fd(), in.data(), in.size(), 0, record, &done), 0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);
	// The library looks where the file ends (through the seam) only for a short count.
	if (kernel.statx_calls == 0)
		GTEST_SKIP() << "the kernel answered -EAGAIN under RWF_NOWAIT, not a short count";

	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, static_cast<int>(2 * block));
	EXPECT_TRUE(same_bytes({in.data(), 2 * block}, patterned(2, 4).span()));
	EXPECT_EQ(stats_of(context.ctx).worker_requests, 0u);
}

// The end of a block device is its size, which fstat does not give (st_size is 0).
TEST(ShortTransfers, ReadThatStopsAtTheEndOfADeviceNeedsNoWorker)
{
	KAIO_SKIP_ON_URING("io_uring sends no RWF_NOWAIT");
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root to attach a loop device";
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	constexpr std::size_t device_size = 1 << 20;
	std::filesystem::path image = scratch.directory() / "device.img";
	std::filesystem::copy_file(scratch.path(), image);
	std::filesystem::resize_file(image, device_size);
	loop_device device(image);
	if (device.path().empty())
		GTEST_SKIP() << device.why_not();
	int fd = ::open(device.path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(fd, 0) << std::strerror(errno);
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 4, nullptr), 0);
	aligned_buffer in(2 * block);
	completion done;
	ASSERT_GT(io_ctx_read(&context.ctx, fd, in.data(), in.size(), device_size - block, record,
			      &done),
		  0);
	ASSERT_EQ(run_until_idle(context.ctx), 0);

	EXPECT_EQ(done.calls, 1);
	EXPECT_EQ(done.result, static_cast<int>(block));
	EXPECT_EQ(stats_of(context.ctx).worker_requests, 0u);
	::close(fd);
}

// btrfs serves direct I/O that is not aligned to its 4 KiB sectors through its page cache,
// where RWF_NOWAIT stops at the first page not in it: with only the first page cached, the
// kernel answers 3584 in most rounds on Linux 6.18. Other file systems read it all directly.
TEST(ShortTransfers, ReadsTheFileSystemServesFromItsPageCacheComeBackWhole)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	KAIO_NEED_512_ALIGNMENT(file);
	constexpr unsigned file_blocks = 32;
	write_patterned(file.fd(), file_blocks, 5);
	int cached = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
	ASSERT_GE(cached, 0);
	ASSERT_EQ(::posix_fadvise(cached, 0, 0, POSIX_FADV_RANDOM), 0); // no readahead
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 4, nullptr), 0);
	constexpr std::size_t length = 16 * block;
	constexpr long long at = 512;
	aligned_buffer expected = patterned(file_blocks, 5);
	aligned_buffer in(length);
	std::vector<char> first_page(block);
	for (unsigned round = 0; round < 20; ++round) {
		SCOPED_TRACE("round " + std::to_string(round));
		ASSERT_EQ(::posix_fadvise(cached, 0, 0, POSIX_FADV_DONTNEED), 0);
		ASSERT_EQ(::pread(cached, first_page.data(), block, 0),
			  static_cast<ssize_t>(block));
		completion done;
		ASSERT_GT(
			io_ctx_read(&context.ctx, file.fd(), in.data(), length, at, record, &done),
			0);
		ASSERT_EQ(run_until_idle(context.ctx), 0);
		ASSERT_EQ(done.result, static_cast<int>(length));
		ASSERT_TRUE(same_bytes(in.span(), {expected.data() + at, length}));
	}
	// Where the kernel does stop short, the test saw it do so, and a worker take over (on AIO:
	// io_uring carries no RWF_NOWAIT of ours, and finishes a short read itself).
	struct statfs about {};
	if (!on_uring(context.ctx) && ::fstatfs(file.fd(), &about) == 0 &&
	    about.f_type == BTRFS_SUPER_MAGIC) {
		EXPECT_GT(stats_of(context.ctx).nowait_retries, 0u);
	}
	::close(cached);
}

} // namespace
