// What both engines share: the next I/O, its stamps under --verify, the accounting of each
// completion (latency, bytes, errors, checks), and when to stop. An engine only moves the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "job_progress.hpp"
#include "job_result.hpp"
#include "job_spec.hpp"
#include "kaio/aligned_buffer.hpp"
#include "workload.hpp"

namespace kaio::bench {

class job_core {
public:
	explicit job_core(const job_spec &spec);

	const job_spec &spec() const noexcept { return spec_; }

	// A buffer for one I/O: filled with noise once, so writes without --verify carry data that
	// no device could compress or skip; with randrw, until a read of the buffer brings in
	// a block, which later writes from it then carry.
	kaio::aligned_buffer make_buffer() const;

	// The clock and the CPU time count from here.
	void start();
	// False once an error happened, the I/Os are all issued, or the time is up.
	bool keep_going(std::int64_t now_ns) const noexcept;

	// The next I/O; a write's buffer is stamped first under --verify.
	io_request next(std::span<std::byte> buffer) noexcept;

	// Accounts for a finished I/O (`result`: bytes or a negative errno). False on an error.
	bool complete(const io_request &io, int result, std::int64_t latency_ns,
		      std::span<const std::byte> buffer);
	// A submission the engine could not make.
	void refused(const io_request &io, int error);
	void synced(int result);
	// The engine could not wait for its completions.
	void wait_failed(int error);

	void publish(job_progress &progress) const noexcept;
	job_result finish(const kaio::context_stats &stats);

private:
	void fail(std::string message);
	void mark_written(std::uint64_t offset) noexcept;

	job_spec spec_;
	workload workload_;
	job_result result_;
	bool check_reads_;
	std::int64_t started_ns_ = 0;
	std::int64_t deadline_ns_ = job_spec::no_time_limit;
	cpu_time cpu_at_start_;
};

} // namespace kaio::bench
