// bench_request_path: what kaio's per-request path costs, next to a bare libaio loop doing the
// same work. Each iteration submits a batch of 4 KiB O_DIRECT reads at random offsets and waits
// until every one has completed:
//
//   raw_libaio/batch:N   N io_prep_pread(), one io_submit(), io_getevents(ctx, 1, N) until all N
//                        events are in: the floor;
//   kaio_io_ctx/batch:N  N io_ctx_read() on a context created with IO_CTX_DEFER_SUBMIT, one
//                        io_ctx_flush() (one io_submit), then io_ctx_process() until all N
//                        callbacks have run; kaio reaps from the completion ring;
//   kaio_io_ctx_reap_syscall/batch:N
//                        the same with IO_CTX_REAP_SYSCALL: kaio reaps with io_getevents;
//   kaio_io_ctx_direct_only/batch:N
//                        kaio_io_ctx with IO_CTX_DIRECT_ONLY: no fcntl(F_GETFL) per file and
//                        batch to find files without O_DIRECT; the difference from kaio_io_ctx
//                        is what that detection costs;
//   kaio_io_ctx_registered/batch:N
//                        kaio_io_ctx_direct_only with the file registered (io_ctx_register_files):
//                        tmpfs refuses RWF_NOWAIT, and kaio then asks fstat where each
//                        unregistered descriptor of a batch lives; a registered one it asked once.
//
// The file is in tmpfs ($KAIO_BENCH_DIR, else /dev/shm), where a read is a copy from memory that
// completes inside io_submit, so what is left is the CPU cost of the request path: the library,
// the system calls, the kernel's AIO bookkeeping. items_per_second is I/Os per second of CPU time;
// the counters are system calls per I/O (kaio's from io_ctx_get_stats). On a console the program
// ends with the ratios kaio / raw of I/Os per second for each batch size.
//
//   bench_request_path [--benchmark_filter=batch:32] [--benchmark_repetitions=5] ...
#include <fcntl.h>
#include <libaio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kaio/io_ctx.h"

namespace {

constexpr std::size_t block_size = 4096;
constexpr long long file_blocks = 16384; // 64 MiB
constexpr int batch_sizes[] = {1, 8, 32};

// kaio's loop with each way of reaping and each promise about its file.
struct kaio_variant {
	const char *name;
	unsigned flags;
	bool register_file;
};
constexpr kaio_variant kaio_variants[] = {
	{"kaio_io_ctx", IO_CTX_DEFER_SUBMIT, false},
	{"kaio_io_ctx_reap_syscall", IO_CTX_DEFER_SUBMIT | IO_CTX_REAP_SYSCALL, false},
	{"kaio_io_ctx_direct_only", IO_CTX_DEFER_SUBMIT | IO_CTX_DIRECT_ONLY, false},
	{"kaio_io_ctx_registered", IO_CTX_DEFER_SUBMIT | IO_CTX_DIRECT_ONLY, true},
};

std::string errno_text(const char *what, int err)
{
	return std::string(what) + ": " + std::strerror(err);
}

// The file every benchmark reads: created in tmpfs and filled, opened with O_DIRECT, and unlinked
// at once, so that nothing is left behind however the program ends.
class shm_file {
public:
	static const shm_file &get()
	{
		static const shm_file file;
		return file;
	}

	shm_file(const shm_file &) = delete;
	shm_file &operator=(const shm_file &) = delete;
	~shm_file()
	{
		if (fd_ >= 0)
			close(fd_);
	}

	int fd() const { return fd_; }
	// Empty when the file is ready.
	const std::string &error() const { return error_; }

private:
	shm_file()
	{
		const char *dir = std::getenv("KAIO_BENCH_DIR");
		std::string path = std::string(dir ? dir : "/dev/shm") + "/kaio-request-path." +
				   std::to_string(getpid());
		if (!fill(path))
			return;
		fd_ = open(path.c_str(), O_RDONLY | O_DIRECT);
		if (fd_ < 0)
			error_ = errno_text(("O_DIRECT open of " + path).c_str(), errno);
		unlink(path.c_str());
	}

	bool fill(const std::string &path)
	{
		int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			error_ = errno_text(path.c_str(), errno);
			return false;
		}
		std::vector<char> block(block_size, 'k');
		for (long long i = 0; i < file_blocks && error_.empty(); ++i)
			if (write(fd, block.data(), block.size()) != ssize_t(block.size()))
				error_ = errno_text(("writing " + path).c_str(), errno);
		close(fd);
		if (!error_.empty())
			unlink(path.c_str());
		return error_.empty();
	}

	int fd_ = -1;
	std::string error_;
};

// One aligned 4 KiB buffer per request of a batch.
class buffers {
public:
	explicit buffers(int count)
	{
		void *memory = nullptr;
		if (posix_memalign(&memory, 4096, block_size * std::size_t(count)) == 0)
			memory_.reset(static_cast<std::byte *>(memory));
	}

