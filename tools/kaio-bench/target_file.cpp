#include "target_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <fmt/core.h>

#include <cerrno>
#include <optional>

#include "byte_size.hpp"
#include "failure.hpp"

namespace kaio::bench {
namespace {

failure open_failure(const std::string &path, int error)
{
	if (error == EINVAL) // what open(2) answers for O_DIRECT where the filesystem lacks it
		return usage_failure(fmt::format(
			"--filename: {}: the filesystem does not support O_DIRECT", path));
	return run_failure(fmt::format("cannot open {}: {}", path, reason_of(error)));
}

// Opens an existing file as the jobs will, to learn early whether O_DIRECT works there.
tools::unique_fd open_existing(const std::string &path, int flags)
{
	tools::unique_fd file(::open(path.c_str(), O_RDONLY | flags));
	if (file.get() < 0)
		throw open_failure(path, errno);
	return file;
}

void create(const std::string &path, int flags)
{
	tools::unique_fd file(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | flags, 0644));
	if (file.get() >= 0)
		return;
	int error = errno;
	if (error == EINVAL)
		::unlink(path.c_str()); // some filesystems create the file, then refuse O_DIRECT
	// stat() found nothing there, yet O_EXCL found a name: a link to a file that does not
	// exist, which the run would otherwise create behind it.
	if (struct stat link{};
	    error == EEXIST && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
		throw run_failure(fmt::format(
			"cannot create {}: it is a symbolic link to a file that does not exist",
			path));
	throw open_failure(path, error);
}

std::uint64_t device_size(const std::string &path, int flags)
{
	std::uint64_t bytes = 0;
	if (::ioctl(open_existing(path, flags).get(), BLKGETSIZE64, &bytes) != 0)
		throw run_failure(
			fmt::format("cannot get the size of {}: {}", path, reason_of(errno)));
	return bytes;
}

std::optional<struct stat> status_of(const std::string &path)
{
	struct stat status {};
	if (::stat(path.c_str(), &status) == 0)
		return status;
	if (errno != ENOENT)
		throw run_failure(fmt::format("cannot open {}: {}", path, reason_of(errno)));
	return std::nullopt;
}

void refuse_block_larger_than(const options &wanted, std::uint64_t size)
{
	if (wanted.bs > size)
		throw usage_failure(fmt::format("--bs: {} is larger than the size of {} ({})",
						wanted.bs, wanted.filename, size));
}

} // namespace

target_file target_file::resolve(const options &wanted)
{
	target_file target;
	target.path_ = wanted.filename;
	target.open_flags_ = O_CLOEXEC | (wanted.direct ? O_DIRECT : 0);
	target.size_ = wanted.size.value_or(options::default_size);
	std::optional<struct stat> status = status_of(wanted.filename);
	if (!status) {
		refuse_block_larger_than(wanted, target.size_); // before a file is left behind
		create(wanted.filename, target.open_flags_);
		target.needs_layout_ = true;
		target.created_ = true;
	} else if (S_ISDIR(status->st_mode)) {
		throw usage_failure(fmt::format("--filename: {} is a directory", wanted.filename));
	} else if (S_ISBLK(status->st_mode)) {
		std::uint64_t capacity = device_size(wanted.filename, target.open_flags_);
		if (wanted.size && *wanted.size > capacity)
			throw usage_failure(fmt::format("--size: {} is larger than {} ({})",
							*wanted.size, wanted.filename,
							tools::format_bytes(double(capacity))));
		target.size_ = wanted.size.value_or(capacity);
		target.block_device_ = true;
	} else if (S_ISREG(status->st_mode)) {
		open_existing(wanted.filename, target.open_flags_);
		target.needs_layout_ = std::uint64_t(status->st_size) < target.size_;
	} else {
		throw usage_failure(
			fmt::format("--filename: {} is neither a regular file nor a block device",
				    wanted.filename));
	}
	refuse_block_larger_than(wanted, target.size_);
	return target;
}

tools::unique_fd target_file::open(bool writable) const
{
	tools::unique_fd file(::open(path_.c_str(), (writable ? O_RDWR : O_RDONLY) | open_flags_));
	if (file.get() < 0)
		throw open_failure(path_, errno);
	return file;
}

} // namespace kaio::bench
