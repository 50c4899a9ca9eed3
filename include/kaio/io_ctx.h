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
 * Every function returns >= 0 or a negative errno and never sets errno.
 *
 * Lifetimes: a data buffer (and every iov_base buffer) must stay valid and untouched until the
 * request's callback has run. An iovec array is copied at submission and may be freed at once.
 *
 * Threads: one context is used by one thread at a time. Independent contexts share nothing and
 * may be used from different threads at once. Never call io_ctx_destroy() from a callback.
 *
 * Requirements: files opened with O_DIRECT; buffer addresses, lengths and offsets multiples of
 * 512 (some devices require their logical block size, usually 4096).
 */
#ifndef KAIO_IO_CTX_H
#define KAIO_IO_CTX_H

#include <stddef.h>
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
 * Zero it or pass it to io_ctx_create() before any other call.
 */
struct io_ctx {
	void *impl; /* private */
};

/* Options for io_ctx_create_opts(). Zero every field (or use IO_CTX_OPTIONS_INIT) for defaults. */
struct io_ctx_options {
	/* IO_CTX_DEFER_SUBMIT, ... */
	unsigned flags;
	/* Must be zero: room for later options without changing the structure's size. */
	unsigned reserved[7];
};

/* clang-format 14 would lay this initialiser out as a block. */
/* clang-format off */
#define IO_CTX_OPTIONS_INIT {0, {0, 0, 0, 0, 0, 0, 0}}
/* clang-format on */

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
 * Send what callbacks submit early: the first request at once, the next ones in batches that
 * double (2, 4, 8, ...), instead of all together when io_ctx_process() ends. One large io_submit
 * holds its requests back until the whole batch is built and gives them to the device in one
 * go; on some devices (virtio disks) that leaves the device idle meanwhile and costs IOPS at
 * queue depth 8 and more, for fewer system calls. Measure both on your device.
 */
#define IO_CTX_SUBMIT_EARLY (1u << 2)

/* Counters since creation, read with io_ctx_get_stats(). */
struct io_ctx_stats {
	unsigned long long submitted;       /* requests accepted by the kernel */
	unsigned long long completed;       /* callbacks run */
	unsigned long long submit_calls;    /* io_submit system calls */
	unsigned long long getevents_calls; /* io_getevents system calls */
	unsigned long long eventfd_reads;   /* read(2) calls on the eventfd */
	unsigned long long waits;           /* calls of wait_cb (or poll(2) without one) */
	unsigned in_kernel;                 /* requests in the kernel now */
	unsigned queued;                    /* requests waiting in the library for io_submit */
	unsigned long long ring_reaps;      /* reaps from the completion ring, no system call */
	unsigned long long reserved[3];
};

/*
 * Create a context for up to `capacity` requests in flight (1..IO_CTX_MAX_CAPACITY, else
 * -EINVAL). wait_cb(wait_fd) is called whenever the library must wait for a completion; it must
 * return a value >= 0 once wait_fd is readable (returning early is allowed) or a negative value
 * to abort the wait, which the waiting call then returns. NULL: block in poll(2).
 * Returns 0, -EINVAL, -ENOMEM, or -EAGAIN when /proc/sys/fs/aio-max-nr is exhausted.
 */
KAIO_API int io_ctx_create(struct io_ctx *io_ctx, int capacity, int (*wait_cb)(int wait_fd));

/* io_ctx_create() with options (NULL: defaults). Nonzero reserved fields or unknown flags: -EINVAL. */
KAIO_API int io_ctx_create_opts(struct io_ctx *io_ctx, int capacity, int (*wait_cb)(int wait_fd),
				const struct io_ctx_options *options);

/*
 * Submit what is queued, then run the callback of every completion that is ready. If none is
 * ready and requests are in flight, wait through wait_cb first. Returns the number of callbacks
 * run (>= 1 when requests were in flight, 0 when none were) or the negative value of wait_cb.
 */
KAIO_API int io_ctx_process(struct io_ctx *io_ctx);

/* io_ctx_process() that never waits: returns 0 when nothing is ready. Drains the eventfd. */
KAIO_API int io_ctx_poll(struct io_ctx *io_ctx);

/* Send every queued request to the kernel. Returns how many were sent, or a negative errno. */
KAIO_API int io_ctx_flush(struct io_ctx *io_ctx);

/*
 * The context's eventfd (non-blocking): readable when completions may be ready, to register in
 * epoll and the like. Notifications coalesce and are hints, not counts: on readiness call
 * io_ctx_poll() (which drains the eventfd, then reaps), never read the fd yourself.
 */
KAIO_API int io_ctx_eventfd(const struct io_ctx *io_ctx);

/* Copy the context's counters into *stats. Returns 0 or -EINVAL. */
KAIO_API int io_ctx_get_stats(const struct io_ctx *io_ctx, struct io_ctx_stats *stats);

/*
 * Submit what is queued, wait (through wait_cb) until every request has completed and its
 * callback has run, then free the context. Harmless on a context whose create failed, on a
 * zeroed one, and a second time. Forbidden from a callback (it then does nothing).
 * The kernel's io_destroy waits for an RCU grace period: tens of milliseconds (32-42 ms on the
 * project's machine), so create a context once and keep it, never one per operation.
 */
KAIO_API void io_ctx_destroy(struct io_ctx *io_ctx);

/*
 * Submissions. Each returns a key > 0 identifying the request, or a negative errno, in which case
 * complete_cb is never called. complete_cb(result, data_cb) gets the bytes transferred (short at
 * end of file) or a negative errno. A NULL callback is allowed. When the context is full, the
 * call waits through wait_cb and runs completions until a slot is free.
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
 *    devices): it completes normally and its callback gets the real result.
 * -ENOENT: no such request: its callback already ran, or the key was never issued.
 */
KAIO_API int io_ctx_cancel(struct io_ctx *io_ctx, int key);

#ifdef __cplusplus
}
#endif

#endif /* KAIO_IO_CTX_H */
