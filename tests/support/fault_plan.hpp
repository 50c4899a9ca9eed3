// How often random_fault_kernel injects each fault it knows: one probability (0..1) per kind, per
// chance to inject it (a system call, or an event passing through).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace kaio::testing {

enum class fault : std::size_t {
	// io_submit, instead of the kernel's answer
	submit_partial, // accepts only part of the batch
	submit_eagain,
	submit_eintr,
	submit_ebadf,
	submit_enomem,
	// io_getevents
	getevents_eintr,
	getevents_fewer, // returns fewer events than asked
	hold_back,       // keeps an event for a later call, which delivers it out of order
	result_eio,      // rewrites a completion's result
	result_enospc,
	result_short, // a shorter byte count, a multiple of 512 the caller can act on
	result_eintr,
	// io_setup, io_cancel
	setup_eagain,
	cancel_succeeds, // io_cancel stops the request: it completes with -ECANCELED
	cancel_einval,
	cancel_eagain,
	count
};

constexpr std::size_t fault_kinds = static_cast<std::size_t>(fault::count);

constexpr std::array<std::string_view, fault_kinds> fault_names = {
	"submit_partial", "submit_eagain",   "submit_eintr",    "submit_ebadf",
	"submit_enomem",  "getevents_eintr", "getevents_fewer", "hold_back",
	"result_eio",     "result_enospc",   "result_short",    "result_eintr",
	"setup_eagain",   "cancel_succeeds", "cancel_einval",   "cancel_eagain",
};

struct fault_plan {
	std::array<double, fault_kinds> probability{};

	double &operator[](fault kind) { return probability[static_cast<std::size_t>(kind)]; }
	double operator[](fault kind) const { return probability[static_cast<std::size_t>(kind)]; }

	// Only `kind`, at `chance`.
	static fault_plan only(fault kind, double chance)
	{
		fault_plan plan;
		plan[kind] = chance;
		return plan;
	}

	// Every fault at `chance`; io_setup at most rarely, since a context cannot work without it.
	static fault_plan every(double chance)
	{
		fault_plan plan;
		plan.probability.fill(chance);
		plan[fault::setup_eagain] = chance / 4;
		return plan;
	}
};

} // namespace kaio::testing
