/* guest.h --- read, write and remove files inside a guest filesystem
 *
 * A guest is either an imgfmt_fs (ext2/3/4, NTFS: edited through
 * libimgfmt) or the root of a mounted filesystem (XFS: edited through the
 * kernel, see mount.h), reached only by openat2() under an O_PATH fd of its
 * root with every symlink refused.  The calls below behave alike on both. */
#ifndef RAWKIT_GUEST_H
#define RAWKIT_GUEST_H

#include "imgfmt.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest {
	imgfmt_fs *fs;     /* NULL for a mounted root */
	int root;          /* a mounted root: O_PATH fd of its top directory (when MOUNTED) */
	bool mounted;
	bool dry;          /* only report what would change */
	/* told of every change: TAG is the caller's (an operation), WHAT the
	 * path, with a leading '-' for a removal */
	void (*changed)(void *ctx, int tag, const char *what);
	void *ctx;
	char err[512];     /* the first failure */
};

/* A guest handle on FS whose changes are added to CHANGES (tagged). */
struct guest guest_reporting(imgfmt_fs *fs, bool dry, struct report_list *changes);

/* The same on the mounted root ROOT (an O_PATH directory fd, kept by the
 * caller). */
struct guest guest_reporting_root(int root, bool dry, struct report_list *changes);

/* Regular file PATH into *DATA (NUL-terminated, LEN bytes).  -ENOENT when
 * missing or not a regular file; other errors set g->err. */
int guest_read(struct guest *g, const char *path, char **data, size_t *len);
/* The same for files larger than configuration files (an initramfs): up to
 * MAX bytes, -EFBIG beyond. */
int guest_read_max(struct guest *g, const char *path, size_t max, char **data, size_t *len);
/* Write (or create with NF) PATH. */
int guest_write(struct guest *g, int tag, const char *path, const char *data, size_t len,
		const struct imgfmt_newfile *nf);
/* Append LEN bytes of DATA to regular file PATH (which must exist). */
int guest_append(struct guest *g, int tag, const char *path, const char *data, size_t len);
/* Create directory PATH with NF (not reported as a change); -EEXIST when
 * it exists. */
int guest_mkdir(struct guest *g, const char *path, const struct imgfmt_newfile *nf);
/* Remove PATH (RECURSIVE for directories) if it exists. */
int guest_remove(struct guest *g, int tag, const char *path, bool recursive);
/* st_mode of PATH (not following a final symlink), 0 when missing. */
unsigned guest_mode(struct guest *g, const char *path);
/* 1 if PATH is a directory, 0 if not or missing. */
int guest_is_dir(struct guest *g, const char *path);
int guest_exists(struct guest *g, const char *path);
/* lstat() of PATH inside the guest: 0, or -ENOENT and the like. */
int guest_stat(struct guest *g, const char *path, struct imgfmt_stat *st);

#define GUEST_WALK_DEPTH 64 /* directory nesting a walk follows */

/* Names in directory DIR (NULL-terminated, sorted, malloc'd; free with
 * guest_names_free); NULL when DIR is missing. */
char **guest_list(struct guest *g, const char *dir);
void guest_names_free(char **names);

#endif
