/* lanfree.h --- rawkit-lanfree: types and functions shared by its files */
#ifndef RAWKIT_LANFREE_H
#define RAWKIT_LANFREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "imgfmt.h"
#include "json.h"

/* ---------------------------------------------------------- repository */

/* An open repository: its directory, catalog and the locks held.  One in
 * RADOS (PATH "rados:POOL[/NAMESPACE]", radosrepo.c) has no directory
 * (DIRFD and the lock descriptors -1): its archives, configuration and
 * locks are objects of RADOS. */
struct repo {
	char *path;
	int dirfd;
	int lock_fd;       /* REPO/lock: shared (backup, restore...) or exclusive (prune) */
	int guest_lock_fd; /* REPO/locks/GUEST.lock while backing GUEST up */
	struct db *db;
	imgfmt_rados *rados;  /* in RADOS: the pool, holding the locks; else NULL */
	uint64_t chunk_bytes; /* in RADOS: the size of an archive's objects */
	char *catalog;        /* in RADOS: the catalog's db_open() target */
};

/* READ: shared lock, catalog opened read-only (list, ls, find, restore,
 * verify); SHARED: backup; EXCLUSIVE: prune. */
enum repo_lock { REPO_READ, REPO_SHARED, REPO_EXCLUSIVE };

/* Create REPO (a new or empty directory) with an empty catalog. */
int repo_init(const char *path);
/* The same with the catalog in the PostgreSQL database DSN (NULL: SQLite,
 * REPO/catalog.db), which must not hold one yet.  REPO
 * "rados:POOL[/NAMESPACE]" (with nothing in it) is a repository in RADOS:
 * DSN is then required, a connection string or the absolute path of a new
 * SQLite file. */
int repo_init_catalog(const char *path, const char *dsn);
/* What holds REPO's catalog, for db_open(): REPO/catalog's connection
 * string or REPO/catalog.db; malloc()ed, NULL with errno (EINVAL: a
 * REPO/catalog without a connection string). */
char *repo_catalog_target(const char *path);
/* Open the PostgreSQL database DSN into *DB (closed by the caller) and
 * check that it holds no catalog yet; 0 or -1 (printed, about PATH). */
int catalog_database_unused(const char *path, const char *dsn, struct db **db);
/* How long repo_open() and repo_lock_guest() wait for a lock another run
 * holds, in seconds (--wait-lock; 0: not at all). */
extern int repo_lock_wait;
/* Open REPO and take its lock; messages printed, returns 0 or the exit
 * status to end with (RAWKIT_EXIT_BUSY: the lock is held elsewhere). */
int repo_open(struct repo *r, const char *path, enum repo_lock lock);
void repo_close(struct repo *r);
/* In the child of a fork(): drop R without closing what belongs to the
 * parent's process (a RADOS connection: its threads stayed there; the
 * catalog must be closed before the fork). */
void repo_forget(struct repo *r);
/* The repository's locks are still ours, and for another lease (RADOS:
 * renewed now; a local repository's flocks cannot lapse): 0, or -1 with
 * the message printed.  Asked before committing what they protect. */
int repo_locks_held(struct repo *r);
/* Take the per-guest lock; 0, or the exit status (message printed). */
int repo_lock_guest(struct repo *r, const char *guest);
/* A guest name is [A-Za-z0-9._+-], 1..128 bytes, not starting with '.'. */
bool guest_name_ok(const char *name);
/* fsync a directory by path (relative to the repo when not absolute). */
int repo_sync_dir(struct repo *r, const char *rel);
/* Is REL an archive name as backup writes it, data/GUEST/SEQ-TAG.tar[.zst|.gz]?
 * Catalog paths are input: none drives a filesystem call without this. */
bool archive_path_ok(const char *rel);
/* REL made printable and short for a message, into BUF. */
const char *archive_path_shown(const char *rel, char *buf, size_t size);
/* Open archive REL read-only, or remove it, under the repository without
 * following a symbolic link; -1 with errno (EINVAL: REL is not an archive name). */
