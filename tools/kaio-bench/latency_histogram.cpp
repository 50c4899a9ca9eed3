#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace kaio::bench {
namespace {

// ceil(percent / 100 * count), in integers: in floating point, 99.9 / 100 * 1000 is
// 999.0000000000001, which made p99.9 of 1000 values their maximum.
std::uint64_t nearest_rank(double percent, std::uint64_t count)
{
	constexpr std::uint64_t million = 1'000'000;
	auto millionths = std::uint64_t(std::llround(std::clamp(percent, 0.0, 100.0) * 10'000));
	// In two parts, so that no product overflows.
	std::uint64_t rank = count / million * millionths +
			     (count % million * millionths + million - 1) / million;
	return std::clamp<std::uint64_t>(rank, 1, count);
}

} // namespace

void latency_histogram::merge(const latency_histogram &other)
{
	for (std::size_t i = 0; i < bucket_count; ++i)
		counts_[i] += other.counts_[i];
	count_ += other.count_;
	sum_ += other.sum_;
	min_ = std::min(min_, other.min_);
	max_ = std::max(max_, other.max_);
}

std::uint64_t latency_histogram::lowest_of(std::size_t index) noexcept
{
	if (index < sub_buckets)
		return index;
	std::size_t row = index / sub_buckets; // 1 for [64, 128), 2 for [128, 256), ...
	return (sub_buckets + index % sub_buckets) << (row - 1);
}

std::uint64_t latency_histogram::width_of(std::size_t index) noexcept
{
	std::size_t row = index / sub_buckets;
	return row == 0 ? 1 : std::uint64_t{1} << (row - 1);
}

std::uint64_t latency_histogram::percentile(double percent) const
{
	if (count_ == 0)
		return 0;
	std::uint64_t rank = nearest_rank(percent, count_);
	std::uint64_t seen = 0;
	std::size_t index = 0;
	for (; index < bucket_count; ++index) {
		seen += counts_[index];
		if (seen >= rank)
			break;
	}
	// The middle of the bucket halves the error; the exact extremes bound it.
	std::uint64_t middle = lowest_of(index) + width_of(index) / 2;
	return std::clamp(middle, min(), max_);
}

} // namespace kaio::bench
