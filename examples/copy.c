/*
 * copy: the classic AIO file copy ("aiocp") on kaio's io_ctx API.
 *
 *	copy SOURCE DESTINATION
 *
 * Both files are opened with O_DIRECT. The copy keeps QUEUE_DEPTH blocks in flight, each with
 * its own buffer, and every block goes around the same loop:
 *
 *	read block at offset  ->  its callback writes it at the same offset
 *	write completes       ->  its callback reads the next block not yet taken
 *
 * so the buffers circulate and the reads of some blocks overlap the writes of others. The main
 * program only starts the first QUEUE_DEPTH reads and then calls io_ctx_process() until nothing
 * is in flight: every later request is submitted from a completion callback, and kaio sends what
 * one round of callbacks submitted to the kernel together.
 *
 * O_DIRECT wants aligned lengths, so the last block of a file whose size is not a multiple of
 * ALIGNMENT is written rounded up, and the destination is cut back to the source's size with
 * ftruncate(2) at the end. Any error stops new submissions, lets the requests in flight finish,
 * and is printed with the file, offset and reason. Exit status: 0 when the copy is complete.
 * DESTINATION is truncated only once everything else is ready, and never when it is SOURCE.
 */
#define _GNU_SOURCE /* O_DIRECT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kaio/io_ctx.h>

#define QUEUE_DEPTH 8
#define BLOCK_SIZE (256 * 1024)
/* What O_DIRECT needs on any device with sectors up to 4 KiB, for addresses and lengths. */
#define ALIGNMENT 4096

struct copy;

/* One buffer and the block of the file it currently carries. */
struct block {
	struct copy *copy;
	void *buffer;
	long long offset;
	size_t length; /* bytes of the file in this block: BLOCK_SIZE but at the end */
};

struct copy {
	struct io_ctx ctx;
	int source, destination;
	const char *source_name, *destination_name;
	long long size;        /* of the source */
	long long next_offset; /* the first block no read has taken yet */
	int in_flight;
	int failed; /* an error was printed: submit nothing more */
	struct block blocks[QUEUE_DEPTH];
};

/* Prints the first error only: the requests still in flight tend to fail the same way. */
static void print_error(struct copy *copy, const char *what, const char *file, long long offset,
			int error)
{
	if (copy->failed)
		return;
	fprintf(stderr, "copy: %s %s at offset %lld: %s\n", what, file, offset, strerror(-error));
	copy->failed = 1;
}

static void read_done(int result, void *data);
static void write_done(int result, void *data);

/* Takes the next block of the source into this buffer; does nothing once the file is taken. */
static void start_read(struct block *block)
{
	struct copy *copy = block->copy;
	long long left = copy->size - copy->next_offset;
	int key;

	if (copy->failed || left <= 0)
		return;
	block->offset = copy->next_offset;
	block->length = left < BLOCK_SIZE ? (size_t)left : BLOCK_SIZE;
	copy->next_offset += (long long)block->length;
	/* Ask for a whole block even at the end: the kernel stops at end of file. */
	key = io_ctx_read(&copy->ctx, copy->source, block->buffer, BLOCK_SIZE, block->offset,
			  read_done, block);
	if (key < 0) {
		print_error(copy, "cannot submit a read of", copy->source_name, block->offset, key);
		return;
	}
	copy->in_flight++;
}

