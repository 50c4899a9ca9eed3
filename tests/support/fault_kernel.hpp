// A kernel seam that passes every call to the real kernel (AIO, or io_uring in that pass of the
// suite: support/passthrough_kernel.hpp), except the faults a test scripts:
// what the kernel cannot be made to do on demand (a partial io_submit, EAGAIN, EINTR, a cancel
// that succeeds on a regular file, a failing io_setup, "nothing ready" while events are).
// Also await_completions() and `gather`, to make completions arrive together.
#pragma once

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "support/passthrough_kernel.hpp"

namespace kaio::testing {

class fault_kernel final : public passthrough_kernel {
public:
	// Scripts, consumed one entry per call; an empty script means "the real kernel".
	// submit: n > 0 accepts at most n requests, n < 0 fails the call with that errno.
	std::deque<int> submit_script;
	// getevents: n > 0 returns at most n events, n < 0 fails the call with that errno.
	std::deque<int> getevents_script;
	// cancel: the answer to give instead of the kernel's; -EINPROGRESS means "stopped", and the
	// request's event then comes back with -ECANCELED.
	std::deque<int> cancel_script;
	// getevents: the results to give the next events instead of the kernel's, one per event.
	std::deque<int> result_script;
	// getevents: the script's counts cut short only reads and writes the kernel did in full
	// (the others keep the kernel's answer, the count waiting for the next event), and undo
	// what the kernel did past them, as if it had stopped there: a read's buffer past the
	// count, a write's range of the file, get bytes no test writes. Only a second transfer of
	// the rest puts them right.
	bool undo_past_scripted_count = false;
	// setup: the errno to fail io_setup with (0: the real kernel).
	int setup_error = 0;
	// getevents: once nonzero, the errno every call fails with, for good (after the script).
	int getevents_error = 0;
	// getevents: the next this many calls report nothing ready (0) without asking the kernel,
	// whose events stay in its ring. Makes a wait through wait_cb certain; a wait_cb that then
	// blocks on the eventfd may never wake (the library drained it): it should return at once.
	int nothing_ready = 0;
	// getevents: the next call that reaches the kernel first waits until this many requests
	// have completed (whatever the timeout) and takes them all; that call and the next hand
	// them over, as many as each may (the scripts' counts too), before the kernel is asked
	// again. So completions arrive together, on io_uring too, whose eventfd may count several
	// as one (await_completions() cannot wait for more than one there).
	long gather = 0;

	int submit_calls = 0;
	int getevents_calls = 0;
	int cancel_calls = 0;
	int statx_calls = 0;
	int destroy_calls = 0;
	long submitted = 0; // requests the real kernel accepted

	int setup(unsigned max_events, io_context_t *context) override
	{
		if (setup_error != 0)
			return setup_error;
		return real().setup(max_events, context);
	}

	int destroy(io_context_t context) override
	{
		++destroy_calls;
		return real().destroy(context);
	}

	int submit(io_context_t context, long count, iocb **requests) override
	{
		++submit_calls;
		if (int step = next(submit_script); step < 0)
			return step;
		else if (step > 0 && step < count)
			count = step;
		int accepted = real().submit(context, count, requests);
		if (accepted > 0)
			submitted += accepted;
		return accepted;
	}

	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		++getevents_calls;
		if (nothing_ready > 0) {
			--nothing_ready;
			return 0;
		}
		if (int step = next(getevents_script); step < 0)
			return step;
		else if (step > 0 && step < max_count)
			max_count = step;
		else if (getevents_error != 0)
			return getevents_error;
		if (gather > 0)
			hold(context, std::exchange(gather, 0));
		int got = held_.empty()
				  ? real().getevents(context, min_count, max_count, events, timeout)
				  : hand_over_held(events, max_count);
		for (int i = 0; i < got; ++i) {
			if (cancelled_.erase(events[i].obj) != 0)
				events[i].res = cancelled_result;
			if (result_script.empty())
				continue;
			if (!undo_past_scripted_count) {
				events[i].res =
					static_cast<unsigned long>(long{next(result_script)});
			} else if (static_cast<long>(events[i].res) >= result_script.front()) {
				int count = next(result_script);
				events[i].res = static_cast<unsigned long>(long{count});
				undo_past(*events[i].obj, count);
			}
		}
		return got;
	}

