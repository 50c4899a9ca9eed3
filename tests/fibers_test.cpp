// A fiber runtime's wait_cb parks the waiting fiber and runs others, which call io_ctx_process()
// on the same context in turn (io_ctx_create(3)); their waits then end in whatever order the
// runtime resumes them, not in the order they began.
#include <poll.h>
#include <ucontext.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/child_process.hpp"
#include "support/pipe_pair.hpp"

namespace {

using namespace kaio::testing; // the helpers of support/

constexpr std::size_t length = 512;

// Two fibers, A and B, on one context, and the scheduler that resumes them.
struct two_fibers {
	io_ctx ctx{};
	ucontext_t scheduler{};
	std::array<ucontext_t, 2> fibers{};
	std::array<std::vector<char>, 2> stacks{std::vector<char>(1 << 18),
						std::vector<char>(1 << 18)};
	std::array<bool, 2> ended{};
	int current = -1;
	pipe_pair a_first, a_second, b_first, b_later;
	kaio::aligned_buffer buffers{5 * length};
	int cancel_answer = 1; // 1: not asked
	std::string failures;

	std::byte *buffer(int i) { return buffers.data() + i * length; }
	void make(std::size_t fiber, void (*body)())
	{
		getcontext(&fibers[fiber]);
		fibers[fiber].uc_stack.ss_sp = stacks[fiber].data();
		fibers[fiber].uc_stack.ss_size = stacks[fiber].size();
		fibers[fiber].uc_link = &scheduler;
		makecontext(&fibers[fiber], body, 0);
	}
	void resume(int fiber)
	{
		current = fiber;
		swapcontext(&scheduler, &fibers[static_cast<std::size_t>(fiber)]);
		current = -1;
	}
	// Writes to a pipe a read waits on, then waits for the context's eventfd, which the
	// read's completion signals.
	void feed(const pipe_pair &pipe)
	{
		std::vector<char> data(length, 'f');
		if (::write(pipe.write_end(), data.data(), length) != static_cast<ssize_t>(length))
			failures += "a write to a pipe failed\n";
		pollfd readable{io_ctx_eventfd(&ctx), POLLIN, 0};
		if (::poll(&readable, 1, 10'000) != 1)
			failures += "a read of a fed pipe never completed\n";
	}
};

two_fibers *scene = nullptr;

// Parks the fiber that waits; the scheduler, not a fiber, waits in poll.
int park(int eventfd)
{
	int me = scene->current;
	if (me < 0 || scene->ended[static_cast<std::size_t>(me)]) {
		pollfd readable{eventfd, POLLIN, 0};
		return ::poll(&readable, 1, -1) == 1 ? 0 : -errno;
	}
	swapcontext(&scene->fibers[static_cast<std::size_t>(me)], &scene->scheduler);
	return 0;
}

void nothing(int /*result*/, void * /*data*/) {}

// A callback that waits in its turn: its fiber parks inside it.
void process_again(int /*result*/, void * /*data*/)
{
	if (io_ctx_process(&scene->ctx) < 0)
		scene->failures += "process() from a callback failed\n";
}

void fiber_a()
{
	two_fibers &s = *scene;
	io_ctx_read(&s.ctx, s.a_first.read_end(), s.buffer(0), length, 0, process_again, nullptr);
	io_ctx_read(&s.ctx, s.a_second.read_end(), s.buffer(1), length, 0, nothing, nullptr);
	if (io_ctx_process(&s.ctx) < 0)
		s.failures += "A's process() failed\n";
	s.ended[0] = true;
}

void fiber_b()
{
	two_fibers &s = *scene;
	io_ctx_read(&s.ctx, s.b_first.read_end(), s.buffer(2), length, 0, process_again, nullptr);
	if (io_ctx_process(&s.ctx) < 0)
		s.failures += "B's process() failed\n";
	int key =
		io_ctx_read(&s.ctx, s.b_later.read_end(), s.buffer(3), length, 0, nothing, nullptr);
	s.cancel_answer = io_ctx_cancel(&s.ctx, key);
	s.ended[1] = true;
}

// A's callback and then B's park inside a process() of theirs; A's ends first, then B's. The
// delivery of A's batch, ending, must leave B's, still running, in the chain a cancel walks (it
// dropped it, and B's end then restored A's, gone with A's stack: a cancel from B read it).
TEST(Fibers, WaitsThatEndOutOfOrderLeaveEachOthersDeliveriesWhole)
{
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  two_fibers s;
			  scene = &s;
			  if (io_ctx_create(&s.ctx, 8, park) != 0)
				  return std::string("no context\n");
			  s.make(0, fiber_a);
			  s.make(1, fiber_b);
			  s.resume(0); // A sends two reads and parks
			  s.resume(1); // B sends one and parks
			  s.feed(s.a_first);
			  s.resume(0); // A's first callback calls process() and parks
			  s.feed(s.b_first);
			  s.resume(1); // B's callback calls process() and parks
			  s.resume(0); // A's callback returns, and A ends
			  // A runtime reuses the stack of a fiber that has ended.
			  std::memset(s.stacks[0].data(), 0x41, s.stacks[0].size());
			  s.feed(s.a_second);
			  s.resume(1); // B's callback returns; B sends a read and cancels it
			  if (!s.ended[0] || !s.ended[1])
				  s.failures += "a fiber did not end\n";
			  if (s.cancel_answer == 1)
				  s.failures += "B never cancelled\n";
			  s.feed(s.b_later); // for a read the cancel could not stop
			  io_ctx_destroy(&s.ctx);
			  return s.failures;
		  }),
		  "");
}

