// io_ctx_dio_alignment() reports what the filesystem (statx STATX_DIOALIGN) or block device
// (logical block size) says, and that is what O_DIRECT really requires: aligned I/O works, I/O
// misaligned by less fails with EINVAL. Runs on $KAIO_TEST_DIR's filesystem, and on the block
// device $KAIO_TEST_BLOCK_DEVICE when set (tests/filesystems runs it on each of its matrix).
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kaio/kaio.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

// What statx says, or nothing (mask bit clear) as a zero alignment.
struct io_ctx_dio_alignment statx_alignment(int fd)
{
	struct statx status {};
	EXPECT_EQ(::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &status), 0);
	if ((status.stx_mask & STATX_DIOALIGN) == 0)
		return {};
	return {status.stx_dio_mem_align, status.stx_dio_offset_align, {0, 0}};
}

// btrfs answers a misaligned O_DIRECT request with buffered I/O instead of EINVAL.
bool falls_back_to_buffered_io(int fd)
{
	struct statfs status {};
	return ::fstatfs(fd, &status) == 0 && status.f_type == BTRFS_SUPER_MAGIC;
}

// The kernel's answer to an O_DIRECT write of `length` bytes from `buffer` at `offset`.
int direct_write(int fd, const std::byte *buffer, std::size_t length, off_t offset)
{
	ssize_t written = ::pwrite(fd, buffer, length, offset);
	return written < 0 ? -errno : static_cast<int>(written);
}

// I/O aligned as reported works, through kaio; I/O misaligned by half of it fails with EINVAL,
// except where the filesystem falls back to buffered I/O instead.
void expect_alignment_enforced(int fd, const struct io_ctx_dio_alignment &alignment)
{
	std::size_t unit =
		std::max<std::size_t>({alignment.offset, alignment.memory, IO_CTX_ALIGNMENT});
	// Linux 6.18 lets a request that stays within one page through from any address: the
	// misaligned buffer spans pages.
	std::size_t span = std::max<std::size_t>(unit, 2 * 4096);
	aligned_buffer data(2 * span);
	std::memset(data.data(), 0x5a, data.size());
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 2, nullptr), 0);
	completion aligned;
	ASSERT_GT(io_ctx_write(&guard.ctx, fd, data.data(), unit, static_cast<long long>(unit),
			       record, &aligned),
		  0);
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(aligned.result, static_cast<int>(unit)) << "an aligned write";

	if (falls_back_to_buffered_io(fd))
		return;
	if (alignment.offset > IO_CTX_ALIGNMENT) {
		// kaio lets this through (it only checks 512); the kernel refuses it.
		completion misaligned;
		int key = io_ctx_write(&guard.ctx, fd, data.data(), alignment.offset,
				       alignment.offset / 2, record, &misaligned);
		if (key > 0) {
			EXPECT_EQ(run_until_idle(guard.ctx), 0);
			key = misaligned.result;
		}
		EXPECT_EQ(key, -EINVAL)
			<< "a write through kaio at offset " << alignment.offset / 2;
	}
	if (alignment.offset > 1) {
		EXPECT_EQ(direct_write(fd, data.data(), alignment.offset, alignment.offset / 2),
			  -EINVAL)
			<< "a write at offset " << alignment.offset / 2;
	}
	if (alignment.memory > 1) {
		EXPECT_EQ(direct_write(fd, data.data() + alignment.memory / 2, span, 0), -EINVAL)
			<< "a write from an address " << alignment.memory / 2 << " past alignment";
	}
}

TEST(DioAlignment, RefusesBadArguments)
{
	struct io_ctx_dio_alignment alignment {};
	EXPECT_EQ(io_ctx_dio_alignment(-1, &alignment), -EBADF);
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_EQ(io_ctx_dio_alignment(file.fd(), nullptr), -EINVAL);
	int pipe_fds[2];
	ASSERT_EQ(::pipe(pipe_fds), 0);
	EXPECT_EQ(io_ctx_dio_alignment(pipe_fds[0], &alignment), -EOPNOTSUPP);
	::close(pipe_fds[0]);
	::close(pipe_fds[1]);
}

TEST(DioAlignment, OfAFileIsWhatStatxReports)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	struct io_ctx_dio_alignment expected = statx_alignment(file.fd());
	struct io_ctx_dio_alignment alignment {};
	int rc = kaio::dio_alignment(file.fd(), alignment);
	if (expected.offset == 0) {
		EXPECT_EQ(rc, -EOPNOTSUPP) << "statx reports no direct I/O alignment here";
		GTEST_SKIP() << "the filesystem of " << file.directory()
			     << " does not report its direct I/O alignment";
	}
	ASSERT_EQ(rc, 0);
	EXPECT_EQ(alignment.memory, expected.memory);
	EXPECT_EQ(alignment.offset, expected.offset);
	EXPECT_EQ(alignment.reserved[0], 0u);
	EXPECT_EQ(alignment.reserved[1], 0u);
	expect_alignment_enforced(file.fd(), alignment);
}

TEST(DioAlignment, OfABlockDeviceIsItsLogicalBlockSize)
{
	const char *device = std::getenv("KAIO_TEST_BLOCK_DEVICE");
	if (device == nullptr)
		GTEST_SKIP() << "set KAIO_TEST_BLOCK_DEVICE to a scratch block device (its data is "
				"overwritten): tests/filesystems does";
	int fd = ::open(device, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(fd, 0) << device << ": " << std::strerror(errno);
	int logical_block_size = 0;
	ASSERT_EQ(::ioctl(fd, BLKSSZGET, &logical_block_size), 0);
	struct io_ctx_dio_alignment alignment {};
	ASSERT_EQ(io_ctx_dio_alignment(fd, &alignment), 0);
	EXPECT_EQ(alignment.offset, static_cast<unsigned>(logical_block_size));
	// Linux 6.11 and later also say it through statx: the same answer.
	if (struct io_ctx_dio_alignment reported = statx_alignment(fd); reported.offset != 0) {
		EXPECT_EQ(alignment.offset, reported.offset);
		EXPECT_EQ(alignment.memory, reported.memory);
	}
	EXPECT_GE(alignment.memory, 1u);
	expect_alignment_enforced(fd, alignment);
	::close(fd);
}

} // namespace
