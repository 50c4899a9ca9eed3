/* What raw_libaio and kaio_loop share: see bench_loop.h. */
#define _GNU_SOURCE /* O_DIRECT, getopt_long */

#include "bench_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void usage_error(const struct bench_loop *loop, const char *what)
{
	fprintf(stderr, "%s: %s\n", loop->program, what);
	exit(2);
}

/* Bytes, or a number with k, m, g or t (powers of 1024, optional b), as kaio-bench reads them. */
static long long parse_size(const struct bench_loop *loop, const char *text)
{
	char *end;
	long long value;
	int shift = 0;
	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || value < 0)
		usage_error(loop, "bad size");
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		++end;
		break;
	case 'm':
	case 'M':
		shift = 20;
		++end;
		break;
	case 'g':
	case 'G':
		shift = 30;
		++end;
		break;
	case 't':
	case 'T':
		shift = 40;
		++end;
		break;
	default: break;
	}
	if (*end == 'b' || *end == 'B')
		++end;
	if (*end != '\0' || value > (LLONG_MAX >> shift))
		usage_error(loop, "bad size");
	return value << shift;
}

static enum bench_pattern parse_rw(const struct bench_loop *loop, const char *text)
{
	if (strcmp(text, "randread") == 0)
		return BENCH_RANDREAD;
	if (strcmp(text, "randwrite") == 0)
		return BENCH_RANDWRITE;
	if (strcmp(text, "read") == 0)
		return BENCH_READ;
	usage_error(loop, "--rw must be randread, randwrite or read");
	return BENCH_READ;
}

static void parse_options(struct bench_loop *loop, int argc, char **argv)
{
	static const struct option longs[] = {{"filename", required_argument, NULL, 'f'},
					      {"size", required_argument, NULL, 's'},
					      {"bs", required_argument, NULL, 'b'},
					      {"iodepth", required_argument, NULL, 'd'},
					      {"runtime", required_argument, NULL, 't'},
					      {"number_ios", required_argument, NULL, 'n'},
					      {"rw", required_argument, NULL, 'r'},
					      {NULL, 0, NULL, 0}};
	struct bench_options *opt = &loop->opt;
	int runtime_given = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'f': opt->filename = optarg; break;
		case 's': opt->size = parse_size(loop, optarg); break;
		case 'b': opt->bs = parse_size(loop, optarg); break;
		case 'd': opt->iodepth = atoi(optarg); break;
		case 't':
			opt->runtime_s = atof(optarg);
			runtime_given = 1;
			break;
		case 'n': opt->number_ios = parse_size(loop, optarg); break;
		case 'r': opt->rw = parse_rw(loop, optarg); break;
		default: exit(2);
		}
	}
	if (optind < argc)
		usage_error(loop, "unexpected argument");
	/* As with kaio-bench: --number_ios alone ends the run unless --runtime is given too. */
	if (opt->number_ios > 0 && !runtime_given)
		opt->runtime_s = 0;
	if (opt->bs <= 0 || opt->bs % 512 || opt->bs > opt->size || opt->bs > 0x7ffff000L)
		usage_error(loop, "--bs must be a multiple of 512, no larger than --size");
	if (opt->size % 512)
		usage_error(loop, "--size must be a multiple of 512");
	if (opt->iodepth < 1 || opt->iodepth > 65535)
		usage_error(loop, "--iodepth must be 1 to 65535");
	if (opt->runtime_s < 0 || (opt->runtime_s == 0 && opt->number_ios == 0))
		usage_error(loop, "give --runtime or --number_ios");
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

static void open_file(struct bench_loop *loop)
{
	const struct bench_options *opt = &loop->opt;
	int flags = (opt->rw == BENCH_RANDWRITE ? O_RDWR : O_RDONLY) | O_DIRECT;
	off_t length;
	loop->fd = open(opt->filename, flags);
	if (loop->fd < 0)
		bench_loop_fail(loop, 2, opt->filename, errno);
	length = lseek(loop->fd, 0, SEEK_END); /* the size of a regular file or a block device */
	if (length < opt->size) {
		fprintf(stderr,
			"%s: %s holds %lld bytes, less than --size %lld "
			"(let kaio-bench create it)\n",
			loop->program, opt->filename, (long long)length, opt->size);
		exit(2);
	}
}

/* One aligned buffer per slot; writes carry a fixed pattern. */
static void allocate_buffers(struct bench_loop *loop)
{
	size_t total = (size_t)loop->opt.iodepth * (size_t)loop->opt.bs;
	void *buffers;
	int rc = posix_memalign(&buffers, 4096, total);
	if (rc)
		bench_loop_fail(loop, 1, "posix_memalign", rc);
	memset(buffers, 0xa5, total);
	loop->buffers = buffers;
}

void bench_loop_init(struct bench_loop *loop, const char *program, int argc, char **argv)
{
	static const struct bench_options defaults = {"kaio-bench.dat", 1LL << 30, 4096, 32, 10, 0,
						      BENCH_RANDREAD};
	memset(loop, 0, sizeof *loop);
	loop->opt = defaults;
	loop->program = program;
	loop->fd = -1;
	loop->rng = 0x9e3779b97f4a7c15ULL;
	parse_options(loop, argc, argv);
	open_file(loop);
	allocate_buffers(loop);
}

void bench_loop_start(struct bench_loop *loop)
{
	loop->cpu_start_s = cpu_s();
	loop->start_s = now_s();
	loop->deadline_s = loop->start_s + loop->opt.runtime_s;
}

int bench_loop_before_deadline(const struct bench_loop *loop)
{
	return now_s() < loop->deadline_s;
}

void bench_loop_io_error(const struct bench_loop *loop, long result, long long offset)
{
	fprintf(stderr, "%s: I/O at offset %lld: %s\n", loop->program, offset,
		result < 0 ? strerror((int)-result) : "short transfer");
	exit(1);
}

void bench_loop_fail(const struct bench_loop *loop, int status, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", loop->program, what, strerror(err));
	exit(status);
}

void bench_loop_report(const struct bench_loop *loop, long long ios,
		       const struct bench_counter *counters, int count)
{
	double elapsed = now_s() - loop->start_s;
	double cpu = cpu_s() - loop->cpu_start_s;
	double bytes = (double)ios * (double)loop->opt.bs;
	printf("{\"iops\": %.1f, \"bw_bytes\": %.0f, \"ios\": %lld, \"elapsed_s\": %.6f, "
	       "\"cpu_us_per_io\": %.4f",
	       (double)ios / elapsed, bytes / elapsed, ios, elapsed,
	       ios ? cpu * 1e6 / (double)ios : 0.0);
	for (int i = 0; i < count; ++i)
		printf(", \"%s\": %lld", counters[i].name, counters[i].value);
	printf("}\n");
}

void bench_loop_end(struct bench_loop *loop)
{
	if (loop->fd >= 0)
		close(loop->fd);
	loop->fd = -1;
	free(loop->buffers);
	loop->buffers = NULL;
}
