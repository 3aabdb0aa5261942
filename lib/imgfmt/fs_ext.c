/* fs_ext.c --- ext2/3/4 back end through libext2fs */
#include "imgfmt_private.h"
#include "ext_io.h"
#include "fs_ext.h"
#include "jbd2.h"

#include <dirent.h>
#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool ext_match(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4");
}

static void ext_error_table(void)
{
	initialize_ext2_error_table(); /* so error_message() names libext2fs codes */
}

static void ext_close(imgfmt_fs *fs);

/* *EFS: the filesystem of FS's volume, for writing when RW, read through
 * OVERLAY (or not), its superblock checked before any bitmap or inode is
 * read. */
static int ext_open_efs(imgfmt_fs *fs, bool rw, const struct ext_overlay *overlay, ext2_filsys *efs)
{
	errcode_t err;

	imgfmt_ext_io_prepare(fs->disk, fs->index, fs->vol.size, overlay);
	err = ext2fs_open2(fs->disk->path, NULL, EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW : EXT2_FLAG_SKIP_MMP), 0, 0,
			   imgfmt_ext_io_manager, efs);
	imgfmt_ext_io_prepare(NULL, 0, 0, NULL);
	if (err) {
		*efs = NULL;
		return imgfmt_ext_fail(fs, err, "cannot open ext filesystem");
	}
	if (imgfmt_ext_check_super(fs, *efs) < 0) {
		ext2fs_close_free(efs);
		return -EUCLEAN;
	}
	return 0;
}

/* Free clusters and inodes as the group descriptors count them (the
 * superblock's totals lag behind on a mounted ext4). */
static void ext_group_free(ext2_filsys efs, uint64_t *blocks, uint64_t *inodes)
{
	*blocks = *inodes = 0;
	for (dgrp_t g = 0; g < efs->group_desc_count; g++) {
		*blocks += ext2fs_bg_free_blocks_count(efs, g);
		*inodes += ext2fs_bg_free_inodes_count(efs, g);
	}
	*blocks = EXT2FS_C2B(efs, *blocks);
}

/* A target the replay was written into ends as e2fsck leaves it. */
static int ext_mark_recovered(imgfmt_fs *fs, ext2_filsys efs)
{
	uint64_t blocks, inodes;
	errcode_t err;

	int rc = imgfmt_ext_release_orphans(fs, efs);

	if (rc < 0)
		return rc;
	ext_group_free(efs, &blocks, &inodes);
	if (blocks <= ext2fs_blocks_count(efs->super) && inodes <= efs->super->s_inodes_count) {
		ext2fs_free_blocks_count_set(efs->super, blocks);
		efs->super->s_free_inodes_count = (uint32_t)inodes;
	}
	ext2fs_clear_feature_journal_needs_recovery(efs->super);
	ext2fs_mark_super_dirty(efs);
	err = ext2fs_flush(efs);
	return err ? imgfmt_ext_fail(fs, err, "cannot write the recovered filesystem") : 0;
}

/* A filesystem that needs recovery (a crash-consistent snapshot): a source
 * is read through its journal, a target gets the journal written into it.
 * When the journal cannot be replayed the volume is read as it is on disk
 * and marked.  *EFS is replaced by the filesystem to use. */
