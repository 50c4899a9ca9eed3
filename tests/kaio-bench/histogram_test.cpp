// The latency histogram: exact extremes and mean, percentiles within its bucket precision
// (half a bucket: 1/128 of the value), and merging.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "latency_histogram.hpp"

namespace kaio::bench {
namespace {

// Percentiles in hundredths of a percent (9990 for p99.9): integers keep ranks exact.
constexpr std::uint64_t whole = 10'000;

double percent_of(std::uint64_t hundredths)
{
	return double(hundredths) / 100;
}

// The value at `hundredths` of a sorted sample, by the nearest-rank method.
std::uint64_t exact_percentile(const std::vector<std::uint64_t> &sorted, std::uint64_t hundredths)
{
	std::size_t rank = (hundredths * sorted.size() + whole - 1) / whole;
	return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// `fast` values of 100 ns, then 1 ms up to `count`: both exact, as the extremes are.
latency_histogram fast_then_slow(std::uint64_t fast, std::uint64_t count)
{
	latency_histogram histogram;
	for (std::uint64_t i = 0; i < count; ++i)
		histogram.record(i < fast ? 100 : 1'000'000);
	return histogram;
}

void expect_percentiles_within_precision(std::vector<std::uint64_t> values)
{
	latency_histogram histogram;
	for (std::uint64_t value : values)
		histogram.record(value);
	std::sort(values.begin(), values.end());
	for (std::uint64_t hundredths : {100, 1000, 5000, 9000, 9900, 9990, 9999}) {
		double exact = double(exact_percentile(values, hundredths));
		double found = double(histogram.percentile(percent_of(hundredths)));
		EXPECT_LE(std::abs(found - exact), exact / 128 + 0.5)
			<< "p" << percent_of(hundredths) << ": " << found << " for " << exact;
	}
}

TEST(LatencyHistogram, EmptyReportsZeros)
{
	latency_histogram histogram;
	EXPECT_EQ(histogram.count(), 0U);
	EXPECT_EQ(histogram.min(), 0U);
	EXPECT_EQ(histogram.max(), 0U);
	EXPECT_EQ(histogram.mean(), 0.0);
	EXPECT_EQ(histogram.percentile(99), 0U);
}

TEST(LatencyHistogram, SmallValuesAreExact)
{
	latency_histogram histogram;
	for (std::uint64_t value = 1; value <= 60; ++value)
		histogram.record(value);
	EXPECT_EQ(histogram.percentile(50), 30U);
	EXPECT_EQ(histogram.percentile(90), 54U);
	EXPECT_EQ(histogram.percentile(100), 60U);
}

TEST(LatencyHistogram, MinMaxAndMeanAreExact)
{
	latency_histogram histogram;
	for (std::uint64_t value : {1000001U, 2000003U, 3000005U})
		histogram.record(value);
	EXPECT_EQ(histogram.count(), 3U);
	EXPECT_EQ(histogram.min(), 1000001U);
	EXPECT_EQ(histogram.max(), 3000005U);
	EXPECT_DOUBLE_EQ(histogram.mean(), 2000003.0);
	EXPECT_LE(histogram.percentile(100), histogram.max());
	EXPECT_GE(histogram.percentile(0.001), histogram.min());
}

TEST(LatencyHistogram, EveryValueFallsInItsBucket)
{
	std::vector<std::uint64_t> values{0, 1, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096};
	for (unsigned shift = 7; shift < 64; ++shift)
		for (std::uint64_t delta : {0ULL, 1ULL, 3ULL})
			values.push_back((std::uint64_t{1} << shift) +
					 delta * (1ULL << (shift - 7)));
	values.push_back(~std::uint64_t{0});
	for (std::uint64_t value : values) {
		std::size_t index = latency_histogram::index_of(value);
		ASSERT_LT(index, latency_histogram::bucket_count) << value;
		std::uint64_t lowest = latency_histogram::lowest_of(index);
		std::uint64_t width = latency_histogram::width_of(index);
		EXPECT_LE(lowest, value);
		EXPECT_LE(value - lowest, width - 1) << value;
		EXPECT_LE(double(width), double(std::max<std::uint64_t>(lowest, 64)) / 64) << value;
	}
}

TEST(LatencyHistogram, UniformPercentilesWithinPrecision)
{
	std::vector<std::uint64_t> values;
	for (std::uint64_t value = 1; value <= 1'000'000; value += 7)
		values.push_back(value);
	expect_percentiles_within_precision(values);
}

TEST(LatencyHistogram, LongTailedPercentilesWithinPrecision)
{
	// Storage latencies: most near 100 us, a long tail to tens of milliseconds.
	std::mt19937_64 random(42);
	std::lognormal_distribution<double> latency(std::log(100'000.0), 0.8);
	std::vector<std::uint64_t> values(200'000);
	for (std::uint64_t &value : values)
		value = std::uint64_t(latency(random));
	expect_percentiles_within_precision(values);
}

// Each reported percentile of `count` values is the value of rank exactly count * percent / 100:
// in floating point, 99.9 / 100 * 1000 is 999.0000000000001, which made p99.9 the 1000th.
TEST(LatencyHistogram, PercentileIsTheValueAtTheNearestRank)
{
	for (std::uint64_t count : {1000U, 10'000U, 100'000U}) {
		for (std::uint64_t hundredths : {5000U, 9000U, 9900U, 9990U, 9999U}) {
			if (hundredths * count % whole != 0)
				continue; // no value sits at exactly that rank
			std::uint64_t rank = hundredths * count / whole;
			double percent = percent_of(hundredths);
			EXPECT_EQ(fast_then_slow(rank, count).percentile(percent), 100U)
				<< "p" << percent << " of " << count;
			EXPECT_EQ(fast_then_slow(rank - 1, count).percentile(percent), 1'000'000U)
				<< "p" << percent << " of " << count;
		}
	}
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything)
{
	latency_histogram first, second, both;
	for (std::uint64_t value = 100; value < 200'000; value += 13) {
		(value % 3 == 0 ? first : second).record(value);
		both.record(value);
	}
	first.merge(second);
	EXPECT_EQ(first.count(), both.count());
	EXPECT_EQ(first.min(), both.min());
	EXPECT_EQ(first.max(), both.max());
	EXPECT_DOUBLE_EQ(first.mean(), both.mean());
	for (double percent : {50.0, 90.0, 99.0, 99.9, 99.99})
		EXPECT_EQ(first.percentile(percent), both.percentile(percent)) << percent;
}

TEST(LatencyHistogram, MergingAnEmptyOneChangesNothing)
{
	latency_histogram histogram, empty;
	histogram.record(5000);
	histogram.merge(empty);
	EXPECT_EQ(histogram.count(), 1U);
	EXPECT_EQ(histogram.min(), 5000U);
	EXPECT_EQ(histogram.max(), 5000U);
}

} // namespace
} // namespace kaio::bench