int repo_open_archive(struct repo *r, const char *rel);
int repo_unlink_archive(struct repo *r, const char *rel);

struct pack;

/* radosrepo.c: a repository in RADOS, under repo.c's functions (same
 * contracts, messages printed); *CATALOG gets the catalog's path. */
int rados_repo_init(const char *spec, const char *catalog);
int rados_repo_open(struct repo *r, const char *spec, enum repo_lock lock, char **catalog);
int rados_repo_lock_guest(struct repo *r, const char *guest);
void rados_repo_close(struct repo *r);
/* Where a backup stages the archive it writes (unlinked once open). */
char *rados_repo_stage_path(const char *guest, int64_t seq, const char *suffix);
/* Upload the closed archive P as REL's chunk objects, durable on return. */
int rados_repo_publish(struct repo *r, struct pack *p, const char *rel);
int rados_repo_unlink_archive(struct repo *r, const char *rel);
/* Remove the chunks of archives NAMED() says the catalog does not name;
 * the count removed. */
unsigned rados_repo_remove_orphans(struct repo *r, bool (*named)(const char *rel, void *arg), void *arg);

/* archfile.c: an archive to read, by the path REPO/REL; a path under a
 * repository in RADOS that archfile_register() named reads REL's chunk
 * objects.  Each returns -1 (or NULL) with a message in ERR. */
struct archfile;
int archfile_register(const char *path, imgfmt_rados *rados, uint64_t chunk);
void archfile_unregister(imgfmt_rados *rados);
struct archfile *archfile_open(const char *path, char *err, size_t errlen);
/* A descriptor already open (a local archive), owned from then on. */
struct archfile *archfile_open_fd(int fd);
/* Up to LEN bytes at OFF: the count (short at the end). */
ssize_t archfile_pread(struct archfile *f, void *buf, size_t len, uint64_t off, char *err, size_t errlen);
int archfile_size(struct archfile *f, uint64_t *size, char *err, size_t errlen);
void archfile_close(struct archfile *f);
/* The name of chunk INDEX of archive REL in RADOS. */
void archive_chunk_name(const char *rel, uint64_t index, char *buf, size_t size);

/* Test hooks: RAWKIT_FAULT=POINT kills the process at POINT, RAWKIT_STOP=POINT
 * stops it there (fault.c). */
void fault_point(const char *point);

/* ------------------------------------------------------------- catalog */

/* last_seq of a version the newest generation holds: "still present".
 * A new generation then touches only the versions that end. */
#define SEQ_OPEN INT64_MAX

int catalog_create(struct db *db);
int catalog_check_schema(struct db *db, const char *repo);
/* Bring an older schema-1 catalog up to date (new columns); 0 or -1. */
int catalog_upgrade(struct db *db);
/* TABLE has COLUMN (a catalog opened read-only may predate it). */
bool catalog_has_column(struct db *db, const char *table, const char *column);
/* Run SQL with no result rows; prints on failure, returns 0 or -1. */
int catalog_exec(struct db *db, const char *sql);
/* Prepare, printing on failure. */
struct db_stmt *catalog_prepare(struct db *db, const char *sql);
/* The id of GUEST, or 0 if the repository has never seen it. */
int64_t catalog_guest_id(struct db *db, const char *guest);

/* A generation as the catalog keeps it. */
struct generation {
	int64_t id, guest_id, seq, base_seq;
	char level[8], status[12];
	int64_t started, finished; /* ns since the epoch */
	int64_t files, bytes_total, bytes_new, bytes_stored;
	int dirty;
};

/* Resolve "GUEST" or "GUEST@GEN" (GEN a number or "latest") to a complete
 * or partial generation; prints and returns -1 when there is none. */
