// Which descriptors of one io_uring batch were opened with O_DSYNC (or O_SYNC, which includes it)
// and without O_DIRECT. io_uring first tries a write in the submitting thread, under IOCB_NOWAIT.
// xfs takes a write through the page cache so, since the copy need not wait, then syncs it right
// there, waiting for the device: on Linux 6.18, 16 appends of 4 KiB to such a file slept 39
// times in io_uring_enter. Those writes go with IOSQE_ASYNC, straight to io_uring's workers.
// Direct writes, and writes to files without a sync flag, never slept so on ext4, xfs or btrfs.
//
// One fcntl(F_GETFL) per descriptor and batch, for writes only, never kept longer (see
// batch_memo.hpp): F_SETFL may set or clear O_DIRECT at any moment. O_DSYNC and O_SYNC are fixed
// at open(2): a registered file opened without them need never be asked.
#pragma once

#include <fcntl.h>

#include "batch_memo.hpp"

namespace kaio::detail {

// Whether a write to a file of these status flags (F_GETFL's) syncs the page cache.
constexpr bool syncs_page_cache(int flags) noexcept
{
	return (flags & O_DSYNC) != 0 && (flags & O_DIRECT) == 0;
}

class page_cache_syncs {
public:
	// False for a descriptor fcntl does not know: the kernel fails its write in the CQE.
	bool on_write(int fd) noexcept { return syncs_(fd); }

private:
	static bool asked(int fd) noexcept
	{
		int flags = ::fcntl(fd, F_GETFL);
		return flags >= 0 && syncs_page_cache(flags);
	}

	batch_memo<bool, bool (*)(int) noexcept> syncs_{&asked};
};

} // namespace kaio::detail
