#include "model/model_run.hpp"

#include <fcntl.h>
#include <libaio.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <iterator>
#include <sstream>
#include <thread>

#include "io_ctx_internal.hpp"
#include "model/sector_stamp.hpp"
#include "uring_backend.hpp"

namespace kaio::model {

using kaio::testing::fault;
using kaio::testing::fault_plan;

struct model_run::request {
	model_run *run = nullptr;
	unsigned long long id = 0;
	request_kind kind = request_kind::read;
	int block = -1;     // reads and writes: the block they transfer
	int sync_slot = -1; // syncs: which of the duplicated descriptors they use
	int fd = -1;
	int iovcnt = 1;              // vector forms
	std::uint32_t tag = 0;       // writes: the tag they stamp
	kaio::aligned_buffer buffer; // its own, unless the context has the pool registered
	std::byte *data = nullptr;   // what it reads into or writes from
	int key = 0;
	int calls = 0;
	int result = 0;
	bool delivered = false; // the kernel handed an event for it to the library
	int delivered_result = 0;
	bool injected = false;       // that result was a fault, not the kernel's
	bool rest_on_worker = false; // see random_fault_kernel::rest_moved_by_worker
	bool cancel_asked = false;   // a cancel named it
	follow_up then = follow_up::none;
};

namespace {

const char *name_of(request_kind kind)
{
	switch (kind) {
	case request_kind::read: return "read";
	case request_kind::write: return "write";
	case request_kind::readv: return "readv";
	case request_kind::writev: return "writev";
	case request_kind::fsync: return "fsync";
	case request_kind::fdsync: return "fdsync";
	case request_kind::pipe_read: return "pipe read";
	}
	return "?";
}

bool is_write(request_kind kind)
{
	return kind == request_kind::write || kind == request_kind::writev;
}
bool is_sync(request_kind kind)
{
	return kind == request_kind::fsync || kind == request_kind::fdsync;
}

int opcode_of(request_kind kind)
{
	switch (kind) {
	case request_kind::read:
	case request_kind::pipe_read: return IO_CMD_PREAD;
	case request_kind::write: return IO_CMD_PWRITE;
	case request_kind::readv: return IO_CMD_PREADV;
	case request_kind::writev: return IO_CMD_PWRITEV;
	case request_kind::fsync: return IO_CMD_FSYNC;
	case request_kind::fdsync: return IO_CMD_FDSYNC;
	}
	return -1;
}

// What a pipe message is stamped with in place of a block index: no block of the file has it.
constexpr std::uint32_t pipe_block = 0xffffffffu;

// The run whose context calls wait_readable (a wait_cb has no user pointer).
thread_local model_run *waiting_run = nullptr;

// What io_submit may answer, injected, for a request that then never reaches the kernel.
bool is_refusal(int error)
{
	return error == -EAGAIN || error == -EINTR || error == -EBADF || error == -ENOMEM;
}

} // namespace

model_run::model_run(choices &choose, const std::string &directory, unsigned backend, bool faults)
	: choose_(choose), backend_(backend), faults_(faults || !on_uring())
{
	if (on_uring()) {
		pool_ = kaio::aligned_buffer(blocks * block_size);
		if (::pipe2(pipe_, O_CLOEXEC) != 0)
			pipe_[0] = pipe_[1] = -1;
	}
	open_file(directory);
}

model_run::~model_run()
{
	if (live_context_)
		io_ctx_destroy(&ctx_);
	for (int fd : sync_fd_) {
		if (fd >= 0)
			::close(fd);
	}
	if (fd_ >= 0)
		::close(fd_);
	for (int end : pipe_) {
		if (end >= 0)
			::close(end);
	}
	if (!path_.empty())
		::unlink(path_.c_str());
}

bool model_run::open_file(const std::string &directory)
{
	std::string pattern = directory + "/kaio-model-XXXXXX";
	int made = ::mkstemp(pattern.data());
	if (made < 0)
		return false;
	::close(made);
	path_ = pattern;
	fd_ = ::open(path_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd_ < 0)
		return false;
	for (int &fd : sync_fd_)
		fd = ::dup(fd_);
	return true;
}

run_summary model_run::run(unsigned long long steps)
{
	run_summary summary;
	if (fd_ < 0) {
		summary.failure =
			"cannot open an O_DIRECT file: " + std::string(std::strerror(errno));
		return summary;
	}
	if (on_uring() && pipe_[0] < 0) {
		summary.failure = "cannot create a pipe";
		return summary;
	}
	stamp_file();
	if (faults_) {
		kernel_ = std::make_unique<kaio::testing::random_fault_kernel>(
			random_plan(), choose_.below(1ull << 32),
			on_uring() ? kaio::detail::linux_kernel_uring({})
				   : kaio::detail::linux_kernel_aio());
		kernel_->on_delivery = [this](const iocb &control, int result, bool injected) {
			on_delivery(control, result, injected);
		};
	}
	waiting_run = this;
	create_context();
	while (!failure_ && steps_ < steps && !choose_.exhausted()) {
		++steps_;
		step();
		check_counters();
		check_file();
	}
	destroy_context();
	waiting_run = nullptr;
	summary.failure = failure_.value_or("");
	summary.steps = steps_;
	summary.requests = requests_.size();
	summary.faults = kernel_ ? kernel_->injected_total() : 0;
	return summary;
}

// Every block starts with tag 0, written with plain pwrite(2).
void model_run::stamp_file()
{
	kaio::aligned_buffer data(blocks * block_size);
	for (int b = 0; b < blocks; ++b) {
		stamp_block(data.data() + b * block_size, 0, static_cast<std::uint32_t>(b));
		blocks_[b].acceptable = {0};
	}
	if (::pwrite(fd_, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
		fail("cannot write the file's initial contents: " +
		     std::string(std::strerror(errno)));
}

fault_plan model_run::random_plan()
{
	static constexpr double levels[] = {0, 0, 0.01, 0.05, 0.2};
	fault_plan plan;
	for (double &p : plan.probability)
		p = levels[choose_.below(std::size(levels))];
	plan[fault::setup_eagain] = choose_.one_in(2) ? 0.3 : 0;
	return plan;
}

void model_run::create_context()
{
	static constexpr int capacities[] = {1, 2, 3, 4, 8, 16, 32};
	capacity_ = capacities[choose_.below(std::size(capacities))];
	flags_ = static_cast<unsigned>(choose_.below(8)) &
		 (IO_CTX_DEFER_SUBMIT | IO_CTX_REAP_SYSCALL | IO_CTX_SUBMIT_EARLY);
	static constexpr std::uint64_t wait_odds[] = {0, 4, 16};
	wait_failure_odds_ = wait_odds[choose_.below(std::size(wait_odds))];
	if (on_real_ring() && choose_.one_in(2))
		flags_ |= IO_CTX_SINGLE_THREAD; // the seam's ring serves every thread
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = flags_;
	note("create capacity " + std::to_string(capacity_) + " flags " + std::to_string(flags_) +
	     " wait failing 1 in " + std::to_string(wait_failure_odds_));
	if (on_real_ring()) {
		options.backend = IO_CTX_BACKEND_URING;
		if (int rc = io_ctx_create_opts(&ctx_, capacity_, wait_readable, &options); rc != 0)
			return fail("create on io_uring failed with " + std::to_string(rc));
		live_context_ = true;
		callbacks_run_ = 0;
		return register_at_random();
	}
	for (int attempt = 0; attempt < 500; ++attempt) {
		auto refused_before = kernel_->injected(fault::setup_eagain);
		int rc = kaio::detail::create_io_ctx(&ctx_, capacity_, wait_readable, &options,
						     kernel_.get());
		if (rc == 0) {
			live_context_ = true;
			callbacks_run_ = 0;
			accepted_at_create_ = kernel_->accepted();
			if (on_uring())
				register_at_random();
			return;
		}
		if (rc != -EAGAIN)
			return fail("create failed with " + std::to_string(rc));
		if (ctx_.impl != nullptr)
			return fail("a failed create left a context behind");
		if (kernel_->injected(fault::setup_eagain) == refused_before) {
			// The real kernel's: other processes hold all of /proc/sys/fs/aio-max-nr
			// for a moment. Not ours to judge: wait a little for them to give it back.
			note("create: aio-max-nr exhausted, waiting");
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		}
	}
	note("create: aio-max-nr stayed exhausted; the run ends here"); // steps find no context
}

// Registers the file's descriptors, and the pool of buffers, each or neither: requests then go
// as fixed files and with fixed buffers, and the library must tell which are which.
void model_run::register_at_random()
{
	if (choose_.one_in(2)) {
		int fds[2 + sync_fds] = {fd_, pipe_[0]};
		std::copy(std::begin(sync_fd_), std::end(sync_fd_), fds + 2);
		int rc = io_ctx_register_files(&ctx_, fds, static_cast<int>(std::size(fds)));
		note("register files: " + std::to_string(rc));
		if (rc != 0)
			return fail("registering the files failed with " + std::to_string(rc));
	}
	pool_registered_ = choose_.one_in(2);
	if (pool_registered_) {
		iovec pool{pool_.data(), pool_.size()};
		int rc = io_ctx_register_buffers(&ctx_, &pool, 1);
		note("register buffers: " + std::to_string(rc));
		if (rc != 0)
			return fail("registering the buffers failed with " + std::to_string(rc));
	}
}

void model_run::destroy_context()
{
	if (!live_context_)
		return;
	note("destroy");
	destroy_began_at_ = wait_failures_;
	io_ctx_destroy(&ctx_);
	destroy_began_at_.reset();
	live_context_ = false;
	pool_registered_ = false;
	if (!live_.empty())
		fail("destroy returned with " + std::to_string(live_.size()) +
		     " callbacks not run");
	if (kernel_ && kernel_->outstanding() != 0)
		fail("destroy returned with requests in the kernel");
	check_file();
	check_pipe_holds_the_rest();
}

void model_run::step()
{
	std::uint64_t pick = choose_.below(80);
	if (pick < 14)
		return submit(request_kind::write, false);
	if (pick < 24)
		return submit(some_read(), false);
	if (pick < 29)
		return submit(request_kind::writev, false);
	if (pick < 34)
		return submit(request_kind::readv, false);
	if (pick < 36)
		return submit(request_kind::fsync, false);
	if (pick < 38)
		return submit(request_kind::fdsync, false);
	if (pick < 48)
		return process(true);
	if (pick < 56)
		return process(false);
	if (pick < 60)
		return flush();
	if (pick < 68)
		return cancel_live();
	if (pick < 71)
		return cancel_finished();
	if (pick < 74)
		return cancel_garbage();
	if (pick < 79) {
		// More than the context holds: the submissions past capacity wait for free slots.
		note("burst");
		for (int i = 0; i < capacity_ + 2 && !failure_; ++i)
			submit_random(false);
		return;
	}
	destroy_context();
	create_context();
}

void model_run::submit_random(bool from_callback)
{
	static constexpr request_kind kinds[] = {request_kind::write,  request_kind::read,
						 request_kind::writev, request_kind::readv,
						 request_kind::fsync,  request_kind::fdsync};
	request_kind kind = kinds[choose_.below(std::size(kinds))];
	submit(kind == request_kind::read ? some_read() : kind, from_callback);
}

// A read of the file, or on io_uring now and then of the pipe.
request_kind model_run::some_read()
{
	return on_real_ring() && choose_.one_in(3) ? request_kind::pipe_read : request_kind::read;
}

void model_run::submit(request_kind kind, bool from_callback)
{
	if (!live_context_)
		return;
	auto owned = std::make_unique<request>();
	request &r = *owned;
	r.run = this;
	r.id = requests_.size();
	r.kind = kind;
	if (kind == request_kind::pipe_read) {
		r.fd = pipe_[0];
		r.buffer = kaio::aligned_buffer(sector);
		r.data = r.buffer.data();
		std::memset(r.data, 0xee, sector);
	} else if (is_sync(kind)) {
		int start = static_cast<int>(choose_.below(sync_fds));
		for (int i = 0; i < sync_fds && r.sync_slot < 0; ++i) {
			if (sync_busy_[(start + i) % sync_fds] == nullptr)
				r.sync_slot = (start + i) % sync_fds;
		}
		if (r.sync_slot < 0)
			return; // one sync per descriptor at a time, so an event names its request
		r.fd = sync_fd_[r.sync_slot];
		sync_busy_[r.sync_slot] = &r;
	} else {
		int start = static_cast<int>(choose_.below(blocks));
		for (int i = 0; i < blocks && r.block < 0; ++i) {
			if (blocks_[(start + i) % blocks].busy == nullptr)
				r.block = (start + i) % blocks;
		}
		if (r.block < 0)
			return; // one request per block at a time: its outcome is then the model's
		r.fd = fd_;
		if (pool_registered_) {
			r.data = pool_.data() + static_cast<std::size_t>(r.block) * block_size;
		} else {
			r.buffer = kaio::aligned_buffer(block_size);
			r.data = r.buffer.data();
		}
		if (is_write(kind)) {
			r.tag = next_tag_++;
			stamp_block(r.data, r.tag, static_cast<std::uint32_t>(r.block));
		} else {
			std::memset(r.data, 0xee, block_size);
		}
		static constexpr int iovcnts[] = {1, 2, 4, 8};
		r.iovcnt = iovcnts[choose_.below(std::size(iovcnts))];
		blocks_[r.block].busy = &r;
	}
	std::uint64_t then = choose_.below(20);
	r.then = then < 12   ? follow_up::none
		 : then < 16 ? follow_up::submit
		 : then < 19 ? follow_up::cancel_live
			     : follow_up::cancel_self;
	if (kind != request_kind::pipe_read) // whose events the fault seam never sees
		in_flight_[identity_of(r)] = &r;
	requests_.push_back(std::move(owned));

	unsigned long long wait_failures_before = wait_failures_;
	int key = call_submit(r);
	note(std::string(from_callback ? "  callback submits " : "submit ") + name_of(kind) +
	     (r.block >= 0 ? " block " + std::to_string(r.block) : "") + ": " +
	     std::to_string(key));
	if (key > 0) {
		if (live_.count(key) != 0)
			return fail("key " + std::to_string(key) + " given to two live requests");
		r.key = key;
		live_[key] = &r;
		pipe_reads_live_ += kind == request_kind::pipe_read ? 1 : 0;
		return;
	}
	// A full context waits for a free slot through wait_cb; the submission returns its failure.
	bool wait_failed = key == -EINTR && wait_failed_since(wait_failures_before);
	if (!wait_failed && (from_callback || (flags_ & IO_CTX_DEFER_SUBMIT) != 0))
		return fail("a queued submission failed at once with " + std::to_string(key));
	if (!wait_failed && !is_refusal(key))
		return fail("a submission failed with " + std::to_string(key));
	// Refused: no callback, and the block and descriptor are free again.
	in_flight_.erase(identity_of(r));
	if (r.block >= 0)
		blocks_[r.block].busy = nullptr;
	if (r.sync_slot >= 0)
		sync_busy_[r.sync_slot] = nullptr;
}

int model_run::call_submit(request &r)
{
	long long offset = r.block >= 0 ? static_cast<long long>(r.block) * block_size : 0;
	// The iovec array lives on this stack only: the library must copy it.
	iovec iov[8];
	std::size_t part = block_size / static_cast<std::size_t>(r.iovcnt);
	for (int i = 0; i < r.iovcnt && r.block >= 0; ++i)
		iov[i] = {r.data + static_cast<std::size_t>(i) * part, part};
	switch (r.kind) {
	case request_kind::read:
		return io_ctx_read(&ctx_, r.fd, r.data, block_size, offset, completion_trampoline,
				   &r);
	case request_kind::write:
		return io_ctx_write(&ctx_, r.fd, r.data, block_size, offset, completion_trampoline,
				    &r);
	case request_kind::readv:
		return io_ctx_pread(&ctx_, r.fd, iov, r.iovcnt, offset, completion_trampoline, &r);
	case request_kind::writev:
		return io_ctx_pwrite(&ctx_, r.fd, iov, r.iovcnt, offset, completion_trampoline, &r);
	case request_kind::fsync: return io_ctx_fsync(&ctx_, r.fd, completion_trampoline, &r);
	case request_kind::fdsync: return io_ctx_fdsync(&ctx_, r.fd, completion_trampoline, &r);
	case request_kind::pipe_read:
		return io_ctx_read(&ctx_, r.fd, r.data, sector, 0, completion_trampoline, &r);
	}
	return -EINVAL;
}

void model_run::process(bool may_wait)
{
	if (!live_context_)
		return;
	std::size_t live_before = live_.size();
	unsigned long long callbacks_before = callbacks_run_;
	unsigned long long wait_failures_before = wait_failures_;
	int ran = may_wait ? io_ctx_process(&ctx_) : io_ctx_poll(&ctx_);
	note(std::string(may_wait ? "process: " : "poll: ") + std::to_string(ran));
	if (may_wait && ran == -EINTR && wait_failed_since(wait_failures_before))
		return; // wait_cb's answer, passed on
	if (ran < 0)
		return fail("process/poll failed with " + std::to_string(ran));
	if (static_cast<unsigned long long>(ran) > callbacks_run_ - callbacks_before)
		return fail("process/poll counted " + std::to_string(ran) + " callbacks, " +
			    std::to_string(callbacks_run_ - callbacks_before) + " ran");
	if (may_wait && live_before > 0 && ran == 0)
		return fail("process ran no callback with requests in flight");
	if (live_before == 0 && ran != 0)
		return fail("process/poll ran callbacks with nothing in flight");
}

void model_run::flush()
{
	if (!live_context_)
		return;
	long accepted_before = accepted();
	unsigned long long callbacks_before = callbacks_run_;
	int sent = io_ctx_flush(&ctx_);
	note("flush: " + std::to_string(sent));
	if (sent < 0 || sent != accepted() - accepted_before)
		return fail("flush answered " + std::to_string(sent) + ", the kernel took " +
			    std::to_string(accepted() - accepted_before));
	if (callbacks_run_ != callbacks_before)
		fail("flush ran callbacks");
}

// Requests taken so far: as the fault seam counted them on AIO, as the context did on io_uring.
long model_run::accepted()
{
	if (kernel_)
		return kernel_->accepted();
	io_ctx_stats stats{};
	io_ctx_get_stats(&ctx_, &stats);
	return static_cast<long>(stats.submitted);
}

void model_run::cancel_live()
{
	if (!live_context_ || live_.empty())
		return;
	auto it = live_.begin();
	std::advance(it, static_cast<long>(choose_.below(live_.size())));
	auto [key, target] = *it;
	target->cancel_asked = true;
	int answer = io_ctx_cancel(&ctx_, key);
	note("cancel live " + std::to_string(key) + ": " + std::to_string(answer));
	expect_cancel_answer(key, target, answer);
}

void model_run::expect_cancel_answer(int key, request *target, int answer)
{
	if (answer == 0) {
		if (target->calls != 1 || target->result != -ECANCELED)
			fail("cancel of " + std::to_string(key) + " answered 0, its callback ran " +
			     std::to_string(target->calls) + " times with " +
			     std::to_string(target->result));
		return;
	}
	if (answer != -EINPROGRESS)
		return fail("cancel of live key " + std::to_string(key) + " answered " +
			    std::to_string(answer));
	if (target->calls != 0 && target->result == -ECANCELED)
		fail("cancel of " + std::to_string(key) +
		     " answered -EINPROGRESS, its callback got -ECANCELED");
}

void model_run::cancel_finished()
{
	if (!live_context_ || finished_keys_.empty())
		return;
	int key = finished_keys_[choose_.below(finished_keys_.size())];
	if (live_.count(key) != 0)
		return; // the slot's generations came round to it again
	int answer = io_ctx_cancel(&ctx_, key);
	note("cancel finished " + std::to_string(key) + ": " + std::to_string(answer));
	if (answer != -ENOENT)
		fail("cancel of finished key " + std::to_string(key) + " answered " +
		     std::to_string(answer));
}

void model_run::cancel_garbage()
{
	if (!live_context_)
		return;
	static constexpr int fixed[] = {0, -1, INT_MIN, INT_MAX, 0xffff, 0x10000};
	std::uint64_t pick = choose_.below(std::size(fixed) + 2);
	int key = pick < std::size(fixed)    ? fixed[pick]
		  : pick == std::size(fixed) ? static_cast<int>(choose_.below(1ull << 31))
					     : (1 << 16) | (capacity_ + 1); // a slot past the end
	if (live_.count(key) != 0)
		return;
	int answer = io_ctx_cancel(&ctx_, key);
	note("cancel garbage " + std::to_string(key) + ": " + std::to_string(answer));
	if (answer != -ENOENT)
		fail("cancel of garbage key " + std::to_string(key) + " answered " +
		     std::to_string(answer));
}

// Blocks until fd is readable, as an application's wait_cb does, or fails now and then.
int model_run::wait_readable(int fd)
{
	model_run *run = waiting_run;
	if (run != nullptr && run->wait_failure_odds_ != 0 &&
	    run->choose_.one_in(run->wait_failure_odds_)) {
		++run->wait_failures_;
		run->note("  wait_cb fails");
		return -EINTR;
	}
	if (run != nullptr)
		run->feed_pipe();
	pollfd readable{fd, POLLIN, 0};
	while (::poll(&readable, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void model_run::completion_trampoline(int result, void *data)
{
	auto *r = static_cast<request *>(data);
	r->run->on_complete(*r, result);
}

void model_run::on_complete(request &r, int result)
{
	++callbacks_run_;
	if (++r.calls > 1)
		return fail("callback of request " + std::to_string(r.id) + " ran twice");
	if (r.key <= 0)
		return fail("callback ran for a submission that had failed");
	r.result = result;
	note("  callback " + std::to_string(r.key) + " " + name_of(r.kind) + ": " +
	     std::to_string(result));
	check_result(r, result);
	update_model(r, result);
	run_follow_up(r);
}

void model_run::check_result(const request &r, int result)
{
	if (on_real_ring())
		return check_uring_result(r, result);
	if (r.delivered) {
		int full = is_sync(r.kind) ? 0 : static_cast<int>(block_size);
		if (int expected = r.rest_on_worker ? full : r.delivered_result; result != expected)
			fail("request " + std::to_string(r.key) + " got " + std::to_string(result) +
			     ", the kernel delivered " + std::to_string(r.delivered_result) +
			     (r.rest_on_worker ? " and a worker the rest" : "") + " for it");
		// io_uring's worker stops a request it had not begun when asked to.
		bool stopped = on_uring() && r.cancel_asked && result == -ECANCELED;
		if (!r.injected && result != full && !stopped)
			fail("the kernel answered " + std::to_string(result) + " to a " +
			     name_of(r.kind));
		return;
	}
	// Never reached the kernel: refused by io_submit, or cancelled while queued.
	if (!is_refusal(result) && result != -ECANCELED)
		fail("request " + std::to_string(r.key) + " never reached the kernel but got " +
		     std::to_string(result));
}

// A request on a regular file of a filesystem with room: the kernel owes it everything, unless a
// cancel stopped it. That cancel may have answered -EINPROGRESS: io_uring's worker stops a
// request it had taken and not begun. Destroy, once wait_cb has failed there, stops the reads of
// the pipe only: requests on the file run to their end.
void model_run::check_uring_result(const request &r, int result)
{
	bool stopped_by_destroy = r.kind == request_kind::pipe_read && destroy_began_at_ &&
				  wait_failed_since(*destroy_began_at_);
	int full = r.kind == request_kind::pipe_read ? static_cast<int>(sector)
		   : is_sync(r.kind)                 ? 0
						     : static_cast<int>(block_size);
	if (result != full && (result != -ECANCELED || !(r.cancel_asked || stopped_by_destroy)))
		fail("request " + std::to_string(r.key) + " (" + name_of(r.kind) + ") got " +
		     std::to_string(result) + (r.cancel_asked ? ", after a cancel" : ""));
}

void model_run::update_model(request &r, int result)
{
	live_.erase(r.key);
	in_flight_.erase(identity_of(r));
	finished_keys_.push_back(r.key);
	if (r.sync_slot >= 0)
		sync_busy_[r.sync_slot] = nullptr;
	if (r.kind == request_kind::pipe_read) {
		--pipe_reads_live_;
		return check_pipe_message(r, result);
	}
	if (r.block < 0)
		return;
	block_state &b = blocks_[r.block];
	b.busy = nullptr;
	if (is_write(r.kind) && (r.delivered || on_real_ring())) {
		// Only a full, genuine result says the write is there; after any other the kernel
		// may have written all of it, part of it or nothing.
		if (result == static_cast<int>(block_size) && !r.injected)
			b.acceptable = {r.tag};
		else
			b.acceptable.push_back(r.tag);
	}
	if (!is_write(r.kind) && result > 0) {
		if (result % static_cast<int>(sector) != 0 || result > static_cast<int>(block_size))
			return fail("a read returned " + std::to_string(result) + " bytes");
		check_sectors(r.data, r.block, static_cast<std::size_t>(result) / sector, "a read");
	}
}

// A pipe read that waits would make every wait for a completion wait for ever: wait_cb first
// writes a message for every read no message is there for yet.
void model_run::feed_pipe()
{
	std::byte message[sector];
	while (!failure_ && static_cast<std::size_t>(pipe_reads_live_) > pipe_unread_.size()) {
		std::uint32_t tag = ++pipe_written_;
		stamp_sector(message, tag, pipe_block, 0);
		if (::write(pipe_[1], message, sector) != static_cast<ssize_t>(sector))
			return fail("cannot write to the pipe: " +
				    std::string(std::strerror(errno)));
		pipe_unread_.insert(tag);
		note("  wait_cb writes pipe message " + std::to_string(tag));
	}
}

// A whole message that was written and not read before (a pipe's writes of up to PIPE_BUF bytes
// are never split).
void model_run::check_pipe_message(const request &r, int result)
{
	if (result != static_cast<int>(sector))
		return;
	auto read = std::find_if(pipe_unread_.begin(), pipe_unread_.end(), [&r](std::uint32_t tag) {
		return sector_holds(r.data, tag, pipe_block, 0);
	});
	if (read == pipe_unread_.end())
		return fail("pipe read " + std::to_string(r.key) +
			    " got no message that was written and not read before");
	pipe_unread_.erase(read);
}

// With no read in flight, the pipe holds the messages no read got: a read stopped by a cancel
// consumed nothing.
void model_run::check_pipe_holds_the_rest()
{
	if (failure_ || pipe_[0] < 0)
		return;
	int bytes = 0;
	if (::ioctl(pipe_[0], FIONREAD, &bytes) != 0)
		return fail("FIONREAD on the pipe failed: " + std::string(std::strerror(errno)));
	if (static_cast<std::size_t>(bytes) != pipe_unread_.size() * sector)
		fail("the pipe holds " + std::to_string(bytes) + " bytes, " +
		     std::to_string(pipe_unread_.size()) + " messages of " +
		     std::to_string(sector) + " were written and not read");
}

void model_run::run_follow_up(request &r)
{
	switch (r.then) {
	case follow_up::none: return;
	case follow_up::submit: return submit_random(true);
	case follow_up::cancel_live: return cancel_live();
	case follow_up::cancel_self: {
		int answer = io_ctx_cancel(&ctx_, r.key);
		note("  callback cancels itself: " + std::to_string(answer));
		if (answer != -ENOENT)
			fail("a callback cancelling its own request got " + std::to_string(answer));
		return;
	}
	}
}

void model_run::on_delivery(const iocb &control, int result, bool injected)
{
	auto it = in_flight_.find({control.aio_lio_opcode, control.aio_fildes,
				   static_cast<long long>(control.u.c.offset)});
	if (it == in_flight_.end())
		return fail("the kernel delivered an event for no request in flight");
	request &r = *it->second;
	if (r.delivered)
		return fail("the kernel delivered two events for request " + std::to_string(r.id));
	r.delivered = true;
	r.delivered_result = result;
	r.injected = injected;
	r.rest_on_worker =
		kaio::testing::random_fault_kernel::rest_moved_by_worker(control, result);
}

model_run::iocb_identity model_run::identity_of(const request &r) const
{
	long long offset = r.block >= 0 ? static_cast<long long>(r.block) * block_size : 0;
	return {opcode_of(r.kind), r.fd, offset};
}

void model_run::check_counters()
{
	if (!live_context_ || failure_)
		return;
	io_ctx_stats stats{};
	if (io_ctx_get_stats(&ctx_, &stats) != 0)
		return fail("io_ctx_get_stats failed");
	if (stats.completed != callbacks_run_)
		return fail("stats say " + std::to_string(stats.completed) + " completed, " +
			    std::to_string(callbacks_run_) + " callbacks ran");
	if (stats.in_kernel + stats.queued > live_.size())
		return fail("stats say " + std::to_string(stats.in_kernel + stats.queued) +
			    " in flight, " + std::to_string(live_.size()) + " callbacks are due");
	if (kernel_)
		check_kernel_counters(stats);
}

// What the fault seam saw the kernel take and hold agrees with the counters.
void model_run::check_kernel_counters(const io_ctx_stats &stats)
{
	if (static_cast<long>(stats.submitted) != kernel_->accepted() - accepted_at_create_)
		return fail("stats say " + std::to_string(stats.submitted) +
			    " submitted, the kernel took " +
			    std::to_string(kernel_->accepted() - accepted_at_create_));
	// Also counted: the rests workers move, some of which may be done already, their callbacks
	// kept for later.
	long on_workers = 0;
	for (const auto &r : requests_)
		on_workers += r->rest_on_worker && r->calls == 0 ? 1 : 0;
	if (auto in_kernel = static_cast<long>(stats.in_kernel);
	    in_kernel < kernel_->outstanding() || in_kernel > kernel_->outstanding() + on_workers)
		return fail("stats say " + std::to_string(stats.in_kernel) +
			    " in the kernel, it has " + std::to_string(kernel_->outstanding()) +
			    " and workers at most " + std::to_string(on_workers));
}

// Every block no request is working on holds what the model allows.
void model_run::check_file()
{
	if (failure_)
		return;
	kaio::aligned_buffer data(blocks * block_size);
	if (::pread(fd_, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
		return fail("cannot read the file back: " + std::string(std::strerror(errno)));
	for (int b = 0; b < blocks && !failure_; ++b) {
		if (blocks_[b].busy == nullptr)
			check_sectors(data.data() + b * block_size, b, sectors_per_block,
				      "the file");
	}
}

void model_run::check_sectors(const std::byte *data, int block, std::size_t count, const char *what)
{
	for (std::size_t s = 0; s < count; ++s) {
		bool held = false;
		for (std::uint32_t tag : blocks_[block].acceptable)
			held = held || sector_holds(data + s * sector, tag,
						    static_cast<std::uint32_t>(block), s);
		if (!held)
			return fail(std::string(what) + ": block " + std::to_string(block) +
				    " sector " + std::to_string(s) + " holds none of the " +
				    std::to_string(blocks_[block].acceptable.size()) +
				    " writes it may hold");
	}
}

void model_run::note(const std::string &action)
{
	recent_.push_back(action);
	if (recent_.size() > 32)
		recent_.pop_front();
}

void model_run::fail(const std::string &what)
{
	if (failure_)
		return;
	std::ostringstream report;
	report << "step " << steps_ << ": " << what << "\ncapacity " << capacity_ << ", flags "
	       << flags_ << ", faults";
	for (std::size_t kind = 0; kind < kaio::testing::fault_kinds; ++kind) {
		if (kernel_ && kernel_->injected(static_cast<fault>(kind)) != 0)
			report << ' ' << kaio::testing::fault_names[kind] << '='
			       << kernel_->injected(static_cast<fault>(kind));
	}
	report << "\nlast actions:";
	for (const std::string &action : recent_)
		report << "\n  " << action;
	failure_ = report.str();
}

} // namespace kaio::model
