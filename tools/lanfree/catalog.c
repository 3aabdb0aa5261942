/* catalog.c --- the SQLite catalog: schema, generations, small helpers
 *
 * One row per file version, present in the generations first_seq..last_seq
 * of its guest; the versions the newest generation holds are open
 * (last_seq = SEQ_OPEN), so a new generation costs a row for what changed
 * and an update for what ended, nothing for what stayed.  Every generation
 * is complete (a synthetic full).  Contents are stored
 * once per repository, keyed by SHA-256.
 */
#include "lanfree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_VERSION "1"

/* A disk's shape (shape.c), shared by the generations that have it:
 * JSON, and the boot areas' bytes it points into. */
#define SHAPES_TABLE                                                                     \
	"CREATE TABLE IF NOT EXISTS shapes(id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE," \
	" json TEXT NOT NULL, boot BLOB)"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"BEGIN;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE guests(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	SHAPES_TABLE ";"
	"CREATE TABLE generations("
	" id INTEGER PRIMARY KEY, guest_id INTEGER NOT NULL REFERENCES guests(id),"
	" seq INTEGER NOT NULL, level TEXT NOT NULL CHECK(level IN ('full','incr','diff')),"
	" base_seq INTEGER, started INTEGER NOT NULL, finished INTEGER NOT NULL,"
	" status TEXT NOT NULL CHECK(status IN ('complete','partial')), dirty INTEGER NOT NULL DEFAULT 0,"
	" disk TEXT NOT NULL, files INTEGER NOT NULL, bytes_total INTEGER NOT NULL,"
	" bytes_new INTEGER NOT NULL, bytes_stored INTEGER NOT NULL, excludes TEXT NOT NULL DEFAULT '',"
	" shape_id INTEGER REFERENCES shapes(id), UNIQUE(guest_id, seq));"
	"CREATE TABLE volumes(gen_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, fstype TEXT NOT NULL, uuid TEXT NOT NULL, label TEXT NOT NULL,"
	" skipped TEXT, consistency TEXT NOT NULL DEFAULT '',"
	" journal_transactions INTEGER NOT NULL DEFAULT 0, journal_blocks INTEGER NOT NULL DEFAULT 0,"
	" consistency_note TEXT NOT NULL DEFAULT '', PRIMARY KEY(gen_id, name));"
	"CREATE TABLE archives(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,"
	" compression TEXT NOT NULL, size INTEGER NOT NULL);"
	"CREATE TABLE frames(archive_id INTEGER NOT NULL REFERENCES archives(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, \"offset\" INTEGER NOT NULL, csize INTEGER NOT NULL, usize INTEGER NOT NULL,"
	" sha256 BLOB NOT NULL, PRIMARY KEY(archive_id, idx));"
	"CREATE TABLE contents(id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" archive_id INTEGER NOT NULL REFERENCES archives(id), frame_idx INTEGER NOT NULL,"
	" entry_offset INTEGER NOT NULL);"
	"CREATE INDEX contents_size ON contents(size);"
	"CREATE TABLE versions("
	" id INTEGER PRIMARY KEY, guest_id INTEGER NOT NULL REFERENCES guests(id), volume TEXT NOT NULL,"
	" dir BLOB NOT NULL, name BLOB NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,"
	" mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, size INTEGER NOT NULL,"
	" atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, btime INTEGER NOT NULL,"
	" ino INTEGER NOT NULL, igen INTEGER NOT NULL, nlink INTEGER NOT NULL,"
	" rdev_major INTEGER NOT NULL, rdev_minor INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" symlink BLOB, xattrs BLOB, content_id INTEGER REFERENCES contents(id),"
	" error TEXT, dirsum BLOB);"
	"CREATE INDEX versions_dir ON versions(guest_id, volume, dir, last_seq);"
	"CREATE INDEX versions_last ON versions(guest_id, last_seq);"
	"CREATE INDEX versions_content ON versions(content_id);"
	"INSERT INTO meta VALUES('schema', '" SCHEMA_VERSION "');"
	"INSERT INTO meta VALUES('created_by', 'rawkit-lanfree " RAWKIT_VERSION "');"
	"COMMIT;";

int catalog_exec(struct db *db, const char *sql)
{
	if (db_exec(db, sql) < 0) {
		cli_error("catalog", "%s", db_errmsg(db));
		return -1;
	}
	return 0;
}

struct db_stmt *catalog_prepare(struct db *db, const char *sql)
{
	struct db_stmt *st;

	if (db_prepare(db, sql, &st) < 0) {
		cli_error("catalog", "%s", db_errmsg(db));
		return NULL;
	}
	return st;
}

