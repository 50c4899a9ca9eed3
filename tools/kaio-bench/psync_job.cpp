#include "psync_job.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

#include "clocks.hpp"

namespace kaio::bench {

psync_job::psync_job(const job_spec &spec, tools::unique_fd file)
	: core_(spec), file_(std::move(file)), buffer_(core_.make_buffer())
{}

job_result psync_job::run(job_progress &progress)
{
	core_.start();
	std::int64_t now = now_ns();
	while (core_.keep_going(now)) {
		io_request io = core_.next(buffer_.span());
		std::int64_t started = now_ns();
		int result = transfer(io);
		now = now_ns();
		bool ok = core_.complete(io, result, now - started, buffer_.span());
		if (ok && io.write)
			count_write();
		core_.publish(progress);
	}
	return core_.finish({});
}

int psync_job::transfer(const io_request &io)
{
	auto offset = off_t(io.offset);
	ssize_t done = io.write ? ::pwrite(file_.get(), buffer_.data(), buffer_.size(), offset)
				: ::pread(file_.get(), buffer_.data(), buffer_.size(), offset);
	// bs is at most IO_CTX_MAX_IO_BYTES, so a count fits an int.
	return done < 0 ? -errno : int(done);
}

void psync_job::count_write()
{
	std::uint64_t every = core_.spec().fsync_every;
	if (every == 0 || ++writes_since_sync_ < every)
		return;
	writes_since_sync_ = 0;
	core_.synced(::fdatasync(file_.get()) == 0 ? 0 : -errno);
}

} // namespace kaio::bench
