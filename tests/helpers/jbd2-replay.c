/* jbd2-replay.c --- test helper: apply lib/imgfmt/jbd2.c's map to a copy of an ext image
 *
 * usage: jbd2-replay IMAGE OFFSET [COPY]
 * Prints the walk's statistics; with COPY (a copy of IMAGE made by the
 * caller) writes each block's newest journal copy into it at the block's
 * place, so the test can compare COPY with what `e2fsck -E journal_only`
 * makes of another copy.  IMAGE is only read.
 */
#include "jbd2.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct journal {
	int fd;
	uint64_t offset;
	uint32_t bs;
	blk64_t *phys; /* journal block -> filesystem block */
	uint64_t n;
};

static int journal_read(void *ctx, uint64_t n, void *buf)
{
	struct journal *j = ctx;

	if (n >= j->n || !j->phys[n])
		return -EIO;
	if (pread(j->fd, buf, j->bs, (off_t)(j->offset + j->phys[n] * j->bs)) != (ssize_t)j->bs)
		return -EIO;
	return 0;
}

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref, int off, void *priv)
{
	struct journal *j = priv;

	if (blockcnt >= 0 && (uint64_t)blockcnt < j->n)
		j->phys[blockcnt] = *blocknr;
	return 0;
}

int main(int argc, char **argv)
{
	struct journal j = { 0 };
	struct ext2_inode inode;
	struct jbd2_log *log;
	struct timespec t0, t1;
	char name[4096], why[256];
	ext2_filsys fs;
	int rc;

	if (argc < 3)
		return fprintf(stderr, "usage: jbd2-replay IMAGE OFFSET [COPY]\n"), 2;
	j.offset = strtoull(argv[2], NULL, 0);
	snprintf(name, sizeof(name), "%s?offset=%" PRIu64, argv[1], j.offset);
	if (ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs))
		return fprintf(stderr, "jbd2-replay: %s: cannot open\n", argv[1]), 1;
	if (!fs->super->s_journal_inum || ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode)) {
		fprintf(stderr, "jbd2-replay: no internal journal\n");
		ext2fs_close_free(&fs);
		return 1;
	}
	j.bs = fs->blocksize;
	j.n = EXT2_I_SIZE(&inode) / j.bs;
	j.phys = calloc(j.n ? j.n : 1, sizeof(*j.phys));
	ext2fs_block_iterate3(fs, fs->super->s_journal_inum, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL,
			      block_cb, &j);
	j.fd = open(argv[1], O_RDONLY);
	struct jbd2_source src = { .read = journal_read, .ctx = &j, .nblocks = j.n, .block_size = j.bs,
				   .fs_blocks = ext2fs_blocks_count(fs->super) };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = imgfmt_jbd2_log_scan(&src, &log, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0) {
		printf("unreplayable: %s (%s)\n", why, strerror(-rc));
		ext2fs_close_free(&fs);
		free(j.phys);
		close(j.fd);
		return 1;
	}
	const struct jbd2_stats *st = imgfmt_jbd2_log_stats(log);
	printf("transactions %u blocks %" PRIu64 " revoked %" PRIu64 " tids %u..%u memory %zu seconds %.3f stop '%s'\n",
	       st->transactions, st->blocks, st->revoked, st->first_tid, st->end_tid, imgfmt_jbd2_log_memory(log),
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, st->stop);
	if (argc > 3) {
		int out = open(argv[3], O_WRONLY);
		unsigned char *buf = malloc(j.bs);
		for (size_t i = 0; i < imgfmt_jbd2_log_count(log); i++) {
			const struct jbd2_block *b = &imgfmt_jbd2_log_blocks(log)[i];
			if (journal_read(&j, b->journal_block, buf) < 0)
				return perror("read"), 1;
			if (b->escaped)
				memcpy(buf, "\xc0\x3b\x39\x98", 4);
			if (pwrite(out, buf, j.bs, (off_t)(j.offset + b->fs_block * j.bs)) != (ssize_t)j.bs)
				return perror("write"), 1;
		}
		close(out);
		free(buf);
	}
	imgfmt_jbd2_log_free(log);
	ext2fs_close_free(&fs);
	free(j.phys);
	close(j.fd);
	return 0;
}
