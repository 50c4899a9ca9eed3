#include "copy_file.hpp"

#include <chrono>
#include <optional>
#include <utility>

#include "copier.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "progress.hpp"
#include "verifier.hpp"

namespace kaio::cp {
namespace {

transfer transfer_of(file_end source, file_end destination, std::uint64_t size,
		     const options &wanted)
{
	return {std::move(source), std::move(destination), size, wanted.block_size, wanted.iodepth};
}

// The AIO context and the buffers, which may be refused (aio-max-nr, memory) before a byte of
// the destination has changed.
copier ready_pipeline(const source_file &source, const destination_file &destination,
		      const options &wanted)
{
	try {
		return copier(
			transfer_of(end_of(source), end_of(destination), source.size, wanted));
	} catch (...) {
		discard_if_created(destination);
		throw;
	}
}

// Returns the seconds the I/O took, without the set-up and tear-down of the pipeline: the
// kernel's io_destroy alone may take tens of milliseconds.
double copy_blocks(const source_file &source, destination_file &destination, const options &wanted)
{
	copier pipeline = ready_pipeline(source, destination, wanted);
	truncate_for_writing(destination);
	auto start = std::chrono::steady_clock::now();
	{
		progress_bar bar("copy", source.size);
		pipeline.copy(bar);
	}
	set_size(destination, source.size);
	if (wanted.fsync) {
		pipeline.sync_data();
		sync_file_and_entry(destination);
	}
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Both files afresh, read-only: what a reader of the destination would now get.
void verify(const options &wanted, std::uint64_t size)
{
	source_file source = open_source(wanted.source);
	source_file destination = open_source(wanted.destination);
	if (source.size != size) // grown or cut since it was opened for the copy
		throw failure(fmt::format("verify: {} is {} bytes long, {} were copied",
					  wanted.source, source.size, size));
	if (destination.size != size)
		throw failure(fmt::format("verify: {} is {} bytes long, {} is {}", wanted.source,
					  size, wanted.destination, destination.size));
	verifier checker(transfer_of(end_of(source), end_of(destination), size, wanted));
	progress_bar bar("verify", size);
	if (std::optional<std::uint64_t> offset = checker.first_difference(bar))
		throw failure(fmt::format("verify: {} and {} differ at offset {}", wanted.source,
					  wanted.destination, *offset));
}

} // namespace

copy_report copy_file(const options &wanted)
{
	source_file source = open_source(wanted.source);
	destination_file destination = open_destination(wanted.destination, source);
	double seconds = copy_blocks(source, destination, wanted);
	close_destination(destination);
	if (wanted.verify)
		verify(wanted, source.size);
	return {source.size, seconds};
}

} // namespace kaio::cp