int catalog_find_generation(struct db *db, const char *spec, char **guest, struct generation *g);
/* Newest generation of GUEST_ID (of LEVEL when not NULL); 0 found, 1 none. */
int catalog_newest(struct db *db, int64_t guest_id, const char *level, struct generation *g);

/* shape.c: a disk's shape as a generation records it (doc/json.md's words):
 * {disk_bytes, sector_bytes, label, id, ptable (libfdisk's script),
 * partitions[], volumes[] (the whole disk, LVs): {name, partno, offset_bytes,
 * size_bytes, container, type, part_uuid, part_name, lv_vg, lv_name, fstype,
 * fs_uuid, fs_label, params (ext: mke2fs's; ntfs: mkntfs's; vfat: mkfs.fat's;
 * else null)},
 * boot_areas[]: {what (mbr_boot_code, table_gap, bios_boot), volume,
 * offset_bytes, size_bytes, stored_bytes, blob_offset_bytes}}; BOOT holds
 * each area's first stored_bytes (the rest are zeros). */
struct shape {
	json_t *json;
	unsigned char *boot;
	size_t boot_len;
};
/* Describe DISK; 0, or -1 with a message printed (S freed by the caller). */
int shape_describe(imgfmt_disk *disk, struct shape *s);
void shape_free(struct shape *s);
/* Inside the caller's transaction: S's row of the catalog (added unless it
 * is there), its id; -1 with a message printed. */
int64_t shape_store(struct db *db, const struct shape *s);
/* The shape of generation GEN_ID: 1 into *S, 0 none recorded (a generation
 * of an older rawkit), -1 with a message printed. */
int shape_load(struct db *db, int64_t gen_id, struct shape *s);

/* xattrs as stored: repeated [u16 name length][name][u32 value length][value] */
struct blob {
	unsigned char *data;
	size_t len, cap;
};
int blob_append(struct blob *b, const void *data, size_t len);
int xattr_blob_add(struct blob *b, const char *name, const void *value, size_t size);
/* Iterate a stored xattr blob; returns -1 on a malformed blob. */
typedef int (*xattr_blob_fn)(const char *name, size_t name_len, const void *value, size_t size, void *arg);
int xattr_blob_each(const void *data, size_t len, xattr_blob_fn cb, void *arg);

/* ------------------------------------------------------------ archives */

enum compression { COMP_ZSTD, COMP_GZIP, COMP_NONE };
const char *compression_name(enum compression c);
const char *compression_suffix(enum compression c);
int compression_parse(const char *s, enum compression *c);
/* The level a backup compresses at unless told: it depends on how many
 * compression threads there are (JOBS). */
int compression_default_level(enum compression c, int jobs);
/* The highest level --compress takes for C (0: none takes a level). */
int compression_max_level(enum compression c);

/* A frame holds at most 1 MiB of tar stream (pack.c's FRAME_MAX); compressed,
 * zstd and gzip add a few bytes to incompressible data.  A catalog frame
 * larger than this is damage, never a size to allocate. */
#define FRAME_USIZE_MAX (1u << 20)
#define FRAME_CSIZE_MAX (FRAME_USIZE_MAX + (64u << 10))

struct frame_info {
	uint64_t offset, csize, usize;
	unsigned char sha256[32];
};

/* A pax tar archive written as independently compressed frames. */
struct pack;
struct archive_entry;

/* Create the archive at PATH (a new file); JOBS compression threads;
 * LEVEL 0: compression_default_level(). */
struct pack *pack_open(const char *path, enum compression comp, int level, int jobs, char *err, size_t errlen);
/* Start an entry; *FRAME and *OFFSET tell where its header starts
 * (uncompressed offset inside that frame). */
int pack_begin_entry(struct pack *p, struct archive_entry *e, uint32_t *frame, uint64_t *offset);
int pack_write(struct pack *p, const void *buf, size_t len);
int pack_end_entry(struct pack *p);
/* Finish the tar stream, write the last frames, fsync; the frame table
 * stays valid until pack_free(). */
