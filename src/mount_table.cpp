#include "mount_table.hpp"

#include <sys/sysmacros.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace kaio::detail {
namespace {

filesystem_kind kind_named(std::string_view type) noexcept
{
	if (type == "tmpfs")
		return filesystem_kind::memory;
	if (type == "fuse" || type == "fuseblk" || type.starts_with("fuse."))
		return filesystem_kind::daemon;
	return filesystem_kind::other;
}

// A line of /proc/self/mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [TAGS] - TYPE ...".
// unknown when the line is not the mount of `device`.
filesystem_kind kind_on_line(std::string_view line, dev_t device) noexcept
{
	std::size_t numbers = line.find(' ', line.find(' ') + 1);
	if (numbers == std::string_view::npos)
		return filesystem_kind::unknown;
	const char *end = line.data() + line.size();
	unsigned major_number = 0;
	unsigned minor_number = 0;
	auto [colon, major_error] = std::from_chars(line.data() + numbers + 1, end, major_number);
	if (major_error != std::errc() || colon == end || *colon != ':')
		return filesystem_kind::unknown;
	auto [after, minor_error] = std::from_chars(colon + 1, end, minor_number);
	if (minor_error != std::errc() || makedev(major_number, minor_number) != device)
		return filesystem_kind::unknown;
	std::size_t separator = line.find(" - ", static_cast<std::size_t>(after - line.data()));
	if (separator == std::string_view::npos)
		return filesystem_kind::unknown;
	std::string_view type = line.substr(separator + 3);
	return kind_named(type.substr(0, type.find(' ')));
}

} // namespace

mounted_device mount_of(const struct statx &status) noexcept
{
	bool has_id = (status.stx_mask & mount_mask) != 0; // not from fstat's fallback
	return {makedev(status.stx_dev_major, status.stx_dev_minor),
		has_id ? status.stx_mnt_id : 0};
}

filesystem_kind kind_of_filesystem(dev_t device) noexcept
{
	std::FILE *mounts = std::fopen("/proc/self/mountinfo", "re");
	if (mounts == nullptr)
		return filesystem_kind::unknown;
	char *line = nullptr;
	std::size_t room = 0;
	filesystem_kind kind = filesystem_kind::unknown;
	ssize_t length = 0;
	while (kind == filesystem_kind::unknown && (length = ::getline(&line, &room, mounts)) > 0)
		kind = kind_on_line({line, static_cast<std::size_t>(length)}, device);
	std::free(line);           // getline's, from malloc
	(void)std::fclose(mounts); // read only: nothing to lose
	return kind;
}

} // namespace kaio::detail
