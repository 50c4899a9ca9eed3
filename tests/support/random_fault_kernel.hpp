// A kernel seam that passes every call to the real kernel (AIO, or io_uring in that pass of the
// suite: support/passthrough_kernel.hpp) and injects faults at random, as a
// fault_plan says, from a seed (so a failing run can be replayed). Beyond what fault_kernel
// scripts, it rewrites completions (-EIO, -ENOSPC, -EINTR, short counts) and holds events back
// to deliver them later, out of order. It keeps its own count of what is in the kernel, and can
// tell an observer every event it hands over, so a test can check that the right result
// reached the right callback.
#pragma once

#include <libaio.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <vector>

#include "support/fault_plan.hpp"
#include "support/passthrough_kernel.hpp"

namespace kaio::testing {

class random_fault_kernel final : public passthrough_kernel {
public:
	// Called for every event handed to the library: its request, the result it carries and
	// whether that result is an injected one rather than the kernel's.
	using delivery_observer =
		std::function<void(const iocb &request, int result, bool injected)>;

	// `real`: the kernel to wrap, by default this pass's.
	random_fault_kernel(const fault_plan &plan, std::uint64_t seed,
			    detail::kernel_aio &real = pass_kernel())
		: passthrough_kernel(real), plan_(plan), random_(seed)
	{}

	delivery_observer on_delivery;

	// Requests the real kernel accepted whose events the library has not been handed yet.
	long outstanding() const { return accepted_ - delivered_; }
	long accepted() const { return accepted_; }
	std::size_t held() const { return held_.size(); }
	unsigned long long injected(fault kind) const
	{
		return injected_[static_cast<std::size_t>(kind)];
	}
	unsigned long long injected_total() const
	{
		unsigned long long total = 0;
		for (unsigned long long count : injected_)
			total += count;
		return total;
	}

	int setup(unsigned max_events, io_context_t *context) override
	{
		if (chance(fault::setup_eagain))
			return -EAGAIN; // as when /proc/sys/fs/aio-max-nr is exhausted
		return real().setup(max_events, context);
	}

	int submit(io_context_t context, long count, iocb **requests) override
	{
		for (auto [kind, error] : submit_errors) {
			if (chance(kind))
				return error;
		}
		if (count > 1 && chance(fault::submit_partial))
			count = 1 + static_cast<long>(below(static_cast<std::uint64_t>(count - 1)));
		int accepted = real().submit(context, count, requests);
		if (accepted > 0)
			accepted_ += accepted;
		return accepted;
	}

	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		if (chance(fault::getevents_eintr))
			return -EINTR;
		if (max_count > 1 && chance(fault::getevents_fewer))
			max_count = 1 + static_cast<long>(
						below(static_cast<std::uint64_t>(max_count - 1)));
		// Held events count as ready: never block in the kernel while we keep some.
		if (int err = take_from_kernel(context, held_.empty() ? min_count : 0, max_count,
					       timeout);
		    err < 0)
			return err;
		int count = choose_deliveries(min_count, max_count, events);
		for (int i = 0; i < count; ++i)
			hand_over(events[i]);
		if (!held_.empty())
			signal_eventfd(); // the library may have drained it: wake it
		return count;
	}

	int cancel(io_context_t context, iocb *request, io_event *result) override
	{
		if (chance(fault::cancel_succeeds)) {
			// As the kernel does when it stops a request: EINPROGRESS, the event later.
			cancelled_.insert(request);
			return -EINPROGRESS;
		}
		if (chance(fault::cancel_einval))
			return -EINVAL;
		if (chance(fault::cancel_eagain))
			return -EAGAIN;
		return real().cancel(context, request, result);
	}

	// The eventfd it signals when it holds events back.
	int attach_eventfd(io_context_t context, int fd) override
	{
		eventfd_ = fd;
		return passthrough_kernel::attach_eventfd(context, fd);
	}