int pack_close(struct pack *p);
const struct frame_info *pack_frames(const struct pack *p, size_t *count);
uint64_t pack_size(const struct pack *p);
/* The archive is a local copy to be uploaded elsewhere (a repository in
 * RADOS): pack_close() does not fsync it.  pack_fd(): its descriptor, to
 * read it back after pack_close(). */
void pack_set_staging(struct pack *p);
int pack_fd(const struct pack *p);
const char *pack_error(const struct pack *p);
/* Free; an archive not closed successfully is removed. */
void pack_free(struct pack *p);

/* Hole: feed LEN bytes of a hole of a sparse entry (nothing is stored). */
int pack_write_hole(struct pack *p, uint64_t len);
/* Take the entry begun last out of the archive again, as if it had never
 * been begun (a file that could not be read to its end): no padding. */
int pack_abort_entry(struct pack *p);

/* What unpack_entry() knows of an entry before its first data block. */
struct unpack_info {
	uint64_t size; /* apparent size */
	bool sparse;   /* stored with a sparse map: its id is a sparse id */
};

/* Read the entry that starts OFFSET bytes into the frame at FRAME_OFF of
 * archive PATH.  INFO is filled in before CB is first called; CB receives
 * data blocks with their offsets in the file (holes are skipped); returns 0
 * or -1 with a message in ERR. */
typedef int (*unpack_block_fn)(const void *buf, size_t len, uint64_t offset, void *arg);
int unpack_entry(const char *path, enum compression comp, uint64_t frame_off, uint64_t offset, unpack_block_fn cb,
		 void *arg, struct unpack_info *info, char *err, size_t errlen);

/* The same through a reader kept open between calls: FRAME_UPOS is where
 * the frame starts in the archive's uncompressed stream (the sum of the
 * frames' usize before it), so that the next entry of the same archive,
 * a little further on, is read by going on rather than starting over at
 * its frame.  Entries asked for in archive order cost one pass. */
struct unpacker;
struct content_runs;
struct unpacker *unpacker_new(void);
void unpacker_free(struct unpacker *u);
/* SIZE: the entry's size as the catalog gives it (UNPACK_SIZE_UNKNOWN:
 * none): an entry that reading on reaches with another size is not the one
 * asked for (a catalog whose frame sizes lie), and it is read from its
 * frame instead. */
#define UNPACK_SIZE_UNKNOWN UINT64_MAX
int unpacker_entry(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off,
		   uint64_t frame_upos, uint64_t offset, uint64_t size, unpack_block_fn cb, void *arg,
		   struct unpack_info *info, char *err, size_t errlen);

/* The same, pulled: unpacker_begin() reads the entry's header (INFO, and
 * when MAP is not NULL and the entry has holes, its data runs appended to
 * MAP); then each unpacker_next() gives its next data block, in file order,
 * pointing into the reader (valid until the next call): 1 a block, 0 the
 * entry's end, -1 error (the reader is closed).  ERR as above. */
int unpacker_begin(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off,
		   uint64_t frame_upos, uint64_t offset, uint64_t size, struct unpack_info *info,
		   struct content_runs *map, char *err, size_t errlen);
int unpacker_next(struct unpacker *u, const void **buf, size_t *len, uint64_t *offset, char *err, size_t errlen);

/* ------------------------------------------------------------ contents */

/* A content's id (content.c): SHA-256 of the bytes for a file without
 * holes, a sparse id (SHA-512/256 of its data runs) for a file with holes.
 * Feed data in file order; gaps are holes. */
struct content_hash {
	void *h; /* EVP_MD_CTX */
	uint64_t size, pos, run_start;
	bool sparse, in_run;
};
int content_hash_init(struct content_hash *c, bool sparse, uint64_t size);
/* -1: out of order, past SIZE, or a gap in a file without holes. */
int content_hash_data(struct content_hash *c, const void *buf, size_t len, uint64_t offset);
/* -1: a file without holes that did not get SIZE bytes. */
int content_hash_final(struct content_hash *c, unsigned char id[32]);
void content_hash_free(struct content_hash *c);

