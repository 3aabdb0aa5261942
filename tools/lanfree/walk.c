/* walk.c --- one volume of a backup: scan the inodes, walk the tree, decide
 * what changed
 *
 * The inode tables are read once, in order (imgfmt_fs_scan).  Then the tree
 * is walked from the root.  Every directory's entries are read from the
 * disk: their checksum, not the directory's times, says whether it changed
 * (an offline tool adds an entry without touching them).  A file whose
 * inode is unchanged (number, generation, size, mtime, ctime) continues its
 * version; only the rest is read.  A full backup reads
 * everything (and stores only what the repository does not have).
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/sha.h>
#include <pthread.h>
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
 * it), keyed by where its data starts on the disk (PHYSICAL). */
static int queue_content(struct walk *w, const struct imgfmt_stat *st, uint64_t physical, int64_t rowid)
{
	if (w->npending == w->cappending) {
		size_t cap = w->cappending ? w->cappending * 2 : 1024;
		struct pending *grown = realloc(w->pending, cap * sizeof(*grown));
		if (!grown)
			return -1;
		w->pending = grown;
		w->cappending = cap;
	}
	w->pending[w->npending] = (struct pending){ .physical = physical, .ino = st->ino, .rowid = rowid };
	return imap_put(&w->pending_ino, st->ino, (uint32_t)w->npending++);
}

/* Record a changed (or new) entry, reading what it needs. */
static int record_new(struct walk *w, size_t dir_len, size_t path_len, const struct imgfmt_stat *st,
		      const struct base_version *prev, int64_t *rowid_out)
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
			db_reset(bk->q_cid);
			db_bind_int64(bk->q_cid, 1, prev->content_id);
			if (db_step(bk->q_cid) == DB_ROW) {
				memcpy(sha, db_column_blob(bk->q_cid, 0), 32);
				sha_p = sha;
			}
			db_reset(bk->q_cid);
		}
		pending = !sha_p;
	}
	/* the first link of an inode to read is the one queued */
	uint64_t physical = IMGFMT_NO_PHYSICAL;
	uint32_t seen;
	bool queue = pending && !imap_get(&w->pending_ino, st->ino, &seen);
	if (queue)
		imgfmt_fs_data_runs(w->fs, st->ino, first_run, &physical);
	rc = stage_new(w, w->path, dir_len, name, name_len, st, symlink, &xattrs, sha_p, error, pending,
		       queue ? pending_key(physical) : -1, &rowid);
	free(xattrs.data);
	if (rc == 0 && queue)
		rc = queue_content(w, st, physical, rowid);
	*rowid_out = rowid;
	return rc;
}

/* Entries of directory DIR_INO: from the base when the directory did not
 * change (and every entry's inode is still in use), else from the disk. */
