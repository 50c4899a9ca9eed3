/*
 * kaio: asynchronous file I/O over Linux kernel AIO (io_setup/io_submit/io_getevents).
 *
 * The io_ctx API. Usable from C99 and C++.
 *
 * Model: a context holds up to `capacity` requests in flight. Every submission returns a key > 0
 * or a negative errno; for every key returned, the completion callback runs exactly once, from
 * inside io_ctx_process(), io_ctx_poll(), io_ctx_cancel(), a submission that had to wait for a
 * free slot, or io_ctx_destroy(). The library never sleeps in the kernel on its own: whenever it
 * must wait for a completion it calls the user's wait_cb with the context's eventfd.
 *
 * Every function returns >= 0 or a negative errno, which is the only report of an error: errno
 * is not one (the system calls made on the way may leave any value in it). On a context
 * inherited through fork(), every function returns -ECHILD (see fork() below).
 *
 * Lifetimes: a data buffer (and every iov_base buffer) must stay valid and untouched until the
 * request's callback has run. An iovec array is copied at submission and may be freed at once.
 *
 * Threads: one context is used by one thread at a time. Independent contexts share nothing and
 * may be used from different threads at once. Never call io_ctx_destroy() from a callback.
 * On io_uring a request belongs to the thread that submitted it: should that thread exit before
 * the request ends, the kernel stops it (-ECANCELED) or fails it (-EFAULT, for work its own
 * threads had taken), and what those threads finish is posted when the submitting thread next
 * runs, so a thread that hands a context to another should outlive its requests.
 *
 * fork(): a context belongs to the process that created it; the kernel does not give the child
 * the parent's AIO contexts. In the child every io_ctx_* call on a context inherited from the
 * parent returns -ECHILD and touches neither the kernel nor the parent's requests, whose
 * callbacks never run in the child (except in a child forked by a callback or wait_cb that
 * returns into the library: it finishes the callbacks of the batch it was in, and that call
 * then returns -ECHILD; see kaio(7)); io_ctx_destroy() there frees the child's copy of the
 * context's memory (and closes its copy of the eventfd, and of an io_uring ring's fd and
 * mappings) without a system call of AIO and without running callbacks. The parent's context
 * and requests are unaffected. Create new contexts in
 * the child if it needs to do I/O.
 *
 * Requirements: buffer addresses, lengths and offsets multiples of 512 (for O_DIRECT files some
 * devices require their logical block size, usually 4096: io_ctx_dio_alignment() says what an
 * fd requires).
 *
 * Files without O_DIRECT never block the caller either. Kernel AIO would run their requests
 * inside io_submit (the thread sleeping until the page cache or the device answers, or a pipe or
 * socket has data): kaio sends such requests to four worker threads (started with the first of
 * them) that make the blocking pread/pwrite/fsync calls and complete them through the same
 * eventfd and callbacks. It tells them apart by one fcntl(F_GETFL) per descriptor and io_submit
 * call, never cached, since a descriptor can be reused or change its flags. Pipes and sockets
 * are read and written as read(2)/write(2) do, ignoring the offset. Where no worker can take a
 * request (no thread starts, no descriptor is left to duplicate: EMFILE), it fails with that
 * error. A read that waits for data holds its worker meanwhile, and another thread starts so
 * that four stay free for the context's other requests; io_ctx_destroy() waits for such reads
 * (io_cancel cannot stop them): use io_uring for pipes and sockets that may stay idle. A pipe
 * opened with O_DIRECT (packet mode) is taken for a direct file and goes to kernel AIO: a read
 * returns one packet, as read(2) does, but a write to a full one waits inside io_submit.
 * O_DIRECT reads carry RWF_NOWAIT: what the kernel would block on (a lock, dirty page-cache
 * pages over the range, a full device queue) comes back -EAGAIN and is run again on a worker,
 * never requeued blindly. Where the kernel stops part way instead (btrfs, at a page it would
 * have to read into its cache), a worker moves the rest: the callback gets the count a read
 * without the flag would have (short at the end of the file, or where the rest fails). A file
 * system that refuses the flag (io_submit answers EOPNOTSUPP: tmpfs, overlayfs, FUSE on Linux 6.18;
 * ext4, xfs and btrfs take it) is known from then on, in that direction, for the life of the
 * context, and only that file system: the others keep the flag. Without the flag its requests
 * could wait inside io_submit (for a FUSE daemon, for the disk under overlayfs), so they go to the
 * worker threads, except on tmpfs, which the kernel serves from memory: there they go to the
 * kernel without the flag. kaio remembers refusals by device number and mount ID (st_dev; a
 * block device's own, st_rdev) and, once one has come, asks statx (AT_STATX_DONT_SYNC: never the
 * FUSE daemon or NFS server) once per descriptor and io_submit call where each request goes; until
 * then it asks nothing. All three are counted in io_ctx_stats (worker_requests, nowait_retries,
 * nowait_refusals). O_DIRECT writes carry it only with IO_CTX_NOWAIT_WRITES: without it, an ext4
 * append (a write past the end of the file) still keeps the caller inside io_submit until the
 * device has written it, and so does a FUSE write until its daemon has answered. What remains:
 * the kernel may make a submission wait briefly on a lock of its own while a worker writes the
 * same file.
 * On io_uring the kernel hands what would block to its own workers, and none of the above is
 * done, but for files a FUSE daemon serves: they poll as ready, so io_uring would run their
 * requests in the caller's thread, where FUSE's direct I/O waits for the daemon. kaio sends
 * those with IOSQE_ASYNC, straight to io_uring's workers (counted in worker_requests), and
 * those of character devices too, as any may be a CUSE daemon's. To find them it asks statx
 * (AT_STATX_DONT_SYNC) once per descriptor and io_uring_enter call, unless the file is
 * registered, and reads /proc/self/mountinfo for a mount it has not seen. Writes to a file
 * opened with O_DSYNC or O_SYNC and without O_DIRECT go the same way: xfs would sync them in the
 * caller's thread. To find those it asks fcntl(F_GETFL) once per descriptor and io_uring_enter
 * call with writes, unless the context was made with IO_CTX_DIRECT_ONLY or the file was
 * registered without either flag.
 *
 * Files under requests (tests/file_faults_test.cpp shows each):
 * - A read returns the bytes up to end of file, short if need be (even a count that is not a
 *   multiple of 512), and 0 at or beyond it.
 * - Closing an fd: requests the kernel or a worker has taken hold their own reference to the
 *   file and complete normally; requests still queued in the library (IO_CTX_DEFER_SUBMIT) fail
 *   with -EBADF in their callback, or reach whatever file the fd number names by then. So does
 *   a request the kernel gives back -EAGAIN or short under RWF_NOWAIT, which a worker runs
 *   again, or on, through the fd number (closed by then, its callback gets the kernel's answer).
 *   Close an fd once the callbacks of its requests have run (a registered one, see
 *   io_ctx_register_files(), once it is unregistered).
 * - Truncating a file: each read in flight sees the file before the truncation (the full
 *   count, the old data) or after it (a short count or 0).
 */
