/* fs_xfs_log.c --- is the XFS log clean?  And a clean log for a new UUID
 *
 * The log is a ring of 512-byte basic blocks, each starting with the cycle
 * (pass number) it was written in, or with a record header (0xFEEDBABE)
 * that carries it.  The head (where writing stopped) is found as the
 * kernel's xlog_find_head() finds it: a binary search for where the cycle
 * drops, a scan back over the blocks the in-core log may still have been
 * writing, and a step back over a record left incomplete.  The log is
 * clean when the last record before the head is a lone unmount record
 * ending exactly there (xlog_find_tail()).  rawkit does not replay a log:
 * a dirty one makes the volume read as it is on disk and copied whole.
 */
#include "fs_xfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BBSIZE 512
#define XLOG_HEADER_MAGIC 0xfeedbabeu
#define XLOG_HEADER_CYCLE_SIZE (32 * 1024)
#define XLOG_UNMOUNT_TRANS 0x20
#define XLOG_VERSION_2 2
#define XLOG_MAX_RECORD_SIZE (256 * 1024)

struct xlog {
	imgfmt_fs *fs;
	uint64_t off;	 /* byte offset of the log in the volume */
	int64_t nbb;	 /* basic blocks */
	bool v2;
	unsigned char bb[BBSIZE];
};

static int log_read(struct xlog *log, int64_t blk, unsigned char *buf)
{
	return imgfmt_fs_volume_pread(log->fs, buf, BBSIZE, log->off + (uint64_t)blk * BBSIZE);
}

/* The cycle of block BLK into *CYCLE. */
static int log_cycle(struct xlog *log, int64_t blk, uint32_t *cycle)
{
	int rc = log_read(log, blk, log->bb);

	if (rc == 0)
		*cycle = xfs_be32(log->bb) == XLOG_HEADER_MAGIC ? xfs_be32(log->bb + 4) : xfs_be32(log->bb);
	return rc;
}

/* Binary search in [first, *last] for the first block of cycle CYCLE. */
static int cycle_start(struct xlog *log, int64_t first, int64_t *last, uint32_t cycle)
{
	int64_t end = *last, mid = first + (end - first) / 2;
	uint32_t c;
	int rc;

	while (mid != first && mid != end) {
		if ((rc = log_cycle(log, mid, &c)) < 0)
			return rc;
		if (c == cycle)
			end = mid;
		else
			first = mid;
		mid = first + (end - first) / 2;
	}
	*last = end;
	return 0;
}

/* The first block in [start, start+n) whose cycle is STOP, or -1. */
static int verify_cycle(struct xlog *log, int64_t start, int64_t n, uint32_t stop, int64_t *found)
{
	unsigned char *buf = malloc(64 * BBSIZE);
	int rc = 0;

	*found = -1;
	if (!buf)
		return fs_fail(log->fs, -ENOMEM, "out of memory");
	for (int64_t i = start; i < start + n && *found < 0 && rc == 0; i += 64) {
		int64_t cnt = start + n - i < 64 ? start + n - i : 64;
		rc = imgfmt_fs_volume_pread(log->fs, buf, (size_t)cnt * BBSIZE, log->off + (uint64_t)i * BBSIZE);
		for (int64_t j = 0; j < cnt && rc == 0; j++) {
			const unsigned char *b = buf + j * BBSIZE;
			uint32_t c = xfs_be32(b) == XLOG_HEADER_MAGIC ? xfs_be32(b + 4) : xfs_be32(b);
			if (c == stop) {
				*found = i + j;
				break;
			}
		}
	}
	free(buf);
	return rc;
}

