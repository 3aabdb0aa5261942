/* fs_xfs_inode.c --- XFS inodes: where they are, their core, their forks' extents
 *
 * A fork is local (bytes in the inode), a list of extents in the inode, or
 * the root of a bmap btree whose leaves hold the extents.  Extents are
 * checked as they are read: inside the filesystem and its AG, sorted by
 * file offset without overlap, no more than the inode counts.
 */
#include "fs_xfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define XFS_DIFLAG_REALTIME 0x1
#define XFS_DIFLAG_IMMUTABLE 0x8
#define XFS_DIFLAG_APPEND 0x10
#define XFS_DIFLAG_SYNC 0x20
#define XFS_DIFLAG_NOATIME 0x40
#define XFS_DIFLAG_NODUMP 0x80
#define XFS_DIFLAG_PROJINHERIT 0x200
#define XFS_DIFLAG2_DAX 0x1
#define XFS_DIFLAG2_BIGTIME 0x8
#define XFS_DIFLAG2_NREXT64 0x10
#define XFS_BMAP_MAGIC 0x424d4150u
#define XFS_BMAP_CRC_MAGIC 0x424d4133u
#define XFS_SYMLINK_MAGIC 0x58534c4du
#define XFS_NULLFSBLOCK UINT64_MAX

int imgfmt_xfs_inode_pos(imgfmt_fs *fs, uint64_t ino, uint64_t *block, unsigned *offset)
{
	struct xfs_state *xs = XFS_ST(fs);
	unsigned shift = xs->agblklog + xs->inopblog;
	uint64_t agno = ino >> shift, agino = ino & ((1ULL << shift) - 1);

	if (agno >= xs->agcount || !imgfmt_xfs_ag_block(fs, (uint32_t)agno, agino >> xs->inopblog, block))
		return fs_fail(fs, -EINVAL, "inode %llu is outside the filesystem", (unsigned long long)ino);
	*offset = (unsigned)(agino & ((1u << xs->inopblog) - 1)) << xs->inodelog;
	return 0;
}

int imgfmt_xfs_parse_inode(imgfmt_fs *fs, uint64_t ino, struct xfs_inode *ip)
{
	struct xfs_state *xs = XFS_ST(fs);
	const unsigned char *r = ip->raw;
	size_t core, lit, boff;

	ip->ino = ino;
	ip->version = r[4];
	if (xfs_be16(r) != XFS_DINODE_MAGIC || ip->version < 1 || ip->version > 3 || (xs->v5 && ip->version != 3))
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: bad magic or version", (unsigned long long)ino);
	core = ip->version == 3 ? XFS_DINODE_V3_SIZE : XFS_DINODE_V2_SIZE;
	if (ip->version == 3) {
		if (!imgfmt_xfs_crc_ok(r, xs->inodesize, XFS_DINODE_CRC_OFF))
			return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: bad checksum", (unsigned long long)ino);
		if (xfs_be64(r + 152) != ino)
			return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: it says it is inode %llu",
				       (unsigned long long)ino, (unsigned long long)xfs_be64(r + 152));
	}
	ip->mode = xfs_be16(r + 2);
	ip->format = r[5];
	ip->aformat = r[83];
	ip->flags = xfs_be16(r + 90);
	ip->flags2 = ip->version == 3 ? xfs_be64(r + 120) : 0;
	ip->size = xfs_be64(r + 56);
	ip->nblocks = xfs_be64(r + 64);
	if (ip->flags2 & XFS_DIFLAG2_NREXT64) {
		ip->nextents = xfs_be64(r + 24);
		ip->anextents = xfs_be32(r + 76);
	} else {
		ip->nextents = xfs_be32(r + 76);
		ip->anextents = xfs_be16(r + 80);
	}
	if (ip->size >> 63 || ip->format > XFS_FMT_BTREE)
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: size or format", (unsigned long long)ino);
	lit = xs->inodesize - core;
	boff = (size_t)r[82] << 3;
	ip->dfork = r + core;
	ip->dfork_size = boff ? boff : lit;
	ip->afork = NULL;
	ip->afork_size = 0;
	if (boff) {
		if (boff >= lit || ip->aformat < XFS_FMT_LOCAL || ip->aformat > XFS_FMT_BTREE)
			return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: attribute fork", (unsigned long long)ino);
		ip->afork = r + core + boff;
		ip->afork_size = lit - boff;
	}
	return 0;
}

