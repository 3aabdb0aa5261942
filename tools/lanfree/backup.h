/* backup.h --- rawkit-lanfree backup: state shared by backup.c, base.c, walk.c, store.c */
#ifndef RAWKIT_LANFREE_BACKUP_H
#define RAWKIT_LANFREE_BACKUP_H

#include "hmap.h"
#include "imgfmt.h"
#include "lanfree.h"

/* A file version present in the base generation, kept in memory for
 * comparison.  Paths are relative to the volume ("" is its root).  The
 * walk finds a version by its inode, then its path among the inode's
 * versions (hard links): an inode's versions chain through next_of_ino. */
struct base_version {
	int64_t id, last_seq, content_id;
	uint64_t ino, size;
	int64_t mtime, ctime;
	uint32_t igen, mode;
	uint32_t path_off, path_len;
	uint32_t next_of_ino;  /* index + 1 of another version of the same inode */
	uint32_t links;        /* the first of an inode's chain: its length */
	uint32_t sum_idx;      /* directories: index + 1 of its content checksum, 0 if none */
	bool has_error;
	bool continued;        /* the new generation goes on with it */
};

struct base_state {
	struct base_version *v;
	size_t n, cap;
	char *strings;
	size_t slen, scap;
	unsigned char (*sums)[32]; /* directory content checksums */
	size_t nsums, capsums;
	struct imap by_ino;   /* inode -> index of its first version */
	struct imap by_link;  /* (inode, path) -> index, for inodes of many links */
};

/* Load the versions of VOLUME in generation SEQ (none when SEQ is 0);
 * HINT: about how many there are. */
int base_load(struct base_state *b, struct db *db, int64_t guest_id, const char *volume, int64_t seq, size_t hint);
void base_free(struct base_state *b);
/* Index of the version of inode INO at PATH, or -1; *ANY (if not NULL)
 * gets the index of some version of INO, or -1 (a rename). */
int64_t base_find(const struct base_state *b, uint64_t ino, const char *path, size_t len, int64_t *any);
/* The content checksum of directory V (V->sum_idx must not be 0). */
const unsigned char *base_dirsum(const struct base_state *b, const struct base_version *v);

struct backup {
	const struct backup_opts *o;
	struct repo *repo;
	struct db *db;
	imgfmt_disk *disk;
	const char *guest;
	int64_t guest_id;               /* 0 until committed for a new guest */
	int64_t new_seq, newest_seq, base_seq;
	int64_t base_started;           /* ns: inodes changed since then are re-read */
	const char *level;
	bool same_excludes;             /* the base used the same --exclude list */
	char *excludes_joined;
	/* the archive being written, created at the first new content */
	struct pack *pack;
	char *pack_tmp, *pack_rel;
	/* staging database (attached as "stage"): rows for the commit */
	struct db_stmt *ins_newv, *ins_ended, *ins_copyv, *ins_newc;
	struct db_stmt *q_pending, *upd_done;
	struct db_stmt *q_size, *q_sha, *q_cid;
	size_t staged;
	/* accounting */
	int64_t files, bytes_total, bytes_new;
	unsigned warnings;
	bool dirty;
	struct cli_progress progress;
	uint64_t bytes_done, bytes_todo;
	unsigned char *buf, *buf2;      /* BUF_SIZE bytes each */
};

#define BUF_SIZE (1u << 20)

/* One volume's walk: base state, scanned inodes, the tree. */
struct walk {
	struct backup *bk;
	imgfmt_fs *fs;
	const char *volume;
	struct base_state base;
	bool base_usable;               /* incr/diff: trust unchanged inodes */
	int64_t racy_after;             /* ctime at or after this (ns): re-read */
	struct imgfmt_stat *scan;
	size_t nscan, capscan;
	struct imap scan_by_ino;
	struct imap dirs_seen;          /* directory inodes entered (loop guard) */
	char *path;                     /* current path, grown as needed */
	size_t path_cap;
	/* contents to read after the tree walk, in disk order */
	struct pending *pending;
	size_t npending, cappending;
	struct reader *reader;          /* read_pending(): the small files' reader, or NULL */
	struct imap pending_ino;        /* inodes already queued (hard links) */
	struct db_stmt *ins_dirsum;       /* stage.dirsum: directory content checksums */
	struct blob sum_buf;            /* a directory's entries, to checksum */
};

