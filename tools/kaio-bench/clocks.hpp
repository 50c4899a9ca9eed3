// The two clocks of a benchmark: monotonic time for latencies (one clock_gettime, a vDSO call
// with no system call), and the calling thread's CPU time from getrusage.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <cstdint>

namespace kaio::bench {

inline std::int64_t now_ns() noexcept
{
	timespec now{};
	::clock_gettime(CLOCK_MONOTONIC, &now);
	return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

struct cpu_time {
	double user_s = 0;
	double system_s = 0;

	double total_s() const noexcept { return user_s + system_s; }

	cpu_time &operator+=(const cpu_time &other) noexcept
	{
		user_s += other.user_s;
		system_s += other.system_s;
		return *this;
	}
};

inline cpu_time thread_cpu_time() noexcept
{
	rusage usage{};
	::getrusage(RUSAGE_THREAD, &usage);
	auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
	return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

inline cpu_time operator-(const cpu_time &end, const cpu_time &start) noexcept
{
	return {end.user_s - start.user_s, end.system_s - start.system_s};
}

} // namespace kaio::bench
