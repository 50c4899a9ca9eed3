#include "stress_worker.hpp"

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io_ctx_internal.hpp"
#include "stamped_block.hpp"

namespace kaio::stress {

namespace {

bool is_refusal(int error)
{
	return error == -EAGAIN || error == -EINTR || error == -EBADF || error == -ENOMEM;
}

} // namespace

void stress_counts::add(const stress_counts &other)
{
	reads += other.reads;
	writes += other.writes;
	readvs += other.readvs;
	writevs += other.writevs;
	fdsyncs += other.fdsyncs;
	cancels += other.cancels;
	cancels_stopped += other.cancels_stopped;
	on_uring += other.on_uring;
	refused += other.refused;
	faults += other.faults;
	eventfd_waits += other.eventfd_waits;
	mismatches += other.mismatches;
	broken += other.broken;
	errors += other.errors;
}

stress_worker::stress_worker(const worker_settings &settings)
	: settings_(settings), random_(settings.seed),
	  ops_(static_cast<std::size_t>(settings.depth)), blocks_(settings.blocks)
{
	for (op &request : ops_) {
		request.worker = this;
		request.buffer = kaio::aligned_buffer(block_size);
		free_ops_.push_back(&request);
	}
	if (settings.fault_rate > 0)
		kernel_ = std::make_unique<kaio::testing::random_fault_kernel>(
			kaio::testing::fault_plan::every(settings.fault_rate), settings.seed);
}

stress_counts stress_worker::run()
{
	if (!create_context())
		return counts_;
	while (std::chrono::steady_clock::now() < settings_.deadline) {
		auto target =
			static_cast<int>(1 + below(static_cast<std::uint64_t>(settings_.depth)));
		for (int tries = 0; live_ < target && tries < 2 * target; ++tries)
			submit_random();
		if (below(20) == 0)
			cancel_random();
		if (!run_ready())
			break;
	}
	io_ctx_destroy(&ctx_); // runs every callback still due
	if (live_ != 0) {
		counts_.broken += static_cast<unsigned>(live_);
		std::fprintf(stderr, "kaio-stress: destroy left %d callbacks not run\n", live_);
	}
	if (kernel_) {
		counts_.faults = kernel_->injected_total();
		if (kernel_->outstanding() != 0)
			++counts_.broken;
	}
	verify_file();
	return counts_;
}

// One round of completions: io_ctx_process, io_ctx_poll, or a wait on the eventfd and then
// io_ctx_poll. False when the context broke a promise.
bool stress_worker::run_ready()
{
	if (waits_in_kernel_ && eventfd_ < 0 && below(1000) == 0) {
		eventfd_ = io_ctx_eventfd(&ctx_);
		if (eventfd_ < 0) {
			++counts_.broken;
			std::fprintf(stderr, "kaio-stress: no eventfd: %s\n",
				     std::strerror(-eventfd_));
			return false;
		}
	}
	bool event_loop = eventfd_ >= 0 && below(2) == 0;
	if (event_loop && !wait_on_eventfd())
		return false;
	int ran = !event_loop && below(2) == 0 ? io_ctx_process(&ctx_) : io_ctx_poll(&ctx_);
	if (ran < 0) {
		++counts_.broken;
		std::fprintf(stderr, "kaio-stress: process failed: %s\n", std::strerror(-ran));
		return false;
	}
	return true;
}

// With requests out, the eventfd must become readable: a minute without is a lost wake-up.
bool stress_worker::wait_on_eventfd()
{
	if (live_ == 0)
		return true;
	++counts_.eventfd_waits;
	pollfd readable{eventfd_, POLLIN, 0};
	int rc;
	while ((rc = ::poll(&readable, 1, 60000)) < 0 && errno == EINTR) {
	}
	if (rc == 1)
		return true;
	++counts_.broken;
	std::fprintf(stderr, "kaio-stress: eventfd silent for a minute with %d requests out\n",
		     live_);
	return false;
}

bool stress_worker::create_context()
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	waits_in_kernel_ = !kernel_ && settings_.seed % 2 == 1; // threads have seeds in a row
	options.flags = waits_in_kernel_ ? IO_CTX_WAIT_IN_GETEVENTS : 0;
	for (int attempt = 0; attempt < 100; ++attempt) {
		int rc = kaio::detail::create_io_ctx(&ctx_, settings_.depth, nullptr, &options,
						     kernel_.get());
		if (rc == 0) {
			counts_.on_uring = io_ctx_backend(&ctx_) == IO_CTX_BACKEND_URING ? 1 : 0;
			return true;
		}
		if (rc != -EAGAIN || !kernel_) {
			std::fprintf(stderr, "kaio-stress: cannot create a context: %s\n",
				     std::strerror(-rc));
			++counts_.errors;
			return false;
		}
	}
	++counts_.broken;
	return false;
}