int imgfmt_xfs_read_inode(imgfmt_fs *fs, uint64_t ino, struct xfs_inode *ip)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint64_t block;
	unsigned offset;
	int rc = imgfmt_xfs_inode_pos(fs, ino, &block, &offset);

	if (rc < 0)
		return rc;
	rc = imgfmt_fs_volume_pread(fs, ip->raw, xs->inodesize, (block << xs->blocklog) + offset);
	return rc < 0 ? rc : imgfmt_xfs_parse_inode(fs, ino, ip);
}

static struct timespec xfs_time(const struct xfs_inode *ip, const unsigned char *p)
{
	struct timespec ts;

	if (ip->flags2 & XFS_DIFLAG2_BIGTIME) {
		uint64_t ns = xfs_be64(p);
		ts.tv_sec = (time_t)((int64_t)(ns / 1000000000) - 2147483648LL);
		ts.tv_nsec = (long)(ns % 1000000000);
	} else {
		uint32_t nsec = xfs_be32(p + 4);
		ts.tv_sec = (time_t)(int32_t)xfs_be32(p);
		ts.tv_nsec = nsec < 1000000000 ? (long)nsec : 0;
	}
	return ts;
}

void imgfmt_xfs_fill_stat(imgfmt_fs *fs, const struct xfs_inode *ip, struct imgfmt_stat *st)
{
	const unsigned char *r = ip->raw;
	static const struct { uint16_t xfs; uint32_t linux_fl; } flag_map[] = {
		{ XFS_DIFLAG_IMMUTABLE, 0x10 }, { XFS_DIFLAG_APPEND, 0x20 }, { XFS_DIFLAG_SYNC, 0x8 },
		{ XFS_DIFLAG_NOATIME, 0x80 }, { XFS_DIFLAG_NODUMP, 0x40 }, { XFS_DIFLAG_PROJINHERIT, 0x20000000 },
	};

	st->ino = ip->ino;
	st->generation = xfs_be32(r + 92);
	st->mode = ip->mode;
	st->uid = xfs_be32(r + 8);
	st->gid = xfs_be32(r + 12);
	st->nlink = ip->version == 1 ? xfs_be16(r + 6) : xfs_be32(r + 16);
	st->size = ip->size;
	st->allocated = ip->nblocks < (1ULL << 48) ? ip->nblocks * XFS_ST(fs)->blocksize : 0;
	st->atime = xfs_time(ip, r + 32);
	st->mtime = xfs_time(ip, r + 40);
	st->ctime = xfs_time(ip, r + 48);
	if (ip->version == 3)
		st->btime = xfs_time(ip, r + 144);
	if (ip->format == XFS_FMT_DEV && ip->dfork_size >= 4) {
		uint32_t dev = xfs_be32(ip->dfork);
		st->rdev_major = dev >> 18;
		st->rdev_minor = dev & 0x3ffff;
	}
	for (size_t i = 0; i < sizeof(flag_map) / sizeof(flag_map[0]); i++)
		if (ip->flags & flag_map[i].xfs)
			st->flags |= flag_map[i].linux_fl;
	if (ip->flags2 & XFS_DIFLAG2_DAX)
		st->flags |= 0x02000000;
}

/* ---- fork extent maps ---- */

void imgfmt_xfs_map_free(struct xfs_map *map)
{
	free(map->ext);
	memset(map, 0, sizeof(*map));
}

/* Decode one bmbt record and append it, checked against the previous one. */
static int map_add(imgfmt_fs *fs, const struct xfs_inode *ip, struct xfs_map *map, const unsigned char *rec,
		   uint64_t limit)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint64_t l0 = xfs_be64(rec), l1 = xfs_be64(rec + 8);
	uint64_t off = (l0 >> 9) & ((1ULL << 54) - 1), fsb = ((l0 & 0x1ff) << 43) | (l1 >> 21);
	uint64_t len = l1 & 0x1fffff, block, agbno = fsb & ((1ULL << xs->agblklog) - 1);
	struct xfs_ext *e;

	if (map->n >= limit || map->n >= XFS_MAX_EXTENTS)
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: more extents than it counts",
			       (unsigned long long)ip->ino);
	if (len == 0 || (map->n && off < map->ext[map->n - 1].off + map->ext[map->n - 1].len) ||
	    off + len > (1ULL << 54))
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: extents out of order or overlapping",
			       (unsigned long long)ip->ino);
	if (imgfmt_xfs_fsb_to_block(fs, fsb, &block) < 0 || agbno + len > xs->agblocks || block + len > xs->dblocks)
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: an extent lies outside the filesystem",
			       (unsigned long long)ip->ino);
	if (map->n == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 16;
		e = realloc(map->ext, cap * sizeof(*e));
		if (!e)
			return fs_fail(fs, -ENOMEM, "out of memory");
		map->ext = e;
		map->cap = cap;
	}
	map->ext[map->n++] = (struct xfs_ext){ off, block, len, (l0 >> 63) != 0 };
	return 0;
}

