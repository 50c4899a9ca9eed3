// The AIO completion ring: io_setup maps it into the process at the address it returns as the
// context, and the kernel appends an io_event at `tail` for every completion. One consumer
// (kaio's contexts are single-threaded) can take events from `head` without a system call, as
// fio's userspace_reap and Seastar do. The layout is fs/aio.c's struct aio_ring, unchanged
// since 2.6; the magic and feature fields say whether this is a ring we understand.
#pragma once

#include <libaio.h>

namespace kaio::detail {

struct aio_ring {
	unsigned id;
	unsigned nr;   // events the ring holds
	unsigned head; // the next event to consume; ours to move
	unsigned tail; // one past the last event; the kernel's to move
	unsigned magic;
	unsigned compat_features;
	unsigned incompat_features;
	unsigned header_length; // the size of this header; the events follow it
};

// The ring behind `context`, or null when it is not one we understand.
aio_ring *recognise_ring(io_context_t context) noexcept;

// Moves up to `max` completions from the ring into `out`; returns how many, or -EIO when its
// head or tail lies outside it, which only a write of the process's own could have done.
int reap_ring(aio_ring &ring, io_event *out, int max) noexcept;

} // namespace kaio::detail
