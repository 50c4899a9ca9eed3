// Where a descriptor's requests go, for the RWF_NOWAIT decision (nowait_refusals.hpp): the
// filesystem a file lives on, or a block device itself. An unregistered fd is asked with statx
// every time: its number can be closed and reused for a file elsewhere at any moment. A
// registered one (io_ctx_register_files) is asked once, at registration: the caller promises it
// stays open while registered, and an open file never moves to another filesystem, so the
// remembered answer cannot go wrong; its requests then cost no statx per batch.
#pragma once

#include <sys/types.h>

#include <optional>
#include <utility>
#include <vector>

#include "kernel_aio.hpp"
#include "mount_table.hpp"

namespace kaio::detail {

// A filesystem (its st_dev and mount ID), or a block device (its st_rdev: its st_dev is that of
// /dev, which every device node shares). The flag tells the two number spaces apart.
struct file_backing {
	mounted_device device{};
	bool is_block_device = false;
	// Neither a regular file nor a block device (a directory, a socket): what the kernel
	// answers of its requests says nothing of its filesystem's.
	bool is_special = false;

	bool operator==(const file_backing &) const noexcept = default;
};

class file_devices {
public:
	explicit file_devices(kernel_aio &kernel) noexcept : kernel_(kernel) {}

	// Replaces the registered set with `fds` (count 0: none). 0, or -EBADF when one of them
	// is not open (then nothing changes), -ENOMEM.
	int register_files(const int *fds, int count) noexcept;

	// None when statx cannot say (a closed fd: io_submit then answers EBADF of its own).
	std::optional<file_backing> of(int fd) const noexcept;

	// Whether the kernel serves the files of `backing`, where the file of `fd` lives, from
	// memory (tmpfs), where a request sent without RWF_NOWAIT has nothing to wait for. Read
	// from /proc/self/mountinfo, never asked of the filesystem (statfs would ask a FUSE daemon
	// or an NFS server); false for a block device, and where the mount cannot be found.
	bool served_from_memory(int fd, const file_backing &backing) const noexcept;

private:
	kernel_aio &kernel_;
	std::vector<std::pair<int, file_backing>> registered_; // sorted by fd
};

} // namespace kaio::detail
