/* fs_ext_journal.c --- a dirty ext3/ext4 read through its journal, never written
 *
 * A source that needs recovery is read as if its journal had been replayed:
 * jbd2.c finds each block's newest committed copy and ext_io.c serves reads
 * of those blocks from the journal (an overlay; the source is not written).
 * A target this library writes (a clone, a p2v/v2p disk) gets the replay
 * written into it instead, and ends clean as after e2fsck's recovery.
 */
#include "imgfmt_private.h"
#include "ext_io.h"
#include "fs_ext.h"
#include "jbd2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JBD2_MAGIC_BYTES "\xc0\x3b\x39\x98"

struct ext_overlay {
	imgfmt_disk *disk;
	size_t index;           /* the volume */
	uint64_t size;
	unsigned bs;
	uint64_t *jphys;        /* journal block -> filesystem block */
	uint64_t nj;
	struct jbd2_log *log;
};

struct jphys_walk {
	uint64_t *jphys, nj, blocks;
	bool bad;
};

static int jphys_block(ext2_filsys efs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref, int off, void *priv)
{
	struct jphys_walk *w = priv;

	(void)efs, (void)ref, (void)off;
	if (blockcnt < 0 || (uint64_t)blockcnt >= w->nj)
		return 0;
	if (*blocknr >= w->blocks) {
		w->bad = true;
		return BLOCK_ABORT;
	}
	w->jphys[blockcnt] = *blocknr;
	return 0;
}

/* Journal block N of OV into BUF (one block), the escaped magic restored
 * when ESCAPED. */
static int overlay_read(const struct ext_overlay *ov, uint64_t n, void *buf)
{
	uint64_t at;

	if (n >= ov->nj || !ov->jphys[n])
		return -EUCLEAN; /* a hole in the journal inode */
	at = ov->jphys[n] * ov->bs;
	if (at > ov->size || ov->size - at < ov->bs)
		return -EUCLEAN;
	return imgfmt_volume_pread(ov->disk, ov->index, buf, ov->bs, at);
}

static int journal_read(void *ctx, uint64_t n, void *buf)
{
	return overlay_read(ctx, n, buf);
}

void imgfmt_ext_overlay_free(struct ext_overlay *ov)
{
	if (!ov)
		return;
	imgfmt_jbd2_log_free(ov->log);
	free(ov->jphys);
	free(ov);
}

/* Where the journal inode's blocks are: read from the filesystem as it is
 * on disk (the journal inode's own map does not change in a transaction). */
static int journal_blocks(imgfmt_fs *fs, ext2_filsys efs, struct ext_overlay *ov)
{
	struct ext2_inode inode;
	struct jphys_walk w = { 0 };
	ext2_ino_t ino = efs->super->s_journal_inum;
	errcode_t err;

	if (ino < 1 || ino > efs->super->s_inodes_count)
		return fs_fail(fs, -EUCLEAN, "the journal inode %u is out of range", ino);
	err = ext2fs_read_inode(efs, ino, &inode);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read the journal inode");
	if (!LINUX_S_ISREG(inode.i_mode))
		return fs_fail(fs, -EUCLEAN, "the journal inode is not a file");
	ov->nj = EXT2_I_SIZE(&inode) / efs->blocksize;
	if (ov->nj > ext2fs_blocks_count(efs->super))
		ov->nj = ext2fs_blocks_count(efs->super);
	if (ov->nj > UINT32_MAX)
		ov->nj = UINT32_MAX;
	if (ov->nj < 2)
		return fs_fail(fs, -EUCLEAN, "the journal is empty");
	ov->jphys = calloc(ov->nj, sizeof(*ov->jphys));
	if (!ov->jphys)
		return fs_fail(fs, -ENOMEM, "out of memory");
	w = (struct jphys_walk){ .jphys = ov->jphys, .nj = ov->nj, .blocks = ext2fs_blocks_count(efs->super) };
	err = ext2fs_block_iterate3(efs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL, jphys_block, &w);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot map the journal");
	if (w.bad)
		return fs_fail(fs, -EUCLEAN, "the journal has a block outside the filesystem");
	return 0;
}

