#include "uring_backend.hpp"

#include <liburing.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <new>
#include <vector>

#include "daemon_files.hpp"
#include "file_status_flags.hpp"
#include "registered_buffers.hpp"
#include "request_kind.hpp"

namespace kaio::detail {
namespace {

// A request's user_data is its iocb's address, which is aligned: an odd user_data is none of the
// engine's requests, but one of our cancels (tagged by its number, cancel_tag()) or a timeout
// liburing adds to waits on kernels without IORING_FEAT_EXT_ARG (all ones). Their CQEs are
// consumed here, never delivered.
std::uint64_t cancel_tag(std::uint64_t number)
{
	return number << 1 | 1;
}

bool is_request(const io_uring_cqe &cqe)
{
	return (cqe.user_data & 1) == 0;
}

// CQEs looked at per peek: room on the stack.
constexpr unsigned peek_batch = 64;

// What an io_context_t handed out by this backend points to.
struct uring_context {
	io_uring ring{};
	registered_buffers buffers;
	// What registration says of an fd: its index in the kernel's table (-1: not registered),
	// whether a FUSE daemon serves its file, and whether it was opened with O_DSYNC or O_SYNC
	// (file_status_flags.hpp), asked once then.
	struct registered_file {
		int index = -1;
		bool on_daemon = false;
		bool opened_sync = false;
	};
	std::vector<registered_file> files; // by fd
	daemon_devices devices;
	std::uint64_t fixed_buffer_requests = 0;
	std::uint64_t async_requests = 0; // sent with IOSQE_ASYNC
	// Each cancel has a tag of its own: one of a request before, in the same slot, is still in
	// the CQ until a reap takes it, and must not be taken for this one's answer.
	std::uint64_t cancels_sent = 0;
	// Requests the kernel would not stop, with that answer: a cancel repeated meanwhile gets it
	// again without posting another CQE, so that repeats cannot fill the CQ (which has room for
	// one cancel per request). -ENOENT (done, or in the block layer) holds until the request's
	// completion is taken; -EALREADY (an io-wq worker was running it, or no answer seen) only
	// until the cancel's own CQE is: the worker may arm a poll a moment later, and the request
	// then wait, which a cancel asked again would stop.
	struct refused_cancel {
		const iocb *request;
		int answer;
		std::uint64_t tag; // of the cancel that got it
	};
	std::vector<refused_cancel> refused_cancels; // room for every request, from setup
	// A single-thread ring starts disabled: the first thread that enables it becomes its only
	// issuer.
	bool enabled = true;
	bool has_issuer = false;
	pthread_t issuer{};

	// The kernel refuses another thread's io_uring_enter (-EEXIST), but not its look at the
	// completion queue, where completions it would wait for never come: they are posted only
	// when the issuer enters the kernel.
	bool foreign_thread() const noexcept
	{
		return has_issuer && pthread_equal(issuer, pthread_self()) == 0;
	}

	// Null for an fd not registered.
	const registered_file *registered(int fd) const noexcept
	{
		if (fd < 0 || static_cast<std::size_t>(fd) >= files.size())
			return nullptr;
		const registered_file &file = files[static_cast<std::size_t>(fd)];
		return file.index >= 0 ? &file : nullptr;
	}
};

// What one batch asks of its descriptors, each once.
struct batch_answers {
	daemon_files daemon;
	batch_status_flags flags;
};

uring_context &context_of(io_context_t context)
{
	return *reinterpret_cast<uring_context *>(context);
}

class linux_uring final : public kernel_aio {
public:
	linux_uring(bool single_thread, bool direct_only) noexcept
		: single_thread_(single_thread), direct_only_(direct_only)
	{}

	kaio::backend backend() const noexcept override { return kaio::backend::uring; }