/* Header blocks of the record whose header is HDR. */
static int64_t record_hblks(const struct xlog *log, const unsigned char *hdr)
{
	uint32_t size = xfs_be32(hdr + 320);

	if (log->v2 && (xfs_be32(hdr + 8) & XLOG_VERSION_2) && size > XLOG_HEADER_CYCLE_SIZE)
		return (size + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
	return 1;
}

static int log_damaged(struct xlog *log, const char *what)
{
	return fs_fail(log->fs, -EUCLEAN, "damaged XFS log: %s", what);
}

/* Step *LAST back to the header of the record before it when that record
 * does not end exactly at *LAST (it was being written).  Returns 1 when no
 * header lies in [start, *last) and START is 0 (look at the log's end). */
static int verify_record(struct xlog *log, int64_t start, int64_t *last, int64_t extra)
{
	int64_t i;
	int rc;

	for (i = *last - 1; i >= start; i--) {
		if ((rc = log_read(log, i, log->bb)) < 0)
			return rc;
		if (xfs_be32(log->bb) == XLOG_HEADER_MAGIC)
			break;
	}
	if (i < start)
		return start == 0 ? 1 : log_damaged(log, "no record header before the head");
	if (xfs_be32(log->bb + 320) > XLOG_MAX_RECORD_SIZE || xfs_be32(log->bb + 12) > XLOG_MAX_RECORD_SIZE)
		return log_damaged(log, "record larger than 256 KiB");
	if (*last - i + extra != (int64_t)(xfs_be32(log->bb + 12) + BBSIZE - 1) / BBSIZE + record_hblks(log, log->bb))
		*last = i;
	return 0;
}

/* Where the head moves to, past blocks of cycle STOP within the last
 * writes before it (the kernel's checks, for both sides of a wrap). */
static int find_head_window(struct xlog *log, int64_t *head, uint32_t stop)
{
	int64_t scan = (8LL * (log->v2 ? 256 * 1024 : 32 * 1024)) / BBSIZE, found;
	int rc;

	if (*head >= scan) {
		if ((rc = verify_cycle(log, *head - scan, scan, stop, &found)) < 0)
			return rc;
		if (found >= 0)
			*head = found;
		return 0;
	}
	if (scan - *head > log->nbb)
		scan = log->nbb + *head;
	if ((rc = verify_cycle(log, log->nbb - (scan - *head), scan - *head, stop - 1, &found)) < 0)
		return rc;
	if (found >= 0) {
		*head = found;
		return 0;
	}
	if ((rc = verify_cycle(log, 0, *head, stop, &found)) < 0)
		return rc;
	if (found >= 0)
		*head = found;
	return 0;
}

static int find_head(struct xlog *log, int64_t *head_out)
{
	int64_t head, scan = (log->v2 ? 256 * 1024 : 32 * 1024) / BBSIZE, newblk;
	uint32_t first, last, stop;
	int rc;

	if ((rc = log_cycle(log, 0, &first)) < 0)
		return rc;
	if (first == 0) { /* a zeroed log: nothing in it */
		*head_out = 0;
		return 0;
	}
	if ((rc = log_cycle(log, log->nbb - 1, &last)) < 0)
		return rc;
	head = log->nbb - 1;
	if (last == 0) { /* written up to somewhere in the first pass */
		if (first != 1)
			return log_damaged(log, "first pass without cycle 1");
		if ((rc = cycle_start(log, 0, &head, 0)) < 0 || (rc = find_head_window(log, &head, 0)) < 0)
			return rc;
		rc = verify_record(log, 0, &head, 0);
		*head_out = head;
		return rc < 0 ? rc : 0;
	}
	if (first == last) {
		head = log->nbb;
		stop = last - 1;
	} else {
		stop = last;
		if ((rc = cycle_start(log, 0, &head, last)) < 0)
			return rc;
	}
	if ((rc = find_head_window(log, &head, stop)) < 0)
		return rc;
	if (head >= scan) {
		rc = verify_record(log, head - scan, &head, 0);
	} else {
		rc = verify_record(log, 0, &head, 0);
		if (rc == 1) { /* the record began before the end of the log */
			newblk = log->nbb;
			rc = verify_record(log, log->nbb - (scan - head), &newblk, head);
			if (rc == 0 && newblk != log->nbb)
				head = newblk;
		}
	}
	if (rc < 0)
		return rc;
	*head_out = head == log->nbb ? 0 : head;
	return 0;
}

/* The last record header before HEAD: its block, and whether the search
 * wrapped round the end of the log. */
static int find_last_record(struct xlog *log, int64_t head, int64_t *blk, bool *wrapped)
{
	int rc;

	*wrapped = false;
	for (int64_t i = head - 1; i >= 0; i--) {
		if ((rc = log_read(log, i, log->bb)) < 0)
			return rc;
		if (xfs_be32(log->bb) == XLOG_HEADER_MAGIC) {
			*blk = i;
			return 0;
		}
	}
	*wrapped = true;
	for (int64_t i = log->nbb - 1; i >= head; i--) {
		if ((rc = log_read(log, i, log->bb)) < 0)
			return rc;
		if (xfs_be32(log->bb) == XLOG_HEADER_MAGIC) {
			*blk = i;
			return 0;
		}
	}
	return log_damaged(log, "no record header");
}

static int log_setup(imgfmt_fs *fs, struct xlog *log)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint64_t block;

	log->fs = fs;
	log->v2 = xs->logv2;
	if (imgfmt_xfs_fsb_to_block(fs, xs->logstart, &block) < 0 || xs->logblocks < 2 ||
	    block + xs->logblocks > xs->dblocks || ((uint64_t)xs->logblocks << xs->blocklog) / BBSIZE > INT32_MAX)
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: the log lies outside the filesystem");
	log->off = block << xs->blocklog;
	log->nbb = (int64_t)(((uint64_t)xs->logblocks << xs->blocklog) / BBSIZE);
	return 0;
}

