// Memory for O_DIRECT: aligned (to 4096 by default, what every device accepts), zero-filled,
// freed with the object.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <utility>

namespace kaio {

class aligned_buffer {
public:
	static constexpr std::size_t default_alignment = 4096;

	aligned_buffer() noexcept = default;

	// Throws std::bad_alloc, also when `alignment` is not a power of two.
	explicit aligned_buffer(std::size_t size, std::size_t alignment = default_alignment)
		: data_(allocate(size, alignment)), size_(size), alignment_(alignment)
	{
		std::memset(data_, 0, size);
	}

	aligned_buffer(aligned_buffer &&other) noexcept
		: data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
		  alignment_(other.alignment_)
	{}

	aligned_buffer &operator=(aligned_buffer &&other) noexcept
	{
		aligned_buffer old(std::move(*this));
		data_ = std::exchange(other.data_, nullptr);
		size_ = std::exchange(other.size_, 0);
		alignment_ = other.alignment_;
		return *this;
	}

	aligned_buffer(const aligned_buffer &) = delete;
	aligned_buffer &operator=(const aligned_buffer &) = delete;

	~aligned_buffer()
	{
		if (data_ != nullptr)
			::operator delete(data_, std::align_val_t(alignment_));
	}

	std::byte *data() noexcept { return data_; }
	const std::byte *data() const noexcept { return data_; }
	std::size_t size() const noexcept { return size_; }

	std::span<std::byte> span() noexcept { return {data_, size_}; }
	std::span<const std::byte> span() const noexcept { return {data_, size_}; }
	// Not from a temporary, which would be freed while the I/O given the view is still in
	// flight: `ctx.read(fd, aligned_buffer(4096), ...)` does not compile.
	operator std::span<std::byte>() &noexcept { return span(); }             // NOLINT
	operator std::span<const std::byte>() const &noexcept { return span(); } // NOLINT
	operator std::span<std::byte>() && = delete;
	operator std::span<const std::byte>() const && = delete;

private:
	// No object may be larger than PTRDIFF_MAX. Checked here because libstdc++ 12 rounds the
	// size up to the alignment without looking for wrap-around: for a size within `alignment`
	// of SIZE_MAX it hands back a few bytes instead of throwing.
	// And an alignment that is not a power of two is undefined behaviour for operator new.
	static std::byte *allocate(std::size_t size, std::size_t alignment)
	{
		if (size > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) ||
		    !std::has_single_bit(alignment))
			throw std::bad_alloc();
		return static_cast<std::byte *>(::operator new(size, std::align_val_t(alignment)));
	}

	std::byte *data_ = nullptr;
	std::size_t size_ = 0;
	std::size_t alignment_ = default_alignment;
};

} // namespace kaio
