#include "file_devices.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <new>

#include "mount_table.hpp"

namespace kaio::detail {
namespace {

std::optional<file_backing> asked(int fd, kernel_aio &kernel) noexcept
{
	struct statx status; // statx fills it: zeroing its 256 bytes doubled this function's cost
	if (kernel.statx(fd, STATX_TYPE | mount_mask, &status) < 0)
		return std::nullopt;
	if (S_ISBLK(status.stx_mode))
		return file_backing{{makedev(status.stx_rdev_major, status.stx_rdev_minor), 0},
				    true};
	return file_backing{mount_of(status), false, !S_ISREG(status.stx_mode)};
}

bool fd_below(const std::pair<int, file_backing> &file, int fd) noexcept
{
	return file.first < fd;
}

} // namespace

int file_devices::register_files(const int *fds, int count) noexcept
{
	try {
		std::vector<std::pair<int, file_backing>> files;
		files.reserve(static_cast<std::size_t>(count));
		for (int k = 0; k < count; ++k) {
			std::optional<file_backing> backing = asked(fds[k], kernel_);
			if (!backing)
				return -EBADF;
			files.emplace_back(fds[k], *backing);
		}
		std::sort(files.begin(), files.end(),
			  [](const auto &a, const auto &b) { return a.first < b.first; });
		registered_ = std::move(files);
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

std::optional<file_backing> file_devices::of(int fd) const noexcept
{
	auto found = std::lower_bound(registered_.begin(), registered_.end(), fd, fd_below);
	if (found != registered_.end() && found->first == fd)
		return found->second;
	return asked(fd, kernel_);
}

bool file_devices::served_from_memory(int fd, const file_backing &backing) const noexcept
{
	return !backing.is_block_device &&
	       kind_of_filesystem(fd, kernel_) == filesystem_kind::memory;
}

} // namespace kaio::detail