/* A file's data runs, maximal, in order, clipped to its size. */
struct content_run {
	uint64_t offset, length;
};
struct content_runs {
	struct content_run *run;
	size_t n, cap;
	uint64_t volume_size, on_disk;
	bool sparse; /* holes somewhere in [0, size) */
	bool bad, oom;
};
/* Map ST's data; -1 with *WHY when the map cannot be had or is impossible
 * (a run outside the volume, overlapping runs, more data than the volume). */
int content_runs_get(imgfmt_fs *fs, const struct imgfmt_stat *st, struct content_runs *r, const char **why);
void content_runs_free(struct content_runs *r);
/* Add a run after the last (joined to it when it follows on); -1 (and
 * R->oom) when out of memory. */
int content_runs_append(struct content_runs *r, uint64_t offset, uint64_t length);
/* The id of ST's content as it is on the disk now, reading its data runs
 * only; BUF (BUF_SIZE bytes) is scratch. */
int content_id_of_file(imgfmt_fs *fs, const struct imgfmt_stat *st, void *buf, size_t buf_size, unsigned char id[32],
		       const char **why);

/* ------------------------------------------------------------- commands */

struct backup_opts {
	const char *repo, *disk, *guest, *level;
	const char **excludes;
	size_t nexcludes;
	enum compression comp;
	int comp_level; /* 0: the default for comp and jobs */
	int jobs;
	bool allow_dirty, json, progress, quiet;
	bool snapshot; /* DISK is rbd:POOL/IMAGE: back up from a snapshot made for it */
};
int cmd_backup(const struct backup_opts *o);

/* snapshot.c: backup --snapshot.  snapshot_spec_ok(): whether DISK can
 * have one (else *WHY says why).  snapshot_begin(): block SIGTERM, SIGINT
 * and SIGHUP in the process (before any thread starts), create snapshot
 * rawkit-<UTC time> of DISK and watch for those signals on a thread (the
 * snapshot is removed, then the signal kills the process); *SPEC gets DISK
 * with @SNAP (malloc'd).  snapshot_end(): remove it.  Both return 0, or -1
 * with the message printed. */
bool snapshot_spec_ok(const char *disk, const char **why);
int snapshot_begin(const char *disk, char **spec);
int snapshot_end(void);

struct restore_opts {
	const char *repo, *spec, *to;
	const char **paths;
	size_t npaths;
	bool overwrite, json, progress, quiet;
	/* TO is on an ntfs-3g mount (restore-disk's NTFS): the NTFS metadata
	 * goes back as ntfs-3g's system.ntfs_acl, system.ntfs_attrib,
	 * system.ntfs_reparse_data and system.ntfs_times (creation, write and
	 * access times), not as user.ntfs_*; no mode is set */
	bool ntfs;
	uint64_t *files_out, *bytes_out; /* when not NULL: entries and bytes restored */
};
int cmd_restore(const struct restore_opts *o);

/* export.c: the generation SPEC of REPO as one pax tar stream written to TO
 * (a file, replaced by rename once complete; a device; "-": stdout) in
 * records of BLOCK_SIZE bytes. */
#define EXPORT_BLOCK_DEFAULT 10240     /* tar's 20 blocks of 512 */
#define EXPORT_BLOCK_MAX (1u << 20)
struct export_opts {
	const char *repo, *spec, *to;
	size_t block_size; /* a multiple of 512, 512..EXPORT_BLOCK_MAX */
	bool json, progress, quiet;
};
int cmd_export(const struct export_opts *o);

/* restoredisk.c: generation SPEC of REPO made into a whole disk again on
 * TARGET (an image file or a block device): its partition table, each
 * filesystem made with its recorded identity and parameters and filled
 * from the generation, the boot areas written back. */
