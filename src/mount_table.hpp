// What kind of filesystem a device number names, as /proc/self/mountinfo says: read from the
// kernel's mount table, never asked of the filesystem itself (statfs would ask a FUSE daemon or
// an NFS server, and keep the caller's thread waiting for it).
#pragma once

#include <sys/types.h>

namespace kaio::detail {

enum class filesystem_kind {
	unknown, // no mount with that device number, or the table could not be read
	memory,  // tmpfs: the kernel serves its files from memory
	daemon,  // FUSE (fuse, fuseblk, fuse.*): a user-space daemon serves its files
	other,
};

// Reads the whole mount table: a few system calls, for a device not seen before.
filesystem_kind kind_of_filesystem(dev_t device) noexcept;

} // namespace kaio::detail