/* A bmap btree: the root in the inode, then down the leftmost pointers
 * and along the leaves' right siblings.  Every leaf below the root holds a
 * record, so the walk ends after at most NEXTENTS leaves (no loops). */
static int map_btree(imgfmt_fs *fs, const struct xfs_inode *ip, const unsigned char *root, size_t size,
		     uint64_t nextents, struct xfs_map *map)
{
	struct xfs_state *xs = XFS_ST(fs);
	size_t hdr = xs->v5 ? 72 : 24, rootmax = (size - 4) / 16, nodemax = (xs->blocksize - hdr) / 16;
	unsigned level = xfs_be16(root), numrecs = xfs_be16(root + 2);
	uint64_t fsb, leaves = 0;
	unsigned char *blk;
	int rc = 0;

	if (level == 0 || level > XFS_MAX_BTREE_DEPTH || numrecs == 0 || numrecs > rootmax)
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: bmap btree root", (unsigned long long)ip->ino);
	if (!(blk = malloc(xs->blocksize)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	fsb = xfs_be64(root + 4 + rootmax * 8);
	while (rc == 0 && fsb != XFS_NULLFSBLOCK) {
		uint64_t block;
		unsigned n, lvl;
		if (level > 0)
			level--;
		if ((rc = imgfmt_xfs_fsb_to_block(fs, fsb, &block)) < 0 ||
		    (rc = imgfmt_xfs_read_blocks(fs, block, blk, xs->blocksize)) < 0)
			break;
		n = xfs_be16(blk + 6);
		lvl = xfs_be16(blk + 4);
		if (xfs_be32(blk) != (xs->v5 ? XFS_BMAP_CRC_MAGIC : XFS_BMAP_MAGIC) || lvl != level || n == 0 ||
		    n > nodemax || (xs->v5 && (!imgfmt_xfs_crc_ok(blk, xs->blocksize, 64) || xfs_be64(blk + 56) != ip->ino))) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: bmap btree block %llu",
				     (unsigned long long)ip->ino, (unsigned long long)fsb);
			break;
		}
		if (lvl > 0) {
			fsb = xfs_be64(blk + hdr + nodemax * 8);
			continue;
		}
		if (++leaves > nextents) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: bmap btree leaves loop",
				     (unsigned long long)ip->ino);
			break;
		}
		for (unsigned i = 0; i < n && rc == 0; i++)
			rc = map_add(fs, ip, map, blk + hdr + (size_t)i * 16, nextents);
		fsb = xfs_be64(blk + 16);
	}
	free(blk);
	if (rc == 0 && map->n != nextents)
		rc = fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: %zu extents found, %llu counted",
			     (unsigned long long)ip->ino, map->n, (unsigned long long)nextents);
	return rc;
}

int imgfmt_xfs_fork_map(imgfmt_fs *fs, const struct xfs_inode *ip, int w, struct xfs_map *map)
{
	const unsigned char *fork = w == XFS_DATA_FORK ? ip->dfork : ip->afork;
	size_t size = w == XFS_DATA_FORK ? ip->dfork_size : ip->afork_size;
	uint64_t n = w == XFS_DATA_FORK ? ip->nextents : ip->anextents;
	int format = w == XFS_DATA_FORK ? ip->format : ip->aformat;
	int rc = 0;

	map->n = 0;
	if (!fork)
		return 0;
	if (format == XFS_FMT_BTREE)
		return map_btree(fs, ip, fork, size, n, map);
	if (format != XFS_FMT_EXTENTS)
		return fs_fail(fs, -EUCLEAN, "XFS inode %llu: the fork holds no extents", (unsigned long long)ip->ino);
	if (n > size / 16)
		return fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: %llu extents do not fit in the inode",
			       (unsigned long long)ip->ino, (unsigned long long)n);
	for (uint64_t i = 0; i < n && rc == 0; i++)
		rc = map_add(fs, ip, map, fork + i * 16, n);
	return rc;
}

