// kaio-bench run as a user would, on real files in a temporary directory: every mode on both
// engines, the JSON report, --verify catching a corrupted block, and the limits. Small files and
// --number_ios keep it fast; nothing here depends on timing.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>

#include "bench_command.hpp"
#include "support/direct_file.hpp"

namespace kaio::testing {
namespace {

using nlohmann::json;

constexpr std::uint64_t file_size = 8 << 20;
constexpr std::uint64_t block_size = 4096;
constexpr std::uint64_t blocks = file_size / block_size;

std::string on(const direct_file &file)
{
	return "--filename=" + shell_quoted(file.path()) + " --size=8m --bs=4k ";
}

// The JSON report of a run that must succeed.
json report_of(const std::string &arguments)
{
	command_result result = run_bench(arguments + " --output-format=json");
	EXPECT_EQ(result.exit_status, 0) << arguments << "\n" << result.output;
	json report = json::parse(result.output, nullptr, false);
	EXPECT_FALSE(report.is_discarded()) << "not one JSON document:\n" << result.output;
	return report;
}

void expect_latency(const json &latency, const std::string &where)
{
	for (const char *key : {"mean", "min", "max", "p50", "p90", "p99", "p999", "p9999"})
		ASSERT_TRUE(latency.contains(key)) << where << ".lat_ns." << key;
	EXPECT_GT(latency["min"].get<double>(), 0) << where;
	EXPECT_LE(latency["min"].get<double>(), latency["mean"].get<double>()) << where;
	EXPECT_LE(latency["mean"].get<double>(), latency["max"].get<double>()) << where;
	EXPECT_LE(latency["p50"].get<double>(), latency["p90"].get<double>()) << where;
	EXPECT_LE(latency["p90"].get<double>(), latency["p99"].get<double>()) << where;
	EXPECT_LE(latency["p99"].get<double>(), latency["p999"].get<double>()) << where;
	EXPECT_LE(latency["p999"].get<double>(), latency["p9999"].get<double>()) << where;
	EXPECT_LE(latency["p9999"].get<double>(), latency["max"].get<double>()) << where;
}

// The keys a job and the total share, with values a working run must have.
void expect_results(const json &results, const std::string &where)
{
	for (const char *key : {"ios", "bytes", "errors", "syncs", "elapsed_s", "iops", "bw_bytes",
				"lat_ns", "read", "write", "cpu", "cpu_us_per_io", "kaio"})
		ASSERT_TRUE(results.contains(key)) << where << "." << key;
	EXPECT_GT(results["ios"].get<std::uint64_t>(), 0U) << where;
	EXPECT_EQ(results["bytes"].get<std::uint64_t>(),
		  results["ios"].get<std::uint64_t>() * block_size)
		<< where;
	EXPECT_EQ(results["errors"], 0) << where;
	EXPECT_GT(results["elapsed_s"].get<double>(), 0) << where;
	EXPECT_GT(results["iops"].get<double>(), 0) << where;
	EXPECT_GT(results["bw_bytes"].get<double>(), 0) << where;
	EXPECT_GE(results["cpu_us_per_io"].get<double>(), 0) << where;
	EXPECT_TRUE(results["cpu"].contains("user_s") && results["cpu"].contains("system_s"));
	expect_latency(results["lat_ns"], where);
	for (const char *direction : {"read", "write"})
		for (const char *key : {"ios", "bytes", "iops", "bw_bytes", "lat_ns"})
			EXPECT_TRUE(results[direction].contains(key)) << where << "." << direction;
	EXPECT_EQ(results["read"]["ios"].get<std::uint64_t>() +
			  results["write"]["ios"].get<std::uint64_t>(),
		  results["ios"].get<std::uint64_t>())
		<< where;
	for (const char *key : {"submit_calls", "getevents_calls", "ring_reaps", "eventfd_reads",
				"waits", "worker_requests", "nowait_retries"})
		EXPECT_TRUE(results["kaio"].contains(key)) << where << ".kaio." << key;
}

// Through the page cache kaio runs every request on its worker threads, and says so.
TEST(BenchBufferedFile, ReportsThatWorkersRanEveryRequest)
{
	if (const char *backend = std::getenv("KAIO_BACKEND");
	    backend && std::string(backend) == "uring")
		GTEST_SKIP() << "io_uring runs buffered requests itself: kaio's workers serve AIO";
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) + "--direct=0 --rw=randrw --verify --number_ios=2000");
	EXPECT_EQ(report["direct"], false);
	ASSERT_TRUE(report["verify_result"].is_object()) << report.dump(2);
	EXPECT_EQ(report["verify_result"]["errors"], 0);
	const json &job = report["jobs"][0];
	EXPECT_EQ(job["ios"], 2000);
	EXPECT_EQ(job["kaio"]["worker_requests"], job["ios"]);
	command_result text = run_bench(on(file) + "--direct=0 --number_ios=500");
	EXPECT_EQ(text.exit_status, 0) << text.output;
	EXPECT_NE(text.output.find("worker share=1.000"), std::string::npos) << text.output;
	// Their CPU time is not in the job's figure, which says so.
	EXPECT_NE(text.output.find("usec per I/O (the job's thread only: worker threads ran 100% "
				   "of the requests)"),
		  std::string::npos)
		<< text.output;
	// The process's figure has it: every read's copy is in theirs, none in the job's.
	EXPECT_GT(report["process_cpu_us_per_io"].get<double>(), job["cpu_us_per_io"].get<double>())
		<< report.dump(2);
	EXPECT_NE(text.output.find("process cpu: "), std::string::npos) << text.output;
}

