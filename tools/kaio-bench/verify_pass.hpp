// --verify's last step after a run that wrote: read back every block written and check that it
// holds this run's stamps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "job_spec.hpp"
#include "kaio/operation.hpp"
#include "target_file.hpp"

namespace kaio::bench {

struct verify_outcome {
	static constexpr std::size_t kept_messages = 10;

	std::uint64_t blocks = 0; // checked
	std::uint64_t errors = 0;
	std::vector<std::string> messages; // the first few: "verify at offset 4096: ..."
};

// Reads in flight, each with a buffer of --bs bytes, at most: enough to read back quickly
// without the run's full depth of memory.
inline constexpr unsigned verify_max_depth = 64;

// `written`: a bitmap of the blocks of `spec.bs` bytes to check; `backend`: the run's.
verify_outcome verify_written(const target_file &target, const job_spec &spec,
			      const std::vector<std::uint64_t> &written, kaio::backend backend);

} // namespace kaio::bench
