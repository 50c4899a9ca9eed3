// A C io_ctx that is destroyed when the test leaves its scope, however it leaves (a failed
// ASSERT returns early). Declare it after the buffers and records its requests use: destroy
// runs the outstanding callbacks, which must still find them.
#pragma once

#include "kaio/io_ctx.h"

namespace kaio::testing {

struct context_guard {
	io_ctx ctx{};

	context_guard() = default;
	~context_guard() { io_ctx_destroy(&ctx); }
	context_guard(const context_guard &) = delete;
	context_guard &operator=(const context_guard &) = delete;
};

} // namespace kaio::testing
