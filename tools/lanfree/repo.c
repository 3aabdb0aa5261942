/* repo.c --- a lanfree repository: directory layout, locks, catalog handle
 *
 *   REPO/catalog.db        SQLite catalog (WAL), or
 *   REPO/catalog           the PostgreSQL database holding the catalog: its
 *                          connection string (a URI or libpq's host=...
 *                          dbname=...), one line; servers that back up
 *                          into the repository share its directory
 *   REPO/data/GUEST/       archives (SEQ-TAG.tar.zst ...), referenced by the catalog
 *   REPO/tmp/              archives being written (never referenced)
 *   REPO/lock              shared by backup, restore, verify; exclusive for prune
 *   REPO/locks/GUEST.lock  one backup of a guest at a time
 *
 * REPO "rados:POOL[/NAMESPACE]" is a repository in RADOS: radosrepo.c.
 */
#include "lanfree.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int repo_lock_wait;

/* flock FD as OP, waiting up to repo_lock_wait seconds for a holder to let
 * go (polling: flock has no timeout); 0, or -1 with errno. */
static int lock_waiting(int fd, int op)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	double deadline = cli_now() + repo_lock_wait;

	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || cli_now() >= deadline)
			return -1;
		nanosleep(&pause, NULL);
	}
}

bool guest_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

