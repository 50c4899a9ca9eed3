#include "nowait_refusals.hpp"

#include <linux/fs.h>

#include <optional>

#include "batch_memo.hpp"

namespace kaio::detail {

nowait_refusals::direction nowait_refusals::direction_of(const iocb &request) noexcept
{
	bool read =
		request.aio_lio_opcode == IO_CMD_PREAD || request.aio_lio_opcode == IO_CMD_PREADV;
	return read ? reads : writes;
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
nowait_refusals::refused_directions
nowait_refusals::refused_on(int fd, const file_devices &devices) const noexcept
{
	refused_directions refused = everywhere_;
	std::optional<dev_t> device = devices.of(fd);
	int index = device ? index_of(*device) : known_;
	if (index < known_) {
		const refused_directions &known = filesystems_[index].refuses;
		refused[reads] = refused[reads] || known[reads];
		refused[writes] = refused[writes] || known[writes];
	}
	return refused;
}

bool nowait_refusals::note(const iocb &request, const file_devices &devices) noexcept
{
	std::optional<dev_t> device = devices.of(request.aio_fildes);
	if (!device)
		return false;
	direction way = direction_of(request);
	if (everywhere_[way])
		return false;
	int index = index_of(*device);
	if (index == known_ && known_ < remembered)
		filesystems_[known_++] = refusing_filesystem{*device, {}};
	if (index == known_) // no room left
		everywhere_[way] = true;
	else if (filesystems_[index].refuses[way])
		return false;
	else
		filesystems_[index].refuses[way] = true;
	anywhere_[way] = true;
	any_ = true;
	return true;
}

void nowait_refusals::strip_batch(iocb **first, iocb **last,
				  const file_devices &devices) const noexcept
{
	auto ask = [this, &devices](int fd) { return refused_on(fd, devices); };
	batch_memo<refused_directions, decltype(ask)> refused{ask};
	for (iocb **request = first; request != last; ++request) {
		iocb &block = **request;
		if ((block.aio_rw_flags & RWF_NOWAIT) == 0)
			continue;
		direction way = direction_of(block);
		if (!anywhere_[way])
			continue; // no fstat for a direction every filesystem has taken so far
		if (everywhere_[way] || refused(block.aio_fildes)[way])
			block.aio_rw_flags &= ~RWF_NOWAIT;
	}
}

} // namespace kaio::detail
