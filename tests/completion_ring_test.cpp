// Reaping from the completion ring without a system call: on a ring laid out here as the kernel
// lays it out, and on the kernel's own ring, against the io_getevents path.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "completion_ring.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/aio_ring_mappings.hpp"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/wait_callbacks.hpp"

namespace {

using namespace kaio::testing;
using kaio::detail::aio_ring;

// A ring of `slots` events in memory we own, as io_setup maps it.
struct fake_ring {
	explicit fake_ring(unsigned slots) : memory(sizeof(aio_ring) + slots * sizeof(io_event))
	{
		header().nr = slots;
	}
	aio_ring &header() { return *reinterpret_cast<aio_ring *>(memory.data()); }
	io_event *events() { return reinterpret_cast<io_event *>(&header() + 1); }
	// The kernel's side: writes an event whose data is `tag` at tail and moves tail on.
	void complete(std::uintptr_t tag)
	{
		events()[header().tail].data = reinterpret_cast<void *>(tag);
		header().tail = (header().tail + 1) % header().nr;
	}

	std::vector<std::uint64_t> memory; // 8-aligned, as io_event needs
};

std::vector<std::uintptr_t> tags_of(const io_event *events, int count)
{
	std::vector<std::uintptr_t> tags;
	for (int i = 0; i < count; ++i)
		tags.push_back(reinterpret_cast<std::uintptr_t>(events[i].data));
	return tags;
}

TEST(CompletionRing, EmptyRingYieldsNothing)
{
	fake_ring ring(8);
	io_event events[8];
	EXPECT_EQ(kaio::detail::reap_ring(ring.header(), events, 8), 0);
	EXPECT_EQ(ring.header().head, 0u);
}

TEST(CompletionRing, EventsComeInOrderAcrossTheWrap)
{
	fake_ring ring(8);
	ring.header().head = ring.header().tail = 6;
	for (std::uintptr_t tag = 1; tag <= 5; ++tag)
		ring.complete(tag);
	io_event events[8];
	ASSERT_EQ(kaio::detail::reap_ring(ring.header(), events, 8), 5);
	EXPECT_EQ(tags_of(events, 5), (std::vector<std::uintptr_t>{1, 2, 3, 4, 5}));
	EXPECT_EQ(ring.header().head, 3u);
}

TEST(CompletionRing, TakesNoMoreThanAskedAndLeavesTheRestForLater)
{
	fake_ring ring(8);
	for (std::uintptr_t tag = 1; tag <= 6; ++tag)
		ring.complete(tag);
	io_event events[8];
	ASSERT_EQ(kaio::detail::reap_ring(ring.header(), events, 4), 4);
	EXPECT_EQ(tags_of(events, 4), (std::vector<std::uintptr_t>{1, 2, 3, 4}));
	ASSERT_EQ(kaio::detail::reap_ring(ring.header(), events, 4), 2);
	EXPECT_EQ(tags_of(events, 2), (std::vector<std::uintptr_t>{5, 6}));
	EXPECT_EQ(ring.header().head, ring.header().tail);
}

TEST(CompletionRing, UnknownMagicIsNotRecognised)
{
	fake_ring ring(8);
	ring.header().header_length = sizeof(aio_ring);
	ring.header().magic = 0x12345678;
	EXPECT_EQ(kaio::detail::recognise_ring(reinterpret_cast<io_context_t>(&ring.header())),
		  nullptr);
}

// Writes and reads back `blocks` blocks through `ctx`; returns its counters afterwards.
io_ctx_stats round_trip(io_ctx &ctx, int fd, unsigned blocks)
{
	kaio::aligned_buffer data = patterned(blocks, 7);
	kaio::aligned_buffer back(data.size());
	std::vector<completion> writes(blocks);
	std::vector<completion> reads(blocks);
	for (unsigned i = 0; i < blocks; ++i)
		EXPECT_GT(io_ctx_write(&ctx, fd, data.data() + i * block, block, offset_of(i),
				       record, &writes[i]),
			  0);
	run_until_idle(ctx);
	for (unsigned i = 0; i < blocks; ++i)
		EXPECT_GT(io_ctx_read(&ctx, fd, back.data() + i * block, block, offset_of(i),
				      record, &reads[i]),
			  0);
	run_until_idle(ctx);
	expect_each_once(writes, block_result);
	expect_each_once(reads, block_result);
	EXPECT_EQ(std::memcmp(data.data(), back.data(), data.size()), 0);
	return stats_of(ctx);
}

// Indices outside the ring (only a stray write of the process's own could put them there) make
// the reap take nothing, rather than copy from beyond the ring.
TEST(CompletionRing, IndicesOutsideTheRingTakeNothing)
{
	for (auto [head, tail] : {std::pair{3u, 20u}, std::pair{12u, 2u}, std::pair{8u, 0u}}) {
		fake_ring ring(8);
		ring.header().head = head;
		ring.header().tail = tail;
		io_event events[8];
		EXPECT_LT(kaio::detail::reap_ring(ring.header(), events, 8), 0)
			<< "head " << head << ", tail " << tail;
		EXPECT_EQ(ring.header().head, head);
	}
}

// The only AIO ring mapped in this process, or null.
aio_ring *only_aio_ring()
{
	std::vector<std::uintptr_t> rings = aio_ring_mappings();
	return rings.size() == 1 ? reinterpret_cast<aio_ring *>(rings.front()) : nullptr;
}

// A context whose ring got a head the kernel would never leave goes on through io_getevents,
// which takes the index modulo the ring's size: every callback runs once.
TEST(CompletionRing, HeadMovedOutsideTheRingFallsBackToIoGetevents)
{
	KAIO_SKIP_ON_URING("io_uring's completion queue is liburing's to read");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	kaio::aligned_buffer data(4096);
	std::vector<completion> reads(4);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 16, nullptr), 0);
	aio_ring *ring = only_aio_ring();
	ASSERT_NE(ring, nullptr);
	for (completion &read : reads) // of an empty file: done within io_submit, left in the ring
		ASSERT_GT(io_ctx_read(&guard.ctx, file.fd(), data.data(), data.size(), 0, record,
				      &read),
			  0);
	ring->head += ring->nr * 1000; // the same slot, modulo the ring's size
	EXPECT_EQ(run_until_idle(guard.ctx), 0);
	expect_each_once(reads, 0);
	EXPECT_GT(stats_of(guard.ctx).getevents_calls, 0u);
}

