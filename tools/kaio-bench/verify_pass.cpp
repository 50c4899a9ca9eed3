#include "verify_pass.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "aio_context.hpp"
#include "block_stamp.hpp"
#include "failure.hpp"
#include "kaio/aligned_buffer.hpp"

namespace kaio::bench {
namespace {

class verifier {
public:
	verifier(const target_file &target, const job_spec &spec,
		 const std::vector<std::uint64_t> &written, kaio::backend backend)
		: spec_(spec), written_(written), file_(target.open(false)),
		  ctx_(open_context(depth(spec), depth(spec), on(backend)))
	{
		slots_.reserve(depth(spec));
		for (unsigned i = 0; i < depth(spec); ++i)
			slots_.push_back({kaio::aligned_buffer(spec.bs), 0});
	}

	verify_outcome run()
	{
		for (slot &request : slots_)
			send(request);
		while (in_flight_ > 0) {
			if (int rc = ctx_.process(); rc < 0) {
				note(fmt::format("waiting for completions: {}", reason_of(-rc)));
				break; // the context's destructor drains the rest
			}
		}
		finished_ = true;
		return std::move(outcome_);
	}

private:
	struct slot {
		kaio::aligned_buffer buffer;
		std::uint64_t offset = 0;
	};

	static unsigned depth(const job_spec &spec)
	{
		return std::min(spec.iodepth, verify_max_depth);
	}

	// The next written block from `next_block_` on, or none.
	bool advance(std::uint64_t &block)
	{
		while (next_block_ < spec_.blocks) {
			std::uint64_t word = written_[next_block_ / 64] >> (next_block_ % 64);
			if (word == 0) { // no written block left in this word
				next_block_ = (next_block_ / 64 + 1) * 64;
				continue;
			}
			next_block_ += std::uint64_t(std::countr_zero(word));
			block = next_block_++;
			return true;
		}
		return false;
	}

	void send(slot &request)
	{
		std::uint64_t block = 0;
		if (!advance(block))
			return;
		request.offset = block * spec_.bs;
		int key = ctx_.read(file_.get(), request.buffer, std::int64_t(request.offset),
				    [this, &request](int result) { received(request, result); });
		if (key < 0)
			note(fmt::format("read at offset {}: {}", request.offset, reason_of(-key)));
		else
			++in_flight_;
	}

	void received(slot &request, int result)
	{
		--in_flight_;
		if (finished_)
			return;
		++outcome_.blocks;
		if (result < 0) {
			note(fmt::format("read at offset {}: {}", request.offset,
					 reason_of(-result)));
		} else if (std::uint64_t(result) != spec_.bs) {
			note(fmt::format("read at offset {}: short read ({} of {} bytes)",
					 request.offset, result, spec_.bs));
		} else if (stamp_check check = check_block(request.buffer.span(), request.offset,
							   spec_.generation);
			   !check) {
			note(fmt::format("verify at offset {}: {}", check.offset, describe(check)));
		}
		send(request);
	}

	void note(std::string message)
	{
		if (outcome_.messages.size() < verify_outcome::kept_messages)
			outcome_.messages.push_back(std::move(message));
		++outcome_.errors;
	}

	const job_spec &spec_;
	const std::vector<std::uint64_t> &written_;
	tools::unique_fd file_;
	std::uint64_t next_block_ = 0;
	unsigned in_flight_ = 0;
	verify_outcome outcome_;
	// Once run() has handed outcome_ over: the reads that the context's destructor still
	// completes after a failed wait are ignored, and send no more.
	bool finished_ = false;
	std::vector<slot> slots_;
	kaio::context ctx_; // last member: destroyed first, while the buffers still exist
};

} // namespace

verify_outcome verify_written(const target_file &target, const job_spec &spec,
			      const std::vector<std::uint64_t> &written, kaio::backend backend)
{
	if (written.empty())
		return {};
	return verifier(target, spec, written, backend).run();
}

} // namespace kaio::bench
