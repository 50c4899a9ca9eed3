// kaio-bench's command line, named as in fio: what to run, parsed and checked before any file
// is touched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "kaio/operation.hpp"

namespace kaio::bench {

enum class rw_mode { read, write, randread, randwrite, randrw };
enum class engine_kind { kaio, psync };
// How kaio sends what completion callbacks submit (IO_CTX_SUBMIT_EARLY, or all together).
enum class submit_mode { early, gathered };
// How kaio waits for completions: in io_getevents (IO_CTX_WAIT_IN_GETEVENTS), or poll(2) on its
// eventfd, as an event loop would.
enum class wait_mode { getevents, poll };
enum class output_format { normal, json };

struct options {
	static constexpr std::uint64_t default_size = 1ULL << 30;
	static constexpr double default_runtime_s = 10;
	static constexpr std::uint64_t default_seed = 0x6b61696f; // "kaio": runs repeat

	std::string filename = "kaio-bench.dat";
	std::optional<std::uint64_t> size; // none: 1 GiB, or a block device's size
	rw_mode rw = rw_mode::randread;    // the workload people ask a disk about first
	unsigned rwmixread = 50;           // percent of reads in randrw
	std::uint64_t bs = 4096;
	unsigned iodepth = 32;
	std::optional<double> runtime_s;         // none: 10 s, or no limit with number_ios
	std::optional<std::uint64_t> number_ios; // per job
	unsigned numjobs = 1;
	output_format format = output_format::normal;
	engine_kind engine = engine_kind::kaio;
	submit_mode submit = submit_mode::early; // fio sends each I/O as its slot frees
	wait_mode wait = wait_mode::getevents;   // fio's libaio engine waits in io_getevents too
	kaio::backend backend =
		kaio::backend::from_environment; // the library's: KAIO_BACKEND, else aio
	bool fixedbufs = false;                  // register the buffers, as fio's fixedbufs=1
	bool registerfiles = false;              // register the file, as fio's registerfiles=1
	std::uint64_t fsync_every = 0;           // writes per fdatasync; 0: never
	bool verify = false;
	bool direct = true; // O_DIRECT; --direct=0 shows kaio's worker threads at work
	std::uint64_t seed = default_seed;
};

// The run ends when either limit is reached; absent limits are none.
std::optional<double> runtime_limit_s(const options &wanted);

bool reads_only(rw_mode rw);
bool writes_any(rw_mode rw);

std::string_view name_of(rw_mode rw);
std::string_view name_of(engine_kind engine);
std::string_view name_of(submit_mode submit);
std::string_view name_of(wait_mode wait);
std::string_view name_of(kaio::backend backend);

// What main() does instead of a run: print `text` (to stdout for --help and --version, to stderr
// as "kaio-bench: text" for an error) and exit with `status`.
struct early_exit {
	int status;
	std::string text;
};

std::variant<options, early_exit> parse_options(int argc, const char *const *argv);

} // namespace kaio::bench