#ifndef KAIO_IO_CTX_H
#define KAIO_IO_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KAIO_API __attribute__((visibility("default")))
#else
#define KAIO_API
#endif

/* The most requests one context can have in flight. */
#define IO_CTX_MAX_CAPACITY 65535

/* The largest length, or iovec total, of one request: the kernel's MAX_RW_COUNT. */
#define IO_CTX_MAX_IO_BYTES 0x7ffff000L

/* Buffer addresses, lengths and offsets must be multiples of this. */
#define IO_CTX_ALIGNMENT 512

/*
 * An AIO context. Callers allocate it (on the stack, in a struct, ...); its contents are private.
 * Zero it or pass it to io_ctx_create() before any other call. Never copy it: only the struct
 * io_ctx_create() filled in knows when the context is destroyed; a copy then points at freed
 * memory. Creating a context in one that holds a live context leaks the live one.
 */
struct io_ctx {
	void *impl; /* private */
};

/* Options for io_ctx_create_opts(). Zero every field (or use IO_CTX_OPTIONS_INIT) for defaults. */
struct io_ctx_options {
	/* IO_CTX_DEFER_SUBMIT, ... */
	unsigned flags;
	/* IO_CTX_BACKEND_*; 0 (IO_CTX_BACKEND_DEFAULT) when zeroed. */
	unsigned backend;
	/* Must be zero: room for later options without changing the structure's size. */
	unsigned reserved[6];
};