// A's callback submits into a full context and parks in wait_cb, waiting for a slot. B's own
// request then completes, and B's process() must run B's callback: B's loop waits for it, and a
// runtime that resumes A only once B yields would otherwise never resume A. (What completed was
// kept for later, as if it had completed inside A's wait, though B's process() is a frame of
// B's: B's loop then spun or slept with its callback due.)
struct full_context_scene {
	two_fibers fibers;
	pipe_pair a_first, a_second, a_third, b_own;
	bool b_done = false;
	int b_calls = 0; // of io_ctx_process() by B's loop
};

full_context_scene *full_scene = nullptr;

// Two reads more, into a context of two slots: the first takes the slot this read left, the
// second waits for one.
void submit_two_more(int /*result*/, void * /*data*/)
{
	full_context_scene &f = *full_scene;
	two_fibers &s = f.fibers;
	if (io_ctx_read(&s.ctx, f.a_second.read_end(), s.buffer(1), length, 0, nothing, nullptr) <=
		    0 ||
	    io_ctx_read(&s.ctx, f.a_third.read_end(), s.buffer(2), length, 0, nothing, nullptr) <=
		    0)
		s.failures += "a submission from A's callback failed\n";
}

void b_is_done(int /*result*/, void * /*data*/)
{
	full_scene->b_done = true;
}

void fiber_a_fills()
{
	full_context_scene &f = *full_scene;
	two_fibers &s = f.fibers;
	io_ctx_read(&s.ctx, f.a_first.read_end(), s.buffer(0), length, 0, submit_two_more, nullptr);
	if (io_ctx_process(&s.ctx) < 0)
		s.failures += "A's process() failed\n";
	s.ended[0] = true;
}

void fiber_b_loops()
{
	full_context_scene &f = *full_scene;
	two_fibers &s = f.fibers;
	io_ctx_read(&s.ctx, f.b_own.read_end(), s.buffer(3), length, 0, b_is_done, nullptr);
	while (!f.b_done && f.b_calls < 100) {
		++f.b_calls;
		if (io_ctx_process(&s.ctx) < 0)
			s.failures += "B's process() failed\n";
	}
	s.ended[1] = true;
}

TEST(Fibers, ProcessRunsItsOwnCallbacksWhileAnotherFiberWaitsForASlot)
{
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  full_context_scene f;
			  two_fibers &s = f.fibers;
			  full_scene = &f;
			  scene = &s;
			  if (io_ctx_create(&s.ctx, 2, park) != 0)
				  return std::string("no context\n");
			  s.make(0, fiber_a_fills);
			  s.make(1, fiber_b_loops);
			  s.resume(0); // A sends a read and parks
			  s.resume(1); // B sends one, the context is full, and B parks
			  s.feed(f.a_first);
			  s.resume(0); // A's callback waits for a slot and parks
			  s.feed(f.b_own);
			  s.resume(1); // B's request is done
			  if (!f.b_done)
				  s.failures +=
					  "B's callback had not run when B parked again, after " +
					  std::to_string(f.b_calls) +
					  " calls of io_ctx_process()\n";
			  s.feed(f.a_second);
			  for (int turn = 0; turn < 4 && !(s.ended[0] && s.ended[1]); ++turn) {
				  for (int fiber : {0, 1})
					  if (!s.ended[static_cast<std::size_t>(fiber)])
						  s.resume(fiber);
			  }
			  if (!s.ended[0] || !s.ended[1])
				  s.failures += "a fiber did not end\n";
			  s.feed(f.a_third);
			  io_ctx_destroy(&s.ctx);
			  return s.failures;
		  }),
		  "");
}

