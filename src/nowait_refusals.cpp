#include "nowait_refusals.hpp"

#include <optional>

namespace kaio::detail {

// What to keep of a request's flags on a filesystem where the flag has the fate `fate`.
const nowait_refusals::kept_flags &nowait_refusals::kept_for(fates fate) noexcept
{
	using table = std::array<kept_flags, all_fates + 1>;
	static constexpr table kept = [] {
		table all{};
		for (fates set = 0; set <= all_fates; ++set) {
			for (int opcode = 0; opcode < opcodes; ++opcode) {
				direction way = direction_of(opcode);
				if ((set & way) != 0)
					all[set][opcode] = ~RWF_NOWAIT;
				else if ((set >> to_workers_shift & way) != 0)
					all[set][opcode] = to_worker;
				else
					all[set][opcode] = ~0;
			}
		}
		return all;
	}();
	return kept[fate];
}

// Where `backing` is among the refusing filesystems; known_ when it is not.
int nowait_refusals::index_of(const file_backing &backing) const noexcept
{
	int index = 0;
	while (index < known_ && !(filesystems_[index].backing == backing))
		++index;
	return index;
}

// The fates of the flag on the filesystem of `fd`. Where statx cannot say, it comes off in the
// directions every filesystem refuses: the kernel would still refuse the rest, which note()
// handles.
nowait_refusals::fates nowait_refusals::fates_on(int fd, const file_devices &devices) const noexcept
{
	std::optional<file_backing> backing = devices.of(fd);
	int index = backing ? index_of(*backing) : known_;
	if (index == known_)
		return everywhere_;
	const refusing_filesystem &filesystem = filesystems_[index];
	if (filesystem.served_from_memory)
		return everywhere_ | filesystem.refuses;
	// Its requests go to the workers, also in a direction where no room was left.
	return (everywhere_ & ~filesystem.refuses) | filesystem.refuses << to_workers_shift;
}

bool nowait_refusals::note(const iocb &request, const file_devices &devices) noexcept
{
	std::optional<file_backing> backing = devices.of(request.aio_fildes);
	if (!backing || backing->is_special)
		return false;
	direction way = direction_of(request.aio_lio_opcode);
	if ((everywhere_ & way) != 0)
		return false;
	int index = index_of(*backing);
	if (index == known_ && known_ < remembered)
		filesystems_[known_++] = refusing_filesystem{
			*backing, 0, devices.served_from_memory(request.aio_fildes, *backing)};
	if (index == known_) { // no room left
		everywhere_ |= way;
	} else if ((filesystems_[index].refuses & way) != 0) {
		return false;
	} else {
		filesystems_[index].refuses |= way;
		if (!filesystems_[index].served_from_memory)
			to_workers_ |= way;
	}
	note_anywhere(way);
	return true;
}

void nowait_refusals::note_anywhere(directions way) noexcept
{
	anywhere_ |= way;
	const kept_flags &everywhere = kept_for(everywhere_);
	// Where every filesystem refuses, those sent to the workers still need asking for.
	directions depends = (anywhere_ & ~everywhere_) | (everywhere_ & to_workers_);
	for (int opcode = 0; opcode < opcodes; ++opcode) {
		bool asked = (depends & direction_of(opcode)) != 0;
		kept_unasked_[opcode] = asked ? not_asked : everywhere[opcode];
	}
}

} // namespace kaio::detail
