#include "copier.hpp"

#include <algorithm>
#include <utility>

namespace kaio::cp {
namespace {

// The last block is written in whole 4 KiB sectors where the block size allows, as O_DIRECT on
// a device with 4 KiB sectors takes nothing smaller; the caller cuts the excess afterwards.
std::size_t write_length(std::size_t data_bytes, std::size_t block_size)
{
	constexpr std::size_t sector = kaio::aligned_buffer::default_alignment;
	return std::min((data_bytes + sector - 1) / sector * sector, block_size);
}

} // namespace

copier::copier(transfer job) : job_(std::move(job)), context_(make_context(blocks_needed(job_)))
{
	check_buffer_memory(job_, 1);
	blocks_.resize(static_cast<std::size_t>(blocks_needed(job_)));
	for (block &each : blocks_)
		each.buffer = make_buffer(job_.block_size);
}

void copier::copy(progress_bar &bar)
{
	for (block &each : blocks_)
		start_read(each);
	run(&bar);
	throw_first_error();
}

void copier::sync_data()
{
	const std::string &path = job_.destination.path;
	int key = context_.fdatasync(job_.destination.fd, [this, &path](int result) {
		if (result < 0)
			fail(system_failure(fmt::format("fdatasync {}", path), -result));
	});
	if (key < 0)
		fail(system_failure(fmt::format("fdatasync {}", path), -key));
	run(nullptr);
	throw_first_error();
}

// Takes the next block of the file, if any is left and nothing has failed; else the block rests.
void copier::start_read(block &next)
{
	if (!first_error_.empty() || next_offset_ >= static_cast<std::int64_t>(job_.size))
		return;
	next.offset = next_offset_;
	next_offset_ += static_cast<std::int64_t>(job_.block_size);
	next.data_bytes = data_bytes_at(job_, next.offset);
	// Always the whole block: at the end of the file the read just comes back short.
	next.io_bytes = job_.block_size;
	next.transferred = 0;
	submit_read(next);
}

void copier::submit_read(block &pending)
{
	int key = context_.read(job_.source.fd, pending.rest(), pending.position(),
				[this, &pending](int result) { on_read(pending, result); });
	if (key < 0)
		fail(io_failure("read", job_.source.path, pending.position(), -key));
}

void copier::on_read(block &current, int result)
{
	if (result < 0)
		return fail(io_failure("read", job_.source.path, current.position(), -result));
	if (!first_error_.empty())
		return; // stop submitting: the block rests
	current.transferred += static_cast<std::size_t>(result);
	if (current.transferred >= current.data_bytes)
		return start_write(current);
	if (!can_resume(result, current.transferred))
		return fail(failure(fmt::format("read {} at offset {}: the file ended early (did "
						"it shrink while being copied?)",
						job_.source.path, current.position())));
	submit_read(current);
}

void copier::start_write(block &full)
{
	full.io_bytes = write_length(full.data_bytes, job_.block_size);
	full.transferred = 0;
	submit_write(full);
}

void copier::submit_write(block &pending)
{
	int key = context_.write(job_.destination.fd, pending.rest(), pending.position(),
				 [this, &pending](int result) { on_write(pending, result); });
	if (key < 0)
		fail(io_failure("write", job_.destination.path, pending.position(), -key));
}

void copier::on_write(block &current, int result)
{
	if (result < 0)
		return fail(
			io_failure("write", job_.destination.path, current.position(), -result));
	if (!first_error_.empty())
		return; // stop submitting: the block rests
	current.transferred += static_cast<std::size_t>(result);
	if (current.transferred >= current.io_bytes) {
		copied_ += current.data_bytes;
		return start_read(current);
	}
	if (!can_resume(result, current.transferred))
		return fail(failure(fmt::format("write {} at offset {}: short write",
						job_.destination.path, current.position())));
	submit_write(current);
}

// Runs completions, and through them the pipeline, until nothing is in flight.
void copier::run(progress_bar *bar)
{
	int ran = 0;
	while ((ran = context_.process()) > 0) {
		if (bar != nullptr)
			bar->update(copied_);
	}
	if (ran < 0)
		fail(system_failure("waiting for I/O", -ran));
}

void copier::fail(const failure &error)
{
	if (first_error_.empty())
		first_error_ = error.what();
}

void copier::throw_first_error() const
{
	if (!first_error_.empty())
		throw failure(first_error_);
}

} // namespace kaio::cp
