#include "engine.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>
#include <utility>

namespace kaio::detail {
namespace {

// io_event.res is an unsigned long holding either a byte count or a negative errno.
int result_of(const io_event &event) { return static_cast<int>(static_cast<long>(event.res)); }

} // namespace

int engine::create(engine_options options, std::unique_ptr<engine> &out)
{
	if (options.capacity < 1 || options.capacity > max_capacity)
		return -EINVAL;
	kernel_aio &kernel = options.kernel != nullptr ? *options.kernel : linux_kernel_aio();
	int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	io_context_t context = nullptr;
	// EAGAIN here means /proc/sys/fs/aio-nr + capacity would exceed /proc/sys/fs/aio-max-nr.
	if (int err = kernel.setup(static_cast<unsigned>(options.capacity), &context); err < 0) {
		::close(fd);
		return err;
	}
	options.kernel = &kernel;
	try {
		out.reset(new engine(std::move(options), context, fd));
	} catch (...) {
		kernel.destroy(context);
		::close(fd);
		throw;
	}
	return 0;
}

engine::engine(engine_options &&options, io_context_t kernel_context, int eventfd)
	: kernel_(*options.kernel), kernel_context_(kernel_context),
	  ring_(options.reap_with_syscall ? nullptr : kernel_.completion_ring(kernel_context)),
	  eventfd_(eventfd),
	  capacity_(options.capacity), defer_submit_(options.defer_submit),
	  submit_early_(options.submit_early),
	  wait_(std::move(options.wait)),
	  slots_(new request_slot[static_cast<std::size_t>(capacity_)]),
	  inline_iov_(new iovec[static_cast<std::size_t>(capacity_) * inline_iovecs]),
	  overflow_iov_(new std::vector<iovec>[static_cast<std::size_t>(capacity_)])
{
	free_slots_.reserve(static_cast<std::size_t>(capacity_));
	for (int index = capacity_ - 1; index >= 0; --index) {
		free_slots_.push_back(index);
		// What every request of the slot shares, set once: completions signal the eventfd
		// and come back with the slot's address.
		iocb &block = slots_[index].control_block;
		io_set_eventfd(&block, eventfd_);
		block.data = &slots_[index];
	}
	queue_.reserve(static_cast<std::size_t>(capacity_));
	completing_.reserve(static_cast<std::size_t>(capacity_));
}

engine::~engine()
{
	drain();
	kernel_.destroy(kernel_context_);
	::close(eventfd_);
}

// --- submission ---------------------------------------------------------------------------

// The direct path of submit(): send the queue now, and give the caller the kernel's refusal of
// its own request, if that is what happens, instead of a callback.
int engine::send_direct(int index, int key)
{
	direct_slot_ = index;
	direct_error_ = 0;
	send_queue();
	direct_slot_ = -1;
	return direct_error_ != 0 ? direct_error_ : key;
}

// A request that could not be prepared gives its slot back at once.
int engine::unclaim(int index, int error) noexcept
{
	request_slot &slot = slots_[index];
	slot.finish_without_kernel(error);
	slot.release().reset();
	free_slots_.push_back(index);
	return error;
}

int engine::wait_for_free_slot()
{
	while (free_slots_.empty()) {
		// Full: run completions (waiting for them if need be) until a slot is free.
		if (int err = process(true); err < 0)
			return err;
	}
	return 0;
}

int engine::prepare_vector(iocb &block, int index, const operation &what) noexcept
{
	iovec *copy = copy_vector(index, what.iov, what.iovcnt);
	if (copy == nullptr)
		return -ENOMEM;
	// u.v's fields lie where u.c's do; nbytes also clears the half that u.v.nr leaves.
	block.u.c.buf = copy;
	block.u.c.nbytes = static_cast<unsigned long>(what.iovcnt);
	block.u.c.offset = what.offset;
	return 0;
}

// The kernel reads the iovec array at io_submit, which may come later than the submission:
// keep our own copy so the caller's array may go at once. Null when memory runs out.
iovec *engine::copy_vector(int index, const iovec *iov, int iovcnt) noexcept
{
	if (iovcnt <= inline_iovecs) {
		iovec *copy = &inline_iov_[static_cast<std::size_t>(index) * inline_iovecs];
		std::copy_n(iov, iovcnt, copy);
		return copy;
	}
	std::vector<iovec> &overflow = overflow_iov_[index];
	try {
		overflow.assign(iov, iov + iovcnt);
	} catch (const std::bad_alloc &) {
		return nullptr;
	}
	return overflow.data();
}

int engine::flush()
{
	return send_queue();
}

// Sends the queue in as few io_submit calls as the kernel allows, in order. Afterwards the queue
// is empty or requests of ours are in the kernel, whose completions will let it be sent later.
int engine::send_queue()
{
	int sent = 0;
	int transient_failures = 0;
	while (!queue_.empty()) {
		++stats_.submit_calls;
		int accepted = kernel_.submit(kernel_context_, static_cast<long>(queue_.size()), queue_.data());
		if (accepted > 0) {
			for (int i = 0; i < accepted; ++i)
				static_cast<request_slot *>(queue_[static_cast<std::size_t>(i)]->data)->sent();
			queue_.erase(queue_.begin(), queue_.begin() + accepted);
			in_kernel_ += static_cast<unsigned>(accepted);
			stats_.submitted += static_cast<unsigned>(accepted);
			sent += accepted;
			transient_failures = 0;
			continue;
		}
		// A partial submit reports the first failure only on the next call, as an error for
		// the request at the head of what is left.
		int error = accepted == 0 ? -EAGAIN : accepted;
		bool transient = error == -EAGAIN || error == -ENOMEM || error == -EINTR;
		if (transient && error != -EINTR && in_kernel_ > 0)
			break; // out of kernel resources: completions will free some
		if (transient && ++transient_failures < transient_retries)
			continue;
		reject_queue_head(error);
		transient_failures = 0;
	}
	return sent;
}

// The kernel refused the request at the head of the queue for good.
void engine::reject_queue_head(int error)
{
	auto *slot = static_cast<request_slot *>(queue_.front()->data);
	queue_.erase(queue_.begin());
	int index = index_of(*slot);
	if (index == direct_slot_) {
		// Its submit() is still running: the error becomes its return value, no callback.
		direct_error_ = unclaim(index, error);
		return;
	}
	slot->finish_without_kernel(error);
	completing_.push_back(index);
	signal_eventfd(); // its callback is due: wake a loop that waits on the fd
}

// --- completion ---------------------------------------------------------------------------

int engine::process(bool may_wait)
{
	send_queue();
	// Drain before reaping, so that a completion after the reap makes the fd readable again and
	// a level-triggered epoll sleeps until then instead of spinning on a spent count.
	if (!may_wait)
		drain_eventfd();
	int ran = run_ready();
	while (ran == 0 && may_wait && in_kernel_ > 0) {
		drain_eventfd(); // before the last look, so a completion after it makes the fd readable
		ran = run_ready();
		if (ran > 0)
			break;
		if (int err = wait_for_completion(); err < 0)
			return err;
		ran = run_ready();
	}
	send_queue(); // what the callbacks submitted
	return ran;
}

int engine::run_ready()
{
	return run_completing() + reap();
}

int engine::run_completing()
{
	int ran = 0;
	while (!completing_.empty()) {
		int index = completing_.front();
		completing_.erase(completing_.begin());
		complete(slots_[index], slots_[index].result);
		++ran;
	}
	return ran;
}

// Reaps what the kernel has finished, without waiting, and runs the callbacks.
int engine::reap()
{
	int ran = 0;
	int interrupted = 0;
	early_batch_ = 1; // a new burst of completions, whose callbacks may submit
	// Callbacks may send requests during the reap that complete at once (tmpfs): take no more
	// than were in the kernel when it began, so that the reap, and process(), come to an end.
	unsigned budget = in_kernel_;
	while (static_cast<unsigned>(ran) < budget) {
		io_event events[reap_batch];
		long want = std::min<long>(reap_batch, budget - static_cast<unsigned>(ran));
		int got = take_events(events, want);
		if (got == -EINTR && ++interrupted < transient_retries)
			continue;
		if (got <= 0)
			break;
		deliver(events, got);
		ran += got;
		if (got < want)
			break;
	}
	return ran;
}

// Runs the callbacks of events taken from the kernel. Callbacks may re-enter process(); the
// events still to run here are ours alone.
void engine::deliver(const io_event *events, int count) noexcept
{
	in_kernel_ -= static_cast<unsigned>(count);
	for (int i = 0; i < count; ++i)
		complete(*static_cast<request_slot *>(events[i].data), result_of(events[i]));
}

// noexcept: a callback that throws ends the program, as a throwing destructor would.
// Without waiting: from the ring when we can read it, else through io_getevents.
int engine::take_events(io_event *events, long want)
{
	if (ring_ != nullptr) {
		int got = reap_ring(*ring_, events, static_cast<int>(want));
		stats_.ring_reaps += got > 0 ? 1 : 0;
		return got;
	}
	timespec no_wait{};
	++stats_.getevents_calls;
	return kernel_.getevents(kernel_context_, 0, want, events, &no_wait);
}

void engine::complete(request_slot &slot, int result) noexcept
{
	if (slot.cancel_outcome != nullptr)
		*slot.cancel_outcome = result;
	completion_callback callback = slot.release();
	free_slots_.push_back(index_of(slot));
	++stats_.completed;
	if (!callback)
		return;
	++callback_depth_;
	callback(result);
	--callback_depth_;
}

int engine::wait_for_completion()
{
	++stats_.waits;
	if (wait_) {
		int rc = wait_(eventfd_);
		return rc < 0 ? rc : 0;
	}
	pollfd readable{eventfd_, POLLIN, 0};
	while (::poll(&readable, 1, -1) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void engine::signal_eventfd()
{
	std::uint64_t one = 1;
	[[maybe_unused]] ssize_t ignored = ::write(eventfd_, &one, sizeof one);
}

void engine::drain_eventfd()
{
	std::uint64_t count = 0;
	++stats_.eventfd_reads;
	// Non-blocking: EAGAIN just means nothing was signalled since the last drain.
	[[maybe_unused]] ssize_t ignored = ::read(eventfd_, &count, sizeof count);
}

// --- cancel -------------------------------------------------------------------------------

int engine::cancel(int key)
{
	request_slot *slot = slot_of_key(key);
	if (slot == nullptr)
		return -ENOENT;
	switch (slot->state) {
	case slot_state::queued:
		queue_.erase(std::find(queue_.begin(), queue_.end(), &slot->control_block));
		slot->finish_without_kernel(-ECANCELED);
		complete(*slot, -ECANCELED);
		// What its callback submitted goes now, as after any callback run outside process().
		if (!defer_submit_ && !in_callback())
			send_queue();
		return 0;
	case slot_state::in_kernel:
		return cancel_in_kernel(*slot);
	case slot_state::completing: // already finished: its callback gets its own result
	case slot_state::free:
		break;
	}
	return -EINPROGRESS;
}

int engine::cancel_in_kernel(request_slot &slot)
{
	if (slot.cancel_outcome != nullptr)
		return -EINPROGRESS; // a cancel of it is already waiting
	io_event stopped{};
	int rc = kernel_.cancel(kernel_context_, &slot.control_block, &stopped);
	// Regular files and block devices have no cancel method: io_cancel answers EINVAL and the
	// request runs to its end. When the kernel does stop one it answers EINPROGRESS and
	// delivers the completion through the ring; kernels before 3.11 answered 0 and handed the
	// event back here instead, posting none.
	if (rc == 0) {
		--in_kernel_;
		int result = result_of(stopped);
		complete(slot, result);
		return result == -ECANCELED ? 0 : -EINPROGRESS;
	}
	if (rc != -EINPROGRESS)
		return -EINPROGRESS;
	constexpr int pending = INT_MIN;
	int outcome = pending;
	// complete() writes the result here and forgets the address; so does the end of this
	// function when no result came, so the slot never keeps it past our return.
#if defined(__GNUC__) && !defined(__clang__) // g++'s warning; clang has no such group
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
	slot.cancel_outcome = &outcome;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
	// Until its event arrives; none will if a reap up the stack already holds it.
	while (outcome == pending && in_kernel_ > 0) {
		if (process(true) < 0)
			break;
	}
	if (outcome == pending)
		slot.cancel_outcome = nullptr; // it completes later, normally
	return outcome == -ECANCELED ? 0 : -EINPROGRESS;
}

// --- destruction --------------------------------------------------------------------------

// Runs until every request has completed and its callback has run. The kernel may write into
// a request's buffer until its completion is reaped, so when wait_cb fails this waits in the
// kernel rather than return early.
void engine::drain()
{
	bool wait_failed = false; // then wait in the kernel instead
	for (;;) {
		send_queue();
		int ran = run_ready();
		if (in_kernel_ == 0 && queue_.empty() && completing_.empty())
			return;
		if (ran > 0)
			continue;
		drain_eventfd();
		if (run_ready() > 0)
			continue;
		if (!wait_failed && wait_for_completion() < 0)
			wait_failed = true;
		if (wait_failed)
			reap_blocking();
	}
}

void engine::reap_blocking()
{
	io_event events[reap_batch];
	++stats_.getevents_calls;
	int got = kernel_.getevents(kernel_context_, 1, std::min<long>(reap_batch, in_kernel_), events,
				    nullptr);
	if (got > 0)
		deliver(events, got);
	// else EINTR: the caller loops
}

// --- keys ---------------------------------------------------------------------------------

request_slot *engine::slot_of_key(int key) noexcept
{
	if (key <= 0)
		return nullptr;
	int index = (key & 0xffff) - 1;
	if (index < 0 || index >= capacity_)
		return nullptr;
	request_slot &slot = slots_[index];
	if (slot.state == slot_state::free || slot.generation != (key >> 16))
		return nullptr;
	return &slot;
}

int engine::index_of(const request_slot &slot) const noexcept
{
	return static_cast<int>(&slot - slots_.get());
}

context_stats engine::stats() const noexcept
{
	context_stats copy = stats_;
	copy.in_kernel = in_kernel_;
	copy.queued = static_cast<unsigned>(queue_.size());
	return copy;
}

} // namespace kaio::detail
