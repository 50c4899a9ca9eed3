// Shorthands for what the tests do to a C io_ctx again and again.
#pragma once

#include <gtest/gtest.h>

#include "kaio/io_ctx.h"

namespace kaio::testing {

inline io_ctx_stats stats_of(const io_ctx &ctx)
{
	io_ctx_stats stats{};
	EXPECT_EQ(io_ctx_get_stats(&ctx, &stats), 0);
	return stats;
}

// Runs process() until nothing is in flight; its last answer (0 unless something failed).
inline int run_until_idle(io_ctx &ctx)
{
	int ran = 0;
	while ((ran = io_ctx_process(&ctx)) > 0) {
	}
	return ran;
}

// Options for a context that queues submissions until flush.
inline io_ctx_options deferred_options()
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = IO_CTX_DEFER_SUBMIT;
	return options;
}

} // namespace kaio::testing
