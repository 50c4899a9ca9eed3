/*
 * epoll_loop: kaio inside an event loop, next to a socket and a timer, never waiting in kaio.
 *
 *	epoll_loop FILE
 *
 * FILE must not exist: it is created (O_EXCL), used, and removed at the end.
 *
 * One thread, one epoll set, four file descriptors:
 *  - a timerfd ticking every millisecond: on each tick the "client" end of a socketpair sends a
 *    request, "block N", until BLOCKS requests have gone;
 *  - the "server" end of the socketpair: each request becomes a kaio write of block N of FILE
 *    (O_DIRECT), whose callback reads the block back, whose callback checks it and sends the
 *    reply, "block N ok", to the client;
 *  - the client end, which counts the replies;
 *  - kaio's eventfd (io_ctx_eventfd()), readable when completions may be ready.
 *
 * The loop only calls io_ctx_poll() and io_ctx_flush(), which never wait, so the socket and the
 * timer are served while I/O is in flight. The context is created with IO_CTX_DEFER_SUBMIT:
 * the writes that one round of the loop submits reach the kernel in one io_submit, at the
 * io_ctx_flush() that ends the round. The wait_cb refuses to wait, so if kaio ever had to wait
 * (a submission to a full context) the call would fail with -EWOULDBLOCK instead of stalling
 * the loop; with a capacity of BLOCKS that never happens here.
 *
 * The drain-then-reap rule: eventfd notifications coalesce and are hints, not counts. On
 * readiness, call io_ctx_poll(): it drains the eventfd first and reaps afterwards, so a
 * completion that arrives after the reap makes the fd readable again and the next epoll_wait()
 * returns. Never read the eventfd yourself: a read after io_ctx_poll() could swallow the
 * notification of a completion nobody has reaped, and the loop would sleep with it pending.
 *
 * At the end it prints what arrived: timer ticks, requests, replies, and the completions kaio
 * counted. Exit status: 0 when every block came back as written.
 */
#define _GNU_SOURCE /* O_DIRECT */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <kaio/io_ctx.h>

#define BLOCKS 32
#define BLOCK_SIZE 4096
#define MESSAGE_SIZE 64

struct loop;

/* One block of the file: the buffer written and the buffer it is read back into. */
struct block {
	struct loop *loop;
	int number;
	unsigned char *written;
	unsigned char *read_back;
};

struct loop {
	struct io_ctx ctx;
	int epoll, timer, client, server, file;
	int ticks;    /* timer expirations seen */
	int requests; /* sent by the client */
	int received; /* requests the server took */
	int replies;  /* "ok" replies the client got */
	int failed;   /* an error was printed */
	struct block blocks[BLOCKS];
};

static void fail(struct loop *loop, const char *what, int error)
{
	fprintf(stderr, "epoll_loop: %s: %s\n", what, strerror(error < 0 ? -error : error));
	loop->failed = 1;
}

/* --- the client: a request per timer tick, then count the replies --- */

static void on_timer(struct loop *loop)
{
	uint64_t expirations;
	char request[MESSAGE_SIZE];
	int length;

	if (read(loop->timer, &expirations, sizeof expirations) < 0) {
		if (errno != EAGAIN)
			fail(loop, "reading the timerfd", errno);
		return;
	}
	loop->ticks++;
	length = snprintf(request, sizeof request, "block %d", loop->requests);
	if (send(loop->client, request, (size_t)length, 0) < 0) {
		fail(loop, "sending a request", errno);
		return;
	}
	if (++loop->requests == BLOCKS) {
		struct itimerspec stop = {{0, 0}, {0, 0}};
		if (timerfd_settime(loop->timer, 0, &stop, NULL) != 0)
			fail(loop, "stopping the timer", errno);
	}
}

