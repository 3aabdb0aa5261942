/* db.c --- the catalog's database connection: choosing the back end, and
 * the calls every back end shares (see db.h) */
#include "db_private.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool db_is_dsn(const char *target)
{
	/* libpq's keywords a keyword/value string may begin with: a file
	 * name with '=' in it is not taken for one */
	static const char *const keywords[] = {
		"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service", "sslmode", "options",
		"application_name", "connect_timeout", "target_session_attrs",
	};
	size_t n = 0;

	if (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11))
		return true;
	while (isspace((unsigned char)*target))
		target++;
	while (isalnum((unsigned char)target[n]) || target[n] == '_')
		n++;
	if (target[n + strspn(target + n, " \t")] != '=')
		return false;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i]) == n && !strncmp(target, keywords[i], n))
			return true;
	return false;
}

int db_open(const char *target, enum db_mode mode, struct db **db)
{
	const struct db_ops *ops = db_is_dsn(target) ? &db_postgres_ops : &db_sqlite_ops;
	int rc = ops->open(target, mode, db);

	if (*db)
		(*db)->read_only = mode == DB_READ;
	return rc;
}

/* The first failed step of a read-only connection, process-wide. */
static pthread_mutex_t failure_mu = PTHREAD_MUTEX_INITIALIZER;
static char failure[300];

const char *db_read_failure(void)
{
	const char *why;

	pthread_mutex_lock(&failure_mu);
	why = failure[0] ? failure : NULL;
	pthread_mutex_unlock(&failure_mu);
	return why;
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

const char *db_errmsg(struct db *db)
{
	return db ? db->ops->errmsg(db) : "out of memory";
}

const char *db_backend(struct db *db)
{
	return db->ops->name;
}

int db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **st)
{
	*st = NULL;
	return db->ops->prepare(db, sql, st);
}

void db_finalize(struct db_stmt *st)
{
	if (st)
		st->db->ops->finalize(st);
}

int db_reset(struct db_stmt *st)
{
	return st->db->ops->reset(st);
}

int db_clear_bindings(struct db_stmt *st)
{
	return st->db->ops->clear_bindings(st);
}

static int bind(struct db_stmt *st, int i, struct db_value v)
{
	return st->db->ops->bind(st, i, &v);
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return bind(st, i, (struct db_value){ .type = DB_INTEGER, .integer = v });
}

int db_bind_text(struct db_stmt *st, int i, const char *s, int len)
{
	return bind(st, i, (struct db_value){ .type = s ? DB_TEXT : DB_NULL, .bytes = s, .len = len });
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, int len)
{
	return bind(st, i, (struct db_value){ .type = p ? DB_BLOB : DB_NULL, .bytes = p, .len = len });
}

int db_bind_blob_copy(struct db_stmt *st, int i, const void *p, int len)
{
	return bind(st, i, (struct db_value){ .type = p ? DB_BLOB : DB_NULL, .bytes = p, .len = len, .copy = true });
}

int db_bind_null(struct db_stmt *st, int i)
{
	return bind(st, i, (struct db_value){ .type = DB_NULL });
}

int db_step(struct db_stmt *st)
{
	int rc = st->db->ops->step(st);

	if (rc < 0 && st->db->read_only) {
		pthread_mutex_lock(&failure_mu);
		if (!failure[0])
			snprintf(failure, sizeof(failure), "%s", db_errmsg(st->db));
		pthread_mutex_unlock(&failure_mu);
	}
	return rc;
}

enum db_type db_column_type(struct db_stmt *st, int i)
{
	return st->db->ops->column_type(st, i);
}

bool db_column_is_null(struct db_stmt *st, int i)
{
	return st->db->ops->column_type(st, i) == DB_NULL;
}

int64_t db_column_int64(struct db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

const char *db_column_text(struct db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

const void *db_column_blob(struct db_stmt *st, int i)
{
	return st->db->ops->column_blob(st, i);
}

int db_column_bytes(struct db_stmt *st, int i)
{
	return st->db->ops->column_bytes(st, i);
}

int db_has_column(struct db *db, const char *table, const char *column)
{
	return db->ops->has_column(db, table, column);
}

int db_begin(struct db *db, bool write)
{
	return db->ops->begin(db, write);
}

int db_commit(struct db *db)
{
	return db->ops->exec(db, "COMMIT");
}

int db_rollback(struct db *db)
{
	return db->ops->exec(db, "ROLLBACK");
}

bool db_in_transaction(struct db *db)
{
	return db->ops->in_transaction(db);
}
