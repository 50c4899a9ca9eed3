// Files kaio-cp cannot copy: a one-line message on stderr naming the file and the reason, exit
// status 1, and no summary even with -v.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
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

// A copy whose -v summary cannot be written (stdout on a full disk) does not claim success.
TEST(KaioCpErrors, SummaryThatCannotBeWrittenFails)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	if (!fs::exists("/dev/full"))
		GTEST_SKIP() << "no /dev/full here";
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 10000);
	command_result result = run_command("{ " + std::string(KAIO_CP) + " -v " +
					    operands(source, destination) + " >/dev/full; }");
	EXPECT_EQ(result.exit_status, 1);
	EXPECT_EQ(result.output,
		  "kaio-cp: cannot write to standard output: No space left on device\n");
	EXPECT_EQ(first_difference(source, destination), std::nullopt) << "the copy itself failed";
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

// Buffers for more than the machine's memory (a sparse source as long as that many of the largest
// blocks) would bring the out-of-memory killer, each being filled at once: refused before the
// first write instead, and the destination it created removed, as kaio-cp(1) says.
TEST(KaioCpErrors, BuffersLargerThanMemoryAreRefused)
{
	constexpr std::uint64_t largest_block = 2147479552; // IO_CTX_MAX_IO_BYTES, kaio-cp's --bs
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	auto memory =
		std::uint64_t(::sysconf(_SC_PHYS_PAGES)) * std::uint64_t(::sysconf(_SC_PAGESIZE));
	std::uint64_t depth = memory / largest_block + 1;
	fs::path source = scratch.directory() / "sparse-source";
	fs::path destination = scratch.directory() / "destination";
	std::error_code refused;
	{
		std::ofstream create(source);
	}
	fs::resize_file(source, depth * largest_block, refused);
	if (refused)
		GTEST_SKIP() << "a sparse file of " << depth
			     << " blocks of 2 GiB: " << refused.message();
	command_result result =
		run_kaio_cp("--bs " + std::to_string(largest_block) + " --iodepth " +
			    std::to_string(depth) + " " + operands(source, destination));
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_NE(result.output.find("of buffers, more than this machine's memory"),
		  std::string::npos)
		<< result.output;
	EXPECT_FALSE(fs::exists(destination));
}

// A plain context takes its backend from KAIO_BACKEND: a name it does not know is named as such.
TEST(KaioCpErrors, UnknownBackendInTheEnvironmentIsNamed)
{
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	write_random_file(source, 1000);
	command_result result = run_command("KAIO_BACKEND=io-uring " + std::string(KAIO_CP) + " " +
					    operands(source, destination));
	EXPECT_EQ(result.exit_status, 1);
	EXPECT_EQ(result.output, "kaio-cp: KAIO_BACKEND='io-uring' names no backend (expected aio, "
				 "uring or auto)\n");
	EXPECT_FALSE(fs::exists(destination));
}

// A user who may write the destination but does not own it cannot give it the source's
// permission bits: the copy is refused before the destination loses a byte.
TEST(KaioCpErrors, DestinationWhosePermissionsCannotBeSetIsLeftWhole)
{
	if (::geteuid() != 0)
		GTEST_SKIP() << "needs root, to run kaio-cp as another user on a file root owns";
	KAIO_DIRECT_FILE_OR_SKIP(scratch);
	if (run_command("setpriv --reuid=65534 --regid=65534 --clear-groups test -x " +
			shell_quoted(KAIO_CP))
		    .exit_status != 0)
		GTEST_SKIP() << "user 65534 cannot run " << KAIO_CP;
	fs::permissions(scratch.directory(), static_cast<fs::perms>(01777));
	fs::path source = scratch.directory() / "source";
	fs::path destination = scratch.directory() / "destination";
	fs::path reference = scratch.directory() / "reference";
	write_random_file(source, 3000, 1);
	write_random_file(destination, 5000, 2);
	write_random_file(reference, 5000, 2);
	fs::permissions(source, static_cast<fs::perms>(0644));
	fs::permissions(destination, static_cast<fs::perms>(0666));

	command_result result =
		run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " +
			    std::string(KAIO_CP) + " " + operands(source, destination));
	EXPECT_EQ(result.exit_status, 1) << result.output;
	EXPECT_EQ(result.output, "kaio-cp: cannot set the permissions of " + destination.string() +
					 ": Operation not permitted\n");
	expect_same_file(reference, destination);
	EXPECT_EQ(permission_bits(destination), 0666u);
}

} // namespace
} // namespace kaio::testing
