// RWF_NOWAIT decided per filesystem and direction, from what the kernel answers: a filesystem
// that refuses the flag (tmpfs: io_submit answers EOPNOTSUPP) loses it for its own requests of
// that direction only, and every other filesystem of the context keeps it. Real files on small
// filesystems mounted for the test (as root): ext4, which takes the flag for reads, and tmpfs.
//
// Whether an ext4 read still carries the flag shows in what the kernel answers: a direct read
// over dirty page-cache pages would have to wait for their writeback, and under RWF_NOWAIT it
// comes back -EAGAIN instead and runs again on a worker, counted in nowait_retries. (A read of a
// cold file, after POSIX_FADV_DONTNEED or drop_caches, is no such read on Linux 6.18: ext4 keeps
// a small file's extents in its inode and reads it under RWF_NOWAIT without -EAGAIN.)
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/fault_kernel.hpp"
#include "support/loop_device.hpp"
#include "support/small_filesystem.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

[[maybe_unused]] const auto *const aio_only = ::testing::AddGlobalTestEnvironment(
	new aio_only_environment("RWF_NOWAIT is AIO's: io_uring never blocks the caller"));

constexpr std::size_t block = 4096;
constexpr unsigned blocks = 16;

long long offset_of(unsigned index)
{
	return static_cast<long long>(index) * static_cast<long long>(block);
}

// Block `index` of `path` (a file or a block device) overwritten with `byte` through the page
// cache and left dirty there: a direct read of it under RWF_NOWAIT would wait for the writeback,
// and answers -EAGAIN.
void dirty_block(const std::filesystem::path &path, unsigned index, char byte)
{
	int cached = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
	ASSERT_GE(cached, 0) << std::strerror(errno);
	std::vector<char> data(block, byte);
	ssize_t written = ::pwrite(cached, data.data(), block, offset_of(index));
	::close(cached);
	ASSERT_EQ(written, static_cast<ssize_t>(block));
}

// An O_DIRECT file of `blocks` blocks, each filled with its own byte, on a filesystem of its
// own mounted under `directory`; closed before the filesystem is unmounted.
class mounted_file {
public:
	explicit mounted_file(const std::filesystem::path &directory) : filesystem_(directory)
	{
		std::filesystem::create_directories(directory);
	}
	~mounted_file()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	mounted_file(const mounted_file &) = delete;
	mounted_file &operator=(const mounted_file &) = delete;

	// Each returns an empty string once the file is ready, or why the test cannot run.
	std::string on_tmpfs() { return make_file(filesystem_.mount_tmpfs(32 << 20)); }
	std::string on_overlayfs() { return make_file(filesystem_.mount_overlay()); }
	std::string on_ext4()
	{
		return make_file(filesystem_.mount_image("mkfs.ext4 -q -F", 32 << 20));
	}

	int fd() const { return fd_; }
	std::filesystem::path path() const { return filesystem_.mount_point() / "data"; }
	// What block `index` holds: the file's own byte `mark`, then the block's index.
	int byte_of(unsigned index) const { return mark_ + static_cast<int>(index); }