/* clang-format 14 would lay this initialiser out as a block. */
/* clang-format off */
#define IO_CTX_OPTIONS_INIT {0, 0, {0, 0, 0, 0, 0, 0}}
/* clang-format on */

/*
 * Backends: the kernel interface under a context. Every function behaves the same on each,
 * except where its documentation says otherwise (cancel stops more requests on io_uring;
 * registered buffers and files only help io_uring).
 * DEFAULT: the environment variable KAIO_BACKEND ("aio", "uring" or "auto"; unset or empty: aio).
 *   Any other value makes creation fail with -EINVAL.
 * AIO: kernel AIO (io_setup, io_submit, io_getevents), what kaio is for.
 * URING: io_uring; creation fails with what io_uring_setup answers when the kernel refuses it
 *   (-EPERM under seccomp profiles or /proc/sys/kernel/io_uring_disabled, -ENOSYS), and with
 *   the filter's answer when one lets the ring be set up but refuses io_uring_enter or
 *   io_uring_register (each is tried once, doing nothing, at creation).
 * AUTO: io_uring when the kernel sets one up and lets it be used, else AIO.
 */
#define IO_CTX_BACKEND_DEFAULT 0u
#define IO_CTX_BACKEND_AIO 1u
#define IO_CTX_BACKEND_URING 2u
#define IO_CTX_BACKEND_AUTO 3u

/*
 * Direct submissions (made outside callbacks) are queued instead of being sent to the kernel at
 * once; io_ctx_flush(), io_ctx_process() or io_ctx_poll() send the whole queue in one io_submit.
 */
#define IO_CTX_DEFER_SUBMIT (1u << 0)

/*
 * Reap completions only with the io_getevents system call. By default kaio takes them straight
 * from the completion ring the kernel maps into the process, without a system call, and uses
 * io_getevents only where it does not recognise the ring (and under valgrind).
 */
#define IO_CTX_REAP_SYSCALL (1u << 1)

/*
 * Send what callbacks submit early: the first request at once, the next ones in pairs, instead
 * of all together when io_ctx_process() ends. An io_submit of more than two requests holds them
 * back until the whole batch is built and gives them to the device in one go; on some devices
 * (virtio disks) that leaves the device idle meanwhile and costs IOPS at queue depth 8 and
 * more, for fewer system calls. Measure both on your device.
 */
#define IO_CTX_SUBMIT_EARLY (1u << 2)

/*
 * Without a wait_cb, wait for completions inside io_getevents, which reaps them in the same
 * call, instead of draining the eventfd and blocking in poll(2): one system call per wait
 * instead of two, which is what a thread that may block (a benchmark, a plain worker thread)
 * wants at low queue depths. Nothing then needs the eventfd until io_ctx_eventfd() is first
 * called: only from then on do completions signal it, which spares the kernel that work (5-8%
 * of the CPU per I/O of 4 KiB reads on tmpfs). With a wait_cb this flag is -EINVAL: waiting
 * then belongs to the caller.
 */
#define IO_CTX_WAIT_IN_GETEVENTS (1u << 3)

/*
 * O_DIRECT writes carry RWF_NOWAIT too (reads always do): a write the kernel would block on
 * inside io_submit comes back -EAGAIN and a worker thread does it. On ext4 that is every write
 * that is not a plain overwrite: appends (which otherwise keep the caller in io_submit until the
 * device has written them) but also writes into holes and fallocated space, which then all take
 * the detour through a worker's synchronous write. For append-only logs; measure before using
 * it for writes into preallocated files.
 */
#define IO_CTX_NOWAIT_WRITES (1u << 4)

/*
 * The caller promises that every fd it gives this context was opened with O_DIRECT: kaio skips
 * its check (one fcntl per descriptor and io_submit call) and sends everything to the kernel. A
 * file without O_DIRECT then runs inside io_submit, blocking the caller, as with plain libaio.
 * For storage engines that open every file themselves; saves a system call per batch.
 */
#define IO_CTX_DIRECT_ONLY (1u << 5)

