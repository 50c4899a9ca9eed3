/*
 * raw_libaio: the floor that kaio's figures are measured against. A minimal, hand-written libaio
 * loop with nothing between the program and the kernel: io_setup(iodepth), one io_submit of
 * iodepth requests, then "reap a batch, submit a batch": io_getevents(ctx, 1, iodepth) blocks
 * until at least one request has completed, and every completed request is sent again with its
 * next offset in one io_submit. No callbacks, no eventfd, no latency clock: whatever kaio (or
 * fio) does beyond this loop is their overhead. Takes a subset of kaio-bench's options:
 *
 *   raw_libaio [--filename kaio-bench.dat] [--size 1g] [--bs 4k] [--iodepth 32]
 *              [--runtime 10 | --number_ios N] [--rw randread|randwrite|read]
 *
 * The file (or block device) must exist and be at least --size long: let kaio-bench create it.
 * Offsets come from a xorshift64* generator with a fixed seed. Prints one JSON object on stdout:
 * iops, bw_bytes, ios, elapsed_s, cpu_us_per_io (user + system, from getrusage),
 * submit_calls and getevents_calls. Exits 1 on an I/O error, 2 on bad input.
 */
#define _GNU_SOURCE /* O_DIRECT, getopt_long */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libaio.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum pattern { RANDREAD, RANDWRITE, READ };

struct options {
	const char *filename;
	long long size;
	long long bs;
	int iodepth;
	double runtime_s; /* 0: no time limit */
	long long number_ios; /* 0: no count limit */
	enum pattern rw;
};

struct run {
	const struct options *opt;
	int fd;
	io_context_t ctx;
	struct iocb *iocbs;     /* one per slot, each with its own buffer */
	struct iocb **batch;    /* the requests of one io_submit */
	struct io_event *events;
	uint64_t rng;           /* xorshift64* state */
	long long next_block;   /* sequential reads */
	long long issued;
	long long in_flight;
	long long ios;
	long long submit_calls;
	long long getevents_calls;
};

static void fail(int status, const char *what, int err)
{
	fprintf(stderr, "raw_libaio: %s: %s\n", what, strerror(err));
	exit(status);
}

static void usage_error(const char *what)
{
	fprintf(stderr, "raw_libaio: %s\n", what);
	exit(2);
}

/* Bytes, or a number with k, m, g or t (powers of 1024, optional b), as kaio-bench reads them. */
static long long parse_size(const char *text)
{
	char *end;
	long long value;
	int shift = 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || value < 0)
		usage_error("bad size");
	switch (*end) {
	case 'k': case 'K': shift = 10; ++end; break;
	case 'm': case 'M': shift = 20; ++end; break;
	case 'g': case 'G': shift = 30; ++end; break;
	case 't': case 'T': shift = 40; ++end; break;
	default: break;
	}
	if (*end == 'b' || *end == 'B')
		++end;
	if (*end != '\0' || value > (LLONG_MAX >> shift))
		usage_error("bad size");
	return value << shift;
}

