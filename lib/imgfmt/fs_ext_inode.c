/* fs_ext_inode.c --- error mapping and inode reads shared by the ext reader (fs_ext.c) and editor (fs_ext_edit.c)
 *
 * The bottom of the ext back end: fs_ext.c and fs_ext_edit.c both call in
 * here and this file calls neither, so the dependency runs one way
 * (fs_ext.c -> fs_ext_edit.c -> fs_ext_inode.c).
 */
#include "fs_ext.h"

#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <string.h>

/* errcode_t -> negative errno, with the message on FS. */
int imgfmt_ext_fail(imgfmt_fs *fs, errcode_t err, const char *what)
{
	int code;

	switch (err) {
	case EXT2_ET_FILE_NOT_FOUND: code = -ENOENT; break;
	case EXT2_ET_NO_DIRECTORY: code = -ENOTDIR; break;
	case EXT2_ET_NO_MEMORY: code = -ENOMEM; break;
	case EXT2_ET_BAD_INODE_NUM: code = -EINVAL; break;
	case EXT2_ET_SHORT_READ: code = -EIO; break;
	default: code = (err > 0 && err < 256) ? -(int)err : -EUCLEAN; break;
	}
	return fs_fail(fs, code, "%s: %s", what, error_message(err));
}

/* An inode number the filesystem can hold, checked before libext2fs sees it. */
int imgfmt_ext_check_ino(imgfmt_fs *fs, uint64_t ino)
{
	if (ino < 1 || ino > EXT_FS(fs)->super->s_inodes_count)
		return fs_fail(fs, -EINVAL, "inode %llu out of range", (unsigned long long)ino);
	return 0;
}

int imgfmt_ext_read_inode(imgfmt_fs *fs, uint64_t ino, struct ext2_inode_large *inode)
{
	errcode_t err;
	int rc = imgfmt_ext_check_ino(fs, ino);

	if (rc < 0)
		return rc;
	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(EXT_FS(fs), (ext2_ino_t)ino, (struct ext2_inode *)inode, sizeof(*inode));
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read inode");
	return 0;
}
