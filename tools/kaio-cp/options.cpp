#include "options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdint>
#include <string_view>

#include "byte_size.hpp"
#include "kaio/io_ctx.h"
#include "version_text.hpp"

namespace kaio::cp {
namespace {

constexpr int usage_error = 2;

// --bs: a size as people type it, in whole 512-byte sectors (O_DIRECT needs them), no larger
// than one request may carry.
std::optional<std::size_t> block_size_from(std::string_view text)
{
	std::optional<std::uint64_t> bytes = tools::parse_byte_size(text);
	if (!bytes || *bytes == 0 || *bytes % IO_CTX_ALIGNMENT != 0 ||
	    *bytes > static_cast<std::uint64_t>(IO_CTX_MAX_IO_BYTES))
		return std::nullopt;
	return static_cast<std::size_t>(*bytes);
}

command_line usage_failure(std::string_view message)
{
	fmt::print(stderr, "kaio-cp: {}\nTry 'kaio-cp --help' for more information.\n", message);
	return {std::nullopt, usage_error};
}

} // namespace

command_line parse_command_line(int argc, char **argv)
{
	options wanted;
	std::string block_size_text = "1m";
	CLI::App app("Copy a file with O_DIRECT and many I/Os in flight, through kernel AIO.",
		     "kaio-cp");
	app.add_option("SRC", wanted.source, "The file to copy")->required()->type_name("FILE");
	app.add_option("DST", wanted.destination, "The copy: created, or truncated and rewritten")
		->required()
		->type_name("FILE");
	app.add_option("--bs", block_size_text,
		       "Bytes per read and write: a multiple of 512; k, m, g for KiB, MiB, GiB")
		->capture_default_str()
		->type_name("SIZE");
	app.add_option("--iodepth", wanted.iodepth, "Blocks in flight at once")
		->capture_default_str()
		->type_name("N")
		->check(CLI::Range(1, IO_CTX_MAX_CAPACITY));
	app.add_flag("--fsync", wanted.fsync, "Make the copy durable before exiting");
	app.add_flag("--verify", wanted.verify,
		     "Read both files back and compare them; report the first difference");
	app.add_flag("-v,--verbose", wanted.verbose, "Print a summary: bytes, time, throughput");
	app.set_version_flag("--version", kaio::tools::version_text("kaio-cp"));
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		if (error.get_exit_code() == 0) // --help, --version
			return {std::nullopt, app.exit(error)};
		return usage_failure(error.what());
	}
	std::optional<std::size_t> block_size = block_size_from(block_size_text);
	if (!block_size)
		return usage_failure(fmt::format("--bs {}: not a multiple of 512 from 512 to {}",
						 block_size_text, IO_CTX_MAX_IO_BYTES));
	wanted.block_size = *block_size;
	return {wanted, 0};
}

} // namespace kaio::cp
