// Independent contexts share nothing: threads, each with its own context and file, run at once.
// Also run under ThreadSanitizer, which reports any state the contexts do share.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/direct_file.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr unsigned threads = 4;
constexpr unsigned blocks = 64;
constexpr unsigned rounds = 4;
constexpr int capacity = 8; // well below `blocks`: submissions wait for free slots

// What one thread saw, checked by the main thread once all have joined.
struct outcome {
	int create_result = 1;
	int failed_submissions = 0;
	int wrong_callbacks = 0; // not exactly once with the full block
	int mismatched_blocks = 0;
	int process_result = 1;
	unsigned long long completed = 0;
};

// Writes the whole file, reads it back and compares, `rounds` times with new contents.
void exercise(int fd, unsigned thread, outcome &out)
{
	io_ctx ctx{};
	out.create_result = io_ctx_create(&ctx, capacity, nullptr);
	if (out.create_result != 0)
		return;
	// Outlive every request, even if a process() failed and destroy has to finish them.
	aligned_buffer written(blocks * block);
	aligned_buffer read(blocks * block);
	std::vector<completion> records(blocks);
	for (unsigned round = 0; round < rounds && out.process_result >= 0; ++round) {
		for (unsigned i = 0; i < blocks; ++i)
			fill_block(written.data() + i * block,
				   (thread * rounds + round) * blocks + i);
		std::memset(read.data(), 0, read.size());
		for (int pass = 0; pass < 2; ++pass) {
			records.assign(blocks, completion{});
			auto submit = pass == 0 ? io_ctx_write : io_ctx_read;
			std::byte *buffer = pass == 0 ? written.data() : read.data();
			for (unsigned i = 0; i < blocks; ++i) {
				int key = submit(&ctx, fd, buffer + i * block, block, offset_of(i),
						 record, &records[i]);
				if (key <= 0)
					++out.failed_submissions;
			}
			while ((out.process_result = io_ctx_process(&ctx)) > 0) {
			}
			for (const completion &r : records) {
				if (r.calls != 1 || r.result != static_cast<int>(block))
					++out.wrong_callbacks;
			}
		}
		for (unsigned i = 0; i < blocks; ++i) {
			std::size_t at = i * block;
			if (std::memcmp(read.data() + at, written.data() + at, block) != 0)
				++out.mismatched_blocks;
		}
	}
	io_ctx_stats stats{};
	if (io_ctx_get_stats(&ctx, &stats) == 0)
		out.completed = stats.completed;
	io_ctx_destroy(&ctx);
}

TEST(Threads, ContextsOfTheirOwnWorkAtOnceWithoutInterference)
{
	std::array<direct_file, threads> files;
	if (!files[0].unusable_reason().empty())
		GTEST_SKIP() << files[0].unusable_reason();
	for (const direct_file &file : files)
		ASSERT_GE(file.fd(), 0) << file.unusable_reason();
	std::array<outcome, threads> outcomes;
	std::vector<std::thread> workers;
	for (unsigned t = 0; t < threads; ++t)
		workers.emplace_back(exercise, files[t].fd(), t, std::ref(outcomes[t]));
	for (std::thread &worker : workers)
		worker.join();

	for (unsigned t = 0; t < threads; ++t) {
		const outcome &out = outcomes[t];
		EXPECT_EQ(out.create_result, 0) << "thread " << t;
		EXPECT_EQ(out.failed_submissions, 0) << "thread " << t;
		EXPECT_EQ(out.process_result, 0) << "thread " << t;
		EXPECT_EQ(out.wrong_callbacks, 0) << "thread " << t;
		EXPECT_EQ(out.mismatched_blocks, 0) << "thread " << t;
		EXPECT_EQ(out.completed, 2ull * blocks * rounds) << "thread " << t;
	}
}

} // namespace