// A's callback parks inside a process() of its own, waiting for a read of a pipe. B, in no
// callback, writes that pipe through the context: the write must go to the kernel at once, as
// any submission outside a callback, not wait in the library as a callback's would until its
// process() ends (A's, which waits for that very write).
void fiber_b_writes()
{
	two_fibers &s = *scene;
	std::memset(s.buffer(4), 'w', length);
	if (io_ctx_write(&s.ctx, s.a_second.write_end(), s.buffer(4), length, 0, nothing,
			 nullptr) <= 0)
		s.failures += "B's write failed\n";
	io_ctx_stats stats{};
	io_ctx_get_stats(&s.ctx, &stats);
	if (stats.queued != 0)
		s.failures += "B's write waits in the library while A's callback is parked\n";
	s.ended[1] = true;
}

TEST(Fibers, SubmissionOutsideCallbacksGoesAtOnceWhileAnotherFibersCallbackWaits)
{
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  two_fibers s;
			  scene = &s;
			  if (io_ctx_create(&s.ctx, 8, park) != 0)
				  return std::string("no context\n");
			  s.make(0, fiber_a);
			  s.make(1, fiber_b_writes);
			  s.resume(0); // A sends two reads and parks
			  s.feed(s.a_first);
			  s.resume(0); // A's first callback calls process() and parks
			  s.resume(1); // B writes to the pipe of A's second read, and ends
			  if (!s.failures.empty()) // the write never left: feed the read ourselves
				  s.feed(s.a_second);
			  pollfd readable{io_ctx_eventfd(&s.ctx), POLLIN, 0};
			  for (int turn = 0; turn < 4 && !s.ended[0]; ++turn) {
				  if (::poll(&readable, 1, 10'000) != 1)
					  return s.failures + "A's read never completed\n";
				  s.resume(0);
			  }
			  if (!s.ended[0])
				  s.failures += "A did not end\n";
			  io_ctx_destroy(&s.ctx);
			  return s.failures;
		  }),
		  "");
}

// A destroys the context, and its drain parks in wait_cb; B's io_ctx_process() then parks there
// too. A's drain runs the last callback: it must not free the context while B is still inside a
// call on it, but have B resumed, and end once B has left.
int b_processed = 0;

void fiber_a_destroys()
{
	two_fibers &s = *scene;
	io_ctx_read(&s.ctx, s.a_first.read_end(), s.buffer(0), length, 0, nothing, nullptr);
	io_ctx_destroy(&s.ctx);
	s.ended[0] = true;
}

void fiber_b_processes()
{
	two_fibers &s = *scene;
	b_processed = io_ctx_process(&s.ctx);
	s.ended[1] = true;
}

TEST(Fibers, DestroyWaitsForAnotherFibersProcessToLeaveTheContext)
{
	EXPECT_EQ(in_child([] {
			  ::alarm(30);
			  two_fibers s;
			  scene = &s;
			  if (io_ctx_create(&s.ctx, 4, park) != 0)
				  return std::string("no context\n");
			  s.make(0, fiber_a_destroys);
			  s.make(1, fiber_b_processes);
			  s.resume(0); // A sends a read, destroys, and its drain parks
			  s.resume(1); // B's process() parks
			  s.feed(s.a_first);
			  s.resume(0); // A's drain runs the read's callback
			  for (int turn = 0; turn < 4 && !(s.ended[0] && s.ended[1]); ++turn) {
				  for (int fiber : {1, 0})
					  if (!s.ended[static_cast<std::size_t>(fiber)])
						  s.resume(fiber);
			  }
			  if (!s.ended[0] || !s.ended[1])
				  s.failures += "a fiber did not end\n";
			  if (b_processed != 1)
				  s.failures += "B's process() returned " +
						std::to_string(b_processed) + ", not 1\n";
			  return s.failures;
		  }),
		  "");
}

} // namespace
