// What the copy and verify pipelines work on (two open files, a length, blocks of a size, so
// many at once) and the resources they take, with failures that say what ran out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"

namespace kaio::cp {

struct file_end {
	int fd = -1;
	std::string path;
};

struct transfer {
	file_end source;
	file_end destination;
	std::uint64_t size = 0;
	std::size_t block_size = 0;
	int iodepth = 0;
};

// The bytes of the file in the block at `offset`: the block size, but at the end.
std::size_t data_bytes_at(const transfer &job, std::int64_t offset);

// Whether a short O_DIRECT transfer of `result` bytes may go on with the rest: only from a
// sector boundary, and only when it moved anything (else the file ended, or is full).
bool can_resume(int result, std::size_t transferred);

// How many blocks the pipeline needs: `iodepth`, or fewer for a short file, and at least one.
int blocks_needed(const transfer &job);

// A context for `capacity` requests; throws failure (aio-max-nr exhausted, ...).
kaio::context make_context(int capacity);

// Throws failure when the pipeline's buffers, `buffers_per_block` per block in flight, would
// need more than the machine's memory: each is filled at once, so the out-of-memory killer,
// not a message, would stop the copy.
void check_buffer_memory(const transfer &job, int buffers_per_block);

// A zeroed O_DIRECT buffer of `size` bytes; throws failure when memory runs out.
kaio::aligned_buffer make_buffer(std::size_t size);

} // namespace kaio::cp
