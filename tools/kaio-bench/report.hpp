// The results, as fio users read them: a text report per job and for all jobs together, or one
// JSON document whose keys are documented in kaio-bench(1) and stay stable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clocks.hpp"
#include "job_result.hpp"
#include "options.hpp"
#include "verify_pass.hpp"

namespace kaio::bench {

struct run_summary {
	options wanted;
	std::uint64_t size = 0; // of the file or device used
	std::vector<job_result> jobs;
	job_result total;
	std::optional<verify_outcome> verified; // after a run that wrote, under --verify
	// Of every thread while the jobs ran; a job's own cpu is its thread's alone.
	cpu_time process_cpu;

	std::uint64_t errors() const noexcept;
};

// 41234 -> "41.2k", as fio prints IOPS.
std::string count_text(double value);

std::string normal_report(const run_summary &summary);
std::string json_report(const run_summary &summary);

} // namespace kaio::bench
