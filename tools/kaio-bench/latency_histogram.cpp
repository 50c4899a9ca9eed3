#include "latency_histogram.hpp"

#include <cmath>

namespace kaio::bench {

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
	double wanted = std::ceil(percent / 100 * double(count_));
	std::uint64_t rank = std::clamp<std::uint64_t>(std::uint64_t(wanted), 1, count_);
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
