/* db.c --- the catalog's database connection: the SQLite back end
 *
 * Each call is the SQLite call of the same name; a statement is a small
 * handle around SQLite's so that another back end can hold its own state
 * there.
 */
#include "db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

struct db {
	sqlite3 *lite;
};

struct db_stmt {
	struct db *db;
	sqlite3_stmt *lite;
};

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

int db_open(const char *target, enum db_mode mode, struct db **out)
{
	static const int flags[] = {
		[DB_READ] = SQLITE_OPEN_READONLY,
		[DB_WRITE] = SQLITE_OPEN_READWRITE,
		[DB_CREATE] = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	};
	struct db *db = calloc(1, sizeof(*db));
	int rc;

	*out = db;
	if (!db)
		return -ENOMEM;
	rc = sqlite3_open_v2(target, &db->lite, flags[mode], NULL);
	if (rc != SQLITE_OK)
		return db->lite ? lite_error(rc) : -ENOMEM;
	sqlite3_busy_timeout(db->lite, 60000);
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	sqlite3_close(db->lite);
	free(db);
}

const char *db_errmsg(struct db *db)
{
	if (!db || !db->lite)
		return "out of memory";
	return sqlite3_errmsg(db->lite);
}

int db_exec(struct db *db, const char *sql)
{
	return lite_error(sqlite3_exec(db->lite, sql, NULL, NULL, NULL));
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->db = db;
	rc = sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st->lite);
		free(st);
		return lite_error(rc);
	}
	*out = st;
	return 0;
}

void db_finalize(struct db_stmt *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->lite);
	free(st);
}

int db_reset(struct db_stmt *st)
{
	return lite_error(sqlite3_reset(st->lite));
}

int db_clear_bindings(struct db_stmt *st)
{
	return lite_error(sqlite3_clear_bindings(st->lite));
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return lite_error(sqlite3_bind_int64(st->lite, i, v));
}

int db_bind_text(struct db_stmt *st, int i, const char *s, int len)
{
	return lite_error(sqlite3_bind_text(st->lite, i, s, len, SQLITE_STATIC));
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, int len)
{
	return lite_error(sqlite3_bind_blob(st->lite, i, p, len, SQLITE_STATIC));
}

int db_bind_blob_copy(struct db_stmt *st, int i, const void *p, int len)
{
	return lite_error(sqlite3_bind_blob(st->lite, i, p, len, SQLITE_TRANSIENT));
}

int db_bind_null(struct db_stmt *st, int i)
{
	return lite_error(sqlite3_bind_null(st->lite, i));
}

int db_step(struct db_stmt *st)
{
	int rc = sqlite3_step(st->lite);

	return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : lite_error(rc);
}

enum db_type db_column_type(struct db_stmt *st, int i)
{
	switch (sqlite3_column_type(st->lite, i)) {
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

bool db_column_is_null(struct db_stmt *st, int i)
{
	return sqlite3_column_type(st->lite, i) == SQLITE_NULL;
}

int64_t db_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(st->lite, i);
}

const char *db_column_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st->lite, i);
}

const void *db_column_blob(struct db_stmt *st, int i)
{
	return sqlite3_column_blob(st->lite, i);
}

int db_column_bytes(struct db_stmt *st, int i)
{
	return sqlite3_column_bytes(st->lite, i);
}

int db_has_column(struct db *db, const char *table, const char *column)
{
	struct db_stmt *st;
	int rc = db_prepare(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", &st);

	if (rc < 0)
		return rc;
	db_bind_text(st, 1, table, -1);
	db_bind_text(st, 2, column, -1);
	rc = db_step(st);
	db_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : rc;
}

int db_begin(struct db *db, bool write)
{
	return db_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

int db_rollback(struct db *db)
{
	return db_exec(db, "ROLLBACK");
}

bool db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->lite);
}
