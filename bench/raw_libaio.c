/*
 * raw_libaio: the floor that kaio's figures are measured against. A minimal, hand-written libaio
 * loop with nothing between the program and the kernel: io_setup(iodepth), one io_submit of
 * iodepth requests, then "reap a batch, submit a batch": io_getevents(ctx, 1, iodepth) blocks
 * until at least one request has completed, and every completed request is sent again with its
 * next offset in one io_submit. No callbacks, no eventfd, no latency clock: whatever kaio (or
 * fio) does beyond this loop is their overhead. kaio_loop.c is the same loop through kaio's
 * io_ctx API. Takes a subset of kaio-bench's options (bench_loop.h):
 *
 *   raw_libaio [--filename kaio-bench.dat] [--size 1g] [--bs 4k] [--iodepth 32]
 *              [--runtime 10 | --number_ios N] [--rw randread|randwrite|read]
 *
 * The file (or block device) must exist and be at least --size long: let kaio-bench create it.
 * Offsets come from a xorshift64* generator with a fixed seed. Prints one JSON object on stdout:
 * iops, bw_bytes, ios, elapsed_s, cpu_us_per_io (user + system, from getrusage),
 * submit_calls and getevents_calls. Exits 1 on an I/O error, 2 on bad input.
 */
#define _GNU_SOURCE /* libaio.h uses sigset_t and struct timespec, which -std=c99 leaves out */

#include <errno.h>
#include <libaio.h>
#include <stdlib.h>

#include "bench_loop.h"

struct run {
	struct bench_loop loop;
	io_context_t ctx;
	struct iocb *iocbs;  /* one per slot, each with its own buffer */
	struct iocb **batch; /* the requests of one io_submit */
	struct io_event *events;
	long long in_flight;
	long long ios;
	long long submit_calls;
	long long getevents_calls;
};

static void set_up_slots(struct run *r)
{
	size_t depth = (size_t)r->loop.opt.iodepth;
	int rc;
	r->iocbs = calloc(depth, sizeof *r->iocbs);
	r->batch = calloc(depth, sizeof *r->batch);
	r->events = calloc(depth, sizeof *r->events);
	if (!r->iocbs || !r->batch || !r->events)
		bench_loop_fail(&r->loop, 1, "calloc", ENOMEM);
	for (size_t i = 0; i < depth; ++i)
		r->iocbs[i].u.c.buf = bench_loop_buffer(&r->loop, (int)i);
	rc = io_setup(r->loop.opt.iodepth, &r->ctx);
	if (rc < 0)
		bench_loop_fail(&r->loop, 1, "io_setup", -rc);
}

/* Point the slot's request at its next offset (io_prep_* keep the buffer, reset the rest). */
static void prepare(struct run *r, struct iocb *io)
{
	void *buf = io->u.c.buf;
	size_t bs = (size_t)r->loop.opt.bs;
	if (r->loop.opt.rw == BENCH_RANDWRITE)
		io_prep_pwrite(io, r->loop.fd, buf, bs, bench_loop_next_offset(&r->loop));
	else
		io_prep_pread(io, r->loop.fd, buf, bs, bench_loop_next_offset(&r->loop));
}

/* Submit the first `count` requests of r->batch, again for those the kernel did not take. */
static void submit(struct run *r, int count)
{
	int done = 0;
	while (done < count) {
		int rc = io_submit(r->ctx, count - done, r->batch + done);
		++r->submit_calls;
		if (rc <= 0) /* 0: the kernel took none, which would loop forever */
			bench_loop_fail(&r->loop, 1, "io_submit", rc < 0 ? -rc : EAGAIN);
		done += rc;
	}
	r->in_flight += count;
}

/* Reap at least one completion; return how many requests to resubmit (in r->batch). */
static int reap(struct run *r)
{
	int count = io_getevents(r->ctx, 1, r->loop.opt.iodepth, r->events, NULL);
	int again = 0;
	int in_time;
	++r->getevents_calls;
	if (count < 0)
		bench_loop_fail(&r->loop, 1, "io_getevents", -count);
	r->in_flight -= count;
	in_time = bench_loop_time_left(&r->loop);
	for (int i = 0; i < count; ++i) {
		struct io_event *event = &r->events[i];
		bench_loop_check_result(&r->loop, (long)event->res, event->obj->u.c.offset);
		++r->ios;
		if (in_time && bench_loop_count_left(&r->loop)) {
			prepare(r, event->obj);
			r->batch[again++] = event->obj;
		}
	}
	return again;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	int first = 0;

	bench_loop_init(&r.loop, "raw_libaio", argc, argv);
	set_up_slots(&r);

	bench_loop_start(&r.loop);
	while (first < r.loop.opt.iodepth && bench_loop_count_left(&r.loop)) {
		prepare(&r, &r.iocbs[first]);
		r.batch[first] = &r.iocbs[first];
		++first;
	}
	submit(&r, first);
	while (r.in_flight > 0)
		submit(&r, reap(&r));
	{
		const struct bench_counter counters[] = {{"submit_calls", r.submit_calls},
							 {"getevents_calls", r.getevents_calls}};
		bench_loop_report(&r.loop, r.ios, counters, 2);
	}

	io_destroy(r.ctx);
	bench_loop_end(&r.loop);
	free(r.iocbs);
	free(r.batch);
	free(r.events);
	return 0;
}
