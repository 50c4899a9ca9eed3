// One run of kaio-cp: open both files, copy through the pipeline, cut the destination to the
// source's size, make it durable (--fsync), read both back (--verify).
#pragma once

#include <cstdint>

#include "options.hpp"

namespace kaio::cp {

struct copy_report {
	std::uint64_t bytes = 0;
	double seconds = 0; // of the copy's I/O and its sync, not of --verify
};

// Throws failure: the copy is then incomplete, or not verified.
copy_report copy_file(const options &wanted);

} // namespace kaio::cp