/*
 * The caller promises that once the context has made its first submission, every call on it
 * (submissions, io_ctx_process, io_ctx_poll, io_ctx_cancel, io_ctx_flush, and io_ctx_destroy
 * while requests are in flight) comes from the thread that made it. On the io_uring backend the
 * ring is then bound to that thread (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN):
 * the kernel posts completions when that thread enters it to reap or wait, instead of
 * interrupting it for each one, which saves wake-ups when requests finish on kernel worker
 * threads. A call from another thread that would reach the kernel then fails with -EEXIST (a
 * submission kept for later, under IO_CTX_DEFER_SUBMIT, is not checked: like any use of one
 * context by two threads at once, it is a data race). Creating the context and
 * registering buffers or files may happen on another thread, before the first submission. On
 * kernels before 6.1, and on the AIO backend, it changes nothing.
 */
#define IO_CTX_SINGLE_THREAD (1u << 6)

/* Counters since creation, read with io_ctx_get_stats(). */
struct io_ctx_stats {
	unsigned long long submitted;       /* requests accepted by the kernel or a worker */
	unsigned long long completed;       /* callbacks run */
	unsigned long long submit_calls;    /* io_submit system calls (io_uring: io_uring_enter
					       calls that submit) */
	unsigned long long getevents_calls; /* io_getevents system calls (io_uring: io_uring_enter
					       calls that wait) */
	unsigned long long eventfd_reads;   /* read(2) calls on the eventfd */
	unsigned long long waits;           /* calls of wait_cb (or of poll(2) or a waiting
					       io_getevents without one) */
	unsigned in_kernel;                 /* requests in the kernel now */
	unsigned queued;                    /* requests waiting in the library for io_submit */
	unsigned long long ring_reaps;      /* reaps from the completion ring (io_uring: its
					       completion queue), no system call */
	unsigned long long worker_requests; /* requests run by a worker thread (see io_ctx_read);
					     * on io_uring, sent to its workers (IOSQE_ASYNC) */
	unsigned long long nowait_retries;  /* of which: direct I/O the kernel would have blocked on
					       (all of it, or the rest of what it stopped short) */
	unsigned long long nowait_refusals; /* refusals of RWF_NOWAIT (EOPNOTSUPP, by io_submit
					       or in a completion): one per file system and
					       direction that lacks it */
	unsigned long long fixed_buffer_requests; /* requests sent with a registered buffer */
	unsigned long long reserved[3];
};

/*
 * Create a context for up to `capacity` requests in flight (1..IO_CTX_MAX_CAPACITY, else
 * -EINVAL). wait_cb(wait_fd) is called whenever the library must wait for a completion; it must
 * return a value >= 0 once wait_fd is readable (returning early is allowed) or a negative value
 * to abort the wait, which the waiting call then returns. NULL: block in poll(2).
 * Returns 0, -EINVAL (also for a KAIO_BACKEND that names no backend), -ENOMEM, or -EAGAIN when
 * /proc/sys/fs/aio-max-nr is exhausted; on io_uring, what io_uring_setup answers (see
 * IO_CTX_BACKEND_URING).
 */
KAIO_API int io_ctx_create(struct io_ctx *io_ctx, int capacity, int (*wait_cb)(int wait_fd));

/* io_ctx_create() with options (NULL: defaults). Nonzero reserved fields or unknown flags: -EINVAL.
 */
KAIO_API int io_ctx_create_opts(struct io_ctx *io_ctx, int capacity, int (*wait_cb)(int wait_fd),
				const struct io_ctx_options *options);

/*
 * Submit what is queued, then run the callback of every completion that is ready. If none is
 * ready and requests are in flight, wait through wait_cb first, until a callback has run (here,
 * or in a process() called from inside wait_cb, as another fiber of a fiber runtime does).
 * Returns the number of callbacks run (>= 1 when requests were in flight, 0 when none were) or
 * the negative value of wait_cb.
 */
KAIO_API int io_ctx_process(struct io_ctx *io_ctx);

/* io_ctx_process() that never waits: returns 0 when nothing is ready. Drains the eventfd. */
KAIO_API int io_ctx_poll(struct io_ctx *io_ctx);

/*
 * Send every queued request to the kernel (or to the worker threads, for files that would block).
 * Returns how many were sent, or a negative errno.
 */
