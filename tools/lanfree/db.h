/* db.h --- the catalog's database connection, whatever holds it
 *
 * A small layer over the SQL database the catalog lives in: the calls
 * mirror SQLite's (prepare, bind, step, column, reset, finalize), so the
 * code reads as it did, and the back end is chosen when the connection is
 * opened: SQLite (db_sqlite.c) for a file, PostgreSQL (db_postgres.c) for
 * a connection string.
 *
 * Errors: a function returning int returns 0 (or DB_ROW/DB_DONE from
 * db_step) on success and a negative errno-style code on failure
 * (-ENOMEM, -EBUSY for a lock held too long, -EIO for anything else); the
 * message is db_errmsg()'s.  Nothing here prints.
 *
 * SQL is written once, for SQLite, in the part of it PostgreSQL shares:
 * "?" or "?N" placeholders, INSERT ... ON CONFLICT DO NOTHING, RETURNING
 * id, COALESCE; the PostgreSQL back end translates the rest (types, the
 * stage's schema name, PRAGMA: see db_postgres.c).
 */
#ifndef RAWKIT_LANFREE_DB_H
#define RAWKIT_LANFREE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_stmt;

enum db_mode {
	DB_READ,   /* read only */
	DB_WRITE,  /* read and write an existing database */
	DB_CREATE, /* read and write, created if missing */
};

/* db_step()'s results besides errors */
enum { DB_ROW = 1, DB_DONE = 2 };

/* a column's type in the current row (db_column_type) */
enum db_type { DB_NULL, DB_INTEGER, DB_FLOAT, DB_TEXT, DB_BLOB };

/* TARGET names a PostgreSQL database: a postgresql:// or postgres:// URI,
 * or libpq's keyword=value form (host=... dbname=...). */
bool db_is_dsn(const char *target);

/* Open the database TARGET: a PostgreSQL one (db_is_dsn) or an SQLite
 * file.  *DB is set whenever
 * memory allows, on failure too, so that db_errmsg() can say why; the
 * caller db_close()s it either way.  A lock another connection holds is
 * waited for up to a minute. */
int db_open(const char *target, enum db_mode mode, struct db **db);
/* Close DB and free it (NULL is fine); statements must be finalized. */
void db_close(struct db *db);
/* The message of DB's last error ("out of memory" for a NULL DB). */
const char *db_errmsg(struct db *db);
/* "sqlite" or "postgresql" */
const char *db_backend(struct db *db);

/* Run SQL, one or more statements separated by ';', rows ignored. */
int db_exec(struct db *db, const char *sql);
/* Compile one statement into *ST (NULL on failure); db_finalize() frees. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **st);
/* Free ST (NULL is fine). */
void db_finalize(struct db_stmt *st);
/* Back to before the first db_step(); the bindings stay. */
int db_reset(struct db_stmt *st);
/* Every parameter back to NULL. */
int db_clear_bindings(struct db_stmt *st);

/* Parameters are numbered from 1.  A text or blob is not copied: it must
 * stay as it is until the statement is reset, rebound or finalized
 * (db_bind_blob_copy copies).  LEN -1: the text up to its NUL.  A NULL
 * blob pointer binds NULL; an empty blob needs a non-NULL pointer. */
int db_bind_int64(struct db_stmt *st, int i, int64_t v);
int db_bind_text(struct db_stmt *st, int i, const char *s, int len);
int db_bind_blob(struct db_stmt *st, int i, const void *p, int len);
int db_bind_blob_copy(struct db_stmt *st, int i, const void *p, int len);
int db_bind_null(struct db_stmt *st, int i);

/* The next row: DB_ROW (read it with db_column_*), DB_DONE, or < 0. */
int db_step(struct db_stmt *st);
/* The message of the first step that failed on a connection opened
 * DB_READ, in this process; NULL when none did.  A reader's loops end at
 * a failed step: the command asks this before it says it is done. */
const char *db_read_failure(void);

/* Columns of the current row, numbered from 0.  Text and blob pointers
 * are valid until the next step, reset or finalize; a NULL column is 0,
 * NULL and 0 bytes. */
enum db_type db_column_type(struct db_stmt *st, int i);
bool db_column_is_null(struct db_stmt *st, int i);
int64_t db_column_int64(struct db_stmt *st, int i);
const char *db_column_text(struct db_stmt *st, int i);
const void *db_column_blob(struct db_stmt *st, int i);
int db_column_bytes(struct db_stmt *st, int i);

/* 1 if TABLE has COLUMN, 0 if not (or there is no TABLE), or < 0. */
int db_has_column(struct db *db, const char *table, const char *column);

/* Transactions.  db_begin(db, true) takes the right to write at once (two
 * writers then wait for each other instead of one failing at commit). */
int db_begin(struct db *db, bool write);
int db_commit(struct db *db);
int db_rollback(struct db *db);
bool db_in_transaction(struct db *db);

#endif
