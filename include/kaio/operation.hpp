// One I/O request as the C++ API describes it to the core: what to do, on which file, where.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace kaio {

enum class opcode : std::uint8_t { read, write, readv, writev, fsync, fdsync };

struct operation {
	opcode op = opcode::read;
	int fd = -1;
	void *buffer = nullptr;     // read, write
	std::size_t length = 0;     // read, write
	const iovec *iov = nullptr; // readv, writev: copied at submission
	int iovcnt = 0;             // readv, writev
	long long offset = 0;       // all but fsync and fdsync
};

// The kernel interface under a context; the values of IO_CTX_BACKEND_*.
enum class backend : unsigned {
	from_environment = 0, // KAIO_BACKEND, else aio
	aio = 1,
	uring = 2,
	automatic = 3, // uring when the kernel allows it, else aio
};

// Counters since a context's creation; see struct io_ctx_stats.
struct context_stats {
	std::uint64_t submitted = 0;
	std::uint64_t completed = 0;
	std::uint64_t submit_calls = 0;
	std::uint64_t getevents_calls = 0;
	std::uint64_t ring_reaps = 0;
	std::uint64_t eventfd_reads = 0;
	std::uint64_t waits = 0;
	// Run by a worker thread: AIO would have blocked; on io_uring, sent to its workers
	// (IOSQE_ASYNC: files that a FUSE daemon serves).
	std::uint64_t worker_requests = 0;
	// Of those, direct I/O the kernel would have blocked on under RWF_NOWAIT (-EAGAIN, or a
	// transfer it stopped short), run on by a worker.
	std::uint64_t nowait_retries = 0;
	// RWF_NOWAIT refused (EOPNOTSUPP, by io_submit or in a completion): one per file system and
	// direction.
	std::uint64_t nowait_refusals = 0;
	std::uint64_t fixed_buffer_requests = 0;
	unsigned in_kernel = 0;
	unsigned queued = 0;
};

} // namespace kaio