int catalog_create(struct db *db)
{
	return catalog_exec(db, schema);
}

bool catalog_has_column(struct db *db, const char *table, const char *column)
{
	int rc = db_has_column(db, table, column);

	if (rc < 0)
		cli_error("catalog", "%s", db_errmsg(db));
	return rc > 0;
}

/* Columns added since schema 1 was first written, added to an older
 * catalog when it is opened for writing.  dirsum: a directory's content
 * checksum (a directory without one counts as changed, once).  The
 * volumes' consistency ("" in generations written before: unknown).  A
 * generation's disk shape (NULL in generations written before: none); a
 * table is added as its "id" column is. */
static const struct { const char *table, *column, *sql; } added[] = {
	{ "versions", "dirsum", "ALTER TABLE versions ADD COLUMN dirsum BLOB" },
	{ "volumes", "consistency", "ALTER TABLE volumes ADD COLUMN consistency TEXT NOT NULL DEFAULT ''" },
	{ "volumes", "journal_transactions",
	  "ALTER TABLE volumes ADD COLUMN journal_transactions INTEGER NOT NULL DEFAULT 0" },
	{ "volumes", "journal_blocks", "ALTER TABLE volumes ADD COLUMN journal_blocks INTEGER NOT NULL DEFAULT 0" },
	{ "volumes", "consistency_note", "ALTER TABLE volumes ADD COLUMN consistency_note TEXT NOT NULL DEFAULT ''" },
	{ "shapes", "id", SHAPES_TABLE },
	{ "generations", "shape_id", "ALTER TABLE generations ADD COLUMN shape_id INTEGER REFERENCES shapes(id)" },
};

