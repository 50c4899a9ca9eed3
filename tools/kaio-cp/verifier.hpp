// --verify: reads both files back with O_DIRECT, up to `iodepth` reads in flight (a source and
// a destination read per block), and finds the first offset where they differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "failure.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"
#include "progress.hpp"
#include "transfer.hpp"

namespace kaio::cp {

class verifier {
public:
	// Allocates the buffers and the context; throws failure.
	explicit verifier(transfer job);

	// Callbacks hold `this`.
	verifier(const verifier &) = delete;
	verifier &operator=(const verifier &) = delete;

	// The first offset below job.size where the files differ, or nothing when they are the
	// same. Throws failure on a read error, once nothing is in flight any more.
	std::optional<std::uint64_t> first_difference(progress_bar &bar);

private:
	struct side {
		const file_end *file = nullptr;
		kaio::aligned_buffer buffer;
		std::size_t received = 0; // bytes read into the buffer
	};

	struct block_pair {
		side source;
		side destination;
		std::int64_t offset = 0;
		std::size_t data_bytes = 0; // expected from each file
		int reading = 0;            // sides still in flight
	};

	void start(block_pair &next);
	void submit_read(block_pair &pair, side &half);
	void on_read(block_pair &pair, side &half, int result);
	void compare(const block_pair &pair);
	void fail(const failure &error);

	transfer job_;
	std::vector<block_pair> pairs_;
	std::int64_t next_offset_ = 0;
	std::uint64_t compared_ = 0;
	std::optional<std::uint64_t> difference_; // the lowest so far: no block past it is started
	std::string first_error_;
	kaio::context context_; // last, so destroyed first: it waits for the I/O on the buffers
};

} // namespace kaio::cp
