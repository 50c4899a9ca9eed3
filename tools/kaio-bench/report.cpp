#include "report.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <array>

#include "byte_size.hpp"
#include "kaio/version.h"

namespace kaio::bench {
namespace {

using json = nlohmann::ordered_json;

struct percentile_point {
	const char *label; // as printed
	const char *key;   // in JSON
	double percent;
};

constexpr std::array percentile_points{
	percentile_point{"p50", "p50", 50},         percentile_point{"p90", "p90", 90},
	percentile_point{"p99", "p99", 99},         percentile_point{"p99.9", "p999", 99.9},
	percentile_point{"p99.99", "p9999", 99.99},
};

double per_second(std::uint64_t count, double elapsed_s)
{
	return elapsed_s > 0 ? double(count) / elapsed_s : 0;
}

double process_cpu_us_per_io(const run_summary &summary)
{
	std::uint64_t ios = summary.total.ios();
	return ios > 0 ? summary.process_cpu.total_s() * 1e6 / double(ios) : 0;
}

double cpu_us_per_io(const job_result &job)
{
	return job.ios() > 0 ? job.cpu.total_s() * 1e6 / double(job.ios()) : 0;
}

double per_io(std::uint64_t calls, const job_result &job)
{
	return job.ios() > 0 ? double(calls) / double(job.ios()) : 0;
}

// The share of the job's requests, its fdatasyncs included, that kaio's workers ran.
double worker_share(const job_result &job)
{
	std::uint64_t requests = job.ios() + job.syncs;
	return requests > 0 ? double(job.kaio.worker_requests) / double(requests) : 0;
}

// --- text ---------------------------------------------------------------------------------

// Three significant digits or the whole number: 0.97, 31.2, 214, 4601.
std::string number_text(double value)
{
	int decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2;
	return fmt::format("{:.{}f}", value, decimals);
}

struct time_unit {
	const char *name;
	double ns;
};

// fio's choice: the unit that keeps the typical latency a small number.
time_unit unit_for(std::uint64_t typical_ns)
{
	if (typical_ns < 10'000)
		return {"nsec", 1};
	if (typical_ns < 10'000'000)
		return {"usec", 1e3};
	return {"msec", 1e6};
}

std::string latency_text(const latency_histogram &latency)
{
	time_unit unit = unit_for(latency.percentile(50));
	auto in_unit = [&](double ns) { return number_text(ns / unit.ns); };
	std::string text = fmt::format("    lat ({}): min={}, max={}, avg={}\n", unit.name,
				       in_unit(double(latency.min())),
				       in_unit(double(latency.max())), in_unit(latency.mean()));
	text += fmt::format("    lat percentiles ({}):", unit.name);
	for (const percentile_point &point : percentile_points)
		text += fmt::format("{} {}={}", &point == percentile_points.data() ? "" : ",",
				    point.label,
				    in_unit(double(latency.percentile(point.percent))));
	return text + "\n";
}

std::string direction_text(const char *name, const direction_result &direction, double elapsed_s)
{
	return fmt::format("  {}: IOPS={}, BW={}/s ({} in {:.2f}s)\n", name,
			   count_text(per_second(direction.ios, elapsed_s)),
			   tools::format_bytes(per_second(direction.bytes, elapsed_s)),
			   tools::format_bytes(double(direction.bytes)), elapsed_s) +
	       latency_text(direction.latency);
}

std::string job_text(const std::string &title, const job_result &job, const options &wanted)
{
	std::string text = fmt::format("{}: ios={}, errors={}, elapsed={:.2f}s\n", title, job.ios(),
				       job.errors, job.elapsed_s);
	if (!writes_any(wanted.rw) || job.read.ios > 0)
		text += direction_text("read", job.read, job.elapsed_s);
	if (writes_any(wanted.rw))
		text += direction_text("write", job.write, job.elapsed_s);
	if (job.syncs > 0)
		text += fmt::format("  fdatasync: {} calls\n", job.syncs);
	// kaio's worker threads are not the job's: say so where they did some of its work.
	std::string unmeasured = wanted.engine == engine_kind::kaio && job.kaio.worker_requests > 0
					 ? fmt::format(" (the job's thread only: worker threads "
						       "ran {:.0f}% of the requests)",
						       100 * worker_share(job))
					 : "";
	text += fmt::format("  cpu: user={:.2f}s, sys={:.2f}s, {:.2f} usec per I/O{}\n",
			    job.cpu.user_s, job.cpu.system_s, cpu_us_per_io(job), unmeasured);
	if (wanted.engine == engine_kind::kaio)
		text += fmt::format(
			"  kaio: io_submit per I/O={:.3f}, io_getevents per I/O={:.3f}, "
			"ring reaps per I/O={:.3f}, eventfd reads={}, waits={}, worker "
			"share={:.3f} "
			"(nowait retries {})\n",
			per_io(job.kaio.submit_calls, job), per_io(job.kaio.getevents_calls, job),
			per_io(job.kaio.ring_reaps, job), job.kaio.eventfd_reads, job.kaio.waits,
			worker_share(job), job.kaio.nowait_retries);
	return text;
}

std::string header_text(const run_summary &summary)
{
	const options &wanted = summary.wanted;
	std::string mix =
		wanted.rw == rw_mode::randrw ? fmt::format(" rwmixread={}", wanted.rwmixread) : "";
	std::string submit = wanted.engine == engine_kind::kaio
				     ? fmt::format(" backend={}{}{} submit={} wait={}",
						   name_of(summary.total.backend),
						   wanted.fixedbufs ? " fixedbufs" : "",
						   wanted.registerfiles ? " registerfiles" : "",
						   name_of(wanted.submit), name_of(wanted.wait))
				     : "";
	return fmt::format("kaio-bench {}: rw={}{} bs={} iodepth={} numjobs={} engine={}{} size={} "
			   "filename={}\n",
			   KAIO_VERSION_STRING, name_of(wanted.rw), mix,
			   tools::format_bytes(double(wanted.bs)), wanted.iodepth, wanted.numjobs,
			   name_of(wanted.engine), submit,
			   tools::format_bytes(double(summary.size)), wanted.filename);
}

// --- JSON ---------------------------------------------------------------------------------

json latency_json(const latency_histogram &latency)
{
	json out{{"mean", latency.mean()}, {"min", latency.min()}, {"max", latency.max()}};
	for (const percentile_point &point : percentile_points)
		out[point.key] = latency.percentile(point.percent);
	return out;
}

json direction_json(const direction_result &direction, double elapsed_s)
{
	return {{"ios", direction.ios},
		{"bytes", direction.bytes},
		{"iops", per_second(direction.ios, elapsed_s)},
		{"bw_bytes", per_second(direction.bytes, elapsed_s)},
		{"lat_ns", latency_json(direction.latency)}};
}

// The keys a job and the total share.
void add_results(json &out, const job_result &job)
{
	out["ios"] = job.ios();
	out["bytes"] = job.bytes();
	out["errors"] = job.errors;
	out["syncs"] = job.syncs;
	out["elapsed_s"] = job.elapsed_s;
	out["iops"] = per_second(job.ios(), job.elapsed_s);
	out["bw_bytes"] = per_second(job.bytes(), job.elapsed_s);
	out["lat_ns"] = latency_json(job.latency());
	out["read"] = direction_json(job.read, job.elapsed_s);
	out["write"] = direction_json(job.write, job.elapsed_s);
	out["cpu"] = {{"user_s", job.cpu.user_s}, {"system_s", job.cpu.system_s}};
	out["cpu_us_per_io"] = cpu_us_per_io(job);
	out["kaio"] = {{"submit_calls", job.kaio.submit_calls},
		       {"getevents_calls", job.kaio.getevents_calls},
		       {"ring_reaps", job.kaio.ring_reaps},
		       {"eventfd_reads", job.kaio.eventfd_reads},
		       {"waits", job.kaio.waits},
		       {"worker_requests", job.kaio.worker_requests},
		       {"nowait_retries", job.kaio.nowait_retries},
		       {"fixed_buffer_requests", job.kaio.fixed_buffer_requests}};
}

json options_json(const run_summary &summary)
{
	const options &wanted = summary.wanted;
	std::optional<double> runtime = runtime_limit_s(wanted);
	return {{"version", KAIO_VERSION_STRING},
		{"filename", wanted.filename},
		{"size", summary.size},
		{"rw", name_of(wanted.rw)},
		{"rwmixread", wanted.rwmixread},
		{"bs", wanted.bs},
		{"iodepth", wanted.iodepth},
		{"numjobs", wanted.numjobs},
		{"engine", name_of(wanted.engine)},
		{"submit", name_of(wanted.submit)},
		{"wait", name_of(wanted.wait)},
		{"backend", wanted.engine == engine_kind::kaio
				    ? json(name_of(summary.total.backend))
				    : json(nullptr)},
		{"fixedbufs", wanted.fixedbufs},
		{"registerfiles", wanted.registerfiles},
		{"runtime_s", runtime ? json(*runtime) : json(nullptr)},
		{"number_ios", wanted.number_ios ? json(*wanted.number_ios) : json(nullptr)},
		{"fsync", wanted.fsync_every},
		{"verify", wanted.verify},
		{"direct", wanted.direct},
		{"seed", wanted.seed}};
}

} // namespace

std::string count_text(double value)
{
	// Three digits: a value that would round up to 1000 of a unit takes the next one, where
	// {:.3g} would write 1e+03.
	if (value < 999.5)
		return fmt::format("{:.0f}", value);
	if (value < 999.5e3)
		return fmt::format("{:.3g}k", value / 1e3);
	return fmt::format("{:.3g}M", value / 1e6);
}

std::uint64_t run_summary::errors() const noexcept
{
	return total.errors + (verified ? verified->errors : 0);
}

std::string normal_report(const run_summary &summary)
{
	std::string text = header_text(summary);
	for (const job_result &job : summary.jobs)
		text += job_text(fmt::format("job {}", job.index), job, summary.wanted);
	if (summary.jobs.size() > 1)
		text += job_text(fmt::format("total ({} jobs)", summary.jobs.size()), summary.total,
				 summary.wanted);
	text += fmt::format("process cpu: user={:.2f}s, sys={:.2f}s, {:.2f} usec per I/O (every "
			    "thread: the jobs', kaio's workers', io_uring's)\n",
			    summary.process_cpu.user_s, summary.process_cpu.system_s,
			    process_cpu_us_per_io(summary));
	if (summary.verified)
		text += fmt::format("verify: {} blocks checked, {} errors\n",
				    summary.verified->blocks, summary.verified->errors);
	return text;
}

std::string json_report(const run_summary &summary)
{
	json out = options_json(summary);
	add_results(out, summary.total);
	out["errors"] = summary.errors();
	out["process_cpu"] = {{"user_s", summary.process_cpu.user_s},
			      {"system_s", summary.process_cpu.system_s}};
	out["process_cpu_us_per_io"] = process_cpu_us_per_io(summary);
	out["verify_result"] = summary.verified ? json{{"blocks", summary.verified->blocks},
						       {"errors", summary.verified->errors}}
						: json(nullptr);
	json jobs = json::array();
	for (const job_result &job : summary.jobs) {
		json entry{{"job", job.index}};
		add_results(entry, job);
		jobs.push_back(std::move(entry));
	}
	out["jobs"] = std::move(jobs);
	// A filename is bytes, a JSON string UTF-8: replace what is not, rather than throw.
	return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace kaio::bench
