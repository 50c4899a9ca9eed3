/*
 * The C API as a C99 program uses it: create, write, read back, vectors, syncs, cancel, destroy.
 * Prints one line per check; exits 0 when all pass, 1 on any failure, 77 (skip) when the
 * filesystem under $KAIO_TEST_DIR (else /tmp) refuses O_DIRECT.
 */
#define _GNU_SOURCE /* O_DIRECT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <kaio/io_ctx.h>

#define BLOCK 4096
#define BLOCKS 4

static int checks;
static int failures;

static void check(int ok, const char *what, long long got, long long want)
{
	++checks;
	if (ok) {
		printf("ok   %s\n", what);
	} else {
		++failures;
		printf("FAIL %s: got %lld, want %lld\n", what, got, want);
	}
}

static void check_eq(const char *what, long long got, long long want)
{
	check(got == want, what, got, want);
}

struct completion {
	int calls;
	int result;
};

static void record(int result, void *data)
{
	struct completion *done = data;
	++done->calls;
	done->result = result;
}

/* Runs completions until `count` callbacks of `done` have run; returns 0 or a negative errno. */
static int wait_for(struct io_ctx *ctx, const struct completion *done, int count)
{
	int i;
	for (;;) {
		int pending = 0;
		for (i = 0; i < count; ++i)
			pending += done[i].calls == 0;
		if (pending == 0)
			return 0;
		i = io_ctx_process(ctx);
		if (i < 0)
			return i;
		if (i == 0)
			return -EDEADLK; /* nothing in flight, yet callbacks missing */
	}
}

static void *aligned(size_t size)
{
	void *memory = NULL;
	if (posix_memalign(&memory, BLOCK, size) != 0)
		return NULL;
	memset(memory, 0, size);
	return memory;
}