// A request on a worker holds a duplicate of its descriptor until it ends: more of them in flight
// than the soft descriptor limit (often 1024) failed with EMFILE. kaio-bench raises its soft limit
// to the hard one, as a program that needs many descriptors should.
TEST(BenchBufferedFile, MoreRequestsInFlightThanTheSoftDescriptorLimitAllows)
{
	if (const char *backend = std::getenv("KAIO_BACKEND");
	    backend && std::string(backend) == "uring")
		GTEST_SKIP() << "io_uring runs buffered requests itself: kaio's workers serve AIO";
	rlimit limit{};
	ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
	if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 4096)
		GTEST_SKIP() << "the hard descriptor limit is " << limit.rlim_max;
	KAIO_DIRECT_FILE_OR_SKIP(file);
	command_result result =
		run_command("ulimit -Sn 1024 && " + shell_quoted(KAIO_BENCH) + " " + on(file) +
			    "--direct=0 --iodepth=2048 --number_ios=20000");
	EXPECT_EQ(result.exit_status, 0) << result.output;
}

using mode_and_engine = std::tuple<const char *, const char *>;

class BenchEveryMode : public ::testing::TestWithParam<mode_and_engine> {};

TEST_P(BenchEveryMode, RunsAndPrintsIops)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	auto [mode, engine] = GetParam();
	command_result result =
		run_bench(on(file) + "--number_ios=2000 --rw=" + mode + " --engine=" + engine);
	EXPECT_EQ(result.exit_status, 0) << result.output;
	EXPECT_NE(result.output.find("job 0: ios=2000, errors=0"), std::string::npos)
		<< result.output;
	EXPECT_NE(result.output.find("IOPS="), std::string::npos) << result.output;
	EXPECT_NE(result.output.find("lat percentiles (usec): p50="), std::string::npos)
		<< result.output;
	EXPECT_EQ(result.output.find('\r'), std::string::npos) << "a status line off a terminal";
}

INSTANTIATE_TEST_SUITE_P(ModesAndEngines, BenchEveryMode,
			 ::testing::Combine(::testing::Values("read", "write", "randread",
							      "randwrite", "randrw"),
					    ::testing::Values("kaio", "psync")),
			 [](const ::testing::TestParamInfo<mode_and_engine> &param) {
				 return std::string(std::get<0>(param.param)) + "_" +
					std::get<1>(param.param);
			 });

class BenchEngine : public ::testing::TestWithParam<const char *> {};

INSTANTIATE_TEST_SUITE_P(Engines, BenchEngine, ::testing::Values("kaio", "psync"),
			 [](const ::testing::TestParamInfo<const char *> &param) {
				 return std::string(param.param);
			 });

