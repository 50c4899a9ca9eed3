// One thread of kaio-stress: its own context (over random_fault_kernel when faults are on) and
// its own blocks of the file, kept busy with a random mix of reads, writes, their vector forms,
// fdsync and cancels at random depths up to the context's capacity, every read checked against
// the generations the block may hold.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/random_fault_kernel.hpp"

namespace kaio::stress {

struct worker_settings {
	int fd = -1;
	std::uint64_t first_block = 0; // the worker's blocks: [first_block, first_block + blocks)
	std::uint64_t blocks = 0;
	int depth = 32; // the context's capacity
	std::chrono::steady_clock::time_point deadline;
	double fault_rate = 0; // 0: the real kernel alone
	std::uint64_t seed = 0;
};

struct stress_counts {
	unsigned long long reads = 0, writes = 0, readvs = 0, writevs = 0, fdsyncs = 0;
	unsigned long long cancels = 0, cancels_stopped = 0, refused = 0;
	unsigned long long faults = 0;
	unsigned long long on_uring = 0;      // workers whose context runs on io_uring
	unsigned long long eventfd_waits = 0; // see stress_worker::waits_in_kernel_
	unsigned long long mismatches = 0;    // data that is not what was written
	unsigned long long broken = 0;        // a callback lost or run twice, a wrong answer
	unsigned long long errors = 0;        // failures with no fault injected

	unsigned long long ops() const { return reads + writes + readvs + writevs + fdsyncs; }
	void add(const stress_counts &other);
};

class stress_worker {
public:
	explicit stress_worker(const worker_settings &settings);
	stress_counts run();

private:
	enum class kind { read, write, readv, writev, fdsync };
	struct op {
		stress_worker *worker = nullptr;
		kind what = kind::read;
		std::uint64_t block = 0;
		std::uint64_t generation = 0;
		int key = 0;
		int result = 0;
		bool live = false;
		kaio::aligned_buffer buffer;
	};
	struct block_state {
		std::vector<std::uint64_t> generations{0}; // what it may hold
		bool busy = false;
	};

	bool create_context();
	bool run_ready();
	bool wait_on_eventfd();
	void submit_random();
	void cancel_random();
	void complete(op &request, int result);
	void check_read(const op &request, int result);
	void verify_file();
	std::uint64_t offset_of(std::uint64_t block) const;
	std::uint64_t below(std::uint64_t bound);
	static void on_complete(int result, void *data);

	worker_settings settings_;
	std::mt19937_64 random_;
	std::unique_ptr<kaio::testing::random_fault_kernel> kernel_;
	io_ctx ctx_{};
	// Without faults, the workers of odd seeds wait in io_getevents (IO_CTX_WAIT_IN_GETEVENTS)
	// and at a random moment start driving the context as an event loop would: the eventfd,
	// asked for late, must announce every completion, those of requests sent before included.
	// (The fault seam's short io_getevents leaves events in the ring unannounced: not with
	// faults.)
	bool waits_in_kernel_ = false;
	int eventfd_ = -1;
	std::vector<op> ops_;
	std::vector<op *> free_ops_;
	std::vector<block_state> blocks_;
	std::uint64_t next_generation_ = 1;
	int live_ = 0;
	stress_counts counts_;
};

} // namespace kaio::stress
