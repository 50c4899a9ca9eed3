// Random sequences of every C API call against the model: on AIO with random faults from the
// kernel seam, on io_uring on the real ring and with the seam's faults (see model_run.hpp). Each
// run draws a base seed and prints it on failure; replay with KAIO_MODEL_SEED=<seed>
// KAIO_MODEL_SEEDS=1. KAIO_MODEL_SEEDS and KAIO_MODEL_STEPS set how many sequences of how many
// steps (fewer by default in unoptimised, sanitized builds).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// KAIO_TEST_DIR, else the temporary directory, else (`in_memory`) /dev/shm where it exists.
std::string test_directory(bool in_memory = false)
{
	if (const char *base = std::getenv("KAIO_TEST_DIR"); base != nullptr)
		return base;
	if (in_memory && std::filesystem::is_directory("/dev/shm"))
		return "/dev/shm";
	return std::filesystem::temp_directory_path().string();
}

#ifdef NDEBUG
constexpr std::uint64_t default_seeds = 40;
#else
constexpr std::uint64_t default_seeds = 10; // sanitizers make every step several times slower
#endif

// Runs KAIO_MODEL_SEEDS sequences on `backend` (through the fault seam when `faults`) in
// `directory` from a random base seed (or KAIO_MODEL_SEED); the faults the seam injected in all.
unsigned long long run_seeds(unsigned backend, bool faults,
			     const std::string &directory = test_directory())
{
	std::uint64_t base = setting("KAIO_MODEL_SEED", std::random_device{}());
	std::uint64_t seeds = setting("KAIO_MODEL_SEEDS", default_seeds);
	std::uint64_t steps = setting("KAIO_MODEL_STEPS", 400);
	unsigned long long requests = 0;
	unsigned long long injected = 0;
	for (std::uint64_t seed = base; seed < base + seeds; ++seed) {
		kaio::model::seeded_choices choose(seed);
		kaio::model::model_run run(choose, directory, backend, faults);
		kaio::model::run_summary summary = run.run(steps);
		EXPECT_TRUE(summary.failure.empty())
			<< summary.failure << "\nreplay: KAIO_MODEL_SEED=" << seed
			<< " KAIO_MODEL_SEEDS=1 KAIO_MODEL_STEPS=" << steps << " "
			<< ::testing::UnitTest::GetInstance()->current_test_info()->name();
		requests += summary.requests;
		injected += summary.faults;
		if (!summary.failure.empty())
			break;
	}
	std::printf("seeds %llu..%llu: %llu requests, %llu faults injected\n",
		    static_cast<unsigned long long>(base),
		    static_cast<unsigned long long>(base + seeds - 1), requests, injected);
	return seeds >= 8 ? injected : 1; // so many plans cannot all be fault-free
}

// Empty when an io_uring context can be created here; else why not.
std::string uring_missing()
{
	io_ctx probe{};
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.backend = IO_CTX_BACKEND_URING;
	if (int rc = io_ctx_create_opts(&probe, 1, nullptr, &options); rc < 0)
		return std::string("no io_uring here: ") + std::strerror(-rc);
	io_ctx_destroy(&probe);
	return {};
}

TEST(Model, RandomSequencesWithRandomFaultsKeepEveryPromise)
{
	EXPECT_GT(run_seeds(IO_CTX_BACKEND_AIO, true), 0u) << "the seam injected no fault";
}

// The real ring, no seam: cancels the kernel may grant, registered files and buffers, a ring
// bound to one thread.
TEST(Model, RandomSequencesOnIoUringKeepEveryPromise)
{
	if (std::string missing = uring_missing(); !missing.empty())
		GTEST_SKIP() << missing;
	run_seeds(IO_CTX_BACKEND_URING, false);
}

// The fault seam over io_uring: every fault of the AIO run, with cancels the kernel may grant and
// registered files and buffers. In memory unless KAIO_TEST_DIR says otherwise: what it adds is
// the faults, the tests above cover the disk, and on ext4 it spent 55 s waiting for the disk in
// a run of the whole suite (7 s alone), against about 1 s in memory.
TEST(Model, RandomSequencesOnIoUringWithRandomFaultsKeepEveryPromise)
{
	if (std::string missing = uring_missing(); !missing.empty())
		GTEST_SKIP() << missing;
	EXPECT_GT(run_seeds(IO_CTX_BACKEND_URING, true, test_directory(true)), 0u)
		<< "the seam injected no fault";
}

} // namespace