static void set_dirty(imgfmt_fs *fs, const char *note)
{
	fs->dirty = true;
	fs->consistency.state = IMGFMT_XFS_LOG_DIRTY;
	snprintf(fs->consistency.note, sizeof(fs->consistency.note), "%s", note);
}

int imgfmt_xfs_log_state(imgfmt_fs *fs)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct xlog log;
	int64_t head = 0, rblk = 0, hblks, after;
	uint64_t tail;
	bool wrapped;
	char note[120];
	int rc;

	if (xs->logstart == 0) {
		set_dirty(fs, "XFS with an external log: its state is not read");
		return 0;
	}
	if ((rc = log_setup(fs, &log)) < 0)
		return rc;
	rc = find_head(&log, &head);
	if (rc == 0 && head == 0) {
		uint32_t c;
		if ((rc = log_cycle(&log, 0, &c)) == 0 && c == 0)
			return 0; /* a zeroed log: clean */
	}
	if (rc == 0)
		rc = find_last_record(&log, head, &rblk, &wrapped);
	if (rc == -EUCLEAN) { /* a log that cannot be read is not clean */
		set_dirty(fs, "XFS log not replayed, and damaged");
		fs->error[0] = '\0';
		return 0;
	}
	if (rc < 0)
		return rc;
	xs->log_cycle = xfs_be32(log.bb + 4) + (wrapped ? 1 : 0);
	hblks = record_hblks(&log, log.bb);
	after = (rblk + hblks + (int64_t)((xfs_be32(log.bb + 12) + BBSIZE - 1) / BBSIZE)) % log.nbb;
	tail = xfs_be64(log.bb + 24) & 0xffffffffu;
	if (head == after && xfs_be32(log.bb + 40) == 1) {
		if ((rc = log_read(&log, (rblk + hblks) % log.nbb, log.bb)) < 0)
			return rc;
		if (log.bb[9] & XLOG_UNMOUNT_TRANS)
			return 0;
	}
	if (tail >= (uint64_t)log.nbb)
		tail = (uint64_t)head;
	snprintf(note, sizeof(note), "XFS log not replayed: the last %llu KiB of metadata changes are not read",
		 (unsigned long long)(((uint64_t)(head - (int64_t)tail + log.nbb) % (uint64_t)log.nbb) * BBSIZE / 1024));
	set_dirty(fs, note);
	return 0;
}

/* ---- a clean log, as xfsprogs' libxfs_log_clear() writes it ---- */

/* One record of LEN basic blocks at BUF (room for at least hdrs+1): a
 * header, extension headers, an unmount record, blocks stamped with the
 * cycle. */
