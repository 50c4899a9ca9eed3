#include "file_devices.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string_view>
#include <system_error>

namespace kaio::detail {
namespace {

std::optional<file_backing> asked(int fd, kernel_aio &kernel) noexcept
{
	struct statx status; // statx fills it: zeroing its 256 bytes doubled this function's cost
	if (kernel.statx(fd, STATX_TYPE, &status) < 0)
		return std::nullopt;
	if (S_ISBLK(status.stx_mode))
		return file_backing{makedev(status.stx_rdev_major, status.stx_rdev_minor), true};
	return file_backing{makedev(status.stx_dev_major, status.stx_dev_minor), false};
}

bool fd_below(const std::pair<int, file_backing> &file, int fd) noexcept
{
	return file.first < fd;
}

// A line of /proc/self/mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [TAGS] - TYPE ...".
bool mounts_tmpfs_of(std::string_view line, dev_t device) noexcept
{
	std::size_t numbers = line.find(' ', line.find(' ') + 1);
	if (numbers == std::string_view::npos)
		return false;
	const char *end = line.data() + line.size();
	unsigned major_number = 0;
	unsigned minor_number = 0;
	auto [colon, major_error] = std::from_chars(line.data() + numbers + 1, end, major_number);
	if (major_error != std::errc() || colon == end || *colon != ':')
		return false;
	auto [after, minor_error] = std::from_chars(colon + 1, end, minor_number);
	if (minor_error != std::errc() || makedev(major_number, minor_number) != device)
		return false;
	std::size_t type = line.find(" - ", static_cast<std::size_t>(after - line.data()));
	return type != std::string_view::npos && line.substr(type + 3).starts_with("tmpfs ");
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

bool file_devices::served_from_memory(const file_backing &backing) noexcept
{
	if (backing.is_block_device)
		return false;
	std::FILE *mounts = std::fopen("/proc/self/mountinfo", "re");
	if (mounts == nullptr)
		return false;
	char *line = nullptr;
	std::size_t room = 0;
	bool found = false;
	ssize_t length = 0;
	while (!found && (length = ::getline(&line, &room, mounts)) > 0)
		found = mounts_tmpfs_of({line, static_cast<std::size_t>(length)}, backing.device);
	std::free(line);           // getline's, from malloc
	(void)std::fclose(mounts); // read only: nothing to lose
	return found;
}

} // namespace kaio::detail
