// A kaio::context, or a failure that says why not: above all the system-wide limit
// /proc/sys/fs/aio-max-nr, which every context's capacity counts against.
#pragma once

#include <cstdint>

#include "kaio/context.hpp"

namespace kaio::bench {

// `run_needs`: the capacity of all the contexts the run creates, for the advice on aio-max-nr.
// `backend`: from_environment takes KAIO_BACKEND, as plain contexts do.
// `tuning`: how the run sends and waits; the context always defers its direct submissions.
kaio::context open_context(unsigned capacity, std::uint64_t run_needs,
			   kaio::context_options tuning = {});

} // namespace kaio::bench
