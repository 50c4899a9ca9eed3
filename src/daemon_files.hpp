// Which descriptors of one io_uring batch a FUSE daemon serves. io_uring first tries a request
// in the submitting thread, with IOCB_NOWAIT, on a file that supports it or polls as ready; a
// FUSE file polls as ready, and FUSE's direct I/O ignores IOCB_NOWAIT, so io_uring_enter would
// wait for the daemon. Those requests go with IOSQE_ASYNC, straight to io_uring's workers.
//
// An unregistered fd is asked with statx (AT_STATX_DONT_SYNC: never of the daemon) once per
// batch: its number can be closed and reused for a file elsewhere at any moment. What a device
// number is comes from the mount table, remembered for the devices seen last; a device number
// an unmount frees and a new mount takes keeps the old one's kind while remembered.
#pragma once

#include <sys/types.h>

#include <array>

#include "batch_memo.hpp"
#include "kernel_aio.hpp"

namespace kaio::detail {

// Devices seen, and whether a daemon serves their files: one context's, never shared.
class daemon_devices {
public:
	bool serves(dev_t device) noexcept;

private:
	// Beyond this many devices, the oldest is forgotten (and asked again if it comes back).
	static constexpr int remembered = 16;
	struct device_kind {
		dev_t device;
		bool daemon;
	};
	std::array<device_kind, remembered> seen_{};
	int known_ = 0;
	int oldest_ = 0;
};

// Whether a daemon serves the file of `fd`; false when statx cannot say (the request then
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
