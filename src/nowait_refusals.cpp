#include "nowait_refusals.hpp"

#include <linux/fs.h>

#include <optional>

#include "batch_memo.hpp"

namespace kaio::detail {

// What to keep of a request's flags on a filesystem that refuses the flag in `refused`.
const nowait_refusals::kept_flags &nowait_refusals::kept_where_refused(directions refused) noexcept
{
	using table = std::array<kept_flags, (reads | writes) + 1>;
	static constexpr table kept = [] {
		table all{};
		for (directions set = 0; set <= (reads | writes); ++set) {
			for (int opcode = 0; opcode < opcodes; ++opcode)
				all[set][opcode] =
					(set & direction_of(opcode)) != 0 ? ~RWF_NOWAIT : ~0;
		}
		return all;
	}();
	return kept[refused];
}

// Where `device` is among the refusing filesystems; known_ when it is not.
int nowait_refusals::index_of(dev_t device) const noexcept
{
	int index = 0;
	while (index < known_ && filesystems_[index].device != device)
		++index;
	return index;
}

// The directions in which the filesystem of `fd` refuses the flag. Where fstat cannot say,
// those every filesystem refuses: the kernel would still refuse the rest, which note() handles.
nowait_refusals::directions nowait_refusals::refused_on(int fd,
							const file_devices &devices) const noexcept
{
	std::optional<dev_t> device = devices.of(fd);
	int index = device ? index_of(*device) : known_;
	if (index < known_)
		return everywhere_ | filesystems_[index].refuses;
	return everywhere_;
}

bool nowait_refusals::note(const iocb &request, const file_devices &devices) noexcept
{
	std::optional<dev_t> device = devices.of(request.aio_fildes);
	if (!device)
		return false;
	direction way = direction_of(request.aio_lio_opcode);
	if ((everywhere_ & way) != 0)
		return false;
	int index = index_of(*device);
	if (index == known_ && known_ < remembered)
		filesystems_[known_++] = refusing_filesystem{*device, 0};
	if (index == known_) // no room left
		everywhere_ |= way;
	else if ((filesystems_[index].refuses & way) != 0)
		return false;
	else
		filesystems_[index].refuses |= way;
	note_anywhere(way);
	return true;
}

void nowait_refusals::note_anywhere(directions way) noexcept
{
	anywhere_ |= way;
	const kept_flags &everywhere = kept_where_refused(everywhere_);
	for (int opcode = 0; opcode < opcodes; ++opcode) {
		bool asked = (anywhere_ & ~everywhere_ & direction_of(opcode)) != 0;
		kept_unasked_[opcode] = asked ? not_asked : everywhere[opcode];
	}
}

void nowait_refusals::strip(iocb **first, iocb **last, const file_devices &devices) const noexcept
{
	auto ask = [this, &devices](int fd) { return refused_on(fd, devices); };
	batch_memo<directions, decltype(ask)> refused{ask};
	int last_fd = -1; // no request has a negative fd: validate() refuses it
	const int *kept = kept_unasked_.data();
	for (iocb **request = first; request != last; ++request) {
		iocb &block = **request;
		if (block.aio_fildes != last_fd) { // see batch_memo.hpp
			last_fd = block.aio_fildes;
			kept = kept_unasked_.data();
		}
		int kept_here = kept[block.aio_lio_opcode];
		if (kept_here == not_asked) [[unlikely]] {
			if ((block.aio_rw_flags & RWF_NOWAIT) == 0)
				continue; // no fstat for a request without the flag
			kept = kept_where_refused(refused(last_fd)).data();
			kept_here = kept[block.aio_lio_opcode];
		}
		block.aio_rw_flags &= kept_here;
	}
}

} // namespace kaio::detail
