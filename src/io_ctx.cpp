// The C API: converts arguments, calls the engine, and lets no exception cross into C.
#include "kaio/io_ctx.h"

#include <cerrno>
#include <memory>
#include <new>

#include "engine.hpp"
#include "io_ctx_internal.hpp"
#include "kaio/context.hpp"

using kaio::opcode;
using kaio::detail::engine;
using request = kaio::operation;

static_assert(static_cast<unsigned>(kaio::backend::from_environment) == IO_CTX_BACKEND_DEFAULT &&
		      static_cast<unsigned>(kaio::backend::aio) == IO_CTX_BACKEND_AIO &&
		      static_cast<unsigned>(kaio::backend::uring) == IO_CTX_BACKEND_URING &&
		      static_cast<unsigned>(kaio::backend::automatic) == IO_CTX_BACKEND_AUTO,
	      "kaio::backend mirrors IO_CTX_BACKEND_*");

namespace {

using c_callback = void (*)(int result, void *data);

engine *engine_of(const io_ctx *ctx)
{
	return ctx == nullptr ? nullptr : static_cast<engine *>(ctx->impl);
}

// A C callback and its argument, kept in the request slot as they are: two pointers, copied by
// value, called through one thunk. A null function makes a request whose completion calls nothing.
struct c_completion {
	c_callback function;
	void *data;

	void operator()(int result) const
	{
		if (function != nullptr)
			function(result, data);
	}
};

[[gnu::always_inline]] inline int submit(io_ctx *ctx, const request &what, c_callback function,
					 void *data)
{
	engine *core = engine_of(ctx);
	if (core == nullptr)
		return -EINVAL;
	return core->submit(what, c_completion{function, data});
}

} // namespace

int kaio::detail::create_io_ctx(io_ctx *ctx, int capacity, int (*wait_cb)(int),
				const io_ctx_options *options, kernel_aio *kernel) noexcept
{
	if (ctx == nullptr)
		return -EINVAL;
	ctx->impl = nullptr;
	kaio::detail::engine_options settings;
	settings.capacity = capacity;
	settings.kernel = kernel;
	if (wait_cb != nullptr)
		settings.wait = wait_cb;
	if (options != nullptr) {
		for (unsigned reserved : options->reserved) {
			if (reserved != 0)
				return -EINVAL;
		}
		settings.backend = static_cast<kaio::backend>(options->backend);
		constexpr unsigned known = IO_CTX_DEFER_SUBMIT | IO_CTX_REAP_SYSCALL |
					   IO_CTX_SUBMIT_EARLY | IO_CTX_WAIT_IN_GETEVENTS |
					   IO_CTX_NOWAIT_WRITES | IO_CTX_DIRECT_ONLY |
					   IO_CTX_SINGLE_THREAD;
		if ((options->flags & ~known) != 0)
			return -EINVAL;
		settings.wait_in_getevents = (options->flags & IO_CTX_WAIT_IN_GETEVENTS) != 0;
		settings.nowait_writes = (options->flags & IO_CTX_NOWAIT_WRITES) != 0;
		settings.direct_only = (options->flags & IO_CTX_DIRECT_ONLY) != 0;
		settings.single_thread = (options->flags & IO_CTX_SINGLE_THREAD) != 0;
		settings.defer_submit = (options->flags & IO_CTX_DEFER_SUBMIT) != 0;
		settings.reap_with_syscall = (options->flags & IO_CTX_REAP_SYSCALL) != 0;
		settings.submit_early = (options->flags & IO_CTX_SUBMIT_EARLY) != 0;
	}
	try {
		std::unique_ptr<engine> core;
		if (int err = engine::create(std::move(settings), core); err < 0)
			return err;
		ctx->impl = core.release();
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

extern "C" {

int io_ctx_create(io_ctx *ctx, int capacity, int (*wait_cb)(int wait_fd))
{
	return kaio::detail::create_io_ctx(ctx, capacity, wait_cb, nullptr, nullptr);
}

int io_ctx_create_opts(io_ctx *ctx, int capacity, int (*wait_cb)(int wait_fd),
		       const io_ctx_options *options)
{
	return kaio::detail::create_io_ctx(ctx, capacity, wait_cb, options, nullptr);
}

int io_ctx_process(io_ctx *ctx)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->process();
}

int io_ctx_poll(io_ctx *ctx)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->poll();
}

int io_ctx_flush(io_ctx *ctx)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->flush();
}

