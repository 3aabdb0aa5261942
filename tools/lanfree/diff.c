/* diff.c --- rawkit-lanfree diff: what changed in a guest between two generations
 *
 * A version row holds the generations first_seq..last_seq, so a file that
 * did not change between generations A and B is one row holding both, and
 * is never read.  Only two sets are: the rows holding the older generation
 * but not the newer, and the rows holding the newer but not the older,
 * each sorted by path in SQL; the two are merged here by path, one row of
 * each at a time.  A path in one set only was removed or added; in both it
 * was recorded anew, which is a change, or nothing (a full backup records
 * every file anew, a ctime-only change too).  Nothing is held in memory
 * beyond the two current rows: a million files cost a scan and two sorts.
 */
#include "cliopt.h"
#include "lanfree.h"

#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The inode flags a change counts in: chattr(1)'s, the ones restore sets;
 * the rest (extents, an htree index, inline data) the filesystem changes
 * as it likes. */
#define USER_FLAGS                                                                                             \
	(FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
	 FS_NOATIME_FL | FS_DIRSYNC_FL | FS_NOCOW_FL | FS_PROJINHERIT_FL)

/* The columns compared; the path as version_path() makes it, as a blob, so
 * that SQL sorts it as memcmp() does. */
enum { C_PATH, C_MODE, C_UID, C_GID, C_SIZE, C_MTIME, C_FLAGS, C_RDEV_MAJOR, C_RDEV_MINOR, C_SYMLINK, C_XATTRS,
       C_CONTENT, C_ERROR };
/* "/COLUMN" as bytes, or none when COLUMN is empty (a blob on every back
 * end: SQLite's || makes text of blobs, PostgreSQL's joins bytea) */
#define SLASH_PART(column) \
	"CASE WHEN length(" column ") > 0 THEN CAST('/' AS BLOB) || " column " ELSE CAST('' AS BLOB) END"
#define DIFF_SELECT                                                                                    \
	"SELECT CAST(CAST(volume AS BLOB) || " SLASH_PART("dir") " || " SLASH_PART("name") " AS BLOB) AS path," \
	" mode, uid, gid, size, mtime, flags, rdev_major, rdev_minor, symlink, xattrs, content_id, error FROM versions"
/* ?2 the older generation, ?3 the newer (SEQ_OPEN rows are in every later one) */
static const char older_only_sql[] =
	DIFF_SELECT " WHERE guest_id = ?1 AND last_seq >= ?2 AND last_seq < ?3 AND first_seq <= ?2 ORDER BY path";
static const char newer_only_sql[] =
	DIFF_SELECT " WHERE guest_id = ?1 AND last_seq >= ?3 AND first_seq > ?2 AND first_seq <= ?3 ORDER BY path";

enum change { CHANGE_NONE, CHANGE_ADDED, CHANGE_REMOVED, CHANGE_CONTENT, CHANGE_METADATA, CHANGE_TYPE };
static const struct {
	char mark;
	const char *word;
} change_names[] = {
	[CHANGE_ADDED] = { '+', "added" },        [CHANGE_REMOVED] = { '-', "removed" },
	[CHANGE_CONTENT] = { 'M', "content" },    [CHANGE_METADATA] = { 'm', "metadata" },
	[CHANGE_TYPE] = { 'T', "type" },
};

/* Metadata a change of which is a change (atime, ctime, btime, the link
 * count and the inode number are not: see the man page). */
static const struct {
	int column;
	const char *name;
} metadata[] = {
	{ C_MODE, "mode" },   { C_UID, "uid" },         { C_GID, "gid" },         { C_MTIME, "mtime" },
	{ C_FLAGS, "flags" }, { C_RDEV_MAJOR, "rdev" }, { C_SYMLINK, "target" }, { C_XATTRS, "xattrs" },
};

struct diff {
	struct db_stmt *from, *to; /* rows only in A, only in B */
	struct json_stream *js;
	int64_t count[CHANGE_TYPE + 1];
	uint64_t added_bytes, removed_bytes;
};

/* Column COL of A's and B's rows are equal: type and value. */
static bool same_value(struct db_stmt *a, struct db_stmt *b, int col)
{
	enum db_type type = db_column_type(a, col);
	const void *x, *y;
	int n;

	if (type != db_column_type(b, col))
		return false;
	if (type == DB_NULL)
		return true;
	if (type == DB_INTEGER)
		return db_column_int64(a, col) == db_column_int64(b, col);
	x = db_column_blob(a, col);
	n = db_column_bytes(a, col);
	y = db_column_blob(b, col);
	return n == db_column_bytes(b, col) && (n == 0 || memcmp(x, y, (size_t)n) == 0);
}

static bool same_metadata(struct db_stmt *a, struct db_stmt *b, int col)
{
	uint32_t mode = (uint32_t)db_column_int64(a, C_MODE);

	if (col == C_FLAGS)
		return ((db_column_int64(a, col) ^ db_column_int64(b, col)) & USER_FLAGS) == 0;
	/* a directory's mtime follows its entries, which are listed themselves */
	if (col == C_MTIME && S_ISDIR(mode))
		return true;
	if (col == C_RDEV_MAJOR)
		return same_value(a, b, C_RDEV_MAJOR) && same_value(a, b, C_RDEV_MINOR);
	return same_value(a, b, col);
}

