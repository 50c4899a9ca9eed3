// A FUSE filesystem, served by this process (support/gated_fuse.hpp): the caller's thread must
// never wait for its daemon. FUSE refuses RWF_NOWAIT, and a daemon without FUSE_CAP_ASYNC_DIO has
// the kernel serve an AIO direct read inside io_submit: on AIO, its reads go to the worker
// threads, and asking where a file lives reads what the kernel holds, never asks the daemon
// (statx with AT_STATX_DONT_SYNC: fstat would, as the file's attributes time out at once).
#include <fcntl.h>
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

TEST(FuseDaemon, ReadsNeverKeepTheCallersThreadWaitingForTheDaemon)
{
	// Not kept on io_uring, for now: a FUSE file polls as ready, so io_uring (Linux 6.18)
	// runs the read inline, and FUSE's direct I/O ignores IOCB_NOWAIT there (README).
	KAIO_SKIP_ON_URING("io_uring_enter waits for a FUSE daemon on Linux 6.18: not yet avoided");
	if (::geteuid() != 0)
		GTEST_SKIP() << "mounting a FUSE filesystem needs root";
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	std::filesystem::path mount_point = scratch.directory() / "fuse";
	std::filesystem::create_directories(mount_point);
	gated_fuse filesystem(mount_point);
	if (!filesystem.why_not().empty())
		GTEST_SKIP() << filesystem.why_not();
	open_file file{::open(filesystem.file().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)};
	int fd = file.fd;
	ASSERT_GE(fd, 0) << std::strerror(errno);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 8, nullptr), 0);
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
	EXPECT_EQ(stats.nowait_refusals, 1u);
	EXPECT_EQ(stats.worker_requests, static_cast<unsigned long long>(reads));
}

} // namespace
