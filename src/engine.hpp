// The core of kaio: one kernel AIO context, its request slots, the submission queue and the
// completion loop. The C API (io_ctx.cpp) and the C++ API (context.cpp) are thin layers over it.
// Every function returns >= 0 or a negative errno; nothing here throws except std::bad_alloc
// from create().
#pragma once

#include <libaio.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "blocking_pool.hpp"
#include "file_devices.hpp"
#include "file_status_flags.hpp"
#include "fixed_vector.hpp"
#include "kaio/inplace_function.hpp"
#include "kaio/operation.hpp"
#include "kernel_aio.hpp"
#include "nowait_refusals.hpp"
#include "process_token.hpp"
#include "request_slot.hpp"
#include "request_validation.hpp"

namespace kaio::detail {

struct engine_options {
	int capacity = 0;
	bool defer_submit = false;
	bool reap_with_syscall = false; // never read the completion ring in user space
	bool submit_early = false;      // see IO_CTX_SUBMIT_EARLY
	bool wait_in_getevents = false; // see IO_CTX_WAIT_IN_GETEVENTS; only without `wait`
	bool nowait_writes = false;     // see IO_CTX_NOWAIT_WRITES
	bool direct_only = false;       // see IO_CTX_DIRECT_ONLY
	bool single_thread = false;     // see IO_CTX_SINGLE_THREAD
	wait_callback wait;             // empty: poll(2)
	kernel_aio *kernel = nullptr;   // null: the real kernel, through `backend`
	kaio::backend backend = kaio::backend::from_environment;
};

class engine {
public:
	static constexpr int max_capacity = 65535;

	// 0 and the engine in `out`, or a negative errno.
	static int create(engine_options options, std::unique_ptr<engine> &out);

	// Waits for every request (see drain()) and releases the kernel context. In a fork child,
	// frees only the child's copy: no kernel call, no callback.
	~engine();

	engine(const engine &) = delete;
	engine &operator=(const engine &) = delete;

	// `callback`: a completion_callback, or any callable it can hold, built in the slot itself.
	template <class Callback>
	int submit(const operation &what, Callback &&callback);
	int process() { return process(true); }
	int poll() { return process(false); }
	int flush();
	int cancel(int key);

	// Attaches the eventfd to the kernel context first if it was not (see eventfd_attached_).
	int eventfd() noexcept;
	kaio::backend backend() const noexcept { return backend_; }
	// Buffers and files requests may use by index (io_uring only; AIO ignores them).
	int register_buffers(const iovec *buffers, int count);
	int register_files(const int *fds, int count);
	context_stats stats() const noexcept;
	bool in_callback() const noexcept { return callback_depth_ > 0; }
	bool in_wait_callback() const noexcept { return waits_running_ > 0; }
	bool running_user_code() const noexcept { return in_callback() || in_wait_callback(); }
	// The C++ context was destroyed by a callback or the wait callable it ran (a coroutine
	// that owned it came to its end): the context's call that ran them deletes the engine as
	// it returns, draining what is still in flight, as the destructor would have.
	void abandon() noexcept { abandoned_ = true; }
	bool abandoned() const noexcept { return abandoned_; }
	// True in a child of the process that created the context: every call then answers -ECHILD.
	bool forked() const noexcept
	{
		return creator_token_ != token_location_->load(std::memory_order_relaxed);
	}

private:
	// Room on the stack for one io_getevents; more are reaped in further calls.
	static constexpr int reap_batch = 128;
	// iovecs copied into the slot's own space; longer vectors use a per-slot vector.
	static constexpr int inline_iovecs = 4;
	// io_submit answers EINTR, EAGAIN or ENOMEM this many times in a row with nothing of ours
	// in the kernel to wait for before the request at the head of the queue fails with that
	// error.
	static constexpr int transient_retries = 16;

	engine(engine_options &&options, kernel_aio &kernel, io_context_t kernel_context,
	       kaio::backend backend, int eventfd);