/* What changed from A's row to B's, for the same path. */
static enum change classify(struct db_stmt *a, struct db_stmt *b)
{
	uint32_t mode_a = (uint32_t)db_column_int64(a, C_MODE), mode_b = (uint32_t)db_column_int64(b, C_MODE);

	if ((mode_a & S_IFMT) != (mode_b & S_IFMT))
		return CHANGE_TYPE;
	if (!same_value(a, b, C_CONTENT) || !same_value(a, b, C_ERROR) ||
	    (S_ISREG(mode_a) && !same_value(a, b, C_SIZE)))
		return CHANGE_CONTENT;
	for (size_t i = 0; i < sizeof(metadata) / sizeof(metadata[0]); i++)
		if (!same_metadata(a, b, metadata[i].column))
			return CHANGE_METADATA;
	return CHANGE_NONE;
}

static uint64_t file_bytes(struct db_stmt *st)
{
	int64_t size = db_column_int64(st, C_SIZE);

	return S_ISREG((uint32_t)db_column_int64(st, C_MODE)) && size > 0 ? (uint64_t)size : 0;
}

static json_t *change_json(enum change what, struct db_stmt *a, struct db_stmt *b)
{
	struct db_stmt *either = a ? a : b;
	json_t *o = json_object(), *fields = json_array();
	char mode[11];

	json_put(o, "path", json_text_n(db_column_blob(either, C_PATH), (size_t)db_column_bytes(either, C_PATH)));
	json_put(o, "change", json_string(change_names[what].word));
	if (a && b)
		for (size_t i = 0; i < sizeof(metadata) / sizeof(metadata[0]); i++)
			if (!same_metadata(a, b, metadata[i].column))
				json_array_append_new(fields, json_string(metadata[i].name));
	json_put(o, "fields", fields);
	if (a)
		mode_string((uint32_t)db_column_int64(a, C_MODE), mode);
	json_put(o, "old_mode", a ? json_string(mode) : json_null());
	if (b)
		mode_string((uint32_t)db_column_int64(b, C_MODE), mode);
	json_put(o, "new_mode", b ? json_string(mode) : json_null());
	json_put(o, "old_size_bytes", json_integer(a ? db_column_int64(a, C_SIZE) : 0));
	json_put(o, "new_size_bytes", json_integer(b ? db_column_int64(b, C_SIZE) : 0));
	return o;
}

/* A path that changed: A's row (NULL: added), B's row (NULL: removed). */
static void report(struct diff *d, enum change what, struct db_stmt *a, struct db_stmt *b)
{
	struct db_stmt *either = a ? a : b;

	d->count[what]++;
	if (what != CHANGE_METADATA) {
		d->removed_bytes += a ? file_bytes(a) : 0;
		d->added_bytes += b ? file_bytes(b) : 0;
	}
	if (d->js) {
		json_stream_item(d->js, change_json(what, a, b));
		return;
	}
	printf("%c    ", change_names[what].mark);
	print_name(db_column_blob(either, C_PATH), (size_t)db_column_bytes(either, C_PATH));
	putchar('\n');
}

static int path_cmp(struct db_stmt *a, struct db_stmt *b)
{
	const void *x = db_column_blob(a, C_PATH), *y = db_column_blob(b, C_PATH);
	size_t n = (size_t)db_column_bytes(a, C_PATH), m = (size_t)db_column_bytes(b, C_PATH);
	int c = n && m ? memcmp(x, y, n < m ? n : m) : 0;

	return c ? c : n < m ? -1 : n > m;
}

/* Merge the two sorted sets; 0, or -1 (message printed) on a catalog error. */
static int merge(struct diff *d, struct db *db)
{
	int ra = db_step(d->from), rb = db_step(d->to);

	while (ra == DB_ROW || rb == DB_ROW) {
		int c = ra != DB_ROW ? 1 : rb != DB_ROW ? -1 : path_cmp(d->from, d->to);
		if (c < 0) {
			report(d, CHANGE_REMOVED, d->from, NULL);
		} else if (c > 0) {
			report(d, CHANGE_ADDED, NULL, d->to);
		} else {
			enum change what = classify(d->from, d->to);
			if (what != CHANGE_NONE)
				report(d, what, d->from, d->to);
		}
		if (c <= 0)
			ra = db_step(d->from);
		if (c >= 0)
			rb = db_step(d->to);
	}
	if (ra != DB_DONE || rb != DB_DONE) {
		cli_error("catalog", "cannot read the versions: %s", db_errmsg(db));
		return -1;
	}
	return 0;
}

/* The generations to compare, A and B, of GUEST (GUEST@GEN resolved as
 * everywhere; a generation not named: the newest complete ones); 0, or an
 * exit status after a message. */
