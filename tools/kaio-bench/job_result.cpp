#include "job_result.hpp"

#include <algorithm>

namespace kaio::bench {
namespace {

void add(kaio::context_stats &sum, const kaio::context_stats &more)
{
	sum.submitted += more.submitted;
	sum.completed += more.completed;
	sum.submit_calls += more.submit_calls;
	sum.getevents_calls += more.getevents_calls;
	sum.ring_reaps += more.ring_reaps;
	sum.eventfd_reads += more.eventfd_reads;
	sum.waits += more.waits;
	sum.worker_requests += more.worker_requests;
	sum.nowait_retries += more.nowait_retries;
	sum.fixed_buffer_requests += more.fixed_buffer_requests;
}

} // namespace

void direction_result::merge(const direction_result &other)
{
	ios += other.ios;
	bytes += other.bytes;
	latency.merge(other.latency);
}

latency_histogram job_result::latency() const
{
	latency_histogram both = read.latency;
	both.merge(write.latency);
	return both;
}

job_result total_of(const std::vector<job_result> &jobs, double elapsed_s)
{
	job_result total;
	total.elapsed_s = elapsed_s;
	for (const job_result &job : jobs) {
		total.read.merge(job.read);
		total.write.merge(job.write);
		total.syncs += job.syncs;
		total.errors += job.errors;
		total.cpu += job.cpu;
		add(total.kaio, job.kaio);
		total.backend = job.backend;
	}
	return total;
}

std::vector<std::uint64_t> written_by_any(const std::vector<job_result> &jobs)
{
	std::vector<std::uint64_t> any;
	for (const job_result &job : jobs) {
		any.resize(std::max(any.size(), job.written_blocks.size()));
		for (std::size_t i = 0; i < job.written_blocks.size(); ++i)
			any[i] |= job.written_blocks[i];
	}
	return any;
}

} // namespace kaio::bench
