/* fs_xfs.c --- XFS back end: the superblock, the ops table, stat, scan, set_uuid
 *
 * Read-only, written from the format documentation; the volume is read
 * only through imgfmt_fs_volume_pread().  The one write is the UUID
 * (imgfmt_fs_set_uuid), done as xfs_admin -U does it.
 */
#include "fs_xfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define XFS_VERSION_NUMBITS 0x000f
#define XFS_VERSION_DIRV2BIT 0x2000
#define XFS_VERSION_MOREBITSBIT 0x8000
#define XFS_VERSION_LOGV2BIT 0x0400
#define XFS_VERSION_SHAREDBIT 0x0200
#define XFS_VERSION2_OKBITS (0x2u | 0x8u | 0x80u | 0x200u) /* lazysbcount, attr2, projid32, ftype */
#define XFS_VERSION2_FTYPE 0x200
#define XFS_INCOMPAT_KNOWN                                                                          \
	(XFS_INCOMPAT_FTYPE | XFS_INCOMPAT_SPINODES | XFS_INCOMPAT_META_UUID | XFS_INCOMPAT_BIGTIME | \
	 XFS_INCOMPAT_NREXT64)
#define XFS_RO_COMPAT_KNOWN 0xfu /* finobt, rmapbt, reflink, inobtcount */
#define XFS_NULLFSINO UINT64_MAX

/* ---- open ---- */

static bool xfs_match(const char *fstype)
{
	return !strcmp(fstype, "xfs");
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static unsigned log2_ceil(uint64_t v)
{
	unsigned l = 0;

	while ((1ULL << l) < v)
		l++;
	return l;
}

/* The v4/v5 feature words: refuse what this reader does not know. */
static int xfs_check_features(imgfmt_fs *fs, const unsigned char *sb)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint16_t vn = xfs_be16(sb + 100);
	uint32_t features2 = xfs_be32(sb + 200);

	if ((vn & XFS_VERSION_NUMBITS) == 5) {
		uint32_t incompat = xfs_be32(sb + 216);
		xs->v5 = true;
		if (!imgfmt_xfs_crc_ok(sb, xs->sectsize, XFS_SB_CRC_OFF))
			return fs_fail(fs, -EUCLEAN, "damaged XFS: bad superblock checksum");
		if (incompat & XFS_INCOMPAT_NEEDSREPAIR)
			return fs_fail(fs, -EUCLEAN, "XFS needs xfs_repair (its needsrepair flag is set)");
		if (incompat & ~XFS_INCOMPAT_KNOWN)
			return fs_fail(fs, -EOPNOTSUPP, "XFS with incompatible features rawkit does not know (0x%x)",
				       incompat & ~XFS_INCOMPAT_KNOWN);
		xs->incompat = incompat;
		xs->ftype = incompat & XFS_INCOMPAT_FTYPE;
		xs->sparse = incompat & XFS_INCOMPAT_SPINODES;
		xs->logv2 = true;
		return 0;
	}
	if ((vn & XFS_VERSION_NUMBITS) != 4)
		return fs_fail(fs, -EOPNOTSUPP, "XFS superblock version %u (rawkit reads 4 and 5)",
			       vn & XFS_VERSION_NUMBITS);
	if (!(vn & XFS_VERSION_DIRV2BIT) || (vn & XFS_VERSION_SHAREDBIT) ||
	    ((vn & XFS_VERSION_MOREBITSBIT) && (features2 & ~XFS_VERSION2_OKBITS)))
		return fs_fail(fs, -EOPNOTSUPP, "XFS v4 with features rawkit does not know (0x%x, 0x%x)", vn,
			       features2);
	xs->ftype = (vn & XFS_VERSION_MOREBITSBIT) && (features2 & XFS_VERSION2_FTYPE);
	xs->logv2 = vn & XFS_VERSION_LOGV2BIT;
	return 0;
}

/* Geometry: every size a power of two where the format says so, and the
 * AGs exactly covering the filesystem, which lies inside its volume. */
