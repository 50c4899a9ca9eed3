#include "daemon_files.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "mount_table.hpp"

namespace kaio::detail {

bool daemon_devices::serves(const mounted_device &device, int fd, kernel_aio &kernel) noexcept
{
	auto end = seen_.begin() + known_;
	auto found = std::find_if(seen_.begin(), end, [&device](const device_kind &seen) {
		return seen.device == device;
	});
	if (found != end)
		return found->daemon;
	filesystem_kind kind = kind_of_filesystem(fd, kernel);
	// The table could not be read (no descriptor left): it may be FUSE, asked again next time.
	if (kind == filesystem_kind::unknown)
		return true;
	// Not in this namespace's table (a mount detached, or in another namespace): it may be
	// FUSE, and stays so, rather than cost a read of the table every batch.
	bool daemon = kind == filesystem_kind::daemon || kind == filesystem_kind::unlisted;
	if (known_ < remembered) {
		seen_[known_++] = {device, daemon};
	} else {
		seen_[oldest_] = {device, daemon};
		oldest_ = (oldest_ + 1) % remembered;
	}
	return daemon;
}

bool served_by_daemon(int fd, kernel_aio &kernel, daemon_devices &devices) noexcept
{
	struct statx status; // statx fills it
	if (kernel.statx(fd, STATX_TYPE | mount_mask, &status) < 0)
		return false;
	// A character device may be CUSE's, whose daemon serves its reads and writes as FUSE's does
	// (ignoring IOCB_NOWAIT), and its node tells nothing of that: every one goes to io_uring's
	// workers, which costs a terminal or /dev/zero only speed.
	if (S_ISCHR(status.stx_mode))
		return true;
	// Pipes, sockets and block devices are the kernel's wherever their names live (and pipes
	// and sockets live on mounts no table shows).
	if (!S_ISREG(status.stx_mode))
		return false;
	return devices.serves(mount_of(status), fd, kernel);
}

} // namespace kaio::detail
