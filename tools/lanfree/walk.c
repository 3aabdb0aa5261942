/* walk.c --- one volume of a backup: scan the inodes, walk the tree, decide
 * what changed
 *
 * The inode tables are read once, in order (imgfmt_fs_scan).  Then the tree
 * is walked from the root: a directory whose inode is unchanged since the
 * base generation takes its entries from the catalog instead of the disk;
 * a file whose inode is unchanged (number, generation, size, mtime, ctime)
 * continues its version; only the rest is read.  A full backup reads
 * everything (and stores only what the repository does not have).
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 4096

static int scan_one(const struct imgfmt_stat *st, void *arg)
{
	struct walk *w = arg;

	if (w->nscan == w->capscan) {
		size_t cap = w->capscan ? w->capscan * 2 : 4096;
		struct imgfmt_stat *grown = realloc(w->scan, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		w->scan = grown;
		w->capscan = cap;
	}
	w->scan[w->nscan] = *st;
	if (imap_put(&w->scan_by_ino, st->ino, (uint32_t)w->nscan) < 0)
		return -ENOMEM;
	w->nscan++;
	return 0;
}

static const struct imgfmt_stat *scanned(struct walk *w, uint64_t ino)
{
	uint32_t i;

	return imap_get(&w->scan_by_ino, ino, &i) ? &w->scan[i] : NULL;
}

/* Same inode, same content and metadata as the base version, and not
 * changed in the second the base generation started or later: a filesystem
 * that keeps whole seconds could hide a change made in that second (git's
 * "racily clean" entries). */
static bool unchanged(const struct walk *w, const struct base_version *v, const struct imgfmt_stat *st)
{
	int64_t ctime = ts_ns(st->ctime.tv_sec, st->ctime.tv_nsec);

	return !v->has_error && v->ino == st->ino && v->igen == st->generation && v->size == st->size &&
	       v->mode == st->mode && v->mtime == ts_ns(st->mtime.tv_sec, st->mtime.tv_nsec) && v->ctime == ctime &&
	       ctime < w->racy_after;
}