	// The CQ holds a completion for every request of a full context and one for a cancel of
	// each; the SQ as many requests as one io_submit would take. Cancels repeated before a
	// reap, or a context over 32768 (the CQ stops at 65536), can post more: the kernel keeps
	// those on its overflow list (IORING_FEAT_NODROP, Linux 5.5), which peeks flush.
	int setup(unsigned max_events, io_context_t *context) override
	{
		auto *created = new (std::nothrow) uring_context;
		if (created == nullptr)
			return -ENOMEM;
		try {
			created->refused_cancels.reserve(max_events);
		} catch (const std::bad_alloc &) {
			delete created;
			return -ENOMEM;
		}
		// Each kernel refuses with -EINVAL the flags it does not know: try the next ones.
		int err = single_thread_ ? create_ring(max_events, created->ring, single_issuer)
					 : -EINVAL;
		created->enabled = err != 0; // a single-issuer ring starts disabled
		if (err == -EINVAL)
			err = create_ring(max_events, created->ring, cooperative);
		if (err == -EINVAL)
			err = create_ring(max_events, created->ring, 0);
		if (err < 0) {
			delete created;
			return err;
		}
		if (err = refused_use(created->ring); err < 0) {
			io_uring_queue_exit(&created->ring);
			delete created;
			return err;
		}
		*context = reinterpret_cast<io_context_t>(created);
		return 0;
	}

	// The kernel takes a ring down on a worker of its own, some milliseconds after the last
	// close: the buffers registered with it would stay pinned until then, counted against
	// RLIMIT_MEMLOCK (a loop that creates a context and registers the same buffers failed 194
	// times in 200), and its files open (a pipe's reader saw no end of file once the writer
	// closed its end). They go first, at once: nothing is in flight any more.
	int destroy(io_context_t context) override
	{
		uring_context &owned = context_of(context);
		if (!owned.buffers.empty())
			io_uring_unregister_buffers(&owned.ring);
		if (!owned.files.empty())
			io_uring_unregister_files(&owned.ring);
		forget_after_fork(context);
		return 0;
	}

	// Closing the child's copy of the ring's fd and unmapping its copies of the rings leaves
	// the parent's ring as it is.
	void forget_after_fork(io_context_t context) override
	{
		uring_context *owned = &context_of(context);
		io_uring_queue_exit(&owned->ring);
		delete owned;
	}

	int submit(io_context_t context, long count, iocb **requests) override
	{
		uring_context &uring = context_of(context);
		if (int err = enable(uring); err < 0)
			return err;
		batch_answers answers{daemon_files(*this, uring.devices), {}};
		long prepared = 0;
		for (; prepared < count; ++prepared) {
			io_uring_sqe *sqe = io_uring_get_sqe(&uring.ring);
			if (sqe == nullptr)
				break; // SQ full: a partial submit, as io_submit may make
			prepare(uring, *sqe, *requests[prepared], answers);
		}
		int sent = io_uring_submit(&uring.ring);
		forget_unsent(uring.ring);
		uncount_unsent(uring, requests + std::max(sent, 0), requests + prepared, answers);
		return sent == 0 && prepared > 0 ? -EAGAIN : sent;
	}

	int getevents(io_context_t context, long min_count, long max_count, io_event *events,
		      timespec *timeout) override
	{
		uring_context &uring = context_of(context);
		if (int err = enable(uring); err < 0)
			return err;
		int max = static_cast<int>(max_count);
		int got = take(uring, events, max);
		while (got < min_count) {
			io_uring_cqe *ready = nullptr;
			auto missing = static_cast<unsigned>(min_count - got);
			int rc;
			if (timeout == nullptr) {
				rc = io_uring_wait_cqe_nr(&uring.ring, &ready, missing);
			} else {
				__kernel_timespec limit{timeout->tv_sec, timeout->tv_nsec};
				rc = io_uring_wait_cqes(&uring.ring, &ready, missing, &limit,
							nullptr);
			}
			if (rc < 0)
				return got > 0 || rc == -ETIME ? got : rc;
			got += take(uring, events + got, max - got);
		}
		return got;
	}

