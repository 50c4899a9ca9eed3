// The clocks of a benchmark: monotonic time for latencies (one clock_gettime, a vDSO call with
// no system call), and CPU time from getrusage: the calling thread's, or the whole process's.
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

inline cpu_time cpu_time_of(int who) noexcept
{
	rusage usage{};
	::getrusage(who, &usage);
	auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
	return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

inline cpu_time thread_cpu_time() noexcept
{
	return cpu_time_of(RUSAGE_THREAD);
}

// Every thread's: the jobs', kaio's worker threads', the kernel's io_uring workers'.
inline cpu_time process_cpu_time() noexcept
{
	return cpu_time_of(RUSAGE_SELF);
}

inline cpu_time operator-(const cpu_time &end, const cpu_time &start) noexcept
{
	return {end.user_s - start.user_s, end.system_s - start.system_s};
}

} // namespace kaio::bench
