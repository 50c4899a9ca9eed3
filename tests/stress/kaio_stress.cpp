// kaio-stress: several threads, each with its own context and its own blocks of one O_DIRECT
// file, run random mixes of reads, writes, vector I/O, fdsync and cancels for a while, with
// faults injected through the kernel seam if asked; every written block is stamped (offset,
// generation, checksum) and every read verified. Prints what it did and exits 1 if any data was
// wrong or any promise broken, 77 if the file cannot be opened with O_DIRECT.
//
//   kaio-stress --threads=4 --seconds=60 --depth=64 --faults --file=/mnt/xfs/stress.dat
#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stamped_block.hpp"
#include "stress_worker.hpp"

namespace {

using kaio::stress::block_size;

struct options {
	int threads = 4;
	double seconds = 60;
	int depth = 64;
	std::uint64_t seed = std::random_device{}();
	std::string file = "kaio-stress.dat";
	std::uint64_t blocks = 1024; // per thread
	bool faults = false;
	double fault_rate = 0.02;
};

const char *filesystem_of(int fd)
{
	struct statfs info {};
	if (::fstatfs(fd, &info) != 0)
		return "unknown";
	switch (static_cast<unsigned long>(info.f_type)) {
	case 0xEF53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x01021994: return "tmpfs";
	default: return "other";
	}
}

// Every block stamped with generation 0, written in one go with pwrite(2).
bool prepare_file(int fd, std::uint64_t blocks)
{
	kaio::aligned_buffer data(blocks * block_size);
	for (std::uint64_t block = 0; block < blocks; ++block)
		kaio::stress::stamp(data.data() + block * block_size, block * block_size, 0);
	return ::pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size());
}

} // namespace

int main(int argc, char **argv)
{
	options opt;
	CLI::App app("Random mixes of kaio requests on many threads, every block verified.",
		     "kaio-stress");
	app.add_option("--threads", opt.threads, "threads, each with its own context")
		->check(CLI::Range(1, 256));
	app.add_option("--seconds", opt.seconds, "how long to run")->check(CLI::PositiveNumber);
	app.add_option("--depth", opt.depth, "capacity of each context; depths vary up to it")
		->check(CLI::Range(1, IO_CTX_MAX_CAPACITY));
	app.add_option("--seed", opt.seed, "seed of the random mix (printed, to replay)");
	app.add_option("--file", opt.file, "the O_DIRECT file to use (created, and removed after)");
	app.add_option("--blocks", opt.blocks, "4 KiB blocks per thread")
		->check(CLI::Range(1, 1 << 20));
	app.add_flag("--faults", opt.faults, "inject faults through the kernel seam");
	app.add_option("--fault-rate", opt.fault_rate, "with --faults: the chance of each fault")
		->check(CLI::Range(0.0, 0.5));
	CLI11_PARSE(app, argc, argv);

	int fd = ::open(opt.file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		std::fprintf(stderr, "kaio-stress: cannot open %s with O_DIRECT: %s\n",
			     opt.file.c_str(), std::strerror(errno));
		return 77;
	}
	std::uint64_t total_blocks = opt.blocks * static_cast<std::uint64_t>(opt.threads);
	if (!prepare_file(fd, total_blocks)) {
		std::fprintf(stderr, "kaio-stress: cannot write %s: %s\n", opt.file.c_str(),
			     std::strerror(errno));
		::unlink(opt.file.c_str());
		return 1;
	}
	std::printf("kaio-stress: %d threads, %g s, depth %d, seed %llu, faults %s, %s on %s\n",
		    opt.threads, opt.seconds, opt.depth, static_cast<unsigned long long>(opt.seed),
		    opt.faults ? std::to_string(opt.fault_rate).c_str() : "off", opt.file.c_str(),
		    filesystem_of(fd));
	std::fflush(stdout);

	auto deadline = std::chrono::steady_clock::now() +
			std::chrono::duration_cast<std::chrono::steady_clock::duration>(
				std::chrono::duration<double>(opt.seconds));
	std::vector<kaio::stress::stress_counts> counts(static_cast<std::size_t>(opt.threads));
	{
		std::vector<std::jthread> threads;
		for (int t = 0; t < opt.threads; ++t) {
			kaio::stress::worker_settings settings;
			settings.fd = fd;
			settings.first_block = static_cast<std::uint64_t>(t) * opt.blocks;
			settings.blocks = opt.blocks;
			settings.depth = opt.depth;
			settings.deadline = deadline;
			settings.fault_rate = opt.faults ? opt.fault_rate : 0;
			settings.seed = opt.seed + static_cast<std::uint64_t>(t);
			threads.emplace_back(
				[settings, &result = counts[static_cast<std::size_t>(t)]] {
					result = kaio::stress::stress_worker(settings).run();
				});
		}
	}
	::close(fd);
	::unlink(opt.file.c_str());

	kaio::stress::stress_counts total;
	for (const auto &c : counts)
		total.add(c);
	std::printf("contexts on io_uring %llu, on AIO %llu\n", total.on_uring,
		    static_cast<unsigned long long>(opt.threads) - total.on_uring);
	std::printf("ops %llu: reads %llu, writes %llu, readv %llu, writev %llu, fdsync %llu\n",
		    total.ops(), total.reads, total.writes, total.readvs, total.writevs,
		    total.fdsyncs);
	std::printf("cancels %llu (stopped %llu), submissions refused %llu, faults injected %llu\n",
		    total.cancels, total.cancels_stopped, total.refused, total.faults);
	std::printf("event-loop waits on an eventfd asked for late %llu\n", total.eventfd_waits);
	std::printf("mismatches %llu, broken promises %llu, unexpected errors %llu\n",
		    total.mismatches, total.broken, total.errors);
	return total.mismatches == 0 && total.broken == 0 && total.errors == 0 && total.ops() > 0
		       ? 0
		       : 1;
}