	int process(bool may_wait);
	template <class Callback>
	int submit_when_full(const operation &what, Callback &&callback);
	int claim_slot() noexcept; // one must be free
	int wait_for_free_slot();
	int unclaim(int index, int error) noexcept;
	void drop_callback(completion_callback &callback) noexcept;
	int prepare(iocb &block, int index, const operation &what) noexcept;
	int prepare_vector(iocb &block, int index, const iovec *iov, int iovcnt,
			   long long offset) noexcept;
	int send_direct(int index, int key);
	int gather_early(int key);
	iovec *copy_vector(int index, const iovec *iov, int iovcnt) noexcept;
	int send_queue();
	void screen_batch() noexcept;
	int to_worker(iocb &block, int done) noexcept;
	bool refuses_nowait(iocb &block) noexcept;
	int reap_workers();
	int wait_for_workers();
	bool retried_without_nowait(request_slot &slot, int &result) noexcept;
	bool continued_on_worker(iocb &block, int done) noexcept;
	bool short_read_is_final(const iocb &block, int done) noexcept;
	static void skip_bytes_done(iocb &block, int done) noexcept;
	void reject_queue_head(int error);
	int refuse_foreign_thread();
	bool foreign_thread() noexcept;
	void reject(iocb &block, int error);
	int run_ready();
	int run_completing();
	int reap();
	int take_events(io_event *events, long want);
	int deliver(const io_event *events, int count) noexcept;
	void finish(request_slot &slot, int result) noexcept;
	void defer(request_slot &slot, int result) noexcept;
	struct delivery;
	void defer_batch(delivery &batch, int &ran) noexcept;
	void unlink_delivery(const delivery &batch) noexcept;
	int run_deferred() noexcept;
	void complete(request_slot &slot, int result) noexcept; // finish() as a callback run
	int cancel_in_kernel(request_slot &slot);
	static void await_cancel(request_slot &slot, int &outcome) noexcept;
	bool reaped_up_the_stack(const request_slot &slot) const noexcept;
	int attach_eventfd() noexcept;
	void arm_requests() noexcept;
	void arm_silent(iocb &block) noexcept;
	int wait_for_completion() noexcept;
	int poll_eventfd();
	void signal_eventfd();
	void drain_eventfd();
	void drain();
	void abandon_kernel(int error);
	bool sent(const request_slot &slot) const noexcept;
	bool stop_waiting_requests() noexcept;
	bool ends_of_itself(int fd) noexcept;
	// Waits in the kernel for at least one completion, for ever or up to `limit`.
	int reap_blocking(const timespec *limit = nullptr);
	// How long destroy waits before it asks again to stop a request that was running.
	static constexpr timespec stop_again_after{0, 10'000'000};
	void note_reap_error(int got) noexcept;

	int key_of(int index) const noexcept;
	request_slot *slot_of_key(int key) noexcept;
	int index_of(const request_slot &slot) const noexcept;

	std::atomic<std::uint64_t> *const token_location_ = process_token_location();
	const std::uint64_t creator_token_ = process_token();
	kernel_aio &kernel_;
	io_context_t kernel_context_;
	kaio::backend backend_; // aio or uring
	aio_ring *ring_;        // null: reap with io_getevents
	int eventfd_;
	// Whether eventfd_ is attached to the kernel context, so that waits may rest on it:
	// io_uring's ring signals it once registered, AIO's requests once they name it. A context
	// that waits in getevents has no use for it until the caller asks for the fd or a worker
	// thread runs a request; attached only then, it spares the kernel a signal per completion
	// (per batch on io_uring) meanwhile.
	bool eventfd_attached_;
	// AIO: requests sent before the eventfd was attached, still out (see arm_requests()).
	unsigned silent_in_kernel_ = 0;
	int capacity_;
	bool defer_submit_;
	bool submit_early_;
	bool wait_in_getevents_;
	// AIO would block on files without O_DIRECT: look for them, unless the caller promised
	// there are none (IO_CTX_DIRECT_ONLY). io_uring never blocks on any.
	bool routes_blocking_files_;
	// IO_CTX_SINGLE_THREAD on io_uring: only the thread of the first submission may use it.
	const bool one_issuer_;
	std::size_t early_batch_ = 1; // with submit_early: the queue length that sends it now
	wait_callback wait_;

	std::unique_ptr<request_slot[]> slots_;
	std::unique_ptr<iovec[]> inline_iov_;                // capacity * inline_iovecs
	std::unique_ptr<std::vector<iovec>[]> overflow_iov_; // for longer vectors, per slot
	fixed_vector<int> free_slots_;                       // a stack of slot indexes
	fixed_vector<iocb *> queue_;                         // claimed, waiting for io_submit
	fixed_vector<int> completing_;                       // finished without the kernel

