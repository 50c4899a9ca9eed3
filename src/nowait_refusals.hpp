// Which filesystems refuse RWF_NOWAIT, and in which direction, as the kernel answered. io_submit
// refuses a request that carries the flag with EOPNOTSUPP when its file cannot honour it (on
// Linux 6.18: tmpfs, overlayfs and FUSE, for reads and writes alike) and takes it elsewhere (ext4,
// ext2, xfs, btrfs). A context learns it from the requests it sends, one refusal per filesystem
// and direction, and from then on sends that filesystem's requests of that direction without the
// flag, while every other filesystem keeps it: a context with files on tmpfs and on ext4 still has
// the kernel answer -EAGAIN, instead of blocking, on ext4.
//
// Without the flag, such a request could put the caller's thread to sleep in io_submit, waiting
// for a FUSE daemon (which serves direct I/O synchronously), or for the device under overlayfs.
// Only a filesystem the kernel serves from memory (tmpfs) has nothing to wait for: its requests
// go to the kernel without the flag; every other refusing filesystem's go to the worker threads.
//
// Keyed by the filesystem's device number and mount ID (or a block device's own number,
// file_devices.hpp), never by fd: an fd can be closed and its number reused for a file elsewhere
// at any moment, so a batch asks again for each fd it holds (batch_memo.hpp), unless the fd is
// registered. A context that has seen no refusal never asks: any() is false and the engine does
// not look at its queue. A refusing filesystem not yet known costs one refused io_submit, after
// which it is known. The mount ID keeps a filesystem that takes over an anonymous device number
// after an unmount (tmpfs, FUSE, overlayfs and btrfs use them, and they are reused) from
// inheriting the old one's fate: a FUSE mount on a refusing tmpfs's number would otherwise have
// its requests sent to the kernel without the flag.
#pragma once

#include <libaio.h>
#include <linux/fs.h>
#include <sys/types.h>

#include <array>

#include "batch_memo.hpp"
#include "file_devices.hpp"

namespace kaio::detail {

class nowait_refusals {
public:
	// True once any filesystem has refused: only then do batches need looking at.
	bool any() const noexcept { return anywhere_ != 0; }
	// True once a filesystem not served from memory has refused: only then may a batch_screen
	// send a request to the workers.
	bool sends_to_workers() const noexcept { return to_workers_ != 0; }

	// io_submit refused `request`, which carries RWF_NOWAIT, with EOPNOTSUPP: its filesystem
	// refuses the flag in the request's direction. True when that is news, to be counted once;
	// false when it was known, when statx cannot say which filesystem it is, or when the file
	// is a directory or a socket, whose refusal is not its filesystem's (the caller still sends
	// the request again without the flag).
	bool note(const iocb &request, const file_devices &devices) noexcept;

	class batch_screen;

private:
	// Bits, so that a set of directions is tested against a request's with one AND.
	enum direction : unsigned { reads = 1, writes = 2 };
	using directions = unsigned; // a set of direction bits
	struct refusing_filesystem {
		file_backing backing;
		directions refuses;
		bool served_from_memory;
	};
	// What becomes of the requests of a filesystem: the directions in which the flag comes off
	// (a refusal from memory, or a refusal everywhere), and, shifted by this, those in which
	// the requests go to the workers.
	static constexpr unsigned to_workers_shift = 2;
	using fates = unsigned;
	static constexpr fates all_fates = (reads | writes) << to_workers_shift | reads | writes;
	// Contexts with more refusing filesystems than this take the flag off the requests of the
	// others, those not remembered (which go to the kernel without it, whatever serves them),
	// in the direction of the refusal that found no room: memory stays fixed.
	static constexpr int remembered = 32;
	// What batch_screen keeps of a request's flags, per kernel opcode (IO_CMD_*, all below
	// this): one load and one AND per request, unless it is one of these.
	static constexpr int opcodes = IO_CMD_PWRITEV + 1;
	using kept_flags = std::array<int, opcodes>;
	static constexpr int not_asked = 0; // depends on the filesystem, not asked yet
	static constexpr int to_worker = 1; // sent to the workers, if it carries the flag

	static constexpr direction direction_of(int opcode) noexcept
	{
		// A shift and a mask rather than two comparisons: the kernel's opcodes are
		// below 32.
		constexpr unsigned read_opcodes = 1u << IO_CMD_PREAD | 1u << IO_CMD_PREADV;
		return ((read_opcodes >> opcode) & 1) != 0 ? reads : writes;
	}
	static const kept_flags &kept_for(fates fate) noexcept;
	void note_anywhere(directions way) noexcept;
	int index_of(const file_backing &backing) const noexcept;
	fates fates_on(int fd, const file_devices &devices) const noexcept;

	refusing_filesystem filesystems_[remembered] = {};
	int known_ = 0;
	directions anywhere_ = 0;   // some filesystem refuses these
	directions everywhere_ = 0; // no room was left: every filesystem refuses these
	directions to_workers_ = 0; // some filesystem not served from memory refuses these
	// For a filesystem not asked yet: known where every filesystem or none refuses,
	// not_asked where that depends on the filesystem. Follows anywhere_, everywhere_ and
	// to_workers_.
	kept_flags kept_unasked_ = {~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0};
};

// Goes through one io_submit batch, request by request, in order: takes RWF_NOWAIT off those whose
// filesystem refuses it from memory, and says which must go to the workers instead. One question
// to the devices per fd of the batch, and only for directions some filesystem refuses.
class nowait_refusals::batch_screen {
public:
	batch_screen(const nowait_refusals &refusals, const file_devices &devices) noexcept
		: refusals_(refusals), fates_(asker{&refusals, &devices})
	{}

	// True when `request` must go to a worker (its flags are then as they were); false when
	// its flags are now what the kernel takes.
	bool needs_worker(iocb &request) noexcept
	{
		if (request.aio_fildes != last_fd_) { // see batch_memo.hpp
			last_fd_ = request.aio_fildes;
			kept_ = refusals_.kept_unasked_.data();
		}
		int kept_here = kept_[request.aio_lio_opcode];
		bool flagged = (request.aio_rw_flags & RWF_NOWAIT) != 0;
		if (kept_here == not_asked) [[unlikely]] {
			if (!flagged)
				return false; // no statx for a request without the flag
			kept_ = kept_for(fates_(last_fd_)).data();
			kept_here = kept_[request.aio_lio_opcode];
		}
		if (kept_here == to_worker)
			return flagged;
		request.aio_rw_flags &= kept_here;
		return false;
	}

private:
	struct asker {
		const nowait_refusals *refusals;
		const file_devices *devices;
		fates operator()(int fd) const noexcept { return refusals->fates_on(fd, *devices); }
	};

	const nowait_refusals &refusals_;
	batch_memo<fates, asker> fates_;
	int last_fd_ = -1; // no request has a negative fd: validate() refuses it
	const int *kept_ = nullptr;
};

} // namespace kaio::detail
