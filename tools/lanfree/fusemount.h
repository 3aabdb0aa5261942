/* fusemount.h --- rawkit-lanfree mount: the catalog as a tree (mounttree.c)
 * and the contents of its files (mountfile.c), for fusemount.c
 *
 * The tree is  /GUEST/GEN/VOLUME/path...  with /GUEST/latest a symbolic
 * link to the newest complete generation.  Everything runs on the one
 * thread that serves the mount (fuse_loop): no locks.
 */
#ifndef RAWKIT_LANFREE_FUSEMOUNT_H
#define RAWKIT_LANFREE_FUSEMOUNT_H

#include "lanfree.h"

#include <sys/stat.h>

enum view_stmt {
	ST_GUEST,     /* a guest's id by name */
	ST_GUESTS,    /* the guests that have a generation */
	ST_GEN,       /* a generation by guest and seq */
	ST_GENS,      /* a guest's generations */
	ST_LATEST,    /* a guest's newest complete generation */
	ST_VOLUME,    /* a volume of a generation, not skipped */
	ST_VOLUMES,   /* the volumes of a generation */
	ST_VERSION,   /* a version by path in a generation */
	ST_CHILDREN,  /* the versions in a directory of a generation */
	ST_BY_ID,     /* symlink, xattrs, flags of a version */
	ST_CONTENT,   /* where a version's content is */
	ST_COUNT
};

/* The catalog as the mount sees it. */
struct view {
	char *repo;             /* absolute: the daemon runs in / */
	struct db *db;
	struct db_stmt *st[ST_COUNT];
	uid_t uid;              /* owner of the directories rawkit makes up */
	gid_t gid;
	int64_t mounted;        /* ns: their times */
	uint64_t whole_bytes;   /* held by files decoded whole (mountfile.c) */
	bool foreground;        /* damage is reported on stderr */
};

/* Open REPO's catalog (read-only) for the view: CATALOG (db_open()'s
 * target) when not NULL; prints and returns -1. */
int view_open(struct view *v, const char *repo, const char *catalog);
void view_close(struct view *v);

enum node_kind { NODE_ROOT, NODE_GUEST, NODE_GEN, NODE_LATEST, NODE_VOLUME, NODE_ENTRY };

/* What a path of the mount names. */
struct node {
	enum node_kind kind;
	int64_t guest_id, gen_id, seq; /* NODE_LATEST: seq is its target */
	int64_t version_id;            /* NODE_VOLUME (0: no root version) and NODE_ENTRY */
	struct stat st;
};

/* Resolve PATH ("/", "/GUEST/GEN/VOLUME/a/b"): 0, or -ENOENT, -EIO. */
int view_lookup(struct view *v, const char *path, struct node *n);

/* Each entry of directory N: FILL(NAME, ST, ARG) until it returns
 * nonzero; 0, or -errno.  Names unusable as a path component are left out. */
typedef int (*view_fill_fn)(const char *name, const struct stat *st, void *arg);
int view_list(struct view *v, const char *path, const struct node *n, view_fill_fn fill, void *arg);

/* The symbolic link's target into BUF (SIZE, NUL-terminated): 0 or -errno. */
int view_readlink(struct view *v, const struct node *n, char *buf, size_t size);
/* getxattr(2) and listxattr(2) on N: the size, or -errno.  ROOT: the
 * caller may see trusted.* attributes. */
int view_getxattr(struct view *v, const struct node *n, const char *name, char *value, size_t size, bool root);
int view_listxattr(struct view *v, const struct node *n, char *list, size_t size, bool root);
/* The ext inode flags (chattr) recorded for N. */
int view_flags(struct view *v, const struct node *n, uint32_t *flags);

/* An open file's content (mountfile.c). */
struct mfile;
/* Open the content of version ID (SHOWN: its path, for messages): 0 and *F,
 * or -errno (-EIO: not readable when backed up, or the catalog is damaged). */
int mfile_open(struct view *v, int64_t version_id, const char *shown, struct mfile **f);
/* Read LEN bytes at OFF into BUF: the count, or -EIO (never wrong bytes
 * from a file decoded whole; a streamed file's damage is found at its end). */
int mfile_read(struct view *v, struct mfile *f, char *buf, size_t len, uint64_t off);
/* lseek(2)'s SEEK_DATA and SEEK_HOLE: the offset, or -ENXIO, -EIO. */
int64_t mfile_seek(struct view *v, struct mfile *f, uint64_t off, int whence);
void mfile_close(struct view *v, struct mfile *f);

#endif