static int ext_recover(imgfmt_fs *fs, ext2_filsys *efs, struct ext_overlay **out)
{
	struct imgfmt_consistency_info *c = &fs->consistency;
	struct ext_overlay *ov = NULL;
	int rc;

	*out = NULL;
	if (!ext2fs_has_feature_journal_needs_recovery((*efs)->super))
		return 0;
	rc = imgfmt_ext_overlay_load(fs, *efs, &ov);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 || !ov) {
		c->state = IMGFMT_UNREPLAYABLE;
		snprintf(c->note, sizeof(c->note), "%.*s", (int)sizeof(c->note) - 1, rc < 0 ? fs->error : "no journal to replay");
		fs->error[0] = 0;
		return 0;
	}
	c->state = IMGFMT_REPLAYED;
	c->transactions = imgfmt_ext_overlay_stats(ov)->transactions;
	c->blocks = imgfmt_ext_overlay_blocks(ov);
	snprintf(c->note, sizeof(c->note), "%s", imgfmt_ext_overlay_stats(ov)->stop);
	if (fs->writable) {
		if (fs->recover_only) { /* looked at read-only: now for writing */
			ext2fs_close_free(efs);
			rc = ext_open_efs(fs, true, NULL, efs);
		}
		if (rc == 0) {
			rc = imgfmt_ext_overlay_apply(fs, ov, *efs);
			ext2fs_free(*efs); /* not flushed: its superblock predates the replay */
			*efs = NULL;
		}
		imgfmt_ext_overlay_free(ov);
		if (rc == 0)
			rc = ext_open_efs(fs, true, NULL, efs);
		if (rc == 0 && (rc = ext_mark_recovered(fs, *efs)) < 0)
			ext2fs_close_free(efs);
		return rc;
	}
	ext2fs_close_free(efs);
	rc = ext_open_efs(fs, false, ov, efs);
	if (rc < 0) {
		imgfmt_ext_overlay_free(ov);
		return rc;
	}
	*out = ov;
	return 0;
}

static int ext_open(imgfmt_fs *fs)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	ext2_filsys efs = NULL;
	struct ext_overlay *ov = NULL;
	struct ext_state *st;
	const char *name;
	uint64_t free_blocks, free_inodes;
	int rc;

	pthread_once(&once, ext_error_table);
	/* only asked to recover: opened for writing only if there is a replay */
	rc = ext_open_efs(fs, fs->writable && !fs->recover_only, NULL, &efs);
	if (rc < 0)
		return rc;
	rc = ext_recover(fs, &efs, &ov);
	if (rc < 0) {
		if (efs)
			ext2fs_close_free(&efs);
		return rc;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		ext2fs_close_free(&efs);
		imgfmt_ext_overlay_free(ov);
		return fs_fail(fs, -ENOMEM, "out of memory");
	}
	st->efs = efs;
	st->overlay = ov;
	fs->priv = st;
	/* Misplaced group metadata: files are still read, bitmaps not trusted. */
	if (imgfmt_ext_check_groups(efs, st->bad_groups, sizeof(st->bad_groups)) < 0 && fs->writable) {
		fs_fail(fs, -EUCLEAN, "%s", st->bad_groups);
		ext_close(fs);
		fs->priv = NULL;
		return -EUCLEAN;
	}
	name = ext2fs_has_feature_journal_dev(efs->super) ? "jbd" :
	       ext2fs_has_feature_extents(efs->super) || ext2fs_has_feature_flex_bg(efs->super) ? "ext4" :
	       ext2fs_has_feature_journal(efs->super) ? "ext3" : "ext2";
	if (!strcmp(name, "jbd")) {
		ext_close(fs);
		fs->priv = NULL;
		return fs_fail(fs, -EPROTONOSUPPORT, "an external journal device holds no files");
	}
	snprintf(fs->type, sizeof(fs->type), "%s", name);
	fs->dirty = fs->consistency.state == IMGFMT_UNREPLAYABLE ||
		    (!ext2fs_has_feature_journal(efs->super) && !(efs->super->s_state & EXT2_VALID_FS)) ||
		    (efs->super->s_state & EXT2_ERROR_FS);
	fs->block_size = efs->blocksize;
	fs->total_bytes = ext2fs_blocks_count(efs->super) * efs->blocksize;
	ext_group_free(efs, &free_blocks, &free_inodes);
	if (free_blocks > ext2fs_blocks_count(efs->super) || free_inodes > efs->super->s_inodes_count) {
		free_blocks = ext2fs_free_blocks_count(efs->super);
		free_inodes = efs->super->s_free_inodes_count;
	}
	fs->free_bytes = free_blocks * efs->blocksize;
	fs->files = efs->super->s_inodes_count > free_inodes ? efs->super->s_inodes_count - free_inodes : 0;
	fs->root = EXT2_ROOT_INO;
	if (fs->writable && !fs->recover_only) {
		rc = imgfmt_ext_edit_prepare(fs);
		if (rc < 0) {
			ext_close(fs);
			fs->priv = NULL;
			return rc;
		}
	}
	return 0;
}

