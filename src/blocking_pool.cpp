#include "blocking_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>

#include "request_kind.hpp"

namespace kaio::detail {
namespace {

// Tells the core that this thread spins: it then leaves the pipeline to its sibling hyperthread.
inline void relax_cpu() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield");
#endif
}

long transfer(const iocb &request, int fd)
{
	void *buffer = request.u.c.buf;
	auto length = static_cast<std::size_t>(request.u.c.nbytes);
	off_t offset = request.u.c.offset;
	// The vector opcodes keep the iovec array in buf and its length in nbytes.
	auto *iov = static_cast<const iovec *>(request.u.c.buf);
	int iovcnt = static_cast<int>(request.u.c.nbytes);
	// A pipe or a socket has no offsets: pread answers ESPIPE, and the request is a plain read.
	switch (request.aio_lio_opcode) {
	case IO_CMD_PREAD: {
		long done = ::pread(fd, buffer, length, offset);
		return done < 0 && errno == ESPIPE ? ::read(fd, buffer, length) : done;
	}
	case IO_CMD_PWRITE: {
		long done = ::pwrite(fd, buffer, length, offset);
		return done < 0 && errno == ESPIPE ? ::write(fd, buffer, length) : done;
	}
	case IO_CMD_PREADV: {
		long done = ::preadv(fd, iov, iovcnt, offset);
		return done < 0 && errno == ESPIPE ? ::readv(fd, iov, iovcnt) : done;
	}
	case IO_CMD_PWRITEV: {
		long done = ::pwritev(fd, iov, iovcnt, offset);
		return done < 0 && errno == ESPIPE ? ::writev(fd, iov, iovcnt) : done;
	}
	case IO_CMD_FSYNC: return ::fsync(fd);
	case IO_CMD_FDSYNC: return ::fdatasync(fd);
	default: errno = EINVAL; return -1;
	}
}

// The bytes a write moves.
std::size_t bytes_written(const iocb &request)
{
	if (has_one_buffer(request))
		return static_cast<std::size_t>(request.u.c.nbytes);
	const auto *iov = static_cast<const iovec *>(request.u.c.buf);
	std::size_t total = 0;
	for (long i = 0; i < static_cast<long>(request.u.c.nbytes); ++i)
		total += iov[i].iov_len;
	return total;
}

// A regular file or a block device: its requests end when the device answers.
bool ends_of_itself(int fd)
{
	struct stat status {};
	return ::fstat(fd, &status) == 0 && (S_ISREG(status.st_mode) || S_ISBLK(status.st_mode));
}

// A pipe, a socket or a character device (a terminal) answers when its peer acts, which may be
// never, unless it is ready now (data to read, room to write: /dev/zero always is). poll(2)
// tells without waiting, and finds a file or a block device always ready. Ready to write is
// not room for all: a pipe with one free page polls as writable, and a longer write then waits
// for a reader to make more room (four such writes held every worker, and the reads that would
// have drained their pipes waited behind them for ever). A read takes what is there.
bool may_wait_for_ever(const iocb &request, int fd)
{
	if (!is_read(request) && !is_write(request))
		return false; // a sync
	pollfd ready{fd, static_cast<short>(is_read(request) ? POLLIN : POLLOUT), 0};
	if (::poll(&ready, 1, 0) == 0)
		return true;
	return is_write(request) && bytes_written(request) > PIPE_BUF && !ends_of_itself(fd);
}

} // namespace

long run_blocking(const iocb &request, int fd) noexcept
{
	long done = 0;
	do {
		done = transfer(request, fd);
	} while (done < 0 && errno == EINTR);
	return done < 0 ? -errno : done;
}

