/* fs_ext_check.c --- the superblock and group descriptor checks an ext filesystem passes before use
 *
 * ext2fs_open2() accepts superblocks whose geometry libext2fs' bitmap and
 * inode code then trusts: a first data block of 1000 on a 4 KiB-block
 * filesystem makes ext2fs_read_bitmaps() write past its buffers.  These are
 * the bounds e2fsck checks before it hands a filesystem to that code
 * (check_super_block() and ext2fs_check_desc()).  A superblock that fails
 * one makes the filesystem unreadable.  Misplaced group metadata is what
 * e2fsck repairs and goes on: its files are still read (libext2fs checks
 * each inode table block it reads), but its bitmaps are not trusted
 * (the volume is copied whole) and it is never edited.
 */
#include "fs_ext.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

struct ext_check {
	char why[160];
};

/* Record the first failed check; returns -1 so callers can "return bad(...)". */
static int bad(struct ext_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return -1;
}

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Block and cluster sizes, and what one bitmap block can describe. */
static int check_sizes(ext2_filsys efs, struct ext_check *c)
{
	struct ext2_super_block *sb = efs->super;
	uint64_t bs = efs->blocksize, ratio, bpg_max, cpg_max;

	if (sb->s_log_block_size > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE)
		return bad(c, "log block size %u is out of range", sb->s_log_block_size);
	if (ext2fs_has_feature_bigalloc(sb)) {
		if (sb->s_log_cluster_size < sb->s_log_block_size ||
		    sb->s_log_cluster_size > EXT2_MAX_CLUSTER_LOG_SIZE - EXT2_MIN_CLUSTER_LOG_SIZE)
			return bad(c, "log cluster size %u is out of range", sb->s_log_cluster_size);
	} else if (sb->s_log_cluster_size != sb->s_log_block_size) {
		return bad(c, "cluster size differs from block size without bigalloc");
	}
	ratio = (uint64_t)1 << (sb->s_log_cluster_size - sb->s_log_block_size);
	/* One bitmap block holds 8 * block size bits: a group cannot be bigger. */
	cpg_max = 8 * bs;
	if (cpg_max > EXT2_MAX_CLUSTERS_PER_GROUP(sb))
		cpg_max = EXT2_MAX_CLUSTERS_PER_GROUP(sb);
	bpg_max = cpg_max * ratio;
	if (sb->s_clusters_per_group < 8 || sb->s_clusters_per_group > cpg_max)
		return bad(c, "%u clusters per group (%llu at most)", sb->s_clusters_per_group,
			   (unsigned long long)cpg_max);
	if (sb->s_blocks_per_group < 8 || sb->s_blocks_per_group > bpg_max ||
	    sb->s_blocks_per_group != (uint64_t)sb->s_clusters_per_group * ratio)
		return bad(c, "%u blocks per group (%llu at most, %llu per cluster group)", sb->s_blocks_per_group,
			   (unsigned long long)bpg_max, (unsigned long long)ratio * sb->s_clusters_per_group);
	if (sb->s_rev_level > EXT2_GOOD_OLD_REV) {
		uint64_t isz = sb->s_inode_size;
		if (isz < EXT2_GOOD_OLD_INODE_SIZE || isz > bs || !power_of_two(isz))
			return bad(c, "inode size %llu is not a power of two from 128 to the block size",
				   (unsigned long long)isz);
	}
	if (ext2fs_has_feature_64bit(sb)) {
		uint64_t dsz = sb->s_desc_size;
		if (dsz < EXT2_MIN_DESC_SIZE_64BIT || dsz > EXT2_MAX_DESC_SIZE || !power_of_two(dsz))
			return bad(c, "group descriptor size %llu is out of range", (unsigned long long)dsz);
	}
	return 0;
}