static int xfs_check_geometry(imgfmt_fs *fs, const unsigned char *sb)
{
	struct xfs_state *xs = XFS_ST(fs);
	unsigned sectlog = sb[121], inodelog = sb[122];
	uint16_t inopblock = xfs_be16(sb + 106);

	xs->blocksize = xfs_be32(sb + 4);
	xs->blocklog = sb[120];
	xs->inodesize = xfs_be16(sb + 104);
	xs->inodelog = inodelog;
	xs->inopblog = sb[123];
	xs->agblklog = sb[124];
	xs->dblocks = xfs_be64(sb + 8);
	xs->agblocks = xfs_be32(sb + 84);
	xs->agcount = xfs_be32(sb + 88);
	xs->dirblklog = sb[192];
	if (xs->blocksize < 512 || xs->blocksize > 65536 || xs->blocksize != 1u << xs->blocklog ||
	    xs->sectsize < 512 || xs->sectsize > 32768 || xs->sectsize != 1u << sectlog || xs->sectsize > xs->blocksize)
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: block size %u, sector size %u", xs->blocksize,
			       xs->sectsize);
	if (xs->inodesize < 256 || xs->inodesize > XFS_DINODE_MAX_SIZE || xs->inodesize != 1u << inodelog ||
	    inodelog > xs->blocklog || xs->inopblog != xs->blocklog - inodelog || inopblock != 1u << xs->inopblog)
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: inode size %u", xs->inodesize);
	if (xs->agcount == 0 || xs->agblocks < 16 || xs->agblklog != log2_ceil(xs->agblocks) ||
	    xs->agblklog + xs->inopblog > 32 || xs->dblocks == 0 ||
	    xs->dblocks > (uint64_t)xs->agcount * xs->agblocks ||
	    xs->dblocks <= (uint64_t)(xs->agcount - 1) * xs->agblocks)
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: %u AGs of %u blocks for %llu blocks",
			       xs->agcount, xs->agblocks, (unsigned long long)xs->dblocks);
	if (xs->dblocks > fs->vol.size >> xs->blocklog)
		return fs_fail(fs, -EUCLEAN, "XFS of %llu bytes is larger than its volume (%llu bytes)",
			       (unsigned long long)(xs->dblocks << xs->blocklog), (unsigned long long)fs->vol.size);
	if (xs->blocklog + xs->dirblklog > 16)
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: directory block log %u", xs->dirblklog);
	xs->dirblksize = xs->blocksize << xs->dirblklog;
	return 0;
}

static int xfs_read_super(imgfmt_fs *fs)
{
	struct xfs_state *xs = XFS_ST(fs);
	unsigned char sb[32768];
	int rc;

	rc = imgfmt_fs_volume_pread(fs, sb, 512, 0);
	if (rc < 0)
		return rc;
	if (xfs_be32(sb) != XFS_SB_MAGIC)
		return fs_fail(fs, -EUCLEAN, "no XFS superblock (bad magic)");
	xs->sectsize = xfs_be16(sb + 102);
	if (!is_pow2(xs->sectsize) || xs->sectsize < 512 || xs->sectsize > sizeof(sb))
		return fs_fail(fs, -EUCLEAN, "damaged XFS superblock: sector size %u", xs->sectsize);
	if (xs->sectsize > 512 && (rc = imgfmt_fs_volume_pread(fs, sb, xs->sectsize, 0)) < 0)
		return rc;
	if ((rc = xfs_check_features(fs, sb)) < 0 || (rc = xfs_check_geometry(fs, sb)) < 0)
		return rc;
	if (sb[126])
		return fs_fail(fs, -EUCLEAN, "XFS is not fully made (mkfs in progress)");
	xs->versionnum = xfs_be16(sb + 100);
	memcpy(xs->uuid, sb + 32, 16);
	memcpy(xs->meta_uuid, (xs->incompat & XFS_INCOMPAT_META_UUID) ? sb + 248 : sb + 32, 16);
	xs->logstart = xfs_be64(sb + 48);
	xs->rootino = xfs_be64(sb + 56);
	xs->logblocks = xfs_be32(sb + 96);
	xs->log_sunit = xfs_be32(sb + 196);
	xs->meta_inos[0] = xfs_be64(sb + 64);  /* rt bitmap */
	xs->meta_inos[1] = xfs_be64(sb + 72);  /* rt summary */
	xs->meta_inos[2] = xfs_be64(sb + 160); /* user quota */
	xs->meta_inos[3] = xfs_be64(sb + 168); /* group quota */
	xs->meta_inos[4] = xs->v5 ? xfs_be64(sb + 232) : XFS_NULLFSINO; /* project quota */
	fs->block_size = xs->blocksize;
	fs->total_bytes = xs->dblocks << xs->blocklog;
	fs->free_bytes = xfs_be64(sb + 144) << xs->blocklog;
	if (fs->free_bytes > fs->total_bytes)
		fs->free_bytes = fs->total_bytes;
	fs->files = xfs_be64(sb + 128) >= xfs_be64(sb + 136) ? xfs_be64(sb + 128) - xfs_be64(sb + 136) : 0;
	fs->root = xs->rootino;
	return 0;
}

