/* jbd2.h --- the committed transactions of an ext3/ext4 journal, as a map (see jbd2.c) */
#ifndef IMGFMT_JBD2_H
#define IMGFMT_JBD2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the journal is read from: block N (0-based, in the journal's own
 * numbering) into BUF of block_size bytes; 0 or a negative errno. */
struct jbd2_source {
	int (*read)(void *ctx, uint64_t n, void *buf);
	void *ctx;
	uint64_t nblocks;     /* blocks the journal inode holds */
	uint32_t block_size;  /* the filesystem's block size */
	uint64_t fs_blocks;   /* blocks of the filesystem: a tag beyond is damage */
};

/* The newest committed copy of one filesystem block. */
struct jbd2_block {
	uint64_t fs_block;
	uint64_t journal_block;  /* in the journal's numbering (see jbd2_source) */
	bool escaped;            /* the copy's first 4 bytes are the jbd2 magic, zeroed */
};

struct jbd2_stats {
	uint32_t transactions;   /* committed transactions replayed */
	uint64_t blocks;         /* distinct filesystem blocks replayed */
	uint64_t revoked;        /* journal copies skipped by revoke records */
	uint64_t skipped;        /* journal copies skipped as damaged (checksum) */
	uint32_t first_tid, end_tid;
	char stop[160];          /* why the log ends early (checksum, damage), or "" */
};

struct jbd2_log;

/* Walk the log as the kernel's recovery does and build the map.  0 and *OUT
 * (an empty map when there is nothing to replay), or a negative errno with a
 * reason in WHY: -EUCLEAN (the journal cannot be replayed: damaged
 * superblock, fast-commit records pending, unknown features), -ENOMEM, or
 * the read callback's error.  Memory is bounded by the journal's block count
 * (one entry per journal block at most), never by its bytes. */
int imgfmt_jbd2_log_scan(const struct jbd2_source *src, struct jbd2_log **out, char *why, size_t whylen);
void imgfmt_jbd2_log_free(struct jbd2_log *log);

/* Entries sorted by fs_block, one per block. */
size_t imgfmt_jbd2_log_count(const struct jbd2_log *log);
const struct jbd2_block *imgfmt_jbd2_log_blocks(const struct jbd2_log *log);
/* The index of the first entry with fs_block >= BLOCK (== count: none). */
size_t imgfmt_jbd2_log_lower_bound(const struct jbd2_log *log, uint64_t block);
const struct jbd2_stats *imgfmt_jbd2_log_stats(const struct jbd2_log *log);
/* Bytes of memory the map holds (for the bench). */
size_t imgfmt_jbd2_log_memory(const struct jbd2_log *log);

#endif
