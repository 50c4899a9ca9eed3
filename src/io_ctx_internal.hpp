// What tests need beyond the public C API: a context over another kernel seam.
#pragma once

#include "kaio/io_ctx.h"
#include "kernel_aio.hpp"

namespace kaio::detail {

// io_ctx_create_opts() over `kernel` (null: the real kernel).
int create_io_ctx(io_ctx *ctx, int capacity, int (*wait_cb)(int), const io_ctx_options *options,
		  kernel_aio *kernel) noexcept;

} // namespace kaio::detail