	// See dirty_block().
	void dirty(unsigned index, char byte) const { dirty_block(path(), index, byte); }

private:
	std::string make_file(std::string why)
	{
		if (!why.empty())
			return why;
		fd_ = ::open(path().c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
		if (fd_ < 0)
			return "cannot open " + path().string() + ": " + std::strerror(errno);
		static int files = 0;
		mark_ = 1 + 16 * (files++ % 8); // a byte per file and block, in one test
		aligned_buffer data(blocks * block);
		for (unsigned i = 0; i < blocks; ++i)
			std::memset(data.data() + i * block, byte_of(i), block);
		if (::pwrite(fd_, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
			return "cannot write " + path().string() + ": " + std::strerror(errno);
		return {};
	}

	small_filesystem filesystem_;
	int fd_ = -1;
	int mark_ = 0;
};

// Opens `name` on a filesystem of kind `kind` (on_tmpfs, on_ext4) under the scratch
// directory, or skips the test with the reason.
#define KAIO_MOUNTED_FILE_OR_SKIP(name, kind)                                                      \
	mounted_file name(scratch.directory() / #name);                                            \
	if (std::string why = name.kind(); !why.empty())                                           \
	GTEST_SKIP() << why

// One read through the context, run to its end: its callback ran once with a whole block,
// and the block holds `byte`.
void expect_read(io_ctx &ctx, int fd, unsigned index, int byte)
{
	aligned_buffer in(block);
	completion done;
	ASSERT_GT(io_ctx_read(&ctx, fd, in.data(), block, offset_of(index), record, &done), 0);
	ASSERT_EQ(run_until_idle(ctx), 0);
	EXPECT_EQ(done.calls, 1);
	ASSERT_EQ(done.result, static_cast<int>(block));
	std::vector<std::byte> expected(block, static_cast<std::byte>(byte));
	EXPECT_EQ(std::memcmp(in.data(), expected.data(), block), 0) << "block " << index;
}

// The kernel's answer for a dirty range, before anything was refused: -EAGAIN, retried on a
// worker. Skips the test on a kernel that reads it under RWF_NOWAIT at once.
#define KAIO_DIRTY_READ_IS_RETRIED_OR_SKIP(ctx, file, index)                                       \
	(file).dirty((index), 'D');                                                                \
	expect_read((ctx), (file).fd(), (index), 'D');                                             \
	if (stats_of(ctx).nowait_retries == 0)                                                     \
	GTEST_SKIP() << "this kernel read a dirty range under RWF_NOWAIT without -EAGAIN"

// A file on ext4 and one on tmpfs, and a plain context of 8 whose first dirty ext4 read was
// retried on a worker: where the tests of one refusal start.
#define KAIO_EXT4_TMPFS_AND_CONTEXT_OR_SKIP(ext4, tmpfs, guard)                                    \
	KAIO_DIRECT_FILE_OR_SKIP(scratch);                                                         \
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);                                                  \
	KAIO_MOUNTED_FILE_OR_SKIP(tmpfs, on_tmpfs);                                                \
	context_guard guard;                                                                       \
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);                                       \
	KAIO_DIRTY_READ_IS_RETRIED_OR_SKIP(guard.ctx, ext4, 0)

TEST(NowaitRefusals, ARefusingFilesystemLeavesOthersTheirNowait)
{
	KAIO_EXT4_TMPFS_AND_CONTEXT_OR_SKIP(ext4, tmpfs, guard);

	expect_read(guard.ctx, tmpfs.fd(), 1, tmpfs.byte_of(1)); // refused, sent without the flag
	EXPECT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);
	ext4.dirty(2, 'E');
	expect_read(guard.ctx, ext4.fd(), 2, 'E');
	EXPECT_EQ(stats_of(guard.ctx).nowait_retries, 2u)
		<< "the ext4 read lost RWF_NOWAIT to tmpfs's refusal";
	expect_read(guard.ctx, tmpfs.fd(), 3, tmpfs.byte_of(3));
	expect_read(guard.ctx, ext4.fd(), 4, ext4.byte_of(4));
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_refusals, 1u);
	EXPECT_EQ(stats.nowait_retries, 2u);
	EXPECT_EQ(stats.worker_requests, 2u); // the retries: tmpfs's reads went to the kernel
	EXPECT_EQ(stats.completed, 5u);
}

// A directory takes no RWF_NOWAIT (io_submit answers EOPNOTSUPP), whatever its filesystem takes.
// A read of one, sent where every descriptor goes to the kernel (IO_CTX_DIRECT_ONLY), fails on
// its own, and the direct reads of its filesystem keep their flag and the kernel: before, the
// whole filesystem was taken for one that refuses the flag, and its reads went to the workers.
TEST(NowaitRefusals, ARefusalForADirectoryIsNotItsFilesystems)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.backend = IO_CTX_BACKEND_AIO;
	options.flags = IO_CTX_DIRECT_ONLY;
	context_guard guard;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 4, nullptr, &options), 0);
	int directory =
		::open(ext4.path().parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_GE(directory, 0) << std::strerror(errno);
	aligned_buffer in(block);
	completion of_directory;
	int key = io_ctx_read(&guard.ctx, directory, in.data(), block, 0, record, &of_directory);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	::close(directory);
	EXPECT_TRUE(key < 0 || (of_directory.calls == 1 && of_directory.result < 0))
		<< "key " << key << ", result " << of_directory.result;
	expect_read(guard.ctx, ext4.fd(), 1, ext4.byte_of(1));
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_refusals, 0u);
	EXPECT_EQ(stats.worker_requests, 0u) << "ext4's direct read went to a worker";
}

