// kaio's C++ API: an RAII context over kernel AIO, with spans for buffers, any small callable as
// a completion callback (stored inside the request slot, never on the heap) and C++20
// awaitables: `int bytes = co_await ctx.read(fd, buffer, offset);`.
//
// The rules of the C API hold (see io_ctx.h): a submission returns a key > 0 or a negative errno;
// each key's callback runs exactly once, from process(), poll(), cancel(), a submission that
// waited for a slot, or the destructor; buffers stay valid until then; one thread at a time per
// context. A callback or a wait callable must not throw (the program ends if it does). One may
// destroy its context (a coroutine that owns the context does when it ends after its last
// co_await): the context's call that ran it then waits for what is still in flight, as the
// destructor does, and frees it as it returns.
// In a fork child, every member on a context created by the parent returns -ECHILD (stats() is
// all zeros) and the destructor frees the child's copy only (see io_ctx.h). A moved-from
// context answers -EINVAL (stats() all zeros, backend() from_environment) until it is assigned
// another.
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "kaio/inplace_function.hpp"
#include "kaio/io_ctx.h"
#include "kaio/operation.hpp"

namespace kaio {

namespace detail {
class engine;
}

class io_awaitable;

struct context_options {
	// Queue direct submissions until flush(), process() or poll(): one io_submit for a batch.
	bool defer_submit = false;
	// Reap only with io_getevents, never from the completion ring (IO_CTX_REAP_SYSCALL).
	bool reap_with_syscall = false;
	// Send what callbacks submit early: the first at once, then pairs (IO_CTX_SUBMIT_EARLY).
	bool submit_early = false;
	// See IO_CTX_WAIT_IN_GETEVENTS: only without `wait`.
	bool wait_in_getevents = false;
	// RWF_NOWAIT on O_DIRECT writes too (IO_CTX_NOWAIT_WRITES).
	bool nowait_writes = false;
	// Every fd is O_DIRECT: skip the check that sends others to workers (IO_CTX_DIRECT_ONLY).
	bool direct_only = false;
	// One thread makes every call after the first submission (IO_CTX_SINGLE_THREAD).
	bool single_thread = false;
	// How to wait for the eventfd; see io_ctx_create(). Empty: block in poll(2). Must not
	// throw.
	wait_callback wait;
	// The kernel interface: see IO_CTX_BACKEND_* (from_environment: KAIO_BACKEND, else aio).
	kaio::backend backend = kaio::backend::from_environment;
};

class KAIO_API context {
public:
	static constexpr int max_capacity = IO_CTX_MAX_CAPACITY;

	// Throws std::system_error with the errno of io_ctx_create(), or std::bad_alloc.
	explicit context(int capacity, context_options options = {});
	// Waits until every request has completed and its callback has run.
	~context();

	context(context &&other) noexcept;
	context &operator=(context &&other) noexcept;
	context(const context &) = delete;
	context &operator=(const context &) = delete;

	// Submissions: a key > 0, or a negative errno (and then `on_complete` is never called).
	int read(int fd, std::span<std::byte> buffer, std::int64_t offset,
		 completion_callback on_complete);
	int write(int fd, std::span<const std::byte> buffer, std::int64_t offset,
		  completion_callback on_complete);
	int readv(int fd, std::span<const iovec> buffers, std::int64_t offset,
		  completion_callback on_complete);
	int writev(int fd, std::span<const iovec> buffers, std::int64_t offset,
		   completion_callback on_complete);
	int fsync(int fd, completion_callback on_complete);
	int fdatasync(int fd, completion_callback on_complete);
	int submit(const operation &what, completion_callback on_complete);

	// The same as awaitables: co_await yields the result (bytes or a negative errno). An
	// awaitable submits when awaited, not when made. The buffers must live until the
	// coroutine resumes; an iovec array only until co_await, which copies it.
	[[nodiscard]] io_awaitable read(int fd, std::span<std::byte> buffer, std::int64_t offset);
	[[nodiscard]] io_awaitable write(int fd, std::span<const std::byte> buffer,
					 std::int64_t offset);
	[[nodiscard]] io_awaitable readv(int fd, std::span<const iovec> buffers,
					 std::int64_t offset);
	[[nodiscard]] io_awaitable writev(int fd, std::span<const iovec> buffers,
					  std::int64_t offset);
	[[nodiscard]] io_awaitable fsync(int fd);
	[[nodiscard]] io_awaitable fdatasync(int fd);

	int cancel(int key);
	int process();
	int poll();
	int flush();
	// See io_ctx_eventfd(): with wait_in_getevents, the first call attaches it.
	int eventfd() const noexcept;
	context_stats stats() const noexcept;
	// aio or uring: what the context runs on.
	kaio::backend backend() const noexcept;
	// See io_ctx_register_buffers() and io_ctx_register_files(): 0 or a negative errno.
	int register_buffers(std::span<const iovec> buffers);
	int register_files(std::span<const int> fds);

private:
	detail::engine *engine_;
};

// What O_DIRECT I/O on `fd` requires (see io_ctx_dio_alignment()): 0 and `alignment` filled in,
// or -EBADF, or -EOPNOTSUPP when the filesystem cannot do direct I/O or does not say.
KAIO_API int dio_alignment(int fd, struct io_ctx_dio_alignment &alignment) noexcept;

// Submits when awaited; resumes the awaiting coroutine from the context's process() with the
// result. A submission error is the result at once, without suspending.
//
// A coroutine suspended here must not be destroyed (coroutine_handle::destroy()) before it
// resumes: the kernel still owns its buffers, often in the frame, and the completion would
// resume a coroutine that is gone. Doing so ends the program with a message, as destroying a
// joinable std::thread does, rather than letting the kernel write into freed memory.
class [[nodiscard]] io_awaitable {
public:
	io_awaitable(context &ctx, const operation &what) noexcept : context_(&ctx), what_(what) {}
	io_awaitable(const io_awaitable &) = delete;
	io_awaitable &operator=(const io_awaitable &) = delete;

	~io_awaitable()
	{
		if (in_flight_) {
			// The program ends whether or not stderr takes the message.
			(void)std::fputs(
				"kaio: a coroutine was destroyed while suspended on its I/O\n",
				stderr);
			std::abort();
		}
	}

	bool await_ready() const noexcept { return false; }

	bool await_suspend(std::coroutine_handle<> waiter)
	{
		in_flight_ = true;
		int key = context_->submit(what_, [this, waiter](int result) {
			result_ = result;
			in_flight_ = false;
			waiter.resume();
		});
		if (key < 0) {
			result_ = key;
			in_flight_ = false;
			return false;
		}
		return true;
	}

	int await_resume() const noexcept { return result_; }

private:
	context *context_;
	operation what_;
	int result_ = 0;
	bool in_flight_ = false;
};

} // namespace kaio