	int cancel(io_context_t context, iocb *request, io_event *result) override
	{
		++cancel_calls;
		int step = next(cancel_script);
		if (step == -EINPROGRESS) {
			cancelled_.insert(request);
			return step;
		}
		if (step != 0)
			return step;
		return real().cancel(context, request, result);
	}

	int statx(int fd, unsigned mask, struct statx *status) override
	{
		++statx_calls;
		return real().statx(fd, mask, status);
	}

private:
	// io_event.res holds a negative errno as an unsigned long.
	static constexpr auto cancelled_result = static_cast<unsigned long>(-long{ECANCELED});

	static void undo_past(const iocb &request, int count)
	{
		bool read = request.aio_lio_opcode == IO_CMD_PREAD ||
			    request.aio_lio_opcode == IO_CMD_PREADV;
		bool vector = request.aio_lio_opcode == IO_CMD_PREADV ||
			      request.aio_lio_opcode == IO_CMD_PWRITEV;
		if (!read && !vector && request.aio_lio_opcode != IO_CMD_PWRITE)
			return;
		iovec single{request.u.c.buf, request.u.c.nbytes};
		const iovec *spans = vector ? request.u.v.vec : &single;
		std::size_t span_count = vector ? request.u.v.nr : 1;
		auto skip = static_cast<std::size_t>(count);
		off_t offset = static_cast<off_t>(request.u.c.offset) + count;
		for (std::size_t i = 0; i < span_count; ++i) {
			std::size_t length = spans[i].iov_len;
			if (skip >= length) {
				skip -= length;
				continue;
			}
			auto *from = static_cast<std::byte *>(spans[i].iov_base) + skip;
			length -= skip;
			skip = 0;
			if (read) {
				std::memset(from, undone_byte, length);
				continue;
			}
			aligned_buffer junk(length); // an O_DIRECT file takes aligned buffers only
			std::memset(junk.data(), undone_byte, length);
			EXPECT_EQ(::pwrite(request.aio_fildes, junk.data(), length, offset),
				  static_cast<ssize_t>(length));
			offset += static_cast<off_t>(length);
		}
	}
	static constexpr int undone_byte = 0xee;

	// Waits for `count` completions and keeps them for getevents() to hand over.
	void hold(io_context_t context, long count)
	{
		std::vector<io_event> taken(static_cast<std::size_t>(count));
		long got = 0;
		while (got < count) {
			int more = real().getevents(context, count - got, count - got,
						    taken.data() + got, nullptr);
			if (more == -EINTR)
				continue;
			ASSERT_GT(more, 0) << "gathering " << count << " completions";
			got += more;
		}
		held_.insert(held_.end(), taken.begin(), taken.end());
	}

	int hand_over_held(io_event *events, long max_count)
	{
		long count = std::min(max_count, static_cast<long>(held_.size()));
		std::copy_n(held_.begin(), count, events);
		held_.erase(held_.begin(), held_.begin() + count);
		return static_cast<int>(count);
	}

	static int next(std::deque<int> &script)
	{
		if (script.empty())
			return 0;
		int step = script.front();
		script.pop_front();
		return step;
	}

	std::set<iocb *> cancelled_;
	std::deque<io_event> held_; // see gather
};

// Blocks until `count` more requests of the context with this eventfd have completed in the
// kernel: their events are then all in the ring, for the next io_getevents to take together.
// AIO adds 1 to the eventfd per completion, io_uring 1 for one or several: there, count 1 only
// (fault_kernel::gather waits for more on both). Reading the eventfd here is harmless, since the
// library takes it as a hint only. Call it when no request of the context is being reaped.
inline void await_completions(int eventfd, unsigned count)
{
	std::uint64_t seen = 0;
	while (seen < count) {
		pollfd readable{eventfd, POLLIN, 0};
		if (::poll(&readable, 1, -1) < 0)
			continue; // EINTR
		std::uint64_t added = 0;
		if (::read(eventfd, &added, sizeof added) == static_cast<ssize_t>(sizeof added))
			seen += added;
	}
}

} // namespace kaio::testing
