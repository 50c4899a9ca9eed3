// The buffers a context registered with io_uring, and which of them holds a request's data:
// such a request goes with the fixed-buffer opcodes, which spare the kernel pinning and mapping
// its pages on every request.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace kaio::detail {

// A registered buffer, where it lies and its index for the fixed-buffer opcodes.
struct registered_buffer {
	std::uintptr_t base;
	std::size_t length;
	int index;

	bool holds(std::uintptr_t start, unsigned long bytes) const noexcept
	{
		return start >= base && start - base <= length && bytes <= length - (start - base);
	}
};

// Registered buffers, sorted by address: a request finds its buffer in log2(count) steps,
// where a scan of one buffer per slot (kaio-bench --fixedbufs, fio's fixedbufs=1) cost tens of
// instructions per request at depth 32 and hundreds at depth 128.
class registered_buffers {
public:
	// 0, or -ENOMEM.
	int assign(const iovec *buffers, int count) noexcept
	{
		std::vector<registered_buffer> sorted;
		try {
			sorted.reserve(static_cast<std::size_t>(count));
		} catch (const std::bad_alloc &) {
			return -ENOMEM;
		}
		for (int k = 0; k < count; ++k)
			sorted.push_back({reinterpret_cast<std::uintptr_t>(buffers[k].iov_base),
					  buffers[k].iov_len, k});
		std::sort(sorted.begin(), sorted.end(), starts_before);
		overlap_ = false;
		for (std::size_t k = 1; k < sorted.size(); ++k)
			overlap_ |= sorted[k].base - sorted[k - 1].base < sorted[k - 1].length;
		sorted_ = std::move(sorted);
		return 0;
	}
	void clear() noexcept { sorted_.clear(); }
	bool empty() const noexcept { return sorted_.empty(); }

	// The index of a registered buffer that holds [address, address + length), or -1.
	int holding(const void *address, unsigned long length) const noexcept
	{
		auto start = reinterpret_cast<std::uintptr_t>(address);
		if (overlap_) { // the one starting last below `start` may not be the one
			for (const registered_buffer &buffer : sorted_) {
				if (buffer.holds(start, length))
					return buffer.index;
			}
			return -1;
		}
		// Apart from each other, only the last buffer starting at or below it can hold it.
		auto after = std::upper_bound(sorted_.begin(), sorted_.end(), start, starts_after);
		if (after == sorted_.begin() || !after[-1].holds(start, length))
			return -1;
		return after[-1].index;
	}

private:
	static bool starts_before(const registered_buffer &a, const registered_buffer &b) noexcept
	{
		return a.base < b.base;
	}
	static bool starts_after(std::uintptr_t start, const registered_buffer &buffer) noexcept
	{
		return start < buffer.base;
	}

	std::vector<registered_buffer> sorted_;
	bool overlap_ = false;
};

} // namespace kaio::detail
