#include "file_devices.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <new>

namespace kaio::detail {
namespace {

std::optional<dev_t> asked(int fd, kernel_aio &kernel) noexcept
{
	struct stat status; // fstat fills it
	if (kernel.fstat(fd, &status) < 0)
		return std::nullopt;
	return status.st_dev;
}

bool fd_below(const std::pair<int, dev_t> &file, int fd) noexcept
{
	return file.first < fd;
}

} // namespace

int file_devices::register_files(const int *fds, int count) noexcept
{
	try {
		std::vector<std::pair<int, dev_t>> files;
		files.reserve(static_cast<std::size_t>(count));
		for (int k = 0; k < count; ++k) {
			std::optional<dev_t> device = asked(fds[k], kernel_);
			if (!device)
				return -EBADF;
			files.emplace_back(fds[k], *device);
		}
		std::sort(files.begin(), files.end());
		registered_ = std::move(files);
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

std::optional<dev_t> file_devices::of(int fd) const noexcept
{
	auto found = std::lower_bound(registered_.begin(), registered_.end(), fd, fd_below);
	if (found != registered_.end() && found->first == fd)
		return found->second;
	return asked(fd, kernel_);
}

} // namespace kaio::detail
