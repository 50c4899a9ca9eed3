// The copy pipeline. Each of up to `iodepth` blocks has its own buffer and cycles through
// read -> write -> next read: a read's completion callback submits the write of the same block,
// and a write's completion starts the block's next read, as libaio's aiocp example does. The
// context thus always holds up to `iodepth` I/Os, and copy() only waits and redraws the bar.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "failure.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"
#include "progress.hpp"
#include "transfer.hpp"

namespace kaio::cp {

class copier {
public:
	// Allocates the buffers and the context; throws failure.
	explicit copier(transfer job);

	// Callbacks hold `this`.
	copier(const copier &) = delete;
	copier &operator=(const copier &) = delete;

	// Copies job.size bytes, the last block whole (so the destination may end up longer: cut it
	// afterwards). Throws failure with the first error, once nothing is in flight any more.
	void copy(progress_bar &bar);

	// fdatasync of the destination, as a request on the context.
	void sync_data();

private:
	struct block {
		kaio::aligned_buffer buffer;
		std::int64_t offset = 0;     // in both files
		std::size_t data_bytes = 0;  // of the file in this block: see data_bytes_at()
		std::size_t io_bytes = 0;    // of the current read or write
		std::size_t transferred = 0; // of io_bytes: short transfers go on from there

		// Where the current transfer is, in the file and in the buffer.
		std::int64_t position() const
		{
			return offset + static_cast<std::int64_t>(transferred);
		}
		std::span<std::byte> rest()
		{
			return buffer.span().subspan(transferred, io_bytes - transferred);
		}
	};

	void start_read(block &next);
	void submit_read(block &pending);
	void on_read(block &current, int result);
	void start_write(block &full);
	void submit_write(block &pending);
	void on_write(block &current, int result);
	void run(progress_bar *bar);
	void fail(const failure &error);
	void throw_first_error() const;

	transfer job_;
	std::vector<block> blocks_;
	std::int64_t next_offset_ = 0;
	std::uint64_t copied_ = 0;
	std::string first_error_; // empty while all goes well; then nothing new is submitted
	kaio::context context_;   // last, so destroyed first: it waits for the I/O on the buffers
};

} // namespace kaio::cp
