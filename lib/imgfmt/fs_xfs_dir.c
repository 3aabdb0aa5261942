/* fs_xfs_dir.c --- XFS directories: shortform, block, leaf and node
 *
 * Every entry of a directory that is not shortform lies in a data block
 * below XFS_DIR2_LEAF_OFFSET (32 GiB into the directory); the leaf, node
 * and free-index blocks above it only index them.  So all three block
 * formats are read the same way: each data block in turn, its entries
 * and free regions walked by their lengths, each checked to stay inside
 * the block.  A lookup is a walk too: bounded, whatever the hashes say.
 */
#include "fs_xfs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XFS_DIR2_BLOCK_MAGIC 0x58443242u /* XD2B */
#define XFS_DIR2_DATA_MAGIC 0x58443244u	 /* XD2D */
#define XFS_DIR3_BLOCK_MAGIC 0x58444233u /* XDB3 */
#define XFS_DIR3_DATA_MAGIC 0x58444433u	 /* XDD3 */
#define XFS_DIR2_LEAF_OFFSET (1ULL << 35)

static unsigned ftype_to_dt(uint8_t ft)
{
	static const unsigned dt[] = { DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK };

	return ft < sizeof(dt) / sizeof(dt[0]) ? dt[ft] : DT_UNKNOWN;
}

/* Without ftype in the entries (v4 without it): the type from the inode. */
static unsigned dt_of_inode(imgfmt_fs *fs, uint64_t ino)
{
	struct imgfmt_stat st;

	memset(&st, 0, sizeof(st));
	if (fs->ops->stat(fs, ino, &st) < 0)
		return DT_UNKNOWN;
	return IFTODT(st.mode);
}

/* Where entries go; TYPES: the caller wants DT_* types (a lookup does not). */
struct walk {
	imgfmt_dirent_fn cb;
	void *arg;
	bool types;
};

static int emit(imgfmt_fs *fs, const unsigned char *name, size_t len, uint64_t ino, int ft, const struct walk *w)
{
	unsigned dt = ft >= 0 ? ftype_to_dt((uint8_t)ft) : w->types ? dt_of_inode(fs, ino) : DT_UNKNOWN;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	return w->cb((const char *)name, len, ino, dt, w->arg);
}

/* Shortform: a header (count, i8count, parent) and packed entries. */
static int readdir_short(imgfmt_fs *fs, const struct xfs_inode *ip, const struct walk *w)
{
	struct xfs_state *xs = XFS_ST(fs);
	const unsigned char *p = ip->dfork, *end;
	unsigned count, inosz, pos;

	if (ip->size > ip->dfork_size || ip->size < 6)
		return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: shortform size", (unsigned long long)ip->ino);
	end = p + ip->size;
	count = p[0];
	inosz = p[1] ? 8 : 4;
	pos = 2 + inosz;
	for (unsigned i = 0; i < count; i++) {
		unsigned namelen, need;
		uint64_t ino;
		int rc, ft = -1;
		if (p + pos + 3 > end)
			goto bad;
		namelen = p[pos];
		need = 3 + namelen + (xs->ftype ? 1 : 0) + inosz;
		if (namelen == 0 || p + pos + need > end)
			goto bad;
		if (xs->ftype)
			ft = p[pos + 3 + namelen];
		ino = inosz == 8 ? xfs_be64(p + pos + need - 8) : xfs_be32(p + pos + need - 4);
		rc = emit(fs, p + pos + 3, namelen, ino, ft, w);
		if (rc)
			return rc;
		pos += need;
	}
	return 0;
bad:
	return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: shortform entry past its end",
		       (unsigned long long)ip->ino);
}