	unsigned in_kernel_ = 0; // in the kernel or on a worker thread
	unsigned on_workers_ = 0;
	int reap_error_ = 0; // what io_getevents failed with for good, for process() to return
	// Nonzero once drain() gave up on a kernel context whose completions can never be reaped
	// and destroyed it: every request sent from then on fails with this error.
	int kernel_lost_ = 0;
	// RWF_NOWAIT on reads, and on writes when asked, except to the filesystems that refused it
	// in that direction (nowait_refused_): what would block then comes back -EAGAIN and goes to
	// a worker instead of putting this thread to sleep in io_submit. Not on writes by default:
	// on ext4 every write that is not an overwrite (into a hole, into fallocated space) would
	// take that detour. io_uring never blocks the caller on any file: neither the flag nor the
	// workers are needed.
	const int nowait_reads_;
	const int nowait_writes_;
	nowait_refusals nowait_refused_;
	file_devices devices_; // where each fd lives, remembered for registered ones
	blocking_pool workers_;
	int callback_depth_ = 0;
	int waits_running_ = 0; // calls of wait_ not yet returned (fibers may nest them)
	bool abandoned_ = false;
	// Back-pressure from a callback (wait_for_free_slot()): while it waits, what completes
	// frees its slot at once and has its callback run later, from deferred_, instead of inside
	// the wait, where each callback could submit and wait in turn, a stack frame deeper each
	// time (a copy loop nested as deep as its requests in flight, and overflowed its stack).
	int deferring_ = 0;
	struct deferred_callback {
		completion_callback callback;
		int result;
		int key; // dead once its slot is freed, but cancel still answers -EINPROGRESS to it
	};
	std::deque<deferred_callback> deferred_;
	// The events a deliver() up the stack has taken but not run yet, innermost batch first:
	// their requests have finished, and a cancel from a callback must not wait for them.
	struct delivery {
		const io_event *next;
		const io_event *end;
		delivery *outer;
	};
	delivery *delivering_ = nullptr;
	int direct_slot_ = -1; // the request a direct submit() is sending, whose error it returns
	int direct_error_ = 0;
	context_stats stats_;
};

// The submission path, inline so that the C and C++ layers compile it into their own calls.

// g++ keeps the caller's operation in registers when the full context's call gets a copy made
// like this; given `what` itself, it builds the operation in memory on every submission.
inline operation copied_field_by_field(const operation &what) noexcept
{
	return operation{what.op,  what.fd,     what.buffer, what.length,
			 what.iov, what.iovcnt, what.offset};
}

template <class Callback>
[[gnu::always_inline]] inline int engine::submit(const operation &what, Callback &&callback)
{
	if (forked()) [[unlikely]]
		return -ECHILD;
	int length = validate(what);
	if (length < 0)
		return length;
	if (free_slots_.empty()) [[unlikely]]
		return submit_when_full(copied_field_by_field(what),
					std::forward<Callback>(callback));
	int index = claim_slot();
	request_slot &slot = slots_[index];
	int key = key_of(index); // before prepare()'s stores, which would make it load again
	if (int err = prepare(slot.control_block, index, what); err != 0)
		return unclaim(index, err);
	slot.result = length;
	slot.take_callback(std::forward<Callback>(callback));
	queue_.push_back(&slot.control_block);
	if (in_callback())
		return submit_early_ ? gather_early(key) : key;
	if (defer_submit_)
		return key;
	return send_direct(index, key);
}

// Out of line, so that what submit() would keep across the wait costs nothing when a slot is
// free.
template <class Callback>
[[gnu::noinline, gnu::cold]] int engine::submit_when_full(const operation &what,
							  Callback &&callback)
{
	if (int err = wait_for_free_slot(); err < 0)
		return err;
	return submit(what, std::forward<Callback>(callback));
}

[[gnu::always_inline]] inline int engine::claim_slot() noexcept
{
	int index = free_slots_.back();
	free_slots_.pop_back();
	slots_[index].claim();
	return index;
}

// The kernel's IOCB_CMD_* for each of our operations.
inline short kernel_opcode(opcode op)
{
	switch (op) {
	case opcode::read: return IO_CMD_PREAD;
	case opcode::write: return IO_CMD_PWRITE;
	case opcode::readv: return IO_CMD_PREADV;
	case opcode::writev: return IO_CMD_PWRITEV;
	case opcode::fsync: return IO_CMD_FSYNC;
	case opcode::fdsync: return IO_CMD_FDSYNC;
	}
	return IO_CMD_NOOP;
}

// Fills in what differs from one request to the next; the rest was set at create.
[[gnu::always_inline]] inline int engine::prepare(iocb &block, int index,
						  const operation &what) noexcept
{
	block.aio_lio_opcode = kernel_opcode(what.op);
	block.aio_fildes = what.fd;
	switch (what.op) {
	case opcode::read:
	case opcode::write:
		block.aio_rw_flags = what.op == opcode::read ? nowait_reads_ : nowait_writes_;
		block.u.c.buf = what.buffer;
		block.u.c.nbytes = what.length;
		block.u.c.offset = what.offset;
		return 0;
	case opcode::readv:
	case opcode::writev:
		block.aio_rw_flags = what.op == opcode::readv ? nowait_reads_ : nowait_writes_;
		return prepare_vector(block, index, what.iov, what.iovcnt, what.offset);
	case opcode::fsync:
	case opcode::fdsync: break;
	}
	// The kernel refuses a sync whose buffer, length, offset or flags are not zero.
	block.aio_rw_flags = 0;
	block.u.c.buf = nullptr;
	block.u.c.nbytes = 0;
	block.u.c.offset = 0;
	return 0;
}

// A key is the slot's generation above its index + 1: always > 0, and a slot's old keys stay
// dead for 2^15 reuses of that slot.
inline int engine::key_of(int index) const noexcept
{
	return (static_cast<int>(slots_[index].generation) << 16) | (index + 1);
}

} // namespace kaio::detail
