// fibers: what kaio's wait callback is for. A tiny cooperative scheduler runs many fibers on one
// thread, each written as plain sequential code that calls "blocking" reads and writes, and one
// kaio context serves them all.
//
//	fibers FILE
//
// FILE must not exist: it is created (O_EXCL), used, and removed at the end.
//
// 16 tasks each own a region of FILE (O_DIRECT): a task writes its 8 blocks one after the other,
// syncs, then reads them back one after the other and checks every byte. A task's read looks
// like a blocking call (`int got = io.read(fd, buffer, offset);`): it submits the request, then
// calls the context's process() until the request's callback has run.
//
// The trick is the wait callback given to the context. Whenever kaio must wait for a completion
// (in process(), or in a submission to a full context: there are fewer slots than tasks) it
// calls scheduler::wait_readable() with its eventfd. That does not sleep: it parks the current
// fiber and switches to the next one that can run, which submits its own request and parks in
// turn. Only when every fiber is parked does the scheduler sleep, in poll(2) on the eventfd;
// then it wakes the parked fibers, and the first to run reaps the completions of all of them.
//
// Because any fiber's process() may run the callbacks of other fibers' requests, a parked fiber
// is also woken when callbacks ran since it parked (its own request may be done while the
// eventfd, drained by the fiber that reaped it, will stay quiet). Callbacks themselves never
// switch fibers: they only record the result.
//
// Prints one line per task and the totals; exit status 0 when every task read back what it wrote.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <system_error>
#include <vector>

#include <kaio/kaio.hpp>

#include "stack_switch.hpp"

namespace {

constexpr int tasks = 16;
constexpr int blocks_per_task = 8;
constexpr std::size_t block_size = 64 * 1024;
constexpr int context_capacity = 8; // fewer than tasks: submissions wait for slots
constexpr std::size_t fiber_stack_size = 256 * 1024;

// --- the scheduler ----------------------------------------------------------------------------

class scheduler {
public:
	// A fiber that runs body() when run() gets to it. body() must not throw.
	void spawn(std::function<void()> body)
	{
		fibers_.push_back(std::make_unique<fiber>(std::move(body)));
		ready_.push_back(fibers_.back().get());
	}

	// Runs the fibers until every one has ended.
	void run()
	{
		running() = this;
		while (!ready_.empty() || !parked_.empty()) {
			if (ready_.empty())
				wake_parked();
			fiber *next = ready_.front();
			ready_.pop_front();
			current_ = next;
			++switches_;
			thread_.switch_to(next->execution);
			current_ = nullptr;
		}
		fibers_.clear();
		running() = nullptr;
	}

	// The context's wait callback: park the calling fiber until wait_fd is readable or
	// callbacks ran. Outside a fiber (the context's destructor), just poll.
	int wait_readable(int wait_fd)
	{
		wait_fd_ = wait_fd;
		if (current_ == nullptr) {
			wait_for(wait_fd);
			return 0;
		}
		current_->progress_at_park = progress_;
		parked_.push_back(current_);
		current_->execution.switch_to(thread_);
		return 0; // woken: readable, or early, which kaio allows
	}

	// A completion callback ran: parked fibers may find their request done.
	void note_progress() noexcept { ++progress_; }

	unsigned long switches() const noexcept { return switches_; }
	unsigned long sleeps() const noexcept { return sleeps_; }

private:
	struct fiber {
		explicit fiber(std::function<void()> work)
			: body(std::move(work)),
			  execution(&scheduler::fiber_entry, fiber_stack_size)
		{}
		std::function<void()> body;
		example::execution execution;
		std::uint64_t progress_at_park = 0; // progress_ when it parked
	};

	static scheduler *&running()
	{
		static thread_local scheduler *instance = nullptr;
		return instance;
	}

	static void fiber_entry()
	{
		example::execution::started();
		scheduler &self = *running();
		fiber &me = *self.current_;
		me.body();
		me.execution.leave_for_good(self.thread_); // run() frees it with the others
	}

