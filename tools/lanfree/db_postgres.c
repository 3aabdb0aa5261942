/* db_postgres.c --- the catalog's database connection: the PostgreSQL back end
 *
 * libpq, loaded on first use (a repository on SQLite, the default, never
 * pays for it).  The SQL the catalog code writes for SQLite is translated
 * as it is prepared (translate()): ?N placeholders become $N, INTEGER
 * BIGINT, an INTEGER PRIMARY KEY an identity column, BLOB BYTEA, a TEXT
 * column compares its bytes (COLLATE "C", as SQLite's do); the
 * backup's "stage" database and SQLite's "temp" one are the session's
 * temporary tables (pg_temp); PRAGMA and ATTACH have no equivalent and are
 * left out.  Parameters go as text (numbers) or binary (blobs); results
 * come back as text, bytea decoded from hex when a column is read.
 */
#include "db_private.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's type ids (catalog/pg_type.h is not in libpq-dev) */
enum { BOOLOID = 16, BYTEAOID = 17, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26, FLOAT4OID = 700,
       FLOAT8OID = 701, NUMERICOID = 1700 };

/* ---- libpq, loaded on first use ---- */

static struct {
	PGconn *(*PQconnectdb)(const char *);
	ConnStatusType (*PQstatus)(const PGconn *);
	char *(*PQerrorMessage)(const PGconn *);
	void (*PQfinish)(PGconn *);
	PGresult *(*PQexec)(PGconn *, const char *);
	PGresult *(*PQexecParams)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
				  const int *, int);
	PGresult *(*PQprepare)(PGconn *, const char *, const char *, int, const Oid *);
	PGresult *(*PQexecPrepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
	ExecStatusType (*PQresultStatus)(const PGresult *);
	char *(*PQresultErrorField)(const PGresult *, int);
	void (*PQclear)(PGresult *);
	int (*PQntuples)(const PGresult *);
	int (*PQnfields)(const PGresult *);
	Oid (*PQftype)(const PGresult *, int);
	char *(*PQgetvalue)(const PGresult *, int, int);
	int (*PQgetlength)(const PGresult *, int, int);
	int (*PQgetisnull)(const PGresult *, int, int);
	PGTransactionStatusType (*PQtransactionStatus)(const PGconn *);
	PQnoticeProcessor (*PQsetNoticeProcessor)(PGconn *, PQnoticeProcessor, void *);
} pq;
static char pq_failed[200];
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