static int pick(struct db *db, const char *spec_a, const char *spec_b, char **guest, int64_t *guest_id, int64_t *a,
		int64_t *b)
{
	struct generation g;
	struct db_stmt *st;
	int64_t newest[2];
	int n = 0;

	if (spec_b || strchr(spec_a, '@')) {
		if (catalog_find_generation(db, spec_a, guest, &g) < 0)
			return RAWKIT_EXIT_FAILED;
		*a = g.seq;
		*guest_id = g.guest_id;
	} else {
		*guest = strdup(spec_a);
		*guest_id = catalog_guest_id(db, spec_a);
		if (!*guest || *guest_id <= 0) {
			if (*guest_id == 0)
				cli_error(spec_a, "no such guest in the repository");
			return RAWKIT_EXIT_FAILED;
		}
	}
	if (spec_b) {
		char *other = NULL;
		int rc = catalog_find_generation(db, spec_b, &other, &g);
		free(other);
		if (rc < 0)
			return RAWKIT_EXIT_FAILED;
		*b = g.seq;
		return 0;
	}
	st = catalog_prepare(db, "SELECT seq FROM generations WHERE guest_id = ? AND status = 'complete'"
			    " ORDER BY seq DESC LIMIT 2");
	if (!st)
		return RAWKIT_EXIT_FAILED;
	db_bind_int64(st, 1, *guest_id);
	while (n < 2 && db_step(st) == DB_ROW)
		newest[n++] = db_column_int64(st, 0);
	db_finalize(st);
	if (strchr(spec_a, '@')) { /* A against the newest */
		if (n == 0) {
			cli_error(*guest, "no complete generation to compare %s with", spec_a);
			return RAWKIT_EXIT_FAILED;
		}
		*b = newest[0];
	} else if (n < 2) {
		cli_error(*guest, n ? "only one complete generation: nothing to compare it with"
				    : "no complete generation: nothing to compare");
		return RAWKIT_EXIT_FAILED;
	} else {
		*a = newest[1];
		*b = newest[0];
	}
	return 0;
}

static void print_summary(const struct diff *d, const char *guest, int64_t a, int64_t b)
{
	char added[16], removed[16];

	printf("%s@%lld -> %s@%lld: %lld added, %lld removed, %lld content, %lld metadata, %lld type changed;"
	       " %s added, %s removed\n",
	       guest, (long long)a, guest, (long long)b, (long long)d->count[CHANGE_ADDED],
	       (long long)d->count[CHANGE_REMOVED], (long long)d->count[CHANGE_CONTENT],
	       (long long)d->count[CHANGE_METADATA], (long long)d->count[CHANGE_TYPE],
	       cli_human(d->added_bytes, added, sizeof(added)), cli_human(d->removed_bytes, removed, sizeof(removed)));
}

static json_t *counts_json(const struct diff *d)
{
	json_t *o = json_object();

	json_put(o, "added", json_integer(d->count[CHANGE_ADDED]));
	json_put(o, "removed", json_integer(d->count[CHANGE_REMOVED]));
	json_put(o, "content_changed", json_integer(d->count[CHANGE_CONTENT]));
	json_put(o, "metadata_changed", json_integer(d->count[CHANGE_METADATA]));
	json_put(o, "type_changed", json_integer(d->count[CHANGE_TYPE]));
	json_put(o, "added_bytes", json_count(d->added_bytes));
	json_put(o, "removed_bytes", json_count(d->removed_bytes));
	return o;
}

int cmd_diff(const char *path, const char *spec_a, const char *spec_b, bool json, bool quiet)
{
	struct repo r;
	struct diff d = { 0 };
	char *guest = NULL;
	int64_t a = 0, b = 0, guest_id = 0;
	int status;

	if ((status = repo_open(&r, path, REPO_READ)) != 0)
		return status;
	status = pick(r.db, spec_a, spec_b, &guest, &guest_id, &a, &b);
	if (status)
		goto out;
	status = RAWKIT_EXIT_FAILED;
	/* the rows only the older one holds are A's when A is the older */
	d.from = catalog_prepare(r.db, a <= b ? older_only_sql : newer_only_sql);
	d.to = catalog_prepare(r.db, a <= b ? newer_only_sql : older_only_sql);
	if (!d.from || !d.to)
		goto out;
	for (int i = 0; i < 2; i++) {
		struct db_stmt *st = i ? d.to : d.from;
		db_bind_int64(st, 1, guest_id);
		db_bind_int64(st, 2, a < b ? a : b);
		db_bind_int64(st, 3, a < b ? b : a);
	}
	if (json) {
		json_t *head = json_object();
		json_put(head, "guest", json_text(guest));
		json_put(head, "from_generation", json_integer(a));
		json_put(head, "to_generation", json_integer(b));
		d.js = json_stream_begin(head, "changes");
	}
	if (merge(&d, r.db) == 0)
		status = RAWKIT_EXIT_DONE;
	if (d.js)
		status = json_stream_end(d.js, counts_json(&d), status);
	else if (status == RAWKIT_EXIT_DONE && !quiet)
		print_summary(&d, guest, a, b);
out:
	db_finalize(d.from);
	db_finalize(d.to);
	free(guest);
	repo_close(&r);
	return status;
}
