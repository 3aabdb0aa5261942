/* jbd2.c --- replay an ext3/ext4 journal in memory: which block copy is newest
 *
 * A crash-consistent snapshot of a running guest has its most recent
 * metadata only in the journal.  The kernel and e2fsck replay it by writing
 * the device; rawkit never writes a source, so this file walks the log the
 * way the kernel's recovery does (fs/jbd2/recovery.c: scan, revoke, replay;
 * format in Documentation/filesystems/ext4/journal.rst) and keeps, for each
 * filesystem block, where its newest committed copy lies in the journal.
 * ext_io.c then serves reads of those blocks from the journal.
 *
 * The walk ends at the first block that is not the next expected one (the
 * normal end of the log) or at the first transaction that does not verify
 * (a descriptor, revoke or commit checksum, a tag naming a block outside
 * the filesystem): what came before is replayed, the reason is kept in
 * stats.stop.  A journaled copy whose own checksum fails is skipped and the
 * rest of its transaction replayed, as the kernel's recovery does.
 * Memory: one entry per journal block at most.
 */
#include "jbd2.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JBD2_MAGIC 0xC03B3998u

enum { BT_DESCRIPTOR = 1, BT_COMMIT = 2, BT_SUPER_V1 = 3, BT_SUPER_V2 = 4, BT_REVOKE = 5 };

#define COMPAT_CHECKSUM 0x1u
#define INCOMPAT_REVOKE 0x1u
#define INCOMPAT_64BIT 0x2u
#define INCOMPAT_ASYNC_COMMIT 0x4u
#define INCOMPAT_CSUM_V2 0x8u
#define INCOMPAT_CSUM_V3 0x10u
#define INCOMPAT_FAST_COMMIT 0x20u
#define INCOMPAT_KNOWN 0x3fu

#define TAG_ESCAPE 0x1u
#define TAG_SAME_UUID 0x2u
#define TAG_LAST 0x8u

#define CSUM_TYPE_CRC32 1
#define CSUM_TYPE_CRC32C 4
#define FC_TAG_HEAD 0x0009
#define FC_DEFAULT_BLOCKS 256

/* A tag of a committed (or the current) transaction, in log order. */
struct tag {
	uint64_t fs_block;
	uint32_t journal_block;
	uint32_t tid;
	uint32_t order;
	uint8_t escaped, revoked;
};

/* A revoke block to read again once all tags are known. */
struct revoke_block {
	uint32_t journal_block;
	uint32_t tid;
};

struct jbd2_log {
	struct jbd2_block *blocks;
	size_t count;
	struct jbd2_stats stats;
	size_t memory;
};