static void ext_close(imgfmt_fs *fs)
{
	struct ext_state *st = fs->priv;

	if (!st)
		return;
	if (st->efs)
		ext2fs_close_free(&st->efs);
	imgfmt_ext_overlay_free(st->overlay); /* after the channel reading through it */
	free(st->map);
	free(st);
}

/* Does FIELD of a large inode lie inside its i_extra_isize? */
#define EXT_HAS_FIELD(efs, in, field)                                                              \
	(EXT2_INODE_SIZE((efs)->super) > EXT2_GOOD_OLD_INODE_SIZE &&                               \
	 offsetof(struct ext2_inode_large, field) + sizeof((in)->field) <=                         \
		 EXT2_GOOD_OLD_INODE_SIZE + (size_t)(in)->i_extra_isize)

/* Seconds are signed 32-bit; the low 2 bits of *_extra extend them, the
 * upper 30 bits hold nanoseconds. */
static struct timespec ext_time(uint32_t sec, uint32_t extra, bool has_extra)
{
	struct timespec ts = { .tv_sec = (int32_t)sec, .tv_nsec = 0 };

	if (has_extra) {
		ts.tv_sec += (time_t)((int64_t)(extra & 3) << 32);
		ts.tv_nsec = (long)(extra >> 2);
		if (ts.tv_nsec > 999999999)
			ts.tv_nsec = 999999999;
	}
	return ts;
}

static void ext_fill_stat(ext2_filsys efs, uint64_t ino, struct ext2_inode_large *in, struct imgfmt_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->generation = in->i_generation;
	st->mode = in->i_mode;
	st->uid = inode_uid(*in);
	st->gid = inode_gid(*in);
	st->nlink = in->i_links_count;
	st->size = EXT2_I_SIZE(in);
	st->allocated = ext2fs_get_stat_i_blocks(efs, (struct ext2_inode *)in) * 512;
	st->atime = ext_time(in->i_atime, in->i_atime_extra, EXT_HAS_FIELD(efs, in, i_atime_extra));
	st->mtime = ext_time(in->i_mtime, in->i_mtime_extra, EXT_HAS_FIELD(efs, in, i_mtime_extra));
	st->ctime = ext_time(in->i_ctime, in->i_ctime_extra, EXT_HAS_FIELD(efs, in, i_ctime_extra));
	if (EXT_HAS_FIELD(efs, in, i_crtime))
		st->btime = ext_time(in->i_crtime, in->i_crtime_extra, EXT_HAS_FIELD(efs, in, i_crtime_extra));
	if (S_ISCHR(in->i_mode) || S_ISBLK(in->i_mode)) {
		uint32_t dev = in->i_block[0] ? in->i_block[0] : in->i_block[1];
		if (in->i_block[0]) {
			st->rdev_major = (dev >> 8) & 0xff;
			st->rdev_minor = dev & 0xff;
		} else {
			st->rdev_major = (dev & 0xfff00) >> 8;
			st->rdev_minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
		}
	}
	st->flags = in->i_flags;
}

static int ext_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st)
{
	struct ext2_inode_large in;
	int rc = imgfmt_ext_read_inode(fs, ino, &in);

	if (rc < 0)
		return rc;
	ext_fill_stat(EXT_FS(fs), ino, &in, st);
	return 0;
}