/* Where the data starts, how many blocks, groups and inodes there are. */
static int check_counts(ext2_filsys efs, struct ext_check *c)
{
	struct ext2_super_block *sb = efs->super;
	uint64_t blocks = ext2fs_blocks_count(sb), ipb = EXT2_INODES_PER_BLOCK(sb), ipg_max, groups;
	uint32_t first_should_be = (sb->s_log_block_size == 0 && EXT2FS_CLUSTER_RATIO(efs) == 1) ? 1 : 0;

	if (blocks == 0 || sb->s_inodes_count == 0)
		return bad(c, "no blocks or no inodes");
	if (sb->s_first_data_block != first_should_be)
		return bad(c, "first data block is %u, should be %u for %u-byte blocks", sb->s_first_data_block,
			   first_should_be, efs->blocksize);
	if (sb->s_first_data_block >= blocks)
		return bad(c, "first data block %u is past the end (%llu blocks)", sb->s_first_data_block,
			   (unsigned long long)blocks);
	ipg_max = ipb * (sb->s_blocks_per_group - 4);
	if (ipg_max > EXT2_MAX_INODES_PER_GROUP(sb))
		ipg_max = EXT2_MAX_INODES_PER_GROUP(sb);
	if (ipg_max > 8 * (uint64_t)efs->blocksize)
		ipg_max = 8 * (uint64_t)efs->blocksize; /* one inode bitmap block */
	if (sb->s_inodes_per_group < ipb || sb->s_inodes_per_group > ipg_max)
		return bad(c, "%u inodes per group (from %llu to %llu)", sb->s_inodes_per_group,
			   (unsigned long long)ipb, (unsigned long long)ipg_max);
	groups = (blocks - sb->s_first_data_block + sb->s_blocks_per_group - 1) / sb->s_blocks_per_group;
	if (groups != efs->group_desc_count)
		return bad(c, "%u block groups, %llu blocks make %llu", efs->group_desc_count,
			   (unsigned long long)blocks, (unsigned long long)groups);
	if ((uint64_t)sb->s_inodes_per_group * groups != sb->s_inodes_count)
		return bad(c, "%u inodes, %llu groups of %u make %llu", sb->s_inodes_count,
			   (unsigned long long)groups, sb->s_inodes_per_group,
			   (unsigned long long)sb->s_inodes_per_group * groups);
	if (sb->s_rev_level > EXT2_GOOD_OLD_REV &&
	    (sb->s_first_ino < EXT2_GOOD_OLD_FIRST_INO || sb->s_first_ino > sb->s_inodes_count))
		return bad(c, "first inode %u is out of range", sb->s_first_ino);
	if (sb->s_reserved_gdt_blocks > efs->blocksize / 4)
		return bad(c, "%u reserved descriptor blocks (%u at most)", sb->s_reserved_gdt_blocks,
			   efs->blocksize / 4);
	return 0;
}

/* The descriptor table inside the filesystem. */
static int check_desc_table(ext2_filsys efs, struct ext_check *c)
{
	uint64_t blocks = ext2fs_blocks_count(efs->super);

	for (dgrp_t i = 0; i < efs->desc_blocks; i++) {
		blk64_t at = ext2fs_descriptor_block_loc2(efs, efs->super->s_first_data_block, i);
		if (at <= efs->super->s_first_data_block || at >= blocks)
			return bad(c, "group descriptor block %u lies at block %llu, outside the filesystem", i,
				   (unsigned long long)at);
	}
	return 0;
}

/* Every group's bitmaps and inode table inside the filesystem, and inside
 * their own group unless flex_bg lets them move. */
static int check_groups(ext2_filsys efs, struct ext_check *c)
{
	struct ext2_super_block *sb = efs->super;
	uint64_t blocks = ext2fs_blocks_count(sb), itable_blocks = efs->inode_blocks_per_group;
	bool flex = ext2fs_has_feature_flex_bg(sb);

	for (dgrp_t g = 0; g < efs->group_desc_count; g++) {
		uint64_t lo = sb->s_first_data_block, hi = blocks; /* [lo, hi) */
		blk64_t bb = ext2fs_block_bitmap_loc(efs, g), ib = ext2fs_inode_bitmap_loc(efs, g),
			it = ext2fs_inode_table_loc(efs, g);
		if (!flex) {
			lo = ext2fs_group_first_block2(efs, g);
			hi = ext2fs_group_last_block2(efs, g) + 1;
		}
		if (bb < lo || bb >= hi)
			return bad(c, "group %u: block bitmap at block %llu, outside its place", g,
				   (unsigned long long)bb);
		if (ib < lo || ib >= hi)
			return bad(c, "group %u: inode bitmap at block %llu, outside its place", g,
				   (unsigned long long)ib);
		if (it < lo || it >= hi || itable_blocks > hi - it)
			return bad(c, "group %u: inode table at block %llu, outside its place", g,
				   (unsigned long long)it);
	}
	return 0;
}

int imgfmt_ext_check_super(imgfmt_fs *fs, ext2_filsys efs)
{
	struct ext_check c = { "" };

	if (check_sizes(efs, &c) < 0 || check_counts(efs, &c) < 0 || check_desc_table(efs, &c) < 0)
		return fs_fail(fs, -EUCLEAN, "damaged ext filesystem: %s (run e2fsck)", c.why);
	return 0;
}

int imgfmt_ext_check_groups(ext2_filsys efs, char *why, size_t size)
{
	struct ext_check c = { "" };

	if (check_groups(efs, &c) < 0) {
		snprintf(why, size, "damaged ext filesystem: %s (run e2fsck)", c.why);
		return -1;
	}
	return 0;
}
