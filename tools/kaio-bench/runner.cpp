#include "runner.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>

#include "aio_context.hpp"
#include "bench_job.hpp"
#include "byte_size.hpp"
#include "clocks.hpp"
#include "kaio_job.hpp"
#include "psync_job.hpp"
#include "report.hpp"
#include "status_line.hpp"

namespace kaio::bench {
namespace {

unsigned context_capacity(const job_spec &spec)
{
	bool syncs = spec.fsync_every > 0 && writes_any(spec.rw);
	return std::min<unsigned>(spec.iodepth + (syncs ? 1 : 0), kaio::context::max_capacity);
}

// How the options ask kaio to run. The jobs open the file themselves, with O_DIRECT unless
// --direct=0: then kaio need not check each batch for files that would block.
kaio::context_options tuning_of(const options &wanted)
{
	kaio::context_options tuning;
	tuning.submit_early = wanted.submit == submit_mode::early;
	tuning.wait_in_getevents = wanted.wait == wait_mode::getevents;
	tuning.direct_only = wanted.direct;
	// Each context is used by its job's thread alone (created before, destroyed after, idle).
	tuning.single_thread = true;
	tuning.backend = wanted.backend;
	return tuning;
}

std::vector<std::unique_ptr<bench_job>> make_jobs(const options &wanted, const target_file &target,
						  std::uint64_t generation)
{
	std::vector<job_spec> specs;
	for (unsigned i = 0; i < wanted.numjobs; ++i)
		specs.push_back(spec_of(wanted, target, i, generation));
	std::vector<kaio::context> contexts;
	if (wanted.engine == engine_kind::kaio) {
		std::uint64_t run_needs = std::uint64_t{context_capacity(specs[0])} * specs.size();
		for (const job_spec &spec : specs)
			contexts.push_back(
				open_context(context_capacity(spec), run_needs, tuning_of(wanted)));
	}
	std::vector<std::unique_ptr<bench_job>> jobs;
	for (std::size_t i = 0; i < specs.size(); ++i) {
		tools::unique_fd file = target.open(!reads_only(wanted.rw));
		if (wanted.engine == engine_kind::kaio)
			jobs.push_back(std::make_unique<kaio_job>(specs[i], std::move(file),
								  std::move(contexts[i])));
		else
			jobs.push_back(std::make_unique<psync_job>(specs[i], std::move(file)));
	}
	return jobs;
}

// Counts finished jobs, so the main thread can wake for the status line and for the end.
class finish_line {
public:
	void arrive()
	{
		std::lock_guard lock(mutex_);
		++finished_;
		changed_.notify_one();
	}

	// True when all `total` have arrived; waits at most `timeout` for that.
	bool wait_for(std::size_t total, std::chrono::milliseconds timeout)
	{
		std::unique_lock lock(mutex_);
		return changed_.wait_for(lock, timeout, [&] { return finished_ == total; });
	}

private:
	std::mutex mutex_;
	std::condition_variable changed_;
	std::size_t finished_ = 0;
};

// "elapsed 12s, 41.2k IOPS, 161 MiB/s, ETA 7s", over the interval since the last call.
class progress_text {
public:
	progress_text(const options &wanted, const std::vector<job_progress> &progress)
		: wanted_(wanted), progress_(progress), started_ns_(now_ns()), last_ns_(started_ns_)
	{}

	std::string next()
	{
		std::uint64_t ios = 0, bytes = 0;
		for (const job_progress &job : progress_) {
			ios += job.ios.load(std::memory_order_relaxed);
			bytes += job.bytes.load(std::memory_order_relaxed);
		}
		std::int64_t now = now_ns();
		double interval_s = std::max(double(now - last_ns_) / 1e9, 1e-9);
		double elapsed_s = double(now - started_ns_) / 1e9;
		std::string text =
			fmt::format("elapsed {:.0f}s, {} IOPS, {}/s{}", elapsed_s,
				    count_text(double(ios - last_ios_) / interval_s),
				    tools::format_bytes(double(bytes - last_bytes_) / interval_s),
				    eta(elapsed_s, ios));
		last_ns_ = now;
		last_ios_ = ios;
		last_bytes_ = bytes;
		return text;
	}

private:
	std::string eta(double elapsed_s, std::uint64_t ios) const
	{
		double left_s = 1e300;
		if (std::optional<double> limit = runtime_limit_s(wanted_))
			left_s = *limit - elapsed_s;
		if (wanted_.number_ios && ios > 0) {
			double all = double(*wanted_.number_ios) * wanted_.numjobs;
			left_s = std::min(left_s, (all - double(ios)) * elapsed_s / double(ios));
		}
		return left_s < 1e300 ? fmt::format(", ETA {:.0f}s", std::max(left_s, 0.0)) : "";
	}

	const options &wanted_;
	const std::vector<job_progress> &progress_;
	std::int64_t started_ns_;
	std::int64_t last_ns_;
	std::uint64_t last_ios_ = 0;
	std::uint64_t last_bytes_ = 0;
};

} // namespace

job_spec spec_of(const options &wanted, const target_file &target, unsigned index,
		 std::uint64_t generation)
{
	job_spec spec;
	spec.index = index;
	spec.rw = wanted.rw;
	spec.rwmixread = wanted.rwmixread;
	spec.fixedbufs = wanted.fixedbufs;
	spec.registerfiles = wanted.registerfiles;
	spec.bs = wanted.bs;
	spec.blocks = target.size() / wanted.bs;
	spec.iodepth = wanted.iodepth;
	spec.max_ios = wanted.number_ios.value_or(job_spec::no_io_limit);
	if (std::optional<double> limit = runtime_limit_s(wanted))
		spec.runtime_ns = std::int64_t(*limit * 1e9);
	spec.fsync_every = writes_any(wanted.rw) ? wanted.fsync_every : 0;
	spec.verify = wanted.verify;
	spec.seed = wanted.seed;
	spec.generation = generation;
	return spec;
}

run_outcome run_jobs(const options &wanted, const target_file &target, std::uint64_t generation)
{
	std::vector<std::unique_ptr<bench_job>> jobs = make_jobs(wanted, target, generation);
	run_outcome outcome;
	outcome.jobs.resize(jobs.size());
	std::vector<job_progress> progress(jobs.size());
	std::latch start(1);
	finish_line finish;
	std::atomic<bool> abandoned{false};
	std::vector<std::jthread> threads;
	try {
		for (std::size_t i = 0; i < jobs.size(); ++i)
			threads.emplace_back([&, i] {
				start.wait();
				if (!abandoned)
					outcome.jobs[i] = jobs[i]->run(progress[i]);
				finish.arrive();
				// Its context goes here, after the clocks: an AIO io_destroy waits
				// tens of milliseconds in the kernel, which the jobs then wait in
				// parallel rather than one after another (34 s for 1024 jobs).
				jobs[i].reset();
			});
	} catch (...) {
		// No thread for every job: release those waiting, without running them.
		abandoned = true;
		start.count_down();
		throw;
	}
	tools::status_line status(wanted.format == output_format::normal);
	std::int64_t started = now_ns();
	cpu_time cpu_at_start = process_cpu_time();
	start.count_down();
	progress_text text(wanted, progress);
	while (!finish.wait_for(jobs.size(), std::chrono::milliseconds(250)))
		if (status.due())
			status.show(text.next());
	outcome.elapsed_s = double(now_ns() - started) / 1e9;
	outcome.process_cpu = process_cpu_time() - cpu_at_start;
	status.clear();
	return outcome;
}

} // namespace kaio::bench