static void format_record(unsigned char *buf, int64_t len, const unsigned char uuid[16], int version, uint32_t sunit,
			  uint64_t lsn, uint64_t tail_lsn)
{
	uint32_t cycle = (uint32_t)(lsn >> 32), hsize = sunit > XLOG_HEADER_CYCLE_SIZE ? sunit : XLOG_HEADER_CYCLE_SIZE;
	int64_t hdrs = 1;
	unsigned char *u;

	if (version == 2 && sunit > XLOG_HEADER_CYCLE_SIZE)
		hdrs = (sunit + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
	memset(buf, 0, (size_t)len * BBSIZE);
	xfs_put_be32(buf, XLOG_HEADER_MAGIC);
	xfs_put_be32(buf + 4, cycle);
	xfs_put_be32(buf + 8, (uint32_t)version);
	xfs_put_be32(buf + 12, (sunit > 2 * BBSIZE ? sunit : 2 * BBSIZE) - (uint32_t)hdrs * BBSIZE);
	xfs_put_be64(buf + 16, lsn);
	xfs_put_be64(buf + 24, tail_lsn);
	xfs_put_be32(buf + 36, UINT32_MAX); /* h_prev_block */
	xfs_put_be32(buf + 40, 1);	    /* one op: the unmount record */
	xfs_put_be32(buf + 300, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 1 : 2);
	memcpy(buf + 304, uuid, 16);
	xfs_put_be32(buf + 320, hsize);
	for (int64_t i = 1; i < hdrs; i++)
		xfs_put_be32(buf + i * BBSIZE, cycle);
	u = buf + hdrs * BBSIZE;
	xfs_put_be32(u + 4, 8); /* oh_len */
	u[8] = 0xaa;		/* XFS_LOG */
	u[9] = XLOG_UNMOUNT_TRANS;
	u[12] = 0x6e, u[13] = 0x55; /* XLOG_UNMOUNT_TYPE, host order as xfsprogs writes it */
	xfs_put_be32(buf + 44, 0xb0c0d0d0u); /* the op's first word (its tid) kept in h_cycle_data[0] */
	xfs_put_be32(u, cycle);
	for (int64_t i = hdrs + 1; i < len; i++)
		xfs_put_be32(buf + i * BBSIZE, cycle);
}

static int64_t record_room(int version, uint32_t sunit, int64_t len)
{
	int64_t hdrs = version == 2 && sunit > XLOG_HEADER_CYCLE_SIZE
			       ? (sunit + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE : 1;

	return len > hdrs + 1 ? len : hdrs + 1;
}

int imgfmt_xfs_log_clear(imgfmt_fs *fs, const unsigned char uuid[16])
{
	struct xfs_state *xs = XFS_ST(fs);
	int version = xs->logv2 ? 2 : 1;
	uint32_t sunit = xs->logv2 ? xs->log_sunit : 0, cycle = xs->v5 ? xs->log_cycle + 1 : 1;
	int64_t len = version == 2 && sunit ? (sunit + BBSIZE - 1) / BBSIZE : 2, blk, max = XLOG_MAX_RECORD_SIZE / BBSIZE;
	unsigned char *buf = malloc(2 * XLOG_MAX_RECORD_SIZE);
	struct xlog log;
	int rc;

	if (!buf)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if ((rc = log_setup(fs, &log)) < 0)
		goto out;
	if (sunit > XLOG_MAX_RECORD_SIZE) {
		rc = fs_fail(fs, -EUCLEAN, "damaged XFS superblock: log stripe unit %u", sunit);
		goto out;
	}
	if (len < 2)
		len = 2;
	/* the first record: cycle CYCLE at block 0 */
	memset(buf, 0, 2 * XLOG_MAX_RECORD_SIZE);
	format_record(buf, record_room(version, sunit, len), uuid, version, sunit, (uint64_t)cycle << 32,
		      cycle == 1 ? (uint64_t)cycle << 32 : ((uint64_t)(cycle - 1) << 32 | (uint32_t)(log.nbb - len)));
	if ((rc = imgfmt_fs_volume_pwrite(fs, buf, (size_t)len * BBSIZE, log.off)) < 0)
		goto out;
	/* the rest: zeros (a first pass), or records of the previous cycle */
	for (blk = len; blk < log.nbb && rc == 0; blk += len) {
		len = log.nbb - blk < max ? log.nbb - blk : max;
		if (cycle == 1)
			memset(buf, 0, (size_t)len * BBSIZE);
		else
			format_record(buf, record_room(version, (uint32_t)len * BBSIZE, len), uuid, version,
				      (uint32_t)len * BBSIZE, (uint64_t)(cycle - 1) << 32 | (uint32_t)blk,
				      (uint64_t)(cycle - 1) << 32 | (uint32_t)(blk - len));
		rc = imgfmt_fs_volume_pwrite(fs, buf, (size_t)len * BBSIZE, log.off + (uint64_t)blk * BBSIZE);
	}
out:
	free(buf);
	return rc;
}