	// Every fiber is parked. Wake those whose wait may be over; sleep first if none.
	void wake_parked()
	{
		std::vector<fiber *> still_parked;
		for (fiber *f : parked_) {
			if (f->progress_at_park != progress_)
				ready_.push_back(f);
			else
				still_parked.push_back(f);
		}
		parked_.swap(still_parked);
		if (!ready_.empty())
			return;
		++sleeps_;
		wait_for(wait_fd_);
		ready_.insert(ready_.end(), parked_.begin(), parked_.end());
		parked_.clear();
	}

	// The one place the thread sleeps. A failure here leaves requests in flight that point
	// into fiber stacks: nothing sane remains to do.
	static void wait_for(int fd)
	{
		pollfd readable{fd, POLLIN, 0};
		while (::poll(&readable, 1, -1) < 0) {
			if (errno != EINTR) {
				std::perror("fibers: poll on kaio's eventfd");
				std::abort();
			}
		}
	}

	example::execution thread_; // the thread's own stack, where run() loops
	std::vector<std::unique_ptr<fiber>> fibers_;
	std::deque<fiber *> ready_;
	std::vector<fiber *> parked_;
	fiber *current_ = nullptr;
	std::uint64_t progress_ = 0;
	int wait_fd_ = -1;
	unsigned long switches_ = 0;
	unsigned long sleeps_ = 0;
};

// --- blocking-style I/O for fibers -----------------------------------------------------------

// What a fiber calls: one request, and its result as a blocking call would return it.
class fiber_io {
public:
	fiber_io(kaio::context &ctx, scheduler &sched) : ctx_(ctx), sched_(sched) {}

	int write(int fd, std::span<const std::byte> data, std::int64_t offset)
	{
		return wait_for({.op = kaio::opcode::write,
				 .fd = fd,
				 .buffer = const_cast<std::byte *>(data.data()),
				 .length = data.size(),
				 .offset = offset});
	}
	int read(int fd, std::span<std::byte> data, std::int64_t offset)
	{
		return wait_for({.op = kaio::opcode::read,
				 .fd = fd,
				 .buffer = data.data(),
				 .length = data.size(),
				 .offset = offset});
	}
	int fdatasync(int fd) { return wait_for({.op = kaio::opcode::fdsync, .fd = fd}); }

private:
	int wait_for(const kaio::operation &what)
	{
		int result = 0;
		bool done = false;
		scheduler &sched = sched_;
		// May park this fiber in wait_readable() when the context is full.
		int key = ctx_.submit(what, [&result, &done, &sched](int r) {
			result = r;
			done = true;
			sched.note_progress();
		});
		if (key < 0)
			return key;
		// Runs callbacks, ours or other fibers'; parks this fiber whenever kaio must wait.
		// process() fails only with a negative value from the wait callback: ours has none.
		while (!done)
			ctx_.process();
		return result;
	}

