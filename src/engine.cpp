#include "engine.hpp"

#include <linux/fs.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "backend_choice.hpp"
#include "request_kind.hpp"

namespace kaio::detail {
namespace {

// io_event.res is an unsigned long holding either a byte count or a negative errno.
int result_of(const io_event &event)
{
	return static_cast<int>(static_cast<long>(event.res));
}

// Whether AIO signals the eventfd when the request completes (IOCB_FLAG_RESFD, io_set_eventfd).
bool names_eventfd(const iocb &block)
{
	return (block.u.c.flags & 1u) != 0;
}

} // namespace

int engine::create(engine_options options, std::unique_ptr<engine> &out)
{
	if (options.capacity < 1 || options.capacity > max_capacity)
		return -EINVAL;
	if (options.wait_in_getevents && options.wait)
		return -EINVAL; // a wait_cb owns the waiting
	if (options.backend > kaio::backend::automatic)
		return -EINVAL; // a value cast from a number no backend has
	int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	opened_backend opened;
	// EAGAIN here means /proc/sys/fs/aio-nr + capacity would exceed /proc/sys/fs/aio-max-nr.
	if (int err = open_backend(options.backend, static_cast<unsigned>(options.capacity),
				   {options.single_thread, options.direct_only}, options.kernel,
				   opened);
	    err < 0) {
		::close(fd);
		return err;
	}
	kernel_aio &kernel = *opened.kernel;
	if (int err = options.wait_in_getevents ? 0 : kernel.attach_eventfd(opened.context, fd);
	    err < 0) {
		kernel.destroy(opened.context);
		::close(fd);
		return err;
	}
	try {
		out.reset(
			new engine(std::move(options), kernel, opened.context, opened.chosen, fd));
	} catch (...) {
		kernel.destroy(opened.context);
		::close(fd);
		throw;
	}
	return 0;
}

engine::engine(engine_options &&options, kernel_aio &kernel, io_context_t kernel_context,
	       kaio::backend backend, int eventfd)
	: kernel_(kernel), kernel_context_(kernel_context), backend_(backend),
	  ring_(options.reap_with_syscall ? nullptr : kernel_.completion_ring(kernel_context)),
	  eventfd_(eventfd), eventfd_attached_(!options.wait_in_getevents),
	  capacity_(options.capacity), defer_submit_(options.defer_submit),
	  submit_early_(options.submit_early), wait_in_getevents_(options.wait_in_getevents),
	  routes_blocking_files_(backend == kaio::backend::aio && !options.direct_only),
	  one_issuer_(backend == kaio::backend::uring && options.single_thread),
	  wait_(std::move(options.wait)),
	  slots_(new request_slot[static_cast<std::size_t>(capacity_)]),
	  inline_iov_(new iovec[static_cast<std::size_t>(capacity_) * inline_iovecs]),
	  overflow_iov_(new std::vector<iovec>[static_cast<std::size_t>(capacity_)]),
	  free_slots_(static_cast<std::size_t>(capacity_)),
	  queue_(static_cast<std::size_t>(capacity_)),
	  completing_(static_cast<std::size_t>(capacity_)),
	  nowait_reads_(backend == kaio::backend::aio ? RWF_NOWAIT : 0),
	  nowait_writes_(backend == kaio::backend::aio && options.nowait_writes ? RWF_NOWAIT : 0),
	  devices_(kernel), workers_(eventfd)
{
	for (int index = capacity_ - 1; index >= 0; --index) {
		free_slots_.push_back(index);
		// What every request of the slot shares, set once: completions signal the eventfd
		// (from its attachment on) and come back with the slot's address.
		iocb &block = slots_[index].control_block;
		if (eventfd_attached_)
			io_set_eventfd(&block, eventfd_);
		block.data = &slots_[index];
	}
}

engine::~engine()
{
	if (!forked())
		drain();
	// Also when a callback or wait_cb of the drain forked, and this is the child.
	if (forked()) {
		// The kernel context and the requests in it are the parent's, and so are the
		// worker threads, which do not exist in this process. An io_uring ring reached the
		// child as its copies of the ring's fd and mappings: letting go of those leaves the
		// parent's ring as it is, and keeps the child from holding it (and the files and
		// buffers registered with it) for as long as the child lives.
		workers_.abandon_after_fork();
		kernel_.forget_after_fork(kernel_context_);
		::close(eventfd_);
		return;
	}
	if (kernel_lost_ == 0)
		kernel_.destroy(kernel_context_);
	::close(eventfd_);
}

// Frees the slot and runs its callback, with callback_depth_ raised by the caller: deliver()
// raises it once for all the callbacks of its batch. Inline into the delivery loop: it runs once
// per completed request.
[[gnu::always_inline]] inline void engine::finish(request_slot &slot, int result) noexcept
{
	if (slot.cancel_outcome != nullptr) {
		*slot.cancel_outcome = result;
		slot.cancel_outcome = nullptr;
	}
	slot.release();
	free_slots_.push_back(index_of(slot));
	++stats_.completed;
	if (slot.callback)
		slot.callback.call_moved_out(result);
}

// Frees the slot now and keeps its callback for run_deferred() (see deferring_). Where memory for
// that runs out, the callback runs now, nested, as it did before deferring existed.
void engine::defer(request_slot &slot, int result) noexcept
{
	// A cancel waiting for this request answers once its callback has run: run it now.
	if (slot.cancel_outcome != nullptr) {
		finish(slot, result);
		return;
	}
	int key = key_of(index_of(slot)); // the slot's generation changes only when claimed
	try {
		deferred_.push_back({completion_callback(), result, key});
	} catch (const std::bad_alloc &) {
		finish(slot, result);
		return;
	}
	deferred_.back().callback = std::move(slot.callback);
	slot.release();
	free_slots_.push_back(index_of(slot));
}

// deliver() while deferring_: each request's slot is freed now, its callback kept for later.
// Its loop repeats deliver()'s: one loop for both (a template on the choice) cost 6 instructions
// per I/O at depth 1 (697 against 691, bench/count-instructions --n1 10000 --n2 60000).
void engine::defer_batch(delivery &batch, int &ran) noexcept
{
	while (batch.next != batch.end) {
		const io_event &event = *batch.next++;
		auto &slot = *static_cast<request_slot *>(event.data);
		int result = result_of(event);
		if (result < slot.result && retried_without_nowait(slot, result))
			--ran; // not finished: a worker runs it again
		else
			defer(slot, result);
	}
}

// Runs the callbacks deferred_ holds, oldest first, each taken out before it runs; those they
// defer in turn wait for the next call, so that one process() comes to an end.
int engine::run_deferred() noexcept
{
	if (deferring_ > 0)
		return 0;
	std::size_t due = deferred_.size();
	int ran = 0;
	// Not empty: a callback may run a process() of its own, which takes some.
	while (static_cast<std::size_t>(ran) < due && !deferred_.empty()) {
		int result = deferred_.front().result;
		++stats_.completed;
		++ran;
		++callback_depth_;
		{
			// Destroyed within the depth too: see drop_callback().
			completion_callback callback = std::move(deferred_.front().callback);
			deferred_.pop_front();
			if (callback)
				callback(result);
		}
		--callback_depth_;
	}
	return ran;
}

void engine::complete(request_slot &slot, int result) noexcept
{
	if (silent_in_kernel_ > 0) [[unlikely]]
		arm_silent(slot.control_block);
	++callback_depth_;
	if (deferring_ > 0) [[unlikely]]
		defer(slot, result);
	else
		finish(slot, result);
	--callback_depth_;
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

// A request that could not be prepared, or that io_submit refused as the caller's submit() ran,
// gives its slot back at once; its callback never runs.
int engine::unclaim(int index, int error) noexcept
{
	request_slot &slot = slots_[index];
	slot.finish_without_kernel(error);
	slot.release();
	free_slots_.push_back(index);
	drop_callback(slot.callback);
	return error;
}

// A callable's destructor is the caller's code as much as its call: it may drop the last owner
// of the context (a C++ callback capturing a shared_ptr to it keeps it alive until it completes),
// and a context destroyed while its callbacks run leaves the engine to the call that ran them
// (see abandon()). So it too runs within the callback depth.
void engine::drop_callback(completion_callback &callback) noexcept
{
	++callback_depth_;
	callback.reset();
	--callback_depth_;
}

// Submissions from callbacks are gathered and sent together when process() ends; with
// submit_early, the first goes at once and the rest in pairs: the kernel plugs the block layer
// for a batch of more than two, holding the device back until the batch is built, and at depth
// 128 batches that doubled (2, 4, 8, ...) cost 5% of fio's IOPS that pairs do not.
int engine::gather_early(int key)
{
	if (queue_.size() >= early_batch_) {
		send_queue();
		early_batch_ = 2;
	}
	return key;
}

int engine::wait_for_free_slot()
{
	// From a callback, what completes meanwhile has its callback run later (see deferring_).
	int nested = in_callback() ? 1 : 0;
	deferring_ += nested;
	int err = 0;
	while (free_slots_.empty() && err >= 0) {
		// Full: run completions (waiting for them if need be) until a slot is free.
		err = process(true);
	}
	deferring_ -= nested;
	// The wait drained the eventfd, and what it kept for later is due: a loop on the fd must
	// come back for it.
	if (nested != 0 && !deferred_.empty() && eventfd_attached_)
		signal_eventfd();
	return err < 0 ? err : 0;
}

int engine::prepare_vector(iocb &block, int index, const iovec *iov, int iovcnt,
			   long long offset) noexcept
{
	iovec *copy = copy_vector(index, iov, iovcnt);
	if (copy == nullptr)
		return -ENOMEM;
	// u.v's fields lie where u.c's do; nbytes also clears the half that u.v.nr leaves.
	block.u.c.buf = copy;
	block.u.c.nbytes = static_cast<unsigned long>(iovcnt);
	block.u.c.offset = offset;
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
	if (forked())
		return -ECHILD;
	if (foreign_thread()) [[unlikely]]
		return -EEXIST;
	return send_queue();
}

// Another thread's call on a single-issuer ring answers -EEXIST before it touches anything:
// the issuer's queue, its callbacks due, its eventfd's count (which its event loop waits on).
bool engine::foreign_thread() noexcept
{
	return one_issuer_ && kernel_.serves_another_thread(kernel_context_);
}

// Sends the queue in as few io_submit calls as the kernel allows, in order. Afterwards the queue
// is empty or requests of ours are in the kernel, whose completions will let it be sent later.
int engine::send_queue()
{
	if (queue_.empty())
		return 0; // process() sends its queue twice, often empty the first time
	if (forked()) [[unlikely]]
		return -ECHILD; // forked by a callback: the kernel context is the parent's
	if (kernel_lost_ != 0) [[unlikely]] {
		while (!queue_.empty())
			reject_queue_head(kernel_lost_);
		return 0;
	}
	// Sent: to the kernel, or to the worker threads by screen_batch().
	std::uint64_t submitted_before = stats_.submitted;
	if (routes_blocking_files_ || nowait_refused_.any())
		screen_batch();
	int transient_failures = 0;
	while (!queue_.empty()) {
		++stats_.submit_calls;
		int accepted = kernel_.submit(kernel_context_, static_cast<long>(queue_.size()),
					      queue_.data());
		if (accepted > 0) {
			queue_.erase(queue_.begin(), queue_.begin() + accepted);
			in_kernel_ += static_cast<unsigned>(accepted);
			stats_.submitted += static_cast<unsigned>(accepted);
			transient_failures = 0;
			continue;
		}
		// A partial submit reports the first failure only on the next call, as an error for
		// the request at the head of what is left.
		int error = accepted == 0 ? -EAGAIN : accepted;
		if (error == -EOPNOTSUPP && refuses_nowait(*queue_.front()))
			continue; // sent again without the flag
		if (error == -EEXIST) [[unlikely]]
			return refuse_foreign_thread();
		bool transient = error == -EAGAIN || error == -ENOMEM || error == -EINTR;
		if (transient && error != -EINTR && in_kernel_ > 0)
			break; // out of kernel resources: completions will free some
		if (transient && ++transient_failures < transient_retries)
			continue;
		reject_queue_head(error);
		transient_failures = 0;
	}
	return static_cast<int>(stats_.submitted - submitted_before);
}

// A filesystem without RWF_NOWAIT (tmpfs, FUSE) refuses requests that carry it with EOPNOTSUPP:
// stop asking it of that filesystem in that direction, and screen this request, and those queued
// behind it, again: to the kernel without the flag, or to the workers. One refused io_submit per
// filesystem and direction, counted.
bool engine::refuses_nowait(iocb &block) noexcept
{
	if ((block.aio_rw_flags & RWF_NOWAIT) == 0)
		return false;
	if (nowait_refused_.note(block, devices_))
		++stats_.nowait_refusals;
	screen_batch();
	if (!queue_.empty() && queue_.front() == &block) // where statx could not say, too
		block.aio_rw_flags &= ~RWF_NOWAIT;
	return true;
}

// Before io_submit, the requests that would put this thread to sleep in it go to the worker
// threads: those on a file without O_DIRECT (or a pipe, a socket), which kernel AIO runs inside
// io_submit, and those on a filesystem that refused RWF_NOWAIT and does not serve them from
// memory. RWF_NOWAIT comes off those to a filesystem that refused it from memory.
void engine::screen_batch() noexcept
{
	nowait_refusals::batch_screen refused(nowait_refused_, devices_);
	if (!routes_blocking_files_ && !nowait_refused_.sends_to_workers()) {
		// Flags to take off in place (tmpfs), and nothing to take out of the queue.
		for (iocb *block : queue_)
			(void)refused.needs_worker(*block);
		return;
	}
	batch_status_flags flags;
	bool screen_nowait = nowait_refused_.any();
	int last_fd = -1; // no request has a negative fd: validate() refuses it
	bool last_fd_is_direct = true;
	std::size_t kept = 0;
	for (iocb *block : queue_) {
		if (routes_blocking_files_ && block->aio_fildes != last_fd) { // see batch_memo.hpp
			last_fd = block->aio_fildes;
			last_fd_is_direct = opened_direct(flags(last_fd));
		}
		bool blocking =
			!last_fd_is_direct || (screen_nowait && refused.needs_worker(*block));
		if (!blocking)
			queue_[kept++] = block;
		else if (int error = to_worker(*block, 0); error < 0)
			reject(*block, error); // kernel AIO would block on it, for good on a pipe
		else
			++stats_.submitted;
	}
	queue_.truncate(kept);
}

// Hands a request to the worker threads, whose result will count the `done` bytes the kernel
// moved before. 0, or why no worker could take it: no thread could start, no fd was left to
// duplicate (-EMFILE), no memory.
int engine::to_worker(iocb &block, int done) noexcept
{
	if (forked()) [[unlikely]]
		return -ECHILD; // a callback forked: the threads, and their lock, are the parent's
	// Waits for a worker's completion and the kernel's together are on the eventfd.
	if (int err = attach_eventfd(); err < 0)
		return err;
	// A request retried without RWF_NOWAIT is back from the kernel: not one of those an
	// attach just now counted as still in it.
	if (silent_in_kernel_ > 0)
		arm_silent(block);
	block.aio_rw_flags = 0; // a worker's blocking call is the point
	if (int err = workers_.run(&block, done); err < 0)
		return err;
	++in_kernel_;
	++on_workers_;
	++stats_.worker_requests;
	return 0;
}

// The kernel refuses this thread's submissions to an IO_CTX_SINGLE_THREAD ring, not the
// requests: the queue waits for the issuer, less the caller's own direct submission, which
// fails.
int engine::refuse_foreign_thread()
{
	if (direct_slot_ >= 0) {
		iocb *own = &slots_[direct_slot_].control_block;
		queue_.truncate(static_cast<std::size_t>(
			std::remove(queue_.begin(), queue_.end(), own) - queue_.begin()));
		reject(*own, -EEXIST);
	}
	return -EEXIST;
}

// The kernel refused the request at the head of the queue for good.
void engine::reject_queue_head(int error)
{
	iocb &block = *queue_.front();
	queue_.erase(queue_.begin());
	reject(block, error);
}

// A request taken out of the queue ends with `error`.
void engine::reject(iocb &block, int error)
{
	auto *slot = static_cast<request_slot *>(block.data);
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

// Inline: process() calls it up to three times for each wait.
[[gnu::always_inline]] inline int engine::run_ready()
{
	int ran = deferred_.empty() ? 0 : run_deferred();
	return ran + run_completing() + reap() + reap_workers();
}

int engine::process(bool may_wait)
{
	if (forked())
		return -ECHILD;
	if (foreign_thread()) [[unlikely]]
		return -EEXIST;
	send_queue();
	// Drain before reaping, so that a completion after the reap makes the fd readable again and
	// a level-triggered epoll sleeps until then instead of spinning on a spent count.
	if (!may_wait && eventfd_attached_)
		drain_eventfd();
	// Callbacks may also run inside wait_cb, from another caller's process() (a fiber runtime
	// runs one per fiber): those count too, and end the wait as one of ours would.
	std::uint64_t completed_before = stats_.completed;
	reap_error_ = 0;
	int ran = run_ready();
	while (ran == 0 && may_wait && in_kernel_ > 0 && stats_.completed == completed_before) {
		if (reap_error_ < 0)
			return std::exchange(reap_error_, 0); // no reap will end a wait

		// Only the kernel can finish them, or only its wait sees some of them.
		if ((wait_in_getevents_ && on_workers_ == 0) || silent_in_kernel_ > 0) {
			++stats_.waits;
			ran = reap_blocking(); // 0 after EINTR: look again
			continue;
		}
		drain_eventfd(); // before the last look, so a completion after it makes the fd
				 // readable
		ran = run_ready();
		if (ran > 0)
			break;
		if (int err = wait_for_completion(); err < 0)
			return err;
		if (forked()) [[unlikely]]
			return -ECHILD; // wait_cb forked, and this is the child
		ran = run_ready();
	}
	send_queue(); // what the callbacks submitted
	if (forked()) [[unlikely]]
		return -ECHILD; // a callback forked, and this is the child: it ran its copies
	// The fd stays readable while requests that cannot signal it are out (arm_requests()),
	// which wakes a level-triggered loop but not an edge-triggered one: a fresh write does.
	if (!may_wait && silent_in_kernel_ > 0) [[unlikely]]
		signal_eventfd();
	return ran > 0 ? ran : static_cast<int>(stats_.completed - completed_before);
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
	unsigned taken = 0;
	while (taken < budget) {
		io_event events[reap_batch];
		long want = std::min<long>(reap_batch, budget - taken);
		int got = take_events(events, want);
		if (got == -EINTR && ++interrupted < transient_retries)
			continue;
		note_reap_error(got);
		if (got <= 0)
			break;
		ran += deliver(events, got);
		taken += static_cast<unsigned>(got);
		if (got < want)
			break;
	}
	return ran;
}

// Runs the callbacks of events taken from the kernel. Callbacks may re-enter process(); the
// events still to run here are ours alone.
int engine::deliver(const io_event *events, int count) noexcept
{
	in_kernel_ -= static_cast<unsigned>(count);
	if (silent_in_kernel_ > 0) [[unlikely]] {
		for (const io_event *event = events; event != events + count; ++event)
			arm_silent(static_cast<request_slot *>(event->data)->control_block);
	}
	int ran = count;
	delivery batch{events, events + count, delivering_};
	delivering_ = &batch;
	++callback_depth_; // once for the batch: nothing of the caller's runs between its callbacks
	if (deferring_ > 0) [[unlikely]]
		defer_batch(batch, ran);
	while (batch.next != batch.end) {
		const io_event &event = *batch.next++;
		auto &slot = *static_cast<request_slot *>(event.data);
		int result = result_of(event);
		if (result < slot.result && retried_without_nowait(slot, result)) [[unlikely]] {
			--ran; // not finished: a worker runs it again
			continue;
		}
		finish(slot, result);
	}
	--callback_depth_;
	if (delivering_ == &batch) [[likely]]
		delivering_ = batch.outer;
	else
		unlink_delivery(batch);
	return ran;
}

// Takes a batch that is not the innermost out of the chain. Fibers of the caller's, parked in
// wait_cb inside callbacks of two deliveries, may resume in another order than they parked: the
// outer delivery then ends first, and must not take the inner one, still running, with it.
void engine::unlink_delivery(const delivery &batch) noexcept
{
	for (delivery *inner = delivering_; inner != nullptr; inner = inner->outer) {
		if (inner->outer == &batch) {
			inner->outer = batch.outer;
			return;
		}
	}
}

// A request that failed, or stopped short, because it carried RWF_NOWAIT runs again (or on),
// without it, on a worker thread; never requeued blindly, which could spin on the same answer.
// -EAGAIN: the kernel would have blocked (an extending write, a lock, a full device queue).
// -EOPNOTSUPP: something under the file cannot honour the flag and says so only now, where
// io_submit would usually have refused it (reported with dm and md devices below the
// filesystem): the filesystem loses the flag in that direction, as after a refusal.
// Short (0 < result < the bytes asked for): the kernel moved what it could without blocking
// (btrfs serves direct I/O not aligned to its sectors through its page cache, and stops at the
// first page not in it). The caller, who never asked for RWF_NOWAIT,
// would take it for the end of the file: a worker moves the rest, unless the read is as short
// as read(2) would have made it.
bool engine::retried_without_nowait(request_slot &slot, int &result) noexcept
{
	iocb &block = slot.control_block;
	if ((block.aio_rw_flags & RWF_NOWAIT) == 0)
		return false;
	if (result > 0)
		return continued_on_worker(block, result);
	if (result != -EAGAIN && result != -EOPNOTSUPP)
		return false;
	if (result == -EOPNOTSUPP && nowait_refused_.note(block, devices_))
		++stats_.nowait_refusals; // before the worker, which may read the block from now on
	if (int error = to_worker(block, 0); error < 0) {
		// Why no worker could run it, rather than an -EAGAIN the caller never asked for.
		result = error;
		return false;
	}
	if (result == -EAGAIN)
		++stats_.nowait_retries;
	return true;
}

bool engine::continued_on_worker(iocb &block, int done) noexcept
{
	if (is_read(block) && short_read_is_final(block, done))
		return false; // as a read without the flag would have ended
	// Before the worker may start on it. Should none take it, the request is over anyway: the
	// next one's prepare() sets every field this changes.
	skip_bytes_done(block, done);
	if (to_worker(block, done) < 0)
		return false; // the caller gets the short count, as where the rest fails
	++stats_.nowait_retries;
	return true;
}

// Whether a read cut short is what a read without the flag gives too: it stopped at the end of
// its file or device, or its file is neither (a pipe opened O_DIRECT, whose reads return one
// packet, as read(2) does: a worker would wait for the next one and join them). Asked through
// the fd number, which a worker would read through too.
bool engine::short_read_is_final(const iocb &block, int done) noexcept
{
	struct statx status {};
	if (kernel_.statx(block.aio_fildes, STATX_TYPE | STATX_SIZE, &status) != 0)
		return false;
	auto end = static_cast<long long>(status.stx_size);
	std::uint64_t device_size = 0;
	if (S_ISBLK(status.stx_mode)) {
		if (::ioctl(block.aio_fildes, BLKGETSIZE64, &device_size) != 0)
			return false;
		end = static_cast<long long>(device_size);
	} else if (!S_ISREG(status.stx_mode)) {
		return true;
	}
	return block.u.c.offset + done >= end;
}

// Makes `block` the part of its request after its first `done` bytes. A vector's iovecs are
// the library's copy (copy_vector), never the caller's.
void engine::skip_bytes_done(iocb &block, int done) noexcept
{
	block.u.c.offset += done;
	if (has_one_buffer(block)) {
		block.u.c.buf = static_cast<std::byte *>(block.u.c.buf) + done;
		block.u.c.nbytes -= static_cast<unsigned long>(done);
		return;
	}
	auto *iov = static_cast<iovec *>(block.u.c.buf);
	unsigned long count = block.u.c.nbytes;
	auto left = static_cast<std::size_t>(done);
	for (; left >= iov->iov_len; ++iov, --count) // ends: done is less than the total
		left -= iov->iov_len;
	iov->iov_base = static_cast<std::byte *>(iov->iov_base) + left;
	iov->iov_len -= left;
	block.u.c.buf = iov;
	block.u.c.nbytes = count;
}

// Events of requests the worker threads finished, delivered as the kernel's are.
int engine::reap_workers()
{
	if (on_workers_ == 0)
		return 0;
	int ran = 0;
	io_event events[reap_batch];
	// Callbacks may hand requests to the workers that end before the next look (at once with
	// IO_CTX_SUBMIT_EARLY): take no more than were out when it began, as reap() does, so that
	// process() comes to an end. Those left signalled the eventfd as they ended, after the
	// drain that began this call.
	unsigned budget = on_workers_;
	unsigned taken = 0;
	// Forked by a callback, of the batch before too: in the child the threads, and their lock,
	// are the parent's.
	while (taken < budget && !forked()) {
		auto want = static_cast<int>(std::min<unsigned>(reap_batch, budget - taken));
		int got = workers_.take(events, want);
		if (got <= 0)
			break;
		on_workers_ -= static_cast<unsigned>(got);
		taken += static_cast<unsigned>(got);
		ran += deliver(events, got);
	}
	return ran;
}

// Waits in poll(2) until a worker has finished one of ours, and runs the callbacks of what they
// finished. The eventfd is drained first: left readable by a completion already taken, poll
// would return at once, again and again, while the rest ran on.
int engine::wait_for_workers()
{
	drain_eventfd();
	if (int ran = reap_workers(); ran > 0)
		return ran;
	poll_eventfd();
	return reap_workers();
}

// noexcept: a callback that throws ends the program, as a throwing destructor would.
// Without waiting: from the ring when we can read it (AIO's, or the backend's own), else
// through io_getevents.
int engine::take_events(io_event *events, long want)
{
	// A child forked by a callback shares the parent's completion ring: what it took, the
	// parent would never see.
	if (forked()) [[unlikely]]
		return -ECHILD;
	if (ring_ != nullptr) {
		int got = reap_ring(*ring_, events, static_cast<int>(want));
		if (got >= 0) [[likely]] {
			stats_.ring_reaps += got > 0 ? 1 : 0;
			return got;
		}
		ring_ = nullptr; // io_getevents takes its indices modulo its size, and puts them
				 // right
	}
	if (int got = kernel_.peek(kernel_context_, events, static_cast<int>(want));
	    got != -ENOSYS) {
		stats_.ring_reaps += got > 0 ? 1 : 0;
		return got;
	}
	timespec no_wait{};
	++stats_.getevents_calls;
	return kernel_.getevents(kernel_context_, 0, want, events, &no_wait);
}

int engine::eventfd() noexcept
{
	if (forked())
		return -ECHILD;
	if (int err = attach_eventfd(); err < 0)
		return err;
	return eventfd_;
}

int engine::attach_eventfd() noexcept
{
	if (eventfd_attached_) [[likely]]
		return 0;
	if (int err = kernel_.attach_eventfd(kernel_context_, eventfd_); err < 0)
		return err;
	eventfd_attached_ = true;
	if (backend_ == kaio::backend::aio)
		arm_requests();
	// What finished before signalled nothing, and io_uring may signal only when its list of
	// pending completions was empty: a first reap, which this wake-up asks for, empties it.
	// Callbacks kept for later (see deferring_) are due too.
	if (in_kernel_ > 0 || !completing_.empty() || !deferred_.empty())
		signal_eventfd();
	return 0;
}

// AIO: every request from now on names the eventfd. Those in the kernel already do not, and
// will not signal it: until they are all back, drain_eventfd() leaves it readable, so that a
// loop watching it keeps reaping instead of sleeping through their completions. From here on,
// a slot whose block does not name the eventfd is one of them, and is counted once.
void engine::arm_requests() noexcept
{
	for (iocb *queued : queue_)
		io_set_eventfd(queued, eventfd_);
	// Reaped, their callbacks still to run in a deliver() up the stack: no longer in the
	// kernel, though still pending. Counted, they would stay counted once their slots were
	// freed.
	for (const delivery *batch = delivering_; batch != nullptr; batch = batch->outer) {
		for (const io_event *event = batch->next; event != batch->end; ++event)
			io_set_eventfd(&static_cast<request_slot *>(event->data)->control_block,
				       eventfd_);
	}
	for (int index = 0; index < capacity_; ++index) {
		iocb &block = slots_[index].control_block;
		if (names_eventfd(block))
			continue;
		if (slots_[index].state == slot_state::pending)
			++silent_in_kernel_;
		else
			io_set_eventfd(&block, eventfd_);
	}
}

// A request that was in the kernel when the eventfd was attached has come back, or one that
// was not is finishing: only the first kind counts.
void engine::arm_silent(iocb &block) noexcept
{
	if (names_eventfd(block))
		return;
	io_set_eventfd(&block, eventfd_);
	--silent_in_kernel_;
}

// noexcept: a wait callable that throws ends the program, as a callback that throws does. An
// exception out of a wait would leave a cancel's outcome pointer, a delivery up the stack and the
// callback depth behind it.
int engine::wait_for_completion() noexcept
{
	++stats_.waits;
	if (wait_) {
		++waits_running_;
		int rc = wait_(eventfd_);
		--waits_running_;
		return rc < 0 ? rc : 0;
	}
	return poll_eventfd();
}

int engine::poll_eventfd()
{
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
	if (silent_in_kernel_ > 0 || forked())
		return; // see arm_requests(); a fork child shares the parent's eventfd
	std::uint64_t count = 0;
	++stats_.eventfd_reads;
	// Non-blocking: EAGAIN just means nothing was signalled since the last drain.
	[[maybe_unused]] ssize_t ignored = ::read(eventfd_, &count, sizeof count);
}

// --- cancel -------------------------------------------------------------------------------

int engine::cancel(int key)
{
	if (forked())
		return -ECHILD;
	if (foreign_thread()) [[unlikely]]
		return -EEXIST;
	request_slot *slot = slot_of_key(key);
	if (slot == nullptr) {
		auto deferred =
			std::find_if(deferred_.begin(), deferred_.end(),
				     [key](const deferred_callback &d) { return d.key == key; });
		return deferred == deferred_.end() ? -ENOENT : -EINPROGRESS; // its callback is due
	}
	switch (slot->state) {
	case slot_state::pending: {
		auto queued = std::find(queue_.begin(), queue_.end(), &slot->control_block);
		if (queued == queue_.end())
			return cancel_in_kernel(*slot);
		queue_.erase(queued);
		slot->finish_without_kernel(-ECANCELED);
		int outcome = 0;
		await_cancel(*slot, outcome);
		complete(*slot, -ECANCELED);
		// What its callback submitted goes now, as after any callback run outside
		// process().
		if (!defer_submit_ && !in_callback())
			send_queue();
		return 0;
	}
	case slot_state::completing: // already finished: its callback gets its own result
	case slot_state::free: break;
	}
	return -EINPROGRESS;
}

int engine::cancel_in_kernel(request_slot &slot)
{
	if (reaped_up_the_stack(slot))
		return -EINPROGRESS; // finished: its callback runs when that deliver() gets to it
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
		int outcome = 0;
		await_cancel(slot, outcome);
		complete(slot, result);
		return result == -ECANCELED ? 0 : -EINPROGRESS;
	}
	if (rc != -EINPROGRESS)
		return -EINPROGRESS;
	constexpr int pending = INT_MIN;
	int outcome = pending;
	// The end of this function forgets the address too when no result came, so the slot never
	// keeps it past our return.
	await_cancel(slot, outcome);
	// Until its event arrives; none will if a reap up the stack already holds it.
	while (outcome == pending && in_kernel_ > 0) {
		if (process(true) < 0)
			break;
	}
	if (outcome == pending)
		slot.cancel_outcome = nullptr; // it completes later, normally
	if (forked()) [[unlikely]]
		return -ECHILD; // a callback run in the wait forked, and this is the child
	return outcome == -ECANCELED ? 0 : -EINPROGRESS;
}

// The slot's completion writes its result to `outcome` and forgets the address, and runs its
// callback at once, even while others are deferred (see defer()): a cancel that answers 0 has
// run the callback.
void engine::await_cancel(request_slot &slot, int &outcome) noexcept
{
	slot.cancel_outcome = &outcome;
}

bool engine::reaped_up_the_stack(const request_slot &slot) const noexcept
{
	for (const delivery *batch = delivering_; batch != nullptr; batch = batch->outer) {
		for (const io_event *event = batch->next; event != batch->end; ++event) {
			if (event->data == &slot)
				return true;
		}
	}
	return false;
}

// --- destruction --------------------------------------------------------------------------

// Runs until every request has completed and its callback has run. The kernel may write into
// a request's buffer until its completion is reaped, so when wait_cb fails this waits in the
// kernel rather than return early; on io_uring it first stops the requests that could wait
// there for ever.
void engine::drain()
{
	bool wait_failed = false; // then wait in the kernel instead
	std::uint64_t sent_when_stopped = 0;
	bool ask_again = false; // a request to stop was running: it may wait now
	for (;;) {
		// Only the ring's own thread may send them (IO_CTX_SINGLE_THREAD): they end with
		// the -EEXIST any call of this thread gets, rather than wait for ever.
		if (foreign_thread()) [[unlikely]] {
			while (!queue_.empty())
				reject_queue_head(-EEXIST);
		}
		send_queue();
		reap_error_ = 0; // only this round's reap counts: an old error may have passed
		int ran = run_ready();
		if (forked()) [[unlikely]]
			return; // a callback or wait_cb forked: the requests are the parent's
		if (in_kernel_ == 0 && queue_.empty() && completing_.empty() && deferred_.empty())
			return;
		if (ran > 0)
			continue;
		if (reap_error_ < 0 && backend_ == kaio::backend::aio) {
			abandon_kernel(reap_error_);
			continue;
		}
		// Again whenever callbacks sent more since, or one was running when asked.
		if (wait_failed && (stats_.submitted != sent_when_stopped || ask_again)) {
			sent_when_stopped = stats_.submitted;
			ask_again = stop_waiting_requests();
		}
		if (wait_failed || !eventfd_attached_ || silent_in_kernel_ > 0) {
			// Only the kernel's own wait sees them all; not for ever while one to stop
			// may still have to be asked again.
			reap_blocking(ask_again ? &stop_again_after : nullptr);
			continue;
		}
		drain_eventfd();
		if (run_ready() > 0)
			continue;
		if (wait_for_completion() < 0)
			wait_failed = true;
	}
}

// In the kernel (or on a worker): pending, and no longer in the queue.
bool engine::sent(const request_slot &slot) const noexcept
{
	return slot.state == slot_state::pending &&
	       std::find(queue_.begin(), queue_.end(), &slot.control_block) == queue_.end();
}

// io_uring can stop a request that waits (a read from an idle pipe or socket), which nothing
// but data would otherwise end: each such callback gets -ECANCELED. A request on a regular file
// or a block device ends of itself and runs to its end: stopped while it waited for an io-wq
// worker (writes to one file queue there one behind the other), it would fail for nothing.
//
// True when one was running on an io-wq worker as it was asked (-EALREADY), or the SQ had no room
// for the question (-EAGAIN): a worker whose read would block arms a poll and returns, and the
// request then waits, until asked again.
bool engine::stop_waiting_requests() noexcept
{
	if (backend_ != kaio::backend::uring)
		return false;
	bool ask_again = false;
	for (int index = 0; index < capacity_; ++index) {
		request_slot &slot = slots_[index];
		if (!sent(slot) || ends_of_itself(slot.control_block.aio_fildes))
			continue;
		io_event unused{};
		int answer = kernel_.cancel(kernel_context_, &slot.control_block, &unused);
		ask_again = ask_again || answer == -EALREADY || answer == -EAGAIN;
	}
	return ask_again;
}

// Whether a request on `fd` ends without anything from outside: on a regular file or a block
// device. False when statx cannot say (the fd closed since), so that it is stopped rather than
// waited for.
bool engine::ends_of_itself(int fd) noexcept
{
	struct statx status; // statx fills it
	if (kernel_.statx(fd, STATX_TYPE, &status) != 0)
		return false;
	return S_ISREG(status.stx_mode) || S_ISBLK(status.stx_mode);
}

// io_getevents fails for good (a seccomp filter, say) where the completion ring cannot be read:
// no completion will ever be reaped, and destroy would wait for them forever. io_destroy returns
// only once every request of the context has ended in the kernel (Linux waits so that none
// touches a buffer afterwards), so the requests in it are over, and each gets `error` as its
// result: what the kernel answered is lost. Not for io_uring, whose teardown does not wait.
void engine::abandon_kernel(int error)
{
	// The workers finish theirs, delivered as usual.
	while (on_workers_ > 0 && !forked())
		wait_for_workers();
	if (forked()) [[unlikely]]
		return; // a callback forked: the workers, and the kernel context, are the parent's
	kernel_.destroy(kernel_context_);
	kernel_lost_ = error;
	for (int index = 0; index < capacity_; ++index) {
		request_slot &slot = slots_[index];
		if (!sent(slot))
			continue;
		slot.finish_without_kernel(error);
		completing_.push_back(index);
		--in_kernel_;
	}
}

// Waits in io_getevents for at least one completion and runs what it reaped; returns how many.
int engine::reap_blocking(const timespec *limit)
{
	if (forked()) [[unlikely]] { // by wait_cb, or a callback
		note_reap_error(-ECHILD);
		return 0;
	}
	if (in_kernel_ == on_workers_) // only the workers can finish what is left
		return wait_for_workers();
	io_event events[reap_batch];
	++stats_.getevents_calls;
	// The seam's getevents takes a writable timespec, as io_getevents does; it is not changed.
	timespec wait_limit = limit != nullptr ? *limit : timespec{};
	int got = kernel_.getevents(kernel_context_, 1, std::min<long>(reap_batch, in_kernel_),
				    events, limit != nullptr ? &wait_limit : nullptr);
	note_reap_error(got);
	if (got <= 0)
		return 0; // EINTR: the caller looks again
	return deliver(events, got);
}

// io_getevents failing for good (EPERM under a seccomp filter, EFAULT, EINVAL) would leave
// process() waiting on an eventfd that no reap will ever drain: keep it for process() to return.
// EINTR and EAGAIN only mean "not now".
void engine::note_reap_error(int got) noexcept
{
	if (got < 0 && got != -EINTR && got != -EAGAIN)
		reap_error_ = got;
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
	if (forked())
		return {}; // the parent's counters, which the child does not share
	context_stats copy = stats_;
	copy.in_kernel = in_kernel_;
	copy.queued = static_cast<unsigned>(queue_.size());
	copy.fixed_buffer_requests = kernel_.fixed_buffer_requests(kernel_context_);
	copy.worker_requests += kernel_.async_requests(kernel_context_);
	return copy;
}

// --- registration -------------------------------------------------------------------------
// Only with nothing in flight (-EBUSY): io_uring may make the replacement of a set wait, inside
// the kernel, for the requests that still use the old one, and kaio never sleeps there on its own.

int engine::register_buffers(const iovec *buffers, int count)
{
	if (forked())
		return -ECHILD;
	if (count < 0 || (count > 0 && buffers == nullptr))
		return -EINVAL;
	if (in_kernel_ > 0)
		return -EBUSY;
	return kernel_.register_buffers(kernel_context_, buffers, count);
}

int engine::register_files(const int *fds, int count)
{
	if (forked())
		return -ECHILD;
	if (count < 0 || (count > 0 && fds == nullptr))
		return -EINVAL;
	for (int k = 0; k < count; ++k) {
		if (fds[k] < 0)
			return -EBADF;
	}
	if (in_kernel_ > 0)
		return -EBUSY;
	if (int err = kernel_.register_files(kernel_context_, fds, count); err != 0)
		return err;
	// Only RWF_NOWAIT needs to know where a file lives, and only AIO sends it.
	return nowait_reads_ != 0 ? devices_.register_files(fds, count) : 0;
}

} // namespace kaio::detail