static bool excluded(struct walk *w, const char *path)
{
	const struct backup_opts *o = w->bk->o;
	char *full;
	bool hit = false;

	if (!o->nexcludes)
		return false;
	full = version_path(w->volume, NULL, 0, path, strlen(path));
	for (size_t i = 0; full && i < o->nexcludes && !hit; i++) {
		/* the whole path, or any tail of it starting at a component */
		for (const char *p = full; p && !hit; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
			hit = fnmatch(o->excludes[i], p, 0) == 0;
	}
	free(full);
	return hit;
}

static int path_set(struct walk *w, size_t at, const char *name, size_t len)
{
	size_t need = at + 1 + len + 1;

	if (need > w->path_cap) {
		size_t cap = w->path_cap ? w->path_cap : 4096;
		char *grown;
		while (cap < need)
			cap *= 2;
		grown = realloc(w->path, cap);
		if (!grown)
			return -1;
		w->path = grown;
		w->path_cap = cap;
	}
	if (at)
		w->path[at++] = '/';
	memcpy(w->path + at, name, len);
	w->path[at + len] = '\0';
	return 0;
}

static int xattr_collect(const char *name, const void *value, size_t size, void *arg)
{
	return xattr_blob_add(arg, name, value, size) < 0 ? -ENOMEM : 0;
}

struct stream_ctx {
	struct walk *w;
	uint64_t ino;
	struct blob *xattrs;
	const char *path;
};

/* NTFS alternate data streams are kept as user.NAME attributes, as an
 * ntfs-3g mount with streams_interface=xattr shows them. */
static int stream_collect(const char *name, uint64_t size, void *arg)
{
	struct stream_ctx *s = arg;
	char xname[300];
	ssize_t n;

	if (size > 65536) {
		backup_warn(s->w->bk, s->path, "stream %s (%llu bytes) is too large to keep as an attribute", name,
			    (unsigned long long)size);
		return 0;
	}
	n = imgfmt_fs_pread(s->w->fs, s->ino, name, s->w->bk->buf, (size_t)size, 0);
	if (n < 0) {
		backup_warn(s->w->bk, s->path, "stream %s: %s", name, imgfmt_fs_error(s->w->fs));
		return 0;
	}
	snprintf(xname, sizeof(xname), "user.%s", name);
	return xattr_blob_add(s->xattrs, xname, s->w->bk->buf, (size_t)n) < 0 ? -ENOMEM : 0;
}

static int visit(struct walk *w, size_t dir_len, const char *name, size_t name_len, uint64_t ino, unsigned depth);

static int first_run(uint64_t logical, uint64_t length, uint64_t physical, void *arg)
{
	(void)logical, (void)length;
	*(uint64_t *)arg = physical;
	return 1; /* the first one is enough */
}

/* Queue INO's content for read_pending(), once per inode (hard links share
 * it), keyed by where its data starts on the disk. */
static int queue_content(struct walk *w, const struct imgfmt_stat *st, int64_t rowid)
{
	uint64_t physical = IMGFMT_NO_PHYSICAL;
	uint32_t seen;

	if (imap_get(&w->pending_ino, st->ino, &seen))
		return 0;
	imgfmt_fs_data_runs(w->fs, st->ino, first_run, &physical);
	if (w->npending == w->cappending) {
		size_t cap = w->cappending ? w->cappending * 2 : 1024;
		struct pending *grown = realloc(w->pending, cap * sizeof(*grown));
		if (!grown)
			return -1;
		w->pending = grown;
		w->cappending = cap;
	}
	w->pending[w->npending] = (struct pending){ physical, st->ino, rowid };
	return imap_put(&w->pending_ino, st->ino, (uint32_t)w->npending++);
}

/* Record a changed (or new) entry, reading what it needs. */
static int record_new(struct walk *w, size_t dir_len, size_t path_len, const struct imgfmt_stat *st,
		      const struct base_version *prev)
{
	struct backup *bk = w->bk;
	struct blob xattrs = { 0 };
	char target[4096], *symlink = NULL, *error = NULL;
	unsigned char sha[32];
	const unsigned char *sha_p = NULL;
	bool pending = false;
	int64_t rowid = 0;
	const char *name = path_len ? w->path + dir_len + (dir_len ? 1 : 0) : "";
	size_t name_len = path_len ? path_len - dir_len - (dir_len ? 1 : 0) : 0;
	int rc;

	rc = imgfmt_fs_xattrs(w->fs, st->ino, xattr_collect, &xattrs);
	if (rc == 0) {
		struct stream_ctx sc = { w, st->ino, &xattrs, w->path };
		rc = imgfmt_fs_streams(w->fs, st->ino, stream_collect, &sc);
	}
	if (rc == -ENOMEM) {
		free(xattrs.data);
		cli_error(w->path, "out of memory");
		return -1;
	}
	if (rc < 0)
		backup_warn(bk, w->path[0] ? w->path : "/", "extended attributes: %s", imgfmt_fs_error(w->fs));
	if (S_ISLNK(st->mode)) {
		if (imgfmt_fs_readlink(w->fs, st->ino, target, sizeof(target)) < 0) {
			backup_warn(bk, w->path, "cannot read link: %s", imgfmt_fs_error(w->fs));
			error = "unreadable symbolic link";
		} else {
			symlink = target;
		}
	} else if (S_ISREG(st->mode) && st->size > 0) {
		if (prev && !prev->has_error && prev->content_id && w->base_usable && prev->ino == st->ino &&
		    prev->igen == st->generation && prev->size == st->size &&
		    prev->mtime == ts_ns(st->mtime.tv_sec, st->mtime.tv_nsec) &&
		    ts_ns(st->mtime.tv_sec, st->mtime.tv_nsec) < w->racy_after) {
			/* same inode, same data, metadata changed (or renamed): no read */
			sqlite3_reset(bk->q_cid);
			sqlite3_bind_int64(bk->q_cid, 1, prev->content_id);
			if (sqlite3_step(bk->q_cid) == SQLITE_ROW) {
				memcpy(sha, sqlite3_column_blob(bk->q_cid, 0), 32);
				sha_p = sha;
			}
			sqlite3_reset(bk->q_cid);
		}
		pending = !sha_p;
	}
	rc = stage_new(w, w->path, dir_len, name, name_len, st, symlink, &xattrs, sha_p, error, pending, &rowid);
	free(xattrs.data);
	if (rc == 0 && pending)
		rc = queue_content(w, st, rowid);
	return rc;
}

/* Entries of directory DIR_INO: from the base when the directory did not
 * change (and every entry's inode is still in use), else from the disk. */
struct child {
	char *name;
	size_t len;
	uint64_t ino;
};
struct children {
	struct child *c;
	size_t n, cap;
};

static int child_add(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct children *cs = arg;
	(void)type;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 32;
		struct child *grown = realloc(cs->c, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		cs->c = grown;
		cs->cap = cap;
	}
	cs->c[cs->n].name = malloc(len ? len : 1);
	if (!cs->c[cs->n].name)
		return -ENOMEM;
	memcpy(cs->c[cs->n].name, name, len);
	cs->c[cs->n].len = len;
	cs->c[cs->n].ino = ino;
	cs->n++;
	return 0;
}

static void children_free(struct children *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		free(cs->c[i].name);
	free(cs->c);
}

static int children_from_base(struct walk *w, size_t path_len, struct children *cs)
{
	uint32_t i;

	if (!smap_get(&w->base.first_of, w->path, path_len, &i))
		return 0; /* an empty directory */
	for (int64_t k = i; k >= 0; k = (int64_t)w->base.v[k].next_sibling - 1) {
		const struct base_version *v = &w->base.v[k];
		size_t len;
		const char *p = base_path(&w->base, (uint32_t)k, &len);
		size_t skip = v->dir_len + (v->dir_len ? 1 : 0);
		if (!scanned(w, v->ino))
			return -1; /* stale: read the directory itself */
		if (child_add(p + skip, len - skip, v->ino, DT_UNKNOWN, cs) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int walk_children(struct walk *w, size_t path_len, const struct imgfmt_stat *st, bool dir_unchanged,
			 unsigned depth)
{
	struct children cs = { 0 };
	int rc = -1;

	if (dir_unchanged) {
		rc = children_from_base(w, path_len, &cs);
		if (rc == -1) {
			children_free(&cs);
			memset(&cs, 0, sizeof(cs));
		}
	}
	if (rc != 0) {
		rc = imgfmt_fs_readdir(w->fs, st->ino, child_add, &cs);
		if (rc < 0) {
			backup_warn(w->bk, path_len ? w->path : "/", "cannot read directory: %s",
				    rc == -ENOMEM ? "out of memory" : imgfmt_fs_error(w->fs));
			children_free(&cs);
			return rc == -ENOMEM ? -1 : 0;
		}
	}
	for (size_t i = 0; i < cs.n && rc == 0; i++) {
		rc = visit(w, path_len, cs.c[i].name, cs.c[i].len, cs.c[i].ino, depth + 1);
		w->path[path_len] = '\0';
	}
	children_free(&cs);
	return rc;
}

static bool name_ok(const char *name, size_t len)
{
	return len > 0 && len <= 255 && memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL &&
	       !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* One entry: NAME inside the directory whose path is w->path[0..dir_len). */
static int visit(struct walk *w, size_t dir_len, const char *name, size_t name_len, uint64_t ino, unsigned depth)
{
	struct backup *bk = w->bk;
	const struct imgfmt_stat *st;
	const struct base_version *prev = NULL;
	size_t path_len;
	int64_t bi;
	bool same;

	if (depth > 0) {
		if (!name_ok(name, name_len)) {
			backup_warn(bk, w->path[0] ? w->path : "/", "an entry with an unsafe name was left out");
			return 0;
		}
		if (path_set(w, dir_len, name, name_len) < 0) {
			cli_error(w->volume, "out of memory");
			return -1;
		}
		path_len = dir_len + (dir_len ? 1 : 0) + name_len;
		if (excluded(w, w->path))
			return 0;
	} else {
		path_len = 0;
		w->path[0] = '\0';
	}
	st = scanned(w, ino);
	if (!st) {
		backup_warn(bk, path_len ? w->path : "/", "entry points to inode %llu, which is unused or damaged: left out",
			    (unsigned long long)ino);
		return 0;
	}
	bi = base_find(&w->base, w->path, path_len);
	if (bi >= 0)
		prev = &w->base.v[bi];
	else if (w->base_usable) {
		uint32_t j; /* a rename: the same inode elsewhere in the base */
		if (imap_get(&w->base.by_ino, ino, &j))
			prev = &w->base.v[j];
	}
	same = w->base_usable && bi >= 0 && unchanged(w, prev, st);
	bk->files++;
	if (S_ISREG(st->mode))
		bk->bytes_total += (int64_t)st->size;
	if (same) {
		if (stage_id(bk, prev->last_seq == SEQ_OPEN ? bk->ins_cont : bk->ins_copyv, prev->id) < 0)
			return -1;
	} else if (record_new(w, dir_len, path_len, st, prev) < 0) {
		return -1;
	}
	if (!S_ISDIR(st->mode))
		return 0;
	if (depth >= MAX_DEPTH) {
		backup_warn(bk, w->path, "directories nested deeper than %d were left out", MAX_DEPTH);
		return 0;
	}
	{
		uint32_t seen;
		if (imap_get(&w->dirs_seen, ino, &seen)) {
			backup_warn(bk, path_len ? w->path : "/", "directory loop (inode %llu) left out",
				    (unsigned long long)ino);
			return 0;
		}
		imap_put(&w->dirs_seen, ino, 0);
	}
	return walk_children(w, path_len, st, same && bk->same_excludes, depth);
}

/* Bytes the walk will read: regular files whose inode changed. */
static uint64_t bytes_to_read(struct walk *w)
{
	uint64_t total = 0;

	for (size_t i = 0; i < w->nscan; i++) {
		const struct imgfmt_stat *st = &w->scan[i];
		uint32_t j;
		if (!S_ISREG(st->mode))
			continue;
		if (w->base_usable && imap_get(&w->base.by_ino, st->ino, &j) && unchanged(w, &w->base.v[j], st))
			continue;
		total += st->size;
	}
	return total;
}

/* The filesystem the base generation saw in VOLUME, by UUID. */
static bool same_filesystem(struct backup *bk, const char *volume, const char *fs_uuid)
{
	sqlite3_stmt *st = db_prepare(bk->db, "SELECT v.uuid FROM volumes v JOIN generations g ON g.id = v.gen_id"
					      " WHERE g.guest_id = ? AND g.seq = ? AND v.name = ?");
	bool same = false;

	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, bk->guest_id);
	sqlite3_bind_int64(st, 2, bk->base_seq);
	sqlite3_bind_text(st, 3, volume, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = !strcmp((const char *)sqlite3_column_text(st, 0), fs_uuid);
	sqlite3_finalize(st);
	return same;
}

int walk_volume(struct backup *bk, imgfmt_fs *fs, const char *volume, const char *fs_uuid)
{
	struct walk w = { .bk = bk, .fs = fs, .volume = volume };
	int rc;

	/* Inode identities mean something only on the same filesystem. */
	w.base_usable = strcmp(bk->level, "full") != 0 && same_filesystem(bk, volume, fs_uuid);
	/* the whole second the base started in, and after, is "racy" */
	w.racy_after = bk->base_started - bk->base_started % 1000000000;
	w.path_cap = 4096;
	w.path = calloc(1, w.path_cap);
	/* A full backup compares with nothing: no base to load. */
	if (!w.path || base_load(&w.base, bk->db, bk->guest_id, volume, w.base_usable ? bk->base_seq : 0) < 0) {
		rc = -1;
		goto out;
	}
	/* sized once: doubling would hold twice the inodes at the peak */
	w.capscan = (size_t)imgfmt_fs_files(fs) + 64;
	w.scan = malloc(w.capscan * sizeof(*w.scan));
	if (!w.scan) {
		cli_error(volume, "out of memory");
		rc = -1;
		goto out;
	}
	rc = imgfmt_fs_scan(fs, scan_one, &w);
	if (rc < 0) {
		cli_error(volume, "%s", rc == -ENOMEM ? "out of memory" : imgfmt_fs_error(fs));
		rc = -1;
		goto out;
	}
	bk->bytes_todo += bytes_to_read(&w);
	rc = visit(&w, 0, "", 0, imgfmt_fs_root(fs), 0);
	if (rc == 0)
		rc = read_pending(&w);
out:
	base_free(&w.base);
	imap_free(&w.scan_by_ino);
	imap_free(&w.dirs_seen);
	imap_free(&w.pending_ino);
	free(w.pending);
	free(w.scan);
	free(w.path);
	return rc;
}