	// Asks the kernel to stop the request. -EINPROGRESS: stopped, and its own CQE
	// (-ECANCELED) follows, which the engine waits for. Otherwise the kernel would not stop it,
	// and the engine does not wait: -ENOENT (direct I/O in the block layer, or done already),
	// -EALREADY (running on an io-wq worker, which cannot be interrupted; or no answer seen).
	int cancel(io_context_t context, iocb *request, io_event * /*result*/) override
	{
		uring_context &uring = context_of(context);
		if (int err = enable(uring); err < 0)
			return err;
		auto refused =
			std::find_if(uring.refused_cancels.begin(), uring.refused_cancels.end(),
				     [request](const uring_context::refused_cancel &known) {
					     return known.request == request;
				     });
		if (refused != uring.refused_cancels.end())
			return refused->answer;
		io_uring_sqe *sqe = io_uring_get_sqe(&uring.ring);
		if (sqe == nullptr)
			return -EAGAIN;
		std::uint64_t tag = cancel_tag(++uring.cancels_sent);
		io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(request), 0);
		io_uring_sqe_set_data64(sqe, tag);
		int sent = io_uring_submit(&uring.ring);
		forget_unsent(uring.ring);
		if (sent != 1)
			return sent < 0 ? sent : -EAGAIN;
		int answer = answer_to_cancel(uring.ring, tag);
		if (answer == 0)
			return -EINPROGRESS;
		answer = answer == -ENOENT ? -ENOENT : -EALREADY;
		uring.refused_cancels.push_back({request, answer, tag}); // has room: see setup
		return answer;
	}

	int attach_eventfd(io_context_t context, int fd) override
	{
		return io_uring_register_eventfd(&context_of(context).ring, fd);
	}

	int peek(io_context_t context, io_event *events, int max) override
	{
		uring_context &uring = context_of(context);
		if (uring.foreign_thread()) [[unlikely]]
			return -EEXIST;
		return uring.enabled ? take(uring, events, max) : 0; // nothing sent yet
	}

	int register_buffers(io_context_t context, const iovec *buffers, int count) override
	{
		uring_context &uring = context_of(context);
		if (!uring.buffers.empty()) {
			if (int err = io_uring_unregister_buffers(&uring.ring); err < 0)
				return err;
			uring.buffers.clear();
		}
		if (count == 0)
			return 0;
		registered_buffers copy;
		if (int err = copy.assign(buffers, count); err < 0)
			return err;
		if (int err = io_uring_register_buffers(&uring.ring, buffers,
							static_cast<unsigned>(count));
		    err < 0)
			return err;
		uring.buffers = std::move(copy);
		return 0;
	}

	int register_files(io_context_t context, const int *fds, int count) override
	{
		uring_context &uring = context_of(context);
		if (!uring.files.empty()) {
			if (int err = io_uring_unregister_files(&uring.ring); err < 0)
				return err;
			uring.files.clear();
		}
		if (count == 0)
			return 0;
		// The kernel first: it refuses a descriptor that is not open (-EBADF), so the table
		// is never larger than the process's highest open descriptor (a number such as
		// INT_MAX would otherwise size it at 8 GiB).
		if (int err =
			    io_uring_register_files(&uring.ring, fds, static_cast<unsigned>(count));
		    err < 0)
			return err;
		std::vector<uring_context::registered_file> files;
		try {
			files.resize(static_cast<std::size_t>(*std::max_element(fds, fds + count)) +
				     1);
		} catch (const std::bad_alloc &) {
			io_uring_unregister_files(&uring.ring);
			return -ENOMEM;
		}
		for (int k = count - 1; k >= 0; --k) {
			int flags = ::fcntl(fds[k], F_GETFL);
			files[static_cast<std::size_t>(fds[k])] = {
				k, served_by_daemon(fds[k], *this, uring.devices),
				flags < 0 || (flags & O_DSYNC) != 0};
		}
		uring.files = std::move(files);
		return 0;
	}

	bool serves_another_thread(io_context_t context) override
	{
		return context_of(context).foreign_thread();
	}

	std::uint64_t fixed_buffer_requests(io_context_t context) override
	{
		return context_of(context).fixed_buffer_requests;
	}

