/* db_private.h --- what db.c shares with its back ends (db_sqlite.c, db_postgres.c)
 *
 * A back end is a table of operations; its connection and statement
 * handles begin with struct db and struct db_stmt, which db.c reads.
 */
#ifndef RAWKIT_LANFREE_DB_PRIVATE_H
#define RAWKIT_LANFREE_DB_PRIVATE_H

#include "db.h"

/* a parameter as db.c hands it to a back end */
struct db_value {
	enum db_type type; /* DB_NULL, DB_INTEGER, DB_TEXT or DB_BLOB */
	int64_t integer;
	const void *bytes; /* DB_TEXT: LEN -1 for up to the NUL */
	int len;
	bool copy; /* the bytes may change before the step */
};

struct db_ops {
	const char *name;
	/* *DB allocated by the back end (NULL: out of memory) */
	int (*open)(const char *target, enum db_mode mode, struct db **db);
	void (*close)(struct db *db);
	const char *(*errmsg)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **st);
	void (*finalize)(struct db_stmt *st);
	int (*reset)(struct db_stmt *st);
	int (*clear_bindings)(struct db_stmt *st);
	int (*bind)(struct db_stmt *st, int i, const struct db_value *v);
	int (*step)(struct db_stmt *st);
	enum db_type (*column_type)(struct db_stmt *st, int i);
	int64_t (*column_int64)(struct db_stmt *st, int i);
	const char *(*column_text)(struct db_stmt *st, int i);
	const void *(*column_blob)(struct db_stmt *st, int i);
	int (*column_bytes)(struct db_stmt *st, int i);
	int (*has_column)(struct db *db, const char *table, const char *column);
	int (*begin)(struct db *db, bool write);
	bool (*in_transaction)(struct db *db);
};

struct db {
	const struct db_ops *ops;
	bool read_only; /* opened DB_READ (db.c) */
};

struct db_stmt {
	struct db *db;
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_postgres_ops;

#endif
