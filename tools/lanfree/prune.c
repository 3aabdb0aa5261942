/* prune.c --- rawkit-lanfree prune: retention, then what nothing needs any more
 *
 * Which generations stay: the N newest (--keep-last), and the newest of
 * each of the last N days, ISO weeks and months that have one (as restic
 * and borg count them).  Then, in one transaction, versions no remaining
 * generation holds, contents no version holds, and archives no content is
 * in leave the catalog; the archive files are removed after the commit.
 * Prune takes the repository's exclusive lock, so it also clears what
 * interrupted backups left behind (REPO/tmp, unreferenced archives).
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

struct gen_row {
	int64_t seq, time;
	char level[8];
	bool keep;
};

enum bucket { DAY, WEEK, MONTH };

static void bucket_of(int64_t ns, enum bucket b, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&t, &tm)) /* a time from the catalog no calendar holds */
		memset(&tm, 0, sizeof(tm));
	if (b == DAY)
		strftime(out, size, "%Y-%m-%d", &tm);
	else if (b == WEEK)
		strftime(out, size, "%G-W%V", &tm);
	else
		strftime(out, size, "%Y-%m", &tm);
}

/* Keep the newest generation of each of the newest COUNT buckets. */
static void keep_buckets(struct gen_row *g, size_t n, int count, enum bucket b)
{
	char last[32] = "";
	int kept = 0;

	for (size_t i = 0; i < n && kept < count; i++) { /* newest first */
		char bucket[32];
		bucket_of(g[i].time, b, bucket, sizeof(bucket));
		if (strcmp(bucket, last)) {
			g[i].keep = true;
			snprintf(last, sizeof(last), "%s", bucket);
			kept++;
		}
	}
}

/* Remove files under data/ that no archive row names, and tmp/ leftovers. */
static unsigned remove_orphans(struct repo *r)
{
	sqlite3_stmt *st = db_prepare(r->db, "SELECT 1 FROM archives WHERE path = ?");
	unsigned removed = 0;
	DIR *top, *sub;
	struct dirent *e, *f;
	char rel[600];
	int fd;

	if (!st)
		return 0;
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
			sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_ROW && unlinkat(dirfd(sub), f->d_name, 0) == 0)
				removed++;
			sqlite3_reset(st);
		}
		if (sub)
			closedir(sub);
	}
	if (top)
		closedir(top);
	sqlite3_finalize(st);
	return removed;
}

/* Every archive path in the catalog has the shape backup writes: prune
 * removes files by these names, so one that could lead anywhere else
 * (absolute, "..", another directory) is damage and stops the prune
 * before anything changes.  Returns 0, or -1 with the message printed. */