struct restore_disk_opts {
	const char *repo, *spec, *target;
	const char *grow;   /* --grow pN: the partition a larger target grows (NULL: the last) */
	const char *volume; /* --volume NAME: that volume alone onto TARGET (NULL: the disk) */
	bool new_ids;       /* fresh ids, references rewritten by rawkit-clone --in-place */
	bool force, dry_run, json, progress, quiet;
};
int cmd_restore_disk(const struct restore_disk_opts *o);

/* The room a volume's files need in a new ext2/3/4 (rdfit.c), from the
 * generation's versions and the recorded mke2fs parameters. */
struct restore_disk_fit {
	uint64_t files, data_bytes;
	uint64_t need_bytes;      /* data and metadata */
	uint64_t min_bytes;       /* plus the slack: the smallest size made */
	uint64_t inodes;          /* the fewest inodes made */
	uint64_t per_inode_bytes; /* the recorded density */
};
/* 0, or -1 when the catalog cannot be read or PARAMS is damaged. */
int restore_disk_fit(struct db *db, int64_t guest_id, int64_t seq, const char *volume, json_t *params,
		     struct restore_disk_fit *fit);
/* The inode count of a filesystem of SIZE bytes: the recorded density,
 * no more than RECORDED, no fewer than the files need. */
uint64_t restore_disk_fit_inodes(const struct restore_disk_fit *fit, uint64_t size, uint64_t recorded);

int cmd_init(const char *repo, const char *catalog);
int cmd_list(const char *repo, const char *guest, bool json);
int cmd_ls(const char *repo, const char *spec, const char *path, bool long_format, bool json);
int cmd_find(const char *repo, const char *guest, const char *pattern, bool json);
int cmd_verify(const char *repo, const char *spec, bool read_data, const char *against, bool json, bool quiet);

/* ----------------------------------------------------------- retention */

/* A retention policy (retention.c): restic forget's rules; 0 = not used. */
struct retention {
	int last, hourly, daily, weekly, monthly, yearly;
	struct {
		int years, months, weeks, days, hours;
	} within;
	bool has_within;
};
enum keep_reason {
	KEEP_LAST = 1 << 0, KEEP_HOURLY = 1 << 1, KEEP_DAILY = 1 << 2, KEEP_WEEKLY = 1 << 3,
	KEEP_MONTHLY = 1 << 4, KEEP_YEARLY = 1 << 5, KEEP_WITHIN = 1 << 6,
};
/* One generation as the policy sees it; retention_apply() sets REASONS
 * (0: not kept). */
struct retained {
	int64_t seq, time; /* time: when it finished, ns */
	unsigned reasons;
};
/* Does P have any rule? */
bool retention_any(const struct retention *p);
/* DURATION as --keep-within takes it (1y6m2w3d12h) into P; 0 or -1. */
int retention_parse_within(const char *duration, struct retention *p);
/* Mark what P keeps among the N generations G, newest first. */
void retention_apply(const struct retention *p, struct retained *g, size_t n);
/* "daily" for KEEP_DAILY. */
const char *retention_reason_name(unsigned bit);

/* diff.c: what changed from generation A to B of a guest (SPEC_B NULL: A
 * against the newest complete one; SPEC_A without @GEN too: the two
 * newest complete ones).  An exit status. */
int cmd_diff(const char *repo, const char *spec_a, const char *spec_b, bool json, bool quiet);
/* query.c: a name printed as ls -b does (control bytes and \ as \ooo);
 * a mode as ls -l shows it ("drwxr-xr-x"). */
void print_name(const unsigned char *s, size_t n);
void mode_string(uint32_t mode, char out[11]);

