/*
 * What raw_libaio and kaio_loop share, so that the two loops differ only in the calls that send
 * and reap requests: the options (a subset of kaio-bench's), the file, the per-slot buffers, the
 * offsets (a xorshift64* generator with a fixed seed, or sequential blocks), the clocks and the
 * JSON report. Each program owns one struct bench_loop:
 *
 *   bench_loop_init(&loop, "name", argc, argv);   options, file, buffers (exit 2 on bad input)
 *   bench_loop_start(&loop);                      the clocks start
 *   ... bench_loop_next_offset(), bench_loop_may_continue(), bench_loop_check_result() ...
 *   bench_loop_report(&loop, ios, counters, n);   one JSON object on stdout
 *   bench_loop_end(&loop);
 */
#ifndef KAIO_BENCH_LOOP_H
#define KAIO_BENCH_LOOP_H

#include <stddef.h>
#include <stdint.h>

enum bench_pattern { BENCH_RANDREAD, BENCH_RANDWRITE, BENCH_READ };

struct bench_options {
	const char *filename;
	long long size;
	long long bs;
	int iodepth;
	double runtime_s;     /* 0: no time limit */
	long long number_ios; /* 0: no count limit */
	enum bench_pattern rw;
};

struct bench_loop {
	struct bench_options opt;
	const char *program; /* the prefix of error messages */
	int fd;
	unsigned char *buffers; /* iodepth buffers of bs bytes, 4096-aligned */
	uint64_t rng;           /* xorshift64* state */
	long long next_block;   /* sequential reads */
	long long issued;       /* offsets handed out */
	double start_s;
	double deadline_s;
	double cpu_start_s;
};

/* A counter of the program's own to print after the common keys. */
struct bench_counter {
	const char *name;
	long long value;
};

/*
 * Parses
 *   [--filename kaio-bench.dat] [--size 1g] [--bs 4k] [--iodepth 32]
 *   [--runtime 10 | --number_ios N] [--rw randread|randwrite|read]
 * opens the file (which must hold at least --size bytes) with O_DIRECT and allocates the
 * buffers (writes carry a fixed pattern). Exits 2 on bad input, 1 on other failures.
 */
void bench_loop_init(struct bench_loop *loop, const char *program, int argc, char **argv);

/* Starts the clocks (wall and CPU) and the --runtime deadline. */
void bench_loop_start(struct bench_loop *loop);

/* The buffer of slot `slot` (0 .. iodepth - 1). */
static inline void *bench_loop_buffer(const struct bench_loop *loop, int slot)
{
	return loop->buffers + (size_t)slot * (size_t)loop->opt.bs;
}

/* The offset of the next request; counts it as issued. */
static inline long long bench_loop_next_offset(struct bench_loop *loop)
{
	long long blocks = loop->opt.size / loop->opt.bs;
	uint64_t x = loop->rng;
	++loop->issued;
	if (loop->opt.rw == BENCH_READ) {
		long long block = loop->next_block;
		loop->next_block = (block + 1) % blocks;
		return block * loop->opt.bs;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	loop->rng = x;
	return (long long)((x * 0x2545f4914f6cdd1dULL) % (uint64_t)blocks) * loop->opt.bs;
}

/* Whether --number_ios allows another request. */
static inline int bench_loop_count_left(const struct bench_loop *loop)
{
	return loop->opt.number_ios == 0 || loop->issued < loop->opt.number_ios;
}

/* Whether the --runtime deadline is still ahead (reads the clock). */
int bench_loop_before_deadline(const struct bench_loop *loop);

/* Whether --runtime allows more requests (reads the clock only when --runtime is set). */
static inline int bench_loop_time_left(const struct bench_loop *loop)
{
	return loop->opt.runtime_s == 0 || bench_loop_before_deadline(loop);
}

/* Prints what went wrong with the request at `offset` on stderr and exits 1. */
void bench_loop_io_error(const struct bench_loop *loop, long result, long long offset);

/* Exits 1 with a message unless `result` (bytes or a negative errno) is a full block. */
static inline void bench_loop_check_result(const struct bench_loop *loop, long result,
					   long long offset)
{
	if (result != loop->opt.bs)
		bench_loop_io_error(loop, result, offset);
}

/* Prints "program: what: strerror(err)" on stderr and exits with `status`. */
void bench_loop_fail(const struct bench_loop *loop, int status, const char *what, int err);

/*
 * Prints one JSON object on stdout: iops, bw_bytes, ios, elapsed_s, cpu_us_per_io (user +
 * system, from getrusage, since bench_loop_start), then the `count` counters given.
 */
void bench_loop_report(const struct bench_loop *loop, long long ios,
		       const struct bench_counter *counters, int count);

/* Closes the file and frees the buffers. */
void bench_loop_end(struct bench_loop *loop);

#endif /* KAIO_BENCH_LOOP_H */
