// When /proc/sys/fs/aio-max-nr is nearly used up, kaio-cp says so with both numbers and the
// command that raises the limit, and exits 1 without copying.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kaio_cp.hpp"
#include "support/aio_limit.hpp"

namespace kaio::testing {
namespace {

namespace fs = std::filesystem;

TEST(KaioCpAioLimit, ExhaustedAioMaxNrIsExplained)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 16 * mib);
	// Room for 8 requests; the copy wants 16 in flight.
	aio_reservation nearly_all(8);
	if (aio_max_nr() - aio_nr() > 8)
		GTEST_SKIP() << "could not use up aio-max-nr (aio-nr " << aio_nr()
			     << ", aio-max-nr " << aio_max_nr() << ")";
	command_result result =
		run_kaio_cp("--bs 1m --iodepth 16 " + operands(source, destination));
	EXPECT_EQ(result.exit_status, 1) << result.output;
	for (const char *part : {"kaio-cp: cannot create an AIO context for 16 requests: "
				 "/proc/sys/fs/aio-max-nr is exhausted (aio-nr ",
				 ", aio-max-nr ", "raise it with: sysctl -w fs.aio-max-nr="})
		EXPECT_NE(result.output.find(part), std::string::npos) << part << "\n"
								       << result.output;
	EXPECT_EQ(result.output.find("MiB/s"), std::string::npos) << "a summary claims success";
}

} // namespace
} // namespace kaio::testing
