#include "descriptor_limit.hpp"

#include <sys/resource.h>

namespace kaio::tools {

void raise_descriptor_limit() noexcept
{
	rlimit limit{};
	if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	static_cast<void>(::setrlimit(RLIMIT_NOFILE, &limit));
}

} // namespace kaio::tools