struct pending {
	uint64_t physical, ino;
	int64_t rowid;                  /* its first row in stage.newv */
	unsigned char sha[32];          /* read_pending(): its content id */
	enum { PENDING_QUEUED, PENDING_STORED, PENDING_UNREADABLE } result;
};
/* The order of the queue (stage.newv.physical): where on the disk, with
 * data kept in the inode last. */
static inline int64_t pending_key(uint64_t physical)
{
	return physical > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)physical;
}

/* Back up one volume; FS_UUID is its filesystem's UUID now. */
int walk_volume(struct backup *bk, imgfmt_fs *fs, const char *volume, const char *fs_uuid);

/* store.c: put the content of INO in the archive unless the repository has
 * it; *SHA is its SHA-256.  Returns 0, or -1 when the file could not be
 * read (warning printed; the archive stays consistent). */
int store_content(struct walk *w, const char *path, size_t path_len, const struct imgfmt_stat *st,
		  const struct blob *xattrs, unsigned char sha[32]);
/* Stage a row (stage.newv); SHA may be NULL; PENDING: its content is read
 * later (read_pending()); QUEUED: this row is the one of its inode in the
 * queue, at pending_key() QUEUED (-1: not).  *ROWID (if not NULL) gets the
 * row's id. */
int stage_new(struct walk *w, const char *dir, size_t dir_len, const char *name, size_t name_len,
	      const struct imgfmt_stat *st, const char *symlink, const struct blob *xattrs,
	      const unsigned char *sha, const char *error, bool pending, int64_t queued, int64_t *rowid);
/* Read ST's data runs RUNS into BUF at their offsets (holes left as BUF
 * has them) and hash them into H; -1 when a run cannot be read (the
 * volume's error says why). */
int read_runs(imgfmt_fs *fs, const struct imgfmt_stat *st, const struct content_runs *runs, unsigned char *buf,
	      struct content_hash *h);
/* Read the queued contents in disk order and complete their rows. */
int read_pending(struct walk *w);

/* prefetch.c: the windows read_pending() reads, asked for from a thread a
 * few windows ahead of the reader (prefetch_at(): the reader is in WINDOW). */
struct prefetch_range {
	uint64_t offset, length; /* in the volume */
};
struct prefetch;
struct prefetch *prefetch_start(imgfmt_fs *fs, const struct prefetch_range *r, size_t n);
void prefetch_at(struct prefetch *p, size_t window);
void prefetch_stop(struct prefetch *p);

/* dirahead.c: every directory's blocks asked for, in disk order, before
 * the walk reads them one by one (NULL: nothing asked). */
struct dirahead *dirahead_start(struct walk *w);
void dirahead_stop(struct dirahead *d);

/* reader.c: the small files of read_pending() mapped, read and hashed a
 * few ahead on a thread; each pending file I is taken once, in order, and
 * given back with reader_done().  A READ_LARGE item is read by the
 * caller (store_content()); the thread waits until it is done. */
enum read_status { READ_OK, READ_LARGE, READ_SKIP, READ_UNMAPPED, READ_UNREADABLE, READ_NOMEM };
struct read_item {
	enum read_status status;
	struct content_runs runs;
	unsigned char *data; /* the file, holes as zeros */
	unsigned char sha[32];
	char why[512];       /* READ_UNMAPPED, READ_UNREADABLE (imgfmt's messages fit) */
};
struct reader;
/* NULL when no thread can be started (read inline then). */
struct reader *reader_start(struct walk *w, struct prefetch *pf, const size_t *first, size_t nwin);
struct read_item *reader_take(struct reader *r, size_t i);
void reader_done(struct reader *r, size_t i);
void reader_stop(struct reader *r);
/* While the thread waits at a READ_LARGE item: hash LEN bytes of BUF at
 * OFFSET into H there (after the chunk before; BUF stays untouched until
 * the next reader_hash() or reader_hash_wait() returns). */
void reader_hash(struct reader *r, struct content_hash *h, const void *buf, size_t len, uint64_t offset);
void reader_hash_wait(struct reader *r);
/* The scanned inode of pending file I, or NULL. */
const struct imgfmt_stat *reader_stat(const struct walk *w, size_t i);

int stage_id(struct backup *bk, struct db_stmt *st, int64_t id);
void backup_warn(struct backup *bk, const char *object, const char *fmt, ...) CLI_PRINTF(3, 4);

#endif
