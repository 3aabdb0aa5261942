/* fs_xfs.h --- state shared by the files of the read-only XFS back end
 *
 * Written from the on-disk format (XFS Algorithms & Data Structures;
 * xfs_format.h, xfs_da_format.h, xfs_log_format.h).  Every number read from
 * the volume is bounded before use: the volume is untrusted input.
 *
 * Calls run one way: fs_xfs.c (open, the ops table, stat and scan) calls
 * fs_xfs_dir.c, fs_xfs_attr.c, fs_xfs_free.c and fs_xfs_log.c; all of them
 * call fs_xfs_inode.c (inodes and their forks) and the helpers below.
 */
#ifndef IMGFMT_FS_XFS_H
#define IMGFMT_FS_XFS_H

#include "imgfmt_private.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- big-endian fields ---- */
static inline uint16_t xfs_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t xfs_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t xfs_be64(const unsigned char *p)
{
	return (uint64_t)xfs_be32(p) << 32 | xfs_be32(p + 4);
}
static inline void xfs_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}
static inline void xfs_put_be64(unsigned char *p, uint64_t v)
{
	xfs_put_be32(p, (uint32_t)(v >> 32));
	xfs_put_be32(p + 4, (uint32_t)v);
}

/* ---- on-disk constants ---- */
#define XFS_SB_MAGIC 0x58465342u
#define XFS_SB_SIZE 264		  /* the superblock's fields (v5) */
#define XFS_SB_CRC_OFF 224
#define XFS_DINODE_MAGIC 0x494e
#define XFS_DINODE_V2_SIZE 100
#define XFS_DINODE_V3_SIZE 176
#define XFS_DINODE_CRC_OFF 100
#define XFS_DINODE_MAX_SIZE 2048

#define XFS_INCOMPAT_FTYPE 0x1
#define XFS_INCOMPAT_SPINODES 0x2
#define XFS_INCOMPAT_META_UUID 0x4
#define XFS_INCOMPAT_BIGTIME 0x8
#define XFS_INCOMPAT_NEEDSREPAIR 0x10
#define XFS_INCOMPAT_NREXT64 0x20

enum { XFS_FMT_DEV, XFS_FMT_LOCAL, XFS_FMT_EXTENTS, XFS_FMT_BTREE };
enum xfs_whichfork { XFS_DATA_FORK, XFS_ATTR_FORK };

/* Limits against crafted volumes (beyond what the format allows anyway). */
#define XFS_MAX_EXTENTS (1u << 24)	  /* extents of one fork held in memory */
#define XFS_MAX_BTREE_DEPTH 10		  /* bmbt levels; the format needs fewer */
#define XFS_DA_MAXDEPTH 5		  /* XFS_DA_NODE_MAXDEPTH */
#define XFS_SYMLINK_MAXLEN 1024
#define XFS_XATTR_SIZE_MAX 65536

/* One extent of a fork: file blocks [off, off+len) at volume block BLOCK
 * (linear: AG number * agblocks + AG block), UNWRITTEN read as zeros. */
struct xfs_ext {
	uint64_t off, block, len;
	bool unwritten;
};
struct xfs_map {
	struct xfs_ext *ext;
	size_t n, cap;
};

/* An inode read and checked: its raw bytes and the fields used. */
struct xfs_inode {
	uint64_t ino;
	uint16_t mode;
	uint8_t version, format, aformat;
	uint16_t flags;
	uint64_t flags2;
	uint64_t size, nblocks, nextents, anextents;
	const unsigned char *dfork, *afork; /* inside raw */
	size_t dfork_size, afork_size;
	unsigned char raw[XFS_DINODE_MAX_SIZE];
};

struct xfs_state {
	uint32_t blocksize, agblocks, agcount, logblocks;
	unsigned blocklog, agblklog, inopblog, inodelog, dirblklog;
	uint16_t sectsize, inodesize, versionnum;
	uint32_t dirblksize;
	uint64_t dblocks, rootino, logstart;
	uint64_t meta_inos[5];	 /* rt bitmap/summary, quota inodes: left out of scans */
	uint32_t incompat, log_sunit;
	bool v5, ftype, sparse, logv2;
	unsigned char uuid[16], meta_uuid[16];
	/* the log, from fs_xfs_log.c */
	uint32_t log_cycle;	 /* cycle of its last record (+1 when it wrapped there) */
	/* cache: the data fork map of the file read last (pread, data_runs) */
	uint64_t map_ino;
	struct xfs_map map;
};

