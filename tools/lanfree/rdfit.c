/* rdfit.c --- the room a volume's files need in a new ext2/3/4 filesystem
 *
 * restore-disk onto a smaller target sizes each ext filesystem to its data
 * plus the slack rawkit-v2p leaves when it shrinks one.  The data is what
 * the generation recorded, counted the way mke2fs and ext4 lay it out,
 * rounded up wherever a guess is needed: a file's blocks from its size
 * (holes counted as data), a directory's blocks from its entries, a block
 * for every long symlink and every file whose extended attributes do not
 * fit in its inode; the inode table, journal and group metadata on top.
 * Hard links count once per name.  Over-estimating costs a few MiB of the
 * target; under-estimating would fail in the middle of the restore, so
 * every rounding goes up.
 */
#include "rdrun.h"
#include "target_info.h"

#include <string.h>

#define MiB (1024ull * 1024)

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

int restore_disk_fit(struct db *db, int64_t guest_id, int64_t seq, const char *volume, json_t *params,
		     struct restore_disk_fit *fit)
{
	/* regular files' blocks, directories and their names' bytes, long
	 * symlinks, files whose xattrs spill into a block of their own */
	static const char sql[] =
		"SELECT count(*),"
		" coalesce(sum(CASE WHEN (mode & 61440) = 32768 THEN (size + ?4 - 1) / ?4 ELSE 0 END), 0),"
		" coalesce(sum(CASE WHEN (mode & 61440) = 16384 THEN 1 ELSE 0 END), 0),"
		" coalesce(sum(length(name) + 16), 0),"
		" coalesce(sum(CASE WHEN (mode & 61440) = 40960 AND length(symlink) >= 60 THEN 1 ELSE 0 END), 0),"
		" coalesce(sum(CASE WHEN length(xattrs) > ?5 THEN 1 ELSE 0 END), 0)"
		" FROM versions WHERE guest_id = ?1 AND volume = ?2 AND first_seq <= ?3 AND last_seq >= ?3";
	uint64_t bs = rd_jnum(params, "block_bytes"), inode_bytes = rd_jnum(params, "inode_bytes"),
		 recorded = rd_jnum(params, "inodes"), blocks = rd_jnum(params, "blocks"), journal = rd_jnum(params, "journal_bytes");
	uint64_t files = 0, data = 0, dirs = 0, names = 0, links = 0, spills = 0, meta, per_inode;
	struct db_stmt *st;
	int rc;

	memset(fit, 0, sizeof(*fit));
	if (bs < 1024 || bs > 65536 || !inode_bytes || inode_bytes > bs || !recorded || !blocks)
		return -1;
	st = catalog_prepare(db, sql);
	if (!st)
		return -1;
	db_bind_int64(st, 1, guest_id);
	db_bind_text(st, 2, volume, -1);
	db_bind_int64(st, 3, seq);
	db_bind_int64(st, 4, (int64_t)bs);
	db_bind_int64(st, 5, inode_bytes > 160 ? (int64_t)(inode_bytes - 160) : 0);
	rc = db_step(st);
	if (rc == DB_ROW) {
		files = (uint64_t)db_column_int64(st, 0);
		data = (uint64_t)db_column_int64(st, 1);
		dirs = (uint64_t)db_column_int64(st, 2);
		names = (uint64_t)db_column_int64(st, 3);
		links = (uint64_t)db_column_int64(st, 4);
		spills = (uint64_t)db_column_int64(st, 5);
	}
	db_finalize(st);
	if (rc != DB_ROW)
		return -1;
	/* extent blocks of fragmented files: one in a hundred */
	data += div_up(data, 100) + dirs + 1 + div_up(names * 5 / 4, bs) + links + spills;
	/* the inodes: all that were used, a quarter more, no more than before */
	fit->inodes = files + files / 4 + 256;
	if (fit->inodes > recorded)
		fit->inodes = recorded;
	/* inode table, journal (mke2fs wants it under half the blocks), then
	 * bitmaps, descriptors and the resize reserve: 2 % and 16 MiB */
	meta = fit->inodes * inode_bytes + 16 * MiB;
	fit->need_bytes = data * bs + meta;
	fit->need_bytes += fit->need_bytes / 50;
	if (fit->need_bytes < 2 * journal + meta)
		fit->need_bytes = 2 * journal + meta;
	fit->files = files;
	fit->data_bytes = data * bs;
	fit->min_bytes = fit->need_bytes + TARGET_SHRINK_SLACK(fit->need_bytes);
	fit->min_bytes = div_up(fit->min_bytes, MiB) * MiB;
	/* bytes per inode as recorded: a filesystem keeps its density */
	per_inode = blocks * bs / recorded;
	fit->per_inode_bytes = per_inode ? per_inode : bs;
	return 0;
}

uint64_t restore_disk_fit_inodes(const struct restore_disk_fit *fit, uint64_t size, uint64_t recorded)
{
	uint64_t n = size / fit->per_inode_bytes;

	if (n > recorded)
		n = recorded;
	return n > fit->inodes ? n : fit->inodes;
}
