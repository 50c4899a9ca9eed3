// What one io_submit batch learns about the descriptors it holds: one question to the kernel per
// descriptor and batch, however many requests of the batch use it. Nothing is kept across
// batches: a descriptor can be closed and its number reused for another file, or its flags
// changed with F_SETFL, at any moment, and a remembered answer could then be wrong.
#pragma once

#include <algorithm>

namespace kaio::detail {

// `Ask`: Value(int fd), what the kernel says of `fd` now. Value: cheap to copy.
//
// The common batch has every request on one file: a caller going through a batch keeps the
// answer for the last fd in locals, which stay in registers, and asks the memo only when the fd
// changes. The memo lives in memory (its arrays are indexed), so a last answer kept in it would
// be loaded again for every request.
template <class Value, class Ask>
class batch_memo {
public:
	// cppcheck-suppress uninitMemberVar ; fds_ and values_ are read only below known_
	explicit batch_memo(Ask ask) noexcept : ask_(ask) {}

	Value operator()(int fd) noexcept
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

private:
	// Beyond this many descriptors in one batch, each further change of fd asks again.
	static constexpr int remembered = 8;

	Ask ask_;
	int fds_[remembered];
	Value values_[remembered];
	int known_ = 0;
};

} // namespace kaio::detail
