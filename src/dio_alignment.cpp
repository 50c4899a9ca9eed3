// What O_DIRECT really requires of an fd: files say it through statx(STATX_DIOALIGN) (Linux
// 6.1 and later, on the filesystems that implement it); block devices through their logical
// block size and their queue's DMA alignment.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>

#include "kaio/context.hpp"

namespace kaio {
namespace {

int file_alignment(int fd, struct io_ctx_dio_alignment &alignment)
{
	struct statx status {};
	if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &status) < 0)
		return -errno;
	// Without the mask bit the filesystem does not say; an offset alignment of 0 means it
	// cannot do direct I/O on this file.
	if ((status.stx_mask & STATX_DIOALIGN) == 0 || status.stx_dio_offset_align == 0)
		return -EOPNOTSUPP;
	alignment.memory = status.stx_dio_mem_align;
	alignment.offset = status.stx_dio_offset_align;
	return 0;
}

// The queue's dma_alignment is a mask (511 for most devices). A partition's queue is its
// disk's, one directory up. 0 when sysfs does not say.
std::uint32_t queue_dma_alignment(dev_t device)
{
	std::string base = "/sys/dev/block/" + std::to_string(major(device)) + ":" +
			   std::to_string(minor(device));
	for (const char *where : {"/queue/dma_alignment", "/../queue/dma_alignment"}) {
		std::uint32_t mask = 0;
		if (std::ifstream(base + where) >> mask)
			return mask + 1;
	}
	return 0;
}

int block_device_alignment(int fd, dev_t device, struct io_ctx_dio_alignment &alignment)
{
	int logical_block_size = 0;
	if (::ioctl(fd, BLKSSZGET, &logical_block_size) < 0)
		return -errno;
	alignment.offset = static_cast<std::uint32_t>(logical_block_size);
	std::uint32_t dma = queue_dma_alignment(device);
	// Without sysfs, the logical block size is always enough for the buffer too.
	alignment.memory = dma != 0 ? dma : alignment.offset;
	return 0;
}

} // namespace

int dio_alignment(int fd, struct io_ctx_dio_alignment &alignment) noexcept
{
	alignment = {};
	struct stat status {};
	if (::fstat(fd, &status) < 0)
		return -errno;
	try {
		if (S_ISBLK(status.st_mode))
			return block_device_alignment(fd, status.st_rdev, alignment);
	} catch (...) {
		return -ENOMEM; // building the sysfs path
	}
	return file_alignment(fd, alignment);
}

} // namespace kaio