struct prune_opts {
	const char *repo, *guest; /* guest NULL: every guest (--all) */
	struct retention keep;
	bool dry_run, json, quiet; /* quiet: only warnings and errors */
};
int cmd_prune(const struct prune_opts *o);
/* For rawkit-lanfree run, on a repository opened REPO_SHARED with GUEST's
 * lock held: remove the generations P does not keep, and their versions,
 * in one transaction; *GENERATIONS (caller frees) judges each.  0 or -1. */
int prune_forget(struct repo *r, const char *guest, const struct retention *p, json_t **generations,
		 size_t *removed);
/* On a repository opened REPO_EXCLUSIVE: contents and archives nothing
 * holds any more leave the catalog, then the disk.  0 or -1. */
int prune_sweep(struct repo *r, uint64_t *archives, uint64_t *freed);

/* ------------------------------------------------------------- entries */

/* entry.c: a version of a generation and where its content is, as restore
 * and export read it: SELECT ENTRY_COLUMNS FROM versions v ENTRY_JOINS ...,
 * one row into a struct entry by entry_from_row(). */
#define ENTRY_COLUMNS                                                                                          \
	"v.volume, v.dir, v.name, v.mode, v.uid, v.gid, v.size, v.atime, v.mtime, v.ino, v.nlink,"            \
	" v.rdev_major, v.rdev_minor, v.flags, v.symlink, v.xattrs, v.error, c.sha256, c.entry_offset, a.path," \
	" a.compression, f.offset, c.size, v.content_id, f.upos, v.ctime, v.btime"
#define ENTRY_JOINS                                                                                            \
	" LEFT JOIN contents c ON c.id = v.content_id"                                                         \
	" LEFT JOIN archives a ON a.id = c.archive_id"                                                         \
	" LEFT JOIN (SELECT archive_id, idx, \"offset\","                                                      \
	"  SUM(usize) OVER (PARTITION BY archive_id ORDER BY idx) - usize AS upos FROM frames) f"               \
	"  ON f.archive_id = c.archive_id AND f.idx = c.frame_idx"
struct entry {
	char *volume, *dir, *name;
	size_t dir_len, name_len;
	uint32_t mode, uid, gid, nlink, rdev_major, rdev_minor, flags;
	uint64_t size, ino;
	int64_t atime, mtime, ctime, btime; /* btime: creation, 0 if unknown */
	void *symlink, *xattrs;
	size_t symlink_len, xattrs_len;
	bool has_content, had_error, content_missing;
	int64_t content_size; /* contents.size: the version's size must be this */
	unsigned char sha[32];
	uint64_t frame_off, frame_upos, entry_off;
	char *archive;
	char compression[8];
};
/* The row ST is on into E (caller frees with entry_free()); 0, or -1 when
 * out of memory (E is then still safe to free). */
int entry_from_row(struct db_stmt *st, struct entry *e);
void entry_free(struct entry *e);

/* ---------------------------------------------------------------- fleet */

/* One [guest NAME] of rawkit-lanfree.conf(5), the defaults merged in. */
struct guest_conf {
	char *name, *disk, *level, *compress; /* level, compress: NULL = backup's default */
	char **excludes, **before, **after;   /* NULL-ended */
	size_t nexcludes, nbefore, nafter;
	struct retention keep;
	bool keep_given;
	int allow_dirty; /* -1: not given */
	unsigned line;   /* where its section starts */
};
struct fleet_conf {
	char *path, *repo; /* repo: NULL when [repository] has no path */
	int jobs;          /* guests at once */
	struct guest_conf defaults;
	struct guest_conf *guests;
	size_t nguests;
};
/* Read PATH: 0; -1 when it cannot be read, -2 when it is not right, with
 * "FILE[:LINE]: what" in ERR.  C is freed with fleet_conf_free() either way. */
int fleet_conf_load(const char *path, struct fleet_conf *c, char *err, size_t errlen);
void fleet_conf_free(struct fleet_conf *c);

