// What a job measured, and the sum of several jobs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clocks.hpp"
#include "kaio/operation.hpp"
#include "latency_histogram.hpp"

namespace kaio::bench {

struct direction_result {
	std::uint64_t ios = 0;
	std::uint64_t bytes = 0;
	latency_histogram latency;

	void merge(const direction_result &other);
};

struct job_result {
	// Error messages kept per job; the count goes on.
	static constexpr std::size_t kept_messages = 10;

	unsigned index = 0;
	direction_result read;
	direction_result write;
	std::uint64_t syncs = 0;
	std::uint64_t errors = 0;
	std::vector<std::string> messages; // "read at offset 4096: Input/output error"
	double elapsed_s = 0;
	cpu_time cpu;
	kaio::context_stats kaio; // zero for the psync engine
	kaio::backend backend =
		kaio::backend::from_environment;   // kaio: the one the context runs on
	std::vector<std::uint64_t> written_blocks; // a bitmap, with --verify

	std::uint64_t ios() const noexcept { return read.ios + write.ios; }
	std::uint64_t bytes() const noexcept { return read.bytes + write.bytes; }
	latency_histogram latency() const;
};

// The jobs together, over the run's wall time.
job_result total_of(const std::vector<job_result> &jobs, double elapsed_s);

// Every block some job wrote.
std::vector<std::uint64_t> written_by_any(const std::vector<job_result> &jobs);

} // namespace kaio::bench