static enum pattern parse_rw(const char *text)
{
	if (strcmp(text, "randread") == 0)
		return RANDREAD;
	if (strcmp(text, "randwrite") == 0)
		return RANDWRITE;
	if (strcmp(text, "read") == 0)
		return READ;
	usage_error("--rw must be randread, randwrite or read");
	return READ;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longs[] = {
		{"filename", required_argument, NULL, 'f'}, {"size", required_argument, NULL, 's'},
		{"bs", required_argument, NULL, 'b'},       {"iodepth", required_argument, NULL, 'd'},
		{"runtime", required_argument, NULL, 't'},  {"number_ios", required_argument, NULL, 'n'},
		{"rw", required_argument, NULL, 'r'},       {NULL, 0, NULL, 0}};
	int runtime_given = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'f': opt->filename = optarg; break;
		case 's': opt->size = parse_size(optarg); break;
		case 'b': opt->bs = parse_size(optarg); break;
		case 'd': opt->iodepth = atoi(optarg); break;
		case 't': opt->runtime_s = atof(optarg); runtime_given = 1; break;
		case 'n': opt->number_ios = parse_size(optarg); break;
		case 'r': opt->rw = parse_rw(optarg); break;
		default: exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument");
	/* As with kaio-bench: --number_ios alone ends the run unless --runtime is given too. */
	if (opt->number_ios > 0 && !runtime_given)
		opt->runtime_s = 0;
	if (opt->bs <= 0 || opt->bs % 512 || opt->bs > opt->size || opt->bs > 0x7ffff000L)
		usage_error("--bs must be a multiple of 512, no larger than --size");
	if (opt->size % 512)
		usage_error("--size must be a multiple of 512");
	if (opt->iodepth < 1 || opt->iodepth > 65535)
		usage_error("--iodepth must be 1 to 65535");
	if (opt->runtime_s < 0 || (opt->runtime_s == 0 && opt->number_ios == 0))
		usage_error("give --runtime or --number_ios");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	       (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void open_file(struct run *r)
{
	const struct options *opt = r->opt;
	int flags = (opt->rw == RANDWRITE ? O_RDWR : O_RDONLY) | O_DIRECT;
	off_t length;
	r->fd = open(opt->filename, flags);
	if (r->fd < 0)
		fail(2, opt->filename, errno);
	length = lseek(r->fd, 0, SEEK_END); /* the size of a regular file or a block device */
	if (length < opt->size) {
		fprintf(stderr, "raw_libaio: %s holds %lld bytes, less than --size %lld "
				"(let kaio-bench create it)\n",
			opt->filename, (long long)length, opt->size);
		exit(2);
	}
}

/* One aligned buffer per slot; writes carry a fixed pattern. */
static void set_up_slots(struct run *r)
{
	const struct options *opt = r->opt;
	size_t depth = (size_t)opt->iodepth;
	size_t bs = (size_t)opt->bs;
	unsigned char *buffers;
	int rc = posix_memalign((void **)&buffers, 4096, depth * bs);
	if (rc)
		fail(1, "posix_memalign", rc);
	memset(buffers, 0xa5, depth * bs);
	r->iocbs = calloc(depth, sizeof *r->iocbs);
	r->batch = calloc(depth, sizeof *r->batch);
	r->events = calloc(depth, sizeof *r->events);
	if (!r->iocbs || !r->batch || !r->events)
		fail(1, "calloc", ENOMEM);
	for (size_t i = 0; i < depth; ++i)
		r->iocbs[i].u.c.buf = buffers + i * bs;
	rc = io_setup(opt->iodepth, &r->ctx);
	if (rc < 0)
		fail(1, "io_setup", -rc);
}

static long long next_offset(struct run *r)
{
	long long blocks = r->opt->size / r->opt->bs;
	uint64_t x = r->rng;
	if (r->opt->rw == READ) {
		long long block = r->next_block;
		r->next_block = (block + 1) % blocks;
		return block * r->opt->bs;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return (long long)((x * 0x2545f4914f6cdd1dULL) % (uint64_t)blocks) * r->opt->bs;
}

/* Point the slot's request at its next offset (io_prep_* keep the buffer, reset the rest). */
static void prepare(struct run *r, struct iocb *io)
{
	void *buf = io->u.c.buf;
	size_t bs = (size_t)r->opt->bs;
	if (r->opt->rw == RANDWRITE)
		io_prep_pwrite(io, r->fd, buf, bs, next_offset(r));
	else
		io_prep_pread(io, r->fd, buf, bs, next_offset(r));
	++r->issued;
}

/* Submit the first `count` requests of r->batch, again for those the kernel did not take. */
static void submit(struct run *r, int count)
{
	int done = 0;
	while (done < count) {
		int rc = io_submit(r->ctx, count - done, r->batch + done);
		++r->submit_calls;
		if (rc <= 0) /* 0: the kernel took none, which would loop forever */
			fail(1, "io_submit", rc < 0 ? -rc : EAGAIN);
		done += rc;
	}
	r->in_flight += count;
}

static int time_left(const struct run *r, double deadline)
{
	return r->opt->runtime_s == 0 || now_s() < deadline;
}

static int count_left(const struct run *r)
{
	return r->opt->number_ios == 0 || r->issued < r->opt->number_ios;
}

/* Reap at least one completion; return how many requests to resubmit (in r->batch). */
static int reap(struct run *r, double deadline)
{
	int count = io_getevents(r->ctx, 1, r->opt->iodepth, r->events, NULL);
	int again = 0;
	int in_time;
	++r->getevents_calls;
	if (count < 0)
		fail(1, "io_getevents", -count);
	r->in_flight -= count;
	in_time = time_left(r, deadline);
	for (int i = 0; i < count; ++i) {
		struct io_event *event = &r->events[i];
		long res = (long)event->res;
		if (res != r->opt->bs) {
			fprintf(stderr, "raw_libaio: I/O at offset %lld: %s\n", event->obj->u.c.offset,
				res < 0 ? strerror((int)-res) : "short transfer");
			exit(1);
		}
		++r->ios;
		if (in_time && count_left(r)) {
			prepare(r, event->obj);
			r->batch[again++] = event->obj;
		}
	}
	return again;
}

static void print_report(const struct run *r, double elapsed, double cpu)
{
	double bytes = (double)r->ios * (double)r->opt->bs;
	printf("{\"iops\": %.1f, \"bw_bytes\": %.0f, \"ios\": %lld, \"elapsed_s\": %.6f, "
	       "\"cpu_us_per_io\": %.4f, \"submit_calls\": %lld, \"getevents_calls\": %lld}\n",
	       (double)r->ios / elapsed, bytes / elapsed, r->ios, elapsed,
	       r->ios ? cpu * 1e6 / (double)r->ios : 0.0, r->submit_calls, r->getevents_calls);
}

int main(int argc, char **argv)
{
	struct options opt = {"kaio-bench.dat", 1LL << 30, 4096, 32, 10, 0, RANDREAD};
	struct run r;
	double start, deadline, cpu_start;
	int first = 0;

	parse_options(argc, argv, &opt);
	memset(&r, 0, sizeof r);
	r.opt = &opt;
	r.rng = 0x9e3779b97f4a7c15ULL;
	open_file(&r);
	set_up_slots(&r);

	cpu_start = cpu_s();
	start = now_s();
	deadline = start + opt.runtime_s;
	while (first < opt.iodepth && count_left(&r)) {
		prepare(&r, &r.iocbs[first]);
		r.batch[first] = &r.iocbs[first];
		++first;
	}
	submit(&r, first);
	while (r.in_flight > 0)
		submit(&r, reap(&r, deadline));
	print_report(&r, now_s() - start, cpu_s() - cpu_start);

	io_destroy(r.ctx);
	close(r.fd);
	return 0;
}