	bool ok() const { return memory_ != nullptr; }
	std::byte *operator[](int i) const { return memory_.get() + block_size * std::size_t(i); }

private:
	struct free_memory {
		void operator()(std::byte *p) const { std::free(p); }
	};
	std::unique_ptr<std::byte, free_memory> memory_;
};

// Random block offsets, xorshift64* with a fixed seed: the same sequence for both loops.
class offsets {
public:
	long long next()
	{
		state_ ^= state_ >> 12;
		state_ ^= state_ << 25;
		state_ ^= state_ >> 27;
		auto block = (state_ * 0x2545f4914f6cdd1dULL) % std::uint64_t(file_blocks);
		return static_cast<long long>(block * block_size);
	}

private:
	std::uint64_t state_ = 0x9e3779b97f4a7c15ULL;
};

// The same counters for both loops, so that the console prints them as columns.
struct call_counts {
	unsigned long long submit = 0;
	unsigned long long getevents = 0;
	unsigned long long ring_reaps = 0;
	unsigned long long eventfd_reads = 0;
	unsigned long long waits = 0;
};

void report(benchmark::State &state, int batch, const call_counts &calls)
{
	auto ios = state.iterations() * batch;
	state.SetItemsProcessed(ios);
	if (ios == 0)
		return;
	auto per_io = [ios](unsigned long long count) { return double(count) / double(ios); };
	state.counters["io_submit/IO"] = per_io(calls.submit);
	state.counters["io_getevents/IO"] = per_io(calls.getevents);
	state.counters["ring_reaps/IO"] = per_io(calls.ring_reaps);
	state.counters["eventfd_reads/IO"] = per_io(calls.eventfd_reads);
	state.counters["waits/IO"] = per_io(calls.waits);
}

// Every precondition of a benchmark, or the reason to skip it.
bool ready(benchmark::State &state, const buffers &memory)
{
	const std::string &error = shm_file::get().error();
	if (!error.empty()) {
		state.SkipWithError(error.c_str());
		return false;
	}
	if (!memory.ok()) {
		state.SkipWithError("posix_memalign failed");
		return false;
	}
	return true;
}

// --- kaio ---

struct batch_progress {
	int pending = 0;
	int failures = 0;
};

void on_read(int result, void *data)
{
	auto *progress = static_cast<batch_progress *>(data);
	--progress->pending;
	if (result != int(block_size))
		++progress->failures;
}

// Submits and completes one batch; returns 0 or a negative errno.
int kaio_batch(io_ctx &ctx, int fd, const buffers &memory, offsets &where, int batch)
{
	batch_progress progress;
	for (int i = 0; i < batch; ++i) {
		int key = io_ctx_read(&ctx, fd, memory[i], block_size, where.next(), on_read,
				      &progress);
		if (key < 0)
			return key;
		++progress.pending;
	}
	if (int rc = io_ctx_flush(&ctx); rc < 0)
		return rc;
	while (progress.pending > 0)
		if (int rc = io_ctx_process(&ctx); rc < 0)
			return rc;
	return progress.failures ? -EIO : 0;
}

void kaio_io_ctx(benchmark::State &state, const kaio_variant &variant)
{
	const int batch = int(state.range(0));
	buffers memory(batch);
	if (!ready(state, memory))
		return;
	io_ctx ctx{};
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = variant.flags;
	if (int rc = io_ctx_create_opts(&ctx, batch, nullptr, &options); rc < 0) {
		state.SkipWithError(errno_text("io_ctx_create_opts", -rc).c_str());
		return;
	}
	offsets where;
	const int fd = shm_file::get().fd();
	if (variant.register_file) {
		if (int rc = io_ctx_register_files(&ctx, &fd, 1); rc < 0) {
			state.SkipWithError(errno_text("io_ctx_register_files", -rc).c_str());
			io_ctx_destroy(&ctx);
			return;
		}
	}
	for (auto _ : state) {
		if (int rc = kaio_batch(ctx, fd, memory, where, batch); rc < 0) {
			state.SkipWithError(errno_text("kaio read", -rc).c_str());
			break;
		}
	}
	io_ctx_stats stats{};
	io_ctx_get_stats(&ctx, &stats);
	io_ctx_destroy(&ctx);
	report(state, batch,
	       {stats.submit_calls, stats.getevents_calls, stats.ring_reaps, stats.eventfd_reads,
		stats.waits});
}

// --- raw libaio ---

class raw_loop {
public:
	explicit raw_loop(int batch) : iocbs_(batch), pointers_(batch), events_(batch)
	{
		for (int i = 0; i < batch; ++i)
			pointers_[i] = &iocbs_[i];
	}
	raw_loop(const raw_loop &) = delete;
	raw_loop &operator=(const raw_loop &) = delete;
	~raw_loop()
	{
		if (ctx_)
			io_destroy(ctx_);
	}

