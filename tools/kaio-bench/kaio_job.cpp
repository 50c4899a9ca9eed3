#include "kaio_job.hpp"

#include <fmt/core.h>

#include <utility>

#include "clocks.hpp"
#include "failure.hpp"

namespace kaio::bench {

kaio_job::kaio_job(const job_spec &spec, tools::unique_fd file, kaio::context ctx)
	: core_(spec), file_(std::move(file)), ctx_(std::move(ctx))
{
	slots_.reserve(spec.iodepth);
	for (unsigned i = 0; i < spec.iodepth; ++i)
		slots_.push_back({core_.make_buffer(), {}, 0});
	if (spec.fixedbufs)
		register_buffers();
	if (spec.registerfiles)
		register_file();
}

// As fio's fixedbufs=1: io_uring then skips mapping the buffers on every I/O. AIO ignores it.
void kaio_job::register_buffers()
{
	std::vector<iovec> buffers;
	for (slot &request : slots_)
		buffers.push_back({request.buffer.data(), request.buffer.size()});
	if (int rc = ctx_.register_buffers(buffers); rc < 0)
		throw run_failure(fmt::format("cannot register {} buffers: {}", buffers.size(),
					      reason_of(-rc)));
}

// As fio's registerfiles=1: io_uring then skips looking the file up on every I/O, and AIO
// skips asking which filesystem it lives on (see io_ctx_register_files(3)).
void kaio_job::register_file()
{
	int fd = file_.get();
	if (int rc = ctx_.register_files({&fd, 1}); rc < 0)
		throw run_failure(fmt::format("cannot register the file: {}", reason_of(-rc)));
}

job_result kaio_job::run(job_progress &progress)
{
	core_.start();
	std::int64_t now = now_ns();
	for (slot &request : slots_) {
		if (!core_.keep_going(now))
			break;
		issue(request, now);
	}
	while (in_flight_ > 0 || sync_in_flight_) {
		if (int rc = ctx_.process(); rc < 0) {
			// Stop here; the context's destructor drains the rest.
			core_.wait_failed(rc);
			break;
		}
		core_.publish(progress);
	}
	finished_ = true;
	job_result result = core_.finish(ctx_.stats());
	result.backend = ctx_.backend();
	return result;
}

void kaio_job::issue(slot &request, std::int64_t now)
{
	request.io = core_.next(request.buffer.span());
	request.started_ns = now;
	auto on_complete = [this, &request](int result) { completed(request, result); };
	int key = request.io.write ? ctx_.write(file_.get(), request.buffer,
						std::int64_t(request.io.offset), on_complete)
				   : ctx_.read(file_.get(), request.buffer,
					       std::int64_t(request.io.offset), on_complete);
	if (key < 0) {
		core_.refused(request.io, key);
		return;
	}
	++in_flight_;
}

void kaio_job::completed(slot &request, int result)
{
	--in_flight_;
	if (finished_)
		return;
	// The one clock read of this I/O: its end, and the start of the next from this slot.
	std::int64_t now = now_ns();
	bool ok =
		core_.complete(request.io, result, now - request.started_ns, request.buffer.span());
	if (ok && request.io.write)
		count_write();
	if (core_.keep_going(now))
		issue(request, now);
}

void kaio_job::count_write()
{
	std::uint64_t every = core_.spec().fsync_every;
	if (every == 0 || ++writes_since_sync_ < every)
		return;
	writes_since_sync_ = 0;
	if (sync_in_flight_)
		sync_due_ = true;
	else
		issue_sync();
}

void kaio_job::issue_sync()
{
	int key = ctx_.fdatasync(file_.get(), [this](int result) { synced(result); });
	if (key < 0) {
		core_.synced(key);
		return;
	}
	sync_in_flight_ = true;
}

void kaio_job::synced(int result)
{
	sync_in_flight_ = false;
	if (finished_)
		return;
	core_.synced(result);
	if (std::exchange(sync_due_, false) && result >= 0)
		issue_sync();
}

} // namespace kaio::bench
