/* prune.c --- rawkit-lanfree prune: retention, then what nothing needs any more
 *
 * Which generations stay is retention.c's business.  Forgetting the others
 * (their rows, and the versions no remaining generation holds) touches only
 * their guest's rows, so rawkit-lanfree run does it under the shared lock
 * and the guest's, beside other guests' backups.  Sweeping (contents no
 * version holds, archives no content is in, the archive files after the
 * commit, and what interrupted backups left behind in REPO/tmp) needs the
 * exclusive lock: no backup may be choosing what to deduplicate against.
 * prune does both in one transaction.
 */
#include "lanfree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Whether the catalog names archive REL (ST: the query). */
static bool archive_named(const char *rel, void *st)
{
	bool named;

	db_bind_text(st, 1, rel, -1);
	named = db_step(st) != DB_DONE; /* (an error keeps it) */
	db_reset(st);
	return named;
}

/* Remove files under data/ that no archive row names, and tmp/ leftovers. */
static unsigned remove_orphans(struct repo *r)
{
	struct db_stmt *st = catalog_prepare(r->db, "SELECT 1 FROM archives WHERE path = ?");
	unsigned removed = 0;
	DIR *top, *sub;
	struct dirent *e, *f;
	char rel[600];
	int fd;

	if (!st)
		return 0;
	if (r->rados) {
		removed = rados_repo_remove_orphans(r, archive_named, st);
		db_finalize(st);
		return removed;
	}
	fd = openat(r->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (sub = fdopendir(fd))) {
		while ((f = readdir(sub)))
			if (f->d_name[0] != '.' || (strcmp(f->d_name, ".") && strcmp(f->d_name, "..")))
				if (unlinkat(dirfd(sub), f->d_name, 0) == 0)
					removed++;
		closedir(sub);
	}
	fd = openat(r->dirfd, "data", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	top = fd >= 0 ? fdopendir(fd) : NULL;
	while (top && (e = readdir(top))) {
		int gfd;
		if (e->d_name[0] == '.')
			continue;
		gfd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sub = gfd >= 0 ? fdopendir(gfd) : NULL;
		while (sub && (f = readdir(sub))) {
			if (!strcmp(f->d_name, ".") || !strcmp(f->d_name, ".."))
				continue;
			snprintf(rel, sizeof(rel), "data/%s/%s", e->d_name, f->d_name);
			if (!archive_named(rel, st) && unlinkat(dirfd(sub), f->d_name, 0) == 0)
				removed++;
		}
		if (sub)
			closedir(sub);
	}
	if (top)
		closedir(top);
	db_finalize(st);
	return removed;
}

/* Every archive path in the catalog has the shape backup writes: prune
 * removes files by these names, so one that could lead anywhere else
 * (absolute, "..", another directory) is damage and stops the prune
 * before anything changes.  Returns 0, or -1 with the message printed. */
static int check_archive_paths(struct repo *r)
{
	struct db_stmt *st = catalog_prepare(r->db, "SELECT id, path FROM archives ORDER BY id");
	int rc = st ? 0 : -1, step;

	while (rc == 0 && (step = db_step(st)) == DB_ROW) {
		const char *path = db_column_text(st, 1);
		char shown[120];
		if (!archive_path_ok(path)) {
			cli_error("catalog", "damaged: archive %lld has the path \"%s\", not one rawkit writes: "
				  "nothing pruned (run verify)", (long long)db_column_int64(st, 0),
				  archive_path_shown(path, shown, sizeof(shown)));
			rc = -1;
		}
	}
	if (rc == 0 && step != DB_DONE) {
		cli_error("catalog", "cannot read the archives: %s", db_errmsg(r->db));
		rc = -1;
	}
	db_finalize(st);
	return rc;
}

struct gen_row {
	struct retained r;
	char level[8];
};

/* GUEST_ID's generations, newest first, into *G; 0 or -1. */
static int load_generations(struct repo *r, int64_t guest_id, struct gen_row **g, size_t *n)
{
	struct db_stmt *st = catalog_prepare(r->db, "SELECT seq, finished, level FROM generations WHERE guest_id = ?"
					     " ORDER BY seq DESC");
	int step;

	*g = NULL;
	*n = 0;
	if (!st)
		return -1;
	db_bind_int64(st, 1, guest_id);
	while ((step = db_step(st)) == DB_ROW) {
		struct gen_row *grown = realloc(*g, (*n + 1) * sizeof(**g));
		const char *level = db_column_text(st, 2);
		if (!grown) {
			cli_error(NULL, "out of memory");
			break;
		}
		*g = grown;
		grown[*n].r = (struct retained){ db_column_int64(st, 0), db_column_int64(st, 1), 0 };
		snprintf(grown[*n].level, sizeof(grown[*n].level), "%s", level ? level : "?");
		(*n)++;
	}
	if (step != DB_DONE && step != DB_ROW)
		cli_error("catalog", "cannot read the generations: %s", db_errmsg(r->db));
	db_finalize(st);
	return step == DB_DONE ? 0 : -1;
}

static json_t *reasons_json(unsigned reasons)
{
	json_t *a = json_array();

	for (unsigned bit = 1; bit <= KEEP_WITHIN; bit <<= 1)
		if (reasons & bit)
			json_array_append_new(a, json_string(retention_reason_name(bit)));
	return a;
}

/* GUEST's generations as the policy judges them, into GENS (JSON objects),
 * and the ones it does not keep removed from the catalog (not DRY_RUN:
 * inside the caller's transaction) or marked in the TEMP table doomed (a
 * dry run).  *REMOVED counts them. */
static int forget_guest(struct repo *r, const char *guest, const struct retention *p, bool dry_run, json_t *gens,
			size_t *removed)
{
	int64_t guest_id = catalog_guest_id(r->db, guest);
	struct gen_row *g = NULL;
	struct db_stmt *st = NULL;
	size_t n = 0;
	int rc = -1;

	*removed = 0;
	if (guest_id <= 0) {
		if (guest_id == 0)
			cli_error(guest, "no such guest in the repository");
		return -1;
	}
	if (load_generations(r, guest_id, &g, &n) < 0)
		goto out;
	{
		struct retained *rs = malloc((n ? n : 1) * sizeof(*rs));
		if (!rs) {
			cli_error(NULL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			rs[i] = g[i].r;
		retention_apply(p, rs, n);
		for (size_t i = 0; i < n; i++)
			g[i].r.reasons = rs[i].reasons;
		free(rs);
	}
	st = catalog_prepare(r->db, dry_run ? "INSERT INTO temp.doomed VALUES (?, ?)"
				       : "DELETE FROM generations WHERE guest_id = ? AND seq = ?");
	if (!st)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_put(o, "guest", json_text(guest));
		json_put(o, "generation", json_integer(g[i].r.seq));
		json_put(o, "level", json_string(g[i].level));
		json_put_time(o, "finished", g[i].r.time);
		json_put(o, "keep", json_boolean(g[i].r.reasons != 0));
		json_put(o, "reasons", reasons_json(g[i].r.reasons));
		json_array_append_new(gens, o);
		if (g[i].r.reasons)
			continue;
		db_bind_int64(st, 1, guest_id);
		db_bind_int64(st, 2, g[i].r.seq);
		if (db_step(st) != DB_DONE) {
			cli_error("catalog", "cannot remove a generation: %s", db_errmsg(r->db));
			goto out;
		}
		db_reset(st);
		(*removed)++;
	}
	db_finalize(st);
	st = NULL;
	if (!dry_run && *removed) {
		st = catalog_prepare(r->db, "DELETE FROM versions WHERE guest_id = ?1 AND NOT EXISTS (SELECT 1 FROM"
				       " generations g WHERE g.guest_id = ?1 AND g.seq BETWEEN versions.first_seq"
				       " AND versions.last_seq)");
		if (!st)
			goto out;
		db_bind_int64(st, 1, guest_id);
		if (db_step(st) != DB_DONE) {
			cli_error("catalog", "cannot remove the versions of forgotten generations: %s",
				  db_errmsg(r->db));
			goto out;
		}
	}
	rc = 0;
out:
	db_finalize(st);
	free(g);
	return rc;
}

/* What a dry run's doomed generations would free: the archives in which no
 * content stays that a remaining generation's version holds. */
static int would_free(struct repo *r, uint64_t *archives, uint64_t *bytes)
{
	struct db_stmt *st = catalog_prepare(
		r->db, "WITH live(id) AS (SELECT DISTINCT v.content_id FROM versions v WHERE v.content_id IS NOT NULL"
		       " AND EXISTS (SELECT 1 FROM generations g WHERE g.guest_id = v.guest_id AND g.seq BETWEEN"
		       " v.first_seq AND v.last_seq AND NOT EXISTS (SELECT 1 FROM temp.doomed d WHERE"
		       " d.guest_id = g.guest_id AND d.seq = g.seq))),"
		       " live_archives(id) AS (SELECT DISTINCT archive_id FROM contents WHERE id IN (SELECT id FROM live))"
		       " SELECT COUNT(*), COALESCE(SUM(size), 0) FROM archives WHERE id NOT IN (SELECT id FROM live_archives)");
	int rc = -1;

	if (st && db_step(st) == DB_ROW) {
		*archives = (uint64_t)db_column_int64(st, 0);
		*bytes = (uint64_t)db_column_int64(st, 1);
		rc = 0;
	} else if (st)
		cli_error("catalog", "cannot count what would be freed: %s", db_errmsg(r->db));
	db_finalize(st);
	return rc;
}

struct sweep {
	char **paths; /* archives to remove once the catalog no longer names them */
	size_t npaths;
	uint64_t freed;
	unsigned leftovers;
};

static void sweep_free(struct sweep *w)
{
	for (size_t i = 0; i < w->npaths; i++)
		free(w->paths[i]);
	free(w->paths);
}

/* Inside the caller's transaction: contents no version holds, disk shapes
 * no generation has and archives no content is in leave the catalog; the
 * archives' paths are kept for after the commit.  0 or -1. */
static int sweep_catalog(struct repo *r, struct sweep *w)
{
	struct db_stmt *st;
	int rc = -1;

	/* versions no generation holds (the forgotten ones' are gone already;
	 * these are what an older prune or damage left), then what they held */
	if (catalog_exec(r->db, "DELETE FROM versions WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE"
			   " g.guest_id = versions.guest_id AND g.seq BETWEEN versions.first_seq AND versions.last_seq);"
			   "DELETE FROM contents WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE"
			   " v.content_id = contents.id);"
			   "DELETE FROM shapes WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE g.shape_id = shapes.id);"
			   "CREATE TEMP TABLE swept AS SELECT id, path, size FROM archives WHERE id NOT IN"
			   " (SELECT DISTINCT archive_id FROM contents);") < 0)
		return -1;
	st = catalog_prepare(r->db, "SELECT path, size FROM temp.swept");
	while (st && db_step(st) == DB_ROW) {
		const char *path = db_column_text(st, 0);
		char **grown = realloc(w->paths, (w->npaths + 1) * sizeof(*w->paths));
		if (!grown)
			goto out;
		w->paths = grown;
		if (!archive_path_ok(path) || !(w->paths[w->npaths] = strdup(path))) {
			cli_error("catalog", "damaged or out of memory: an archive to remove has no path rawkit writes");
			goto out;
		}
		w->npaths++;
		w->freed += (uint64_t)db_column_int64(st, 1);
	}
	db_finalize(st);
	st = NULL;
	if (catalog_exec(r->db, "DELETE FROM archives WHERE id IN (SELECT id FROM temp.swept); DROP TABLE temp.swept;") < 0)
		goto out;
	rc = 0;
out:
	db_finalize(st);
	return rc;
}

/* After the commit: the files the catalog no longer names. */
static void sweep_files(struct repo *r, struct sweep *w)
{
	/* a prune that lost its lock (stopped for longer than its lease) may
	 * have a backup running beside it: nothing is removed then, the next
	 * prune does it (the catalog no longer names these archives) */
	if (repo_locks_held(r) < 0)
		return;
	for (size_t i = 0; i < w->npaths; i++)
		if (repo_unlink_archive(r, w->paths[i]) < 0 && errno != ENOENT)
			cli_warning(w->paths[i], "cannot remove: %s", strerror(errno));
	w->leftovers = remove_orphans(r);
	repo_sync_dir(r, "data");
	catalog_exec(r->db, "PRAGMA wal_checkpoint(TRUNCATE)");
}

/* The names of every guest (--all), in name order; NULL-ended. */
static char **all_guests(struct repo *r)
{
	struct db_stmt *st = catalog_prepare(r->db, "SELECT name FROM guests ORDER BY name");
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;

	while (st && v && db_step(st) == DB_ROW) {
		char **grown = realloc(v, (n + 2) * sizeof(char *));
		if (!grown || !(grown[n] = strdup(db_column_text(st, 0)))) {
			v = grown ? grown : v;
			v[n] = NULL;
			goto fail;
		}
		v = grown;
		v[++n] = NULL;
	}
	if (st && v) {
		db_finalize(st);
		return v;
	}
fail:
	cli_error(NULL, "cannot list the guests: %s", v ? db_errmsg(r->db) : "out of memory");
	db_finalize(st);
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void print_generations(const json_t *gens, bool dry_run)
{
	size_t i;
	json_t *o;

	json_array_foreach(gens, i, o) {
		const json_t *reasons = json_object_get(o, "reasons");
		bool keep = json_is_true(json_object_get(o, "keep"));
		size_t k;
		json_t *why;
		printf("%s@%-5lld %s  %-4s  %s", json_string_value(json_object_get(o, "guest")),
		       (long long)json_integer_value(json_object_get(o, "generation")),
		       json_string_value(json_object_get(o, "finished_iso")),
		       json_string_value(json_object_get(o, "level")),
		       keep ? "keep" : dry_run ? "would remove" : "remove");
		json_array_foreach(reasons, k, why)
			printf("%s%s", k ? ", " : " (", json_string_value(why));
		printf("%s\n", json_array_size(reasons) ? ")" : "");
	}
}

int cmd_prune(const struct prune_opts *o)
{
	struct repo r;
	struct sweep w = { 0 };
	char **guests = NULL;
	json_t *gens = json_array();
	size_t removed = 0, total = 0;
	uint64_t archives = 0;
	int status = RAWKIT_EXIT_FAILED, rc;

	if ((rc = repo_open(&r, o->repo, o->dry_run ? REPO_READ : REPO_EXCLUSIVE)) != 0) {
		json_decref(gens);
		return rc;
	}
	if (check_archive_paths(&r) < 0)
		goto out;
	if (o->guest) {
		guests = calloc(2, sizeof(char *));
		if (!guests || !(guests[0] = strdup(o->guest))) {
			cli_error(NULL, "out of memory");
			goto out;
		}
	} else if (!(guests = all_guests(&r)))
		goto out;
	if (catalog_exec(r.db, o->dry_run ? "CREATE TEMP TABLE doomed(guest_id INTEGER, seq INTEGER,"
				       " PRIMARY KEY(guest_id, seq))"
				     : "BEGIN IMMEDIATE") < 0)
		goto out;
	for (size_t i = 0; guests[i]; i++) {
		size_t n;
		if (forget_guest(&r, guests[i], &o->keep, o->dry_run, gens, &n) < 0)
			goto rollback;
		removed += n;
	}
	total = json_array_size(gens);
	if (o->dry_run) {
		if (would_free(&r, &archives, &w.freed) < 0)
			goto out;
	} else {
		if (sweep_catalog(&r, &w) < 0 || catalog_exec(r.db, "COMMIT") < 0)
			goto rollback;
		archives = w.npaths;
		sweep_files(&r, &w);
	}
	if (o->json) {
		json_t *obj = json_object();
		json_put(obj, "guest", o->guest ? json_text(o->guest) : json_null());
		json_put(obj, "dry_run", json_boolean(o->dry_run));
		json_put(obj, "generations", json_incref(gens));
		json_put(obj, "generations_removed", json_count(removed));
		json_put(obj, "archives_removed", json_count(archives));
		json_put(obj, "freed_bytes", json_count(w.freed));
		json_put(obj, "leftovers_removed", json_integer(w.leftovers));
		json_print(obj, RAWKIT_EXIT_DONE);
	} else if (!o->quiet) {
		char a[16];
		print_generations(gens, o->dry_run);
		printf("%s: %s %zu of %zu generations, %llu archives (%s)%s\n", o->guest ? o->guest : "all guests",
		       o->dry_run ? "would remove" : "removed", removed, total, (unsigned long long)archives,
		       cli_human(w.freed, a, sizeof(a)), w.leftovers ? ", and leftovers of interrupted backups" : "");
	}
	status = RAWKIT_EXIT_DONE;
	goto out;
rollback:
	if (!o->dry_run)
		db_rollback(r.db);
out:
	for (size_t i = 0; guests && guests[i]; i++)
		free(guests[i]);
	free(guests);
	sweep_free(&w);
	json_decref(gens);
	repo_close(&r);
	return status;
}

int prune_forget(struct repo *r, const char *guest, const struct retention *p, json_t **generations,
		 size_t *removed)
{
	json_t *gens = json_array();

	*generations = NULL;
	if (catalog_exec(r->db, "BEGIN IMMEDIATE") < 0) {
		json_decref(gens);
		return -1;
	}
	if (forget_guest(r, guest, p, false, gens, removed) < 0 || catalog_exec(r->db, "COMMIT") < 0) {
		db_rollback(r->db);
		json_decref(gens);
		return -1;
	}
	*generations = gens;
	return 0;
}

int prune_sweep(struct repo *r, uint64_t *archives, uint64_t *freed)
{
	struct sweep w = { 0 };
	int rc = -1;

	if (check_archive_paths(r) < 0 || catalog_exec(r->db, "BEGIN IMMEDIATE") < 0)
		goto out;
	if (sweep_catalog(r, &w) < 0 || catalog_exec(r->db, "COMMIT") < 0) {
		db_rollback(r->db);
		goto out;
	}
	sweep_files(r, &w);
	*archives = w.npaths;
	*freed = w.freed;
	rc = 0;
out:
	sweep_free(&w);
	return rc;
}
