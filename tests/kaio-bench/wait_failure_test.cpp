// A wait for completions that fails while I/Os are in flight: strace makes poll(2) answer ENOMEM
// (kaio's kernel seam cannot reach into another process). kaio-bench must name the failure and
// exit 1, neither crashing nor reading on while the context drains what was in flight.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bench_command.hpp"
#include "support/direct_file.hpp"

namespace kaio::testing {
namespace {

constexpr const char *failed_wait = "kaio-bench: waiting for completions: Cannot allocate memory\n";

// Empty when strace can trace here, else why not.
std::string strace_unusable()
{
	command_result probe = run_command("strace -qq -o /dev/null true");
	if (probe.exit_status == 0)
		return {};
	return "strace is missing or cannot trace here: " + probe.output;
}

std::filesystem::path trace_of(const direct_file &file)
{
	return file.directory() / "strace.out";
}

std::string on(const direct_file &file)
{
	return "--filename=" + shell_quoted(file.path()) + " --size=8m --bs=4k --backend=aio ";
}

// kaio-bench on `file`, laid out beforehand so that only the run polls, with the poll(2) calls
// of each thread that strace's `when` names failing ("1": the first, "1+": every one); its poll
// and io_submit calls go to trace_of(file).
command_result run_bench_failing_poll(const direct_file &file, const std::string &when,
				      const std::string &arguments)
{
	command_result layout = run_bench(on(file) + "--number_ios=1");
	if (layout.exit_status != 0)
		return layout;
	return run_command("strace -f -qq -o " + shell_quoted(trace_of(file)) +
			   " -e trace=poll,io_submit -e inject=poll:error=ENOMEM:when=" + when +
			   " " + shell_quoted(KAIO_BENCH) + " " + on(file) + arguments);
}

// The io_submit calls traced after the injected failure.
int submits_after_the_failure(const std::filesystem::path &trace)
{
	std::ifstream lines(trace);
	bool failed = false;
	int submits = 0;
	for (std::string line; std::getline(lines, line);) {
		if (line.find("(INJECTED)") != std::string::npos)
			failed = true;
		else if (failed && line.find("io_submit(") != std::string::npos)
			++submits;
	}
	return submits;
}

TEST(BenchWaitFailure, RunNamesTheFailedWaitAndExitsOne)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	if (std::string why = strace_unusable(); !why.empty())
		GTEST_SKIP() << why;
	// The job waits in poll(2) only when requests are in the kernel, and every wait fails:
	// under strace a run may wait only once (the disk keeps up with the traced job).
	command_result result = run_bench_failing_poll(
		file, "1+", "--rw=randread --iodepth=32 --wait=poll --number_ios=20000");
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_NE(result.output.find(failed_wait), std::string::npos) << result.output;
}

TEST(BenchWaitFailure, VerifyPassStopsReadingAfterAFailedWait)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	if (std::string why = strace_unusable(); !why.empty())
		GTEST_SKIP() << why;
	// The run waits in io_getevents; the verify pass, in poll(2): its first wait fails.
	command_result result = run_bench_failing_poll(
		file, "1", "--rw=write --wait=getevents --verify --iodepth=32 --number_ios=2048");
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_NE(result.output.find(failed_wait), std::string::npos) << result.output;
	EXPECT_EQ(submits_after_the_failure(trace_of(file)), 0);
}

} // namespace
} // namespace kaio::testing
