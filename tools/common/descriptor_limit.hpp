// Descriptors for requests in flight: on files that kernel AIO would block on (no O_DIRECT, or
// a filesystem that refuses RWF_NOWAIT, as one with dirty pages in the range may answer), kaio
// hands each request to a worker thread with a duplicate of its descriptor, held until the
// request ends. At --iodepth 4096 under the usual soft limit of 1024, reads failed with EMFILE.
#pragma once

namespace kaio::tools {

// Raises this process's soft RLIMIT_NOFILE to its hard limit, as a program that needs many
// descriptors should; nothing when that fails (the requests then fail with EMFILE, which the
// tool reports).
void raise_descriptor_limit() noexcept;

} // namespace kaio::tools
