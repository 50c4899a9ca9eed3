// Files kaio-cp cannot copy: a one-line message on stderr naming the file and the reason, exit
// status 1, and no summary even with -v.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kaio_cp.hpp"

namespace kaio::testing {
namespace {

namespace fs = std::filesystem;

void expect_refused(const fs::path &source, const fs::path &destination, const std::string &message)
{
	command_result result = run_kaio_cp("-v " + operands(source, destination));
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_EQ(result.output, "kaio-cp: " + message + "\n");
	EXPECT_EQ(result.output.find("MiB/s"), std::string::npos) << "a summary claims success";
}

TEST(KaioCpErrors, MissingSource)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "no-such-file";
	fs::path destination = scratch.directory() / "destination";
	expect_refused(source, destination,
		       "cannot open " + source.string() + ": No such file or directory");
	EXPECT_FALSE(fs::exists(destination));
}

TEST(KaioCpErrors, MissingDestinationDirectory)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "no-such-directory" / "destination";
	write_random_file(source, 1000);
	expect_refused(source, destination,
		       "cannot create " + destination.string() + ": No such file or directory");
}

TEST(KaioCpErrors, SourceIsADirectory)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "a-directory";
	fs::path destination = scratch.directory() / "destination";
	fs::create_directory(source);
	expect_refused(source, destination, source.string() + ": Is a directory");
	EXPECT_FALSE(fs::exists(destination));
}

TEST(KaioCpErrors, DestinationIsADirectory)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	write_random_file(source, 1000);
	expect_refused(source, scratch.directory(),
		       "cannot open " + scratch.directory().string() + ": Is a directory");
}

TEST(KaioCpErrors, SourceAndDestinationAreTheSameFile)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path link = scratch.directory() / "hard-link";
	write_random_file(source, 3000, 7);
	fs::create_hard_link(source, link);
	fs::path reference = scratch.directory() / "reference";
	write_random_file(reference, 3000, 7);
	expect_refused(source, link,
		       source.string() + " and " + link.string() + " are the same file");
	expect_same_file(reference, source);
}

} // namespace
} // namespace kaio::testing
