/* query.c --- rawkit-lanfree init, list, ls and find: reading the catalog */
#include "lanfree.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int cmd_init(const char *repo, const char *catalog)
{
	json_t *o;

	if (repo_init_catalog(repo, catalog) < 0)
		return RAWKIT_EXIT_FAILED;
	if (!json_mode()) {
		printf("%s: repository created\n", repo);
		return RAWKIT_EXIT_DONE;
	}
	o = json_object();
	json_put(o, "repo", json_text(repo));
	if (catalog)
		json_put(o, "catalog", json_text(catalog));
	return json_print(o, RAWKIT_EXIT_DONE);
}

static void iso_time(int64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) /* a time from the catalog no calendar holds */
		memset(&tm, 0, sizeof(tm));
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A name as text: printable bytes as they are, the rest as \ooo (ls -b). */
void print_name(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')
			printf("\\%03o", s[i]);
		else
			putchar(s[i]);
	}
}

/* A generation's consistency: the worst of its volumes' (a generation
 * written before volumes recorded it: unreplayable if it was dirty). */
#define WORST_SQL \
	"(SELECT CASE MAX(CASE v.consistency WHEN 'unreplayable' THEN 4 WHEN 'xfs-log-not-replayed' THEN 3" \
	" WHEN 'ntfs-unclean' THEN 2 WHEN 'replayed' THEN 1 ELSE 0 END) WHEN 4 THEN 'unreplayable'" \
	" WHEN 3 THEN 'xfs-log-not-replayed' WHEN 2 THEN 'ntfs-unclean'" \
	" WHEN 1 THEN 'replayed' ELSE CASE n.dirty WHEN 0 THEN 'clean' ELSE 'unreplayable' END END" \
	" FROM volumes v WHERE v.gen_id = n.id)"
#define LIST_SQL(consistency) \
	"SELECT g.name, n.seq, n.started, n.finished, n.level, n.files, n.bytes_new," \
	" n.bytes_total, n.bytes_stored, n.status, n.dirty, COALESCE(n.base_seq, 0), " consistency \
	", n.disk FROM generations n JOIN guests g ON g.id = n.guest_id" \
	" WHERE CAST(?1 AS TEXT) IS NULL OR g.name = ?1 ORDER BY g.name, n.seq"
static const char list_sql[] = LIST_SQL(WORST_SQL);
static const char list_sql_old[] = LIST_SQL("CASE n.dirty WHEN 0 THEN 'clean' ELSE 'unreplayable' END");

static json_t *generation_json(struct db_stmt *st)
{
	json_t *o = json_object();
	int64_t started = db_column_int64(st, 2), finished = db_column_int64(st, 3);

	json_put(o, "guest", json_text(db_column_text(st, 0)));
	json_put(o, "generation", json_integer(db_column_int64(st, 1)));
	json_put_time(o, "started", started);
	json_put(o, "level", json_text(db_column_text(st, 4)));
	json_put(o, "base", json_integer(db_column_int64(st, 11)));
	json_put(o, "files", json_integer(db_column_int64(st, 5)));
	json_put(o, "new_bytes", json_integer(db_column_int64(st, 6)));
	json_put(o, "total_bytes", json_integer(db_column_int64(st, 7)));
	json_put(o, "stored_bytes", json_integer(db_column_int64(st, 8)));
	json_put(o, "elapsed_ns", json_integer(finished - started));
	json_put(o, "generation_status", json_text(db_column_text(st, 9)));
	json_put(o, "dirty", json_boolean(db_column_int64(st, 10)));
	json_put(o, "consistency", json_text(db_column_text(st, 12)));
	json_put(o, "disk", json_text(db_column_text(st, 13)));
	return o;
}