/* The extent holding file block LBLK, or NULL. */
static const struct xfs_ext *map_find(const struct xfs_map *map, uint64_t lblk)
{
	size_t lo = 0, hi = map->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xfs_ext *e = &map->ext[mid];
		if (lblk < e->off)
			hi = mid;
		else if (lblk >= e->off + e->len)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

int imgfmt_xfs_map_read(imgfmt_fs *fs, const struct xfs_map *map, uint64_t lblk, uint64_t count, unsigned char *buf)
{
	struct xfs_state *xs = XFS_ST(fs);

	while (count > 0) {
		const struct xfs_ext *e = map_find(map, lblk);
		uint64_t n;
		int rc;
		if (!e || e->unwritten)
			return fs_fail(fs, -EUCLEAN, "damaged XFS: metadata block %llu of a file is not mapped",
				       (unsigned long long)lblk);
		n = e->off + e->len - lblk;
		if (n > count)
			n = count;
		rc = imgfmt_xfs_read_blocks(fs, e->block + (lblk - e->off), buf, n << xs->blocklog);
		if (rc < 0)
			return rc;
		buf += n << xs->blocklog;
		lblk += n;
		count -= n;
	}
	return 0;
}

/* ---- file data ---- */

/* The data fork map of IP, cached for the file read last. */
static int data_map(imgfmt_fs *fs, const struct xfs_inode *ip, const struct xfs_map **out)
{
	struct xfs_state *xs = XFS_ST(fs);
	int rc;

	if (ip->flags & XFS_DIFLAG_REALTIME)
		return fs_fail(fs, -EOPNOTSUPP, "XFS inode %llu is a realtime file (its data is on the realtime "
						"device rawkit does not read)", (unsigned long long)ip->ino);
	if (xs->map_ino != ip->ino) {
		xs->map_ino = UINT64_MAX;
		rc = imgfmt_xfs_fork_map(fs, ip, XFS_DATA_FORK, &xs->map);
		if (rc < 0)
			return rc;
		xs->map_ino = ip->ino;
	}
	*out = &xs->map;
	return 0;
}

/* INO's inode, which has a data fork (a directory's only where DIRS). */
static int read_data_inode(imgfmt_fs *fs, uint64_t ino, struct xfs_inode **ip, bool dirs)
{
	int rc;

	if (!(*ip = malloc(sizeof(**ip))))
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = imgfmt_xfs_read_inode(fs, ino, *ip);
	if (rc == 0 && S_ISDIR((*ip)->mode) && !dirs)
		rc = fs_fail(fs, -EISDIR, "XFS inode %llu is a directory", (unsigned long long)ino);
	if (rc == 0 && (*ip)->format == XFS_FMT_DEV)
		rc = fs_fail(fs, -EINVAL, "XFS inode %llu has no data", (unsigned long long)ino);
	if (rc < 0) {
		free(*ip);
		*ip = NULL;
	}
	return rc;
}

ssize_t imgfmt_xfs_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off)
{
	struct xfs_state *xs = XFS_ST(fs);
	const struct xfs_map *map;
	struct xfs_inode *ip;
	unsigned char *out = buf;
	size_t done = 0;
	int rc;

	if (stream)
		return fs_fail(fs, -ENOENT, "XFS has no named streams");
	if ((rc = read_data_inode(fs, ino, &ip, false)) < 0)
		return rc;
	if (off >= ip->size || len == 0)
		goto out;
	if (len > ip->size - off)
		len = (size_t)(ip->size - off);
	if (ip->format == XFS_FMT_LOCAL) {
		if (ip->size > ip->dfork_size)
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS inode %llu: local data larger than its fork",
				     (unsigned long long)ino);
		else
			memcpy(out, ip->dfork + off, len), done = len;
		goto out;
	}
	if ((rc = data_map(fs, ip, &map)) < 0)
		goto out;
	while (done < len) {
		uint64_t pos = off + done, lblk = pos >> xs->blocklog, in_blk = pos & (xs->blocksize - 1);
		const struct xfs_ext *e = map_find(map, lblk);
		size_t n;
		if (!e || e->unwritten) {
			/* a hole or unwritten: zeros up to the next extent */
			uint64_t next = UINT64_MAX;
			for (size_t i = 0; i < map->n; i++)
				if (map->ext[i].off > lblk) {
					next = map->ext[i].off;
					break;
				}
			if (e)
				next = e->off + e->len;
			n = next == UINT64_MAX || ((next << xs->blocklog) - pos) > len - done ? len - done
											  : (size_t)((next << xs->blocklog) - pos);
			memset(out + done, 0, n);
		} else {
			uint64_t avail = ((e->off + e->len - lblk) << xs->blocklog) - in_blk;
			n = avail > len - done ? len - done : (size_t)avail;
			rc = imgfmt_fs_volume_pread(fs, out + done, n,
						    ((e->block + lblk - e->off) << xs->blocklog) + in_blk);
			if (rc < 0)
				goto out;
		}
		done += n;
	}