static int run(int fd)
{
	struct io_ctx ctx = {0};
	struct io_ctx_stats stats;
	struct completion done[BLOCKS];
	struct completion vector_done, sync_done[2];
	struct iovec iov[3];
	unsigned char *written = aligned(BLOCKS * BLOCK);
	unsigned char *readback = aligned(BLOCKS * BLOCK);
	unsigned char *pieces = aligned(BLOCKS * BLOCK);
	int i, key, last_key = 0;

	if (written == NULL || readback == NULL || pieces == NULL) {
		printf("FAIL out of memory\n");
		return 1;
	}
	check_eq("io_ctx_create", io_ctx_create(&ctx, 8, NULL), 0);

	for (i = 0; i < BLOCKS * BLOCK; ++i)
		written[i] = (unsigned char)(i * 7 + i / BLOCK);
	memset(done, 0, sizeof done);
	for (i = 0; i < BLOCKS; ++i) {
		key = io_ctx_write(&ctx, fd, written + i * BLOCK, BLOCK, (long long)i * BLOCK,
				   record, &done[i]);
		check(key > 0, "io_ctx_write returns a key", key, 1);
	}
	check_eq("writes complete", wait_for(&ctx, done, BLOCKS), 0);
	for (i = 0; i < BLOCKS; ++i) {
		check_eq("write callback ran once", done[i].calls, 1);
		check_eq("write result is the length", done[i].result, BLOCK);
	}

	memset(done, 0, sizeof done);
	for (i = 0; i < BLOCKS; ++i) {
		key = io_ctx_read(&ctx, fd, readback + i * BLOCK, BLOCK, (long long)i * BLOCK,
				  record, &done[i]);
		check(key > 0, "io_ctx_read returns a key", key, 1);
		last_key = key;
	}
	check_eq("reads complete", wait_for(&ctx, done, BLOCKS), 0);
	for (i = 0; i < BLOCKS; ++i) {
		check_eq("read callback ran once", done[i].calls, 1);
		check_eq("read result is the length", done[i].result, BLOCK);
	}
	check_eq("read bytes equal written bytes", memcmp(readback, written, BLOCKS * BLOCK), 0);

	/* Three pieces of different lengths, written one after another at BLOCKS * BLOCK. */
	iov[0].iov_base = written;
	iov[0].iov_len = 512;
	iov[1].iov_base = written + BLOCK;
	iov[1].iov_len = 1024;
	iov[2].iov_base = written + 2 * BLOCK;
	iov[2].iov_len = 2048;
	memset(&vector_done, 0, sizeof vector_done);
	key = io_ctx_pwrite(&ctx, fd, iov, 3, BLOCKS * BLOCK, record, &vector_done);
	check(key > 0, "io_ctx_pwrite returns a key", key, 1);
	check_eq("pwrite completes", wait_for(&ctx, &vector_done, 1), 0);
	check_eq("pwrite result is the total", vector_done.result, 512 + 1024 + 2048);

	iov[0].iov_base = pieces;
	iov[1].iov_base = pieces + BLOCK;
	iov[2].iov_base = pieces + 2 * BLOCK;
	memset(&vector_done, 0, sizeof vector_done);
	key = io_ctx_pread(&ctx, fd, iov, 3, BLOCKS * BLOCK, record, &vector_done);
	check(key > 0, "io_ctx_pread returns a key", key, 1);
	check_eq("pread completes", wait_for(&ctx, &vector_done, 1), 0);
	check_eq("pread result is the total", vector_done.result, 512 + 1024 + 2048);
	check_eq("pread piece 1", memcmp(pieces, written, 512), 0);
	check_eq("pread piece 2", memcmp(pieces + BLOCK, written + BLOCK, 1024), 0);
	check_eq("pread piece 3", memcmp(pieces + 2 * BLOCK, written + 2 * BLOCK, 2048), 0);

	memset(sync_done, 0, sizeof sync_done);
	key = io_ctx_fsync(&ctx, fd, record, &sync_done[0]);
	check(key > 0, "io_ctx_fsync returns a key", key, 1);
	key = io_ctx_fdsync(&ctx, fd, record, &sync_done[1]);
	check(key > 0, "io_ctx_fdsync returns a key", key, 1);
	check_eq("syncs complete", wait_for(&ctx, sync_done, 2), 0);
	check_eq("fsync result", sync_done[0].result, 0);
	check_eq("fdsync result", sync_done[1].result, 0);

	check_eq("cancel of a key never issued", io_ctx_cancel(&ctx, 0x12345), -ENOENT);
	check_eq("cancel of a finished request", io_ctx_cancel(&ctx, last_key), -ENOENT);
	check_eq("refused: unaligned length",
		 io_ctx_write(&ctx, fd, written, 100, 0, record, &vector_done), -EINVAL);
	check_eq("refused: negative fd", io_ctx_fsync(&ctx, -1, record, &vector_done), -EBADF);

	check_eq("io_ctx_get_stats", io_ctx_get_stats(&ctx, &stats), 0);
	check_eq("stats: submitted", (long long)stats.submitted, 2 * BLOCKS + 4);
	check_eq("stats: completed", (long long)stats.completed, 2 * BLOCKS + 4);
	check_eq("stats: in kernel", stats.in_kernel, 0);
	check_eq("process with nothing in flight", io_ctx_process(&ctx), 0);

	io_ctx_destroy(&ctx);
	io_ctx_destroy(&ctx); /* harmless */
	check_eq("destroyed context refused", io_ctx_process(&ctx), -EINVAL);

	free(written);
	free(readback);
	free(pieces);
	return failures == 0 ? 0 : 1;
}

int main(void)
{
	const char *base = getenv("KAIO_TEST_DIR");
	char directory[4096];
	char path[4200];
	int fd, status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(directory, sizeof directory, "%s/kaio-c-XXXXXX", base);
	if (mkdtemp(directory) == NULL) {
		printf("skip: cannot create a directory in %s: %s\n", base, strerror(errno));
		return 77;
	}
	snprintf(path, sizeof path, "%s/data", directory);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		printf("skip: cannot open an O_DIRECT file in %s: %s\n", directory,
		       strerror(errno));
		rmdir(directory);
		return 77;
	}
	status = run(fd);
	close(fd);
	unlink(path);
	rmdir(directory);
	printf("%d checks, %d failed\n", checks, failures);
	return status;
}
