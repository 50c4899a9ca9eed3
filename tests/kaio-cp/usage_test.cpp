// The command line: --help, --version, and bad usage, which exits with status 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kaio_cp.hpp"

namespace kaio::testing {
namespace {

void expect_usage_error(const std::string &arguments, const std::string &mentioned)
{
	command_result result = run_kaio_cp(arguments);
	EXPECT_EQ(result.exit_status, 2) << result.output;
	EXPECT_NE(result.output.find("kaio-cp: "), std::string::npos) << result.output;
	EXPECT_NE(result.output.find(mentioned), std::string::npos) << result.output;
}

TEST(KaioCpUsage, HelpListsTheOptions)
{
	command_result result = run_kaio_cp("--help");
	EXPECT_EQ(result.exit_status, 0) << result.output;
	for (const char *option :
	     {"SRC", "DST", "--bs", "--iodepth", "--fsync", "--verify", "--verbose", "--version"})
		EXPECT_NE(result.output.find(option), std::string::npos) << option;
}

TEST(KaioCpUsage, VersionIsTheProjectVersion)
{
	command_result result = run_kaio_cp("--version");
	EXPECT_EQ(result.exit_status, 0) << result.output;
	EXPECT_EQ(result.output, "kaio-cp " KAIO_VERSION " (libkaio " KAIO_VERSION ")\n");
}

// What kaio-cp prints must reach standard output, or the run fails (run_command collects the
// braces' stderr).
TEST(KaioCpUsage, HelpOrVersionThatCannotBeWrittenFails)
{
	if (!std::filesystem::exists("/dev/full"))
		GTEST_SKIP() << "no /dev/full here";
	for (const char *option : {"--help", "--version"}) {
		command_result result =
			run_command("{ " + std::string(KAIO_CP) + " " + option + " >/dev/full; }");
		EXPECT_EQ(result.exit_status, 1) << option;
		EXPECT_EQ(result.output,
			  "kaio-cp: cannot write to standard output: No space left on device\n")
			<< option;
	}
}

TEST(KaioCpUsage, MissingOperandsExitTwo)
{
	expect_usage_error("", "SRC");
	expect_usage_error("only-a-source", "DST");
}

TEST(KaioCpUsage, BlockSizeMustBeAMultipleOf512)
{
	expect_usage_error("--bs 1000 a b", "--bs 1000");
	expect_usage_error("--bs 0 a b", "--bs 0");
	expect_usage_error("--bs lots a b", "--bs lots");
	expect_usage_error("--bs 4g a b", "--bs 4g");
}

TEST(KaioCpUsage, IodepthMustBeInRange)
{
	expect_usage_error("--iodepth 0 a b", "--iodepth");
	expect_usage_error("--iodepth 65536 a b", "--iodepth");
	expect_usage_error("--iodepth many a b", "--iodepth");
}

TEST(KaioCpUsage, UnknownOptionExitsTwo)
{
	expect_usage_error("--no-such-option a b", "--no-such-option");
}

} // namespace
} // namespace kaio::testing