// Overlayfs refuses the flag too, but the kernel would run a read without it on the disk below,
// inside io_submit: its reads go to the workers, while tmpfs's, served from memory, go to the
// kernel without the flag.
TEST(NowaitRefusals, ARefusingFilesystemNotInMemoryHasItsRequestsRunByWorkers)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(overlay, on_overlayfs);
	KAIO_MOUNTED_FILE_OR_SKIP(tmpfs, on_tmpfs);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);

	expect_read(guard.ctx, overlay.fd(), 1, overlay.byte_of(1)); // refused, then to a worker
	io_ctx_stats stats = stats_of(guard.ctx);
	if (stats.nowait_refusals == 0)
		GTEST_SKIP() << "this kernel's overlayfs takes RWF_NOWAIT";
	EXPECT_EQ(stats.worker_requests, 1u);
	expect_read(guard.ctx, overlay.fd(), 2, overlay.byte_of(2));
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, 2u) << "overlayfs's second read";
	expect_read(guard.ctx, tmpfs.fd(), 3, tmpfs.byte_of(3)); // refused, then to the kernel
	expect_read(guard.ctx, tmpfs.fd(), 4, tmpfs.byte_of(4));
	stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_refusals, 2u);
	EXPECT_EQ(stats.worker_requests, 2u) << "tmpfs's reads went to the workers";
	EXPECT_EQ(stats.completed, 4u);
}

// Two tmpfs mounts and ext4, read and written (IO_CTX_NOWAIT_WRITES) in mixed batches: each
// tmpfs refuses once for reads and once for writes, ext4 never, and every block is right.
TEST(NowaitRefusals, EachRefusingFilesystemIsCountedOncePerDirection)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	KAIO_MOUNTED_FILE_OR_SKIP(first_tmpfs, on_tmpfs);
	KAIO_MOUNTED_FILE_OR_SKIP(second_tmpfs, on_tmpfs);
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DEFER_SUBMIT | IO_CTX_NOWAIT_WRITES;
	const mounted_file *files[] = {&ext4, &first_tmpfs, &second_tmpfs};
	constexpr unsigned rounds = 3;
	// Round r writes block r + 8 of each file with the block's byte + 1, then reads blocks
	// r and r + 8 of each back, in one batch.
	std::vector<aligned_buffer> in;
	in.reserve(rounds * 9); // never moved: the kernel reads and writes them
	std::vector<completion> writes(rounds * 3), reads(rounds * 6);
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 32, nullptr, &options), 0);
		for (unsigned round = 0; round < rounds; ++round) {
			for (unsigned f = 0; f < 3; ++f) {
				aligned_buffer &data = in.emplace_back(block);
				std::memset(data.data(), files[f]->byte_of(round + 8) + 1, block);
				ASSERT_GT(io_ctx_write(&guard.ctx, files[f]->fd(), data.data(),
						       block, offset_of(round + 8), record,
						       &writes[round * 3 + f]),
					  0);
			}
			ASSERT_GE(io_ctx_flush(&guard.ctx), 0);
			ASSERT_EQ(run_until_idle(guard.ctx), 0);
			for (unsigned f = 0; f < 3; ++f) {
				for (unsigned k = 0; k < 2; ++k) {
					aligned_buffer &back = in.emplace_back(block);
					ASSERT_GT(io_ctx_read(&guard.ctx, files[f]->fd(),
							      back.data(), block,
							      offset_of(round + 8 * k), record,
							      &reads[round * 6 + f * 2 + k]),
						  0);
				}
			}
			ASSERT_EQ(run_until_idle(guard.ctx), 0);
		}
		io_ctx_stats stats = stats_of(guard.ctx);
		EXPECT_EQ(stats.nowait_refusals, 4u) << "two tmpfs, each for reads and for writes";
		EXPECT_EQ(stats.completed, rounds * 9);
	}
	expect_each_once(writes, static_cast<int>(block));
	expect_each_once(reads, static_cast<int>(block));
	for (unsigned round = 0; round < rounds; ++round) {
		for (unsigned f = 0; f < 3; ++f) {
			for (unsigned k = 0; k < 2; ++k) {
				unsigned index = round + 8 * k;
				int byte = files[f]->byte_of(index) + k; // written blocks: + 1
				const aligned_buffer &back = in[round * 9 + 3 + f * 2 + k];
				std::vector<std::byte> expected(block,
								static_cast<std::byte>(byte));
				EXPECT_EQ(std::memcmp(back.data(), expected.data(), block), 0)
					<< "file " << f << " block " << index;
			}
		}
	}
}

