// kaio-cp: copies a file with O_DIRECT and many I/Os in flight, through one kaio context.
// Exit status: 0 copied (and verified), 1 failed, 2 bad usage.
#include <fmt/core.h>

#include <cerrno>
#include <cstdio>

#include "byte_size.hpp"
#include "copy_file.hpp"
#include "descriptor_limit.hpp"
#include "failure.hpp"
#include "options.hpp"

namespace {

constexpr int copy_failed = 1;

// -v: "kaio-cp: a -> b: 1048576 bytes (1 MiB) in 0.004 s, 250.0 MiB/s, verified"
void print_summary(const kaio::cp::options &wanted, const kaio::cp::copy_report &report)
{
	double bytes = static_cast<double>(report.bytes);
	double mib_per_second = report.seconds > 0 ? bytes / (1 << 20) / report.seconds : 0;
	fmt::print("kaio-cp: {} -> {}: {} bytes ({}) in {:.3f} s, {:.1f} MiB/s{}\n", wanted.source,
		   wanted.destination, report.bytes, kaio::tools::format_bytes(bytes),
		   report.seconds, mib_per_second, wanted.verify ? ", verified" : "");
}

// What was printed (the summary, --help, --version) reached standard output, or the run fails:
// a summary lost to a full disk is no success.
int flushed(int exit_status)
{
	// CLI11 prints --help and --version through std::cout, whose std::endl flushes: the
	// error stays in the stream's error indicator.
	if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0)
		return exit_status;
	fmt::print(stderr, "kaio-cp: cannot write to standard output: {}\n",
		   kaio::cp::reason_of(errno));
	return copy_failed;
}

} // namespace

int main(int argc, char **argv)
{
	kaio::cp::command_line command = kaio::cp::parse_command_line(argc, argv);
	if (!command.wanted)
		return flushed(command.exit_status);
	const kaio::cp::options &wanted = *command.wanted;
	kaio::tools::raise_descriptor_limit();
	try {
		kaio::cp::copy_report report = kaio::cp::copy_file(wanted);
		if (wanted.verbose)
			print_summary(wanted, report);
		return flushed(0);
	} catch (const kaio::cp::failure &error) {
		fmt::print(stderr, "kaio-cp: {}\n", error.what());
		return copy_failed;
	}
}
