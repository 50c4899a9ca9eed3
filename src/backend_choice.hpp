// Which kernel interface a new context uses: what the options ask, else KAIO_BACKEND, else AIO;
// `automatic` takes io_uring when the kernel lets us set one up and AIO otherwise.
#pragma once

#include "kaio/operation.hpp"
#include "kernel_aio.hpp"
#include "uring_backend.hpp"

namespace kaio::detail {

struct opened_backend {
	kernel_aio *kernel = nullptr;
	io_context_t context = nullptr;
	backend chosen = backend::aio; // aio or uring
};

// Sets up a kernel context for `capacity` requests. With a `given` kernel (a test's seam over
// AIO or io_uring) uses it, and the backend it names, whatever `wanted` says. -EINVAL when
// KAIO_BACKEND names no backend; else 0 or what the chosen backend's setup answered.
// `use`: how the context uses an io_uring ring (uring_backend.hpp).
int open_backend(backend wanted, unsigned capacity, ring_use use, kernel_aio *given,
		 opened_backend &out);

} // namespace kaio::detail
