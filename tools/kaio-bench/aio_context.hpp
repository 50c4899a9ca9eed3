// A kaio::context, or a failure that says why not: above all the system-wide limit
// /proc/sys/fs/aio-max-nr, which every context's capacity counts against.
#pragma once

#include <cstdint>

#include "kaio/context.hpp"

namespace kaio::bench {

// `run_needs`: the capacity of all the contexts the run creates, for the advice on aio-max-nr.
// `tuning`: how the run sends and waits, and on which backend (from_environment takes
// KAIO_BACKEND, as plain contexts do); the context always defers its direct submissions.
kaio::context open_context(unsigned capacity, std::uint64_t run_needs,
			   kaio::context_options tuning);

// The default options, on `backend` (the run's --backend).
kaio::context_options on(kaio::backend backend);

} // namespace kaio::bench
