#include "job_core.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "block_stamp.hpp"
#include "clocks.hpp"
#include "failure.hpp"

namespace kaio::bench {
namespace {

const char *verb(const io_request &io)
{
	return io.write ? "write" : "read";
}

} // namespace

job_core::job_core(const job_spec &spec)
	: spec_(spec), workload_(spec),
	  // In randrw a read may race a write of the same block; the final pass checks those.
	  check_reads_(spec.verify && reads_only(spec.rw))
{
	result_.index = spec.index;
	if (spec.verify && writes_any(spec.rw))
		result_.written_blocks.assign((spec.blocks + 63) / 64, 0);
}

kaio::aligned_buffer job_core::make_buffer() const
{
	// The largest power of two dividing bs, up to a page: enough for any device.
	std::size_t alignment = std::min<std::size_t>(std::size_t{1} << std::countr_zero(spec_.bs),
						      kaio::aligned_buffer::default_alignment);
	kaio::aligned_buffer buffer(spec_.bs, alignment);
	std::uint64_t noise = spec_.seed ^ (std::uint64_t{spec_.index} << 32);
	for (std::size_t at = 0; at + sizeof noise <= buffer.size(); at += sizeof noise) {
		noise = noise * 6364136223846793005 + 1442695040888963407;
		std::memcpy(buffer.data() + at, &noise, sizeof noise);
	}
	return buffer;
}

void job_core::start()
{
	cpu_at_start_ = thread_cpu_time();
	started_ns_ = now_ns();
	if (spec_.runtime_ns != job_spec::no_time_limit)
		deadline_ns_ = started_ns_ + spec_.runtime_ns;
}

bool job_core::keep_going(std::int64_t now) const noexcept
{
	return result_.errors == 0 && workload_.issued() < spec_.max_ios && now < deadline_ns_;
}

io_request job_core::next(std::span<std::byte> buffer) noexcept
{
	io_request io = workload_.next();
	if (io.write && spec_.verify)
		stamp_block(buffer, io.offset, spec_.generation);
	return io;
}

bool job_core::complete(const io_request &io, int result, std::int64_t latency_ns,
			std::span<const std::byte> buffer)
{
	if (result < 0) {
		fail(fmt::format("{} at offset {}: {}", verb(io), io.offset, reason_of(-result)));
		return false;
	}
	if (std::uint64_t(result) != spec_.bs) {
		fail(fmt::format("{} at offset {}: short {} ({} of {} bytes)", verb(io), io.offset,
				 verb(io), result, spec_.bs));
		return false;
	}
	if (!io.write && check_reads_) {
		if (stamp_check check = check_block(buffer, io.offset, std::nullopt); !check) {
			fail(fmt::format("verify at offset {}: {}", check.offset, describe(check)));
			return false;
		}
	}
	direction_result &direction = io.write ? result_.write : result_.read;
	++direction.ios;
	direction.bytes += spec_.bs;
	direction.latency.record(std::uint64_t(latency_ns));
	if (io.write && spec_.verify)
		mark_written(io.offset);
	return true;
}

void job_core::refused(const io_request &io, int error)
{
	fail(fmt::format("{} at offset {}: {}", verb(io), io.offset, reason_of(-error)));
}

void job_core::synced(int result)
{
	if (result < 0)
		fail(fmt::format("fdatasync: {}", reason_of(-result)));
	else
		++result_.syncs;
}

void job_core::wait_failed(int error)
{
	fail(fmt::format("waiting for completions: {}", reason_of(-error)));
}

void job_core::publish(job_progress &progress) const noexcept
{
	progress.ios.store(result_.ios(), std::memory_order_relaxed);
	progress.bytes.store(result_.bytes(), std::memory_order_relaxed);
}

job_result job_core::finish(const kaio::context_stats &stats)
{
	result_.elapsed_s = double(now_ns() - started_ns_) / 1e9;
	result_.cpu = thread_cpu_time() - cpu_at_start_;
	result_.kaio = stats;
	return std::move(result_);
}

void job_core::fail(std::string message)
{
	if (result_.messages.size() < job_result::kept_messages)
		result_.messages.push_back(std::move(message));
	++result_.errors;
}

void job_core::mark_written(std::uint64_t offset) noexcept
{
	std::uint64_t block = offset / spec_.bs;
	result_.written_blocks[block / 64] |= std::uint64_t{1} << (block % 64);
}

} // namespace kaio::bench