TEST_P(BenchEngine, JsonHasEveryDocumentedKey)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) +
				"--rw=randrw --iodepth=8 --number_ios=3000 --engine=" + GetParam());
	EXPECT_EQ(report["rw"], "randrw");
	EXPECT_EQ(report["rwmixread"], 50);
	EXPECT_EQ(report["bs"], block_size);
	EXPECT_EQ(report["size"], file_size);
	EXPECT_EQ(report["iodepth"], 8);
	EXPECT_EQ(report["numjobs"], 1);
	EXPECT_EQ(report["engine"], GetParam());
	EXPECT_EQ(report["filename"], file.path().string());
	EXPECT_TRUE(report["runtime_s"].is_null()) << "only --number_ios limits this run";
	EXPECT_EQ(report["number_ios"], 3000);
	for (const char *key :
	     {"version", "fsync", "verify", "seed", "verify_result", "direct", "submit", "wait"})
		EXPECT_TRUE(report.contains(key)) << key;
	expect_results(report, "total");
	ASSERT_EQ(report["jobs"].size(), 1U);
	expect_results(report["jobs"][0], "jobs[0]");
	EXPECT_EQ(report["jobs"][0]["job"], 0);
	EXPECT_EQ(report["jobs"][0]["ios"], 3000);
	EXPECT_GT(report["jobs"][0]["read"]["ios"].get<std::uint64_t>(), 0U);
	EXPECT_GT(report["jobs"][0]["write"]["ios"].get<std::uint64_t>(), 0U);
	bool kaio = std::string(GetParam()) == "kaio";
	EXPECT_EQ(report["jobs"][0]["kaio"]["submit_calls"].get<std::uint64_t>() > 0, kaio);
	const auto &counters = report["jobs"][0]["kaio"];
	auto reaps = counters["getevents_calls"].get<std::uint64_t>() +
		     counters["ring_reaps"].get<std::uint64_t>();
	EXPECT_EQ(reaps > 0, kaio);
}

TEST_P(BenchEngine, VerifiedWritesPassThenACorruptedBlockIsNamed)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::string engine = std::string(" --engine=") + GetParam();
	std::string whole_file = " --number_ios=" + std::to_string(blocks);
	command_result written = run_bench(on(file) + "--rw=write --verify" + whole_file + engine);
	ASSERT_EQ(written.exit_status, 0) << written.output;
	EXPECT_NE(written.output.find("verify: 2048 blocks checked, 0 errors"), std::string::npos)
		<< written.output;

	constexpr off_t corrupted = 3 * block_size * 257; // a block in the middle, 3158016
	std::array<char, block_size> garbage;
	garbage.fill('#');
	int fd = ::open(file.path().c_str(), O_WRONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(::pwrite(fd, garbage.data(), garbage.size(), corrupted), ssize_t(block_size));
	ASSERT_EQ(::fsync(fd), 0);
	::close(fd);

	command_result read = run_bench(on(file) + "--rw=read --verify" + whole_file + engine);
	EXPECT_EQ(read.exit_status, 1) << read.output;
	EXPECT_NE(read.output.find("kaio-bench: verify at offset 3158016: no stamp"),
		  std::string::npos)
		<< read.output;
	EXPECT_NE(read.output.find("errors=1"), std::string::npos) << read.output;
}

TEST_P(BenchEngine, FsyncEveryNWrites)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) +
				"--rw=write --fsync=8 --number_ios=256 --engine=" + GetParam());
	std::uint64_t syncs = report["jobs"][0]["syncs"].get<std::uint64_t>();
	// psync makes one per 8 writes; kaio keeps one in flight and folds the ones due meanwhile.
	EXPECT_GE(syncs, 1U);
	EXPECT_LE(syncs, 256U / 8);
	if (std::string(GetParam()) == "psync") {
		EXPECT_EQ(syncs, 256U / 8);
	}
}

TEST_P(BenchEngine, NumberIosStopsEachOfTwoJobs)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(
		on(file) + "--rw=randread --numjobs=2 --number_ios=777 --engine=" + GetParam());
	ASSERT_EQ(report["jobs"].size(), 2U);
	for (int job = 0; job < 2; ++job) {
		EXPECT_EQ(report["jobs"][job]["job"], job);
		EXPECT_EQ(report["jobs"][job]["ios"], 777);
		expect_results(report["jobs"][job], "jobs[" + std::to_string(job) + "]");
	}
	EXPECT_EQ(report["ios"], 2 * 777);
	EXPECT_EQ(report["numjobs"], 2);
}