struct run_opts {
	const char *config;
	char **guests; /* only these (NULL: every guest of the file) */
	size_t nguests;
	bool dry_run, json, quiet, syslog;
};
int cmd_run(const struct run_opts *o);

struct mount_opts {
	const char *repo, *dir;
	bool allow_other, foreground;
};
/* fusemount.c: a read-only FUSE view of every generation; returns when the
 * view is unmounted (or, not in the foreground, once it is serving). */
int cmd_mount(const struct mount_opts *o);

/* ---------------------------------------------------------------- misc */

/* A name from the catalog usable as one path component: 1..255 bytes, no
 * '/' or NUL, not "." or "..". */
bool path_component_ok(const char *c, size_t n);
/* Nanoseconds since the epoch as a timespec, before 1970 too. */
struct timespec ns_timespec(int64_t ns);
/* Path of a version: VOLUME[/DIR]/NAME (DIR and NAME may be empty). */
char *version_path(const char *volume, const void *dir, size_t dir_len, const void *name, size_t name_len);
/* The inode flags restore sets and export carries (chattr's user-visible
 * ones, as linux/fs.h numbers them). */
#define SETTABLE_FLAGS                                                                                         \
	(FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
	 FS_NOATIME_FL | FS_DIRSYNC_FL | FS_NOCOW_FL | FS_PROJINHERIT_FL)
/* walk.c: a directory's entries as imgfmt_fs_readdir() gives them
 * (children_add is its callback; -ENOMEM when out of memory). */
struct child {
	char *name;
	size_t len;
	uint64_t ino;
};
struct children {
	struct child *c;
	size_t n, cap;
};
int children_add(const char *name, size_t len, uint64_t ino, unsigned type, void *arg);
void children_free(struct children *cs);

/* writer.c: files a restore has unpacked into memory, written and checked
 * on a thread; taken back in the order given (writer_take()). */
/* A streamed job (STREAM) has no DATA: a larger file's blocks are given
 * as they are unpacked (writer_piece()), then the job is closed. */
enum job_result { JOB_OK, JOB_DAMAGED, JOB_IO, JOB_SIZE, JOB_NOMEM, JOB_ABANDONED };
struct job_piece;
struct file_job {
	int fd;
	uint64_t size;
	bool sparse;
	unsigned char sha[32];     /* the content id to check */
	unsigned char *data;       /* SIZE bytes; only the runs are written */
	struct content_runs runs;  /* its data runs, in order */
	bool stream, closed, abandoned;
	bool failed;               /* STREAM: the writer failed; the rest is not wanted */
	struct job_piece *pieces, *pieces_tail; /* STREAM: given, not yet written */
	enum job_result result;
	int err;                   /* JOB_IO, JOB_SIZE: errno */
	bool done;
	struct file_job *next;
};
struct writer;
/* NULL when no thread can be started (write with file_job_run()). */
struct writer *writer_start(void);
/* Too many files or bytes in flight: take one back first. */
bool writer_full(struct writer *w);
void writer_give(struct writer *w, struct file_job *j);
/* A streamed job's next block (copied; in order): waits while too many
 * bytes are in flight.  -1: out of memory; 1: the writer failed (JOB_IO,
 * J->err; or JOB_NOMEM): give no more. */
int writer_piece(struct writer *w, struct file_job *j, const void *buf, size_t len, uint64_t offset);
/* Every block of a streamed job given (ABANDON: its file is not to be
 * finished, the error was reported: JOB_ABANDONED). */
void writer_close(struct writer *w, struct file_job *j, bool abandon);
/* The oldest job given, once written (WAIT: wait for it); NULL: none (left). */
struct file_job *writer_take(struct writer *w, bool wait);
/* Every job given must have been taken back. */
void writer_stop(struct writer *w);
void file_job_run(struct file_job *j);

int64_t ts_ns(int64_t sec, long nsec);
int64_t now_ns(void);
void hex(const unsigned char *bytes, size_t n, char *out);

#endif