void stress_worker::submit_random()
{
	if (free_ops_.empty())
		return;
	std::uint64_t pick = below(95);
	kind what = pick < 40   ? kind::read
		    : pick < 75 ? kind::write
		    : pick < 83 ? kind::readv
		    : pick < 91 ? kind::writev
				: kind::fdsync;
	std::uint64_t block = below(settings_.blocks);
	if (what != kind::fdsync) {
		if (blocks_[block].busy)
			return; // one request per block at a time, so a read knows what it may find
		blocks_[block].busy = true;
	}
	op &request = *free_ops_.back();
	free_ops_.pop_back();
	request.what = what;
	request.block = block;
	request.live = true;
	++live_;
	auto offset = static_cast<long long>(offset_of(block));
	std::byte *data = request.buffer.data();
	iovec iov[4];
	for (int i = 0; i < 4; ++i)
		iov[i] = {data + i * (block_size / 4), block_size / 4};
	int key = 0;
	switch (what) {
	case kind::read:
		key = io_ctx_read(&ctx_, settings_.fd, data, block_size, offset, on_complete,
				  &request);
		break;
	case kind::readv:
		key = io_ctx_pread(&ctx_, settings_.fd, iov, 4, offset, on_complete, &request);
		break;
	case kind::write:
	case kind::writev:
		request.generation = next_generation_++;
		stamp(data, offset_of(block), request.generation);
		key = what == kind::write ? io_ctx_write(&ctx_, settings_.fd, data, block_size,
							 offset, on_complete, &request)
					  : io_ctx_pwrite(&ctx_, settings_.fd, iov, 4, offset,
							  on_complete, &request);
		break;
	case kind::fdsync: key = io_ctx_fdsync(&ctx_, settings_.fd, on_complete, &request); break;
	}
	if (key > 0) {
		request.key = key;
		return;
	}
	// Refused: no callback will come.
	++(kernel_ && is_refusal(key) ? counts_.refused : counts_.errors);
	request.live = false;
	--live_;
	if (what != kind::fdsync)
		blocks_[block].busy = false;
	free_ops_.push_back(&request);
}

void stress_worker::cancel_random()
{
	op &request = ops_[below(ops_.size())];
	if (!request.live)
		return;
	++counts_.cancels;
	int answer = io_ctx_cancel(&ctx_, request.key);
	if (answer == 0) {
		++counts_.cancels_stopped;
		if (request.live || request.result != -ECANCELED)
			++counts_.broken; // "stopped" means its callback ran, with -ECANCELED
	} else if (answer != -EINPROGRESS) {
		++counts_.broken;
	}
}

void stress_worker::on_complete(int result, void *data)
{
	auto *request = static_cast<op *>(data);
	request->worker->complete(*request, result);
}

void stress_worker::complete(op &request, int result)
{
	if (!request.live) {
		++counts_.broken;
		std::fprintf(stderr, "kaio-stress: a callback ran twice\n");
		return;
	}
	request.live = false;
	request.result = result;
	--live_;
	bool full = result == static_cast<int>(block_size);
	switch (request.what) {
	case kind::read:
	case kind::readv:
		++(request.what == kind::read ? counts_.reads : counts_.readvs);
		check_read(request, result);
		break;
	case kind::write:
	case kind::writev: {
		++(request.what == kind::write ? counts_.writes : counts_.writevs);
		std::vector<std::uint64_t> &generations = blocks_[request.block].generations;
		// Only a full write is known to be there; after a failed or short one the block may
		// hold either generation (or, per sector, both).
		if (full)
			generations.assign(1, request.generation);
		else
			generations.push_back(request.generation);
		break;
	}
	case kind::fdsync: ++counts_.fdsyncs; break;
	}
	bool failed = request.what == kind::fdsync ? result != 0 : !full;
	if (failed && !kernel_ && result != -ECANCELED)
		++counts_.errors;
	if (request.what != kind::fdsync)
		blocks_[request.block].busy = false;
	free_ops_.push_back(&request);
}

void stress_worker::check_read(const op &request, int result)
{
	if (result != static_cast<int>(block_size))
		return; // nothing to check in a failed or (injected) short read
	const std::vector<std::uint64_t> &generations = blocks_[request.block].generations;
	long long found = stamped_generation(request.buffer.data(), offset_of(request.block));
	bool expected =
		found >= 0 && std::find(generations.begin(), generations.end(),
					static_cast<std::uint64_t>(found)) != generations.end();
	// A block after an uncertain write may mix sectors of two generations: not intact, yet
	// not wrong. A block known to hold one generation must be intact.
	bool torn = found < 0 && generations.size() > 1;
	if (!expected && !torn) {
		++counts_.mismatches;
		std::fprintf(stderr,
			     "kaio-stress: block at %llu holds generation %lld, expected %llu\n",
			     static_cast<unsigned long long>(offset_of(request.block)), found,
			     static_cast<unsigned long long>(generations.front()));
	}
}

// Every block, read back with pread(2), holds a generation it may hold.
void stress_worker::verify_file()
{
	for (std::uint64_t block = 0; block < settings_.blocks; ++block) {
		op check;
		check.block = block;
		check.buffer = kaio::aligned_buffer(block_size);
		ssize_t got = ::pread(settings_.fd, check.buffer.data(), block_size,
				      static_cast<off_t>(offset_of(block)));
		check_read(check, static_cast<int>(got));
	}
}

std::uint64_t stress_worker::offset_of(std::uint64_t block) const
{
	return (settings_.first_block + block) * block_size;
}

std::uint64_t stress_worker::below(std::uint64_t bound)
{
	return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(random_);
}

} // namespace kaio::stress
