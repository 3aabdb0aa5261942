/* db_sqlite.c --- the catalog's database connection: the SQLite back end
 *
 * Each operation is the SQLite call of the same name.
 */
#include "db_private.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

struct lite_db {
	struct db base;
	sqlite3 *lite;
};

struct lite_stmt {
	struct db_stmt base;
	sqlite3_stmt *lite;
};

static sqlite3 *lite(struct db *db)
{
	return ((struct lite_db *)db)->lite;
}

static sqlite3_stmt *lite_st(struct db_stmt *st)
{
	return ((struct lite_stmt *)st)->lite;
}

/* SQLite's result code as an errno-style one */
static int lite_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	default:
		return -EIO;
	}
}

static int lite_open(const char *target, enum db_mode mode, struct db **out)
{
	static const int flags[] = {
		[DB_READ] = SQLITE_OPEN_READONLY,
		[DB_WRITE] = SQLITE_OPEN_READWRITE,
		[DB_CREATE] = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	};
	struct lite_db *db = calloc(1, sizeof(*db));
	int rc;

	*out = db ? &db->base : NULL;
	if (!db)
		return -ENOMEM;
	db->base.ops = &db_sqlite_ops;
	rc = sqlite3_open_v2(target, &db->lite, flags[mode], NULL);
	if (rc != SQLITE_OK)
		return db->lite ? lite_error(rc) : -ENOMEM;
	sqlite3_busy_timeout(db->lite, 60000);
	return 0;
}

static void lite_close(struct db *db)
{
	sqlite3_close(lite(db));
	free(db);
}

static const char *lite_errmsg(struct db *db)
{
	return lite(db) ? sqlite3_errmsg(lite(db)) : "out of memory";
}

static int lite_exec(struct db *db, const char *sql)
{
	return lite_error(sqlite3_exec(lite(db), sql, NULL, NULL, NULL));
}

static int lite_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct lite_stmt *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->base.db = db;
	rc = sqlite3_prepare_v2(lite(db), sql, -1, &st->lite, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st->lite);
		free(st);
		return lite_error(rc);
	}
	*out = &st->base;
	return 0;
}

static void lite_finalize(struct db_stmt *st)
{
	sqlite3_finalize(lite_st(st));
	free(st);
}

static int lite_reset(struct db_stmt *st)
{
	return lite_error(sqlite3_reset(lite_st(st)));
}

static int lite_clear_bindings(struct db_stmt *st)
{
	return lite_error(sqlite3_clear_bindings(lite_st(st)));
}

static int lite_bind(struct db_stmt *st, int i, const struct db_value *v)
{
	sqlite3_stmt *s = lite_st(st);
	sqlite3_destructor_type keep = v->copy ? SQLITE_TRANSIENT : SQLITE_STATIC;

	switch (v->type) {
	case DB_INTEGER:
		return lite_error(sqlite3_bind_int64(s, i, v->integer));
	case DB_TEXT:
		return lite_error(sqlite3_bind_text(s, i, v->bytes, v->len, keep));
	case DB_BLOB:
		return lite_error(sqlite3_bind_blob(s, i, v->bytes, v->len, keep));
	default:
		return lite_error(sqlite3_bind_null(s, i));
	}
}

static int lite_step(struct db_stmt *st)
{
	int rc = sqlite3_step(lite_st(st));

	return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : lite_error(rc);
}

static enum db_type lite_column_type(struct db_stmt *st, int i)
{
	switch (sqlite3_column_type(lite_st(st), i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

static int64_t lite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(lite_st(st), i);
}

static const char *lite_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(lite_st(st), i);
}

static const void *lite_column_blob(struct db_stmt *st, int i)
{
	return sqlite3_column_blob(lite_st(st), i);
}

static int lite_column_bytes(struct db_stmt *st, int i)
{
	return sqlite3_column_bytes(lite_st(st), i);
}

static int lite_has_column(struct db *db, const char *table, const char *column)
{
	struct db_stmt *st;
	int rc = lite_prepare(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", &st);

	if (rc < 0)
		return rc;
	sqlite3_bind_text(lite_st(st), 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(lite_st(st), 2, column, -1, SQLITE_STATIC);
	rc = lite_step(st);
	lite_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : rc;
}

static int lite_begin(struct db *db, bool write)
{
	return lite_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static bool lite_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(lite(db));
}

const struct db_ops db_sqlite_ops = {
	.name = "sqlite",
	.open = lite_open,
	.close = lite_close,
	.errmsg = lite_errmsg,
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.reset = lite_reset,
	.clear_bindings = lite_clear_bindings,
	.bind = lite_bind,
	.step = lite_step,
	.column_type = lite_column_type,
	.column_int64 = lite_column_int64,
	.column_text = lite_column_text,
	.column_blob = lite_column_blob,
	.column_bytes = lite_column_bytes,
	.has_column = lite_has_column,
	.begin = lite_begin,
	.in_transaction = lite_in_transaction,
};