/* The inode tables, 64 blocks at a time, in order. */
static int ext_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg)
{
	ext2_filsys efs = EXT_FS(fs);
	ext2_inode_scan scan;
	struct ext2_inode_large in;
	struct imgfmt_stat st;
	ext2_ino_t ino;
	errcode_t err;
	int rc = 0;

	err = ext2fs_open_inode_scan(efs, 64, &scan);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot scan inodes");
	for (;;) {
		err = ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)&in, sizeof(in));
		/* A damaged inode is left out; the scan goes on. */
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE || err == EXT2_ET_INODE_CSUM_INVALID ||
		    err == EXT2_ET_INODE_IS_GARBAGE)
			continue;
		if (err || ino == 0)
			break;
		if (in.i_links_count == 0 || in.i_mode == 0 || in.i_dtime ||
		    (ino < EXT2_FIRST_INODE(efs->super) && ino != EXT2_ROOT_INO))
			continue;
		ext_fill_stat(efs, ino, &in, &st);
		if ((rc = cb(&st, arg)) != 0)
			break;
	}
	ext2fs_close_inode_scan(scan);
	if (!rc && err)
		return imgfmt_ext_fail(fs, err, "cannot scan inodes");
	return rc;
}

static int ext_lookup_child(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	ext2_ino_t found;
	errcode_t err;
	int rc = imgfmt_ext_check_ino(fs, dir);

	if (rc < 0)
		return rc;
	err = ext2fs_lookup(EXT_FS(fs), (ext2_ino_t)dir, name, (int)strlen(name), NULL, &found);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		return fs_fail(fs, -ENOENT, "\"%s\": no such file or directory", name);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot look up name");
	*ino = found;
	return 0;
}

struct ext_readdir_ctx {
	imgfmt_fs *fs;
	imgfmt_dirent_fn cb;
	void *arg;
	int rc;
};

static unsigned ext_dtype(int ft)
{
	static const unsigned map[] = {
		[EXT2_FT_REG_FILE] = DT_REG, [EXT2_FT_DIR] = DT_DIR,   [EXT2_FT_CHRDEV] = DT_CHR,
		[EXT2_FT_BLKDEV] = DT_BLK,   [EXT2_FT_FIFO] = DT_FIFO, [EXT2_FT_SOCK] = DT_SOCK,
		[EXT2_FT_SYMLINK] = DT_LNK,
	};
	return ft > 0 && ft < (int)(sizeof(map) / sizeof(map[0])) ? map[ft] : DT_UNKNOWN;
}

static int ext_readdir_one(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize,
			   char *buf, void *priv)
{
	struct ext_readdir_ctx *ctx = priv;
	int len = ext2fs_dirent_name_len(dirent);
	(void)dir, (void)offset, (void)blocksize, (void)buf;

	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE)
		return 0;
	if ((len == 1 && dirent->name[0] == '.') || (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	if (dirent->inode == 0 || dirent->inode > EXT_FS(ctx->fs)->super->s_inodes_count)
		return 0; /* a crafted entry pointing nowhere is not a file */
	ctx->rc = ctx->cb(dirent->name, (size_t)len, dirent->inode, ext_dtype(ext2fs_dirent_file_type(dirent)),
			  ctx->arg);
	return ctx->rc ? DIRENT_ABORT : 0;
}

static int ext_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	struct ext_readdir_ctx ctx = { fs, cb, arg, 0 };
	errcode_t err;
	int rc = imgfmt_ext_check_ino(fs, dir);

	if (rc < 0)
		return rc;
	err = ext2fs_dir_iterate2(EXT_FS(fs), (ext2_ino_t)dir, 0, NULL, ext_readdir_one, &ctx);
	if (ctx.rc)
		return ctx.rc;
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read directory");
	return 0;
}

/* Runs are kept sorted and disjoint, as reads and data_runs expect: a
 * crafted (or damaged) extent tree overlapping or going back in the file
 * loses the part already mapped: the first mapping wins. */
