// /proc/sys/fs/aio-max-nr really used up: creating a context answers -EAGAIN (the C++
// constructor throws std::system_error with EAGAIN), nothing leaks, and a context that fits in
// what is left is still created. Holds nearly the whole system-wide limit for a moment: runs
// alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <cerrno>
#include <system_error>

#include "kaio/kaio.hpp"
#include "support/aio_limit.hpp"
#include "support/open_descriptors.hpp"

namespace {

using namespace kaio::testing; // the helpers of support/

constexpr std::uint64_t left = 16;

TEST(AioLimit, CreateAnswersEagainWhenAioMaxNrIsExhausted)
{
	aio_reservation nearly_all(left);
	std::uint64_t room = aio_max_nr() - aio_nr();
	if (room > left)
		GTEST_SKIP() << "could not use up aio-max-nr (aio-nr " << aio_nr()
			     << ", aio-max-nr " << aio_max_nr() << ")";
	int descriptors = open_descriptors();
	io_ctx ctx{};
	EXPECT_EQ(io_ctx_create(&ctx, static_cast<int>(left) + 1, nullptr), -EAGAIN);
	EXPECT_EQ(ctx.impl, nullptr);
	EXPECT_EQ(open_descriptors(), descriptors) << "the eventfd leaked";
	try {
		kaio::context refused(static_cast<int>(left) + 1);
		ADD_FAILURE() << "a context was created beyond aio-max-nr";
	} catch (const std::system_error &error) {
		EXPECT_EQ(error.code().value(), EAGAIN);
	}
	if (room > 0) {
		EXPECT_EQ(io_ctx_create(&ctx, static_cast<int>(room), nullptr), 0)
			<< "what is left of aio-max-nr";
		io_ctx_destroy(&ctx);
	}
}

} // namespace