#define PQ_FIND(lib, fn)                                                                           \
	do {                                                                                       \
		if (!(*(void **)&pq.fn = dlsym(lib, #fn)) && !pq_failed[0])                        \
			snprintf(pq_failed, sizeof(pq_failed), "libpq.so.5 has no %s()", #fn); \
	} while (0)

static void pq_load(void)
{
	void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!lib) {
		snprintf(pq_failed, sizeof(pq_failed), "%s (install Debian's libpq5)", dlerror());
		return;
	}
	PQ_FIND(lib, PQconnectdb);
	PQ_FIND(lib, PQstatus);
	PQ_FIND(lib, PQerrorMessage);
	PQ_FIND(lib, PQfinish);
	PQ_FIND(lib, PQexec);
	PQ_FIND(lib, PQexecParams);
	PQ_FIND(lib, PQprepare);
	PQ_FIND(lib, PQexecPrepared);
	PQ_FIND(lib, PQresultStatus);
	PQ_FIND(lib, PQresultErrorField);
	PQ_FIND(lib, PQclear);
	PQ_FIND(lib, PQntuples);
	PQ_FIND(lib, PQnfields);
	PQ_FIND(lib, PQftype);
	PQ_FIND(lib, PQgetvalue);
	PQ_FIND(lib, PQgetlength);
	PQ_FIND(lib, PQgetisnull);
	PQ_FIND(lib, PQtransactionStatus);
	PQ_FIND(lib, PQsetNoticeProcessor);
}

/* ---- handles ---- */

struct pg_db {
	struct db base;
	PGconn *conn;
	bool read_only;
	unsigned prepared; /* statements prepared so far (their names) */
	char err[512];
};

struct pg_param {
	char *value; /* owned; NULL: SQL NULL */
	int len;
	int format; /* 0 text, 1 binary */
	Oid type;   /* 0: the server infers it */
	char number[24];
	const char *borrowed; /* a blob bound without a copy */
};

/* a bytea column of the current row, decoded when first read */
struct pg_decoded {
	bool done;
	unsigned char *bytes; /* NUL-terminated */
	int len;
};

struct pg_stmt {
	struct db_stmt base;
	char *sql; /* translated */
	int nparams;
	struct pg_param *params;
	PGresult *res;
	bool ran;
	int row, nrows, ncols;
	struct pg_decoded *decoded;
	unsigned runs;
	char name[24]; /* prepared on the server as NAME ("": not) */
};

static struct pg_db *pg(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pg_st(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* MSG's first line, without libpq's "ERROR:  " or "FATAL:  " */
static void set_error(struct pg_db *db, const char *msg)
{
	static const char *const prefixes[] = { "ERROR:  ", "FATAL:  ", "PANIC:  " };
	size_t n;

	if (!msg || !*msg)
		msg = "unknown PostgreSQL error";
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(msg, prefixes[i], strlen(prefixes[i])))
			msg += strlen(prefixes[i]);
	n = strcspn(msg, "\n");
	snprintf(db->err, sizeof(db->err), "%.*s", (int)n, msg);
}

/* RES's failure (or the connection's) as the message and a code */
static int result_error(struct pg_db *db, PGresult *res)
{
	const char *state = res ? pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? pq.PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	set_error(db, primary ? primary : pq.PQerrorMessage(db->conn));
	if (!res && pq.PQstatus(db->conn) == CONNECTION_OK)
		return -ENOMEM;
	/* a lock or a serialization conflict: another writer */
	if (state && (!strcmp(state, "40P01") || !strcmp(state, "55P03") || !strcmp(state, "40001")))
		return -EBUSY;
	return -EIO;
}

/* ---- SQL translation ---- */

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		char *grown;
		while (cap < o->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(o->p, cap))) {
			o->failed = true;
			return;
		}
		o->p = grown;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(p, w, n);
}

static size_t word_len(const char *p)
{
	size_t n = 0;

	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* One statement, S..E (no ';'), translated onto O.  *NPARAMS: the
 * highest parameter number so far. */
static void translate_statement(struct out *o, const char *s, const char *e, int *nparams)
{
	const char *p = skip_space(s);
	size_t n = word_len(p);
	bool ddl = word_is(p, n, "CREATE") || word_is(p, n, "ALTER");
	char buf[160];

	if (p >= e)
		return;
	if (word_is(p, n, "PRAGMA") || word_is(p, n, "ATTACH"))
		return;
	if (word_is(p, n, "DETACH")) {
		put_str(o, "DISCARD TEMP;"); /* the stage's tables */
		return;
	}
	if (word_is(p, n, "BEGIN")) {
		/* IMMEDIATE: a writer, which PostgreSQL's row locks serve; a
		 * reader sees one snapshot from its first query to its end */
		put_str(o, "BEGIN;");
		return;
	}
	/* CREATE INDEX stage.NAME ON TABLE: PostgreSQL puts an index where
	 * its table is */
	if (word_is(p, n, "CREATE")) {
		const char *q = skip_space(p + n);
		size_t m = word_len(q);
		if (word_is(q, m, "INDEX")) {
			const char *schema = skip_space(q + m), *name, *table;
			size_t sl = word_len(schema), nl, tl;
			if (schema[sl] == '.' && (word_is(schema, sl, "stage") || word_is(schema, sl, "temp"))) {
				name = schema + sl + 1;
				nl = word_len(name);
				table = skip_space(name + nl);
				if (!strncasecmp(table, "ON ", 3)) {
					table = skip_space(table + 3);
					tl = word_len(table);
					snprintf(buf, sizeof(buf), "CREATE INDEX %.*s ON pg_temp.%.*s", (int)nl, name,
						 (int)tl, table);
					put_str(o, buf);
					p = table + tl;
					goto rest;
				}
			}
		}
	}
	p = s;
rest:
	while (p < e) {
		if (*p == '\'' || *p == '"') {
			const char *q = p + 1;
			while (q < e && *q != *p)
				q++;
			q = q < e ? q + 1 : e;
			put(o, p, (size_t)(q - p));
			p = q;
		} else if (*p == '?') {
			int num;
			p++;
			if (isdigit((unsigned char)*p)) {
				num = (int)strtol(p, (char **)&p, 10);
			} else {
				num = *nparams + 1;
			}
			if (num > *nparams)
				*nparams = num;
			snprintf(buf, sizeof(buf), "$%d", num);
			put_str(o, buf);
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			size_t w = word_len(p);
			bool qualified = p > s && p[-1] == '.';
			if (!qualified && p[w] == '.' && (word_is(p, w, "stage") || word_is(p, w, "temp"))) {
				put_str(o, "pg_temp.");
				p += w + 1;
				continue;
			}
			if (!qualified && p[w] == '.' && word_is(p, w, "main")) {
				p += w + 1;
				continue;
			}
			if (!strncmp(p, "INTEGER PRIMARY KEY", 19)) {
				put_str(o, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
				p += 19;
				continue;
			}
			if (w == 7 && !strncmp(p, "INTEGER", 7))
				put_str(o, "BIGINT");
			else if (w == 4 && ddl && !strncmp(p, "TEXT", 4))
				put_str(o, "TEXT COLLATE \"C\""); /* SQLite's order: the bytes' */
			else if (w == 4 && !strncmp(p, "BLOB", 4))
				put_str(o, "BYTEA");
			else if (w == 7 && !strncmp(p, "INDEXED", 7) && !strncmp(skip_space(p + w), "BY ", 3)) {
				const char *q = skip_space(skip_space(p + w) + 3);
				p = q + word_len(q);
				continue;
			} else
				put(o, p, w);
			p += w;
		} else {
			put(o, p, 1);
			p++;
		}
	}
	put_str(o, ";");
}

/* SQL for PostgreSQL (see the top of the file), malloc()ed; NULL: out of
 * memory.  *NPARAMS: how many parameters it has. */
static char *translate(const char *sql, int *nparams)
{
	struct out o = { 0 };
	const char *s = sql, *p = sql;

	*nparams = 0;
	put_str(&o, "");
	for (;;) {
		if (*p == '\'' || *p == '"') {
			char quote = *p++;
			while (*p && *p != quote)
				p++;
			if (*p)
				p++;
			continue;
		}
		if (*p == ';' || !*p) {
			translate_statement(&o, s, p, nparams);
			if (!*p)
				break;
			s = ++p;
			continue;
		}
		p++;
	}
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	return o.p;
}

/* ---- connection ---- */

/* typeof() as SQLite's, for verify's checks of a catalog's types */
static const char typeof_function[] =
	"CREATE OR REPLACE FUNCTION typeof(anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS"
	" 'SELECT CASE WHEN $1 IS NULL THEN ''null''"
	" WHEN pg_typeof($1) IN (''bigint''::regtype, ''integer''::regtype, ''smallint''::regtype) THEN ''integer''"
	" WHEN pg_typeof($1) = ''bytea''::regtype THEN ''blob''"
	" WHEN pg_typeof($1) IN (''real''::regtype, ''double precision''::regtype, ''numeric''::regtype) THEN ''real''"
	" ELSE ''text'' END'";

static int run(struct pg_db *db, const char *sql)
{
	PGresult *res = pq.PQexec(db->conn, sql);
	ExecStatusType status = res ? pq.PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = 0;

	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
		rc = result_error(db, res);
	pq.PQclear(res);
	return rc;
}

static int pg_open(const char *target, enum db_mode mode, struct db **out)
{
	struct pg_db *db = calloc(1, sizeof(*db));

	*out = db ? &db->base : NULL;
	if (!db)
		return -ENOMEM;
	db->base.ops = &db_postgres_ops;
	db->read_only = mode == DB_READ;
	pthread_once(&pq_once, pq_load);
	if (pq_failed[0]) {
		snprintf(db->err, sizeof(db->err), "PostgreSQL client library: %s", pq_failed);
		return -ENOSYS;
	}
	db->conn = pq.PQconnectdb(target);
	if (!db->conn)
		return -ENOMEM;
	if (pq.PQstatus(db->conn) != CONNECTION_OK) {
		set_error(db, pq.PQerrorMessage(db->conn));
		return -EIO;
	}
	/* the layer never prints: notices ("already exists, skipping") go */
	pq.PQsetNoticeProcessor(db->conn, ignore_notice, NULL);
	/* SQLite's busy timeout: a lock is waited for a minute */
	if (run(db, "SET lock_timeout = '60s'; SET client_min_messages = warning; SET bytea_output = hex") < 0)
		return -EIO;
	if (mode == DB_READ && run(db, "SET default_transaction_read_only = on") < 0)
		return -EIO;
	if (mode == DB_CREATE && run(db, typeof_function) < 0)
		return -EIO;
	return 0;
}

static void pg_close(struct db *db)
{
	if (pg(db)->conn)
		pq.PQfinish(pg(db)->conn);
	free(db);
}

static const char *pg_errmsg(struct db *db)
{
	return pg(db)->err[0] ? pg(db)->err : "not an error";
}

static int pg_exec(struct db *db, const char *sql)
{
	int nparams;
	char *t = translate(sql, &nparams);
	int rc;

	if (!t)
		return -ENOMEM;
	if (!strcmp(t, "BEGIN;") && pg(db)->read_only)
		rc = run(pg(db), "BEGIN ISOLATION LEVEL REPEATABLE READ");
	else
		rc = t[0] ? run(pg(db), t) : 0;
	free(t);
	return rc;
}

/* ---- statements ---- */

static void forget_result(struct pg_stmt *st)
{
	for (int i = 0; st->decoded && i < st->ncols; i++)
		free(st->decoded[i].bytes);
	free(st->decoded);
	st->decoded = NULL;
	if (st->res)
		pq.PQclear(st->res);
	st->res = NULL;
	st->ran = false;
	st->row = -1;
	st->nrows = st->ncols = 0;
}

static int pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct pg_stmt *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->base.db = db;
	st->row = -1;
	st->sql = translate(sql, &st->nparams);
	if (st->sql && st->nparams && !(st->params = calloc((size_t)st->nparams, sizeof(*st->params)))) {
		free(st->sql);
		st->sql = NULL;
	}
	if (!st->sql) {
		free(st);
		return -ENOMEM;
	}
	*out = &st->base;
	return 0;
}

static void clear_param(struct pg_param *p)
{
	free(p->value);
	memset(p, 0, sizeof(*p));
}

static int pg_clear_bindings(struct db_stmt *base)
{
	struct pg_stmt *st = pg_st(base);

	for (int i = 0; i < st->nparams; i++)
		clear_param(&st->params[i]);
	return 0;
}

static void pg_finalize(struct db_stmt *base)
{
	struct pg_stmt *st = pg_st(base);

	forget_result(st);
	pg_clear_bindings(base);
	if (st->name[0] && pq.PQstatus(pg(base->db)->conn) == CONNECTION_OK) {
		char sql[48];
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		pq.PQclear(pq.PQexec(pg(base->db)->conn, sql));
	}
	free(st->params);
	free(st->sql);
	free(st);
}

static int pg_reset(struct db_stmt *base)
{
	forget_result(pg_st(base));
	return 0;
}

static int pg_bind(struct db_stmt *base, int i, const struct db_value *v)
{
	struct pg_stmt *st = pg_st(base);
	struct pg_param *p;
	size_t len;

	if (i < 1 || i > st->nparams) {
		snprintf(pg(base->db)->err, sizeof(pg(base->db)->err), "parameter %d of %d", i, st->nparams);
		return -ERANGE;
	}
	p = &st->params[i - 1];
	clear_param(p);
	switch (v->type) {
	case DB_INTEGER:
		p->len = snprintf(p->number, sizeof(p->number), "%lld", (long long)v->integer);
		p->type = INT8OID;
		return 0;
	case DB_TEXT:
	case DB_BLOB:
		len = v->type == DB_TEXT && v->len < 0 ? strlen(v->bytes) : (size_t)v->len;
		if (v->type == DB_BLOB && !v->copy) {
			p->borrowed = v->bytes;
		} else {
			if (!(p->value = malloc(len + 1)))
				return -ENOMEM;
			memcpy(p->value, v->bytes, len);
			p->value[len] = '\0';
		}
		p->len = (int)len;
		p->format = v->type == DB_BLOB;
		p->type = v->type == DB_BLOB ? BYTEAOID : 0;
		return 0;
	default:
		return 0;
	}
}

static int run_statement(struct pg_stmt *st)
{
	struct pg_db *db = pg(st->base.db);
	const char **values = calloc((size_t)st->nparams + 1, sizeof(*values));
	int *lengths = calloc((size_t)st->nparams + 1, sizeof(*lengths));
	int *formats = calloc((size_t)st->nparams + 1, sizeof(*formats));
	Oid *types = calloc((size_t)st->nparams + 1, sizeof(*types));
	ExecStatusType status;
	int rc = 0;

	if (!values || !lengths || !formats || !types) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < st->nparams; i++) {
		struct pg_param *p = &st->params[i];
		values[i] = p->type == INT8OID ? p->number : p->borrowed ? p->borrowed : p->value;
		lengths[i] = p->len;
		formats[i] = p->format;
		types[i] = p->type;
	}
	/* A statement run again (a row staged per file) is prepared on the
	 * server, parsed and planned once; one run once is not (a prepared
	 * one costs two more round trips: PREPARE and DEALLOCATE). */
	if (st->runs++ == 1) {
		snprintf(st->name, sizeof(st->name), "rawkit_%u", ++db->prepared);
		st->res = pq.PQprepare(db->conn, st->name, st->sql, st->nparams, types);
		status = st->res ? pq.PQresultStatus(st->res) : PGRES_FATAL_ERROR;
		if (status != PGRES_COMMAND_OK) {
			st->name[0] = '\0';
			rc = result_error(db, st->res);
			pq.PQclear(st->res);
			st->res = NULL;
			goto out;
		}
		pq.PQclear(st->res);
	}
	if (st->name[0])
		st->res = pq.PQexecPrepared(db->conn, st->name, st->nparams, values, lengths, formats, 0);
	else
		st->res = pq.PQexecParams(db->conn, st->sql, st->nparams, types, values, lengths, formats, 0);
	status = st->res ? pq.PQresultStatus(st->res) : PGRES_FATAL_ERROR;
	if (status == PGRES_TUPLES_OK) {
		st->nrows = pq.PQntuples(st->res);
		st->ncols = pq.PQnfields(st->res);
		if (st->ncols && !(st->decoded = calloc((size_t)st->ncols, sizeof(*st->decoded))))
			rc = -ENOMEM;
	} else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY) {
		/* (empty: a PRAGMA, which has no equivalent here: no rows) */
		rc = result_error(db, st->res);
		pq.PQclear(st->res);
		st->res = NULL;
	}
	st->ran = true;
out:
	free(values);
	free(lengths);
	free(formats);
	free(types);
	return rc;
}

static int pg_step(struct db_stmt *base)
{
	struct pg_stmt *st = pg_st(base);
	int rc;

	if (!st->ran && (rc = run_statement(st)) < 0)
		return rc;
	if (st->row + 1 >= st->nrows) {
		st->row = st->nrows;
		return DB_DONE;
	}
	st->row++;
	for (int i = 0; i < st->ncols; i++) {
		free(st->decoded[i].bytes);
		st->decoded[i] = (struct pg_decoded){ 0 };
	}
	return DB_ROW;
}

static bool has_value(struct pg_stmt *st, int i)
{
	return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 && i < st->ncols &&
	       !pq.PQgetisnull(st->res, st->row, i);
}

static enum db_type pg_column_type(struct db_stmt *base, int i)
{
	struct pg_stmt *st = pg_st(base);

	if (!has_value(st, i))
		return DB_NULL;
	switch (pq.PQftype(st->res, i)) {
	case BOOLOID:
	case INT2OID:
	case INT4OID:
	case INT8OID:
	case OIDOID:
		return DB_INTEGER;
	case NUMERICOID: /* sum() of integers */
		return strchr(pq.PQgetvalue(st->res, st->row, i), '.') ? DB_FLOAT : DB_INTEGER;
	case FLOAT4OID:
	case FLOAT8OID:
		return DB_FLOAT;
	case BYTEAOID:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

static int64_t pg_column_int64(struct db_stmt *base, int i)
{
	struct pg_stmt *st = pg_st(base);
	const char *v;

	if (!has_value(st, i))
		return 0;
	v = pq.PQgetvalue(st->res, st->row, i);
	if (pq.PQftype(st->res, i) == BOOLOID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Column I of the current row, decoded from bytea's hex text. */
static struct pg_decoded *decoded(struct pg_stmt *st, int i)
{
	struct pg_decoded *d = &st->decoded[i];
	const char *v = pq.PQgetvalue(st->res, st->row, i);
	size_t n = (size_t)pq.PQgetlength(st->res, st->row, i);

	if (d->done)
		return d;
	d->done = true;
	if (n < 2 || v[0] != '\\' || v[1] != 'x' || !(d->bytes = malloc((n - 2) / 2 + 1)))
		return d; /* (bytea_output = hex is the default) */
	for (size_t k = 2; k + 1 < n; k += 2) {
		int hi = hex_digit(v[k]), lo = hex_digit(v[k + 1]);
		if (hi < 0 || lo < 0)
			break;
		d->bytes[d->len++] = (unsigned char)(hi << 4 | lo);
	}
	d->bytes[d->len] = '\0';
	return d;
}

static const char *pg_column_text(struct db_stmt *base, int i)
{
	struct pg_stmt *st = pg_st(base);

	if (!has_value(st, i))
		return NULL;
	if (pq.PQftype(st->res, i) == BYTEAOID)
		return (const char *)decoded(st, i)->bytes;
	return pq.PQgetvalue(st->res, st->row, i);
}

static const void *pg_column_blob(struct db_stmt *base, int i)
{
	struct pg_stmt *st = pg_st(base);

	if (!has_value(st, i))
		return NULL;
	if (pq.PQftype(st->res, i) == BYTEAOID) {
		struct pg_decoded *d = decoded(st, i);
		return d->len ? d->bytes : NULL; /* SQLite: an empty blob is NULL */
	}
	return pq.PQgetvalue(st->res, st->row, i);
}

static int pg_column_bytes(struct db_stmt *base, int i)
{
	struct pg_stmt *st = pg_st(base);

	if (!has_value(st, i))
		return 0;
	if (pq.PQftype(st->res, i) == BYTEAOID)
		return decoded(st, i)->len;
	return pq.PQgetlength(st->res, st->row, i);
}

static int pg_has_column(struct db *db, const char *table, const char *column)
{
	struct db_stmt *st;
	struct db_value t = { .type = DB_TEXT, .bytes = table, .len = -1 };
	struct db_value c = { .type = DB_TEXT, .bytes = column, .len = -1 };
	int rc = pg_prepare(db, "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
				" AND table_name = ?1 AND column_name = ?2", &st);

	if (rc < 0)
		return rc;
	pg_bind(st, 1, &t);
	pg_bind(st, 2, &c);
	rc = pg_step(st);
	pg_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : rc;
}

static int pg_begin(struct db *db, bool write)
{
	return pg_exec(db, "BEGIN");
}

static bool pg_in_transaction(struct db *db)
{
	PGTransactionStatusType t = pq.PQtransactionStatus(pg(db)->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

const struct db_ops db_postgres_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.clear_bindings = pg_clear_bindings,
	.bind = pg_bind,
	.step = pg_step,
	.column_type = pg_column_type,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.has_column = pg_has_column,
	.begin = pg_begin,
	.in_transaction = pg_in_transaction,
};
