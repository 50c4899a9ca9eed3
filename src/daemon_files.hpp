// Which descriptors of one io_uring batch a FUSE daemon serves. io_uring first tries a request
// in the submitting thread, with IOCB_NOWAIT, on a file that supports it or polls as ready; a
// FUSE file polls as ready, and FUSE's direct I/O ignores IOCB_NOWAIT, so io_uring_enter would
// wait for the daemon. Those requests go with IOSQE_ASYNC, straight to io_uring's workers, and
// so do those of character devices, any of which may be CUSE's (FUSE's devices).
//
// An unregistered fd is asked with statx (AT_STATX_DONT_SYNC: never of the daemon) once per
// batch: its number can be closed and reused for a file elsewhere at any moment. What a mount is
// comes from the mount table, remembered by device number and mount ID for the mounts seen last.
// A mount the table does not show (detached, or in another mount namespace), or a table that
// cannot be read, counts as FUSE: its requests go to io_uring's workers, which costs only speed;
// the first is remembered as such, the second asked again.
#pragma once

#include <sys/types.h>

#include <array>

#include "batch_memo.hpp"
#include "kernel_aio.hpp"
#include "mount_table.hpp"

namespace kaio::detail {

// Mounts seen, and whether a daemon serves their files: one context's, never shared.
class daemon_devices {
public:
	// `fd`: a file on that mount, asked where the mount is not remembered.
	bool serves(const mounted_device &device, int fd, kernel_aio &kernel) noexcept;

private:
	// Beyond this many mounts, the oldest is forgotten (and asked again if it comes back).
	static constexpr int remembered = 32;
	struct device_kind {
		mounted_device device;
		bool daemon;
	};
	std::array<device_kind, remembered> seen_{};
	int known_ = 0;
	int oldest_ = 0;
};

// Whether a daemon may serve the file of `fd`: a regular file on FUSE, or on a mount the table
// does not show, or a character device (CUSE). False when statx cannot say (the request then
// fails in its completion, EBADF for a closed fd).
bool served_by_daemon(int fd, kernel_aio &kernel, daemon_devices &devices) noexcept;

// One batch's answers, one statx per descriptor (see batch_memo.hpp).
class daemon_files {
public:
	daemon_files(kernel_aio &kernel, daemon_devices &devices) noexcept
		: served_({&kernel, &devices})
	{}

	bool served_by_daemon(int fd) noexcept { return served_(fd); }

private:
	struct asker {
		kernel_aio *kernel;
		daemon_devices *devices;
		bool operator()(int fd) const noexcept
		{
			return detail::served_by_daemon(fd, *kernel, *devices);
		}
	};
	batch_memo<bool, asker> served_;
};

} // namespace kaio::detail