int imgfmt_ext_overlay_load(imgfmt_fs *fs, ext2_filsys efs, struct ext_overlay **out)
{
	struct ext_overlay *ov;
	char why[200];
	int rc;

	*out = NULL;
	if (!ext2fs_has_feature_journal(efs->super) || !ext2fs_has_feature_journal_needs_recovery(efs->super))
		return 0;
	if (!efs->super->s_journal_inum || efs->super->s_journal_dev)
		return fs_fail(fs, -EUCLEAN, "its journal is on another device");
	ov = calloc(1, sizeof(*ov));
	if (!ov)
		return fs_fail(fs, -ENOMEM, "out of memory");
	*ov = (struct ext_overlay){ .disk = fs->disk, .index = fs->index, .size = fs->vol.size,
				    .bs = efs->blocksize };
	rc = journal_blocks(fs, efs, ov);
	if (rc < 0)
		goto fail;
	struct jbd2_source src = { .read = journal_read, .ctx = ov, .nblocks = ov->nj, .block_size = ov->bs,
				   .fs_blocks = ext2fs_blocks_count(efs->super) };
	rc = imgfmt_jbd2_log_scan(&src, &ov->log, why, sizeof(why));
	if (rc < 0) {
		fs_fail(fs, rc, "%s", why);
		goto fail;
	}
	*out = ov;
	return 0;
fail:
	imgfmt_ext_overlay_free(ov);
	return rc;
}

int imgfmt_ext_overlay_patch(const struct ext_overlay *ov, void *buf, size_t len, uint64_t off)
{
	const struct jbd2_block *b = imgfmt_jbd2_log_blocks(ov->log);
	size_t n = imgfmt_jbd2_log_count(ov->log), i;
	unsigned char *copy = NULL;
	int rc = 0;

	if (!len)
		return 0;
	for (i = imgfmt_jbd2_log_lower_bound(ov->log, off / ov->bs); i < n && b[i].fs_block <= (off + len - 1) / ov->bs; i++) {
		uint64_t start = b[i].fs_block * ov->bs, from = start > off ? start : off;
		uint64_t end = start + ov->bs < off + len ? start + ov->bs : off + len;

		if (!copy && !(copy = malloc(ov->bs)))
			return -ENOMEM;
		if ((rc = overlay_read(ov, b[i].journal_block, copy)) < 0)
			break;
		if (b[i].escaped)
			memcpy(copy, JBD2_MAGIC_BYTES, 4);
		memcpy((unsigned char *)buf + (from - off), copy + (from - start), end - from);
	}
	free(copy);
	return rc;
}

const struct jbd2_stats *imgfmt_ext_overlay_stats(const struct ext_overlay *ov)
{
	return imgfmt_jbd2_log_stats(ov->log);
}

size_t imgfmt_ext_overlay_blocks(const struct ext_overlay *ov)
{
	return imgfmt_jbd2_log_count(ov->log);
}

/* After the copies are written: what e2fsck does when it ends a recovery
 * (e2fsck_journal_release): the log is empty from the next transaction on. */
static int journal_reset(imgfmt_fs *fs, const struct ext_overlay *ov, ext2_filsys efs)
{
	unsigned char *sb = malloc(ov->bs);
	uint32_t next = imgfmt_jbd2_log_stats(ov->log)->end_tid;
	errcode_t err;
	int rc;

	if (!sb)
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = overlay_read(ov, 0, sb);
	if (rc < 0) {
		free(sb);
		return fs_fail(fs, rc, "cannot read the journal superblock");
	}
	sb[0x18] = next >> 24, sb[0x19] = next >> 16, sb[0x1a] = next >> 8, sb[0x1b] = next;
	memset(sb + 0x1c, 0, 4); /* s_start = 0: nothing to replay */
	if (sb[0x28 + 3] & 0x18) { /* csum v2/v3: the superblock's own checksum */
		uint32_t c;
		memset(sb + 0xfc, 0, 4);
		c = ext2fs_crc32c_le(~0u, sb, 1024);
		sb[0xfc] = c >> 24, sb[0xfd] = c >> 16, sb[0xfe] = c >> 8, sb[0xff] = c;
	}
	err = io_channel_write_blk64(efs->io, ov->jphys[0], 1, sb);
	free(sb);
	return err ? imgfmt_ext_fail(fs, err, "cannot write the journal superblock") : 0;
}

