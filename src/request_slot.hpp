// One request's place in a context, reused for request after request. Its life, in one place:
//
//   free --claim--> pending --reaped--> free (callback runs after)
//                     |
//                     +--rejected/cancelled--> completing --delivered--> free
//
// `pending`: holds a key, and waits in the library's submission queue, or was taken by
// io_submit (or a worker thread), after which only its io_event frees it, since the kernel may
// still write to its buffer. Which of the two, only cancel needs to know: it looks for the
// request in the queue, so that sending a batch costs no store per request. `completing`:
// finished without the kernel (rejected by io_submit after its key was given out), its result
// waiting to be delivered by the next process.
#pragma once

#include <libaio.h>

#include <cassert>
#include <cstdint>
#include <memory>
#include <utility>

#include "kaio/inplace_function.hpp"

namespace kaio::detail {

enum class slot_state : std::uint8_t { free, pending, completing };

// Two cache lines: the iocb the kernel reads, then what completion needs.
struct alignas(64) request_slot {
	// Keys carry 15 bits of generation: a slot's key comes back only after 2^15 claims.
	static constexpr std::uint16_t max_generation = 0x7fff;

	iocb control_block{}; // first: the kernel's view of the request
	completion_callback callback;
	// io_cancel accepted: where to tell the waiting canceller; null again once told.
	int *cancel_outcome = nullptr;
	// `pending`: the bytes the request moves, which tell a short transfer when it completes;
	// `completing`: the result to deliver.
	int result = 0;
	std::uint16_t generation = 0; // part of the key; changes on every claim
	slot_state state = slot_state::free;

	void claim() noexcept
	{
		assert(state == slot_state::free);
		state = slot_state::pending;
		generation = (generation + 1) & max_generation;
	}
	void finish_without_kernel(int error) noexcept
	{
		assert(state == slot_state::pending);
		state = slot_state::completing;
		result = error;
	}
	// The callback of a claimed slot, built over the empty one its last run left: no reset()
	// to look for a destructor to run first.
	template <class Callback>
	void take_callback(Callback &&new_callback)
	{
		assert(state == slot_state::pending && !callback);
		std::construct_at(&callback, std::forward<Callback>(new_callback));
	}
	// Frees the slot. Its callback stays, to be run (callback.call_moved_out) or reset by the
	// caller: moved out as it runs, it may then reuse the very slot it came from.
	void release() noexcept
	{
		assert(state != slot_state::free);
		state = slot_state::free;
	}
};
static_assert(sizeof(request_slot) == 128, "a slot should fill two cache lines, no more");

} // namespace kaio::detail