TEST(BenchRun, TwoJobsPrintTwoReportsAndTheTotal)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	command_result result = run_bench(on(file) + "--rw=randread --numjobs=2 --number_ios=500");
	EXPECT_EQ(result.exit_status, 0) << result.output;
	for (const char *part :
	     {"numjobs=2", "job 0: ios=500", "job 1: ios=500", "total (2 jobs): ios=1000"})
		EXPECT_NE(result.output.find(part), std::string::npos) << part << "\n"
								       << result.output;
}

TEST(BenchRun, RandomWritesVerifyEveryBlockWritten)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) + "--rw=randwrite --verify --number_ios=1000");
	ASSERT_TRUE(report["verify_result"].is_object()) << report.dump(2);
	std::uint64_t checked = report["verify_result"]["blocks"].get<std::uint64_t>();
	EXPECT_GT(checked, 0U);
	EXPECT_LE(checked, 1000U); // the distinct blocks written
	EXPECT_EQ(report["verify_result"]["errors"], 0);
	EXPECT_EQ(report["errors"], 0);
}

TEST(BenchRun, ReadsVerifyTheStampsOfAFreshLayout)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) + "--rw=randread --verify --number_ios=2000");
	EXPECT_EQ(report["errors"], 0);
	EXPECT_TRUE(report["verify_result"].is_null()) << "a read run has no final pass";
}

TEST(BenchRun, RuntimeEndsTheRun)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json report = report_of(on(file) + "--rw=randread --runtime=0.2");
	EXPECT_EQ(report["runtime_s"], 0.2);
	EXPECT_TRUE(report["number_ios"].is_null());
	EXPECT_GT(report["ios"].get<std::uint64_t>(), 0U);
}

TEST(BenchRun, AMissingFileIsCreatedAndLaidOut)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::filesystem::path created = file.directory() / "new.dat";
	command_result result = run_bench("--filename=" + shell_quoted(created) +
					  " --size=8m --rw=read --verify --number_ios=2048");
	EXPECT_EQ(result.exit_status, 0) << result.output;
	EXPECT_EQ(std::filesystem::file_size(created), file_size);
}

TEST(BenchRun, ALongerFileIsUsedUpToSize)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	ASSERT_EQ(run_bench(on(file) + "--number_ios=1").exit_status, 0);
	json report = report_of("--filename=" + shell_quoted(file.path()) +
				" --size=1m --rw=read --verify --number_ios=1000");
	EXPECT_EQ(report["size"], 1 << 20);
	EXPECT_EQ(std::filesystem::file_size(file.path()), file_size);
}

// JSON strings are UTF-8: a filename's other bytes come out as U+FFFD, and the report stays valid.
TEST(BenchRun, JsonReportOfAFilenameNotInUtf8)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	// Removed with the directory.
	std::filesystem::path not_utf8 = file.directory() / "bad\xff.dat";
	json report = report_of("--filename=" + shell_quoted(not_utf8) +
				" --size=8m --rw=randread --number_ios=100");
	ASSERT_FALSE(report.is_discarded());
	EXPECT_EQ(report["filename"], (file.directory() / "bad\uFFFD.dat").string());
}

TEST(BenchRun, ReportNamesTheBackendUsedAndCountsFixedBuffers)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	json aio = report_of(on(file) + "--backend=aio --registerfiles --number_ios=100");
	EXPECT_EQ(aio["backend"], "aio");
	EXPECT_EQ(aio["registerfiles"], true);
	command_result probe = run_bench(on(file) + "--backend=uring --number_ios=1");
	if (probe.exit_status != 0)
		GTEST_SKIP() << "io_uring refused here: " << probe.output;
	json uring = report_of(on(file) +
			       "--backend=uring --fixedbufs --registerfiles --number_ios=100");
	EXPECT_EQ(uring["backend"], "uring");
	EXPECT_EQ(uring["fixedbufs"], true);
	EXPECT_EQ(uring["registerfiles"], true);
	EXPECT_EQ(uring["jobs"][0]["kaio"]["fixed_buffer_requests"], 100);
}

