// What to tell a user whose AIO context could not be created because the system-wide limit
// /proc/sys/fs/aio-max-nr is used up (io_setup answers EAGAIN): both numbers, and the command
// that raises it.
#pragma once

#include <cstdint>
#include <string>

namespace kaio::tools {

// "/proc/sys/fs/aio-max-nr is exhausted (aio-nr 65535, aio-max-nr 65536, this run needs 65535);
// raise it with: sysctl -w fs.aio-max-nr=131072". `run_needs`: the capacity of all the contexts
// the program creates.
std::string aio_limit_advice(std::uint64_t run_needs);

} // namespace kaio::tools
