// The C++ API: the same engine as the C API, with spans, callables and exceptions at creation.
#include "kaio/context.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <system_error>
#include <utility>

#include "engine.hpp"

namespace kaio {
namespace {

operation data_operation(opcode op, int fd, std::span<const std::byte> buffer, std::int64_t offset)
{
	// The kernel reads from a write's buffer, never writes it: dropping const is safe.
	return {op, fd, const_cast<std::byte *>(buffer.data()), buffer.size(), nullptr, 0, offset};
}

operation vector_operation(opcode op, int fd, std::span<const iovec> buffers, std::int64_t offset)
{
	// More elements than an int holds are more than IOV_MAX too: validation refuses them.
	int count = static_cast<int>(std::min<std::size_t>(buffers.size(), INT_MAX));
	return {op, fd, nullptr, 0, buffers.data(), count, offset};
}

operation sync_operation(opcode op, int fd)
{
	return {op, fd, nullptr, 0, nullptr, 0, 0};
}

// Deletes the engine, or, from one of its callbacks or its wait callable, leaves that to the
// call that ran them (see engine::abandon): deleting it there would free it under its own
// process().
void release(detail::engine *core) noexcept
{
	if (core == nullptr)
		return;
	if (core->running_user_code())
		core->abandon();
	else
		delete core;
}

// Runs `call` on the engine, which the callbacks it runs may abandon. A moved-from context has
// no engine: its calls answer -EINVAL, as the C API's do on a destroyed io_ctx, and never run a
// callback. Touches no member of the context after the call: it may be gone.
template <class Call>
int on_engine(detail::engine *core, Call call)
{
	if (core == nullptr)
		return -EINVAL;
	int result = call(*core);
	if (core->abandoned() && !core->running_user_code())
		delete core;
	return result;
}

} // namespace

context::context(int capacity, context_options options)
{
	detail::engine_options settings;
	settings.capacity = capacity;
	settings.defer_submit = options.defer_submit;
	settings.reap_with_syscall = options.reap_with_syscall;
	settings.submit_early = options.submit_early;
	settings.wait_in_getevents = options.wait_in_getevents;
	settings.nowait_writes = options.nowait_writes;
	settings.direct_only = options.direct_only;
	settings.single_thread = options.single_thread;
	settings.wait = std::move(options.wait);
	settings.backend = options.backend;
	std::unique_ptr<detail::engine> core;
	if (int err = detail::engine::create(std::move(settings), core); err < 0)
		throw std::system_error(-err, std::system_category(), "kaio::context");
	engine_ = core.release();
}

context::~context()
{
	release(std::exchange(engine_, nullptr));
}

context::context(context &&other) noexcept : engine_(std::exchange(other.engine_, nullptr)) {}

context &context::operator=(context &&other) noexcept
{
	if (this != &other)
		release(std::exchange(engine_, std::exchange(other.engine_, nullptr)));
	return *this;
}

int context::submit(const operation &what, completion_callback on_complete)
{
	return on_engine(engine_, [&](detail::engine &core) {
		return core.submit(what, std::move(on_complete));
	});
}

int context::read(int fd, std::span<std::byte> buffer, std::int64_t offset,
		  completion_callback on_complete)
{
	return submit(data_operation(opcode::read, fd, buffer, offset), std::move(on_complete));
}

int context::write(int fd, std::span<const std::byte> buffer, std::int64_t offset,
		   completion_callback on_complete)
{
	return submit(data_operation(opcode::write, fd, buffer, offset), std::move(on_complete));
}

int context::readv(int fd, std::span<const iovec> buffers, std::int64_t offset,
		   completion_callback on_complete)
{
	return submit(vector_operation(opcode::readv, fd, buffers, offset), std::move(on_complete));
}

int context::writev(int fd, std::span<const iovec> buffers, std::int64_t offset,
		    completion_callback on_complete)
{
	return submit(vector_operation(opcode::writev, fd, buffers, offset),
		      std::move(on_complete));
}

int context::fsync(int fd, completion_callback on_complete)
{
	return submit(sync_operation(opcode::fsync, fd), std::move(on_complete));
}

int context::fdatasync(int fd, completion_callback on_complete)
{
	return submit(sync_operation(opcode::fdsync, fd), std::move(on_complete));
}

io_awaitable context::read(int fd, std::span<std::byte> buffer, std::int64_t offset)
{
	return {*this, data_operation(opcode::read, fd, buffer, offset)};
}

io_awaitable context::write(int fd, std::span<const std::byte> buffer, std::int64_t offset)
{
	return {*this, data_operation(opcode::write, fd, buffer, offset)};
}

io_awaitable context::readv(int fd, std::span<const iovec> buffers, std::int64_t offset)
{
	return {*this, vector_operation(opcode::readv, fd, buffers, offset)};
}

io_awaitable context::writev(int fd, std::span<const iovec> buffers, std::int64_t offset)
{
	return {*this, vector_operation(opcode::writev, fd, buffers, offset)};
}

io_awaitable context::fsync(int fd)
{
	return {*this, sync_operation(opcode::fsync, fd)};
}

io_awaitable context::fdatasync(int fd)
{
	return {*this, sync_operation(opcode::fdsync, fd)};
}

int context::cancel(int key)
{
	return on_engine(engine_, [key](detail::engine &core) { return core.cancel(key); });
}

int context::process()
{
	return on_engine(engine_, [](detail::engine &core) { return core.process(); });
}

int context::poll()
{
	return on_engine(engine_, [](detail::engine &core) { return core.poll(); });
}

int context::flush()
{
	return on_engine(engine_, [](detail::engine &core) { return core.flush(); });
}

int context::eventfd() const noexcept
{
	return engine_ == nullptr ? -EINVAL : engine_->eventfd();
}

context_stats context::stats() const noexcept
{
	return engine_ == nullptr ? context_stats{} : engine_->stats();
}

kaio::backend context::backend() const noexcept
{
	return engine_ == nullptr ? kaio::backend::from_environment : engine_->backend();
}

int context::register_buffers(std::span<const iovec> buffers)
{
	if (engine_ == nullptr)
		return -EINVAL;
	int count = static_cast<int>(std::min<std::size_t>(buffers.size(), INT_MAX));
	return engine_->register_buffers(buffers.data(), count);
}

int context::register_files(std::span<const int> fds)
{
	if (engine_ == nullptr)
		return -EINVAL;
	int count = static_cast<int>(std::min<std::size_t>(fds.size(), INT_MAX));
	return engine_->register_files(fds.data(), count);
}

} // namespace kaio
