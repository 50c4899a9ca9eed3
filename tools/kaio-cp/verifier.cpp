#include "verifier.hpp"

#include <algorithm>
#include <utility>

namespace kaio::cp {
namespace {

// Half of --iodepth for each side, so that verifying keeps as many reads in flight, and as
// much memory, as copying.
transfer with_pairs_for_iodepth(transfer job)
{
	job.iodepth = std::max(1, job.iodepth / 2);
	return job;
}

} // namespace

verifier::verifier(transfer job)
	: job_(with_pairs_for_iodepth(std::move(job))),
	  context_(make_context(2 * blocks_needed(job_)))
{
	check_buffer_memory(job_, 2);
	pairs_.resize(static_cast<std::size_t>(blocks_needed(job_)));
	for (block_pair &pair : pairs_) {
		pair.source = {&job_.source, make_buffer(job_.block_size), 0};
		pair.destination = {&job_.destination, make_buffer(job_.block_size), 0};
	}
}

std::optional<std::uint64_t> verifier::first_difference(progress_bar &bar)
{
	for (block_pair &pair : pairs_)
		start(pair);
	int ran = 0;
	while ((ran = context_.process()) > 0)
		bar.update(compared_);
	if (ran < 0)
		fail(system_failure("waiting for I/O", -ran));
	if (!first_error_.empty())
		throw failure(first_error_);
	return difference_;
}

// Nothing starts past a difference: every block before it was started already.
void verifier::start(block_pair &next)
{
	bool past_end = next_offset_ >= static_cast<std::int64_t>(job_.size);
	if (!first_error_.empty() || difference_ || past_end)
		return;
	next.offset = next_offset_;
	next_offset_ += static_cast<std::int64_t>(job_.block_size);
	next.data_bytes = data_bytes_at(job_, next.offset);
	next.reading = 2;
	for (side *half : {&next.source, &next.destination}) {
		half->received = 0;
		submit_read(next, *half);
	}
}

void verifier::submit_read(block_pair &pair, side &half)
{
	std::int64_t at = pair.offset + static_cast<std::int64_t>(half.received);
	int key = context_.read(half.file->fd, half.buffer.span().subspan(half.received), at,
				[this, &pair, &half](int result) { on_read(pair, half, result); });
	if (key < 0)
		on_read(pair, half, key);
}

void verifier::on_read(block_pair &pair, side &half, int result)
{
	if (result < 0) {
		fail(io_failure("read", half.file->path,
				pair.offset + static_cast<std::int64_t>(half.received), -result));
	} else {
		half.received += static_cast<std::size_t>(result);
		if (half.received < pair.data_bytes && can_resume(result, half.received))
			return submit_read(pair, half);
	}
	if (--pair.reading > 0)
		return;
	if (first_error_.empty())
		compare(pair);
	start(pair);
}

// A block differs at its first unequal byte, or where one file ended early.
void verifier::compare(const block_pair &pair)
{
	std::size_t source_bytes = std::min(pair.source.received, pair.data_bytes);
	std::size_t destination_bytes = std::min(pair.destination.received, pair.data_bytes);
	std::size_t common = std::min(source_bytes, destination_bytes);
	const std::byte *source = pair.source.buffer.data();
	const std::byte *destination = pair.destination.buffer.data();
	auto at = static_cast<std::size_t>(
		std::mismatch(source, source + common, destination).first - source);
	if (at == pair.data_bytes) {
		compared_ += pair.data_bytes;
		return;
	}
	std::uint64_t offset = static_cast<std::uint64_t>(pair.offset) + at;
	difference_ = std::min(difference_.value_or(offset), offset);
}

void verifier::fail(const failure &error)
{
	if (first_error_.empty())
		first_error_ = error.what();
}

} // namespace kaio::cp