	std::uint64_t async_requests(io_context_t context) override
	{
		return context_of(context).async_requests;
	}

private:
	// One issuer, and completion work deferred until that thread asks for completions (which
	// liburing's peek does when the kernel flags work pending): no wake-up per completion. The
	// ring starts disabled so that the thread of the first submission, not the creating one,
	// becomes the issuer. Linux 6.1 and later.
	static constexpr unsigned single_issuer =
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED;
	// Without COOP_TASKRUN every completion the kernel finishes outside io_uring_enter (a
	// device interrupt, an io-wq worker) interrupts the thread with an IPI to post its CQE,
	// which cost half the IOPS of 4 KiB reads on tmpfs; with it the CQE is posted at the
	// thread's next system call, and TASKRUN_FLAG tells liburing's peek to make one when work
	// is pending. Linux 5.19 and later.
	static constexpr unsigned cooperative =
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;

	static int create_ring(unsigned max_events, io_uring &ring, unsigned flags)
	{
		io_uring_params params{};
		params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | flags;
		params.cq_entries = 2 * max_events;
		return io_uring_queue_init_params(max_events, &ring, &params);
	}

	// A seccomp filter may let io_uring_setup through and refuse the calls that use the ring,
	// whose every request would then fail: each is made once here, doing nothing (an enter with
	// nothing to submit or wait for, which a disabled ring answers -EBADFD; the unregistering
	// of an eventfd there is none of, -ENXIO). A filter's answer fails the setup, so that
	// `auto` takes AIO instead.
	static int refused_use(const io_uring &ring) noexcept
	{
		auto refusal = [](long rc) {
			return rc < 0 && (errno == EPERM || errno == ENOSYS || errno == EACCES)
				       ? -errno
				       : 0;
		};
		if (int err = refusal(
			    ::syscall(__NR_io_uring_enter, ring.ring_fd, 0, 0, 0, nullptr, 0));
		    err < 0)
			return err;
		return refusal(::syscall(__NR_io_uring_register, ring.ring_fd,
					 IORING_UNREGISTER_EVENTFD, nullptr, 0));
	}

