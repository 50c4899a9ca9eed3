// The I/Os a job draws: jobs of one run, with one --seed, draw sequences of their own, and a
// run draws the same ones again.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "workload.hpp"

namespace kaio::bench {
namespace {

std::vector<std::uint64_t> offsets_of(unsigned job, unsigned count)
{
	job_spec spec;
	spec.index = job;
	spec.rw = rw_mode::randread;
	spec.blocks = 1 << 20;
	spec.seed = 1;
	workload draws(spec);
	std::vector<std::uint64_t> offsets;
	for (unsigned i = 0; i < count; ++i)
		offsets.push_back(draws.next().offset);
	return offsets;
}

TEST(Workload, JobsOfOneRunDrawOffsetsOfTheirOwn)
{
	constexpr unsigned jobs = 4, draws = 500;
	std::set<std::uint64_t> seen;
	for (unsigned job = 0; job < jobs; ++job) {
		std::vector<std::uint64_t> offsets = offsets_of(job, draws);
		seen.insert(offsets.begin(), offsets.end());
	}
	// Among 2^20 blocks, 2000 independent draws repeat a handful at most; shifted copies of
	// one sequence would give about 500.
	EXPECT_GT(seen.size(), jobs * draws - 20);
}

TEST(Workload, ARunDrawsTheSameOffsetsAgain)
{
	EXPECT_EQ(offsets_of(2, 100), offsets_of(2, 100));
}

} // namespace
} // namespace kaio::bench