static int ext_map_add(struct ext_state *st, uint64_t lblk, uint64_t pblk, uint64_t len, bool uninit)
{
	struct ext_run *last = st->nmap ? &st->map[st->nmap - 1] : NULL;
	uint64_t mapped_end = last ? last->lblk + last->len : 0;

	/* Blocks are not shared: a map claiming more than the filesystem holds
	 * (indirect blocks or index nodes naming one child again and again) is
	 * refused before it costs billions of calls. */
	if (st->map_budget < (len ? len : 1))
		return -EUCLEAN;
	st->map_budget -= len ? len : 1;
	if (len == 0 || (last && lblk + len <= mapped_end))
		return 0;
	if (last && lblk < mapped_end) {
		pblk += mapped_end - lblk;
		len -= mapped_end - lblk;
		lblk = mapped_end;
	}
	if (last && !uninit && !last->uninit && last->lblk + last->len == lblk && last->pblk + last->len == pblk) {
		last->len += len;
		return 0;
	}
	if (st->nmap == st->capmap) {
		size_t cap = st->capmap ? st->capmap * 2 : 16;
		struct ext_run *grown = realloc(st->map, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		st->map = grown;
		st->capmap = cap;
	}
	st->map[st->nmap++] = (struct ext_run){ lblk, pblk, len, uninit };
	return 0;
}

static int ext_map_block(ext2_filsys efs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_block,
			 int ref_offset, void *priv)
{
	(void)efs, (void)ref_block, (void)ref_offset;
	struct ext_state *st = priv;

	if (blockcnt < 0 || *blocknr == 0)
		return 0;
	st->map_err = ext_map_add(st, (uint64_t)blockcnt, *blocknr, 1, false);
	return st->map_err ? BLOCK_ABORT : 0;
}

static int ext_map_failed(imgfmt_fs *fs, int rc)
{
	return rc == -EUCLEAN ? fs_fail(fs, rc, "the block map claims more blocks than the filesystem holds")
			      : fs_fail(fs, rc, "out of memory");
}

/* Build (or reuse) the block map of INO: extents or the ext2/3 block map.
 * Returns 1 when the file cannot be read that way (inline data, encrypted). */
static int ext_map(imgfmt_fs *fs, uint64_t ino, struct ext2_inode_large *in)
{
	struct ext_state *st = fs->priv;
	ext2_extent_handle_t handle;
	struct ext2fs_extent e;
	errcode_t err;
	int op = EXT2_EXTENT_ROOT;

	if (in->i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL | EXT4_VERITY_FL) ||
	    !(S_ISREG(in->i_mode) || S_ISDIR(in->i_mode)))
		return 1;
	if (st->map_ino == ino)
		return 0;
	st->map_ino = 0;
	st->nmap = 0;
	st->map_err = 0;
	/* a superblock may claim more blocks than its volume holds: the budget
	 * is what both allow */
	st->map_budget = ext2fs_blocks_count(st->efs->super);
	if (st->map_budget > fs->vol.size / st->efs->blocksize)
		st->map_budget = fs->vol.size / st->efs->blocksize;
	if (in->i_flags & EXT4_EXTENTS_FL) {
		err = ext2fs_extent_open2(st->efs, (ext2_ino_t)ino, (struct ext2_inode *)in, &handle);
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot read extent tree");
		while (!(err = ext2fs_extent_get(handle, op, &e))) {
			op = EXT2_EXTENT_NEXT_LEAF;
			if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF))
				continue;
			int rc = ext_map_add(st, e.e_lblk, e.e_pblk, e.e_len, e.e_flags & EXT2_EXTENT_FLAGS_UNINIT);
			if (rc) {
				ext2fs_extent_free(handle);
				return ext_map_failed(fs, rc);
			}
		}
		ext2fs_extent_free(handle);
		if (err != EXT2_ET_EXTENT_NO_NEXT)
			return imgfmt_ext_fail(fs, err, "cannot read extent tree");
	} else {
		err = ext2fs_block_iterate3(st->efs, (ext2_ino_t)ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL,
					    ext_map_block, st);
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot read block map");
		if (st->map_err)
			return ext_map_failed(fs, st->map_err);
	}
	st->map_ino = ino;
	return 0;
}

