// Worker threads for the requests kernel AIO would run synchronously inside io_submit, putting
// the caller's thread to sleep: files opened without O_DIRECT (and pipes, sockets, anything AIO
// cannot queue), and direct I/O the kernel answered -EAGAIN to under RWF_NOWAIT. A worker does
// the blocking pread/pwrite/fsync and hands back an io_event, as the kernel would, then signals
// the context's eventfd: the engine reaps pool events beside the kernel's, so callbacks, keys
// and waiting stay exactly as for any other request.
//
// The threads start with the first request, not with the context: most contexts only ever see
// O_DIRECT files and should not pay for idle threads. A request on a pipe, a socket or a
// character device may wait for as long as its peer likes (a read for data, a write for room):
// while one that is not ready runs, another thread starts, so that `worker_count` stay free for
// the rest, which may be the very write such a read waits for. The extra threads end once they
// have had nothing to do for `idle_linger`.
#pragma once

#include <libaio.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace kaio::detail {

class blocking_pool {
public:
	static constexpr int worker_count = 4;
	// How long a thread beyond worker_count waits for work before it ends.
	static constexpr std::chrono::seconds idle_linger{2};

	explicit blocking_pool(int eventfd) noexcept : eventfd_(eventfd) {}
	~blocking_pool();

	blocking_pool(const blocking_pool &) = delete;
	blocking_pool &operator=(const blocking_pool &) = delete;

	// Queues `request` for a worker, which works on its own duplicate of the request's fd, so
	// that the caller may close its fd at once, as with a request the kernel took. `done`:
	// bytes of it the kernel already moved, which its result counts. 0, or why the request is
	// not queued: -EMFILE (no fd left), -EAGAIN (no thread could start), -ENOMEM.
	int run(iocb *request, int done) noexcept;
	// Moves up to `max` finished requests' events into `out`, without waiting; how many.
	int take(io_event *out, int max);
	// In a fork child: the threads stayed in the parent; forget them, and all else, without a
	// call on them. Their duplicated descriptors stay open in the child until it execs (they
	// are O_CLOEXEC) or exits: closing them would trust a copy of the job lists that a worker
	// may have been changing as the fork copied it.
	void abandon_after_fork() noexcept;

private:
	struct job {
		iocb *request;
		int fd; // the worker's own duplicate of request->aio_fildes
		int done;
	};

	void start_workers();
	void work();
	static io_event end_job(const job &next, long result);
	bool keep_workers_free();
	bool leave_a_worker_free() noexcept;
	void join_ended() noexcept;
	std::unique_lock<std::mutex> lock_without_sleeping();

	const int eventfd_;
	std::mutex mutex_;
	std::condition_variable wake_;
	std::deque<job> waiting_;       // queued, not yet picked up by a worker
	std::deque<io_event> finished_; // done, not yet taken by the engine
	bool stopping_ = false;
	std::vector<std::thread> workers_;
	int running_ = 0;                    // threads in work(), or starting
	int open_ended_ = 0;                 // of them, those on a request that may wait for ever
	int starting_ = 0;                   // of them, those not yet in workers_
	std::vector<std::thread::id> ended_; // returned from work(), to join
};

// Does what `request` asks, on `fd`, with plain blocking system calls; its result as the
// kernel's io_event would carry it (bytes, or a negative errno).
long run_blocking(const iocb &request, int fd) noexcept;

// The result of a request whose first `done` bytes moved before `rest_result`: an error after
// some bytes leaves their count, as a short pread(2) does.
long with_bytes_done(long rest_result, int done) noexcept;

} // namespace kaio::detail