/* One data (or single block) directory block of DIRBLKSIZE bytes. */
static int readdir_block(imgfmt_fs *fs, const struct xfs_inode *ip, const unsigned char *b, const struct walk *w)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint32_t magic = xfs_be32(b), size = xs->dirblksize;
	size_t pos = xs->v5 ? 64 : 16, end = size;
	bool single = magic == XFS_DIR2_BLOCK_MAGIC || magic == XFS_DIR3_BLOCK_MAGIC;

	if (magic != (xs->v5 ? XFS_DIR3_DATA_MAGIC : XFS_DIR2_DATA_MAGIC) &&
	    magic != (xs->v5 ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC))
		return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: bad data block magic",
			       (unsigned long long)ip->ino);
	if (xs->v5 && (!imgfmt_xfs_crc_ok(b, size, 4) || xfs_be64(b + 40) != ip->ino))
		return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: bad data block checksum or owner",
			       (unsigned long long)ip->ino);
	if (single) {
		/* the block's tail: leaf entries (8 bytes each), then count and stale */
		uint64_t leaves = xfs_be32(b + size - 8);
		if (leaves * 8 + 8 > size - pos)
			return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: block tail", (unsigned long long)ip->ino);
		end = size - 8 - (size_t)leaves * 8;
	}
	while (pos + 8 <= end) {
		const unsigned char *e = b + pos;
		size_t len, namelen;
		int rc;
		if (xfs_be16(e) == 0xffff) { /* a free region */
			len = xfs_be16(e + 2);
			if (len < 8 || len % 8 || len > end - pos)
				goto bad;
			pos += len;
			continue;
		}
		namelen = e[8];
		len = (8 + 1 + namelen + (xs->ftype ? 1 : 0) + 2 + 7) & ~(size_t)7;
		if (namelen == 0 || len > end - pos)
			goto bad;
		rc = emit(fs, e + 9, namelen, xfs_be64(e), xs->ftype ? e[9 + namelen] : -1, w);
		if (rc)
			return rc;
		pos += len;
	}
	return 0;
bad:
	return fs_fail(fs, -EUCLEAN, "damaged XFS directory %llu: entry past its block", (unsigned long long)ip->ino);
}

static int dir_walk(imgfmt_fs *fs, uint64_t dir, const struct walk *w)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct xfs_inode *ip = malloc(sizeof(*ip));
	struct xfs_map map = { 0 };
	unsigned char *blk = NULL;
	uint64_t per = 1ULL << xs->dirblklog, leaf_blk = XFS_DIR2_LEAF_OFFSET >> xs->blocklog;
	int rc;

	if (!ip)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if ((rc = imgfmt_xfs_read_inode(fs, dir, ip)) < 0)
		goto out;
	if (!S_ISDIR(ip->mode)) {
		rc = fs_fail(fs, -ENOTDIR, "XFS inode %llu is not a directory", (unsigned long long)dir);
		goto out;
	}
	if (ip->format == XFS_FMT_LOCAL) {
		rc = readdir_short(fs, ip, w);
		goto out;
	}
	if ((rc = imgfmt_xfs_fork_map(fs, ip, XFS_DATA_FORK, &map)) < 0)
		goto out;
	if (!(blk = malloc(xs->dirblksize))) {
		rc = fs_fail(fs, -ENOMEM, "out of memory");
		goto out;
	}
	/* each directory block that starts in a mapped extent below the leaves */
	for (size_t i = 0; i < map.n && rc == 0; i++) {
		const struct xfs_ext *e = &map.ext[i];
		uint64_t first = (e->off + per - 1) / per * per;
		for (uint64_t lb = first; lb < e->off + e->len && lb < leaf_blk && rc == 0; lb += per) {
			rc = imgfmt_xfs_map_read(fs, &map, lb, per, blk);
			if (rc == 0)
				rc = readdir_block(fs, ip, blk, w);
		}
	}
out:
	imgfmt_xfs_map_free(&map);
	free(blk);
	free(ip);
	return rc;
}

int imgfmt_xfs_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	struct walk w = { cb, arg, true };

	return dir_walk(fs, dir, &w);
}

/* Every entry but "." and "..", for the name search. */
static int walk_entries(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	struct walk w = { cb, arg, false };

	return dir_walk(fs, dir, &w);
}

int imgfmt_xfs_lookup_child(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	return imgfmt_fs_lookup_scan(fs, dir, name, walk_entries, ino);
}