static void print_generation(struct db_stmt *st)
{
	char when[32], a[16], b[16];
	const char *name = db_column_text(st, 0);
	int64_t started = db_column_int64(st, 2), finished = db_column_int64(st, 3);
	double secs = ((double)finished - (double)started) / 1e9; /* catalog values: no overflow */

	iso_time(started, when, sizeof(when));
	printf("%-16s %5lld %-20s %-5s %9lld %10s %10s %8.1f  %s%s%s\n", name, (long long)db_column_int64(st, 1), when,
	       db_column_text(st, 4), (long long)db_column_int64(st, 5),
	       cli_human((uint64_t)db_column_int64(st, 6), a, sizeof(a)),
	       cli_human((uint64_t)db_column_int64(st, 7), b, sizeof(b)), secs, db_column_text(st, 9),
	       strcmp(db_column_text(st, 12), "clean") ? ", " : "",
	       strcmp(db_column_text(st, 12), "clean") ? db_column_text(st, 12) : "");
}

int cmd_list(const char *path, const char *guest, bool json)
{
	int rc;
	struct repo r;
	struct db_stmt *st;
	struct json_stream *js = NULL;
	bool first = true;
	int status = RAWKIT_EXIT_DONE;

	if ((rc = repo_open(&r, path, REPO_READ)) != 0)
		return rc;
	st = catalog_prepare(r.db, catalog_has_column(r.db, "volumes", "consistency") ? list_sql : list_sql_old);
	if (!st) {
		repo_close(&r);
		return RAWKIT_EXIT_FAILED;
	}
	if (guest)
		db_bind_text(st, 1, guest, -1);
	if (json)
		js = json_stream_begin(NULL, "generations");
	else
		printf("%-16s %5s %-20s %-5s %9s %10s %10s %8s  %s\n", "GUEST", "GEN", "TIME", "LEVEL", "FILES", "NEW",
		       "TOTAL", "SECONDS", "STATUS");
	while (db_step(st) == DB_ROW) {
		if (json)
			json_stream_item(js, generation_json(st));
		else
			print_generation(st);
		first = false;
	}
	db_finalize(st);
	repo_close(&r);
	if (first && guest) {
		cli_error(guest, "no such guest in the repository");
		status = RAWKIT_EXIT_FAILED;
	}
	return json ? json_stream_end(js, NULL, status) : status;
}

void mode_string(uint32_t mode, char out[11])
{
	static const char types[] = "?pc?d?b?-?l?s???";
	const char *rwx = "rwxrwxrwx";

	out[0] = types[(mode >> 12) & 15];
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & 0100) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & 0010) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & 0001) ? 't' : 'T';
	out[10] = '\0';
}

static json_t *entry_json(struct db_stmt *st)
{
	json_t *o = json_object();
	char m[11];

	mode_string((uint32_t)db_column_int64(st, 1), m);
	json_put(o, "name", json_text_n(db_column_blob(st, 0), (size_t)db_column_bytes(st, 0)));
	json_put(o, "mode", json_string(m));
	json_put(o, "uid", json_integer(db_column_int64(st, 2)));
	json_put(o, "gid", json_integer(db_column_int64(st, 3)));
	json_put(o, "size_bytes", json_integer(db_column_int64(st, 4)));
	json_put_time(o, "mtime", db_column_int64(st, 5));
	if (!db_column_is_null(st, 6))
		json_put(o, "target", json_text_n(db_column_blob(st, 6), (size_t)db_column_bytes(st, 6)));
	return o;
}

static void print_entry(struct db_stmt *st, bool long_format, struct json_stream *js, bool *first)
{
	const unsigned char *name = db_column_blob(st, 0);
	size_t n = (size_t)db_column_bytes(st, 0);
	uint32_t mode = (uint32_t)db_column_int64(st, 1);
	int64_t mtime = db_column_int64(st, 5);
	char when[32], m[11];

	iso_time(mtime, when, sizeof(when));
	mode_string(mode, m);
	if (js) {
		json_stream_item(js, entry_json(st));
	} else if (long_format) {
		printf("%s %6lld %6lld %12lld %s ", m, (long long)db_column_int64(st, 2),
		       (long long)db_column_int64(st, 3), (long long)db_column_int64(st, 4), when);
		print_name(name, n);
		if (!db_column_is_null(st, 6)) {
			printf(" -> ");
			print_name(db_column_blob(st, 6), (size_t)db_column_bytes(st, 6));
		}
		putchar('\n');
	} else {
		print_name(name, n);
		putchar('\n');
	}
	*first = false;
}

