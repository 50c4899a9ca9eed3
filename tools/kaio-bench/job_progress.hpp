// A job's running totals, published for the status line: relaxed stores by the job's thread,
// loads by the main thread, no lock.
#pragma once

#include <atomic>
#include <cstdint>

namespace kaio::bench {

struct job_progress {
	std::atomic<std::uint64_t> ios{0};
	std::atomic<std::uint64_t> bytes{0};
};

} // namespace kaio::bench
