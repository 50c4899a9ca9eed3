#include "completion_ring.hpp"

#include <valgrind/valgrind.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace kaio::detail {
namespace {

constexpr unsigned ring_magic = 0xa10a10a1;     // AIO_RING_MAGIC
constexpr unsigned known_incompat_features = 0; // AIO_RING_INCOMPAT_FEATURES

io_event *events_of(aio_ring &ring)
{
	return reinterpret_cast<io_event *>(&ring + 1);
}

} // namespace

aio_ring *recognise_ring(io_context_t context) noexcept
{
	// Valgrind does not see the kernel write events into the ring, so under it every read of
	// the ring would look like a read of memory nobody wrote: take the system call instead.
	if (RUNNING_ON_VALGRIND)
		return nullptr;
	auto *ring = reinterpret_cast<aio_ring *>(context);
	if (ring == nullptr || ring->magic != ring_magic ||
	    ring->incompat_features != known_incompat_features || ring->nr == 0 ||
	    ring->header_length != sizeof(aio_ring))
		return nullptr;
	return ring;
}

int reap_ring(aio_ring &ring, io_event *out, int max) noexcept
{
	unsigned nr = ring.nr;
	unsigned head = ring.head;
	// Acquire: the events up to tail are written before the kernel publishes tail.
	unsigned tail = std::atomic_ref<unsigned>(ring.tail).load(std::memory_order_acquire);
	// The process can write the ring too (a stray store): indices the kernel would never
	// leave must not send the copy outside it.
	if (head >= nr || tail >= nr) [[unlikely]]
		return -EIO;
	int taken = 0;
	while (head != tail && taken < max) {
		// Up to the end of the ring or the tail, whichever comes first; then wrap.
		unsigned stop = tail > head ? tail : nr;
		unsigned count = std::min(stop - head, static_cast<unsigned>(max - taken));
		std::memcpy(out + taken, events_of(ring) + head, sizeof(io_event) * count);
		taken += static_cast<int>(count);
		head += count;
		if (head == nr)
			head = 0;
	}
	// Release: our copies are done before the kernel may reuse those slots.
	if (taken > 0)
		std::atomic_ref<unsigned>(ring.head).store(head, std::memory_order_release);
	return taken;
}

} // namespace kaio::detail