// The refusal belongs to tmpfs, not to the descriptor number: once the number names an ext4
// file, its reads carry RWF_NOWAIT again.
TEST(NowaitRefusals, ADescriptorNumberReusedForAnotherFileIsJudgedByThatFile)
{
	KAIO_EXT4_TMPFS_AND_CONTEXT_OR_SKIP(ext4, tmpfs, guard);

	int number = ::dup(tmpfs.fd());
	ASSERT_GE(number, 0);
	expect_read(guard.ctx, number, 1, tmpfs.byte_of(1));
	EXPECT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);
	ASSERT_EQ(::dup2(ext4.fd(), number), number); // the same number, now an ext4 file
	ext4.dirty(2, 'E');
	expect_read(guard.ctx, number, 2, 'E');
	::close(number);
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_retries, 2u) << "the reused number lost RWF_NOWAIT";
	EXPECT_EQ(stats.nowait_refusals, 1u);
}

// Until a filesystem refuses, the flag costs nothing: not one statx, however many requests and
// files. After a refusal, a batch asks statx once per descriptor it holds.
TEST(NowaitRefusals, NoStatxUntilAFilesystemRefuses)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	KAIO_MOUNTED_FILE_OR_SKIP(tmpfs, on_tmpfs);
	fault_kernel kernel;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DEFER_SUBMIT | IO_CTX_NOWAIT_WRITES;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 32, nullptr, &options, &kernel), 0);
	int other = ::open(ext4.path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_GE(other, 0);
	aligned_buffer in(blocks * block);
	aligned_buffer out(blocks * block);
	std::memset(out.data(), 'w', out.size());
	std::vector<completion> done(2 * blocks);
	// Each block of two files read and written, in one batch.
	auto batch = [&](int first_fd, int second_fd) {
		done.assign(done.size(), completion{});
		for (unsigned i = 0; i < blocks; ++i) {
			int fd = i % 2 == 0 ? first_fd : second_fd;
			ASSERT_GT(io_ctx_read(&guard.ctx, fd, in.data() + i * block, block,
					      offset_of(i), record, &done[i]),
				  0);
			ASSERT_GT(io_ctx_write(&guard.ctx, fd, out.data() + i * block, block,
					       offset_of(i), record, &done[blocks + i]),
				  0);
		}
		ASSERT_GE(io_ctx_flush(&guard.ctx), 0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		expect_each_once(done, static_cast<int>(block));
	};
	batch(ext4.fd(), other);
	batch(ext4.fd(), ext4.fd());
	EXPECT_EQ(kernel.statx_calls, 0) << "statx without any refusal";
	EXPECT_EQ(stats_of(guard.ctx).nowait_refusals, 0u);

	expect_read(guard.ctx, tmpfs.fd(), 0, tmpfs.byte_of(0));
	ASSERT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);
	int before = kernel.statx_calls;
	batch(ext4.fd(), tmpfs.fd());
	// Reads only: writes have not been refused. Then one more refusal, for tmpfs's writes,
	// whose statx and sweep of the queue come on top.
	EXPECT_EQ(stats_of(guard.ctx).nowait_refusals, 2u);
	EXPECT_LE(kernel.statx_calls - before, 2 + 1 + 2) << "more than one statx per descriptor";
	before = kernel.statx_calls;
	batch(ext4.fd(), tmpfs.fd());
	EXPECT_EQ(kernel.statx_calls - before, 2) << "one statx per descriptor of the batch";
	::close(other);
}