static json_t *volume_json(struct db_stmt *st)
{
	json_t *o = json_object();

	json_put(o, "name", json_text(db_column_text(st, 0)));
	json_put(o, "fstype", json_text(db_column_text(st, 1)));
	json_put(o, "skipped", json_text(db_column_text(st, 2)));
	json_put(o, "consistency", json_text(db_column_text(st, 3)));
	return o;
}

int cmd_ls(const char *path, const char *spec, const char *where, bool long_format, bool json)
{
	int rc;
	struct repo r;
	struct generation g;
	struct db_stmt *st = NULL;
	char *guest = NULL, *vol = NULL, *rest;
	struct json_stream *js = NULL;
	bool first = true;
	int status = RAWKIT_EXIT_FAILED;

	if ((rc = repo_open(&r, path, REPO_READ)) != 0)
		return rc;
	if (catalog_find_generation(r.db, spec, &guest, &g) < 0)
		goto out;
	while (*where == '/')
		where++;
	vol = strdup(where);
	if (!vol)
		goto out;
	for (size_t n = strlen(vol); n && vol[n - 1] == '/';)
		vol[--n] = '\0';
	if (json) {
		json_t *head = json_object();
		json_put(head, "guest", json_text(guest));
		json_put(head, "generation", json_integer(g.seq));
		js = json_stream_begin(head, vol[0] ? "entries" : "volumes");
	}
	if (!vol[0]) { /* the volumes of the generation */
		st = catalog_prepare(r.db, catalog_has_column(r.db, "volumes", "consistency")
					      ? "SELECT name, fstype, skipped, consistency FROM volumes WHERE gen_id = ? ORDER BY name"
					      : "SELECT name, fstype, skipped, '' FROM volumes WHERE gen_id = ? ORDER BY name");
		if (!st)
			goto out;
		db_bind_int64(st, 1, g.id);
		while (db_step(st) == DB_ROW) {
			const char *skipped = db_column_text(st, 2);
			if (js) {
				json_stream_item(js, volume_json(st));
			} else {
				printf("%s%s%s%s\n", db_column_text(st, 0), long_format ? "  " : "",
				       long_format ? db_column_text(st, 1) : "",
				       skipped ? "  (skipped)" : "");
			}
			first = false;
		}
	} else {
		rest = strchr(vol, '/');
		if (rest)
			*rest++ = '\0';
		else
			rest = "";
		st = catalog_prepare(r.db, "SELECT name, mode, uid, gid, size, mtime, symlink FROM versions WHERE guest_id = ?1"
				      " AND volume = ?2 AND dir = ?3 AND first_seq <= ?4 AND last_seq >= ?4 AND length(name) > 0"
				      " ORDER BY name");
		if (!st)
			goto out;
		db_bind_int64(st, 1, g.guest_id);
		db_bind_text(st, 2, vol, -1);
		db_bind_blob(st, 3, rest, (int)strlen(rest));
		db_bind_int64(st, 4, g.seq);
		while (db_step(st) == DB_ROW)
			print_entry(st, long_format, js, &first);
		if (first && rest[0]) { /* not a directory: the entry itself */
			char *slash = strrchr(rest, '/');
			db_finalize(st);
			st = catalog_prepare(r.db, "SELECT name, mode, uid, gid, size, mtime, symlink FROM versions WHERE guest_id = ?1"
					      " AND volume = ?2 AND dir = ?3 AND name = ?5 AND first_seq <= ?4 AND last_seq >= ?4");
			if (!st)
				goto out;
			db_bind_int64(st, 1, g.guest_id);
			db_bind_text(st, 2, vol, -1);
			db_bind_blob(st, 3, rest, slash ? (int)(slash - rest) : 0);
			db_bind_int64(st, 4, g.seq);
			db_bind_blob(st, 5, slash ? slash + 1 : rest, (int)strlen(slash ? slash + 1 : rest));
			if (db_step(st) == DB_ROW) {
				if (S_ISDIR((mode_t)db_column_int64(st, 1)))
					first = false; /* an empty directory: there, with nothing to list */
				else
					print_entry(st, long_format, js, &first);
			}
		}
	}
	if (first && vol[0]) {
		cli_error(where, "not in %s@%lld", guest, (long long)g.seq);
		goto out;
	}
	status = RAWKIT_EXIT_DONE;
out:
	if (js)
		status = json_stream_end(js, NULL, status);
	db_finalize(st);
	free(vol);
	free(guest);
	repo_close(&r);
	return status;
}

