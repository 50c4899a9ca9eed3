// A run: one thread per job, all started together, a status line on a terminal while they go.
#pragma once

#include <cstdint>
#include <vector>

#include "clocks.hpp"
#include "job_result.hpp"
#include "job_spec.hpp"
#include "options.hpp"
#include "target_file.hpp"

namespace kaio::bench {

// What job `index` does.
job_spec spec_of(const options &wanted, const target_file &target, unsigned index,
		 std::uint64_t generation);

struct run_outcome {
	std::vector<job_result> jobs;
	double elapsed_s = 0; // from the start of the jobs to the end of the last
	cpu_time process_cpu; // of every thread meanwhile
};

// Creates every job's context and buffers first, so that a shortage (aio-max-nr, memory) is a
// failure before any I/O.
run_outcome run_jobs(const options &wanted, const target_file &target, std::uint64_t generation);

} // namespace kaio::bench
