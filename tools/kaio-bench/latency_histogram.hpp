// Latencies in nanoseconds, counted in log-linear buckets as HdrHistogram does: every power of
// two is split into 64 equal sub-buckets, so a recorded value is known to within 1/64 (1.6 %)
// from 64 ns to centuries, in 30 KiB allocated once. Recording is an increment: no allocation,
// no sorting. Histograms of several jobs merge by adding their counts.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace kaio::bench {

class latency_histogram {
public:
	static constexpr unsigned sub_bucket_bits = 6;
	static constexpr std::uint64_t sub_buckets = 1U << sub_bucket_bits;
	// Values below 64 are exact; above, one row of 64 per power of two up to 2^63.
	static constexpr std::size_t bucket_count = (64 - sub_bucket_bits + 1) * sub_buckets;

	latency_histogram() : counts_(bucket_count) {}

	void record(std::uint64_t value) noexcept
	{
		++counts_[index_of(value)];
		++count_;
		sum_ += value;
		min_ = std::min(min_, value);
		max_ = std::max(max_, value);
	}

	void merge(const latency_histogram &other);

	std::uint64_t count() const noexcept { return count_; }
	// Exact, not bucketed; 0 when nothing was recorded.
	std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
	std::uint64_t max() const noexcept { return max_; }
	double mean() const noexcept { return count_ == 0 ? 0 : double(sum_) / double(count_); }

	// The value below which `percent` of the recorded values fall, to within a bucket's width;
	// 0 when nothing was recorded. `percent` is taken to 1/10000 of a percent.
	std::uint64_t percentile(double percent) const;

	static std::size_t index_of(std::uint64_t value) noexcept
	{
		if (value < sub_buckets)
			return value;
		unsigned shift = unsigned(std::bit_width(value)) - 1 - sub_bucket_bits;
		return (shift + 1) * sub_buckets + ((value >> shift) - sub_buckets);
	}

	// The smallest value and the width of the bucket at `index`.
	static std::uint64_t lowest_of(std::size_t index) noexcept;
	static std::uint64_t width_of(std::size_t index) noexcept;

private:
	std::vector<std::uint64_t> counts_;
	std::uint64_t count_ = 0;
	std::uint64_t sum_ = 0;
	std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
	std::uint64_t max_ = 0;
};

} // namespace kaio::bench
