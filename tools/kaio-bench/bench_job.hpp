// One job of a run, on its own thread, whichever engine moves its bytes.
#pragma once

#include "job_progress.hpp"
#include "job_result.hpp"

namespace kaio::bench {

class bench_job {
public:
	virtual ~bench_job() = default;

	// Runs until the limits are reached or an I/O fails, and says what happened.
	virtual job_result run(job_progress &progress) = 0;
};

} // namespace kaio::bench
