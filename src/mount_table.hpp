// What kind of filesystem a file's mount is, as /proc/self/mountinfo says: read from the kernel's
// mount table, never asked of the filesystem itself (statfs would ask a FUSE daemon or
// an NFS server, and keep the caller's thread waiting for it).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

#include "kernel_aio.hpp"

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
	unknown,  // statx could not say, or the table could not be read: ask again another time
	unlisted, // the table does not show the mount (detached, or in another mount namespace)
	memory,   // tmpfs: the kernel serves its files from memory
	daemon,   // FUSE (fuse, fuseblk, fuse.*): a user-space daemon serves its files
	other,
};

// The filesystem the file of `fd` lives on: the line of its mount in the table, found by the
// mount ID statx gives (STATX_MNT_ID, the ID the table shows), or by the device number where
// statx gives none (fstat's answer, under a filter older than statx). Not by the device number
// otherwise: btrfs gives a file the number of its subvolume, which no line shows. A statx and
// the whole table: a few system calls, for a mount not seen before.
filesystem_kind kind_of_filesystem(int fd, kernel_aio &kernel) noexcept;

} // namespace kaio::detail