static int xfs_open(imgfmt_fs *fs)
{
	struct xfs_state *xs = calloc(1, sizeof(*xs));
	struct xfs_inode *root;
	int rc;

	if (!xs)
		return fs_fail(fs, -ENOMEM, "out of memory");
	fs->priv = xs;
	xs->map_ino = XFS_NULLFSINO;
	snprintf(fs->type, sizeof(fs->type), "xfs");
	rc = xfs_read_super(fs);
	if (rc == 0 && !(root = malloc(sizeof(*root))))
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	else if (rc == 0) {
		rc = imgfmt_xfs_read_inode(fs, xs->rootino, root);
		if (rc == 0 && (root->mode & 0170000) != 0040000)
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: the root inode is not a directory");
		free(root);
	}
	if (rc == 0)
		rc = imgfmt_xfs_log_state(fs);
	if (rc < 0) {
		free(xs);
		fs->priv = NULL;
	}
	return rc;
}

static void xfs_close(imgfmt_fs *fs)
{
	struct xfs_state *xs = fs->priv;

	if (!xs)
		return;
	imgfmt_xfs_map_free(&xs->map);
	free(xs);
	fs->priv = NULL;
}

/* ---- stat and scan ---- */

static int xfs_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st)
{
	struct xfs_inode *ip = malloc(sizeof(*ip));
	int rc;

	if (!ip)
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = imgfmt_xfs_read_inode(fs, ino, ip);
	if (rc == 0)
		imgfmt_xfs_fill_stat(fs, ip, st);
	free(ip);
	return rc;
}

struct scan_ctx {
	imgfmt_scan_fn cb;
	void *arg;
	struct xfs_inode *ip;
	unsigned char *chunk; /* 64 inodes */
	int rc;
};

static bool is_meta_inode(const struct xfs_state *xs, uint64_t ino)
{
	for (size_t i = 0; i < sizeof(xs->meta_inos) / sizeof(xs->meta_inos[0]); i++)
		if (xs->meta_inos[i] == ino)
			return true;
	return false;
}

/* One inobt record: a chunk of 64 inodes (sparse: the holemask's bits,
 * 4 inodes each, name the parts that are not inodes at all). */
static int scan_chunk(imgfmt_fs *fs, uint32_t agno, const unsigned char *rec, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct scan_ctx *s = arg;
	uint32_t startino = xfs_be32(rec);
	uint16_t holemask = xs->sparse ? xfs_be16(rec + 4) : 0;
	uint64_t freemask = xfs_be64(rec + 8), block;
	uint64_t agino_end = (uint64_t)xs->agblocks << xs->inopblog;
	size_t isz = xs->inodesize;

	if (startino % 64 || startino + 64ULL > agino_end ||
	    !imgfmt_xfs_ag_block(fs, agno, startino >> xs->inopblog, &block))
		return fs_fail(fs, -EUCLEAN, "damaged XFS: inode chunk %u of AG %u is outside it", startino, agno);
	/* One read per run of groups of 4 that are inodes, from the first one
	 * in use to the last (free ones in between are cheaper read than
	 * skipped): a chunk is one 16-32 KiB read, not 16 small ones. */
	for (unsigned i = 0; i < 64;) {
		unsigned end;
		uint64_t byte;
		int rc;
		if ((holemask & (1u << (i / 4))) || (~freemask >> i & 0xf) == 0) {
			i += 4;
			continue;
		}
		end = i + 4;
		for (unsigned j = end; j < 64 && !(holemask & (1u << (j / 4))); j += 4)
			if ((~freemask >> j & 0xf) != 0)
				end = j + 4;
		byte = (block << xs->blocklog) + i * isz;
		if (byte + (end - i) * isz > xs->dblocks << xs->blocklog)
			return fs_fail(fs, -EUCLEAN, "damaged XFS: inode chunk %u of AG %u is outside it", startino,
				       agno);
		rc = imgfmt_fs_volume_pread(fs, s->chunk + i * isz, (end - i) * isz, byte);
		if (rc < 0)
			return rc;
		i = end;
	}
	for (unsigned i = 0; i < 64; i++) {
		uint64_t ino = (uint64_t)agno << (xs->agblklog + xs->inopblog) | (startino + i);
		struct imgfmt_stat st;
		int rc;
		if ((holemask & (1u << (i / 4))) || (freemask >> i & 1) || is_meta_inode(xs, ino))
			continue;
		memcpy(s->ip->raw, s->chunk + i * isz, isz);
		if (imgfmt_xfs_parse_inode(fs, ino, s->ip) < 0 || s->ip->mode == 0)
			continue; /* damaged: left out, as the scan promises */
		memset(&st, 0, sizeof(st));
		imgfmt_xfs_fill_stat(fs, s->ip, &st);
		rc = s->cb(&st, s->arg);
		if (rc) {
			s->rc = rc;
			return rc;
		}
	}
	return 0;
}

#define XFS_AGI_MAGIC 0x58414749u
#define XFS_IBT_MAGIC 0x49414254u
#define XFS_IBT_CRC_MAGIC 0x49414233u

