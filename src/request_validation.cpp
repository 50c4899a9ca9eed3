#include "request_validation.hpp"

#include <climits>

namespace kaio::detail {

int validate_vector(const iovec *iov, int iovcnt) noexcept
{
	if (iov == nullptr || iovcnt < 1 || iovcnt > IOV_MAX)
		return -EINVAL;
	std::size_t total = 0;
	for (int i = 0; i < iovcnt; ++i) {
		if (!valid_span(iov[i].iov_base, iov[i].iov_len))
			return -EINVAL;
		// Compared before adding: a sum of huge lengths would wrap around and look small.
		if (iov[i].iov_len > static_cast<std::size_t>(max_io_bytes) - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return static_cast<int>(total);
}

} // namespace kaio::detail