static void on_reply(struct loop *loop)
{
	char reply[MESSAGE_SIZE];
	ssize_t length;

	while ((length = recv(loop->client, reply, sizeof reply - 1, 0)) > 0) {
		reply[length] = '\0';
		if (length > 3 && strcmp(reply + length - 3, " ok") == 0) {
			loop->replies++;
		} else {
			fprintf(stderr, "epoll_loop: the server answered \"%s\"\n", reply);
			loop->failed = 1;
		}
	}
	if (length < 0 && errno != EAGAIN)
		fail(loop, "receiving a reply", errno);
}

/* --- the server: a request becomes a write, the write a read, the read a reply --- */

static void read_done(int result, void *data)
{
	struct block *block = data;
	struct loop *loop = block->loop;
	char reply[MESSAGE_SIZE];
	int same =
		result == BLOCK_SIZE && memcmp(block->written, block->read_back, BLOCK_SIZE) == 0;
	int length = snprintf(reply, sizeof reply, "block %d %s", block->number,
			      same ? "ok" : "differs");

	if (result < 0)
		fail(loop, "reading a block back", result);
	if (send(loop->server, reply, (size_t)length, 0) < 0)
		fail(loop, "sending a reply", errno);
}

static void write_done(int result, void *data)
{
	struct block *block = data;
	long long offset = (long long)block->number * BLOCK_SIZE;
	int key;

	if (result != BLOCK_SIZE) {
		fail(block->loop, "writing a block", result < 0 ? result : -EIO);
		return;
	}
	/* Submitted from a callback: io_ctx_poll() sends it when its round of callbacks ends. */
	key = io_ctx_read(&block->loop->ctx, block->loop->file, block->read_back, BLOCK_SIZE,
			  offset, read_done, block);
	if (key < 0)
		fail(block->loop, "submitting a read", key);
}

static void serve(struct loop *loop, int number)
{
	struct block *block;
	int key;

	if (number < 0 || number >= BLOCKS) {
		fail(loop, "a request names no block", EINVAL);
		return;
	}
	block = &loop->blocks[number];
	memset(block->written, 'a' + number % 26, BLOCK_SIZE);
	/* Deferred: queued until the io_ctx_flush() at the end of this round. */
	key = io_ctx_write(&loop->ctx, loop->file, block->written, BLOCK_SIZE,
			   (long long)number * BLOCK_SIZE, write_done, block);
	if (key < 0)
		fail(loop, "submitting a write", key);
}

static void on_request(struct loop *loop)
{
	char request[MESSAGE_SIZE];
	ssize_t length;

	while ((length = recv(loop->server, request, sizeof request - 1, 0)) > 0) {
		int number;
		request[length] = '\0';
		loop->received++;
		if (sscanf(request, "block %d", &number) == 1)
			serve(loop, number);
		else
			fail(loop, "a request that is no \"block N\"", EINVAL);
	}
	if (length < 0 && errno != EAGAIN)
		fail(loop, "receiving a request", errno);
}

/* --- kaio --- */

/* The eventfd is readable: drain-then-reap, all inside io_ctx_poll(). Runs the callbacks. */
static void on_completions(struct loop *loop)
{
	int rc = io_ctx_poll(&loop->ctx);
	if (rc < 0)
		fail(loop, "io_ctx_poll", rc);
}

/* An event loop must not block anywhere but in epoll_wait(): kaio's waits fail instead. */
static int refuse_to_wait(int wait_fd)
{
	(void)wait_fd;
	return -EWOULDBLOCK;
}

/* --- the loop --- */

static int run(struct loop *loop)
{
	while (!loop->failed && loop->replies < BLOCKS) {
		struct epoll_event events[4];
		int i, rc, count = epoll_wait(loop->epoll, events, 4, -1);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			fail(loop, "epoll_wait", errno);
			break;
		}
		/* Level-triggered: whatever a handler leaves unread wakes the next epoll_wait(). */
		for (i = 0; i < count; i++) {
			int fd = events[i].data.fd;
			if (fd == loop->timer)
				on_timer(loop);
			else if (fd == loop->client)
				on_reply(loop);
			else if (fd == loop->server)
				on_request(loop);
			else if (fd == io_ctx_eventfd(&loop->ctx))
				on_completions(loop);
		}
		/* One io_submit for every write this round queued. */
		rc = io_ctx_flush(&loop->ctx);
		if (rc < 0)
			fail(loop, "io_ctx_flush", rc);
	}
	return loop->failed ? -1 : 0;
}

