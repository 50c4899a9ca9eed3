// What one job does, derived from the options: the engines read nothing else.
#pragma once

#include <cstdint>
#include <limits>

#include "options.hpp"

namespace kaio::bench {

struct job_spec {
	static constexpr std::uint64_t no_io_limit = std::numeric_limits<std::uint64_t>::max();
	static constexpr std::int64_t no_time_limit = std::numeric_limits<std::int64_t>::max();

	unsigned index = 0;
	rw_mode rw = rw_mode::read;
	unsigned rwmixread = 50;
	std::uint64_t bs = 4096;
	std::uint64_t blocks = 0; // of bs bytes, from offset 0
	unsigned iodepth = 1;
	std::uint64_t max_ios = no_io_limit;
	std::int64_t runtime_ns = no_time_limit;
	std::uint64_t fsync_every = 0;
	bool verify = false;
	bool fixedbufs = false;       // kaio: buffers registered with the context
	bool registerfiles = false;   // kaio: the file registered with the context
	std::uint64_t seed = 0;       // of this job's offsets
	std::uint64_t generation = 0; // stamped into what this run writes
};

} // namespace kaio::bench
