// The kaio engine: iodepth I/Os in flight on one kaio::context. Each completion's callback
// records it and submits the next I/O from the same buffer; kaio sends what the callbacks of one
// process() call submitted in one io_submit. Per I/O: one clock_gettime, nothing else of ours.
#pragma once

#include <cstdint>
#include <vector>

#include "bench_job.hpp"
#include "job_core.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"
#include "unique_fd.hpp"

namespace kaio::bench {

class kaio_job final : public bench_job {
public:
	// The context must hold spec.iodepth requests, and one more for fdatasync with --fsync.
	kaio_job(const job_spec &spec, tools::unique_fd file, kaio::context ctx);

	kaio_job(const kaio_job &) = delete;
	kaio_job &operator=(const kaio_job &) = delete;

	job_result run(job_progress &progress) override;

private:
	// One request's worth of state, reused from each I/O to the next.
	struct slot {
		kaio::aligned_buffer buffer;
		io_request io;
		std::int64_t started_ns = 0;
	};

	void register_buffers();
	void register_file();
	void issue(slot &request, std::int64_t now);
	void completed(slot &request, int result);
	void count_write();
	void issue_sync();
	void synced(int result);

	job_core core_;
	tools::unique_fd file_;
	std::vector<slot> slots_;
	unsigned in_flight_ = 0;
	std::uint64_t writes_since_sync_ = 0;
	bool sync_in_flight_ = false;
	bool sync_due_ = false; // the next fdatasync, held until the one in flight completes
	// Once core_ has handed its result over: the completions that the context's destructor
	// still runs after a failed wait are ignored, not recorded into the moved-from result.
	bool finished_ = false;
	kaio::context ctx_; // last member: destroyed first, while the buffers still exist
};

} // namespace kaio::bench