TEST(CompletionRing, KernelRingIsReapedWithoutSystemCalls)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	context_guard guard;
	ASSERT_EQ(io_ctx_create(&guard.ctx, 16, nullptr), 0);
	io_ctx_stats stats = round_trip(guard.ctx, file.fd(), 64);
	EXPECT_GT(stats.ring_reaps, 0u);
	EXPECT_EQ(stats.getevents_calls, 0u);
}

TEST(CompletionRing, ReapSyscallOptionUsesOnlyIoGetevents)
{
	KAIO_SKIP_ON_URING(
		"io_uring has no io_getevents: its completions are always read in user space");
	KAIO_DIRECT_FILE_OR_SKIP(file);
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_REAP_SYSCALL;
	context_guard guard;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 16, nullptr, &options), 0);
	io_ctx_stats stats = round_trip(guard.ctx, file.fd(), 64);
	EXPECT_EQ(stats.ring_reaps, 0u);
	EXPECT_GT(stats.getevents_calls, 0u);
}

// Every wait is one io_getevents that also reaps; the eventfd is never read.
TEST(CompletionRing, WaitInGeteventsWaitsInsideIoGetevents)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// Overwrites only: appends would detour through the worker threads (-EAGAIN under
	// RWF_NOWAIT), whose completions only the eventfd announces.
	kaio::aligned_buffer existing = patterned(64, 1);
	ASSERT_EQ(::pwrite(file.fd(), existing.data(), existing.size(), 0),
		  static_cast<ssize_t>(existing.size()));
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_WAIT_IN_GETEVENTS;
	context_guard guard;
	ASSERT_EQ(io_ctx_create_opts(&guard.ctx, 16, nullptr, &options), 0);
	io_ctx_stats stats = round_trip(guard.ctx, file.fd(), 64);
	EXPECT_EQ(stats.getevents_calls, stats.waits);
	EXPECT_EQ(stats.eventfd_reads, 0u);
	EXPECT_EQ(stats.completed, 128u);
}

TEST(CompletionRing, WaitInGeteventsWithAWaitCallbackIsRefused)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_WAIT_IN_GETEVENTS;
	context_guard guard;
	EXPECT_EQ(io_ctx_create_opts(&guard.ctx, 16, wait_readable, &options), -EINVAL);
}

} // namespace