int children_add(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
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

void children_free(struct children *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		free(cs->c[i].name);
	free(cs->c);
}

/* The checksum of a directory's content: its entries as the disk lists
 * them (inode, name length, name).  Times alone miss an entry added
 * offline (debugfs, libguestfs, an image edited by rawkit-clone) without
 * touching the directory's mtime/ctime; the entries are read anyway. */
static int children_sum(struct walk *w, const struct children *cs, unsigned char sum[32])
{
	w->sum_buf.len = 0;
	for (size_t i = 0; i < cs->n; i++) {
		unsigned char head[10];
		for (int b = 0; b < 8; b++)
			head[b] = (unsigned char)(cs->c[i].ino >> (8 * b));
		head[8] = (unsigned char)cs->c[i].len;
		head[9] = (unsigned char)(cs->c[i].len >> 8);
		if (blob_append(&w->sum_buf, head, sizeof(head)) < 0 ||
		    blob_append(&w->sum_buf, cs->c[i].name, cs->c[i].len) < 0)
			return -ENOMEM;
	}
	SHA256(w->sum_buf.data ? w->sum_buf.data : (const unsigned char *)"", w->sum_buf.len, sum);
	return 0;
}

/* Read directory INO's entries into CS and their checksum into SUM:
 * 1 read, 0 unreadable (warning printed, CS empty), -1 out of memory. */
static int read_children(struct walk *w, size_t path_len, uint64_t ino, struct children *cs, unsigned char sum[32])
{
	int rc = imgfmt_fs_readdir(w->fs, ino, children_add, cs);

	if (rc == 0)
		rc = children_sum(w, cs, sum);
	if (rc == 0)
		return 1;
	children_free(cs);
	memset(cs, 0, sizeof(*cs));
	if (rc == -ENOMEM) {
		cli_error(path_len ? w->path : "/", "out of memory");
		return -1;
	}
	backup_warn(w->bk, path_len ? w->path : "/", "cannot read directory: %s", imgfmt_fs_error(w->fs));
	return 0;
}

static int walk_children(struct walk *w, size_t path_len, const struct children *cs, unsigned depth)
{
	int rc = 0;

	for (size_t i = 0; i < cs->n && rc == 0; i++) {
		rc = visit(w, path_len, cs->c[i].name, cs->c[i].len, cs->c[i].ino, depth + 1);
		w->path[path_len] = '\0';
	}
	return rc;
}

static bool name_ok(const char *name, size_t len)
{
	return len > 0 && len <= 255 && memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL &&
	       !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* May the walk enter directory INO at DEPTH?  (Depth bound, loop guard.) */
static bool may_enter(struct walk *w, size_t path_len, uint64_t ino, unsigned depth)
{
	uint32_t seen;

	if (depth >= MAX_DEPTH) {
		backup_warn(w->bk, w->path, "directories nested deeper than %d were left out", MAX_DEPTH);
		return false;
	}
	if (imap_get(&w->dirs_seen, ino, &seen)) {
		backup_warn(w->bk, path_len ? w->path : "/", "directory loop (inode %llu) left out", (unsigned long long)ino);
		return false;
	}
	imap_put(&w->dirs_seen, ino, 0);
	return true;
}

/* Keep the content checksum of the directory staged as ROWID. */
static int stage_dirsum(struct walk *w, int64_t rowid, const unsigned char sum[32])
{
	struct db_stmt *s = w->ins_dirsum;
	int rc;

	db_bind_int64(s, 1, rowid);
	db_bind_blob(s, 2, sum, 32);
	rc = db_step(s);
	db_reset(s);
	if (rc != DB_DONE) {
		cli_error("catalog", "cannot stage a row: %s", db_errmsg(w->bk->db));
		return -1;
	}
	return 0;
}

/* One entry: NAME inside the directory whose path is w->path[0..dir_len). */
static int visit(struct walk *w, size_t dir_len, const char *name, size_t name_len, uint64_t ino, unsigned depth)
{
	struct backup *bk = w->bk;
	const struct imgfmt_stat *st;
	const struct base_version *prev = NULL;
	struct children cs = { 0 };
	unsigned char sum[32];
	size_t path_len;
	int64_t bi, any, rowid = 0;
	int listed = 0, rc;
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
	bi = base_find(&w->base, ino, w->path, path_len, &any);
	if (bi >= 0)
		prev = &w->base.v[bi];
	else if (any >= 0) /* a rename: the same inode elsewhere in the base */
		prev = &w->base.v[any];
	same = w->base_usable && bi >= 0 && unchanged(w, prev, st);
	/* A directory is read every time: its entries decide whether it
	 * changed, whatever its times say (none stored: changed, once). */
	if (S_ISDIR(st->mode) && may_enter(w, path_len, ino, depth)) {
		listed = read_children(w, path_len, ino, &cs, sum);
		if (listed < 0)
			return -1;
		if (same && (!listed || !prev->sum_idx || memcmp(base_dirsum(&w->base, prev), sum, 32)))
			same = false;
	}
	bk->files++;
	if (S_ISREG(st->mode))
		bk->bytes_total = st->size > (uint64_t)(INT64_MAX - bk->bytes_total) ? INT64_MAX
									: bk->bytes_total + (int64_t)st->size;
	if (same) {
		/* an open version goes on by itself; one of an older generation
		 * (a differential's base) is copied */
		w->base.v[bi].continued = true;
		rc = prev->last_seq == SEQ_OPEN ? 0 : stage_id(bk, bk->ins_copyv, prev->id);
	} else
		rc = record_new(w, dir_len, path_len, st, prev, &rowid);
	if (rc == 0 && !same && listed > 0)
		rc = stage_dirsum(w, rowid, sum);
	if (rc == 0)
		rc = walk_children(w, path_len, &cs, depth);
	children_free(&cs);
	return rc < 0 ? -1 : 0;
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
	struct db_stmt *st = catalog_prepare(bk->db, "SELECT v.uuid FROM volumes v JOIN generations g ON g.id = v.gen_id"
					      " WHERE g.guest_id = ? AND g.seq = ? AND v.name = ?");
	bool same = false;

	if (!st)
		return false;
	db_bind_int64(st, 1, bk->guest_id);
	db_bind_int64(st, 2, bk->base_seq);
	db_bind_text(st, 3, volume, -1);
	if (db_step(st) == DB_ROW)
		same = !strcmp(db_column_text(st, 0), fs_uuid);
	db_finalize(st);
	return same;
}

/* The base's open versions the walk did not go on with end in the new
 * generation; the volume counts as compared (its other open versions are
 * left to the walk, not ended wholesale at the commit). */
static int stage_ended(struct walk *w)
{
	struct backup *bk = w->bk;
	struct db_stmt *st;
	int rc;

	for (size_t i = 0; i < w->base.n; i++)
		if (w->base.v[i].last_seq == SEQ_OPEN && !w->base.v[i].continued &&
		    stage_id(bk, bk->ins_ended, w->base.v[i].id) < 0)
			return -1;
	st = catalog_prepare(bk->db, "INSERT INTO stage.compared VALUES(?) ON CONFLICT DO NOTHING");
	if (!st)
		return -1;
	db_bind_text(st, 1, w->volume, -1);
	rc = db_step(st) == DB_DONE ? 0 : -1;
	if (rc < 0)
		cli_error("catalog", "cannot stage a row: %s", db_errmsg(bk->db));
	db_finalize(st);
	return rc;
}

struct base_job {
	struct base_state *b;
	struct db *db;
	int64_t guest_id;
	const char *volume;
	int64_t seq;
	size_t hint;
	int rc;
};

static void *base_thread(void *arg)
{
	struct base_job *j = arg;

	j->rc = base_load(j->b, j->db, j->guest_id, j->volume, j->seq, j->hint);
	return NULL;
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
	/* sized once: doubling would hold twice the inodes at the peak */
	w.capscan = (size_t)imgfmt_fs_files(fs) + 64;
	w.scan = malloc(w.capscan * sizeof(*w.scan));
	if (!w.path || !w.scan) {
		cli_error(volume, "out of memory");
		rc = -1;
		goto out;
	}
	/* The base comes from the catalog while the inode tables come from
	 * the disk: two reads, two cores.  (A full backup loads nothing.) */
	struct base_job job = { &w.base, bk->db, bk->guest_id, volume, w.base_usable ? bk->base_seq : 0,
				(size_t)imgfmt_fs_files(fs), 0 };
	pthread_t loader;
	bool threaded = pthread_create(&loader, NULL, base_thread, &job) == 0;
	if (!threaded)
		base_thread(&job);
	rc = imgfmt_fs_scan(fs, scan_one, &w);
	if (threaded)
		pthread_join(loader, NULL);
	if (rc < 0) {
		cli_error(volume, "%s", rc == -ENOMEM ? "out of memory" : imgfmt_fs_error(fs));
		rc = -1;
		goto out;
	}
	if (job.rc < 0) {
		rc = -1;
		goto out;
	}
	w.ins_dirsum = catalog_prepare(bk->db, "INSERT INTO stage.dirsum VALUES(?, ?)");
	if (!w.ins_dirsum) {
		rc = -1;
		goto out;
	}
	bk->bytes_todo += bytes_to_read(&w);
	struct dirahead *da = dirahead_start(&w);
	rc = visit(&w, 0, "", 0, imgfmt_fs_root(fs), 0);
	dirahead_stop(da);
	if (rc == 0)
		rc = read_pending(&w);
	if (rc == 0 && w.base_usable)
		rc = stage_ended(&w);
out:
	db_finalize(w.ins_dirsum);
	free(w.sum_buf.data);
	base_free(&w.base);
	imap_free(&w.scan_by_ino);
	imap_free(&w.dirs_seen);
	imap_free(&w.pending_ino);
	free(w.pending);
	free(w.scan);
	free(w.path);
	return rc;
}
