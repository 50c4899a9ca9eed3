// kaio-bench's command line: fio's names and syntax, the defaults, and a one-line reason with
// exit status 2 for each kind of bad input.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

#include "kaio/version.h"
#include "options.hpp"

namespace kaio::bench {
namespace {

std::variant<options, early_exit> parse(std::initializer_list<const char *> arguments)
{
	std::vector<const char *> argv{"kaio-bench"};
	argv.insert(argv.end(), arguments);
	return parse_options(int(argv.size()), argv.data());
}

options parsed(std::initializer_list<const char *> arguments)
{
	auto result = parse(arguments);
	if (const early_exit *exit = std::get_if<early_exit>(&result))
		ADD_FAILURE() << "unexpected exit " << exit->status << ": " << exit->text;
	return std::holds_alternative<options>(result) ? std::get<options>(result) : options{};
}

early_exit refused(std::initializer_list<const char *> arguments)
{
	auto result = parse(arguments);
	if (!std::holds_alternative<early_exit>(result)) {
		ADD_FAILURE() << "accepted";
		return {};
	}
	return std::get<early_exit>(result);
}

void expect_usage_error(std::initializer_list<const char *> arguments, const std::string &names)
{
	early_exit exit = refused(arguments);
	EXPECT_EQ(exit.status, 2) << exit.text;
	EXPECT_NE(exit.text.find(names), std::string::npos) << exit.text;
	EXPECT_EQ(exit.text.find('\n'), std::string::npos) << exit.text;
}

TEST(BenchOptions, DefaultsAreFios)
{
	options wanted = parsed({});
	EXPECT_EQ(wanted.filename, "kaio-bench.dat");
	EXPECT_FALSE(wanted.size);
	EXPECT_EQ(wanted.rw, rw_mode::randread);
	EXPECT_EQ(wanted.rwmixread, 50U);
	EXPECT_EQ(wanted.bs, 4096U);
	EXPECT_EQ(wanted.iodepth, 32U);
	EXPECT_EQ(runtime_limit_s(wanted), 10.0);
	EXPECT_FALSE(wanted.number_ios);
	EXPECT_EQ(wanted.numjobs, 1U);
	EXPECT_EQ(wanted.format, output_format::normal);
	EXPECT_EQ(wanted.engine, engine_kind::kaio);
	EXPECT_EQ(wanted.submit, submit_mode::early);
	EXPECT_EQ(wanted.wait, wait_mode::getevents);
	EXPECT_TRUE(wanted.direct);
	EXPECT_EQ(wanted.backend, kaio::backend::from_environment);
	EXPECT_FALSE(wanted.fixedbufs);
	EXPECT_FALSE(wanted.registerfiles);
	EXPECT_EQ(wanted.fsync_every, 0U);
	EXPECT_FALSE(wanted.verify);
	EXPECT_EQ(wanted.seed, options::default_seed);
}

TEST(BenchOptions, TakesNameEqualsValueAndNameSpaceValue)
{
	options wanted = parsed({"--bs=8k",
				 "--iodepth",
				 "64",
				 "--rw",
				 "randrw",
				 "--rwmixread=70",
				 "--size",
				 "1g",
				 "--numjobs=4",
				 "--engine",
				 "psync",
				 "--output-format=json",
				 "--fsync",
				 "16",
				 "--seed=7",
				 "--verify",
				 "--filename",
				 "/tmp/x",
				 "--number_ios=100",
				 "--submit",
				 "gathered",
				 "--wait=poll",
				 "--direct=0"});
	EXPECT_EQ(wanted.bs, 8192U);
	EXPECT_EQ(wanted.iodepth, 64U);
	EXPECT_EQ(wanted.rw, rw_mode::randrw);
	EXPECT_EQ(wanted.rwmixread, 70U);
	EXPECT_EQ(wanted.size, 1ULL << 30);
	EXPECT_EQ(wanted.numjobs, 4U);
	EXPECT_EQ(wanted.engine, engine_kind::psync);
	EXPECT_EQ(wanted.format, output_format::json);
	EXPECT_EQ(wanted.fsync_every, 16U);
	EXPECT_EQ(wanted.seed, 7U);
	EXPECT_TRUE(wanted.verify);
	EXPECT_EQ(wanted.filename, "/tmp/x");
	EXPECT_EQ(wanted.number_ios, 100U);
	EXPECT_EQ(wanted.submit, submit_mode::gathered);
	EXPECT_EQ(wanted.wait, wait_mode::poll);
	EXPECT_FALSE(wanted.direct);
}

TEST(BenchOptions, EveryRwMode)
{
	EXPECT_EQ(parsed({"--rw=read"}).rw, rw_mode::read);
	EXPECT_EQ(parsed({"--rw=write"}).rw, rw_mode::write);
	EXPECT_EQ(parsed({"--rw=randread"}).rw, rw_mode::randread);
	EXPECT_EQ(parsed({"--rw=randwrite"}).rw, rw_mode::randwrite);
	EXPECT_EQ(parsed({"--rw=randrw"}).rw, rw_mode::randrw);
}

TEST(BenchOptions, TheLastOfARepeatedOptionCounts)
{
	EXPECT_EQ(parsed({"--bs=8k", "--bs=16k"}).bs, 16384U);
}

TEST(BenchOptions, RuntimeTakesFractionsAndUnits)
{
	EXPECT_EQ(runtime_limit_s(parsed({"--runtime=2.5"})), 2.5);
	EXPECT_EQ(runtime_limit_s(parsed({"--runtime=90s"})), 90.0);
	EXPECT_EQ(runtime_limit_s(parsed({"--runtime=5m"})), 300.0);
	EXPECT_EQ(runtime_limit_s(parsed({"--runtime=1h"})), 3600.0);
}

TEST(BenchOptions, NumberIosAloneLiftsTheTimeLimit)
{
	EXPECT_FALSE(runtime_limit_s(parsed({"--number_ios=5"})));
	EXPECT_EQ(runtime_limit_s(parsed({"--number_ios=5", "--runtime=3"})), 3.0);
}

TEST(BenchOptions, HelpAndVersionExitZero)
{
	early_exit help = refused({"--help"});
	EXPECT_EQ(help.status, 0);
	for (const char *option :
	     {"--filename", "--size", "--rw", "--rwmixread", "--bs", "--iodepth", "--runtime",
	      "--number_ios", "--numjobs", "--output-format", "--engine", "--fsync", "--verify",
	      "--seed", "--version"})
		EXPECT_NE(help.text.find(option), std::string::npos) << option;
	early_exit version = refused({"--version"});
	EXPECT_EQ(version.status, 0);
	EXPECT_EQ(version.text,
		  "kaio-bench " KAIO_VERSION_STRING " (libkaio " KAIO_VERSION_STRING ")");
}

TEST(BenchOptions, UnknownOptionsAndArgumentsAreRefused)
{
	expect_usage_error({"--bogus=1"}, "unknown option '--bogus=1'");
	expect_usage_error({"--iodepht", "1"}, "unknown option '--iodepht'");
	expect_usage_error({"file.dat"}, "unexpected argument 'file.dat'");
	expect_usage_error({"--bs"}, "--bs");
}

TEST(BenchOptions, SwitchesTakeNothingOrOneOrZero)
{
	EXPECT_TRUE(parsed({"--registerfiles"}).registerfiles);
	EXPECT_TRUE(parsed({"--registerfiles=1"}).registerfiles);
	EXPECT_FALSE(parsed({"--registerfiles=0"}).registerfiles);
	EXPECT_TRUE(parsed({"--fixedbufs=1"}).fixedbufs);
	EXPECT_FALSE(parsed({"--verify=0"}).verify);
	expect_usage_error({"--registerfiles=10"},
			   "--registerfiles: takes no value, or =1 or =0, not '10'");
	expect_usage_error({"--fixedbufs=yes"},
			   "--fixedbufs: takes no value, or =1 or =0, not 'yes'");
	expect_usage_error({"--verify=2"}, "--verify: takes no value, or =1 or =0, not '2'");
}

TEST(BenchOptions, SizesMustBeWholeSectors)
{
	expect_usage_error({"--size=1000"}, "--size: 1000 is not a multiple of 512");
	expect_usage_error({"--size=0"}, "--size");
	expect_usage_error({"--size=lots"}, "--size: 'lots' is not a size");
	expect_usage_error({"--bs=1000"}, "--bs: 1000 is not a multiple of 512");
	expect_usage_error({"--bs=4k", "--size=2k"}, "--bs: 4k is larger than --size 2k");
	expect_usage_error({"--bs=4g"}, "--bs: 4g is larger than the kernel's largest I/O");
}

TEST(BenchOptions, NumbersMustBeInRange)
{
	expect_usage_error({"--iodepth=0"}, "--iodepth: 0 is outside 1..65535");
	expect_usage_error({"--iodepth=65536"}, "--iodepth: 65536 is outside 1..65535");
	expect_usage_error({"--iodepth=many"}, "--iodepth: 'many' is not a whole number");
	expect_usage_error({"--rwmixread=101"}, "--rwmixread: 101 is outside 0..100");
	expect_usage_error({"--rwmixread=-1"}, "--rwmixread: '-1' is not a whole number");
	expect_usage_error({"--numjobs=0"}, "--numjobs: 0 is outside 1..1024");
	expect_usage_error({"--number_ios=0"}, "--number_ios: 0 is outside");
	expect_usage_error({"--runtime=0"}, "--runtime: '0' is not a positive number");
	expect_usage_error({"--runtime=soon"}, "--runtime: 'soon'");
	expect_usage_error({"--seed=x"}, "--seed: 'x' is not a whole number");
	expect_usage_error({"--fsync=-2"}, "--fsync");
}

TEST(BenchOptions, BuffersMustFitInTheMachinesMemory)
{
	expect_usage_error(
		{"--bs=1g", "--iodepth=65535"},
		"--bs 1073741824 x --iodepth 65535 x --numjobs 1: 65535.0 GiB of buffers, "
		"more than this machine's memory");
	parsed({"--bs=1m", "--iodepth=32", "--numjobs=2"});
	// psync has one buffer per job, whatever the depth; --verify reads back with up to 64.
	parsed({"--bs=1g", "--iodepth=65535", "--engine=psync"});
	expect_usage_error(
		{"--bs=2047m", "--size=4g", "--iodepth=65535", "--engine=psync", "--rw=write",
		 "--verify"},
		"--bs 2146435072 x 64 reads in flight for --verify: 127.9 GiB of buffers");
}

TEST(BenchOptions, NamesMustBeKnown)
{
	expect_usage_error({"--rw=readwrite"},
			   "--rw: unknown value 'readwrite' (expected read, write, randread, "
			   "randwrite or randrw)");
	expect_usage_error({"--engine=libaio"}, "--engine: unknown value 'libaio'");
	expect_usage_error({"--output-format=xml"}, "--output-format: unknown value 'xml'");
	expect_usage_error({"--wait=spin"},
			   "--wait: unknown value 'spin' (expected getevents or poll)");
	expect_usage_error({"--direct=2"}, "--direct");
	expect_usage_error({"--backend=io_uring"},
			   "--backend: unknown value 'io_uring' (expected aio, uring or auto)");
	expect_usage_error({"--filename="}, "--filename");
}

TEST(BenchOptions, BackendAndRegistrationsAreTaken)
{
	EXPECT_EQ(parsed({"--backend=aio"}).backend, kaio::backend::aio);
	EXPECT_EQ(parsed({"--backend=uring"}).backend, kaio::backend::uring);
	EXPECT_EQ(parsed({"--backend=auto"}).backend, kaio::backend::automatic);
	EXPECT_TRUE(parsed({"--fixedbufs"}).fixedbufs);
	EXPECT_FALSE(parsed({"--fixedbufs"}).registerfiles);
	EXPECT_TRUE(parsed({"--registerfiles"}).registerfiles);
	EXPECT_FALSE(parsed({"--registerfiles"}).fixedbufs);
}

} // namespace
} // namespace kaio::bench