	// 0 or a negative errno.
	int set_up() { return io_setup(int(iocbs_.size()), &ctx_); }

	// Submits and completes one batch; returns 0 or a negative errno.
	int run_batch(int fd, const buffers &memory, offsets &where)
	{
		const int batch = int(iocbs_.size());
		for (int i = 0; i < batch; ++i)
			io_prep_pread(&iocbs_[i], fd, memory[i], block_size, where.next());
		for (int sent = 0; sent < batch;) {
			int rc = io_submit(ctx_, batch - sent, pointers_.data() + sent);
			++calls_.submit;
			if (rc <= 0)
				return rc < 0 ? rc : -EAGAIN;
			sent += rc;
		}
		for (int reaped = 0; reaped < batch;) {
			int rc = io_getevents(ctx_, 1, batch, events_.data(), nullptr);
			++calls_.getevents;
			if (rc < 0)
				return rc;
			for (int i = 0; i < rc; ++i)
				if (events_[i].res != block_size)
					return -EIO;
			reaped += rc;
		}
		return 0;
	}

	const call_counts &calls() const { return calls_; }

private:
	io_context_t ctx_{};
	std::vector<iocb> iocbs_;
	std::vector<iocb *> pointers_;
	std::vector<io_event> events_;
	call_counts calls_;
};

void raw_libaio(benchmark::State &state)
{
	const int batch = int(state.range(0));
	buffers memory(batch);
	if (!ready(state, memory))
		return;
	raw_loop loop(batch);
	if (int rc = loop.set_up(); rc < 0) {
		state.SkipWithError(errno_text("io_setup", -rc).c_str());
		return;
	}
	offsets where;
	const int fd = shm_file::get().fd();
	for (auto _ : state) {
		if (int rc = loop.run_batch(fd, memory, where); rc < 0) {
			state.SkipWithError(errno_text("libaio read", -rc).c_str());
			break;
		}
	}
	report(state, batch, loop.calls());
}

// --- the ratios at the end ---

// The console reporter, which also keeps the I/Os per second of each run (the median when
// --benchmark_repetitions gives one) and ends with the ratios kaio / raw for each batch size.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
	using ConsoleReporter::ConsoleReporter;

	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const Run &run : runs) {
			auto rate = run.counters.find("items_per_second");
			bool plain = run.run_type == Run::RT_Iteration;
			if (rate == run.counters.end() ||
			    (!plain && run.aggregate_name != "median"))
				continue;
			rates_[run.run_name.args][run.run_name.function_name] = rate->second.value;
		}
	}

	void Finalize() override
	{
		ConsoleReporter::Finalize();
		bool first = true;
		for (const kaio_variant &kaio : kaio_variants) {
			std::string line = ratios(kaio.name);
			if (line.empty())
				continue;
			GetOutputStream() << (first ? "\nI/Os per second, " : "") << kaio.name
					  << " / raw_libaio:" << line << "\n";
			first = false;
		}
	}

private:
	// "  batch:1 0.95  batch:8 ..." for the batch sizes both ran, or empty.
	std::string ratios(const std::string &kaio)
	{
		std::string line;
		for (int batch : batch_sizes) {
			const auto &rates = rates_["batch:" + std::to_string(batch)];
			auto mine = rates.find(kaio);
			auto raw = rates.find("raw_libaio");
			if (mine == rates.end() || raw == rates.end() || raw->second <= 0)
				continue;
			char ratio[64];
			std::snprintf(ratio, sizeof ratio, "  batch:%d %.2f", batch,
				      mine->second / raw->second);
			line += ratio;
		}
		return line;
	}

	std::map<std::string, std::map<std::string, double>> rates_;
};

// The ratio is printed only when the console format is chosen (the default).
bool console_format(int argc, char **argv)
{
	constexpr std::string_view flag = "--benchmark_format=";
	for (int i = 1; i < argc; ++i) {
		std::string_view arg = argv[i];
		if (arg.starts_with(flag) && arg.substr(flag.size()) != "console")
			return false;
	}
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	// Registered batch by batch, so that the kaio rows follow their raw reference.
	for (int batch : batch_sizes) {
		benchmark::RegisterBenchmark("raw_libaio", raw_libaio)
			->Arg(batch)
			->ArgName("batch");
		for (const kaio_variant &kaio : kaio_variants)
			benchmark::RegisterBenchmark(kaio.name, kaio_io_ctx, kaio)
				->Arg(batch)
				->ArgName("batch");
	}
	bool console = console_format(argc, argv);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	if (console) {
		auto options = isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
						     : benchmark::ConsoleReporter::OO_Tabular;
		ratio_reporter reporter(options);
		benchmark::RunSpecifiedBenchmarks(&reporter);
	} else {
		benchmark::RunSpecifiedBenchmarks();
	}
	benchmark::Shutdown();
	return 0;
}
