// What one io_submit batch learns about the descriptors it holds: one question to the kernel per
// descriptor and batch, however many requests of the batch use it. Nothing is kept across
// batches: a descriptor can be closed and its number reused for another file, or its flags
// changed with F_SETFL, at any moment, and a remembered answer could then be wrong.
#pragma once

#include <algorithm>

namespace kaio::detail {

// `Ask`: Value(int fd), what the kernel says of `fd` now. Value: cheap to copy.
template <class Value, class Ask>
class batch_memo {
public:
	// cppcheck-suppress uninitMemberVar ; fds_ and values_ are read only below known_
	explicit batch_memo(Ask ask) noexcept : ask_(ask) {}

	Value operator()(int fd) noexcept
	{
		if (fd == last_fd_) // the common batch: every request on one file
			return last_value_;
		last_fd_ = fd;
		last_value_ = recall_or_ask(fd);
		return last_value_;
	}

private:
	// Beyond this many descriptors in one batch, each further request asks again.
	static constexpr int remembered = 8;

	Value recall_or_ask(int fd) noexcept
	{
		int *found = std::find(fds_, fds_ + known_, fd);
		if (found != fds_ + known_)
			return values_[found - fds_];
		Value value = ask_(fd);
		if (known_ < remembered) {
			fds_[known_] = fd;
			values_[known_++] = value;
		}
		return value;
	}

	Ask ask_;
	int last_fd_ = -1; // no request has a negative fd: validate() refuses it
	Value last_value_{};
	int fds_[remembered];
	Value values_[remembered];
	int known_ = 0;
};

} // namespace kaio::detail