TEST(BenchRun, UnknownKaioBackendInTheEnvironmentIsAClearError)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	command_result result = run_command("KAIO_BACKEND=io-uring " + shell_quoted(KAIO_BENCH) +
					    " " + on(file) + "--number_ios=1");
	EXPECT_EQ(result.exit_status, 1);
	EXPECT_NE(result.output.find("KAIO_BACKEND='io-uring' names no backend"), std::string::npos)
		<< result.output;
}

// The worker share counts the fdatasyncs among the requests the workers ran: all of them,
// never more.
TEST(BenchBufferedFile, WorkerShareCountsSyncsAmongTheRequests)
{
	if (const char *backend = std::getenv("KAIO_BACKEND");
	    backend && std::string(backend) == "uring")
		GTEST_SKIP() << "io_uring runs buffered requests itself: kaio's workers serve AIO";
	KAIO_DIRECT_FILE_OR_SKIP(file);
	command_result text = run_bench(
		on(file) + "--direct=0 --rw=randwrite --fsync=1 --iodepth=1 --number_ios=200");
	EXPECT_EQ(text.exit_status, 0) << text.output;
	EXPECT_NE(text.output.find("fdatasync: "), std::string::npos) << text.output;
	EXPECT_NE(text.output.find("worker share=1.000"), std::string::npos) << text.output;
}

// A link to a missing file is named as such, not as a file that exists.
TEST(BenchRun, DanglingLinkIsNamedAsSuch)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::filesystem::path link = file.path().string() + ".link";
	std::filesystem::create_symlink(file.path().string() + ".missing", link);
	command_result result =
		run_bench("--filename=" + shell_quoted(link) + " --size=8m --number_ios=10");
	std::filesystem::remove(link);
	EXPECT_EQ(result.exit_status, 1);
	EXPECT_NE(result.output.find("is a symbolic link to a file that does not exist"),
		  std::string::npos)
		<< result.output;
}

// --backend holds for every context of the run: the one laying out a new file and the one
// reading it back for --verify too, not only the jobs'.
TEST(BenchRun, BackendOptionOutranksTheEnvironmentInEveryStep)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	std::filesystem::path fresh = file.path().string() + ".laid-out";
	command_result result = run_command(
		"KAIO_BACKEND=io-uring " + shell_quoted(KAIO_BENCH) +
		" --filename=" + shell_quoted(fresh) +
		" --size=8m --bs=4k --backend=aio --rw=randwrite --verify --number_ios=100"
		" --output-format=json");
	std::filesystem::remove(fresh);
	ASSERT_EQ(result.exit_status, 0) << result.output;
	json report = json::parse(result.output, nullptr, false);
	ASSERT_TRUE(report.contains("verify_result")) << result.output;
	EXPECT_GT(report["verify_result"]["blocks"].get<std::uint64_t>(), 0U);
	EXPECT_EQ(report["verify_result"]["errors"], 0);
}

// A report that cannot be written (stdout on a full disk) fails the run, which says why.
TEST(BenchRun, FailsWhenTheReportCannotBeWritten)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	if (!std::filesystem::exists("/dev/full"))
		GTEST_SKIP() << "no /dev/full here";
	// Only the report goes to /dev/full: run_command collects the braces' stderr.
	command_result result = run_command("{ " + shell_quoted(KAIO_BENCH) + " " + on(file) +
					    "--rw=randread --number_ios=100 >/dev/full; }");
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_EQ(result.output, "kaio-bench: cannot write the report: No space left on device\n");
}

// The same for --help and --version.
TEST(BenchRun, FailsWhenTheHelpCannotBeWritten)
{
	if (!std::filesystem::exists("/dev/full"))
		GTEST_SKIP() << "no /dev/full here";
	for (const char *option : {"--help", "--version"}) {
		command_result result = run_command("{ " + shell_quoted(KAIO_BENCH) + " " + option +
						    " >/dev/full; }");
		EXPECT_EQ(result.exit_status, 1) << option;
		EXPECT_EQ(result.output,
			  "kaio-bench: cannot write to standard output: No space left on device\n")
			<< option;
	}
}

} // namespace
} // namespace kaio::testing
