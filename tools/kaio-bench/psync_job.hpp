// The baseline engine: one blocking pread or pwrite at a time, as fio's psync does. --iodepth
// does not apply; --numjobs gives it parallelism.
#pragma once

#include <cstdint>

#include "bench_job.hpp"
#include "job_core.hpp"
#include "kaio/aligned_buffer.hpp"
#include "unique_fd.hpp"

namespace kaio::bench {

class psync_job final : public bench_job {
public:
	psync_job(const job_spec &spec, tools::unique_fd file);

	job_result run(job_progress &progress) override;

private:
	// Bytes transferred, or a negative errno.
	int transfer(const io_request &io);
	void count_write();

	job_core core_;
	tools::unique_fd file_;
	kaio::aligned_buffer buffer_;
	std::uint64_t writes_since_sync_ = 0;
};

} // namespace kaio::bench