int io_ctx_eventfd(const io_ctx *ctx)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->eventfd();
}

int io_ctx_get_stats(const io_ctx *ctx, io_ctx_stats *stats)
{
	const engine *core = engine_of(ctx);
	if (core == nullptr || stats == nullptr)
		return -EINVAL;
	if (core->forked())
		return -ECHILD;
	kaio::context_stats counters = core->stats();
	*stats = io_ctx_stats{};
	stats->submitted = counters.submitted;
	stats->completed = counters.completed;
	stats->submit_calls = counters.submit_calls;
	stats->getevents_calls = counters.getevents_calls;
	stats->ring_reaps = counters.ring_reaps;
	stats->eventfd_reads = counters.eventfd_reads;
	stats->waits = counters.waits;
	stats->worker_requests = counters.worker_requests;
	stats->nowait_retries = counters.nowait_retries;
	stats->nowait_refusals = counters.nowait_refusals;
	stats->fixed_buffer_requests = counters.fixed_buffer_requests;
	stats->in_kernel = counters.in_kernel;
	stats->queued = counters.queued;
	return 0;
}

int io_ctx_backend(const io_ctx *ctx)
{
	const engine *core = engine_of(ctx);
	if (core == nullptr)
		return -EINVAL;
	return core->forked() ? -ECHILD : static_cast<int>(core->backend());
}

int io_ctx_register_buffers(io_ctx *ctx, const iovec *buffers, int count)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->register_buffers(buffers, count);
}

int io_ctx_register_files(io_ctx *ctx, const int *fds, int count)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->register_files(fds, count);
}

void io_ctx_destroy(io_ctx *ctx)
{
	engine *core = engine_of(ctx);
	// From a callback or wait_cb, the process() or destroy that called it still runs on the
	// context, in a fork child too: it ends with -ECHILD, and the child may destroy then.
	if (core == nullptr || core->in_callback() || core->in_wait_callback())
		return;
	delete core; // callbacks run while it drains may still use the context
	ctx->impl = nullptr;
}

int io_ctx_write(io_ctx *ctx, int fd, void *data, size_t count, long long offset,
		 void (*complete_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::write, fd, data, count, nullptr, 0, offset};
	return submit(ctx, what, complete_cb, data_cb);
}

int io_ctx_pwrite(io_ctx *ctx, int fd, const iovec *iov, int iovcnt, long long offset,
		  void (*complete_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::writev, fd, nullptr, 0, iov, iovcnt, offset};
	return submit(ctx, what, complete_cb, data_cb);
}

int io_ctx_read(io_ctx *ctx, int fd, void *data, size_t len, long long offset,
		void (*complete_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::read, fd, data, len, nullptr, 0, offset};
	return submit(ctx, what, complete_cb, data_cb);
}

int io_ctx_pread(io_ctx *ctx, int fd, const iovec *iov, int iovcnt, long long offset,
		 void (*complete_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::readv, fd, nullptr, 0, iov, iovcnt, offset};
	return submit(ctx, what, complete_cb, data_cb);
}

int io_ctx_fsync(io_ctx *ctx, int fd, void (*sync_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::fsync, fd, nullptr, 0, nullptr, 0, 0};
	return submit(ctx, what, sync_cb, data_cb);
}

int io_ctx_fdsync(io_ctx *ctx, int fd, void (*sync_cb)(int result, void *data), void *data_cb)
{
	request what{opcode::fdsync, fd, nullptr, 0, nullptr, 0, 0};
	return submit(ctx, what, sync_cb, data_cb);
}

int io_ctx_dio_alignment(int fd, struct io_ctx_dio_alignment *alignment)
{
	if (alignment == nullptr)
		return -EINVAL;
	return kaio::dio_alignment(fd, *alignment);
}

int io_ctx_cancel(io_ctx *ctx, int key)
{
	engine *core = engine_of(ctx);
	return core == nullptr ? -EINVAL : core->cancel(key);
}

} // extern "C"