	// Whether the library has a worker move the rest of a request delivered with `result`: a
	// short count under the RWF_NOWAIT the library added. Its callback then gets the whole
	// length, all the files of these tests holding it.
	static bool rest_moved_by_worker(const iocb &request, long result)
	{
		return (request.aio_rw_flags & RWF_NOWAIT) != 0 && result > 0 &&
		       result < transfer_length(request);
	}

private:
	static constexpr std::array<std::pair<fault, int>, 4> submit_errors = {{
		{fault::submit_eagain, -EAGAIN},
		{fault::submit_eintr, -EINTR},
		{fault::submit_ebadf, -EBADF},
		{fault::submit_enomem, -ENOMEM},
	}};

	bool chance(fault kind)
	{
		double p = plan_[kind];
		if (p <= 0 || std::uniform_real_distribution<double>(0, 1)(random_) >= p)
			return false;
		++injected_[static_cast<std::size_t>(kind)];
		return true;
	}

	std::uint64_t below(std::uint64_t bound)
	{
		return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(random_);
	}

	int take_from_kernel(io_context_t context, long min_count, long max_count,
			     timespec *timeout)
	{
		fresh_.resize(static_cast<std::size_t>(max_count));
		int got = real().getevents(context, min_count, max_count, fresh_.data(), timeout);
		if (got < 0)
			return got;
		held_.insert(held_.end(), fresh_.begin(), fresh_.begin() + got);
		return 0;
	}

	// Picks up to max_count held events, each one kept back at the plan's chance, in an order
	// shuffled whenever one was kept back. At least min_count when we have them.
	int choose_deliveries(long min_count, long max_count, io_event *events)
	{
		int count = 0;
		bool reordered = false;
		for (auto it = held_.begin(); it != held_.end() && count < max_count;) {
			if (count >= min_count && chance(fault::hold_back)) {
				reordered = true;
				++it;
				continue;
			}
			events[count++] = *it;
			it = held_.erase(it);
		}
		if (reordered)
			std::shuffle(events, events + count, random_);
		return count;
	}

	void hand_over(io_event &event)
	{
		bool injected = rewrite_result(event);
		++delivered_;
		if (on_delivery)
			on_delivery(*event.obj, static_cast<int>(static_cast<long>(event.res)),
				    injected);
	}

	// True when the event's result was replaced.
	bool rewrite_result(io_event &event)
	{
		if (cancelled_.erase(event.obj) != 0)
			return set_result(event, -ECANCELED);
		if (chance(fault::result_eio))
			return set_result(event, -EIO);
		if (chance(fault::result_enospc))
			return set_result(event, -ENOSPC);
		if (chance(fault::result_eintr))
			return set_result(event, -EINTR);
		long full = static_cast<long>(event.res);
		if (full >= 512 && full == transfer_length(*event.obj) &&
		    chance(fault::result_short))
			return set_result(event,
					  512 * static_cast<long>(below(
							static_cast<std::uint64_t>(full / 512))));
		return false;
	}

	static bool set_result(io_event &event, long result)
	{
		event.res = static_cast<unsigned long>(
			result); // a negative errno as the kernel stores it
		return true;
	}

	// The bytes a read or write asks for; 0 for a sync.
	static long transfer_length(const iocb &request)
	{
		switch (request.aio_lio_opcode) {
		case IO_CMD_PREAD:
		case IO_CMD_PWRITE: return static_cast<long>(request.u.c.nbytes);
		case IO_CMD_PREADV:
		case IO_CMD_PWRITEV: {
			long total = 0;
			for (unsigned long i = 0; i < request.u.v.nr; ++i)
				total += static_cast<long>(request.u.v.vec[i].iov_len);
			return total;
		}
		default: return 0;
		}
	}

	void signal_eventfd() const
	{
		if (eventfd_ < 0)
			return; // not attached: the library waits in getevents
		std::uint64_t one = 1;
		[[maybe_unused]] ssize_t ignored = ::write(eventfd_, &one, sizeof one);
	}

	fault_plan plan_;
	std::mt19937_64 random_;
	std::array<unsigned long long, fault_kinds> injected_{};
	std::vector<io_event> held_;  // taken from the kernel, not handed over yet
	std::vector<io_event> fresh_; // room for one io_getevents
	std::set<iocb *> cancelled_;  // io_cancel "stopped" them: their events say -ECANCELED
	long accepted_ = 0;
	long delivered_ = 0;
	int eventfd_ = -1; // the library's, once attached
};

} // namespace kaio::testing
