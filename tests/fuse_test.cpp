// A FUSE filesystem, served by this process (support/gated_fuse.hpp): the caller's thread must
// never wait for its daemon. FUSE refuses RWF_NOWAIT, and a daemon without FUSE_CAP_ASYNC_DIO has
// the kernel serve an AIO direct read inside io_submit: on AIO, its reads go to the worker
// threads. On io_uring, a FUSE file polls as ready, so io_uring would run the read in the
// submitting thread, where FUSE ignores IOCB_NOWAIT: its requests go with IOSQE_ASYNC. Either
// way, asking where a file lives reads what the kernel holds, never asks the daemon (statx with
// AT_STATX_DONT_SYNC: fstat would, as the file's attributes time out at once).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/gated_fuse.hpp"
#include "support/small_filesystem.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr std::size_t block = 4096;

std::string joined(const std::vector<std::string> &words)
{
	std::string all;
	for (const std::string &word : words)
		all += word + " ";
	return all;
}

// Mounts a gated_fuse under `directory` and opens its file with O_DIRECT, or skips the test.
#define KAIO_GATED_FUSE_FILE_OR_SKIP(filesystem, file, directory)                                  \
	if (::geteuid() != 0)                                                                      \
		GTEST_SKIP() << "mounting a FUSE filesystem needs root";                           \
	std::filesystem::create_directories((directory) / "fuse");                                 \
	gated_fuse filesystem((directory) / "fuse");                                               \
	if (!filesystem.why_not().empty())                                                         \
		GTEST_SKIP() << filesystem.why_not();                                              \
	open_file file{::open(filesystem.file().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)};        \
	ASSERT_GE(file.fd, 0) << std::strerror(errno)

enum class descriptor { plain, registered };

void reads_never_wait_for_the_daemon(descriptor kind)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_GATED_FUSE_FILE_OR_SKIP(filesystem, file, scratch.directory());
	int fd = file.fd;
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	if (kind == descriptor::registered) {
		ASSERT_EQ(io_ctx_register_files(&guard.ctx, &fd, 1), 0);
	}
	// However the test ends, the reads parked at the gate go on before the context drains.
	struct gate_opener {
		gated_fuse &filesystem;
		~gate_opener() { filesystem.open_gate(); }
	} opens_the_gate{filesystem};

	// Each read on its own: the first is refused, the others are screened.
	constexpr int reads = 4;
	aligned_buffer in(reads * block);
	std::vector<completion> done(reads);
	filesystem.close_gate(::gettid());
	for (int i = 0; i < reads; ++i)
		ASSERT_GT(io_ctx_read(&guard.ctx, fd, in.data() + i * block, block,
				      static_cast<long long>(3 * i * block), record, &done[i]),
			  0);
	EXPECT_EQ(filesystem.asked_by_watched_thread(), std::vector<std::string>{})
		<< "the caller's thread waited for the daemon: "
		<< joined(filesystem.asked_by_watched_thread());
	filesystem.open_gate();
	ASSERT_EQ(run_until_idle(guard.ctx), 0);

	expect_each_once(done, static_cast<int>(block));
	for (int i = 0; i < reads; ++i) {
		std::vector<char> expected(block,
					   static_cast<char>(gated_fuse::byte_at(3 * i * block)));
		EXPECT_EQ(std::memcmp(in.data() + i * block, expected.data(), block), 0)
			<< "read " << i;
	}
	io_ctx_stats stats = stats_of(guard.ctx);
	// io_uring's workers (IOSQE_ASYNC) or kaio's, after the one refusal AIO needs to learn.
	EXPECT_EQ(stats.worker_requests, static_cast<unsigned long long>(reads));
	EXPECT_EQ(stats.nowait_refusals, on_uring(guard.ctx) ? 0u : 1u);
}

TEST(FuseDaemon, ReadsNeverKeepTheCallersThreadWaitingForTheDaemon)
{
	reads_never_wait_for_the_daemon(descriptor::plain);
}

TEST(FuseDaemon, ReadsOfARegisteredFileNeverKeepTheCallersThreadWaiting)
{
	reads_never_wait_for_the_daemon(descriptor::registered);
}

// One read of `fd`, a file of `filesystem`, through `ctx`, while the daemon holds every request
// at its gate: the caller's thread must have asked it nothing by the time the submission returns.
void expect_read_asks_the_daemon_nothing(io_ctx &ctx, gated_fuse &filesystem, int fd)
{
	aligned_buffer in(block);
	completion done;
	filesystem.close_gate(::gettid());
	int key = io_ctx_read(&ctx, fd, in.data(), block, 0, record, &done);
	std::vector<std::string> asked = filesystem.asked_by_watched_thread();
	filesystem.open_gate();
	ASSERT_GT(key, 0);
	EXPECT_EQ(asked, std::vector<std::string>{})
		<< "the caller's thread waited for the daemon: " << joined(asked);
	ASSERT_EQ(run_until_idle(ctx), 0);
	EXPECT_EQ(done.result, static_cast<int>(block));
	std::vector<char> expected(block, static_cast<char>(gated_fuse::byte_at(0)));
	EXPECT_EQ(std::memcmp(in.data(), expected.data(), block), 0);
}

// The kernel hands a freed anonymous device number to the next mount: a FUSE filesystem on the
// number of a tmpfs this context read from is not taken for that tmpfs.
TEST(FuseDaemon, AFilesystemOnTheDeviceNumberOfAnUnmountedTmpfsIsNotTakenForIt)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "mounting needs root";
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	dev_t tmpfs_device = 0;
	{
		small_filesystem tmpfs(scratch.directory());
		if (std::string why = tmpfs.mount_tmpfs(1 << 20); !why.empty())
			GTEST_SKIP() << why;
		open_file file{::open((tmpfs.mount_point() / "data").c_str(),
				      O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600)};
		ASSERT_GE(file.fd, 0) << std::strerror(errno);
		ASSERT_EQ(::ftruncate(file.fd, block), 0);
		struct stat status {};
		ASSERT_EQ(::fstat(file.fd, &status), 0);
		tmpfs_device = status.st_dev;
		aligned_buffer in(block);
		completion done;
		ASSERT_GT(io_ctx_read(&guard.ctx, file.fd, in.data(), block, 0, record, &done), 0);
		ASSERT_EQ(run_until_idle(guard.ctx), 0);
		ASSERT_EQ(done.result, static_cast<int>(block));
	} // unmounted
	KAIO_GATED_FUSE_FILE_OR_SKIP(filesystem, file, scratch.directory());
	struct stat status {};
	ASSERT_EQ(::fstat(file.fd, &status), 0);
	if (status.st_dev != tmpfs_device)
		GTEST_SKIP() << "the kernel gave the FUSE mount another device number";
	expect_read_asks_the_daemon_nothing(guard.ctx, filesystem, file.fd);
}

// A mount detached from the tree (umount -l) still serves its open files, and is in no mount
// table: not knowing what it is, kaio keeps the caller's thread from its daemon anyway.
TEST(FuseDaemon, ADetachedMountStillNeverKeepsTheCallersThreadWaiting)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	KAIO_GATED_FUSE_FILE_OR_SKIP(filesystem, file, scratch.directory());
	ASSERT_EQ(::umount2(filesystem.file().parent_path().c_str(), MNT_DETACH), 0)
		<< std::strerror(errno);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
	expect_read_asks_the_daemon_nothing(guard.ctx, filesystem, file.fd);
}

} // namespace