/* The walk's state. */
struct walk {
	const struct jbd2_source *src;
	unsigned char *buf, *data;
	uint32_t bs, first, end, sequence, start;
	uint32_t compat, incompat;
	uint32_t seed;
	bool csum23, v3, wide, compat_csum;
	size_t tag_bytes, tail;
	struct tag *tags;
	size_t ntags, tags_cap;
	struct revoke_block *revokes;
	size_t nrevokes, revokes_cap;
	struct jbd2_stats *stats;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A later-or-equal transaction ID, modulo 2^32 as jbd2 compares them. */
static bool tid_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static int why_set(char *why, size_t len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int why_set(char *why, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void stop(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stop(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->stats->stop, sizeof(w->stats->stop), fmt, ap);
	va_end(ap);
}

static uint32_t crc32c(uint32_t crc, const void *p, size_t len)
{
	return ext2fs_crc32c_le(crc, p, len);
}

/* The checksum of BUF (one block) with the 4 bytes at AT taken as zero. */
static uint32_t block_csum(const struct walk *w, const unsigned char *buf, size_t at)
{
	static const unsigned char zero[4];
	uint32_t c = crc32c(w->seed, buf, at);

	c = crc32c(c, zero, 4);
	return crc32c(c, buf + at + 4, w->bs - at - 4);
}

static int read_block(struct walk *w, uint32_t n, void *buf)
{
	if (n >= w->src->nblocks)
		return -EUCLEAN;
	return w->src->read(w->src->ctx, n, buf);
}

static uint32_t next_block(const struct walk *w, uint32_t n)
{
	return n + 1 >= w->end ? w->first : n + 1;
}

/* Check the journal superblock and set up the walk from it. */
static int read_super(struct walk *w, char *why, size_t whylen)
{
	unsigned char *sb = w->buf;
	uint32_t type, maxlen, nfc = 0;
	int rc;

	rc = read_block(w, 0, sb);
	if (rc < 0)
		return why_set(why, whylen, rc, "journal superblock: cannot read it");
	type = be32(sb + 4);
	if (be32(sb) != JBD2_MAGIC || (type != BT_SUPER_V1 && type != BT_SUPER_V2))
		return why_set(why, whylen, -EUCLEAN, "journal superblock: bad magic");
	if (be32(sb + 0x0c) != w->bs)
		return why_set(why, whylen, -EUCLEAN, "journal block size %u differs from the filesystem's %u",
			       be32(sb + 0x0c), w->bs);
	maxlen = be32(sb + 0x10);
	w->first = be32(sb + 0x14);
	w->sequence = be32(sb + 0x18);
	w->start = be32(sb + 0x1c);
	if (maxlen > w->src->nblocks || maxlen < 2 || w->first < 1 || w->first >= maxlen)
		return why_set(why, whylen, -EUCLEAN, "journal superblock: length %u, first block %u, journal %llu blocks",
			       maxlen, w->first, (unsigned long long)w->src->nblocks);
	if (type == BT_SUPER_V2) {
		w->compat = be32(sb + 0x24);
		w->incompat = be32(sb + 0x28);
	}
	if (w->incompat & ~INCOMPAT_KNOWN)
		return why_set(why, whylen, -EUCLEAN, "journal has unknown features 0x%x", w->incompat & ~INCOMPAT_KNOWN);
	w->v3 = w->incompat & INCOMPAT_CSUM_V3;
	w->csum23 = w->incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3);
	w->wide = w->incompat & INCOMPAT_64BIT;
	w->compat_csum = (w->compat & COMPAT_CHECKSUM) && !w->csum23;
	if (w->csum23) {
		if (sb[0x50] != CSUM_TYPE_CRC32C)
			return why_set(why, whylen, -EUCLEAN, "journal checksum type %u is not crc32c", sb[0x50]);
		/* the superblock's checksum covers its 1024 bytes, s_checksum as zero */
		static const unsigned char zero[4];
		uint32_t c = crc32c(~0u, sb, 0xfc);
		c = crc32c(c, zero, 4);
		c = crc32c(c, sb + 0x100, 1024 - 0x100);
		if (c != be32(sb + 0xfc))
			return why_set(why, whylen, -EUCLEAN, "journal superblock: checksum mismatch");
		w->seed = crc32c(~0u, sb + 0x30, 16);
		w->tail = 4;
	}
	if (w->v3)
		w->tag_bytes = 16;
	else
		w->tag_bytes = 8 + (w->csum23 ? 2 : 0) + (w->wide ? 4 : 0);
	w->end = maxlen;
	if (w->incompat & INCOMPAT_FAST_COMMIT) {
		nfc = be32(sb + 0x54) ? be32(sb + 0x54) : FC_DEFAULT_BLOCKS;
		if (nfc + 1 >= maxlen - w->first)
			return why_set(why, whylen, -EUCLEAN, "journal superblock: %u fast-commit blocks in %u", nfc, maxlen);
		w->end = maxlen - nfc;
	}
	if (w->start && (w->start < w->first || w->start >= w->end))
		return why_set(why, whylen, -EUCLEAN, "journal superblock: log starts at block %u, outside %u..%u",
			       w->start, w->first, w->end - 1);
	return 0;
}

/* Room for one more element in *V (N used of *CAP, SIZE bytes each). */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	void *bigger;

	if (n < *cap)
		return 0;
	bigger = realloc(*v, (*cap ? *cap * 2 : 64) * size);
	if (!bigger)
		return -ENOMEM;
	*v = bigger;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

static int push_tag(struct walk *w, const struct tag *t)
{
	if (grow((void **)&w->tags, w->ntags, &w->tags_cap, sizeof(*w->tags)) < 0)
		return -ENOMEM;
	w->tags[w->ntags++] = *t;
	return 0;
}

static int push_revoke(struct walk *w, uint32_t block, uint32_t tid)
{
	if (grow((void **)&w->revokes, w->nrevokes, &w->revokes_cap, sizeof(*w->revokes)) < 0)
		return -ENOMEM;
	w->revokes[w->nrevokes++] = (struct revoke_block){ .journal_block = block, .tid = tid };
	return 0;
}

/* The checksum of data block DATA against its tag (csum v2/v3). */
static bool tag_csum_ok(const struct walk *w, const unsigned char *tag, const unsigned char *data, uint32_t tid)
{
	unsigned char seq[4] = { tid >> 24, tid >> 16, tid >> 8, tid };
	uint32_t c = crc32c(crc32c(w->seed, seq, 4), data, w->bs);

	if (w->v3)
		return be32(tag + 12) == c;
	return be16(tag + 4) == (uint16_t)c;
}

/* One descriptor block in w->buf: its tags, each followed in the log by its
 * data block.  *AT is the next log block; *WALKED counts blocks read.
 * Returns 1 to go on, 0 when the transaction does not verify, <0 on error. */
static int walk_descriptor(struct walk *w, uint32_t tid, uint32_t *at, uint64_t *walked, uint32_t *crc,
			   uint32_t *order)
{
	const unsigned char *d = w->buf;
	size_t off = 12;
	bool need_data = w->csum23 || w->compat_csum;

	if (w->csum23 && block_csum(w, d, w->bs - 4) != be32(d + w->bs - 4)) {
		stop(w, "transaction %u: descriptor block checksum mismatch", tid);
		return 0;
	}
	if (w->compat_csum)
		*crc = ext2fs_crc32_be(*crc, d, w->bs);
	while (off + w->tag_bytes <= w->bs - w->tail) {
		const unsigned char *tag = d + off;
		uint32_t flags = w->v3 ? be32(tag + 4) : be16(tag + 6);
		uint64_t block = be32(tag);
		struct tag t;
		int rc;

		if (w->wide)
			block |= (uint64_t)be32(tag + 8) << 32;
		if (++*walked > w->end - w->first) {
			stop(w, "transaction %u: the log runs past the journal's length", tid);
			return 0;
		}
		if (need_data) {
			rc = read_block(w, *at, w->data);
			if (rc < 0)
				return rc;
			if (w->csum23 && !tag_csum_ok(w, tag, w->data, tid)) {
				/* as the kernel's recovery: that copy is skipped, the rest replayed */
				if (!w->stats->stop[0])
					stop(w, "transaction %u: the journal's copy of block %llu is damaged: skipped",
					     tid, (unsigned long long)block);
				w->stats->skipped++;
				*at = next_block(w, *at);
				off += w->tag_bytes + (flags & TAG_SAME_UUID ? 0 : 16);
				if (flags & TAG_LAST)
					break;
				continue;
			}
			if (w->compat_csum)
				*crc = ext2fs_crc32_be(*crc, w->data, w->bs);
		}
		if (block >= w->src->fs_blocks) {
			stop(w, "transaction %u: block %llu is outside the filesystem", tid, (unsigned long long)block);
			return 0;
		}
		t = (struct tag){ .fs_block = block, .journal_block = *at, .tid = tid, .order = (*order)++,
				  .escaped = !!(flags & TAG_ESCAPE) };
		rc = push_tag(w, &t);
		if (rc < 0)
			return rc;
		*at = next_block(w, *at);
		off += w->tag_bytes + (flags & TAG_SAME_UUID ? 0 : 16);
		if (flags & TAG_LAST)
			break;
	}
	return 1;
}

/* The commit block in w->buf verifies (checksums of v1, v2, v3). */
static bool commit_ok(const struct walk *w, uint32_t tid, uint32_t crc)
{
	const unsigned char *c = w->buf;

	if (w->csum23)
		return block_csum(w, c, 0x10) == be32(c + 0x10);
	if (w->compat_csum) {
		uint32_t found = be32(c + 0x10);
		return (c[0x0c] == CSUM_TYPE_CRC32 && c[0x0d] == 4 && found == crc) ||
		       (c[0x0c] == 0 && c[0x0d] == 0 && found == 0);
	}
	return true;
}

/* The revoke block in w->buf is well formed. */
static bool revoke_ok(const struct walk *w)
{
	uint32_t count = be32(w->buf + 12);

	if (count < 16 || count > w->bs - w->tail)
		return false;
	return !w->csum23 || block_csum(w, w->buf, w->bs - 4) == be32(w->buf + w->bs - 4);
}

/* Pass 1: every committed transaction's tags and revoke blocks. */
static int scan_log(struct walk *w)
{
	uint32_t at = w->start, tid = w->sequence, crc = ~0u, order = 0;
	size_t kept_tags = 0, kept_revokes = 0;
	uint64_t walked = 0;
	int rc;

	w->stats->first_tid = tid;
	while (w->start) {
		uint32_t here = at, type;

		if (++walked > w->end - w->first) {
			stop(w, "transaction %u: the log runs past the journal's length", tid);
			break;
		}
		rc = read_block(w, here, w->buf);
		if (rc < 0)
			return rc;
		at = next_block(w, at);
		if (be32(w->buf) != JBD2_MAGIC || be32(w->buf + 8) != tid)
			break; /* the end of the log */
		type = be32(w->buf + 4);
		if (type == BT_DESCRIPTOR) {
			rc = walk_descriptor(w, tid, &at, &walked, &crc, &order);
			if (rc <= 0) {
				if (rc < 0)
					return rc;
				break;
			}
		} else if (type == BT_REVOKE) {
			if (!revoke_ok(w)) {
				stop(w, "transaction %u: damaged revoke block", tid);
				break;
			}
			if ((rc = push_revoke(w, here, tid)) < 0)
				return rc;
		} else if (type == BT_COMMIT) {
			if (!commit_ok(w, tid, crc)) {
				stop(w, "transaction %u: commit block checksum mismatch", tid);
				break;
			}
			crc = ~0u;
			kept_tags = w->ntags;
			kept_revokes = w->nrevokes;
			w->stats->transactions++;
			tid++;
		} else {
			break;
		}
	}
	w->ntags = kept_tags; /* a transaction without a (verified) commit is not replayed */
	w->nrevokes = kept_revokes;
	w->stats->end_tid = tid;
	return 0;
}

static int tag_cmp(const void *a, const void *b)
{
	const struct tag *x = a, *y = b;

	if (x->fs_block != y->fs_block)
		return x->fs_block < y->fs_block ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The first of N records of SIZE bytes at BASE, sorted by the uint64_t
 * block number they start with, whose block is >= BLOCK (N: none). */
static size_t lower_bound(const void *base, size_t n, size_t size, uint64_t block)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t b;
		memcpy(&b, (const char *)base + mid * size, sizeof(b));
		if (b < block)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pass 2: a block revoked in transaction R is not replayed from any
 * transaction up to R (the kernel's jbd2_journal_test_revoke). */
static int apply_revokes(struct walk *w)
{
	size_t rec = w->wide ? 8 : 4;

	for (size_t i = 0; i < w->nrevokes; i++) {
		uint32_t count;
		int rc = read_block(w, w->revokes[i].journal_block, w->buf);

		if (rc < 0)
			return rc;
		count = be32(w->buf + 12);
		if (count < 16 || count > w->bs - w->tail)
			return -EIO; /* it verified in pass 1: the source changed under us */
		for (size_t off = 16; off + rec <= count; off += rec) {
			uint64_t block = rec == 8 ? be64(w->buf + off) : be32(w->buf + off);
			for (size_t t = lower_bound(w->tags, w->ntags, sizeof(*w->tags), block); t < w->ntags && w->tags[t].fs_block == block; t++)
				if (tid_geq(w->revokes[i].tid, w->tags[t].tid))
					w->tags[t].revoked = 1;
		}
	}
	return 0;
}

/* The newest copy of each block that is not revoked (tags sorted by block,
 * then log order: the last unrevoked one of each run wins). */
static int build_map(struct walk *w, struct jbd2_log *log)
{
	log->blocks = calloc(w->ntags ? w->ntags : 1, sizeof(*log->blocks));
	if (!log->blocks)
		return -ENOMEM;
	for (size_t i = 0, j; i < w->ntags; i = j) {
		const struct tag *newest = NULL;

		for (j = i; j < w->ntags && w->tags[j].fs_block == w->tags[i].fs_block; j++) {
			if (w->tags[j].revoked)
				log->stats.revoked++;
			else
				newest = &w->tags[j];
		}
		if (newest)
			log->blocks[log->count++] = (struct jbd2_block){ .fs_block = newest->fs_block,
									 .journal_block = newest->journal_block,
									 .escaped = newest->escaped };
	}
	log->stats.blocks = log->count;
	log->memory = sizeof(*log) + w->tags_cap * sizeof(*w->tags) + w->revokes_cap * sizeof(*w->revokes) +
		      (w->ntags ? w->ntags : 1) * sizeof(*log->blocks) + 2 * (size_t)w->bs;
	return 0;
}

/* Fast commits after the last full commit hold changes this walk does not
 * apply: refuse rather than show a filesystem older than the snapshot. */
static int check_fast_commits(struct walk *w, char *why, size_t whylen)
{
	int rc;

	if (!(w->incompat & INCOMPAT_FAST_COMMIT) || !w->start)
		return 0;
	rc = read_block(w, w->end + 1, w->buf); /* the kernel's j_fc_first: j_last (= end) + 1 */
	if (rc < 0)
		return why_set(why, whylen, rc, "journal: cannot read the fast-commit area");
	if (le16(w->buf) == FC_TAG_HEAD && le16(w->buf + 2) >= 8 && le32(w->buf + 8) == w->stats->end_tid)
		return why_set(why, whylen, -EUCLEAN, "fast-commit records of transaction %u are pending "
			       "(rawkit does not replay fast commits)", w->stats->end_tid);
	return 0;
}

int imgfmt_jbd2_log_scan(const struct jbd2_source *src, struct jbd2_log **out, char *why, size_t whylen)
{
	struct jbd2_log *log = calloc(1, sizeof(*log));
	struct walk w = { .src = src, .bs = src->block_size };
	int rc = -ENOMEM;

	*out = NULL;
	if (why && whylen)
		*why = 0;
	if (src->block_size < 1024 || src->block_size > 65536 || (src->block_size & (src->block_size - 1)))
		return free(log), why_set(why, whylen, -EINVAL, "journal block size %u", src->block_size);
	w.stats = log ? &log->stats : NULL;
	w.buf = malloc(w.bs);
	w.data = malloc(w.bs);
	if (!log || !w.buf || !w.data)
		goto out;
	if ((rc = read_super(&w, why, whylen)) < 0)
		goto out;
	if ((rc = scan_log(&w)) < 0) {
		why_set(why, whylen, rc, "journal: cannot read the log");
		goto out;
	}
	if ((rc = check_fast_commits(&w, why, whylen)) < 0)
		goto out;
	if (w.ntags) /* (qsort's array must not be NULL, even empty) */
		qsort(w.tags, w.ntags, sizeof(*w.tags), tag_cmp);
	if ((rc = apply_revokes(&w)) < 0) {
		why_set(why, whylen, rc, "journal: cannot read a revoke block");
		goto out;
	}
	if ((rc = build_map(&w, log)) < 0)
		goto out;
	*out = log;
	log = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		why_set(why, whylen, rc, "out of memory");
	imgfmt_jbd2_log_free(log);
	free(w.tags);
	free(w.revokes);
	free(w.buf);
	free(w.data);
	return rc;
}

void imgfmt_jbd2_log_free(struct jbd2_log *log)
{
	if (!log)
		return;
	free(log->blocks);
	free(log);
}

size_t imgfmt_jbd2_log_count(const struct jbd2_log *log)
{
	return log->count;
}

const struct jbd2_block *imgfmt_jbd2_log_blocks(const struct jbd2_log *log)
{
	return log->blocks;
}

size_t imgfmt_jbd2_log_lower_bound(const struct jbd2_log *log, uint64_t block)
{
	return lower_bound(log->blocks, log->count, sizeof(*log->blocks), block);
}

const struct jbd2_stats *imgfmt_jbd2_log_stats(const struct jbd2_log *log)
{
	return &log->stats;
}

size_t imgfmt_jbd2_log_memory(const struct jbd2_log *log)
{
	return log->memory;
}