static void start_write(struct block *block)
{
	struct copy *copy = block->copy;
	/* The tail rounded up to what O_DIRECT accepts; ftruncate() removes the padding. */
	size_t length = (block->length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
	int key = io_ctx_write(&copy->ctx, copy->destination, block->buffer, length, block->offset,
			       write_done, block);
	if (key < 0) {
		print_error(copy, "cannot submit a write of", copy->destination_name, block->offset,
			    key);
		return;
	}
	copy->in_flight++;
}

static void read_done(int result, void *data)
{
	struct block *block = data;
	struct copy *copy = block->copy;

	copy->in_flight--;
	if (result < 0) {
		print_error(copy, "cannot read", copy->source_name, block->offset, result);
		return;
	}
	if ((size_t)result != block->length) {
		print_error(copy, "unexpected length (did it change size?) reading",
			    copy->source_name, block->offset, -EIO);
		return;
	}
	if (!copy->failed)
		start_write(block);
}

static void write_done(int result, void *data)
{
	struct block *block = data;
	struct copy *copy = block->copy;

	copy->in_flight--;
	if (result < 0) {
		print_error(copy, "cannot write", copy->destination_name, block->offset, result);
		return;
	}
	if ((size_t)result < block->length) {
		print_error(copy, "short write (is the disk full?) of", copy->destination_name,
			    block->offset, -ENOSPC);
		return;
	}
	start_read(block); /* the buffer is free again: on to the next block */
}

/* Runs the pipeline until every request has completed. 0, or -1 after printing why. */
static int copy_file(struct copy *copy)
{
	int i;

	for (i = 0; i < QUEUE_DEPTH; i++)
		start_read(&copy->blocks[i]);
	while (copy->in_flight > 0) {
		/* Sends what callbacks submitted, waits for completions, runs their callbacks. */
		int rc = io_ctx_process(&copy->ctx);
		if (rc < 0) {
			fprintf(stderr, "copy: io_ctx_process: %s\n", strerror(-rc));
			return -1;
		}
	}
	if (copy->failed)
		return -1;
	if (ftruncate(copy->destination, copy->size) != 0) {
		fprintf(stderr, "copy: cannot set the size of %s: %s\n", copy->destination_name,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int open_direct(const char *name, int flags)
{
	int fd = open(name, flags | O_DIRECT | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "copy: cannot open %s with O_DIRECT: %s\n", name, strerror(errno));
	return fd;
}

/* Last: truncating DESTINATION is the first change this program makes to anything. */
static int open_destination(struct copy *copy, const struct stat *source)
{
	struct stat st;

	if (stat(copy->destination_name, &st) == 0 && st.st_dev == source->st_dev &&
	    st.st_ino == source->st_ino) {
		fprintf(stderr, "copy: %s and %s are the same file\n", copy->source_name,
			copy->destination_name);
		return -1;
	}
	copy->destination = open_direct(copy->destination_name, O_WRONLY | O_CREAT | O_TRUNC);
	return copy->destination < 0 ? -1 : 0;
}

static int setup(struct copy *copy, const char *source, const char *destination)
{
	struct stat st;
	int i, rc;

	copy->source_name = source;
	copy->destination_name = destination;
	copy->source = open_direct(source, O_RDONLY);
	if (copy->source < 0)
		return -1;
	if (fstat(copy->source, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "copy: %s is not a regular file\n", source);
		return -1;
	}
	copy->size = st.st_size;

	for (i = 0; i < QUEUE_DEPTH; i++) {
		copy->blocks[i].copy = copy;
		rc = posix_memalign(&copy->blocks[i].buffer, ALIGNMENT, BLOCK_SIZE);
		if (rc != 0) {
			fprintf(stderr, "copy: cannot allocate buffers: %s\n", strerror(rc));
			return -1;
		}
	}

	/* NULL wait_cb: when kaio must wait for a completion it blocks in poll(2). */
	rc = io_ctx_create(&copy->ctx, QUEUE_DEPTH, NULL);
	if (rc < 0) {
		fprintf(stderr, "copy: io_ctx_create: %s%s\n", strerror(-rc),
			rc == -EAGAIN ? " (/proc/sys/fs/aio-max-nr is used up)" : "");
		return -1;
	}
	return open_destination(copy, &st);
}

/* Safe after a partial setup: the context was zeroed, unused descriptors are -1. */
static void teardown(struct copy *copy)
{
	int i;

	io_ctx_destroy(&copy->ctx); /* first: it waits for requests still using the buffers */
	for (i = 0; i < QUEUE_DEPTH; i++)
		free(copy->blocks[i].buffer);
	if (copy->source >= 0)
		close(copy->source);
	if (copy->destination >= 0)
		close(copy->destination);
}

int main(int argc, char *argv[])
{
	static struct copy copy; /* zeroed: io_ctx_destroy() is harmless before create */
	int status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOURCE DESTINATION\n", argv[0]);
		return 2;
	}
	copy.source = copy.destination = -1;
	if (setup(&copy, argv[1], argv[2]) == 0 && copy_file(&copy) == 0) {
		printf("copied %lld bytes from %s to %s\n", copy.size, argv[1], argv[2]);
		status = 0;
	}
	teardown(&copy);
	return status;
}
