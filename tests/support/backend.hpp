// The suite runs twice: once on AIO, once with KAIO_BACKEND=uring in the environment, so every
// context created without an explicit backend runs on io_uring. What differs by nature between
// the two is checked here, never silently passed.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "kaio/io_ctx.h"

namespace kaio::testing {

// True in the io_uring pass: contexts created without a backend run on io_uring.
inline bool uring_by_default()
{
	const char *name = std::getenv("KAIO_BACKEND");
	return name != nullptr && std::string_view(name) == "uring";
}

inline bool on_uring(const io_ctx &ctx)
{
	return io_ctx_backend(&ctx) == static_cast<int>(IO_CTX_BACKEND_URING);
}

// Skips every test of a program that exercises AIO alone, in the io_uring pass.
class aio_only_environment : public ::testing::Environment {
public:
	explicit aio_only_environment(const char *why) : why_(why) {}
	void SetUp() override
	{
		if (uring_by_default())
			GTEST_SKIP() << "AIO only: " << why_;
	}

private:
	const char *why_;
};

} // namespace kaio::testing

// In a test: skip it, saying why, in the io_uring pass.
#define KAIO_SKIP_ON_URING(why)                                                                    \
	do {                                                                                       \
		if (::kaio::testing::uring_by_default())                                           \
			GTEST_SKIP() << "AIO only: " << (why);                                     \
	} while (0)
