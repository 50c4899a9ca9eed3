// When /proc/sys/fs/aio-max-nr is nearly used up, kaio-cp says so with both numbers and the
// command that raises the limit, and exits 1 without copying: an existing destination keeps
// every byte, and a new one is not left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kaio_cp.hpp"
#include "support/aio_limit.hpp"

namespace kaio::testing {
namespace {

namespace fs = std::filesystem;

void expect_the_limit_explained(const command_result &result)
{
	EXPECT_EQ(result.exit_status, 1) << result.output;
	for (const char *part : {"kaio-cp: cannot create an AIO context for 16 requests: "
				 "/proc/sys/fs/aio-max-nr is exhausted (aio-nr ",
				 ", aio-max-nr ", "raise it with: sysctl -w fs.aio-max-nr="})
		EXPECT_NE(result.output.find(part), std::string::npos) << part << "\n"
								       << result.output;
	EXPECT_EQ(result.output.find("MiB/s"), std::string::npos) << "a summary claims success";
}

TEST(KaioCpAioLimit, ExhaustedAioMaxNrIsExplainedAndNoDestinationChanges)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path existing = scratch.directory() / "existing";
	fs::path kept = scratch.directory() / "kept";
	fs::path fresh = scratch.directory() / "fresh";
	write_random_file(source, 16 * mib);
	write_random_file(existing, 3 * mib, 2);
	fs::copy_file(existing, kept);
	fs::permissions(source, fs::perms::owner_read | fs::perms::owner_write);
	fs::permissions(existing, fs::perms::owner_all);
	// Room for 8 requests; the copy wants 16 in flight.
	aio_reservation nearly_all(8);
	if (aio_max_nr() - aio_nr() > 8)
		GTEST_SKIP() << "could not use up aio-max-nr (aio-nr " << aio_nr()
			     << ", aio-max-nr " << aio_max_nr() << ")";
	expect_the_limit_explained(run_kaio_cp("--bs 1m --iodepth 16 " + operands(source, fresh)));
	EXPECT_FALSE(fs::exists(fresh)) << "a copy that never started left its destination";
	expect_the_limit_explained(
		run_kaio_cp("--bs 1m --iodepth 16 " + operands(source, existing)));
	EXPECT_EQ(first_difference(existing, kept), std::nullopt)
		<< "a copy that never started changed the existing destination";
	EXPECT_EQ(fs::status(existing).permissions(), fs::perms::owner_all)
		<< "a copy that never started changed the destination's permissions";
}

} // namespace
} // namespace kaio::testing
