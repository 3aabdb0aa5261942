/* guestroot.h --- file operations under a mounted guest root (guestroot.c) */
#ifndef RAWKIT_GUESTROOT_H
#define RAWKIT_GUESTROOT_H

#include "imgfmt.h"

#include <stdbool.h>
#include <stddef.h>

/* ROOT is an O_PATH fd of the mount's top directory; PATH is absolute
 * inside the guest.  Every lookup is an openat2() confined to ROOT that
 * refuses symlinks (any component), magic links and mount crossings, so
 * nothing in the guest can lead outside it.  All return 0 or -errno. */

/* lstat() of PATH (a final symlink is described, not followed). */
int root_stat(int root, const char *path, struct imgfmt_stat *st);
/* Regular file PATH (at most MAX bytes) into *DATA, NUL-terminated;
 * -ENOENT when missing or not a regular file, -EFBIG when larger. */
int root_read(int root, const char *path, char **data, size_t *len, size_t max);
/* Replace the contents of regular file PATH (same inode: owner, mode, ACLs,
 * SELinux label kept), or create it with NF (-ENOENT without NF), owned
 * and moded as NF says and labelled like a regular file beside it.
 * -EEXIST when PATH is there but not a regular file. */
int root_write(int root, const char *path, const void *data, size_t len, const struct imgfmt_newfile *nf);
/* Append to regular file PATH (-ENOENT when missing, -EEXIST when not a
 * regular file). */
int root_append(int root, const char *path, const void *data, size_t len);
/* Create directory PATH with NF, labelled like a directory beside it. */
int root_mkdir(int root, const char *path, const struct imgfmt_newfile *nf);
/* Remove PATH; a directory only when RECURSIVE, with everything in it (at
 * most GUEST_WALK_DEPTH levels, never leaving the filesystem). */
int root_remove(int root, const char *path, bool recursive);
/* CB for each entry of directory DIR but "." and "..". */
int root_list(int root, const char *dir, imgfmt_dirent_fn cb, void *arg);

#endif