blocking_pool::~blocking_pool()
{
	// No threads (none started, or a fork child's copy, whose mutex a parent's worker may
	// have held at the fork): nothing to stop, and the mutex is not to be touched.
	if (workers_.empty())
		return;
	{
		std::lock_guard lock(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	for (std::thread &worker : workers_)
		worker.join();
}

long with_bytes_done(long rest_result, int done) noexcept
{
	if (done == 0)
		return rest_result;
	return rest_result < 0 ? done : done + rest_result;
}

int blocking_pool::run(iocb *request, int done) noexcept
{
	int fd = ::fcntl(request->aio_fildes, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int error = 0;
	try {
		std::unique_lock lock = lock_without_sleeping();
		if (workers_.empty())
			start_workers();
		waiting_.push_back({request, fd, done});
	} catch (const std::bad_alloc &) {
		error = -ENOMEM;
	} catch (...) { // std::system_error from std::thread: pthread_create's EAGAIN
		error = -EAGAIN;
	}
	if (error < 0) {
		::close(fd);
		return error;
	}
	wake_.notify_one();
	return 0;
}

void blocking_pool::abandon_after_fork() noexcept
{
	// Fresh members are made over the child's copies, whose destructors must not run (what
	// they held is lost, a bounded leak in the child):
	// - The thread handles name the parent's threads, which are not in this process: a detach
	//   or a join would act on whatever thread of this process glibc has since given their
	//   descriptors (it reuses them), one of the caller's own.
	// - A worker may have been changing a container, under the lock, as the fork copied it: its
	//   copy may hold a buffer already freed.
	// - The mutex and the condition variable still record the parent's threads (as owner, as
	//   waiters), which never run here: glibc's pthread_cond_destroy would wait for those
	//   waiters for ever.
	::new (&workers_) std::vector<std::thread>();
	::new (&ended_) std::vector<std::thread::id>();
	::new (&waiting_) std::deque<job>();
	::new (&finished_) std::deque<io_event>();
	::new (&mutex_) std::mutex();
	::new (&wake_) std::condition_variable();
	running_ = 0;
	open_ended_ = 0;
	starting_ = 0;
}

int blocking_pool::take(io_event *out, int max)
{
	std::unique_lock lock = lock_without_sleeping();
	int count = static_cast<int>(
		std::min<std::size_t>(finished_.size(), static_cast<std::size_t>(max)));
	std::copy_n(finished_.begin(), count, out);
	finished_.erase(finished_.begin(), finished_.begin() + count);
	return count;
}

// Called with the lock held. If a thread cannot start, those already started stay and serve;
// throws when none can.
void blocking_pool::start_workers()
{
	workers_.reserve(worker_count);
	ended_.reserve(worker_count);
	for (int i = 0; i < worker_count; ++i) {
		try {
			workers_.emplace_back([this] { work(); });
			++running_;
		} catch (...) {
			if (workers_.empty())
				throw;
			return;
		}
	}
}

void blocking_pool::work()
{
	std::unique_lock lock(mutex_);
	auto has_work = [this] { return stopping_ || !waiting_.empty(); };
	for (;;) {
		// A thread more than the pool keeps free lingers a while for the next request that
		// may wait, rather than end and another start.
		if (running_ - open_ended_ > worker_count) {
			if (!wake_.wait_for(lock, idle_linger, has_work) &&
			    running_ - open_ended_ > worker_count) {
				--running_;
				ended_.push_back(std::this_thread::get_id());
				return;
			}
		} else {
			wake_.wait(lock, has_work);
		}
		if (waiting_.empty()) {
			if (stopping_)
				return; // nothing left: the engine has drained every request
			continue;
		}
		job next = waiting_.front();
		waiting_.pop_front();
		lock.unlock();
		bool open_ended = may_wait_for_ever(*next.request, next.fd);
		bool refused = open_ended && !keep_workers_free();
		io_event event =
			end_job(next, refused ? -EAGAIN : run_blocking(*next.request, next.fd));
		lock.lock();
		open_ended_ -= open_ended && !refused ? 1 : 0;
		finished_.push_back(event);
		// As the kernel signals an iocb's resfd: the engine's loop wakes and reaps. Under
		// the lock: once the engine has taken the event it may close the eventfd.
		std::uint64_t one = 1;
		[[maybe_unused]] ssize_t ignored = ::write(eventfd_, &one, sizeof one);
	}
}

// The completion of `next`, whose run (or refusal) gave `result`; its duplicate fd is closed.
io_event blocking_pool::end_job(const job &next, long result)
{
	io_event event{};
	event.data = next.request->data;
	event.obj = next.request;
	event.res = static_cast<unsigned long>(with_bytes_done(result, next.done));
	::close(next.fd);
	return event;
}

// Called by a worker about to run a request that may wait for ever: starts a thread when fewer
// than worker_count would be left for the others. If none can start, the request still runs
// while another worker is left for the rest, and later ones wait for a worker as before. False
// when it would take the last one: it could wait for ever on a request queued behind it (a read
// of a pipe, for the write that feeds it), so it fails instead, as a request no worker can take
// does. The thread starts outside the lock, which the caller's thread spins on.
bool blocking_pool::keep_workers_free()
{
	{
		std::lock_guard lock(mutex_);
		++open_ended_;
		join_ended();
		if (running_ - open_ended_ >= worker_count)
			return true;
		try { // room for every thread starting now, so that adding it cannot fail
			workers_.reserve(workers_.size() + starting_ + 1);
			ended_.reserve(workers_.size() + starting_ + 1);
		} catch (const std::bad_alloc &) {
			return leave_a_worker_free();
		}
		++running_;
		++starting_;
	}
	std::thread started;
	try {
		started = std::thread([this] { work(); });
	} catch (...) { // no thread: the running ones serve
	}
	std::lock_guard lock(mutex_);
	--starting_;
	if (started.joinable()) {
		workers_.push_back(std::move(started));
		return true;
	}
	--running_;
	return leave_a_worker_free();
}

// Called with the lock held, by a worker counted in open_ended_ whose spare did not start.
bool blocking_pool::leave_a_worker_free() noexcept
{
	if (running_ - open_ended_ > 0)
		return true;
	--open_ended_;
	return false;
}

// Called with the lock held. A thread in ended_ has let go of the lock for the last time: it
// is only returning, which its join waits for.
void blocking_pool::join_ended() noexcept
{
	std::erase_if(ended_, [this](std::thread::id id) {
		auto found = std::find_if(
			workers_.begin(), workers_.end(),
			[id](const std::thread &thread) { return thread.get_id() == id; });
		if (found == workers_.end())
			return false; // not added yet by the worker that started it
		found->join();
		workers_.erase(found);
		return true;
	});
}

// The caller's thread must not sleep, not even on this mutex: a worker holds it only to push
// or pop one entry, or to join a thread that has ended, so spinning until it lets go costs less
// than a futex wait would. Now and then the spin yields the CPU, without waiting for anything:
// on one core (a CPU set, or a real-time caller whose workers inherit its priority) the worker
// holding the lock may be waiting for this very CPU.
std::unique_lock<std::mutex> blocking_pool::lock_without_sleeping()
{
	constexpr unsigned spins_per_yield = 64;
	for (unsigned spins = 1; !mutex_.try_lock(); ++spins) {
		if (spins % spins_per_yield == 0)
			::sched_yield();
		else
			relax_cpu();
	}
	return std::unique_lock(mutex_, std::adopt_lock);
}

} // namespace kaio::detail
