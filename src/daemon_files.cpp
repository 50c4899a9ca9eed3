#include "daemon_files.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "mount_table.hpp"

namespace kaio::detail {

bool daemon_devices::serves(dev_t device) noexcept
{
	auto end = seen_.begin() + known_;
	auto found = std::find_if(seen_.begin(), end, [device](const device_kind &seen) {
		return seen.device == device;
	});
	if (found != end)
		return found->daemon;
	bool daemon = kind_of_filesystem(device) == filesystem_kind::daemon;
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
	if (kernel.statx(fd, STATX_TYPE, &status) < 0)
		return false;
	return devices.serves(makedev(status.stx_dev_major, status.stx_dev_minor));
}

} // namespace kaio::detail