KAIO_API int io_ctx_flush(struct io_ctx *io_ctx);

/*
 * The context's eventfd (non-blocking): readable when completions may be ready, to register in
 * epoll and the like. Notifications coalesce and are hints, not counts: on readiness call
 * io_ctx_poll() (which drains the eventfd, then reaps), never read the fd yourself. With
 * IO_CTX_WAIT_IN_GETEVENTS the first call attaches it (a change of the context: not while
 * another thread is in a call on it): ask before submitting, since until the requests sent to
 * the kernel before then are back it stays readable and each io_ctx_poll() signals it again (an
 * event loop, level- or edge-triggered, polls without sleeping); those kaio's worker threads
 * run signal it when they end, as always.
 * On io_uring attaching may fail (-EEXIST: a thread other than the issuer of an
 * IO_CTX_SINGLE_THREAD context asked first).
 */
KAIO_API int io_ctx_eventfd(const struct io_ctx *io_ctx);

/*
 * The backend the context runs on: IO_CTX_BACKEND_AIO or IO_CTX_BACKEND_URING (never DEFAULT or
 * AUTO, which are resolved at creation), or -EINVAL for a NULL or destroyed context.
 */
KAIO_API int io_ctx_backend(const struct io_ctx *io_ctx);

/*
 * Register `count` buffers with the kernel, for callers that reuse the same buffers: on io_uring a
 * read or write whose [data, data + len) lies inside one of them is sent as READ_FIXED/WRITE_FIXED,
 * which spares the kernel mapping the pages on every request. Replaces the previous set (which a
 * failed call leaves unregistered on io_uring); count 0 unregisters. The buffers stay registered
 * until then or io_ctx_destroy(), and must stay valid that long. Call it when no request is in
 * flight (-EBUSY otherwise). On AIO: returns 0 and does nothing. Returns 0, -EINVAL, or what
 * io_uring_register answers (-ENOMEM beyond RLIMIT_MEMLOCK, ...).
 */
KAIO_API int io_ctx_register_buffers(struct io_ctx *io_ctx, const struct iovec *buffers, int count);

/*
 * Register `count` open files: on io_uring requests on them skip the kernel's file-table lookup.
 * kaio remembers the filesystem each lives on, which spares the statx per descriptor and
 * submission call it otherwise makes: on AIO once a filesystem has refused RWF_NOWAIT (tmpfs
 * does), on io_uring always (to find the files a FUSE daemon serves, see io_ctx_read).
 * Same rules as io_ctx_register_buffers(); -EBADF for a negative fd or one not open. The files
 * must stay open while registered: on io_uring a request on a registered fd number reaches the
 * file registered, even after that fd was closed and its number given to another file.
 */
KAIO_API int io_ctx_register_files(struct io_ctx *io_ctx, const int *fds, int count);

/* Copy the context's counters into *stats. Returns 0 or -EINVAL. */
KAIO_API int io_ctx_get_stats(const struct io_ctx *io_ctx, struct io_ctx_stats *stats);

/*
 * Submit what is queued, wait (through wait_cb) until every request has completed and its
 * callback has run, then free the context. Harmless on a context whose create failed, on a
 * zeroed one, and a second time. Forbidden from a callback and from wait_cb (it then does
 * nothing). Should wait_cb fail, it waits in the kernel instead (which may write into buffers
 * until then); on io_uring it first stops the requests that would wait there for ever (a read
 * from an idle pipe or socket), whose callbacks get -ECANCELED; those on regular files and block
 * devices run to their end.
 * The kernel's io_destroy waits for an RCU grace period: tens of milliseconds (32-42 ms on the
 * project's machine), so create a context once and keep it, never one per operation.
 */
KAIO_API void io_ctx_destroy(struct io_ctx *io_ctx);

