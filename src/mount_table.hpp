// What kind of filesystem a device number names, as /proc/self/mountinfo says: read from the
// kernel's mount table, never asked of the filesystem itself (statfs would ask a FUSE daemon or
// an NFS server, and keep the caller's thread waiting for it).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

namespace kaio::detail {

// A mounted filesystem: its device number, and its mount ID (0 where statx gives none). The ID
// tells apart two mounts that took the same anonymous device number (tmpfs, FUSE, overlayfs) in
// turn, one unmounted before the other: unique IDs (Linux 6.8) are never reused, older kernels'
// seldom at the same time as the number.
struct mounted_device {
	dev_t number;
	std::uint64_t mount;

	bool operator==(const mounted_device &) const noexcept = default;
};

// STATX_MNT_ID_UNIQUE (Linux 6.8), which Debian 12's headers predate.
inline constexpr unsigned mount_id_unique = 0x4000;
// What to ask statx for, besides the rest, to name a file's mount.
inline constexpr unsigned mount_mask = STATX_MNT_ID | mount_id_unique;

// The mount of a file, from its statx asked with mount_mask.
mounted_device mount_of(const struct statx &status) noexcept;

enum class filesystem_kind {
	unknown, // no mount with that device number, or the table could not be read
	memory,  // tmpfs: the kernel serves its files from memory
	daemon,  // FUSE (fuse, fuseblk, fuse.*): a user-space daemon serves its files
	other,
};

// Reads the whole mount table: a few system calls, for a device not seen before.
filesystem_kind kind_of_filesystem(dev_t device) noexcept;

} // namespace kaio::detail
