#include "mount_table.hpp"

#include <sys/sysmacros.h>

#include <charconv>
#include <cstdint>
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

// What names the mount of a file on its line of /proc/self/mountinfo: its mount ID, else (no ID
// from statx) its device number.
struct mount_key {
	std::uint64_t id; // 0: none
	dev_t device;
};

// A line of /proc/self/mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [TAGS] - TYPE ...".
// unlisted when the line is not the mount of `key`, unknown when it cannot be read.
filesystem_kind kind_on_line(std::string_view line, const mount_key &key) noexcept
{
	const char *end = line.data() + line.size();
	std::uint64_t id = 0;
	auto [after_id, id_error] = std::from_chars(line.data(), end, id);
	std::size_t numbers = line.find(' ', line.find(' ') + 1);
	if (id_error != std::errc() || numbers == std::string_view::npos)
		return filesystem_kind::unknown;
	unsigned major_number = 0;
	unsigned minor_number = 0;
	auto [colon, major_error] = std::from_chars(line.data() + numbers + 1, end, major_number);
	if (major_error != std::errc() || colon == end || *colon != ':')
		return filesystem_kind::unknown;
	auto [after, minor_error] = std::from_chars(colon + 1, end, minor_number);
	if (minor_error != std::errc())
		return filesystem_kind::unknown;
	bool ours = key.id != 0 ? id == key.id : makedev(major_number, minor_number) == key.device;
	if (!ours)
		return filesystem_kind::unlisted;
	std::size_t separator = line.find(" - ", static_cast<std::size_t>(after - line.data()));
	if (separator == std::string_view::npos)
		return filesystem_kind::unknown;
	std::string_view type = line.substr(separator + 3);
	return kind_named(type.substr(0, type.find(' ')));
}

// Reads the whole table for the line of `key`.
filesystem_kind kind_in_table(const mount_key &key) noexcept
{
	std::FILE *mounts = std::fopen("/proc/self/mountinfo", "re");
	if (mounts == nullptr)
		return filesystem_kind::unknown;
	char *line = nullptr;
	std::size_t room = 0;
	filesystem_kind kind = filesystem_kind::unlisted;
	ssize_t length = 0;
	while (kind == filesystem_kind::unlisted &&
	       (length = ::getline(&line, &room, mounts)) > 0) {
		filesystem_kind on_line =
			kind_on_line({line, static_cast<std::size_t>(length)}, key);
		if (on_line != filesystem_kind::unknown) // a line we cannot read names no mount
			kind = on_line;
	}
	std::free(line);           // getline's, from malloc
	(void)std::fclose(mounts); // read only: nothing to lose
	return kind;
}

} // namespace

mounted_device mount_of(const struct statx &status) noexcept
{
	bool has_id = (status.stx_mask & mount_mask) != 0; // not from fstat's fallback
	return {makedev(status.stx_dev_major, status.stx_dev_minor),
		has_id ? status.stx_mnt_id : 0};
}

filesystem_kind kind_of_filesystem(int fd, kernel_aio &kernel) noexcept
{
	struct statx status; // statx fills it
	if (kernel.statx(fd, STATX_MNT_ID, &status) < 0)
		return filesystem_kind::unknown;
	bool has_id = (status.stx_mask & STATX_MNT_ID) != 0; // not from fstat's fallback
	return kind_in_table({has_id ? status.stx_mnt_id : 0,
			      makedev(status.stx_dev_major, status.stx_dev_minor)});
}

} // namespace kaio::detail
