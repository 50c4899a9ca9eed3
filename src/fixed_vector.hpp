// A vector whose capacity is fixed when it is made: push_back never allocates, never checks for
// room, and so costs a store and an increment. The engine's free-slot stack and submission queue
// can never hold more than the context's capacity, which is what makes this safe.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <memory>

namespace kaio::detail {

template <class T>
class fixed_vector {
public:
	explicit fixed_vector(std::size_t capacity)
		: items_(std::make_unique_for_overwrite<T[]>(capacity)), capacity_(capacity)
	{}

	bool empty() const noexcept { return size_ == 0; }
	std::size_t size() const noexcept { return size_; }
	T *data() noexcept { return items_.get(); }
	T *begin() noexcept { return items_.get(); }
	T *end() noexcept { return items_.get() + size_; }
	const T *begin() const noexcept { return items_.get(); }
	const T *end() const noexcept { return items_.get() + size_; }
	T &operator[](std::size_t i) noexcept { return items_[i]; }
	T &front() noexcept { return items_[0]; }
	T &back() noexcept { return items_[size_ - 1]; }

	void push_back(T value) noexcept
	{
		assert(size_ < capacity_);
		items_[size_++] = value;
	}
	void pop_back() noexcept { --size_; }
	void truncate(std::size_t size) noexcept { size_ = std::min(size, size_); }

	// Removes [first, last), keeping the order of what follows.
	void erase(T *first, T *last) noexcept
	{
		std::copy(last, end(), first);
		size_ -= static_cast<std::size_t>(last - first);
	}
	void erase(T *position) noexcept { erase(position, position + 1); }

private:
	std::unique_ptr<T[]> items_;
	std::size_t size_ = 0;
	[[maybe_unused]] std::size_t capacity_; // for the assertion
};

} // namespace kaio::detail