// Writes carry no RWF_NOWAIT by default, nor do syncs: after a refusal of reads, a batch of
// them asks nothing about where their file lives.
TEST(NowaitRefusals, RequestsWithoutTheFlagCostNoStatx)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	KAIO_MOUNTED_FILE_OR_SKIP(tmpfs, on_tmpfs);
	fault_kernel kernel;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DEFER_SUBMIT;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 32, nullptr, &options, &kernel), 0);
	expect_read(guard.ctx, tmpfs.fd(), 0, tmpfs.byte_of(0));
	ASSERT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);

	aligned_buffer out(blocks * block);
	std::memset(out.data(), 'w', out.size());
	std::vector<completion> done(blocks + 1);
	int before = kernel.statx_calls;
	for (unsigned i = 0; i < blocks; ++i) {
		int fd = i % 2 == 0 ? ext4.fd() : tmpfs.fd();
		ASSERT_GT(io_ctx_write(&guard.ctx, fd, out.data() + i * block, block, offset_of(i),
				       record, &done[i]),
			  0);
	}
	ASSERT_GT(io_ctx_fdsync(&guard.ctx, ext4.fd(), record, &done[blocks]), 0);
	ASSERT_GE(io_ctx_flush(&guard.ctx), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(kernel.statx_calls - before, 0);
	for (unsigned i = 0; i < blocks; ++i)
		EXPECT_EQ(done[i].result, static_cast<int>(block)) << "write " << i;
	EXPECT_EQ(done[blocks].result, 0);
}

// A device under the filesystem that cannot honour RWF_NOWAIT may say so only in the
// completion, with -EOPNOTSUPP, where io_submit usually refuses (reported with dm and md
// devices): the request runs again without the flag on a worker, and the filesystem loses the
// flag for that direction. Injected through the kernel seam: no device here answers that way.
TEST(NowaitRefusals, ARefusalInTheCompletionRunsAgainWithoutTheFlag)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	fault_kernel kernel;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 8, nullptr, nullptr, &kernel), 0);

	kernel.result_script = {-EOPNOTSUPP};
	expect_read(guard.ctx, ext4.fd(), 1, ext4.byte_of(1));
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_refusals, 1u);
	EXPECT_EQ(stats.worker_requests, 1u);
	EXPECT_EQ(stats.nowait_retries, 0u) << "a refusal is no -EAGAIN";

	// ext4 is not served from memory: its next read goes to a worker, not to the kernel
	// without the flag.
	int before = kernel.statx_calls;
	expect_read(guard.ctx, ext4.fd(), 2, ext4.byte_of(2));
	EXPECT_GT(kernel.statx_calls, before) << "reads on ext4 were not screened for the flag";
	EXPECT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, 2u);

	// Without the flag (writes carry none by default), -EOPNOTSUPP is the request's answer.
	aligned_buffer out(block);
	std::memset(out.data(), 'w', block);
	completion written;
	kernel.result_script = {-EOPNOTSUPP};
	ASSERT_GT(io_ctx_write(&guard.ctx, ext4.fd(), out.data(), block, offset_of(3), record,
			       &written),
		  0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(written.calls, 1);
	EXPECT_EQ(written.result, -EOPNOTSUPP);
	EXPECT_EQ(stats_of(guard.ctx).worker_requests, 2u) << "the refused read and the next one";
}

