// Which descriptors of one io_submit batch were opened with O_DIRECT: one fcntl(F_GETFL) per
// descriptor and batch (about 0.1 us, 1/32 of one per I/O at depth 32), never kept longer (see
// batch_memo.hpp): a wrong answer would put the caller's thread to sleep in io_submit.
#pragma once

#include <fcntl.h>

#include "batch_memo.hpp"

namespace kaio::detail {

class direct_files {
public:
	// A descriptor fcntl does not know stays with io_submit, which gives the caller its EBADF.
	bool is_direct(int fd) noexcept { return opened_direct_(fd); }

private:
	static bool opened_direct(int fd) noexcept
	{
		int flags = ::fcntl(fd, F_GETFL);
		return flags < 0 || (flags & O_DIRECT) != 0;
	}

	batch_memo<bool, bool (*)(int) noexcept> opened_direct_{&opened_direct};
};

} // namespace kaio::detail