static int xfs_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct scan_ctx s = { cb, arg, malloc(sizeof(struct xfs_inode)), malloc(64 * (size_t)xs->inodesize), 0 };
	unsigned char *agi = malloc(xs->sectsize);
	int rc = 0;

	if (!s.ip || !s.chunk || !agi)
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	for (uint32_t agno = 0; agno < xs->agcount && rc == 0; agno++) {
		rc = imgfmt_xfs_read_aghdr(fs, agno, 2, XFS_AGI_MAGIC, 312, agi);
		if (rc == 0)
			rc = imgfmt_xfs_walk_agbt(fs, agno, xfs_be32(agi + 20), xfs_be32(agi + 24),
						  xs->v5 ? XFS_IBT_CRC_MAGIC : XFS_IBT_MAGIC, 16, 4, scan_chunk, &s);
	}
	free(s.ip);
	free(s.chunk);
	free(agi);
	return s.rc ? s.rc : rc;
}

static int xfs_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg)
{
	(void)fs, (void)ino, (void)cb, (void)arg;
	return 0;
}

/* ---- the one write: the UUID ---- */

/* xfs_admin -U: the log is rewritten clean with the new UUID in its record
 * headers, then every AG's superblock gets it.  v5 metadata carries the
 * UUID it was made with in every block: that one moves to sb_meta_uuid
 * (incompat META_UUID) instead of every block being rewritten. */
static int xfs_set_uuid(imgfmt_fs *fs, const unsigned char uuid[16])
{
	struct xfs_state *xs = XFS_ST(fs);
	unsigned char *sb;
	uint32_t incompat = xs->incompat;
	unsigned char meta[16];
	int rc = 0;

	if (fs->dirty)
		return fs_fail(fs, -EBUSY, "the XFS log is not clean: mount and unmount it (or xfs_repair) first");
	if (xs->logstart == 0)
		return fs_fail(fs, -EOPNOTSUPP, "XFS with an external log: its UUID cannot be set here");
	memcpy(meta, xs->meta_uuid, 16);
	if (xs->v5 && !(incompat & XFS_INCOMPAT_META_UUID) && memcmp(uuid, xs->meta_uuid, 16)) {
		incompat |= XFS_INCOMPAT_META_UUID; /* meta keeps the old UUID */
	} else if (xs->v5 && (incompat & XFS_INCOMPAT_META_UUID) && !memcmp(uuid, xs->meta_uuid, 16)) {
		incompat &= ~XFS_INCOMPAT_META_UUID; /* back to the UUID the metadata has */
		memset(meta, 0, 16);
	}
	if (!(sb = malloc(xs->sectsize)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = imgfmt_xfs_log_clear(fs, uuid);
	for (uint32_t agno = 0; agno < xs->agcount && rc == 0; agno++) {
		uint64_t off = ((uint64_t)agno * xs->agblocks) << xs->blocklog;
		if ((rc = imgfmt_fs_volume_pread(fs, sb, xs->sectsize, off)) < 0)
			break;
		if (xfs_be32(sb) != XFS_SB_MAGIC) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: no superblock in AG %u", agno);
			break;
		}
		memcpy(sb + 32, uuid, 16);
		if (xs->v5) {
			xfs_put_be32(sb + 216, incompat);
			if (incompat != xs->incompat || (incompat & XFS_INCOMPAT_META_UUID))
				memcpy(sb + 248, meta, 16);
			imgfmt_xfs_put_crc(sb, xs->sectsize, XFS_SB_CRC_OFF);
		}
		rc = imgfmt_fs_volume_pwrite(fs, sb, xs->sectsize, off);
	}
	free(sb);
	if (rc == 0) {
		memcpy(xs->uuid, uuid, 16);
		if (incompat & XFS_INCOMPAT_META_UUID)
			memcpy(xs->meta_uuid, meta, 16);
		xs->incompat = incompat;
	}
	return rc;
}

static int xfs_commit(imgfmt_fs *fs)
{
	(void)fs;
	return 0; /* set_uuid wrote as it went; imgfmt_disk_sync() makes it durable */
}

const struct imgfmt_fs_ops imgfmt_fs_xfs_ops = {
	.name = "xfs",
	.match = xfs_match,
	.open = xfs_open,
	.close = xfs_close,
	.stat = xfs_stat,
	.scan = xfs_scan,
	.lookup_child = imgfmt_xfs_lookup_child,
	.readdir = imgfmt_xfs_readdir,
	.pread = imgfmt_xfs_pread,
	.readlink = imgfmt_xfs_readlink,
	.xattrs = imgfmt_xfs_xattrs,
	.streams = xfs_streams,
	.data_runs = imgfmt_xfs_data_runs,
	.free_space = imgfmt_xfs_free_space,
	/* no write_file, mkdir, remove: opened with IMGFMT_FS_WRITE, XFS can only
	 * have its UUID set (fs.c) */
	.set_uuid = xfs_set_uuid,
	.commit = xfs_commit,
};