/* A version matching find's pattern: its path, size, time and generations. */
static json_t *match_json(struct db_stmt *st, const char *full, const int64_t *seqs, size_t nseqs)
{
	json_t *o = json_object(), *gens = json_array();
	int64_t lo = db_column_int64(st, 3), hi = db_column_int64(st, 4);

	json_put(o, "path", json_text(full));
	json_put(o, "size_bytes", json_integer(db_column_int64(st, 5)));
	json_put_time(o, "mtime", db_column_int64(st, 6));
	for (size_t i = 0; i < nseqs; i++)
		if (seqs[i] >= lo && seqs[i] <= hi)
			json_array_append_new(gens, json_integer(seqs[i]));
	json_put(o, "generations", gens);
	return o;
}

static void print_match(struct db_stmt *st, const char *full, const int64_t *seqs, size_t nseqs)
{
	int64_t lo = db_column_int64(st, 3), hi = db_column_int64(st, 4);
	char when[32];

	iso_time(db_column_int64(st, 6), when, sizeof(when));
	print_name((const unsigned char *)full, strlen(full));
	printf("  %lld bytes  %s  in", (long long)db_column_int64(st, 5), when);
	for (size_t i = 0; i < nseqs; i++)
		if (seqs[i] >= lo && seqs[i] <= hi)
			printf(" %lld", (long long)seqs[i]);
	putchar('\n');
}

int cmd_find(const char *path, const char *guest, const char *pattern, bool json)
{
	int rc;
	struct repo r;
	struct db_stmt *st = NULL, *gens = NULL;
	int64_t guest_id, *seqs = NULL;
	size_t nseqs = 0;
	struct json_stream *js = NULL;
	bool first = true;
	int status = RAWKIT_EXIT_FAILED;

	if ((rc = repo_open(&r, path, REPO_READ)) != 0)
		return rc;
	guest_id = catalog_guest_id(r.db, guest);
	if (guest_id <= 0) {
		if (guest_id == 0)
			cli_error(guest, "no such guest in the repository");
		goto out;
	}
	gens = catalog_prepare(r.db, "SELECT seq FROM generations WHERE guest_id = ? ORDER BY seq");
	if (!gens)
		goto out;
	db_bind_int64(gens, 1, guest_id);
	while (db_step(gens) == DB_ROW) {
		int64_t *grown = realloc(seqs, (nseqs + 1) * sizeof(*seqs));
		if (!grown)
			goto out;
		seqs = grown;
		seqs[nseqs++] = db_column_int64(gens, 0);
	}
	st = catalog_prepare(r.db, "SELECT volume, dir, name, first_seq, last_seq, size, mtime, mode FROM versions"
			      " WHERE guest_id = ? ORDER BY volume, dir, name, first_seq");
	if (!st)
		goto out;
	db_bind_int64(st, 1, guest_id);
	if (json) {
		json_t *head = json_object();
		json_put(head, "guest", json_text(guest));
		json_put(head, "pattern", json_text(pattern));
		js = json_stream_begin(head, "matches");
	}
	while (db_step(st) == DB_ROW) {
		char *full = version_path(db_column_text(st, 0), db_column_blob(st, 1),
					  (size_t)db_column_bytes(st, 1), db_column_blob(st, 2),
					  (size_t)db_column_bytes(st, 2));
		if (full && fnmatch(pattern, full, 0) == 0) {
			if (js)
				json_stream_item(js, match_json(st, full, seqs, nseqs));
			else
				print_match(st, full, seqs, nseqs);
			first = false;
		}
		free(full);
	}
	status = first ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
	if (first)
		cli_error(pattern, "no version of %s matches", guest);
out:
	if (js)
		status = json_stream_end(js, NULL, status);
	db_finalize(st);
	db_finalize(gens);
	free(seqs);
	repo_close(&r);
	return status;
}
