// The file's first use: preallocated, then every sector written once with its stamp, so that
// reads measure a real file (no holes, no unwritten extents) and --verify can check any block.
#pragma once

#include "kaio/operation.hpp"
#include "target_file.hpp"

namespace kaio::bench {

// Throws a run failure on any error. `show_progress`: a status line while it runs, on a terminal.
// `backend`: the run's, so that --backend=aio lays out on AIO whatever KAIO_BACKEND says.
void lay_out(const target_file &target, bool show_progress, kaio::backend backend);

} // namespace kaio::bench