// A block device is judged on its own (its st_rdev), not with every node of /dev (whose st_dev
// they share): one device that refuses the flag in the completion, as dm and md devices may,
// leaves the other its flag, which a read over its dirty page cache shows (-EAGAIN, retried).
TEST(NowaitRefusals, ARefusingBlockDeviceLeavesOtherDevicesTheirNowait)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root to attach loop devices";
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	std::vector<std::unique_ptr<loop_device>> devices;
	std::vector<int> fds;
	struct closer { // before the devices are detached
		std::vector<int> &fds;
		~closer()
		{
			for (int fd : fds)
				::close(fd);
		}
	} close_them{fds};
	for (const char *name : {"refusing.img", "other.img"}) {
		std::filesystem::path image = scratch.directory() / name;
		std::filesystem::copy_file(scratch.path(), image);
		std::filesystem::resize_file(image, blocks * block);
		loop_device &device = *devices.emplace_back(std::make_unique<loop_device>(image));
		if (device.path().empty())
			GTEST_SKIP() << device.why_not();
		fds.push_back(::open(device.path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
		ASSERT_GE(fds.back(), 0) << std::strerror(errno);
	}
	fault_kernel kernel;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 8, nullptr, nullptr, &kernel), 0);
	dirty_block(devices[1]->path(), 0, 'D');
	expect_read(guard.ctx, fds[1], 0, 'D');
	if (stats_of(guard.ctx).nowait_retries != 1)
		GTEST_SKIP() << "this kernel read a dirty range under RWF_NOWAIT without -EAGAIN";

	kernel.result_script = {-EOPNOTSUPP};
	aligned_buffer in(block);
	completion refused;
	ASSERT_GT(io_ctx_read(&guard.ctx, fds[0], in.data(), block, 0, record, &refused), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	EXPECT_EQ(refused.result, static_cast<int>(block));
	ASSERT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);

	dirty_block(devices[1]->path(), 1, 'D');
	expect_read(guard.ctx, fds[1], 1, 'D');
	EXPECT_EQ(stats_of(guard.ctx).nowait_retries, 2u)
		<< "the other device lost RWF_NOWAIT to the first one's refusal";
	ASSERT_GT(io_ctx_read(&guard.ctx, fds[0], in.data(), block, 0, record, &refused), 0);
	ASSERT_EQ(run_until_idle(guard.ctx), 0);
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.worker_requests, 4u) << "two retries, the refused read, and the next one";
	EXPECT_EQ(stats.nowait_refusals, 1u);
}

// A registered file is asked where it lives once, at registration: its caller promises it
// stays open, so its batches make no statx after a refusal, and each filesystem is still judged
// on its own. (The refusal itself asks once which mount the refusing file is on, to find that
// mount in the mount table.) Unregistered again, it is asked once per batch.
TEST(NowaitRefusals, RegisteredFilesAreAskedWhereTheyLiveOnce)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_MOUNTED_FILE_OR_SKIP(ext4, on_ext4);
	KAIO_MOUNTED_FILE_OR_SKIP(tmpfs, on_tmpfs);
	fault_kernel kernel;
	context_guard guard;
	ASSERT_EQ(kaio::detail::create_io_ctx(&guard.ctx, 8, nullptr, nullptr, &kernel), 0);
	KAIO_DIRTY_READ_IS_RETRIED_OR_SKIP(guard.ctx, ext4, 0);
	int fds[2] = {tmpfs.fd(), ext4.fd()};
	ASSERT_EQ(io_ctx_register_files(&guard.ctx, fds, 2), 0);
	EXPECT_EQ(kernel.statx_calls, 2);

	expect_read(guard.ctx, tmpfs.fd(), 1, tmpfs.byte_of(1)); // refused, sent without the flag
	ASSERT_EQ(stats_of(guard.ctx).nowait_refusals, 1u);
	EXPECT_EQ(kernel.statx_calls, 3) << "the refusal did not ask for the mount once";
	ext4.dirty(2, 'E');
	expect_read(guard.ctx, ext4.fd(), 2, 'E');
	expect_read(guard.ctx, tmpfs.fd(), 3, tmpfs.byte_of(3));
	EXPECT_EQ(kernel.statx_calls, 3) << "a registered file was asked again";
	io_ctx_stats stats = stats_of(guard.ctx);
	EXPECT_EQ(stats.nowait_retries, 2u) << "the ext4 read lost RWF_NOWAIT to tmpfs's refusal";
	EXPECT_EQ(stats.nowait_refusals, 1u);

	ASSERT_EQ(io_ctx_register_files(&guard.ctx, nullptr, 0), 0);
	expect_read(guard.ctx, tmpfs.fd(), 4, tmpfs.byte_of(4));
	EXPECT_EQ(kernel.statx_calls, 4) << "an unregistered file must be asked in each batch";
}

// A descriptor that is not open cannot be registered, as with io_uring's registration.
TEST(NowaitRefusals, RegisteringAClosedDescriptorIsRefused)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	int closed = ::dup(scratch.fd());
	ASSERT_GE(closed, 0);
	::close(closed);
	int fds[2] = {scratch.fd(), closed};
	EXPECT_EQ(io_ctx_register_files(&guard.ctx, fds, 2), -EBADF);
}

} // namespace
