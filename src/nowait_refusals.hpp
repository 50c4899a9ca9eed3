// Which filesystems refuse RWF_NOWAIT, and in which direction, as the kernel answered. io_submit
// refuses a request that carries the flag with EOPNOTSUPP when its file cannot honour it (on
// Linux 6.18: tmpfs, overlayfs and FUSE, for reads and writes alike) and takes it elsewhere (ext4,
// ext2, xfs, btrfs). A context learns it from the requests it sends, one refusal per filesystem
// and direction, and from then on sends that filesystem's requests of that direction without the
// flag, while every other filesystem keeps it: a context with files on tmpfs and on ext4 still has
// the kernel answer -EAGAIN, instead of blocking, on ext4.
//
// Keyed by the filesystem's device number (st_dev of fstat), never by fd: an fd can be closed
// and its number reused for a file elsewhere at any moment, so a batch asks again for each fd it
// holds (batch_memo.hpp), unless the fd is registered (file_devices.hpp). A context that has seen
// no refusal never asks: any() is false and the engine does not look at its queue. What is
// remembered can only err on the side of blocking: a device number that a newer filesystem takes
// over after an unmount (tmpfs and btrfs use anonymous ones, which are reused) keeps the old
// refusal, so its requests go without the flag, as they did before the flag existed; and a refusing
// filesystem not yet known costs one refused io_submit, after which it is known.
#pragma once

#include <libaio.h>
#include <sys/types.h>

#include <array>

#include "file_devices.hpp"

namespace kaio::detail {

class nowait_refusals {
public:
	// True once any filesystem has refused: only then do batches need looking at.
	bool any() const noexcept { return anywhere_ != 0; }

	// io_submit refused `request`, which carries RWF_NOWAIT, with EOPNOTSUPP: its filesystem
	// refuses the flag in the request's direction. True when that is news, to be counted once;
	// false when it was known, or fstat cannot say which filesystem it is (the caller still
	// sends the request again without the flag).
	bool note(const iocb &request, const file_devices &devices) noexcept;

	// Takes RWF_NOWAIT off each request of [first, last) whose filesystem refuses it in the
	// request's direction: one question to `devices` per fd, and only for directions some
	// filesystem refuses.
	void strip(iocb **first, iocb **last, const file_devices &devices) const noexcept;

private:
	// Bits, so that a set of directions is tested against a request's with one AND.
	enum direction : unsigned { reads = 1, writes = 2 };
	using directions = unsigned; // a set of direction bits
	struct refusing_filesystem {
		dev_t device;
		directions refuses;
	};
	// Processes with more refusing filesystems than this refuse the flag to all of them, in the
	// direction of the refusal that found no room: memory stays fixed.
	static constexpr int remembered = 8;
	// What strip() keeps of a request's flags, per kernel opcode (IO_CMD_*, all below this):
	// one load and one AND per request.
	static constexpr int opcodes = IO_CMD_PWRITEV + 1;
	using kept_flags = std::array<int, opcodes>;
	static constexpr int not_asked = 0; // depends on the filesystem, not asked yet

	static constexpr direction direction_of(int opcode) noexcept
	{
		// A shift and a mask rather than two comparisons: the kernel's opcodes are
		// below 32.
		constexpr unsigned read_opcodes = 1u << IO_CMD_PREAD | 1u << IO_CMD_PREADV;
		return ((read_opcodes >> opcode) & 1) != 0 ? reads : writes;
	}
	static const kept_flags &kept_where_refused(directions refused) noexcept;
	void note_anywhere(directions way) noexcept;
	int index_of(dev_t device) const noexcept;
	directions refused_on(int fd, const file_devices &devices) const noexcept;

	refusing_filesystem filesystems_[remembered] = {};
	int known_ = 0;
	directions anywhere_ = 0;   // some filesystem refuses these
	directions everywhere_ = 0; // no room was left: every filesystem refuses these
	// For a filesystem not asked yet: known where every filesystem or none refuses,
	// not_asked where that depends on the filesystem. Follows anywhere_ and everywhere_.
	kept_flags kept_unasked_ = {~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0, ~0};
};

} // namespace kaio::detail
