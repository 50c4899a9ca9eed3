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

} // namespace
