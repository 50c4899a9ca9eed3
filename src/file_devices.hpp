// Which filesystem (st_dev) a descriptor lives on, for the RWF_NOWAIT decision
// (nowait_refusals.hpp). An unregistered fd is asked with fstat every time: its number can be
// closed and reused for a file elsewhere at any moment. A registered one (io_ctx_register_files)
// is asked once, at registration: the caller promises it stays open while registered, and an
// open file never moves to another filesystem, so the remembered answer cannot go wrong; its
// requests then cost no fstat per batch.
#pragma once

#include <sys/types.h>

#include <optional>
#include <utility>
#include <vector>

#include "kernel_aio.hpp"

namespace kaio::detail {

class file_devices {
public:
	explicit file_devices(kernel_aio &kernel) noexcept : kernel_(kernel) {}

	// Replaces the registered set with `fds` (count 0: none). 0, or -EBADF when one of them
	// is not open (then nothing changes), -ENOMEM.
	int register_files(const int *fds, int count) noexcept;

	// None when fstat cannot say (a closed fd: io_submit then answers EBADF of its own).
	std::optional<dev_t> of(int fd) const noexcept;

private:
	kernel_aio &kernel_;
	std::vector<std::pair<int, dev_t>> registered_; // sorted by fd
};

} // namespace kaio::detail
