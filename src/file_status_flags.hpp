// The status flags (fcntl F_GETFL) of the descriptors of one batch, and what the backends learn
// from them: one fcntl per descriptor and batch (about 0.1 us, 1/32 of one per I/O at depth 32),
// never kept longer (see batch_memo.hpp): F_SETFL may set or clear O_DIRECT at any moment, and a
// wrong answer would put the caller's thread to sleep in the kernel.
#pragma once

#include <fcntl.h>

#include "batch_memo.hpp"

namespace kaio::detail {

class batch_status_flags {
public:
	// -1 for a descriptor fcntl does not know.
	int operator()(int fd) noexcept { return flags_(fd); }

private:
	static int asked(int fd) noexcept { return ::fcntl(fd, F_GETFL); }

	batch_memo<int, int (*)(int) noexcept> flags_{&asked};
};

// Kernel AIO sleeps in io_submit on a file without O_DIRECT. A descriptor fcntl does not know
// stays with io_submit, which gives the caller its EBADF.
constexpr bool opened_direct(int flags) noexcept
{
	return flags < 0 || (flags & O_DIRECT) != 0;
}

// Whether a write to a file of these flags syncs the page cache (O_DSYNC, or O_SYNC, which
// includes it, without O_DIRECT). io_uring first tries a write in the submitting thread, under
// IOCB_NOWAIT. xfs takes a write through the page cache so, since the copy need not wait, then
// syncs it right there, waiting for the device: on Linux 6.18, 16 appends of 4 KiB to such a
// file slept 39 times in io_uring_enter. Those writes go with IOSQE_ASYNC, straight to
// io_uring's workers. Direct writes, and writes to files without a sync flag, never slept so on
// ext4, xfs or btrfs. O_DSYNC and O_SYNC are fixed at open(2): a registered file opened without
// them need never be asked. False for a descriptor fcntl does not know: the kernel fails its
// write in the CQE.
constexpr bool syncs_page_cache(int flags) noexcept
{
	return flags >= 0 && (flags & O_DSYNC) != 0 && (flags & O_DIRECT) == 0;
}

} // namespace kaio::detail
