// Random sequences of every C API call against the model, with random faults from the kernel
// seam (see model_run.hpp). Each run draws a base seed and prints it on failure; replay with
// KAIO_MODEL_SEED=<seed> KAIO_MODEL_SEEDS=1. KAIO_MODEL_SEEDS and KAIO_MODEL_STEPS set how many
// sequences of how many steps (fewer by default in unoptimised, sanitized builds).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "model/model_run.hpp"

namespace {

std::uint64_t setting(const char *name, std::uint64_t otherwise)
{
	const char *value = std::getenv(name);
	return value != nullptr ? std::strtoull(value, nullptr, 0) : otherwise;
}

std::string test_directory()
{
	const char *base = std::getenv("KAIO_TEST_DIR");
	return base != nullptr ? base : std::filesystem::temp_directory_path().string();
}

#ifdef NDEBUG
constexpr std::uint64_t default_seeds = 40;
#else
constexpr std::uint64_t default_seeds = 10; // sanitizers make every step several times slower
#endif

TEST(Model, RandomSequencesWithRandomFaultsKeepEveryPromise)
{
	std::uint64_t base = setting("KAIO_MODEL_SEED", std::random_device{}());
	std::uint64_t seeds = setting("KAIO_MODEL_SEEDS", default_seeds);
	std::uint64_t steps = setting("KAIO_MODEL_STEPS", 400);
	unsigned long long requests = 0;
	unsigned long long faults = 0;
	for (std::uint64_t seed = base; seed < base + seeds; ++seed) {
		kaio::model::seeded_choices choose(seed);
		kaio::model::model_run run(choose, test_directory());
		kaio::model::run_summary summary = run.run(steps);
		ASSERT_TRUE(summary.failure.empty())
			<< summary.failure << "\nreplay: KAIO_MODEL_SEED=" << seed
			<< " KAIO_MODEL_SEEDS=1 KAIO_MODEL_STEPS=" << steps << " "
			<< ::testing::UnitTest::GetInstance()->current_test_info()->name();
		requests += summary.requests;
		faults += summary.faults;
	}
	std::printf("seeds %llu..%llu: %llu requests, %llu faults injected\n",
		    static_cast<unsigned long long>(base),
		    static_cast<unsigned long long>(base + seeds - 1), requests, faults);
	if (seeds >= 8) { // so many plans cannot all be fault-free: the seam was exercised
		EXPECT_GT(faults, 0u);
	}
}

} // namespace