	// Makes the calling thread the issuer of a single-thread ring, on its first use.
	// (liburing 2.3 declares io_uring_enable_rings but its shared library does not export it.)
	static int enable(uring_context &uring) noexcept
	{
		if (uring.enabled) [[likely]]
			return 0;
		if (::syscall(__NR_io_uring_register, uring.ring.ring_fd,
			      IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0)
			return -errno;
		uring.enabled = true;
		uring.has_issuer = true;
		uring.issuer = pthread_self();
		return 0;
	}

	void prepare(uring_context &uring, io_uring_sqe &sqe, iocb &request,
		     batch_answers &answers) const
	{
		int fd = request.aio_fildes;
		void *buffer = request.u.c.buf;
		auto length = static_cast<unsigned>(request.u.c.nbytes);
		auto offset = static_cast<std::uint64_t>(request.u.c.offset);
		switch (request.aio_lio_opcode) {
		case IO_CMD_PREAD:
		case IO_CMD_PWRITE:
			prepare_data(uring, sqe, request.aio_lio_opcode == IO_CMD_PREAD, fd, buffer,
				     length, offset);
			break;
		case IO_CMD_PREADV:
			io_uring_prep_readv(&sqe, fd, static_cast<iovec *>(buffer), length, offset);
			break;
		case IO_CMD_PWRITEV:
			io_uring_prep_writev(&sqe, fd, static_cast<iovec *>(buffer), length,
					     offset);
			break;
		case IO_CMD_FSYNC: io_uring_prep_fsync(&sqe, fd, 0); break;
		case IO_CMD_FDSYNC: io_uring_prep_fsync(&sqe, fd, IORING_FSYNC_DATASYNC); break;
		default: // the engine builds no other: let the kernel refuse it in the CQE
			io_uring_prep_nop(&sqe);
			sqe.opcode = IORING_OP_LAST;
			break;
		}
		const uring_context::registered_file *fixed = uring.registered(fd);
		if (fixed != nullptr) {
			sqe.fd = fixed->index;
			sqe.flags |= IOSQE_FIXED_FILE;
		}
		if (goes_async(uring, request, answers)) {
			sqe.flags |= IOSQE_ASYNC;
			++uring.async_requests;
		}
		io_uring_sqe_set_data(&sqe, &request);
	}

	// Whether a request goes with IOSQE_ASYNC, straight to io_uring's workers, so that
	// io_uring_enter does not wait for it: one on a file a FUSE daemon may serve
	// (daemon_files.hpp), or a write that would sync the page cache (file_status_flags.hpp),
	// unless the context's files are all O_DIRECT (IO_CTX_DIRECT_ONLY). Known since
	// registration, or asked once per descriptor and batch.
	bool goes_async(const uring_context &uring, const iocb &request,
			batch_answers &answers) const noexcept
	{
		int fd = request.aio_fildes;
		const uring_context::registered_file *fixed = uring.registered(fd);
		if (fixed != nullptr ? fixed->on_daemon : answers.daemon.served_by_daemon(fd))
			return true;
		return !direct_only_ && is_write(request) &&
		       (fixed == nullptr || fixed->opened_sync) &&
		       syncs_page_cache(answers.flags(fd));
	}

	static void prepare_data(uring_context &uring, io_uring_sqe &sqe, bool read, int fd,
				 void *buffer, unsigned length, std::uint64_t offset)
	{
		int registered = registered_index(uring, buffer, length);
		if (registered < 0) {
			if (read)
				io_uring_prep_read(&sqe, fd, buffer, length, offset);
			else
				io_uring_prep_write(&sqe, fd, buffer, length, offset);
			return;
		}
		++uring.fixed_buffer_requests;
		if (read)
			io_uring_prep_read_fixed(&sqe, fd, buffer, length, offset, registered);
		else
			io_uring_prep_write_fixed(&sqe, fd, buffer, length, offset, registered);
	}

	// prepare() counted the fixed-buffer and IOSQE_ASYNC requests it built; those the kernel
	// did not take will be counted again when they are sent again, or never sent.
	void uncount_unsent(uring_context &uring, iocb *const *first, iocb *const *end,
			    batch_answers &answers) const
	{
		for (; first < end; ++first) {
			const iocb &request = **first;
			if (!uring.buffers.empty() && has_one_buffer(request) &&
			    registered_index(uring, request.u.c.buf,
					     static_cast<unsigned>(request.u.c.nbytes)) >= 0)
				--uring.fixed_buffer_requests;
			if (goes_async(uring, request, answers))
				--uring.async_requests;
		}
	}

	// The index of the registered buffer that holds all of [buffer, buffer + length), or -1. A
	// request of no bytes moves nothing: it goes plain, even when an empty entry registered
	// (a sparse one, { NULL, 0 }) would hold it, since the kernel fails a fixed one there.
	static int registered_index(const uring_context &uring, const void *buffer,
				    unsigned length) noexcept
	{
		return uring.buffers.empty() || length == 0 ? -1
							    : uring.buffers.holding(buffer, length);
	}

	// Up to `max` request completions, as io_events; our cancels' CQEs are consumed on the way.
	static int take(uring_context &uring, io_event *events, int max)
	{
		int got = 0;
		while (got < max) {
			io_uring_cqe *cqes[peek_batch];
			unsigned seen = io_uring_peek_batch_cqe(
				&uring.ring, cqes,
				std::min<unsigned>(peek_batch, static_cast<unsigned>(max - got)));
			if (seen == 0) {
				if (!work_left(uring.ring) || io_uring_get_events(&uring.ring) < 0)
					break;
				continue;
			}
			for (unsigned i = 0; i < seen; ++i) {
				if (!is_request(*cqes[i])) {
					if (!uring.refused_cancels.empty())
						forget_running_answer(uring, cqes[i]->user_data);
					continue;
				}
				auto *request = static_cast<iocb *>(io_uring_cqe_get_data(cqes[i]));
				if (!uring.refused_cancels.empty())
					forget_refused_cancel(uring, request);
				io_event &event = events[got++];
				event.data = request->data;
				event.obj = request;
				event.res =
					static_cast<unsigned long>(static_cast<long>(cqes[i]->res));
				event.res2 = 0;
			}
			io_uring_cq_advance(&uring.ring, seen);
		}
		return got;
	}

	// Whether the kernel still holds work that this thread's look at the events would turn into
	// CQEs. A peek makes one such look when it finds the CQ empty, but under DEFER_TASKRUN one
	// runs at most 20 items of task work (Linux 6.18) and flags the rest, which signal the
	// eventfd no more: 61 pipe reads woken by one byte each left the read of another pipe,
	// woken after them, unreaped while an event loop slept. Only such a ring's issuer, the
	// caller here, runs its task work; on another ring the flag may stand for a thread that
	// cannot run its own now (stopped, in vfork), and looking again would spin.
	static bool work_left(const io_uring &ring) noexcept
	{
		unsigned flags = IO_URING_READ_ONCE(*ring.sq.kflags);
		if ((flags & IORING_SQ_CQ_OVERFLOW) != 0)
			return true;
		return (flags & IORING_SQ_TASKRUN) != 0 &&
		       (ring.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
	}

	// The CQE of the cancel tagged `tag` is taken: an -EALREADY it answered may not hold now.
	static void forget_running_answer(uring_context &uring, std::uint64_t tag) noexcept
	{
		forget_refused_if(uring, [tag](const uring_context::refused_cancel &known) {
			return known.tag == tag && known.answer == -EALREADY;
		});
	}

	static void forget_refused_cancel(uring_context &uring, const iocb *completed) noexcept
	{
		forget_refused_if(uring, [completed](const uring_context::refused_cancel &known) {
			return known.request == completed;
		});
	}

	// Removes the one answer `matches` (a request has at most one), without keeping order.
	template <class Matches>
	static void forget_refused_if(uring_context &uring, Matches matches) noexcept
	{
		auto &refused = uring.refused_cancels;
		auto found = std::find_if(refused.begin(), refused.end(), matches);
		if (found != refused.end()) {
			*found = refused.back();
			refused.pop_back();
		}
	}

	// The result of the cancel tagged `tag`, read in the CQ without consuming any CQE: those
	// before it are completions for take() to deliver. The kernel answers a cancel within its
	// submit; a CQ full of completions not reaped yet keeps the answer on the kernel's overflow
	// list, which a look at the events (no wait) moves into the CQ as room allows. -EALREADY
	// when no answer can be seen: the request may still be stopped, and its completion will
	// say so, but nothing here waits for it.
	static int answer_to_cancel(io_uring &ring, std::uint64_t tag)
	{
		for (int look = 0; look < 2; ++look) {
			unsigned head;
			io_uring_cqe *cqe;
			io_uring_for_each_cqe(&ring, head, cqe)
			{
				if (cqe->user_data == tag)
					return cqe->res;
			}
			if (!io_uring_cq_has_overflow(&ring) || io_uring_get_events(&ring) < 0)
				break;
		}
		return -EALREADY;
	}

	// io_uring_submit publishes every prepared SQE; those the kernel did not take (it stops at
	// a request it fails to prepare, or takes none when it answers an error) would go with the
	// next submit, after the engine had given them back or resent them. Without SQPOLL nobody
	// else reads the SQ tail, so moving it back withdraws them.
	static void forget_unsent(io_uring &ring)
	{
		unsigned unsent = io_uring_sq_ready(&ring);
		if (unsent == 0)
			return;
		ring.sq.sqe_tail -= unsent;
		ring.sq.sqe_head = ring.sq.sqe_tail;
		io_uring_smp_store_release(ring.sq.ktail, ring.sq.sqe_tail);
	}

	bool single_thread_;
	bool direct_only_; // IO_CTX_DIRECT_ONLY: no write syncs the page cache
};

} // namespace

kernel_aio &linux_kernel_uring(ring_use use) noexcept
{
	static linux_uring backends[2][2] = {{{false, false}, {false, true}},
					     {{true, false}, {true, true}}};
	return backends[use.single_thread ? 1 : 0][use.direct_only ? 1 : 0];
}

} // namespace kaio::detail