static int watch(struct loop *loop, int fd)
{
	struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(loop->epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
		fail(loop, "epoll_ctl", errno);
		return -1;
	}
	return 0;
}

static int setup(struct loop *loop, const char *path)
{
	struct io_ctx_options options = IO_CTX_OPTIONS_INIT;
	struct itimerspec every_millisecond = {{0, 1000000}, {0, 1000000}};
	int sockets[2], i, rc;

	for (i = 0; i < BLOCKS; i++) {
		struct block *block = &loop->blocks[i];
		void *written = NULL, *read_back = NULL;
		block->loop = loop;
		block->number = i;
		if ((rc = posix_memalign(&written, BLOCK_SIZE, BLOCK_SIZE)) != 0 ||
		    (rc = posix_memalign(&read_back, BLOCK_SIZE, BLOCK_SIZE)) != 0) {
			free(written);
			fail(loop, "allocating buffers", rc);
			return -1;
		}
		block->written = written;
		block->read_back = read_back;
	}
	loop->file = open(path, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0644);
	if (loop->file < 0) {
		fprintf(stderr, "epoll_loop: cannot open %s with O_DIRECT: %s\n", path,
			strerror(errno));
		return -1;
	}
	options.flags = IO_CTX_DEFER_SUBMIT;
	if ((rc = io_ctx_create_opts(&loop->ctx, BLOCKS, refuse_to_wait, &options)) < 0) {
		fail(loop, "io_ctx_create_opts", rc);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sockets) != 0) {
		fail(loop, "socketpair", errno);
		return -1;
	}
	loop->client = sockets[0];
	loop->server = sockets[1];
	loop->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->timer < 0 || timerfd_settime(loop->timer, 0, &every_millisecond, NULL) != 0) {
		fail(loop, "timerfd", errno);
		return -1;
	}
	loop->epoll = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll < 0) {
		fail(loop, "epoll_create1", errno);
		return -1;
	}
	if (watch(loop, loop->timer) < 0 || watch(loop, loop->client) < 0 ||
	    watch(loop, loop->server) < 0 || watch(loop, io_ctx_eventfd(&loop->ctx)) < 0)
		return -1;
	return 0;
}

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void teardown(struct loop *loop)
{
	int i;

	io_ctx_destroy(&loop->ctx); /* before the buffers: it waits for what is in flight */
	for (i = 0; i < BLOCKS; i++) {
		free(loop->blocks[i].written);
		free(loop->blocks[i].read_back);
	}
	close_if_open(loop->epoll);
	close_if_open(loop->timer);
	close_if_open(loop->client);
	close_if_open(loop->server);
	close_if_open(loop->file);
}

int main(int argc, char *argv[])
{
	static struct loop loop; /* zeroed: io_ctx_destroy() is harmless before create */
	struct io_ctx_stats stats;
	int status = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	loop.epoll = loop.timer = loop.client = loop.server = loop.file = -1;
	if (setup(&loop, argv[1]) == 0 && run(&loop) == 0) {
		io_ctx_get_stats(&loop.ctx, &stats);
		printf("timer ticks: %d; requests sent: %d, received: %d; replies ok: %d\n",
		       loop.ticks, loop.requests, loop.received, loop.replies);
		printf("I/O completions: %llu; io_submit calls: %llu; waits in kaio: %llu\n",
		       stats.completed, stats.submit_calls, stats.waits);
		status = 0;
	}
	teardown(&loop);
	if (loop.file >= 0 && unlink(argv[1]) != 0) { /* we created it */
		fprintf(stderr, "epoll_loop: cannot remove %s: %s\n", argv[1], strerror(errno));
		status = 1;
	}
	return status;
}
