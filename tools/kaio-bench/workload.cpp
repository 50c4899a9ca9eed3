#include "workload.hpp"

namespace kaio::bench {

namespace {

constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15; // splitmix64's step

std::uint64_t finalize(std::uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
	return x ^ (x >> 31);
}

} // namespace

workload::workload(const job_spec &spec) noexcept
	: rw_(spec.rw), rwmixread_(spec.rwmixread), bs_(spec.bs), blocks_(spec.blocks),
	  // Each job its own sequence, the same from run to run. Scrambled: a start one step of
	  // the generator further would only be the previous job's sequence one draw later.
	  state_(finalize(spec.seed ^ finalize(spec.index + 1)))
{}

io_request workload::next() noexcept
{
	++issued_;
	bool write = next_is_write();
	return {next_block() * bs_, write};
}

// splitmix64: fast, and good enough to spread offsets and mix reads with writes.
std::uint64_t workload::random() noexcept
{
	return finalize(state_ += golden_gamma);
}

std::uint64_t workload::next_block() noexcept
{
	if (rw_ == rw_mode::read || rw_ == rw_mode::write) {
		std::uint64_t block = cursor_;
		cursor_ = cursor_ + 1 == blocks_ ? 0 : cursor_ + 1;
		return block;
	}
	return random() % blocks_;
}

bool workload::next_is_write() noexcept
{
	switch (rw_) {
	case rw_mode::read:
	case rw_mode::randread: return false;
	case rw_mode::write:
	case rw_mode::randwrite: return true;
	case rw_mode::randrw: break;
	}
	return random() % 100 >= rwmixread_;
}

} // namespace kaio::bench