#define XFS_ST(fs) ((struct xfs_state *)(fs)->priv)

/* fs_xfs_util.c: CRC32C as XFS stores it (seed ~0, inverted, little-endian at
 * CRC_OFF, zeros in its place while computing). */
uint32_t imgfmt_xfs_crc(const unsigned char *buf, size_t len, size_t crc_off);
bool imgfmt_xfs_crc_ok(const unsigned char *buf, size_t len, size_t crc_off);
/* Store the CRC of BUF at CRC_OFF (fs_xfs_util.c). */
void imgfmt_xfs_put_crc(unsigned char *buf, size_t len, size_t crc_off);
/* Byte offset inside the volume of linear block BLOCK; read LEN bytes there. */
int imgfmt_xfs_read_blocks(imgfmt_fs *fs, uint64_t block, void *buf, size_t len);
/* An fsblock number (AG << agblklog | AG block) to a linear block: -EUCLEAN
 * when outside the filesystem. */
int imgfmt_xfs_fsb_to_block(imgfmt_fs *fs, uint64_t fsb, uint64_t *block);
/* Linear block of AG block AGBNO in AG AGNO: false when outside the AG. */
bool imgfmt_xfs_ag_block(imgfmt_fs *fs, uint32_t agno, uint64_t agbno, uint64_t *block);

/* fs_xfs_inode.c */
int imgfmt_xfs_read_inode(imgfmt_fs *fs, uint64_t ino, struct xfs_inode *ip);
/* Check and decode the inode INO from its raw bytes in IP->raw. */
int imgfmt_xfs_parse_inode(imgfmt_fs *fs, uint64_t ino, struct xfs_inode *ip);
/* Where inode INO lies: linear block and byte offset in it. */
int imgfmt_xfs_inode_pos(imgfmt_fs *fs, uint64_t ino, uint64_t *block, unsigned *offset);
void imgfmt_xfs_fill_stat(imgfmt_fs *fs, const struct xfs_inode *ip, struct imgfmt_stat *st);
/* The extents of fork W of IP (extents or btree format), sorted, bounded. */
int imgfmt_xfs_fork_map(imgfmt_fs *fs, const struct xfs_inode *ip, int w, struct xfs_map *map);
void imgfmt_xfs_map_free(struct xfs_map *map);
/* Read COUNT file blocks of a fork from LBLK; every one must be mapped
 * (directory and attribute blocks have no holes). */
int imgfmt_xfs_map_read(imgfmt_fs *fs, const struct xfs_map *map, uint64_t lblk, uint64_t count, unsigned char *buf);
ssize_t imgfmt_xfs_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off);
ssize_t imgfmt_xfs_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size);
int imgfmt_xfs_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg);

/* fs_xfs_dir.c */
int imgfmt_xfs_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg);
int imgfmt_xfs_lookup_child(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino);

/* fs_xfs_attr.c */
int imgfmt_xfs_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg);

/* fs_xfs_free.c: short-form (per-AG) btrees. */
typedef int (*xfs_rec_fn)(imgfmt_fs *fs, uint32_t agno, const unsigned char *rec, void *arg);
/* Call CB for every record of the AG btree rooted at ROOT (LEVELS levels,
 * magic MAGIC, RECLEN-byte records, KEYLEN-byte keys), in key order. */
int imgfmt_xfs_walk_agbt(imgfmt_fs *fs, uint32_t agno, uint32_t root, uint32_t levels, uint32_t magic,
			 size_t reclen, size_t keylen, xfs_rec_fn cb, void *arg);
/* Read and check the AG header at sector SECTOR (1: AGF, 2: AGI) of AG AGNO. */
int imgfmt_xfs_read_aghdr(imgfmt_fs *fs, uint32_t agno, unsigned sector, uint32_t magic, size_t crc_off,
			  unsigned char *buf);
int imgfmt_xfs_free_space(imgfmt_fs *fs, imgfmt_extents *free_ranges);

/* fs_xfs_log.c: fill fs->consistency (and fs->dirty) from the internal
 * log; XS->log_cycle for a rewrite of the log. */
int imgfmt_xfs_log_state(imgfmt_fs *fs);
/* Rewrite the log as a clean one stamped with UUID (xfs_admin -U does so:
 * the kernel refuses a log whose records name another filesystem). */
int imgfmt_xfs_log_clear(imgfmt_fs *fs, const unsigned char uuid[16]);

#endif
