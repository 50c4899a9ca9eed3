/*
 * kaio_loop: raw_libaio's loop through kaio's io_ctx API, to measure what kaio costs on top of
 * bare libaio with nothing else in the way (kaio-bench adds latency clocks, histograms, jobs).
 * Same options, same file, same offsets (bench_loop.h), same report plus ring_reaps:
 *
 *   kaio_loop [--filename kaio-bench.dat] [--size 1g] [--bs 4k] [--iodepth 32]
 *             [--runtime 10 | --number_ios N] [--rw randread|randwrite|read]
 *
 * The loop: a context of capacity iodepth created with IO_CTX_DEFER_SUBMIT and IO_CTX_DIRECT_ONLY
 * (its file is opened with O_DIRECT: no check per io_submit for files that would block), iodepth
 * requests queued, then io_ctx_process() over and over. Each completion's callback checks the
 * result and queues the slot's next request; kaio gathers what the callbacks of one
 * io_ctx_process() submit into one io_submit, as raw_libaio resubmits one io_getevents batch in one
 * io_submit. Waiting is kaio's default (poll(2) on its eventfd). The --runtime deadline is read
 * once per io_ctx_process(), as raw_libaio reads it once per io_getevents.
 *
 * Prints one JSON object on stdout: iops, bw_bytes, ios, elapsed_s, cpu_us_per_io, then
 * submit_calls, getevents_calls and ring_reaps from io_ctx_get_stats(). Exits 1 on an I/O
 * error, 2 on bad input.
 */
#include <errno.h>
#include <stdlib.h>

#include "bench_loop.h"
#include "kaio/io_ctx.h"

struct run;

struct slot {
	struct run *run;
	void *buffer;
	long long offset; /* of the request in flight */
};

struct run {
	struct bench_loop loop;
	struct io_ctx ctx;
	struct slot *slots;
	int in_time; /* the --runtime deadline not reached at the start of this io_ctx_process() */
	long long in_flight;
	long long ios;
};

static void completed(int result, void *data);

/* Queue the slot's next request. */
static void send_next(struct run *r, struct slot *s)
{
	size_t bs = (size_t)r->loop.opt.bs;
	int key;
	s->offset = bench_loop_next_offset(&r->loop);
	if (r->loop.opt.rw == BENCH_RANDWRITE)
		key = io_ctx_write(&r->ctx, r->loop.fd, s->buffer, bs, s->offset, completed, s);
	else
		key = io_ctx_read(&r->ctx, r->loop.fd, s->buffer, bs, s->offset, completed, s);
	if (key < 0)
		bench_loop_fail(&r->loop, 1, "io_ctx_read/write", -key);
	++r->in_flight;
}

static void completed(int result, void *data)
{
	struct slot *s = data;
	struct run *r = s->run;
	--r->in_flight;
	bench_loop_check_result(&r->loop, result, s->offset);
	++r->ios;
	if (r->in_time && bench_loop_count_left(&r->loop))
		send_next(r, s);
}

static void set_up_slots(struct run *r)
{
	struct io_ctx_options options = IO_CTX_OPTIONS_INIT;
	int depth = r->loop.opt.iodepth;
	int rc;
	r->slots = calloc((size_t)depth, sizeof *r->slots);
	if (!r->slots)
		bench_loop_fail(&r->loop, 1, "calloc", ENOMEM);
	for (int i = 0; i < depth; ++i) {
		r->slots[i].run = r;
		r->slots[i].buffer = bench_loop_buffer(&r->loop, i);
	}
	options.flags =
		IO_CTX_DEFER_SUBMIT | IO_CTX_DIRECT_ONLY; /* bench_loop opens with O_DIRECT */
	rc = io_ctx_create_opts(&r->ctx, depth, NULL, &options);
	if (rc < 0)
		bench_loop_fail(&r->loop, 1, "io_ctx_create_opts", -rc);
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct io_ctx_stats stats;
	int first = 0;
	int rc;

	bench_loop_init(&r.loop, "kaio_loop", argc, argv);
	set_up_slots(&r);

	bench_loop_start(&r.loop);
	while (first < r.loop.opt.iodepth && bench_loop_count_left(&r.loop))
		send_next(&r, &r.slots[first++]);
	while (r.in_flight > 0) {
		r.in_time = bench_loop_time_left(&r.loop);
		rc = io_ctx_process(&r.ctx);
		if (rc < 0)
			bench_loop_fail(&r.loop, 1, "io_ctx_process", -rc);
	}
	rc = io_ctx_get_stats(&r.ctx, &stats);
	if (rc < 0)
		bench_loop_fail(&r.loop, 1, "io_ctx_get_stats", -rc);
	{
		const struct bench_counter counters[] = {
			{"submit_calls", (long long)stats.submit_calls},
			{"getevents_calls", (long long)stats.getevents_calls},
			{"ring_reaps", (long long)stats.ring_reaps}};
		bench_loop_report(&r.loop, r.ios, counters, 3);
	}

	io_ctx_destroy(&r.ctx);
	bench_loop_end(&r.loop);
	free(r.slots);
	return 0;
}
