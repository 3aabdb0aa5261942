/* fs_ext.h --- state shared by the ext2/3/4 reader (fs_ext.c) and editor (fs_ext_edit.c)
 *
 * Calls run one way: fs_ext.c (the back end's ops table) calls
 * fs_ext_edit.c and fs_ext_check.c; the reader and the editor both call
 * fs_ext_inode.c; nothing calls back into fs_ext.c. */
#ifndef IMGFMT_FS_EXT_H
#define IMGFMT_FS_EXT_H

#include "imgfmt_private.h"

#include <ext2fs/ext2fs.h>

/* A file's block map, cached for the file last read. */
struct ext_run {
	uint64_t lblk, pblk, len; /* in filesystem blocks */
	bool uninit;
};

struct ext_state {
	ext2_filsys efs;
	uint64_t map_ino;
	struct ext_run *map;
	size_t nmap, capmap;
	uint64_t map_budget; /* blocks a map may still claim: no more than the fs holds */
	int map_err;	     /* why the block iteration stopped (-ENOMEM, -EUCLEAN) */
	char bad_groups[200]; /* why the bitmaps are not to be trusted, or "" */
	struct ext_overlay *overlay; /* a dirty source's journal, read through (or NULL) */
};

#define EXT_FS(fs) (((struct ext_state *)(fs)->priv)->efs)
#define EXT_SYMLINK_MAX 4096

/* fs_ext_inode.c: errcode_t -> negative errno, with "WHAT: message" on FS. */
int imgfmt_ext_fail(imgfmt_fs *fs, errcode_t err, const char *what);
/* An inode number the filesystem can hold (checked before libext2fs sees it). */
int imgfmt_ext_check_ino(imgfmt_fs *fs, uint64_t ino);
int imgfmt_ext_read_inode(imgfmt_fs *fs, uint64_t ino, struct ext2_inode_large *inode);
/* fs_ext_check.c: the superblock and group descriptor bounds e2fsck checks;
 * -EUCLEAN with the reason on FS when EFS fails one. */
int imgfmt_ext_check_super(imgfmt_fs *fs, ext2_filsys efs);
/* Every group's bitmaps and inode table in their place: 0, or -1 with the
 * reason in WHY. */
int imgfmt_ext_check_groups(ext2_filsys efs, char *why, size_t size);

/* fs_ext_journal.c: the journal of a filesystem that needs recovery.
 * imgfmt_ext_overlay_load: *OUT = NULL when there is nothing to replay; -errno with
 * the reason on FS when the journal cannot be replayed. */
struct jbd2_stats;
int imgfmt_ext_overlay_load(imgfmt_fs *fs, ext2_filsys efs, struct ext_overlay **out);
void imgfmt_ext_overlay_free(struct ext_overlay *ov);
const struct jbd2_stats *imgfmt_ext_overlay_stats(const struct ext_overlay *ov);
size_t imgfmt_ext_overlay_blocks(const struct ext_overlay *ov);
/* Write the replay into EFS's own volume (a target) and empty its log. */
int imgfmt_ext_overlay_apply(imgfmt_fs *fs, const struct ext_overlay *ov, ext2_filsys efs);
/* Free the inodes (or the blocks past i_size) on EFS's orphan list, as the
 * kernel does after a recovery; marks what it changed dirty. */
int imgfmt_ext_release_orphans(imgfmt_fs *fs, ext2_filsys efs);

/* fs_ext_edit.c: the editing operations (IMGFMT_FS_WRITE). */
int imgfmt_ext_edit_prepare(imgfmt_fs *fs);
int imgfmt_ext_append_file(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len);
int imgfmt_ext_write_file(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len,
			  const struct imgfmt_newfile *nf);
int imgfmt_ext_mkdir(imgfmt_fs *fs, uint64_t dir, const char *name, const struct imgfmt_newfile *nf);
int imgfmt_ext_remove(imgfmt_fs *fs, uint64_t dir, const char *name, bool recursive);
int imgfmt_ext_set_uuid(imgfmt_fs *fs, const unsigned char uuid[16]);
int imgfmt_ext_commit(imgfmt_fs *fs);

#endif
