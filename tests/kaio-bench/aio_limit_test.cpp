// When /proc/sys/fs/aio-max-nr is used up, kaio-bench says so, with the numbers and the way to
// raise it, and exits 1 before any I/O.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "bench_command.hpp"
#include "support/aio_limit.hpp"
#include "support/direct_file.hpp"

namespace kaio::testing {
namespace {

TEST(BenchAioLimit, ExhaustedAioMaxNrIsExplained)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr std::uint64_t depth = 65535;
	std::uint64_t limit = aio_max_nr();
	// Contexts of 65535 requests, one more than the limit holds: the last cannot be created.
	std::uint64_t jobs = limit / depth + 1;
	if (limit == 0 || jobs > 4)
		GTEST_SKIP() << "aio-max-nr is " << limit << ": too many contexts to exhaust it";
	command_result result = run_bench("--filename=" + shell_quoted(file.path()) +
					  " --size=1m --bs=512 --number_ios=1 --iodepth=65535 "
					  "--numjobs=" +
					  std::to_string(jobs));
	EXPECT_EQ(result.exit_status, 1) << result.output;
	// Which context fails depends on what other programs hold at the moment.
	for (const char *part : {"kaio-bench: cannot create an AIO context for ",
				 " requests: /proc/sys/fs/aio-max-nr is exhausted (aio-nr ",
				 ", aio-max-nr ", "raise it with: sysctl -w fs.aio-max-nr="})
		EXPECT_NE(result.output.find(part), std::string::npos) << part << "\n"
								       << result.output;
	EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

} // namespace
} // namespace kaio::testing