int imgfmt_ext_overlay_apply(imgfmt_fs *fs, const struct ext_overlay *ov, ext2_filsys efs)
{
	const struct jbd2_block *b = imgfmt_jbd2_log_blocks(ov->log);
	unsigned char *copy = malloc(ov->bs);
	errcode_t err = 0;
	int rc = 0;

	if (!copy)
		return fs_fail(fs, -ENOMEM, "out of memory");
	for (size_t i = 0; i < imgfmt_jbd2_log_count(ov->log) && !rc && !err; i++) {
		rc = overlay_read(ov, b[i].journal_block, copy);
		if (rc < 0)
			break;
		if (b[i].escaped)
			memcpy(copy, JBD2_MAGIC_BYTES, 4);
		err = io_channel_write_blk64(efs->io, b[i].fs_block, 1, copy);
	}
	free(copy);
	if (rc < 0)
		return fs_fail(fs, rc, "cannot read the journal");
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot write a replayed block");
	rc = journal_reset(fs, ov, efs);
	if (rc == 0 && (err = io_channel_flush(efs->io)))
		rc = imgfmt_ext_fail(fs, err, "cannot flush the replay");
	return rc;
}

/* One orphan: deleted while open (links 0: freed), or truncated while the
 * truncate was in flight (its blocks past i_size freed), as the kernel's
 * mount after recovery and e2fsck's release_orphan_inodes() do. */
static int release_orphan(imgfmt_fs *fs, ext2_filsys efs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	bool gone = in->i_links_count == 0;
	blk64_t start = gone ? 0 : (EXT2_I_SIZE(in) + efs->blocksize - 1) / efs->blocksize;
	errcode_t err = 0;

	if (ext2fs_inode_has_valid_blocks2(efs, (struct ext2_inode *)in) ||
	    (in->i_flags & EXT4_INLINE_DATA_FL))
		err = ext2fs_punch(efs, ino, (struct ext2_inode *)in, NULL, start, ~0ULL);
	if (!err && gone && ext2fs_file_acl_block(efs, (struct ext2_inode *)in)) {
		blk64_t acl = ext2fs_file_acl_block(efs, (struct ext2_inode *)in);
		__u32 count = 0;
		if (acl >= ext2fs_blocks_count(efs->super))
			return fs_fail(fs, -EUCLEAN, "orphan inode %u: extended attribute block out of range", ino);
		err = ext2fs_adjust_ea_refcount3(efs, acl, NULL, -1, &count, ino);
		if (!err && count == 0)
			ext2fs_block_alloc_stats2(efs, acl, -1);
		ext2fs_file_acl_block_set(efs, (struct ext2_inode *)in, 0);
	}
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot release an orphan inode");
	in->i_dtime = gone ? efs->now ? efs->now : (uint32_t)time(NULL) : 0;
	err = ext2fs_write_inode_full(efs, ino, (struct ext2_inode *)in, sizeof(*in));
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot write an orphan inode");
	if (gone)
		ext2fs_inode_alloc_stats2(efs, ino, -1, LINUX_S_ISDIR(in->i_mode));
	return 0;
}

int imgfmt_ext_release_orphans(imgfmt_fs *fs, ext2_filsys efs)
{
	ext2_ino_t ino = efs->super->s_last_orphan;
	uint32_t seen = 0;
	errcode_t err;
	int rc;

	if (!ino)
		return 0;
	err = ext2fs_read_bitmaps(efs);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read the allocation bitmaps");
	while (ino) {
		struct ext2_inode_large in;
		ext2_ino_t next;

		if (ino < EXT2_FIRST_INODE(efs->super) || ino > efs->super->s_inodes_count ||
		    ++seen > efs->super->s_inodes_count)
			return fs_fail(fs, -EUCLEAN, "the orphan list is damaged (inode %u)", ino);
		memset(&in, 0, sizeof(in));
		err = ext2fs_read_inode_full(efs, ino, (struct ext2_inode *)&in, sizeof(in));
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot read an orphan inode");
		next = in.i_dtime; /* the list is chained through i_dtime */
		if ((rc = release_orphan(fs, efs, ino, &in)) < 0)
			return rc;
		ino = next;
	}
	efs->super->s_last_orphan = 0;
	ext2fs_mark_super_dirty(efs);
	ext2fs_mark_bb_dirty(efs);
	ext2fs_mark_ib_dirty(efs);
	return 0;
}
