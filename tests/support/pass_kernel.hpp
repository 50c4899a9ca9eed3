// The real kernel seam of this pass of the suite, for the fault-injecting seams to wrap: io_uring
// in the pass run with KAIO_BACKEND=uring (support/backend.hpp), AIO otherwise. A context created
// over a wrapper runs on the backend it wraps (kernel_aio::backend()).
#pragma once

#include "kernel_aio.hpp"
#include "support/backend.hpp"
#include "uring_backend.hpp"

namespace kaio::testing {

inline detail::kernel_aio &pass_kernel()
{
	return uring_by_default() ? detail::linux_kernel_uring(false) : detail::linux_kernel_aio();
}

} // namespace kaio::testing
