// The file-system side of a copy: opening the source and the destination as the pipeline needs
// them (regular files, O_DIRECT), then setting the size, syncing and closing. Every error is a
// failure that names the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "transfer.hpp"
#include "unique_fd.hpp"

namespace kaio::cp {

struct source_file {
	std::string path;
	tools::unique_fd fd;
	std::uint64_t size = 0;
	mode_t permissions = 0;
	dev_t device = 0;
	ino_t inode = 0;
};

struct destination_file {
	std::string path;
	tools::unique_fd fd;
	bool created = false;   // by this run: its directory entry is new
	mode_t permissions = 0; // the source's, set by truncate_for_writing
};

// Opens a regular file for reading with O_DIRECT: the source, and both files for --verify.
source_file open_source(const std::string &path);

// Creates or opens `path` with O_DIRECT, leaving an existing file's bytes and permission bits as
// they are. Refuses the source itself.
destination_file open_destination(const std::string &path, const source_file &source);

// Leaves nothing behind for a copy that never started: removes the file if this run created it.
void discard_if_created(const destination_file &file) noexcept;

// Gives the destination the source's permission bits and empties it: done only once the copy
// is ready to write, so that a copy refused before (no AIO context, no memory for the buffers)
// leaves an existing file as it was.
void truncate_for_writing(const destination_file &file);

file_end end_of(const source_file &file);
file_end end_of(const destination_file &file);

// Cuts the destination to `size`: its last block was written whole.
void set_size(const destination_file &file, std::uint64_t size);

// fsync(2) of the file, and of its directory when the file is new there.
void sync_file_and_entry(const destination_file &file);

// Closes the destination, reporting what close(2) reports.
void close_destination(destination_file &file);

} // namespace kaio::cp
