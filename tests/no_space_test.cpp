// ENOSPC from the kernel: a small ext4 image on a loop device (as root) filled by kaio writes
// 32 at a time. Every callback runs once with its result (the whole block, a short count or
// -ENOSPC), the counters agree, nothing hangs, and every block reported written reads back.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/small_filesystem.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr std::size_t chunk = 64 * 1024;
constexpr unsigned chunks = 512; // 32 MiB onto a 16 MiB filesystem
constexpr int depth = 32;

TEST(NoSpace, EveryWriteOnAFullFilesystemGetsItsResult)
{
	KAIO_SMALL_EXT4_FILE_OR_SKIP(filesystem, file);
	int fd = file.fd;
	aligned_buffer data(chunks * chunk);
	for (unsigned i = 0; i < chunks; ++i) // each chunk its own byte: a misplaced one shows
		std::memset(data.data() + i * chunk, static_cast<int>(i % 255 + 1), chunk);
	std::vector<completion> writes(chunks);
	{
		context_guard guard;
		ASSERT_EQ(io_ctx_create(&guard.ctx, depth, nullptr), 0);
		// A full context makes the next submission wait for a free slot.
		for (unsigned i = 0; i < chunks; ++i)
			ASSERT_GT(io_ctx_write(&guard.ctx, fd, data.data() + i * chunk, chunk,
					       static_cast<long long>(i * chunk), record,
					       &writes[i]),
				  0)
				<< "write " << i;
		EXPECT_EQ(run_until_idle(guard.ctx), 0);
		io_ctx_stats stats = stats_of(guard.ctx);
		EXPECT_EQ(stats.submitted, chunks);
		EXPECT_EQ(stats.completed, chunks);
		EXPECT_EQ(stats.in_kernel, 0u);
		EXPECT_EQ(stats.queued, 0u);
	}
	unsigned full = 0, refused = 0;
	aligned_buffer back(chunk);
	for (unsigned i = 0; i < chunks; ++i) {
		const completion &write = writes[i];
		EXPECT_EQ(write.calls, 1) << "write " << i;
		EXPECT_TRUE(write.result == -ENOSPC ||
			    (write.result >= 0 && write.result <= int(chunk)))
			<< "write " << i << ": " << write.result;
		if (write.result == -ENOSPC)
			++refused;
		if (write.result != static_cast<int>(chunk))
			continue;
		++full;
		ASSERT_EQ(::pread(fd, back.data(), chunk, static_cast<off_t>(i * chunk)),
			  static_cast<ssize_t>(chunk));
		EXPECT_EQ(std::memcmp(back.data(), data.data() + i * chunk, chunk), 0)
			<< "write " << i;
	}
	EXPECT_GT(full, 0u);
	EXPECT_GT(refused, 0u) << "the filesystem never filled up";
}

} // namespace
