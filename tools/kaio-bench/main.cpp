// kaio-bench: a storage benchmark in the manner of fio, over kaio's C++ API.
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <variant>

#include "block_stamp.hpp"
#include "descriptor_limit.hpp"
#include "failure.hpp"
#include "layout.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "target_file.hpp"
#include "verify_pass.hpp"

namespace kaio::bench {
namespace {

void print_errors(const std::vector<std::string> &messages, std::uint64_t count)
{
	for (const std::string &message : messages)
		fmt::print(stderr, "kaio-bench: {}\n", message);
	if (count > messages.size())
		fmt::print(stderr, "kaio-bench: ... and {} more errors\n", count - messages.size());
}

int run(const options &wanted)
{
	target_file target = target_file::resolve(wanted);
	bool interactive = wanted.format == output_format::normal;
	if (target.needs_layout())
		lay_out(target, interactive, wanted.backend);
	std::uint64_t generation = new_generation();
	run_outcome outcome = run_jobs(wanted, target, generation);
	run_summary summary{wanted, target.size(), std::move(outcome.jobs),
			    {},     std::nullopt,  outcome.process_cpu};
	summary.total = total_of(summary.jobs, outcome.elapsed_s);
	if (wanted.verify && writes_any(wanted.rw))
		summary.verified = verify_written(target, spec_of(wanted, target, 0, generation),
						  written_by_any(summary.jobs), wanted.backend);
	for (const job_result &job : summary.jobs)
		print_errors(job.messages, job.errors);
	if (summary.verified)
		print_errors(summary.verified->messages, summary.verified->errors);
	std::string report = interactive ? normal_report(summary) : json_report(summary);
	// A report lost to a full disk is a failure, not a silent success.
	if (std::fputs(report.c_str(), stdout) == EOF || std::fflush(stdout) == EOF)
		throw run_failure("cannot write the report: " + reason_of(errno));
	return summary.errors() > 0 ? exit_failure : 0;
}

} // namespace
} // namespace kaio::bench

int main(int argc, char **argv)
{
	using namespace kaio::bench;
	auto parsed = parse_options(argc, argv);
	if (const early_exit *done = std::get_if<early_exit>(&parsed)) {
		if (done->status != 0) {
			fmt::print(stderr, "kaio-bench: {}\n", done->text);
			return done->status;
		}
		fmt::print("{}{}", done->text, done->text.ends_with('\n') ? "" : "\n");
		// --help or --version lost to a full disk is a failure, as a lost report is.
		if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
			fmt::print(stderr, "kaio-bench: cannot write to standard output: {}\n",
				   reason_of(errno));
			return exit_failure;
		}
		return 0;
	}
	kaio::tools::raise_descriptor_limit();
	try {
		return run(std::get<options>(parsed));
	} catch (const failure &stop) {
		fmt::print(stderr, "kaio-bench: {}\n", stop.what());
		return stop.status();
	} catch (const std::exception &unexpected) {
		fmt::print(stderr, "kaio-bench: {}\n", unexpected.what());
		return exit_failure;
	}
}