/*
 * Submissions. Each returns a key > 0 identifying the request, or a negative errno, in which case
 * complete_cb is never called. complete_cb(result, data_cb) gets the bytes transferred (short at
 * end of file) or a negative errno. A NULL callback is allowed. When the context is full, the
 * call waits through wait_cb and runs completions until a slot is free. Made from a callback,
 * that wait runs no callbacks: what completes meanwhile frees its slot, and its callback runs
 * once the current one has returned (from the io_ctx_process() or io_ctx_poll() under way, or
 * the next), so that callbacks which submit more requests than complete never nest.
 * Errors before the kernel: -EINVAL (bad context, NULL buffer with nonzero length, negative or
 * unaligned offset, unaligned address or length, length above IO_CTX_MAX_IO_BYTES, iovcnt outside
 * 1..IOV_MAX), -EBADF (fd < 0); then what io_submit answers for this request.
 */
KAIO_API int io_ctx_write(struct io_ctx *io_ctx, int fd, void *data, size_t count, long long offset,
			  void (*complete_cb)(int result, void *data), void *data_cb);

KAIO_API int io_ctx_pwrite(struct io_ctx *io_ctx, int fd, const struct iovec *iov, int iovcnt,
			   long long offset, void (*complete_cb)(int result, void *data),
			   void *data_cb);

KAIO_API int io_ctx_read(struct io_ctx *io_ctx, int fd, void *data, size_t len, long long offset,
			 void (*complete_cb)(int result, void *data), void *data_cb);

KAIO_API int io_ctx_pread(struct io_ctx *io_ctx, int fd, const struct iovec *iov, int iovcnt,
			  long long offset, void (*complete_cb)(int result, void *data),
			  void *data_cb);

/* Full file sync (IOCB_CMD_FSYNC). */
KAIO_API int io_ctx_fsync(struct io_ctx *io_ctx, int fd, void (*sync_cb)(int result, void *data),
			  void *data_cb);

/* Data sync (IOCB_CMD_FDSYNC), like fdatasync(2). */
KAIO_API int io_ctx_fdsync(struct io_ctx *io_ctx, int fd, void (*sync_cb)(int result, void *data),
			   void *data_cb);

/*
 * Cancel the request with this key.
 * 0: stopped; its callback has run with -ECANCELED before this returns (always so for a request
 *    still queued in the library).
 * -EINPROGRESS: in the kernel, which would not stop it (io_cancel refuses regular files and block
 *    devices), or on a worker thread: it completes normally and its callback gets the real result.
 *    On io_uring the kernel is asked to stop it: when it can (requests that wait, such as a
 *    read from an empty pipe), this waits for the completion and returns 0; when it cannot
 *    (direct I/O the block layer has, a request running on an io_uring worker), it says so at
 *    once, and this returns -EINPROGRESS without waiting. The kernel still marks the request:
 *    one that an io_uring worker had taken but not yet begun (an fsync, say) then ends with
 *    -ECANCELED after all, in its callback. A worker's read that would block (a terminal's)
 *    waits a moment later: a cancel called again, once completions were processed, stops it.
 * -ENOENT: no such request: its callback already ran, or the key was never issued.
 */
KAIO_API int io_ctx_cancel(struct io_ctx *io_ctx, int key);

/* What O_DIRECT I/O on one fd requires, from io_ctx_dio_alignment(). */
struct io_ctx_dio_alignment {
	uint32_t memory;      /* buffer addresses must be multiples of this */
	uint32_t offset;      /* file offsets and lengths must be multiples of this */
	uint32_t reserved[2]; /* zero */
};

/*
 * The alignment that O_DIRECT I/O on `fd` really requires, which may be finer or coarser than
 * IO_CTX_ALIGNMENT (kaio itself always requires multiples of IO_CTX_ALIGNMENT, so use the larger
 * of the two). For files it is what the filesystem reports through statx(2) STATX_DIOALIGN
 * (Linux 6.1 and later); for block devices the logical block size (BLKSSZGET) and the queue's
 * DMA alignment. Needs no context. An I/O that violates it fails with -EINVAL in its completion
 * (or at io_submit).
 * Returns 0, -EBADF, -EINVAL (alignment is NULL), or -EOPNOTSUPP when the fd's filesystem cannot
 * do direct I/O on it or does not say what it requires (tmpfs, older kernels, pipes).
 */
#if defined(__cplusplus) && defined(__GNUC__)
/* The function is named after its structure, as stat(2) is; C++'s -Wshadow would object. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
KAIO_API int io_ctx_dio_alignment(int fd, struct io_ctx_dio_alignment *alignment);
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* KAIO_IO_CTX_H */
