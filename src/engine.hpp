// The core of kaio: one kernel AIO context, its request slots, the submission queue and the
// completion loop. The C API (io_ctx.cpp) and the C++ API (context.cpp) are thin layers over it.
// Every function returns >= 0 or a negative errno; nothing here throws except std::bad_alloc
// from create().
#pragma once

#include <libaio.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kaio/inplace_function.hpp"
#include "kaio/operation.hpp"
#include "kernel_aio.hpp"
#include "request_slot.hpp"

namespace kaio::detail {

struct engine_options {
	int capacity = 0;
	bool defer_submit = false;
	bool reap_with_syscall = false; // never read the completion ring in user space
	wait_callback wait;            // empty: poll(2)
	kernel_aio *kernel = nullptr;  // null: the real kernel
};

class engine {
public:
	static constexpr int max_capacity = 65535;

	// 0 and the engine in `out`, or a negative errno.
	static int create(engine_options options, std::unique_ptr<engine> &out);

	// Waits for every request (see drain()) and releases the kernel context.
	~engine();

	engine(const engine &) = delete;
	engine &operator=(const engine &) = delete;

	int submit(const operation &what, completion_callback &&callback);
	int process() { return process(true); }
	int poll() { return process(false); }
	int flush();
	int cancel(int key);

	int eventfd() const noexcept { return eventfd_; }
	context_stats stats() const noexcept;
	bool in_callback() const noexcept { return callback_depth_ > 0; }

private:
	// Room on the stack for one io_getevents; more are reaped in further calls.
	static constexpr int reap_batch = 128;
	// iovecs copied into the slot's own space; longer vectors use a per-slot vector.
	static constexpr int inline_iovecs = 4;
	// io_submit answers EINTR, EAGAIN or ENOMEM this many times in a row with nothing of ours in
	// the kernel to wait for before the request at the head of the queue fails with that error.
	static constexpr int transient_retries = 16;

	engine(engine_options &&options, io_context_t kernel_context, int eventfd);

	int process(bool may_wait);
	int claim_slot();
	int wait_for_free_slot();
	int prepare(request_slot &slot, int index, const operation &what) noexcept;
	iovec *copy_vector(int index, const iovec *iov, int iovcnt) noexcept;
	int send_queue();
	void reject_queue_head(int error);
	int run_ready();
	int run_completing();
	int reap();
	int take_events(io_event *events, long want);
	void complete(request_slot &slot, int result) noexcept;
	int cancel_in_kernel(request_slot &slot);
	int wait_for_completion();
	void signal_eventfd();
	void drain_eventfd();
	void drain();
	void reap_blocking();

	int key_of(int index) const noexcept;
	request_slot *slot_of_key(int key) noexcept;
	int index_of(const request_slot &slot) const noexcept;

	kernel_aio &kernel_;
	io_context_t kernel_context_;
	aio_ring *ring_; // null: reap with io_getevents
	int eventfd_;
	int capacity_;
	bool defer_submit_;
	wait_callback wait_;

	std::unique_ptr<request_slot[]> slots_;
	std::unique_ptr<iovec[]> inline_iov_;                 // capacity * inline_iovecs
	std::unique_ptr<std::vector<iovec>[]> overflow_iov_;  // for longer vectors, per slot
	std::vector<int> free_slots_;                         // a stack of slot indexes
	std::vector<iocb *> queue_;                           // claimed, waiting for io_submit
	std::vector<int> completing_;                         // finished without the kernel

	unsigned in_kernel_ = 0;
	int callback_depth_ = 0;
	int direct_slot_ = -1;   // the request a direct submit() is sending, whose error it returns
	int direct_error_ = 0;
	bool wait_failed_ = false; // in drain(): wait_cb failed, so wait in the kernel instead
	context_stats stats_;
};

} // namespace kaio::detail
