/*
 * write_read: kaio's C API end to end. It writes a file with O_DIRECT through one io_ctx, 1 MiB
 * per request with 32 requests in flight, each block filled with a pattern derived from its
 * offset. Every completion callback submits the next block, and the context defers submissions
 * (IO_CTX_DEFER_SUBMIT), so whatever one round of io_ctx_process() submits goes to the kernel in
 * one io_submit. Then it makes the data durable with an fdatasync request, reads the whole file
 * back the same way, checks every byte, and prints the throughput of both passes with what the
 * context counted: io_submit calls and waits per I/O.
 *
 *	write_read [PATH [MiB]] [--keep]
 *
 * PATH defaults to ./kaio-demo.dat (created, or overwritten), MiB to 256. The file is removed at
 * the end unless --keep is given. Exit status: 0 when every byte read back matches, else 1.
 */
#define _GNU_SOURCE /* O_DIRECT */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kaio/io_ctx.h>

#define BLOCK_SIZE (1024 * 1024)
#define IN_FLIGHT 32
#define DEFAULT_PATH "./kaio-demo.dat"
#define DEFAULT_MIB 256
#define MAX_MIB (1024L * 1024L) /* 1 TiB: a demo, not a disk filler */

struct pass;

/* One buffer and the block it holds; the callback's data. */
struct slot {
	struct pass *pass;
	unsigned char *buffer;
	long long offset;
};

struct pass {
	struct io_ctx ctx;
	int fd;
	int writing;    /* 1: the write pass, 0: the read pass */
	long long size; /* bytes in the file */
	long long next; /* offset of the next block to submit */
	long long done; /* bytes completed and, when reading, verified */
	int in_flight;
	int error;         /* 0 while all is well */
	char message[256]; /* what went wrong first */
	int tenths_shown;  /* progress reports printed in this pass */
	int terminal;      /* stdout is a terminal: rewrite the progress line in place */
	struct slot slots[IN_FLIGHT];
};

/* Every 8-byte word of the file gets its own value: a block at the wrong place cannot pass. */
static uint64_t pattern_at(long long position)
{
	return ((uint64_t)position / 8 + 1) * UINT64_C(0x9E3779B97F4A7C15);
}

static void fill(unsigned char *buffer, long long offset)
{
	uint64_t *words = (uint64_t *)(void *)buffer;
	size_t i;
	for (i = 0; i < BLOCK_SIZE / 8; i++)
		words[i] = pattern_at(offset + (long long)(i * 8));
}