/* Read [off, off+len) of a mapped file with large volume reads; holes and
 * unwritten extents read as zeros. */
static int ext_read_mapped(imgfmt_fs *fs, void *buf, size_t len, uint64_t off)
{
	struct ext_state *st = fs->priv;
	uint64_t bs = st->efs->blocksize, pos = off, end = off + len;
	size_t lo = 0, hi = st->nmap;

	while (lo < hi) { /* first run ending after OFF */
		size_t mid = (lo + hi) / 2;
		if ((st->map[mid].lblk + st->map[mid].len) * bs <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; pos < end;) {
		uint64_t run_start = i < st->nmap ? st->map[i].lblk * bs : end;
		uint64_t run_end = i < st->nmap ? (st->map[i].lblk + st->map[i].len) * bs : end;
		const struct ext_run *run;
		int rc;
		/* A hole before run I: zeros, then run I itself on the next turn
		 * (past the last run, RUN_START is END: zeros to the end). */
		if (run_start > pos) {
			uint64_t n = (run_start < end ? run_start : end) - pos;
			memset((char *)buf + (pos - off), 0, n);
			pos += n;
			continue;
		}
		run = &st->map[i++]; /* read now, or wholly before POS */
		if (run_end > end)
			run_end = end;
		if (run_end <= pos)
			continue;
		if (run->uninit) {
			memset((char *)buf + (pos - off), 0, run_end - pos);
		} else {
			uint64_t phys = run->pblk * bs + (pos - run->lblk * bs);
			uint64_t last = (phys + (run_end - pos) - 1) / bs;
			if (last >= ext2fs_blocks_count(st->efs->super))
				return fs_fail(fs, -EUCLEAN, "block %llu is outside the filesystem",
					       (unsigned long long)last);
			rc = imgfmt_fs_volume_pread(fs, (char *)buf + (pos - off), run_end - pos, phys);
			if (rc < 0)
				return rc;
		}
		pos = run_end;
	}
	return 0;
}

/* The runs come from the block map the reads use (built once per file);
 * a directory's are where its entries lie. */
static int ext_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg)
{
	struct ext_state *st = fs->priv;
	struct ext2_inode_large in;
	uint64_t bs = st->efs->blocksize, size;
	int rc = imgfmt_ext_read_inode(fs, ino, &in);

	if (rc < 0)
		return rc;
	if (!S_ISREG(in.i_mode) && !S_ISDIR(in.i_mode))
		return fs_fail(fs, -EINVAL, "inode %llu is not a regular file or a directory", (unsigned long long)ino);
	size = EXT2_I_SIZE(&in);
	if (size == 0)
		return 0;
	rc = ext_map(fs, ino, &in);
	if (rc < 0)
		return rc;
	if (rc == 1) /* inline data (or encrypted): in the inode, read whole */
		return cb(0, size, IMGFMT_NO_PHYSICAL, arg);
	for (size_t i = 0; i < st->nmap && rc == 0; i++) {
		uint64_t off = st->map[i].lblk * bs, len = st->map[i].len * bs;
		if (st->map[i].uninit || off >= size)
			continue;
		if (len > size - off)
			len = size - off;
		rc = cb(off, len, st->map[i].pblk * bs, arg);
	}
	return rc;
}

