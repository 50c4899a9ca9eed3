// The file or block device under test: checked once (it must take O_DIRECT, unless --direct=0),
// its size settled, and opened again for each job.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <string>

#include "options.hpp"
#include "unique_fd.hpp"

namespace kaio::bench {

class target_file {
public:
	// Throws a usage failure when the path cannot be benchmarked (a directory, a filesystem
	// without O_DIRECT, a size the device lacks), a run failure when it cannot be opened. A
	// missing regular file is created, empty.
	static target_file resolve(const options &wanted);

	const std::string &path() const noexcept { return path_; }
	std::uint64_t size() const noexcept { return size_; }
	bool block_device() const noexcept { return block_device_; }
	// A regular file shorter than the size: it must be laid out before the run.
	bool needs_layout() const noexcept { return needs_layout_; }
	// Made by resolve(), empty.
	bool created() const noexcept { return created_; }

	// O_DIRECT unless --direct=0, read-only unless `writable`.
	tools::unique_fd open(bool writable) const;

private:
	std::string path_;
	int open_flags_ = O_DIRECT | O_CLOEXEC;
	std::uint64_t size_ = 0;
	bool block_device_ = false;
	bool needs_layout_ = false;
	bool created_ = false;
};

} // namespace kaio::bench