int catalog_upgrade(struct db *db)
{
	/* IMMEDIATE: two backups opening the same old catalog add them once */
	if (catalog_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		if (!catalog_has_column(db, added[i].table, added[i].column) && catalog_exec(db, added[i].sql) < 0) {
			db_rollback(db);
			return -1;
		}
	return catalog_exec(db, "COMMIT");
}

int catalog_check_schema(struct db *db, const char *repo)
{
	struct db_stmt *st = catalog_prepare(db, "SELECT value FROM meta WHERE key = 'schema'");
	int rc = -1;

	if (!st)
		return -1;
	if (db_step(st) == DB_ROW && !strcmp(db_column_text(st, 0), SCHEMA_VERSION))
		rc = 0;
	else
		cli_error(repo, "catalog schema is not version %s", SCHEMA_VERSION);
	db_finalize(st);
	return rc;
}

int64_t catalog_guest_id(struct db *db, const char *guest)
{
	struct db_stmt *st = catalog_prepare(db, "SELECT id FROM guests WHERE name = ?");
	int64_t id = 0;

	if (!st)
		return -1;
	db_bind_text(st, 1, guest, -1);
	if (db_step(st) == DB_ROW)
		id = db_column_int64(st, 0);
	db_finalize(st);
	return id;
}

#define GEN_COLUMNS                                                                                  \
	"id, guest_id, seq, COALESCE(base_seq, 0), level, status, started, finished, files, bytes_total, " \
	"bytes_new, bytes_stored, dirty"

static void gen_from_row(struct db_stmt *st, struct generation *g)
{
	memset(g, 0, sizeof(*g));
	g->id = db_column_int64(st, 0);
	g->guest_id = db_column_int64(st, 1);
	g->seq = db_column_int64(st, 2);
	g->base_seq = db_column_int64(st, 3);
	snprintf(g->level, sizeof(g->level), "%s", db_column_text(st, 4));
	snprintf(g->status, sizeof(g->status), "%s", db_column_text(st, 5));
	g->started = db_column_int64(st, 6);
	g->finished = db_column_int64(st, 7);
	g->files = db_column_int64(st, 8);
	g->bytes_total = db_column_int64(st, 9);
	g->bytes_new = db_column_int64(st, 10);
	g->bytes_stored = db_column_int64(st, 11);
	g->dirty = db_column_int64(st, 12);
}

int catalog_newest(struct db *db, int64_t guest_id, const char *level, struct generation *g)
{
	struct db_stmt *st = catalog_prepare(db, level ? "SELECT " GEN_COLUMNS " FROM generations WHERE guest_id = ? "
						  "AND level = ? ORDER BY seq DESC LIMIT 1"
						: "SELECT " GEN_COLUMNS " FROM generations WHERE guest_id = ? "
						  "ORDER BY seq DESC LIMIT 1");
	int rc = 1;

	if (!st)
		return -1;
	db_bind_int64(st, 1, guest_id);
	if (level)
		db_bind_text(st, 2, level, -1);
	if (db_step(st) == DB_ROW) {
		gen_from_row(st, g);
		rc = 0;
	}
	db_finalize(st);
	return rc;
}

int catalog_find_generation(struct db *db, const char *spec, char **guest, struct generation *g)
{
	const char *at = strrchr(spec, '@');
	char *name = at ? strndup(spec, (size_t)(at - spec)) : strdup(spec);
	const char *gen = at ? at + 1 : "latest";
	struct db_stmt *st = NULL;
	int64_t guest_id, seq = 0;
	char *end;
	int rc = -1;

	*guest = name;
	if (!name)
		return -1;
	if (strcmp(gen, "latest") != 0) {
		seq = strtoll(gen, &end, 10);
		if (*gen == '\0' || *end || seq <= 0) {
			cli_error(spec, "generation must be a number or \"latest\"");
			return -1;
		}
	}
	guest_id = catalog_guest_id(db, name);
	if (guest_id <= 0) {
		if (guest_id == 0)
			cli_error(name, "no such guest in the repository");
		return -1;
	}
	if (seq == 0)
		st = catalog_prepare(db, "SELECT " GEN_COLUMNS " FROM generations WHERE guest_id = ? ORDER BY seq DESC LIMIT 1");
	else
		st = catalog_prepare(db, "SELECT " GEN_COLUMNS " FROM generations WHERE guest_id = ? AND seq = ?");
	if (!st)
		return -1;
	db_bind_int64(st, 1, guest_id);
	if (seq)
		db_bind_int64(st, 2, seq);
	if (db_step(st) == DB_ROW) {
		gen_from_row(st, g);
		rc = 0;
	} else {
		cli_error(spec, seq ? "no such generation" : "the guest has no generations");
	}
	db_finalize(st);
	return rc;
}

/* ---- small shared helpers ---- */

int blob_append(struct blob *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *grown;
		while (cap < b->len + len)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown)
			return -1;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int xattr_blob_add(struct blob *b, const char *name, const void *value, size_t size)
{
	size_t n = strlen(name);
	unsigned char h2[2] = { (unsigned char)(n & 0xff), (unsigned char)(n >> 8) };
	unsigned char h4[4] = { (unsigned char)size, (unsigned char)(size >> 8), (unsigned char)(size >> 16),
				(unsigned char)(size >> 24) };

	if (n > 0xffff || size > 0xffffffffu)
		return -1;
	if (blob_append(b, h2, 2) || blob_append(b, name, n) || blob_append(b, h4, 4) || blob_append(b, value, size))
		return -1;
	return 0;
}

int xattr_blob_each(const void *data, size_t len, xattr_blob_fn cb, void *arg)
{
	const unsigned char *p = data, *end = p + len;

	while (p < end) {
		size_t n, v;
		if (end - p < 2)
			return -1;
		n = p[0] | (size_t)p[1] << 8;
		p += 2;
		if ((size_t)(end - p) < n + 4)
			return -1;
		const char *name = (const char *)p;
		p += n;
		v = p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
		p += 4;
		if ((size_t)(end - p) < v)
			return -1;
		if (cb(name, n, p, v, arg))
			return 1;
		p += v;
	}
	return 0;
}

bool path_component_ok(const char *c, size_t n)
{
	return n > 0 && n <= 255 && !memchr(c, '/', n) && !memchr(c, '\0', n) && !(n == 1 && c[0] == '.') &&
	       !(n == 2 && c[0] == '.' && c[1] == '.');
}

struct timespec ns_timespec(int64_t ns)
{
	/* tv_nsec is never negative; C's division truncates towards zero */
	struct timespec t = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	if (t.tv_nsec < 0) {
		t.tv_nsec += 1000000000;
		t.tv_sec--;
	}
	return t;
}

char *version_path(const char *volume, const void *dir, size_t dir_len, const void *name, size_t name_len)
{
	size_t vl = strlen(volume), n = vl + 1 + dir_len + 1 + name_len + 1, at = vl;
	char *p = malloc(n);

	if (!p)
		return NULL;
	memcpy(p, volume, vl);
	if (dir_len) {
		p[at++] = '/';
		memcpy(p + at, dir, dir_len);
		at += dir_len;
	}
	if (name_len) {
		p[at++] = '/';
		memcpy(p + at, name, name_len);
		at += name_len;
	}
	p[at] = '\0';
	return p;
}

int64_t ts_ns(int64_t sec, long nsec)
{
	return sec * 1000000000LL + nsec;
}

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts.tv_sec, ts.tv_nsec);
}

void hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