static ssize_t ext_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off)
{
	struct ext2_inode_large in;
	ext2_file_t file;
	unsigned int got = 0;
	size_t total = 0;
	uint64_t size;
	errcode_t err;
	int rc;

	if (stream)
		return fs_fail(fs, -ENOENT, "ext filesystems have no named streams");
	rc = imgfmt_ext_read_inode(fs, ino, &in);
	if (rc < 0)
		return rc;
	if (S_ISDIR(in.i_mode))
		return fs_fail(fs, -EISDIR, "inode %llu is a directory", (unsigned long long)ino);
	/* Never past i_size: for inline data, libext2fs would return the
	 * whole inline area. */
	size = EXT2_I_SIZE(&in);
	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	rc = ext_map(fs, ino, &in);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = ext_read_mapped(fs, buf, len, off);
		return rc < 0 ? rc : (ssize_t)len;
	}
	err = ext2fs_file_open2(EXT_FS(fs), (ext2_ino_t)ino, (struct ext2_inode *)&in, 0, &file);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot open file");
	err = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	while (!err && total < len) {
		unsigned int want = len - total > (1U << 30) ? (1U << 30) : (unsigned int)(len - total);
		err = ext2fs_file_read(file, (char *)buf + total, want, &got);
		if (err || got == 0)
			break;
		total += got;
	}
	ext2fs_file_close(file);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read file");
	return (ssize_t)(total > len ? len : total);
}

static ssize_t ext_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	size_t len;
	ssize_t got;
	int rc = imgfmt_ext_read_inode(fs, ino, &in);

	if (rc < 0)
		return rc;
	if (!S_ISLNK(in.i_mode))
		return fs_fail(fs, -EINVAL, "inode %llu is not a symbolic link", (unsigned long long)ino);
	len = EXT2_I_SIZE(&in);
	if (len == 0 || len >= EXT_SYMLINK_MAX)
		return fs_fail(fs, -EUCLEAN, "symbolic link %llu has a bad length (%zu)", (unsigned long long)ino, len);
	if (len >= size)
		return fs_fail(fs, -ERANGE, "symbolic link target longer than the buffer");
	if (in.i_flags & EXT4_INLINE_DATA_FL) {
		char tmp[EXT_SYMLINK_MAX + 64];
		size_t have = sizeof(tmp);
		errcode_t err = ext2fs_inline_data_size(efs, (ext2_ino_t)ino, &have);
		if (!err && (have < len || have > sizeof(tmp)))
			err = EXT2_ET_INLINE_DATA_CANT_ITERATE;
		if (!err)
			err = ext2fs_inline_data_get(efs, (ext2_ino_t)ino, (struct ext2_inode *)&in, tmp, NULL);
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot read inline symbolic link");
		memcpy(buf, tmp, len);
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)&in)) {
		if (len > sizeof(in.i_block))
			return fs_fail(fs, -EUCLEAN, "fast symbolic link %llu too long", (unsigned long long)ino);
		memcpy(buf, in.i_block, len);
	} else {
		got = ext_pread(fs, ino, NULL, buf, len, 0);
		if (got < 0)
			return got;
		if ((size_t)got != len)
			return fs_fail(fs, -EUCLEAN, "symbolic link %llu is shorter than its size",
				       (unsigned long long)ino);
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

struct ext_xattr_ctx {
	struct ext2_xattr_handle *h;
	imgfmt_xattr_fn cb;
	void *arg;
	int rc;
};

/* Entries without a qualifier carry ACL_UNDEFINED_ID, as the kernel writes
 * them; libext2fs's conversion leaves 0 there. */
static void ext_acl_normalize(unsigned char *acl, size_t len)
{
	for (size_t at = 4; at + 8 <= len; at += 8) {
		unsigned tag = acl[at] | (unsigned)acl[at + 1] << 8;
		if (tag == 0x01 || tag == 0x04 || tag == 0x10 || tag == 0x20)
			memset(acl + at + 4, 0xff, 4);
	}
}

static int ext_xattr_one(char *name, char *value, size_t value_len, void *data)
{
	struct ext_xattr_ctx *ctx = data;
	void *acl = NULL;
	size_t acl_len = 0;

	if (strcmp(name, "system.data") == 0) /* ext4 inline data, not an attribute */
		return 0;
	/* Iteration hands out POSIX ACLs in ext4's on-disk format; only
	 * ext2fs_xattr_get() converts them to the Linux xattr format. */
	if ((!strcmp(name, "system.posix_acl_access") || !strcmp(name, "system.posix_acl_default")) &&
	    ext2fs_xattr_get(ctx->h, name, &acl, &acl_len) == 0) {
		ext_acl_normalize(acl, acl_len);
		ctx->rc = ctx->cb(name, acl, acl_len, ctx->arg);
		ext2fs_free_mem(&acl);
	} else {
		ctx->rc = ctx->cb(name, value, value_len, ctx->arg);
	}
	return ctx->rc ? XATTR_ABORT : 0;
}

static int ext_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg)
{
	struct ext_xattr_ctx ctx = { NULL, cb, arg, 0 };
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;
	int rc = imgfmt_ext_check_ino(fs, ino);

	if (rc < 0)
		return rc;
	if (!ext2fs_has_feature_xattr(EXT_FS(fs)->super))
		return 0;
	err = ext2fs_xattrs_open(EXT_FS(fs), (ext2_ino_t)ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	ctx.h = h;
	if (!err)
		err = ext2fs_xattrs_iterate(h, ext_xattr_one, &ctx);
	if (h)
		ext2fs_xattrs_close(&h);
	if (ctx.rc)
		return ctx.rc;
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read extended attributes");
	return 0;
}

static int ext_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg)
{
	(void)cb, (void)arg;
	return imgfmt_ext_check_ino(fs, ino);
}

