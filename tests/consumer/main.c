/*
 * A C99 program using kaio as a user's project does: writes a block through an io_ctx, reads it
 * back, compares, and checks that the loaded library is the version of the headers. Exits 0 when
 * all holds, 1 on any failure, 77 (skip) when $KAIO_TEST_DIR (else /tmp) refuses O_DIRECT.
 */
#define _GNU_SOURCE /* O_DIRECT, mkdtemp */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kaio/io_ctx.h>
#include <kaio/version.h>

#define BLOCK 4096
#define PENDING 1 /* impossible as a result: a callback sets a length or a negative errno */

static void record(int result, void *data)
{
	*(int *)data = result;
}

/* Submits one block's write or read and runs completions until its callback has run. */
static int transfer(struct io_ctx *ctx, int fd, void *block, int write)
{
	int result = PENDING;
	int rc = write ? io_ctx_write(ctx, fd, block, BLOCK, 0, record, &result)
		       : io_ctx_read(ctx, fd, block, BLOCK, 0, record, &result);
	while (rc > 0 && result == PENDING)
		rc = io_ctx_process(ctx);
	return rc < 0 ? rc : result;
}

static int write_and_read_back(int fd)
{
	struct io_ctx ctx;
	void *written = NULL;
	void *read = NULL;
	int wrote = -ENOMEM;
	int got = -ENOMEM;
	int same = 0;
	int rc = io_ctx_create(&ctx, 4, NULL);
	if (rc < 0) {
		printf("io_ctx_create: %s\n", strerror(-rc));
		return 1;
	}
	if (posix_memalign(&written, BLOCK, BLOCK) == 0 &&
	    posix_memalign(&read, BLOCK, BLOCK) == 0) {
		int i;
		for (i = 0; i < BLOCK; ++i)
			((unsigned char *)written)[i] = (unsigned char)(i * 13 + 1);
		memset(read, 0, BLOCK);
		wrote = transfer(&ctx, fd, written, 1);
		got = transfer(&ctx, fd, read, 0);
		same = memcmp(written, read, BLOCK) == 0;
	}
	io_ctx_destroy(&ctx);
	free(written);
	free(read);
	printf("write: %d, read: %d, bytes %s\n", wrote, got, same ? "equal" : "differ");
	return wrote == BLOCK && got == BLOCK && same ? 0 : 1;
}

int main(void)
{
	const char *base = getenv("KAIO_TEST_DIR");
	char directory[4096];
	char path[4200];
	int fd;
	int status;

	printf("headers %s, libkaio %s\n", KAIO_VERSION_STRING, kaio_version());
	if (strcmp(kaio_version(), KAIO_VERSION_STRING) != 0)
		return 1;
	snprintf(directory, sizeof directory, "%s/kaio-consumer-XXXXXX",
		 base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(directory) == NULL) {
		printf("skip: cannot create a directory: %s\n", strerror(errno));
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
	status = write_and_read_back(fd);
	close(fd);
	unlink(path);
	rmdir(directory);
	return status;
}