out:
	free(ip);
	return rc < 0 ? rc : (ssize_t)done;
}

int imgfmt_xfs_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	const struct xfs_map *map;
	struct xfs_inode *ip;
	uint64_t run_off = 0, run_len = 0, run_phys = 0;
	int rc;

	if ((rc = read_data_inode(fs, ino, &ip, true)) < 0)
		return rc;
	if (ip->format == XFS_FMT_LOCAL) {
		rc = ip->size ? cb(0, ip->size, IMGFMT_NO_PHYSICAL, arg) : 0;
		goto out;
	}
	if ((rc = data_map(fs, ip, &map)) < 0)
		goto out;
	for (size_t i = 0; i < map->n && rc == 0; i++) {
		const struct xfs_ext *e = &map->ext[i];
		uint64_t off = e->off << xs->blocklog, len = e->len << xs->blocklog, phys = e->block << xs->blocklog;
		if (e->unwritten || off >= ip->size)
			continue;
		if (len > ip->size - off)
			len = ip->size - off;
		if (run_len && run_off + run_len == off && run_phys + run_len == phys) {
			run_len += len;
			continue;
		}
		if (run_len)
			rc = cb(run_off, run_len, run_phys, arg);
		run_off = off, run_len = len, run_phys = phys;
	}
	if (rc == 0 && run_len)
		rc = cb(run_off, run_len, run_phys, arg);
out:
	free(ip);
	return rc;
}

/* A symlink's target: in the inode, or in blocks (v5: each with a header). */
ssize_t imgfmt_xfs_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct xfs_inode *ip = malloc(sizeof(*ip));
	struct xfs_map map = { 0 };
	unsigned char *blk = NULL;
	size_t len = 0, per = xs->v5 ? xs->blocksize - 56 : xs->blocksize, hdr = xs->v5 ? 56 : 0;
	int rc;

	if (!ip)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if ((rc = imgfmt_xfs_read_inode(fs, ino, ip)) < 0)
		goto out;
	if (!S_ISLNK(ip->mode)) {
		rc = fs_fail(fs, -EINVAL, "XFS inode %llu is not a symbolic link", (unsigned long long)ino);
		goto out;
	}
	if (ip->size == 0 || ip->size > XFS_SYMLINK_MAXLEN) {
		rc = fs_fail(fs, -EUCLEAN, "damaged XFS symlink %llu: length %llu", (unsigned long long)ino,
			     (unsigned long long)ip->size);
		goto out;
	}
	len = (size_t)ip->size;
	if (len >= size) {
		rc = fs_fail(fs, -ENAMETOOLONG, "symlink target of %zu bytes does not fit", len);
		goto out;
	}
	if (ip->format == XFS_FMT_LOCAL) {
		if (len > ip->dfork_size)
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS symlink %llu: longer than its fork", (unsigned long long)ino);
		else
			memcpy(buf, ip->dfork, len);
		goto out;
	}
	if ((rc = imgfmt_xfs_fork_map(fs, ip, XFS_DATA_FORK, &map)) < 0)
		goto out;
	if (!(blk = malloc(xs->blocksize))) {
		rc = fs_fail(fs, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t done = 0, b = 0; done < len && rc == 0; b++) {
		size_t n = len - done < per ? len - done : per;
		if ((rc = imgfmt_xfs_map_read(fs, &map, b, 1, blk)) < 0)
			break;
		if (xs->v5 && (xfs_be32(blk) != XFS_SYMLINK_MAGIC || !imgfmt_xfs_crc_ok(blk, xs->blocksize, 12) ||
			       xfs_be32(blk + 4) != done || xfs_be32(blk + 8) < n)) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS symlink %llu: remote block %zu", (unsigned long long)ino, b);
			break;
		}
		memcpy(buf + done, blk + hdr, n);
		done += n;
	}
out:
	if (rc == 0)
		buf[len] = '\0';
	imgfmt_xfs_map_free(&map);
	free(blk);
	free(ip);
	return rc < 0 ? rc : (ssize_t)len;
}