	kaio::context &ctx_;
	scheduler &sched_;
};

// --- the tasks ---------------------------------------------------------------------------------

// Every 8-byte word of the file its own value: a block at the wrong place cannot pass.
std::uint64_t pattern_at(std::int64_t position)
{
	return (static_cast<std::uint64_t>(position) / 8 + 1) * UINT64_C(0x9E3779B97F4A7C15);
}

void fill(std::span<std::byte> block, std::int64_t offset)
{
	for (std::size_t i = 0; i < block.size(); i += 8) {
		std::uint64_t word = pattern_at(offset + static_cast<std::int64_t>(i));
		std::memcpy(block.data() + i, &word, sizeof word);
	}
}

bool holds_pattern(std::span<const std::byte> block, std::int64_t offset)
{
	for (std::size_t i = 0; i < block.size(); i += 8) {
		std::uint64_t word;
		std::memcpy(&word, block.data() + i, sizeof word);
		if (word != pattern_at(offset + static_cast<std::int64_t>(i)))
			return false;
	}
	return true;
}

struct task_report {
	int written = 0;
	int verified = 0;
	char error[128] = "";
};

// One task, as sequential as it looks: write every block, sync, read every block back.
void write_then_verify(fiber_io &io, int fd, int task, task_report &report)
{
	kaio::aligned_buffer block(block_size);
	auto offset_of = [task](int i) {
		return static_cast<std::int64_t>(task * blocks_per_task + i) *
		       static_cast<std::int64_t>(block_size);
	};
	auto failed = [&report](const char *what, std::int64_t offset, int result) {
		std::snprintf(report.error, sizeof report.error, "%s at offset %lld: %s", what,
			      static_cast<long long>(offset),
			      result < 0 ? std::strerror(-result) : "short transfer");
	};
	for (int i = 0; i < blocks_per_task; ++i) {
		fill(block, offset_of(i));
		int n = io.write(fd, block, offset_of(i));
		if (n != static_cast<int>(block_size))
			return failed("write", offset_of(i), n);
		++report.written;
	}
	if (int rc = io.fdatasync(fd); rc < 0)
		return failed("fdatasync", 0, rc);
	for (int i = 0; i < blocks_per_task; ++i) {
		std::memset(block.data(), 0, block.size());
		int n = io.read(fd, block, offset_of(i));
		if (n != static_cast<int>(block_size))
			return failed("read", offset_of(i), n);
		if (!holds_pattern(block, offset_of(i)))
			return failed("data read back differs", offset_of(i), -EIO);
		++report.verified;
	}
}

int run_tasks(int fd)
{
	scheduler sched; // before the context, which may wait through it while it is destroyed
	kaio::context_options options;
	options.wait = [&sched](int wait_fd) { return sched.wait_readable(wait_fd); };
	kaio::context ctx(context_capacity, std::move(options));
	fiber_io io(ctx, sched);

	std::vector<task_report> reports(tasks);
	for (int t = 0; t < tasks; ++t) {
		sched.spawn([&io, fd, t, &reports] {
			try {
				write_then_verify(io, fd, t, reports[static_cast<std::size_t>(t)]);
			} catch (const std::bad_alloc &) {
				std::snprintf(reports[static_cast<std::size_t>(t)].error,
					      sizeof reports[0].error, "out of memory");
			}
		});
	}
	sched.run();

	int failures = 0;
	for (int t = 0; t < tasks; ++t) {
		const task_report &r = reports[static_cast<std::size_t>(t)];
		std::printf("task %2d: %d blocks written, %d read back as written%s%s\n", t,
			    r.written, r.verified, r.error[0] != '\0' ? "; " : "", r.error);
		failures += r.verified == blocks_per_task ? 0 : 1;
	}
	kaio::context_stats stats = ctx.stats();
	std::printf("%d tasks on one thread and one context of %d slots: %llu requests; "
		    "%llu waits in kaio, %lu fiber switches, %lu sleeps in poll\n",
		    tasks, context_capacity, static_cast<unsigned long long>(stats.completed),
		    static_cast<unsigned long long>(stats.waits), sched.switches(), sched.sleeps());
	return failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char *argv[])
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	int fd = ::open(argv[1], O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0644);
	if (fd < 0) {
		std::fprintf(stderr, "fibers: cannot open %s with O_DIRECT: %s\n", argv[1],
			     std::strerror(errno));
		return 1;
	}
	int status = 1;
	try {
		status = run_tasks(fd);
	} catch (const std::system_error &error) { // from the context's constructor
		std::fprintf(stderr, "fibers: cannot create a kaio context: %s\n", error.what());
	} catch (const std::bad_alloc &) {
		std::fprintf(stderr, "fibers: out of memory\n");
	}
	::close(fd);
	if (::unlink(argv[1]) != 0) {
		std::fprintf(stderr, "fibers: cannot remove %s: %s\n", argv[1],
			     std::strerror(errno));
		status = 1;
	}
	return status;
}
