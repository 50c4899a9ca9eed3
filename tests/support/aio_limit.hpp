// The system-wide limit on AIO events, /proc/sys/fs/aio-max-nr, and a way to use nearly all of
// it up for a moment, with kernel contexts of the test's own. Tests that do so run alone
// (RUN_SERIAL): every other context on the machine would fail to be created meanwhile.
#pragma once

#include <libaio.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

namespace kaio::testing {

inline std::uint64_t proc_value(const char *path)
{
	std::uint64_t value = 0;
	std::ifstream(path) >> value;
	return value;
}

inline std::uint64_t aio_nr()
{
	return proc_value("/proc/sys/fs/aio-nr");
}
inline std::uint64_t aio_max_nr()
{
	return proc_value("/proc/sys/fs/aio-max-nr");
}

// Holds kernel AIO contexts until at most `left` events of aio-max-nr are free; gives them back
// when destroyed. io_setup counts each context's requested events against the limit.
class aio_reservation {
public:
	explicit aio_reservation(std::uint64_t left)
	{
		for (;;) {
			std::uint64_t in_use = aio_nr(), limit = aio_max_nr();
			if (in_use + left >= limit)
				return;
			// A context's capacity is below 2^16 for kaio: take the rest in such
			// pieces.
			auto events = static_cast<int>(
				std::min<std::uint64_t>(limit - in_use - left, 65535));
			io_context_t context = nullptr;
			if (io_setup(events, &context) != 0)
				return; // someone else took it meanwhile: what is left is small
					// enough
			contexts_.push_back(context);
		}
	}

	~aio_reservation()
	{
		for (io_context_t context : contexts_)
			io_destroy(context);
	}

	aio_reservation(const aio_reservation &) = delete;
	aio_reservation &operator=(const aio_reservation &) = delete;

	std::size_t contexts() const { return contexts_.size(); }

private:
	std::vector<io_context_t> contexts_;
};

} // namespace kaio::testing