static int check_archive_paths(struct repo *r)
{
	sqlite3_stmt *st = db_prepare(r->db, "SELECT id, path FROM archives ORDER BY id");
	int rc = st ? 0 : -1, step;

	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 1);
		char shown[120];
		if (!archive_path_ok(path)) {
			cli_error("catalog", "damaged: archive %lld has the path \"%s\", not one rawkit writes: "
				  "nothing pruned (run verify)", (long long)sqlite3_column_int64(st, 0),
				  archive_path_shown(path, shown, sizeof(shown)));
			rc = -1;
		}
	}
	if (rc == 0 && step != SQLITE_DONE) {
		cli_error("catalog", "cannot read the archives: %s", sqlite3_errmsg(r->db));
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/* What prune did (or, a dry run, would do): REMOVED lists the generations. */
static json_t *prune_json(const struct prune_opts *o, json_t *removed, size_t archives, uint64_t freed,
			  unsigned leftovers)
{
	json_t *obj = json_object();

	json_put(obj, "guest", json_text(o->guest));
	json_put(obj, "dry_run", json_boolean(o->dry_run));
	json_put(obj, "generations_removed", json_incref(removed));
	json_put(obj, "archives_removed", json_count(archives));
	json_put(obj, "freed_bytes", json_count(freed));
	json_put(obj, "leftovers_removed", json_integer(leftovers));
	return obj;
}

int cmd_prune(const struct prune_opts *o)
{
	struct repo r;
	struct gen_row *g = NULL;
	size_t n = 0, nremove = 0;
	sqlite3_stmt *st = NULL;
	int64_t guest_id;
	char **paths = NULL;
	size_t npaths = 0;
	uint64_t freed = 0;
	unsigned orphans = 0;
	json_t *removed;
	int status = RAWKIT_EXIT_FAILED;

	if (repo_open(&r, o->repo, o->dry_run ? REPO_READ : REPO_EXCLUSIVE) < 0)
		return RAWKIT_EXIT_FAILED;
	removed = json_array();
	guest_id = catalog_guest_id(r.db, o->guest);
	if (guest_id <= 0) {
		if (guest_id == 0)
			cli_error(o->guest, "no such guest in the repository");
		goto out;
	}
	if (check_archive_paths(&r) < 0)
		goto out;
	st = db_prepare(r.db, "SELECT seq, finished, level FROM generations WHERE guest_id = ? ORDER BY seq DESC");
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, guest_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct gen_row *grown = realloc(g, (n + 1) * sizeof(*g));
		if (!grown)
			goto out;
		g = grown;
		g[n].seq = sqlite3_column_int64(st, 0);
		g[n].time = sqlite3_column_int64(st, 1);
		snprintf(g[n].level, sizeof(g[n].level), "%s", sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "?");
		g[n].keep = (int)n < o->keep_last;
		n++;
	}
	sqlite3_finalize(st);
	st = NULL;
	keep_buckets(g, n, o->keep_daily, DAY);
	keep_buckets(g, n, o->keep_weekly, WEEK);
	keep_buckets(g, n, o->keep_monthly, MONTH);
	for (size_t i = 0; i < n; i++)
		nremove += !g[i].keep;
	for (size_t i = 0; i < n; i++) {
		if (g[i].keep)
			continue;
		if (o->json)
			json_array_append_new(removed, json_integer(g[i].seq));
		else if (!o->quiet)
			printf("%s %s@%lld (%s)\n", o->dry_run ? "would remove" : "removing", o->guest,
			       (long long)g[i].seq, g[i].level);
	}
	if (o->dry_run) {
		if (o->json)
			json_print(prune_json(o, removed, 0, 0, 0), RAWKIT_EXIT_DONE);
		else if (!o->quiet)
			printf("%s: %zu of %zu generations would be removed\n", o->guest, nremove, n);
		status = RAWKIT_EXIT_DONE;
		goto out;
	}
	if (db_exec(r.db, "BEGIN IMMEDIATE") < 0)
		goto out;
	st = db_prepare(r.db, "DELETE FROM generations WHERE guest_id = ? AND seq = ?");
	if (!st)
		goto rollback;
	for (size_t i = 0; i < n; i++) {
		if (g[i].keep)
			continue;
		sqlite3_bind_int64(st, 1, guest_id);
		sqlite3_bind_int64(st, 2, g[i].seq);
		if (sqlite3_step(st) != SQLITE_DONE) {
			cli_error("catalog", "cannot remove a generation: %s", sqlite3_errmsg(r.db));
			goto rollback;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_exec(r.db, "DELETE FROM versions WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE"
			  " g.guest_id = versions.guest_id AND g.seq BETWEEN versions.first_seq AND versions.last_seq);"
			  "DELETE FROM contents WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.content_id = contents.id);") < 0)
		goto rollback;
	st = db_prepare(r.db, "SELECT id, path, size FROM archives a WHERE NOT EXISTS"
			      " (SELECT 1 FROM contents c WHERE c.archive_id = a.id)");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char **grown = realloc(paths, (npaths + 1) * sizeof(*paths));
		if (!grown)
			goto rollback;
		paths = grown;
		const char *path = (const char *)sqlite3_column_text(st, 1);
		if (!archive_path_ok(path) || !(paths[npaths] = strdup(path))) {
			cli_error("catalog", "damaged or out of memory: an archive to remove has no path rawkit writes");
			goto rollback;
		}
		npaths++;
		freed += (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (db_exec(r.db, "DELETE FROM archives WHERE NOT EXISTS (SELECT 1 FROM contents c WHERE c.archive_id = archives.id);"
			  "COMMIT;") < 0)
		goto rollback;
	/* The catalog no longer names them: now the files can go. */
	for (size_t i = 0; i < npaths; i++)
		if (paths[i] && repo_unlink_archive(&r, paths[i]) < 0 && errno != ENOENT)
			cli_warning(paths[i], "cannot remove: %s", strerror(errno));
	orphans = remove_orphans(&r);
	repo_sync_dir(&r, "data");
	db_exec(r.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (o->json) {
		json_print(prune_json(o, removed, npaths, freed, orphans), RAWKIT_EXIT_DONE);
	} else if (!o->quiet) {
		char a[16];
		printf("%s: removed %zu of %zu generations, %zu archives (%s)%s\n", o->guest, nremove, n, npaths,
		       cli_human(freed, a, sizeof(a)), orphans ? ", and leftovers of interrupted backups" : "");
	}
	status = RAWKIT_EXIT_DONE;
	goto out;
rollback:
	sqlite3_finalize(st); /* a read still stepping would keep the transaction */
	st = NULL;
	sqlite3_exec(r.db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	free(g);
	json_decref(removed);
	repo_close(&r);
	return status;
}
