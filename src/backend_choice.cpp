#include "backend_choice.hpp"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "uring_backend.hpp"

namespace kaio::detail {
namespace {

// KAIO_BACKEND lets a program switch backends without a rebuild; a name we do not know is an
// error rather than a silent AIO, so a typo cannot pass for a run on io_uring.
int backend_from_environment(backend &out)
{
	// Read, never written, by kaio; a program that changes its environment from another thread
	// while it creates contexts has a race of its own.
	const char *value = std::getenv("KAIO_BACKEND"); // NOLINT(concurrency-mt-unsafe)
	std::string_view name = value == nullptr ? "" : value;
	if (name.empty() || name == "aio")
		out = backend::aio;
	else if (name == "uring")
		out = backend::uring;
	else if (name == "auto")
		out = backend::automatic;
	else
		return -EINVAL;
	return 0;
}

} // namespace

int open_backend(backend wanted, unsigned capacity, ring_use use, kernel_aio *given,
		 opened_backend &out)
{
	if (given != nullptr) {
		out.kernel = given;
		out.chosen = given->backend();
		return given->setup(capacity, &out.context);
	}
	if (wanted == backend::from_environment) {
		if (int err = backend_from_environment(wanted); err < 0)
			return err;
	}
	if (wanted == backend::uring || wanted == backend::automatic) {
		// Refused with EPERM by container seccomp profiles and io_uring_disabled, ENOSYS
		// by old kernels: `automatic` then falls back to AIO, `uring` fails with it.
		kernel_aio &uring = linux_kernel_uring(use);
		int err = uring.setup(capacity, &out.context);
		if (err == 0) {
			out.kernel = &uring;
			out.chosen = backend::uring;
			return 0;
		}
		if (wanted == backend::uring)
			return err;
	}
	out.kernel = &linux_kernel_aio();
	out.chosen = backend::aio;
	return out.kernel->setup(capacity, &out.context);
}

} // namespace kaio::detail