int repo_sync_dir(struct repo *r, const char *rel)
{
	int fd, rc = 0;

	if (r->rados)
		return 0; /* (objects are durable when written) */
	fd = openat(r->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int sync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = (fd < 0 || fsync(fd) < 0) ? -1 : 0;

	if (fd >= 0)
		close(fd);
	return rc;
}

/* REPO/catalog: DSN on a line of its own, durable (0600: it may hold a
 * password). */
static int write_catalog_file(const char *path, const char *dsn)
{
	char *name;
	FILE *f;
	int fd, rc = -1;

	if (asprintf(&name, "%s/catalog", path) < 0)
		return -1;
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	free(name);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fprintf(f, "%s\n", dsn) >= 0 && fflush(f) == 0 && fsync(fd) == 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

char *repo_catalog_target(const char *path)
{
	char *name = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (asprintf(&name, "%s/catalog", path) < 0)
		return NULL;
	f = fopen(name, "re");
	free(name);
	if (!f) {
		if (errno != ENOENT)
			return NULL;
		return asprintf(&name, "%s/catalog.db", path) < 0 ? NULL : name;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n <= 0 || !db_is_dsn(line)) {
		free(line);
		errno = EINVAL;
		return NULL;
	}
	return line;
}

/* The PostgreSQL database DSN, opened into *DB, holds no catalog yet: a
 * catalog names archives in its own repository's data/, so two
 * repositories cannot share one (the servers backing up into one
 * repository share its directory and its REPO/catalog).  0 or -1
 * (printed). */
int catalog_database_unused(const char *path, const char *dsn, struct db **db)
{
	int has;

	if (db_open(dsn, DB_CREATE, db) < 0) {
		cli_error(path, "cannot open the catalog's database: %s", db_errmsg(*db));
		return -1;
	}
	has = db_has_column(*db, "meta", "value");
	if (has < 0) {
		cli_error(path, "cannot read the catalog's database: %s", db_errmsg(*db));
		return -1;
	}
	if (has) {
		cli_error(path, "cannot create repository: the database already holds a rawkit-lanfree catalog "
				"(of another repository)");
		return -1;
	}
	return 0;
}

int repo_init(const char *path)
{
	return repo_init_catalog(path, NULL);
}

int repo_init_catalog(const char *path, const char *dsn)
{
	char *sub = NULL, *db_path = NULL, *parent, *tmp;
	struct db *db = NULL;
	DIR *d;
	int rc = -1, lock_fd;

	if (imgfmt_rados_is_spec(path))
		return rados_repo_init(path, dsn);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		cli_error(path, "cannot create repository: %s", strerror(errno));
		return -1;
	}
	d = opendir(path);
	if (!d) {
		cli_error(path, "cannot open repository directory: %s", strerror(errno));
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			cli_error(path, "cannot create repository: directory is not empty");
			return -1;
		}
	}
	closedir(d);
	/* the database first: a refusal leaves the directory empty */
	if (dsn && catalog_database_unused(path, dsn, &db) < 0)
		goto out;
	if (asprintf(&sub, "%s/data", path) < 0 || mkdir(sub, 0700) < 0)
		goto fail;
	free(sub);
	if (asprintf(&sub, "%s/tmp", path) < 0 || mkdir(sub, 0700) < 0)
		goto fail;
	free(sub);
	if (asprintf(&sub, "%s/locks", path) < 0 || mkdir(sub, 0700) < 0)
		goto fail;
	free(sub);
	if (asprintf(&sub, "%s/lock", path) < 0 || (lock_fd = open(sub, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		goto fail;
	close(lock_fd);
	free(sub);
	sub = NULL;
	if (dsn) {
		if (catalog_create(db) < 0)
			goto out;
		if (write_catalog_file(path, dsn) < 0)
			goto fail;
	} else {
		if (asprintf(&db_path, "%s/catalog.db", path) < 0)
			goto fail;
		if (db_open(db_path, DB_CREATE, &db) < 0) {
			cli_error(path, "cannot create catalog: %s", db_errmsg(db));
			goto out;
		}
		if (catalog_create(db) < 0)
			goto out;
	}
	if (sync_path(path) < 0)
		goto fail;
	/* and the directory holding the repository */
	tmp = strdup(path);
	if (tmp) {
		parent = dirname(tmp);
		sync_path(parent);
		free(tmp);
	}
	rc = 0;
	goto out;
fail:
	cli_error(path, "cannot create repository: %s", strerror(errno));
out:
	db_close(db);
	free(sub);
	free(db_path);
	return rc;
}

/* Open the catalog TARGET (db_open()'s) of a repository opened with LOCK;
 * 0 or the exit status (message printed). */
static int open_catalog(struct repo *r, const char *path, const char *target, enum repo_lock lock)
{
	if (db_open(target, lock == REPO_READ ? DB_READ : DB_WRITE, &r->db) < 0) {
		cli_error(path, "cannot open catalog: %s", db_errmsg(r->db));
		return RAWKIT_EXIT_FAILED;
	}
	if ((lock != REPO_READ && catalog_exec(r->db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;") < 0) ||
	    catalog_check_schema(r->db, path) < 0 || (lock != REPO_READ && catalog_upgrade(r->db) < 0))
		return RAWKIT_EXIT_FAILED;
	/* A reader sees one snapshot of the catalog from its first query to
	 * its close: rawkit-lanfree run forgets generations under the shared
	 * lock, and an export or restore must not see one half gone. */
	if (lock == REPO_READ && catalog_exec(r->db, "BEGIN") < 0)
		return RAWKIT_EXIT_FAILED;
	return 0;
}

int repo_open(struct repo *r, const char *path, enum repo_lock lock)
{
	struct stat st;
	int status = RAWKIT_EXIT_FAILED;

	memset(r, 0, sizeof(*r));
	r->lock_fd = r->guest_lock_fd = r->dirfd = -1;
	if (imgfmt_rados_is_spec(path)) {
		if ((status = rados_repo_open(r, path, lock, &r->catalog)) != 0 || !(r->path = strdup(path)))
			goto fail;
		if ((status = open_catalog(r, path, r->catalog, lock)) != 0)
			goto fail;
		return 0;
	}
	r->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		cli_error(path, "cannot open repository: %s", strerror(errno));
		return RAWKIT_EXIT_FAILED;
	}
	if ((fstatat(r->dirfd, "catalog.db", &st, 0) < 0 && fstatat(r->dirfd, "catalog", &st, 0) < 0) ||
	    fstatat(r->dirfd, "data", &st, 0) < 0) {
		cli_error(path, "not a rawkit-lanfree repository (no catalog.db; create one with 'rawkit-lanfree init')");
		goto fail;
	}
	r->path = strdup(path);
	r->lock_fd = lock == REPO_READ ? openat(r->dirfd, "lock", O_RDONLY | O_CLOEXEC)
				       : openat(r->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (!r->path || r->lock_fd < 0) {
		cli_error(path, "cannot open the repository lock: %s", strerror(errno));
		goto fail;
	}
	if (lock_waiting(r->lock_fd, lock == REPO_EXCLUSIVE ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EWOULDBLOCK) {
			cli_error(path, "cannot lock the repository: %s", strerror(errno));
			goto fail;
		}
		cli_error(path, lock == REPO_EXCLUSIVE ? "repository busy: a backup, restore, verify, export or mount is using it"
						       : "repository busy: a prune is running");
		status = RAWKIT_EXIT_BUSY;
		goto fail;
	}
	{
		char *target = repo_catalog_target(path);
		if (!target) {
			cli_error(path, "cannot read the catalog's name: %s",
				  errno == EINVAL ? "REPO/catalog holds no PostgreSQL connection string" : strerror(errno));
			goto fail;
		}
		status = open_catalog(r, path, target, lock);
		free(target);
		if (status)
			goto fail;
	}
	return 0;
fail:
	repo_close(r);
	return status;
}

int repo_lock_guest(struct repo *r, const char *guest)
{
	char name[160];

	if (r->rados)
		return rados_repo_lock_guest(r, guest);
	snprintf(name, sizeof(name), "locks/%s.lock", guest);
	r->guest_lock_fd = openat(r->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->guest_lock_fd < 0) {
		cli_error(r->path, "cannot open the lock of %s: %s", guest, strerror(errno));
		return RAWKIT_EXIT_FAILED;
	}
	if (lock_waiting(r->guest_lock_fd, LOCK_EX) < 0) {
		if (errno != EWOULDBLOCK) {
			cli_error(guest, "cannot lock the guest: %s", strerror(errno));
			return RAWKIT_EXIT_FAILED;
		}
		cli_error(guest, "busy: another backup or prune of this guest is running");
		return RAWKIT_EXIT_BUSY;
	}
	return 0;
}

int repo_locks_held(struct repo *r)
{
	if (!r->rados || imgfmt_rados_locks_held(r->rados) == 0)
		return 0;
	cli_error(r->path, "the repository's lock is lost (was the process stopped, or the cluster out of reach, for "
			   "longer than its lease?): %s", imgfmt_rados_error(r->rados));
	return -1;
}

void repo_forget(struct repo *r)
{
	if (r->rados)
		archfile_unregister(r->rados);
	free(r->catalog);
	free(r->path);
	if (r->guest_lock_fd >= 0)
		close(r->guest_lock_fd);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	memset(r, 0, sizeof(*r));
	r->dirfd = r->lock_fd = r->guest_lock_fd = -1;
}

void repo_close(struct repo *r)
{
	db_close(r->db);
	rados_repo_close(r); /* (after the catalog: its locks go last) */
	repo_forget(r);      /* the rest */
}

/* ---- archive names from the catalog ---- */

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

/* SEQ-TAG.SUFFIX: a decimal sequence number, 8 hex digits, a known suffix. */
static bool archive_name_ok(const char *name)
{
	static const char *const suffixes[] = { ".tar.zst", ".tar.gz", ".tar" };
	const char *dash = strchr(name, '-');
	size_t seq_len = dash ? (size_t)(dash - name) : 0;

	if (seq_len == 0 || seq_len > 19 || !all_of(name, seq_len, "0123456789") ||
	    !all_of(dash + 1, 8, "0123456789abcdef"))
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcmp(dash + 9, suffixes[i]))
			return true;
	return false;
}

bool archive_path_ok(const char *rel)
{
	char guest[130];
	const char *g, *slash;

	if (!rel || strncmp(rel, "data/", 5))
		return false;
	g = rel + 5;
	slash = strchr(g, '/');
	if (!slash || (size_t)(slash - g) >= sizeof(guest))
		return false;
	memcpy(guest, g, (size_t)(slash - g));
	guest[slash - g] = '\0';
	/* guest_name_ok() refuses "", "." and ".." (a leading dot) and '/' */
	return guest_name_ok(guest) && archive_name_ok(slash + 1);
}

const char *archive_path_shown(const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s", rel ? rel : "(null)");
	cli_sanitize(buf);
	return buf;
}

/* The directory data/GUEST of archive REL, opened without following links;
 * *NAME points at the archive's name inside REL. */
static int open_archive_dir(struct repo *r, const char *rel, const char **name)
{
	char guest[130];
	const char *g = rel + 5, *slash;
	int data, dir;

	if (!archive_path_ok(rel)) {
		errno = EINVAL;
		return -1;
	}
	slash = strchr(g, '/');
	memcpy(guest, g, (size_t)(slash - g));
	guest[slash - g] = '\0';
	*name = slash + 1;
	data = openat(r->dirfd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (data < 0)
		return -1;
	dir = openat(data, guest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(data);
	return dir;
}

int repo_open_archive(struct repo *r, const char *rel)
{
	const char *name;
	int dir = open_archive_dir(r, rel, &name), fd, saved;

	if (dir < 0)
		return -1;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	close(dir);
	errno = saved;
	return fd;
}

int repo_unlink_archive(struct repo *r, const char *rel)
{
	const char *name;
	int dir, rc, saved;

	if (r->rados)
		return rados_repo_unlink_archive(r, rel);
	dir = open_archive_dir(r, rel, &name);
	if (dir < 0)
		return -1;
	rc = unlinkat(dir, name, 0);
	saved = errno;
	close(dir);
	errno = saved;
	return rc;
}