static int ext_free_space(imgfmt_fs *fs, imgfmt_extents *free_ranges)
{
	ext2_filsys efs = EXT_FS(fs);
	blk64_t first = efs->super->s_first_data_block, end = ext2fs_blocks_count(efs->super) - 1;
	blk64_t pos = first, zero, set;
	uint64_t bs = efs->blocksize;
	const char *bad_groups = ((struct ext_state *)fs->priv)->bad_groups;
	errcode_t err;

	if (bad_groups[0])
		return fs_fail(fs, -EUCLEAN, "%s", bad_groups);
	err = ext2fs_read_block_bitmap(efs);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read block bitmaps");
	while (pos <= end) {
		err = ext2fs_find_first_zero_block_bitmap2(efs->block_map, pos, end, &zero);
		if (err == ENOENT)
			break;
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot scan block bitmaps");
		err = ext2fs_find_first_set_block_bitmap2(efs->block_map, zero, end, &set);
		if (err == ENOENT)
			set = end + 1;
		else if (err)
			return imgfmt_ext_fail(fs, err, "cannot scan block bitmaps");
		if (imgfmt_extents_add(free_ranges, zero * bs, (set - zero) * bs))
			return fs_fail(fs, -ENOMEM, "out of memory");
		pos = set + 1;
	}
	return 0;
}

const struct imgfmt_fs_ops imgfmt_fs_ext_ops = {
	.name = "ext",
	.match = ext_match,
	.open = ext_open,
	.close = ext_close,
	.stat = ext_stat,
	.scan = ext_scan,
	.lookup_child = ext_lookup_child,
	.readdir = ext_readdir,
	.pread = ext_pread,
	.readlink = ext_readlink,
	.xattrs = ext_xattrs,
	.streams = ext_streams,
	.data_runs = ext_data_runs,
	.free_space = ext_free_space,
	.write_file = imgfmt_ext_write_file,
	.append_file = imgfmt_ext_append_file,
	.mkdir = imgfmt_ext_mkdir,
	.remove = imgfmt_ext_remove,
	.set_uuid = imgfmt_ext_set_uuid,
	.commit = imgfmt_ext_commit,
};
