// The I/Os of one job, in order: sequential offsets wrapping at the end of the file, or random
// ones from a seeded generator so that runs repeat; reads or writes as --rw and --rwmixread say.
#pragma once

#include <cstdint>

#include "job_spec.hpp"

namespace kaio::bench {

struct io_request {
	std::uint64_t offset = 0;
	bool write = false;
};

class workload {
public:
	explicit workload(const job_spec &spec) noexcept;

	io_request next() noexcept;
	// How many next() has handed out.
	std::uint64_t issued() const noexcept { return issued_; }

private:
	std::uint64_t random() noexcept;
	std::uint64_t next_block() noexcept;
	bool next_is_write() noexcept;

	rw_mode rw_;
	unsigned rwmixread_;
	std::uint64_t bs_;
	std::uint64_t blocks_;
	std::uint64_t cursor_ = 0; // sequential modes: the next block
	std::uint64_t state_;      // random modes: splitmix64's state
	std::uint64_t issued_ = 0;
};

} // namespace kaio::bench