/* The file position of the first wrong byte in the block, or -1. */
static long long first_mismatch(const unsigned char *buffer, long long offset)
{
	const uint64_t *words = (const uint64_t *)(const void *)buffer;
	size_t i, byte;
	for (i = 0; i < BLOCK_SIZE / 8; i++) {
		uint64_t expected = pattern_at(offset + (long long)(i * 8));
		if (words[i] == expected)
			continue;
		for (byte = 0; byte < 8; byte++) {
			if (buffer[i * 8 + byte] != ((const unsigned char *)&expected)[byte])
				break;
		}
		return offset + (long long)(i * 8 + byte);
	}
	return -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records the first failure; later ones are consequences. */
static void fail(struct pass *pass, const char *what, long long offset, int error)
{
	if (pass->error != 0)
		return;
	pass->error = error < 0 ? error : -EIO;
	snprintf(pass->message, sizeof pass->message, "%s at offset %lld: %s", what, offset,
		 strerror(-pass->error));
}

static void on_complete(int result, void *data);

static int submit_next(struct slot *slot)
{
	struct pass *pass = slot->pass;
	int key;
	slot->offset = pass->next;
	if (pass->writing) {
		fill(slot->buffer, slot->offset);
		key = io_ctx_write(&pass->ctx, pass->fd, slot->buffer, BLOCK_SIZE, slot->offset,
				   on_complete, slot);
	} else {
		key = io_ctx_read(&pass->ctx, pass->fd, slot->buffer, BLOCK_SIZE, slot->offset,
				  on_complete, slot);
	}
	if (key < 0) {
		fail(pass, pass->writing ? "submitting a write" : "submitting a read", slot->offset,
		     key);
		return key;
	}
	pass->next += BLOCK_SIZE;
	pass->in_flight++;
	return 0;
}

/* Runs from io_ctx_process(): checks the block, then reuses the slot for the next one. */
static void on_complete(int result, void *data)
{
	struct slot *slot = data;
	struct pass *pass = slot->pass;
	const char *what = pass->writing ? "write" : "read";
	pass->in_flight--;
	if (result < 0) {
		fail(pass, what, slot->offset, result);
		return;
	}
	if (result != BLOCK_SIZE) {
		char text[64];
		snprintf(text, sizeof text, "short %s (%d of %d bytes)", what, result, BLOCK_SIZE);
		fail(pass, text, slot->offset, -EIO);
		return;
	}
	if (!pass->writing) {
		long long wrong = first_mismatch(slot->buffer, slot->offset);
		if (wrong >= 0 && pass->error == 0) {
			pass->error = -EIO;
			snprintf(pass->message, sizeof pass->message,
				 "data read back differs from what was written, first at byte %lld",
				 wrong);
			return;
		}
	}
	pass->done += BLOCK_SIZE;
	if (pass->error == 0 && pass->next < pass->size)
		submit_next(slot);
}

/*
 * One line, updated at every tenth of the file: rewritten in place on a terminal, extended
 * elsewhere (a log keeps every carriage return).
 */
static void show_progress(struct pass *pass, const char *label)
{
	int tenths = (int)(pass->done * 10 / pass->size);
	int percent = (int)(pass->done * 100 / pass->size);
	long long mib = pass->done / BLOCK_SIZE;
	if (tenths <= pass->tenths_shown)
		return;
	if (pass->terminal)
		printf("\r%-8s %3d%%  %lld MiB", label, percent, mib);
	else if (pass->tenths_shown == 0)
		printf("%-8s %d%% (%lld MiB)", label, percent, mib);
	else
		printf(", %d%% (%lld MiB)", percent, mib);
	pass->tenths_shown = tenths;
	if (tenths == 10)
		printf("\n");
	fflush(stdout);
}

/* Writes or reads the whole file: 0, or -1 with the reason in pass->message. */
static int run_pass(struct pass *pass, int writing)
{
	const char *label = writing ? "writing" : "reading";
	int i;
	pass->writing = writing;
	pass->next = 0;
	pass->done = 0;
	pass->tenths_shown = 0;
	for (i = 0; i < IN_FLIGHT && pass->next < pass->size; i++) {
		if (submit_next(&pass->slots[i]) < 0)
			break;
	}
	while (pass->in_flight > 0) {
		int rc = io_ctx_process(&pass->ctx);
		if (rc < 0) {
			fail(pass, "waiting for completions", pass->next, rc);
			break;
		}
		if (pass->error == 0)
			show_progress(pass, label);
	}
	if (pass->error != 0) {
		if (pass->tenths_shown > 0 && pass->tenths_shown < 10)
			printf("\n");
		return -1;
	}
	return 0;
}

struct sync_result {
	int result;
	int done;
};

static void on_synced(int result, void *data)
{
	struct sync_result *sync = data;
	sync->result = result;
	sync->done = 1;
}

/* fdatasync(2) as a request of the same context: the written blocks reach stable storage. */
static int sync_file(struct pass *pass)
{
	struct sync_result sync = {0, 0};
	int rc = io_ctx_fdsync(&pass->ctx, pass->fd, on_synced, &sync);
	while (rc >= 0 && !sync.done)
		rc = io_ctx_process(&pass->ctx);
	if (rc < 0 || sync.result < 0) {
		fail(pass, "fdatasync", 0, rc < 0 ? rc : sync.result);
		return -1;
	}
	return 0;
}

static int usage(const char *program)
{
	fprintf(stderr, "usage: %s [PATH [MiB]] [--keep]\n", program);
	fprintf(stderr, "  PATH  file to write, overwritten (default %s)\n", DEFAULT_PATH);
	fprintf(stderr, "  MiB   size of the file, 1..%ld (default %d)\n", MAX_MIB, DEFAULT_MIB);
	fprintf(stderr, "  --keep  leave the file in place at the end\n");
	return 1;
}

static double per_io(unsigned long long count, unsigned long long ios)
{
	return ios == 0 ? 0.0 : (double)count / (double)ios;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_PATH;
	long mib = DEFAULT_MIB;
	int keep = 0, positional = 0, created = 0, status = 1, i, rc;
	double start, write_seconds, read_seconds;
	struct io_ctx_options options = IO_CTX_OPTIONS_INIT;
	struct io_ctx_stats stats;
	static struct pass pass; /* large: 32 slots; zeroed, so io_ctx_destroy is harmless early */

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(argv[0]);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
			return usage(argv[0]);
		} else if (positional == 0) {
			path = argv[i];
			positional++;
		} else if (positional == 1) {
			char *end;
			errno = 0;
			mib = strtol(argv[i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || mib < 1 ||
			    mib > MAX_MIB) {
				fprintf(stderr, "%s: size must be whole MiB, 1..%ld: %s\n", argv[0],
					MAX_MIB, argv[i]);
				return usage(argv[0]);
			}
			positional++;
		} else {
			return usage(argv[0]);
		}
	}

	pass.fd = -1;
	pass.terminal = isatty(STDOUT_FILENO);
	pass.size = (long long)mib * BLOCK_SIZE;
	for (i = 0; i < IN_FLIGHT; i++) {
		void *memory = NULL;
		/* O_DIRECT wants aligned memory; 4096 suits every device's logical block size. */
		if ((rc = posix_memalign(&memory, 4096, BLOCK_SIZE)) != 0) {
			fprintf(stderr, "%s: cannot allocate buffers: %s\n", argv[0], strerror(rc));
			goto out;
		}
		pass.slots[i].pass = &pass;
		pass.slots[i].buffer = memory;
	}

	pass.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
	if (pass.fd < 0) {
		int error = errno;
		fprintf(stderr, "%s: cannot open %s with O_DIRECT: %s%s\n", argv[0], path,
			strerror(error),
			error == EINVAL ? " (does this filesystem support O_DIRECT?)" : "");
		goto out;
	}
	created = 1;

	options.flags = IO_CTX_DEFER_SUBMIT;
	if ((rc = io_ctx_create_opts(&pass.ctx, IN_FLIGHT, NULL, &options)) < 0) {
		fprintf(stderr, "%s: io_ctx_create_opts: %s%s\n", argv[0], strerror(-rc),
			rc == -EAGAIN ? " (/proc/sys/fs/aio-max-nr reached)" : "");
		goto out;
	}

	printf("%s: %ld MiB in %d KiB requests, %d in flight\n", path, mib, BLOCK_SIZE / 1024,
	       IN_FLIGHT);
	start = now();
	if (run_pass(&pass, 1) < 0 || sync_file(&pass) < 0)
		goto failed;
	write_seconds = now() - start; /* the data is on stable storage only after the sync */
	start = now();
	if (run_pass(&pass, 0) < 0)
		goto failed;
	read_seconds = now() - start;

	io_ctx_get_stats(&pass.ctx, &stats);
	printf("verified: all %ld MiB read back as written\n", mib);
	printf("write:    %8.1f MiB/s (%.3f s, with fdatasync)\n", (double)mib / write_seconds,
	       write_seconds);
	printf("read:     %8.1f MiB/s (%.3f s)\n", (double)mib / read_seconds, read_seconds);
	printf("requests: %llu; io_submit calls: %llu (%.2f per I/O); waits: %llu (%.2f per I/O)\n",
	       stats.submitted, stats.submit_calls, per_io(stats.submit_calls, stats.submitted),
	       stats.waits, per_io(stats.waits, stats.submitted));
	status = 0;
	goto out;

failed:
	fprintf(stderr, "%s: %s: %s\n", argv[0], path, pass.message);
out:
	/* Waits for whatever is still in flight before the buffers go. */
	io_ctx_destroy(&pass.ctx);
	for (i = 0; i < IN_FLIGHT; i++)
		free(pass.slots[i].buffer);
	if (pass.fd >= 0)
		close(pass.fd);
	if (created && !keep && unlink(path) != 0) {
		fprintf(stderr, "%s: cannot remove %s: %s\n", argv[0], path, strerror(errno));
		status = 1;
	}
	return status;
}
