#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "failure.hpp"

namespace kaio::cp {
namespace {

constexpr mode_t permission_bits = 0777;

struct stat status_of(int fd, const std::string &path)
{
	struct stat status {};
	if (::fstat(fd, &status) < 0)
		throw system_failure(fmt::format("cannot stat {}", path), errno);
	return status;
}

void require_regular_file(const struct stat &status, const std::string &path)
{
	if (S_ISDIR(status.st_mode))
		throw system_failure(path, EISDIR);
	if (!S_ISREG(status.st_mode))
		throw failure(fmt::format("{}: not a regular file", path));
}

// Files are opened with O_NONBLOCK, so that a FIFO cannot hang the open, and without O_DIRECT,
// which a directory refuses with a misleading EINVAL; once the type is checked, this swaps one
// for the other.
void enable_direct_io(int fd, const std::string &path)
{
	int flags = ::fcntl(fd, F_GETFL);
	if (flags >= 0 && ::fcntl(fd, F_SETFL, (flags & ~O_NONBLOCK) | O_DIRECT) == 0)
		return;
	if (errno == EINVAL)
		throw failure(fmt::format("{}: its filesystem does not support O_DIRECT", path));
	throw system_failure(fmt::format("cannot use O_DIRECT on {}", path), errno);
}

// Knows whether the file is new, for --fsync to sync its directory entry too.
destination_file create_or_open(const std::string &path, mode_t permissions)
{
	constexpr int flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC;
	tools::unique_fd fd(::open(path.c_str(), flags | O_CREAT | O_EXCL, permissions));
	if (fd.get() >= 0)
		return {path, std::move(fd), true};
	if (errno != EEXIST)
		throw system_failure(fmt::format("cannot create {}", path), errno);
	fd = tools::unique_fd(::open(path.c_str(), flags));
	if (fd.get() < 0)
		throw system_failure(fmt::format("cannot open {}", path), errno);
	return {path, std::move(fd), false};
}

void sync_directory_of(const std::string &path)
{
	std::filesystem::path directory = std::filesystem::path(path).parent_path();
	if (directory.empty())
		directory = ".";
	tools::unique_fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (fd.get() < 0 || ::fsync(fd.get()) < 0)
		throw system_failure(fmt::format("fsync {}", directory.string()), errno);
}

} // namespace

source_file open_source(const std::string &path)
{
	tools::unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (fd.get() < 0)
		throw system_failure(fmt::format("cannot open {}", path), errno);
	struct stat status = status_of(fd.get(), path);
	require_regular_file(status, path);
	enable_direct_io(fd.get(), path);
	return {path,
		std::move(fd),
		static_cast<std::uint64_t>(status.st_size),
		status.st_mode & permission_bits,
		status.st_dev,
		status.st_ino};
}

destination_file open_destination(const std::string &path, const source_file &source)
{
	destination_file file = create_or_open(path, source.permissions);
	int fd = file.fd.get();
	struct stat status = status_of(fd, path);
	if (status.st_dev == source.device && status.st_ino == source.inode)
		throw failure(fmt::format("{} and {} are the same file", source.path, path));
	require_regular_file(status, path);
	try {
		enable_direct_io(fd, path);
	} catch (const failure &) {
		discard_if_created(file);
		throw;
	}
	file.permissions = source.permissions;
	return file;
}

void discard_if_created(const destination_file &file) noexcept
{
	if (file.created)
		::unlink(file.path.c_str());
}

void truncate_for_writing(const destination_file &file)
{
	// Also for an existing file, which O_CREAT's mode does not touch, and despite the umask.
	// Before the truncation: a user who may write the file but does not own it is refused
	// here (EPERM), with the file still whole.
	if (::fchmod(file.fd.get(), file.permissions) < 0)
		throw system_failure(fmt::format("cannot set the permissions of {}", file.path),
				     errno);
	if (::ftruncate(file.fd.get(), 0) < 0)
		throw system_failure(fmt::format("cannot truncate {}", file.path), errno);
}

file_end end_of(const source_file &file)
{
	return {file.fd.get(), file.path};
}

file_end end_of(const destination_file &file)
{
	return {file.fd.get(), file.path};
}

void set_size(const destination_file &file, std::uint64_t size)
{
	if (::ftruncate(file.fd.get(), static_cast<off_t>(size)) < 0)
		throw system_failure(fmt::format("cannot set the size of {}", file.path), errno);
}

void sync_file_and_entry(const destination_file &file)
{
	if (::fsync(file.fd.get()) < 0)
		throw system_failure(fmt::format("fsync {}", file.path), errno);
	if (file.created)
		sync_directory_of(file.path);
}

void close_destination(destination_file &file)
{
	if (int error = file.fd.close(); error != 0)
		throw system_failure(fmt::format("close {}", file.path), error);
}

} // namespace kaio::cp
