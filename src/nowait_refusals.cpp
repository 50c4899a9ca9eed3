#include "nowait_refusals.hpp"

#include <linux/fs.h>

#include <optional>

#include "batch_memo.hpp"

namespace kaio::detail {

nowait_refusals::direction nowait_refusals::direction_of(const iocb &request) noexcept
{
	// A shift and a mask rather than two comparisons: the kernel's opcodes are below 32.
	constexpr unsigned read_opcodes = 1u << IO_CMD_PREAD | 1u << IO_CMD_PREADV;
	bool read = ((read_opcodes >> request.aio_lio_opcode) & 1) != 0;
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
	direction way = direction_of(request);
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
	anywhere_ |= way;
	return true;
}

void nowait_refusals::strip(iocb **first, iocb **last, const file_devices &devices) const noexcept
{
	auto ask = [this, &devices](int fd) { return refused_on(fd, devices); };
	batch_memo<directions, decltype(ask)> refused{ask};
	// Copied, so that they stay in registers: to the compiler, the stores to the requests'
	// flags might change the members. The last fd's answer is kept here (see batch_memo.hpp).
	const directions anywhere = anywhere_;
	const directions everywhere = everywhere_;
	int last_fd = -1; // no request has a negative fd: validate() refuses it
	directions refused_on_last_fd = 0;
	for (iocb **request = first; request != last; ++request) {
		iocb &block = **request;
		if ((block.aio_rw_flags & RWF_NOWAIT) == 0)
			continue;
		direction way = direction_of(block);
		if ((anywhere & way) == 0)
			continue; // no fstat for a direction every filesystem has taken so far
		if ((everywhere & way) == 0 && block.aio_fildes != last_fd) {
			last_fd = block.aio_fildes;
			refused_on_last_fd = refused(last_fd);
		}
		if (((everywhere | refused_on_last_fd) & way) != 0)
			block.aio_rw_flags &= ~RWF_NOWAIT;
	}
}

} // namespace kaio::detail
