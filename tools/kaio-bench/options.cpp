#include "options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include "byte_size.hpp"
#include "failure.hpp"
#include "kaio/io_ctx.h"
#include "verify_pass.hpp"
#include "version_text.hpp"

namespace kaio::bench {
namespace {

constexpr unsigned max_numjobs = 1024;

constexpr std::array rw_names{
	std::pair{"read", rw_mode::read},         std::pair{"write", rw_mode::write},
	std::pair{"randread", rw_mode::randread}, std::pair{"randwrite", rw_mode::randwrite},
	std::pair{"randrw", rw_mode::randrw},
};
constexpr std::array engine_names{
	std::pair{"kaio", engine_kind::kaio},
	std::pair{"psync", engine_kind::psync},
};
constexpr std::array submit_names{
	std::pair{"early", submit_mode::early},
	std::pair{"gathered", submit_mode::gathered},
};
constexpr std::array wait_names{
	std::pair{"getevents", wait_mode::getevents},
	std::pair{"poll", wait_mode::poll},
};
constexpr std::array backend_names{
	std::pair{"aio", kaio::backend::aio},
	std::pair{"uring", kaio::backend::uring},
	std::pair{"auto", kaio::backend::automatic},
};
constexpr std::array format_names{
	std::pair{"normal", output_format::normal},
	std::pair{"json", output_format::json},
};

// The options as typed; converted and checked afterwards, so every message has one style.
struct typed_options {
	std::string size, rw, rwmixread, bs, iodepth, runtime, number_ios, numjobs;
	std::string format, engine, submit, wait, fsync, seed, direct, backend;
};

template <class Value, std::size_t N>
Value choice(const std::array<std::pair<const char *, Value>, N> &names, std::string_view option,
	     std::string_view text)
{
	for (const auto &[name, value] : names)
		if (text == name)
			return value;
	std::string known;
	for (std::size_t i = 0; i < N; ++i) {
		known += i == 0 ? "" : i + 1 == N ? " or " : ", ";
		known += names[i].first;
	}
	throw usage_failure(
		fmt::format("{}: unknown value '{}' (expected {})", option, text, known));
}

std::uint64_t whole_number(std::string_view option, std::string_view text, std::uint64_t lowest,
			   std::uint64_t highest)
{
	std::uint64_t value = 0;
	auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (error != std::errc{} || end != text.data() + text.size() || text.empty())
		throw usage_failure(fmt::format("{}: '{}' is not a whole number", option, text));
	if (value < lowest || value > highest)
		throw usage_failure(
			fmt::format("{}: {} is outside {}..{}", option, text, lowest, highest));
	return value;
}

// A size in whole 512-byte sectors: O_DIRECT transfers nothing smaller.
std::uint64_t sector_size(std::string_view option, std::string_view text)
{
	std::optional<std::uint64_t> bytes = tools::parse_byte_size(text);
	if (!bytes || *bytes == 0)
		throw usage_failure(fmt::format("{}: '{}' is not a size (like 4096, 4k, 1m, 1g)",
						option, text));
	if (*bytes % IO_CTX_ALIGNMENT != 0)
		throw usage_failure(fmt::format("{}: {} is not a multiple of {}", option, text,
						IO_CTX_ALIGNMENT));
	// File offsets are signed 64-bit numbers.
	if (*bytes > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
		throw usage_failure(fmt::format("{}: {} is larger than any file", option, text));
	return *bytes;
}

// Seconds as fio takes them: 10, 2.5, or with a unit: 90s, 5m, 1h.
double seconds(std::string_view text)
{
	double value = 0;
	auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
	std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
	double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
	if (error != std::errc{} || end == text.data() || scale == 0 || !(value > 0))
		throw usage_failure(fmt::format(
			"--runtime: '{}' is not a positive number of seconds (like 10, 2.5, 5m)",
			text));
	// Below a millisecond nothing would run; above a year the deadline in nanoseconds nears
	// the end of its 64 bits.
	constexpr double shortest = 1e-3;
	constexpr double longest = 365.0 * 24 * 3600;
	double total = value * scale;
	if (!(total >= shortest && total <= longest))
		throw usage_failure(fmt::format(
			"--runtime: '{}' is outside 1 ms to one year ({} s)", text, longest));
	return total;
}

void add_options(CLI::App &app, options &wanted, typed_options &typed)
{
	auto add = [&app](const char *name, const char *value, std::string &into,
			  const char *help) {
		app.add_option(name, into, help)
			->type_name(value)
			->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
	};
	add("--filename", "PATH", wanted.filename, "File or block device (default kaio-bench.dat)");
	add("--size", "SIZE", typed.size,
	    "Bytes of the file to use, a multiple of 512 (default 1g)");
	add("--rw", "MODE", typed.rw,
	    "read, write, randread, randwrite or randrw (default randread)");
	add("--rwmixread", "PERCENT", typed.rwmixread, "Percent of reads in randrw (default 50)");
	add("--bs", "SIZE", typed.bs, "Bytes per I/O, a multiple of 512 (default 4k)");
	add("--iodepth", "N", typed.iodepth, "I/Os in flight per job, 1..65535 (default 32)");
	add("--runtime", "SECONDS", typed.runtime, "Seconds to run (default 10)");
	add("--number_ios", "N", typed.number_ios, "Stop each job after this many I/Os");
	add("--numjobs", "N", typed.numjobs,
	    "Threads, each with its own file descriptor (default 1)");
	add("--output-format", "FORMAT", typed.format, "normal or json (default normal)");
	add("--engine", "NAME", typed.engine, "kaio or psync (default kaio)");
	add("--submit", "MODE", typed.submit,
	    "early or gathered: how kaio sends what callbacks submit (default early)");
	add("--direct", "0|1", typed.direct,
	    "1: open with O_DIRECT (default); 0: through the page cache, where kaio uses workers");
	add("--wait", "MODE", typed.wait,
	    "getevents or poll: how kaio waits for completions (default getevents)");
	add("--backend", "NAME", typed.backend,
	    "aio, uring or auto: kaio's kernel interface (default $KAIO_BACKEND, else aio)");
	// A bare switch, or =1 / =0 as in fio's job files; =10 or =yes is a typo, not a yes.
	auto add_switch = [&app](const char *name, bool &into, const char *help) {
		auto zero_or_one = [](std::string &given) {
			// CLI11 hands a bare switch over as "true".
			return given == "true" || given == "1" || given == "0"
				       ? std::string()
				       : fmt::format("takes no value, or =1 or =0, not '{}'",
						     given);
		};
		app.add_flag(name, into, help)->check(CLI::Validator(zero_or_one, ""));
	};
	add_switch("--fixedbufs", wanted.fixedbufs,
		   "Register the buffers with the context (fio's fixedbufs=1)");
	add_switch("--registerfiles", wanted.registerfiles,
		   "Register the file with the context (fio's registerfiles=1)");
	add("--fsync", "N", typed.fsync, "fdatasync every N writes (default 0: never)");
	add("--seed", "N", typed.seed, "Seed of the random offsets (default fixed)");
	add_switch("--verify", wanted.verify, "Stamp written blocks and check them; check reads");
	app.set_version_flag("--version", tools::version_text("kaio-bench"));
	app.allow_extras(); // reported below in fio's words rather than CLI11's
}

// Each job fills a buffer per slot before it starts: more than the machine has brings the
// out-of-memory killer after the layout, not a message (1g typed for 1m, say).
void check_buffer_memory(const options &wanted)
{
	// psync has one request in flight per job, whatever --iodepth says.
	unsigned depth = wanted.engine == engine_kind::psync ? 1 : wanted.iodepth;
	// At most 65535 * 2^31 * 1024 bytes: no overflow.
	std::uint64_t buffers = std::uint64_t{depth} * wanted.bs * wanted.numjobs;
	std::string what = fmt::format("--bs {} x --iodepth {} x --numjobs {}", wanted.bs, depth,
				       wanted.numjobs);
	// --verify reads back after the jobs, with buffers of its own (verify_pass.hpp).
	std::uint64_t verify_depth = std::min(wanted.iodepth, verify_max_depth);
	if (wanted.verify && writes_any(wanted.rw) && verify_depth * wanted.bs > buffers) {
		buffers = verify_depth * wanted.bs;
		what = fmt::format("--bs {} x {} reads in flight for --verify", wanted.bs,
				   verify_depth);
	}
	auto memory =
		std::uint64_t(::sysconf(_SC_PHYS_PAGES)) * std::uint64_t(::sysconf(_SC_PAGESIZE));
	if (buffers > memory)
		throw usage_failure(fmt::format("{}: {:.1f} GiB of buffers, more than this "
						"machine's memory ({:.1f} GiB)",
						what, double(buffers) / (1 << 30),
						double(memory) / (1 << 30)));
}

void convert(const typed_options &typed, options &wanted)
{
	if (!typed.size.empty())
		wanted.size = sector_size("--size", typed.size);
	if (!typed.rw.empty())
		wanted.rw = choice(rw_names, "--rw", typed.rw);
	if (!typed.rwmixread.empty())
		wanted.rwmixread =
			static_cast<unsigned>(whole_number("--rwmixread", typed.rwmixread, 0, 100));
	if (!typed.bs.empty())
		wanted.bs = sector_size("--bs", typed.bs);
	if (wanted.bs > static_cast<std::uint64_t>(IO_CTX_MAX_IO_BYTES))
		throw usage_failure(
			fmt::format("--bs: {} is larger than the kernel's largest I/O ({})",
				    typed.bs, IO_CTX_MAX_IO_BYTES));
	if (wanted.size && wanted.bs > *wanted.size)
		throw usage_failure(
			fmt::format("--bs: {} is larger than --size {}", typed.bs, typed.size));
	if (!typed.iodepth.empty())
		wanted.iodepth = static_cast<unsigned>(
			whole_number("--iodepth", typed.iodepth, 1, IO_CTX_MAX_CAPACITY));
	if (!typed.runtime.empty())
		wanted.runtime_s = seconds(typed.runtime);
	if (!typed.number_ios.empty())
		wanted.number_ios = whole_number("--number_ios", typed.number_ios, 1,
						 std::numeric_limits<std::uint64_t>::max());
	if (!typed.numjobs.empty())
		wanted.numjobs = static_cast<unsigned>(
			whole_number("--numjobs", typed.numjobs, 1, max_numjobs));
	if (!typed.format.empty())
		wanted.format = choice(format_names, "--output-format", typed.format);
	if (!typed.engine.empty())
		wanted.engine = choice(engine_names, "--engine", typed.engine);
	if (!typed.submit.empty())
		wanted.submit = choice(submit_names, "--submit", typed.submit);
	if (!typed.direct.empty())
		wanted.direct = whole_number("--direct", typed.direct, 0, 1) == 1;
	if (!typed.wait.empty())
		wanted.wait = choice(wait_names, "--wait", typed.wait);
	if (!typed.backend.empty())
		wanted.backend = choice(backend_names, "--backend", typed.backend);
	if (!typed.fsync.empty())
		wanted.fsync_every = whole_number("--fsync", typed.fsync, 0,
						  std::numeric_limits<std::uint64_t>::max());
	if (!typed.seed.empty())
		wanted.seed = whole_number("--seed", typed.seed, 0,
					   std::numeric_limits<std::uint64_t>::max());
	if (wanted.filename.empty())
		throw usage_failure("--filename: empty");
	check_buffer_memory(wanted);
}

early_exit unexpected(std::string_view argument)
{
	if (argument.starts_with('-'))
		return {exit_usage, fmt::format("unknown option '{}'", argument)};
	return {exit_usage,
		fmt::format("unexpected argument '{}' (options are --name=value)", argument)};
}

} // namespace

std::optional<double> runtime_limit_s(const options &wanted)
{
	if (wanted.runtime_s)
		return wanted.runtime_s;
	if (wanted.number_ios)
		return std::nullopt;
	return options::default_runtime_s;
}

bool reads_only(rw_mode rw)
{
	return rw == rw_mode::read || rw == rw_mode::randread;
}

bool writes_any(rw_mode rw)
{
	return !reads_only(rw);
}

std::string_view name_of(rw_mode rw)
{
	for (const auto &[name, value] : rw_names)
		if (value == rw)
			return name;
	return "?";
}

std::string_view name_of(submit_mode submit)
{
	return submit == submit_mode::early ? "early" : "gathered";
}

std::string_view name_of(wait_mode wait)
{
	return wait == wait_mode::getevents ? "getevents" : "poll";
}

std::string_view name_of(kaio::backend backend)
{
	for (const auto &[name, value] : backend_names)
		if (value == backend)
			return name;
	return "default";
}

std::string_view name_of(engine_kind engine)
{
	return engine == engine_kind::kaio ? "kaio" : "psync";
}

std::variant<options, early_exit> parse_options(int argc, const char *const *argv)
{
	options wanted;
	typed_options typed;
	CLI::App app(
		"A storage benchmark in the manner of fio, over Linux kernel AIO through kaio.",
		"kaio-bench");
	add_options(app, wanted, typed);
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		if (error.get_exit_code() == 0) // --help, --version
			return early_exit{0, error.get_name() == "CallForHelp" ? app.help()
									       : error.what()};
		return early_exit{exit_usage, error.what()};
	}
	if (!app.remaining().empty())
		return unexpected(app.remaining().front());
	try {
		convert(typed, wanted);
	} catch (const failure &bad) {
		return early_exit{bad.status(), bad.what()};
	}
	return wanted;
}

} // namespace kaio::bench
