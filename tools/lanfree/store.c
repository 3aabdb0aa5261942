/* store.c --- store a file's content once per repository; stage catalog rows
 *
 * A content is identified by its id (content.c): the SHA-256 of the file's
 * bytes (what sha256sum prints for the restored file), or for a file with
 * holes a hash of its data runs, so that holes cost nothing: only data
 * runs are read, hashed and stored, holes go into the GNU sparse map.  When
 * the repository holds no content of the same size, the file is streamed
 * into the archive while it is hashed: one read.  When it does, the file is
 * hashed first and only stored if that id is new: a duplicate costs one
 * read and no space.  A file that cannot be read to its end is taken out of
 * the archive again and recorded as unreadable: nothing is padded.
 */
#include "backup.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void backup_warn(struct backup *bk, const char *object, const char *fmt, ...)
{
	va_list ap;

	if (bk->progress.enabled)
		fputc('\n', stderr); /* off the progress line */
	va_start(ap, fmt);
	cli_vwarning(object, fmt, ap);
	va_end(ap);
	bk->warnings++;
}

int stage_id(struct backup *bk, struct db_stmt *st, int64_t id)
{
	int rc;

	db_bind_int64(st, 1, id);
	rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE) {
		cli_error("catalog", "cannot stage a row: %s", db_errmsg(bk->db));
		return -1;
	}
	return 0;
}

int stage_new(struct walk *w, const char *dir, size_t dir_len, const char *name, size_t name_len,
	      const struct imgfmt_stat *st, const char *symlink, const struct blob *xattrs,
	      const unsigned char *sha, const char *error, bool pending, int64_t queued, int64_t *rowid)
{
	struct backup *bk = w->bk;
	struct db_stmt *s = bk->ins_newv;
	int i = 1, rc;

	db_bind_text(s, i++, w->volume, -1);
	db_bind_blob(s, i++, dir_len ? dir : "", (int)dir_len);
	db_bind_blob(s, i++, name_len ? name : "", (int)name_len);
	db_bind_int64(s, i++, st->mode);
	db_bind_int64(s, i++, st->uid);
	db_bind_int64(s, i++, st->gid);
	/* a crafted inode's size can exceed what SQLite holds: such a file is
	 * never backed up (store_content), and its row must stay sane */
	db_bind_int64(s, i++, st->size > INT64_MAX ? INT64_MAX : (int64_t)st->size);
	db_bind_int64(s, i++, ts_ns(st->atime.tv_sec, st->atime.tv_nsec));
	db_bind_int64(s, i++, ts_ns(st->mtime.tv_sec, st->mtime.tv_nsec));
	db_bind_int64(s, i++, ts_ns(st->ctime.tv_sec, st->ctime.tv_nsec));
	db_bind_int64(s, i++, ts_ns(st->btime.tv_sec, st->btime.tv_nsec));
	db_bind_int64(s, i++, (int64_t)st->ino);
	db_bind_int64(s, i++, st->generation);
	db_bind_int64(s, i++, st->nlink);
	db_bind_int64(s, i++, st->rdev_major);
	db_bind_int64(s, i++, st->rdev_minor);
	/* ext inode flags; NTFS DOS attributes travel as system.ntfs_attrib */
	db_bind_int64(s, i++, strncmp(imgfmt_fs_type(w->fs), "ext", 3) ? 0 : st->flags);
	if (symlink)
		db_bind_blob(s, i++, symlink, (int)strlen(symlink));
	else
		db_bind_null(s, i++);
	if (xattrs && xattrs->len)
		db_bind_blob(s, i++, xattrs->data, (int)xattrs->len);
	else
		db_bind_null(s, i++);
	if (sha)
		db_bind_blob(s, i++, sha, 32);
	else
		db_bind_null(s, i++);
	if (error)
		db_bind_text(s, i++, error, -1);
	else
		db_bind_null(s, i++);
	db_bind_int64(s, i++, pending);
	if (queued >= 0)
		db_bind_int64(s, i++, queued);
	else
		db_bind_null(s, i++);
	rc = db_step(s);
	if (rc == DB_ROW && rowid)
		*rowid = db_column_int64(s, 0);
	db_reset(s);
	if (rc != DB_ROW) {
		cli_error("catalog", "cannot stage a row: %s", db_errmsg(bk->db));
		return -1;
	}
	return 0;
}

/* Does the repository (or this run) hold a content of SIZE / with SHA? */
static int known(struct backup *bk, struct db_stmt *q, const void *key, uint64_t size)
{
	int rc;

	if (key)
		db_bind_blob(q, 1, key, 32);
	else
		db_bind_int64(q, 1, (int64_t)size);
	rc = db_step(q);
	db_reset(q);
	return rc == DB_ROW;
}

/* Feed the file's data runs to the hash and, if PACK, its data and holes
 * to the archive.  Returns 0, -1 when the file cannot be read, -2 when
 * the archive cannot be written. */
static int feed(struct walk *w, const struct imgfmt_stat *st, const struct content_runs *runs,
		struct content_hash *h, struct pack *pack, bool direct)
{
	struct backup *bk = w->bk;
	/* with the reader thread, it hashes a chunk while the next is read
	 * and this one archived: two buffers in turn */
	unsigned char *bufs[2] = { bk->buf, w->reader ? bk->buf2 : bk->buf };
	unsigned cur = 0;
	uint64_t pos = 0;
	int rc = 0;

	/* DIRECT: read once, in 1 MiB pieces: past the page cache (which the
	 * windows read_pending() asks for leave out), whose filling costs the
	 * CPU as much as hashing.  (Not a file read twice: hashed first,
	 * stored after, the second read comes from the cache.) */
	imgfmt_disk_read_direct(bk->disk, direct);
	for (size_t r = 0; r <= runs->n && rc == 0; r++) {
		uint64_t start = r < runs->n ? runs->run[r].offset : st->size;
		uint64_t end = r < runs->n ? start + runs->run[r].length : st->size;
		if (start > pos) { /* a hole: into the sparse map, never read or hashed */
			if (pack && pack_write_hole(pack, start - pos) < 0) {
				rc = -2;
				break;
			}
			bk->bytes_done += start - pos;
			pos = start;
		}
		while (pos < end) {
			size_t n = end - pos > BUF_SIZE ? BUF_SIZE : (size_t)(end - pos);
			unsigned char *b = bufs[cur];
			if (imgfmt_fs_pread(w->fs, st->ino, NULL, b, n, pos) != (ssize_t)n) {
				rc = -1;
				break;
			}
			if (w->reader)
				reader_hash(w->reader, h, b, n, pos);
			else
				content_hash_data(h, b, n, pos);
			if (pack && pack_write(pack, b, n) < 0) {
				rc = -2;
				break;
			}
			cur ^= 1;
			bk->bytes_done += n;
			pos += n;
			cli_progress_update(&bk->progress, bk->bytes_done, bk->bytes_todo);
		}
	}
	imgfmt_disk_read_direct(bk->disk, 0);
	if (w->reader)
		reader_hash_wait(w->reader); /* H is whole, the buffers free */
	return rc;
}

/* The whole (small) file into bk->buf, holes as zeros; its data hashed. */
int read_runs(imgfmt_fs *fs, const struct imgfmt_stat *st, const struct content_runs *runs, unsigned char *buf,
	      struct content_hash *h)
{
	for (size_t r = 0; r < runs->n; r++) {
		uint64_t at = runs->run[r].offset, len = runs->run[r].length;
		if (imgfmt_fs_pread(fs, st->ino, NULL, buf + at, len, at) != (ssize_t)len)
			return -1;
		content_hash_data(h, buf + at, len, at);
	}
	return 0;
}

static int read_whole(struct walk *w, const struct imgfmt_stat *st, const struct content_runs *runs,
		      struct content_hash *h)
{
	struct backup *bk = w->bk;

	memset(bk->buf, 0, st->size);
	if (read_runs(w->fs, st, runs, bk->buf, h) < 0)
		return -1;
	bk->bytes_done += st->size;
	cli_progress_update(&bk->progress, bk->bytes_done, bk->bytes_todo);
	return 0;
}

static int xattr_to_entry(const char *name, size_t name_len, const void *value, size_t size, void *arg)
{
	char n[256];

	snprintf(n, sizeof(n), "%.*s", (int)name_len, name);
	archive_entry_xattr_add_entry(arg, n, value, size);
	return 0;
}

static int open_pack(struct backup *bk)
{
	char err[300];

	if (bk->pack)
		return 0;
	if (bk->repo->rados)
		bk->pack_tmp = rados_repo_stage_path(bk->guest, bk->new_seq, compression_suffix(bk->o->comp));
	else if (asprintf(&bk->pack_tmp, "%s/tmp/%s-%lld-%d%s", bk->repo->path, bk->guest, (long long)bk->new_seq,
			  (int)getpid(), compression_suffix(bk->o->comp)) < 0)
		bk->pack_tmp = NULL;
	if (!bk->pack_tmp)
		return -1;
	bk->pack = pack_open(bk->pack_tmp, bk->o->comp, bk->o->comp_level, bk->o->jobs, err, sizeof(err));
	if (!bk->pack) {
		cli_error(bk->repo->path, "%s", err);
		return -1;
	}
	if (bk->repo->rados) {
		/* a copy to upload: gone with the process, however it ends */
		pack_set_staging(bk->pack);
		unlink(bk->pack_tmp);
	}
	return 0;
}

static int stage_content(struct backup *bk, const unsigned char sha[32], uint64_t size, uint32_t frame, uint64_t off)
{
	struct db_stmt *s = bk->ins_newc;
	int rc;

	db_bind_blob(s, 1, sha, 32);
	db_bind_int64(s, 2, (int64_t)size);
	db_bind_int64(s, 3, frame);
	db_bind_int64(s, 4, (int64_t)off);
	rc = db_step(s);
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* A tar entry for the file at PATH, with its sparse map when it has holes. */
static struct archive_entry *file_entry(struct walk *w, const char *path, const struct imgfmt_stat *st,
					const struct blob *xattrs, const struct content_runs *runs)
{
	struct archive_entry *e = archive_entry_new();
	char *full = version_path(w->volume, NULL, 0, path, strlen(path));

	if (!e || !full) {
		free(full);
		if (e)
			archive_entry_free(e);
		return NULL;
	}
	archive_entry_copy_pathname(e, full);
	free(full);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, st->mode & 07777);
	archive_entry_set_uid(e, st->uid);
	archive_entry_set_gid(e, st->gid);
	archive_entry_set_size(e, (la_int64_t)st->size);
	archive_entry_set_mtime(e, st->mtime.tv_sec, st->mtime.tv_nsec);
	archive_entry_set_atime(e, st->atime.tv_sec, st->atime.tv_nsec);
	archive_entry_set_ctime(e, st->ctime.tv_sec, st->ctime.tv_nsec);
	if (xattrs && xattrs->len)
		xattr_blob_each(xattrs->data, xattrs->len, xattr_to_entry, e);
	if (runs->sparse) {
		for (size_t i = 0; i < runs->n; i++)
			archive_entry_sparse_add_entry(e, (la_int64_t)runs->run[i].offset, (la_int64_t)runs->run[i].length);
		/* a file that ends in a hole ends its map with an empty run, as
		 * GNU tar does (and a file of holes only still has a map) */
		if (!runs->n || runs->run[runs->n - 1].offset + runs->run[runs->n - 1].length < st->size)
			archive_entry_sparse_add_entry(e, (la_int64_t)st->size, 0);
	}
	return e;
}

/* Archive the small file ST whose bytes (holes as zeros) are DATA and whose
 * id is SHA, unless the repository has it.  0, or -2 (archive or catalog
 * failure, reported). */
static int archive_memory(struct walk *w, const char *path, const struct imgfmt_stat *st, const struct blob *xattrs,
			  const struct content_runs *runs, const unsigned char *data, const unsigned char sha[32])
{
	struct backup *bk = w->bk;
	struct archive_entry *e;
	uint32_t frame;
	uint64_t off;
	int rc = -2;

	if (known(bk, bk->q_sha, sha, 0))
		return 0;
	if (open_pack(bk) < 0)
		return -2;
	e = file_entry(w, path, st, xattrs, runs);
	if (!e) {
		cli_error(path, "out of memory");
		return -2;
	}
	if (pack_begin_entry(bk->pack, e, &frame, &off) < 0 || pack_write(bk->pack, data, st->size) < 0 ||
	    pack_end_entry(bk->pack) < 0)
		cli_error(bk->repo->path, "%s", pack_error(bk->pack));
	else if (stage_content(bk, sha, st->size, frame, off) < 0)
		cli_error("catalog", "cannot stage a content: %s", db_errmsg(bk->db));
	else
		rc = 0;
	if (rc == 0)
		bk->bytes_new += (int64_t)st->size;
	archive_entry_free(e);
	return rc;
}

/* store_content() for a file reader.c has read: IT. */
static int store_item(struct walk *w, const char *path, const struct imgfmt_stat *st, const struct blob *xattrs,
		      const struct read_item *it, unsigned char sha[32])
{
	struct backup *bk = w->bk;

	switch (it->status) {
	case READ_OK:
		break;
	case READ_UNMAPPED:
		backup_warn(bk, path, "cannot map the file: %s", it->why);
		return -1;
	case READ_UNREADABLE:
		backup_warn(bk, path, "cannot read: %s", it->why);
		return -1;
	default:
		cli_error(path, "out of memory");
		return -2;
	}
	bk->bytes_done += st->size;
	cli_progress_update(&bk->progress, bk->bytes_done, bk->bytes_todo);
	memcpy(sha, it->sha, 32);
	return archive_memory(w, path, st, xattrs, &it->runs, it->data, sha);
}

/* A file's apparent size beyond this is not backed up: no filesystem rawkit
 * reads holds a file this large, and each GiB of hole is one call. */
#define MAX_FILE_SIZE (UINT64_C(1) << 50)

int store_content(struct walk *w, const char *path, size_t path_len, const struct imgfmt_stat *st,
		  const struct blob *xattrs, unsigned char sha[32])
{
	struct backup *bk = w->bk;
	struct content_runs runs = { 0 };
	struct content_hash h = { 0 };
	struct archive_entry *e = NULL;
	uint32_t frame;
	uint64_t off;
	const char *why;
	int rc = -1, fed;
	bool twice = false; /* hashed first (its size is known), read again to store */

	(void)path_len;
	if (st->size > MAX_FILE_SIZE) {
		backup_warn(bk, path, "cannot back up: its size (%llu bytes) is more than any filesystem holds",
			    (unsigned long long)st->size);
		goto out;
	}
	if (content_runs_get(w->fs, st, &runs, &why) < 0) {
		backup_warn(bk, path, "cannot map the file: %s", why);
		goto out;
	}
	if (content_hash_init(&h, runs.sparse, st->size) < 0) {
		cli_error(path, "out of memory");
		rc = -2;
		goto out;
	}
	if (st->size <= BUF_SIZE) {
		/* Small: read once into the buffer, hash, store from memory if new. */
		if (read_whole(w, st, &runs, &h) < 0) {
			backup_warn(bk, path, "cannot read: %s", imgfmt_fs_error(w->fs));
			goto out;
		}
		if (content_hash_final(&h, sha) < 0)
			goto out;
		rc = archive_memory(w, path, st, xattrs, &runs, bk->buf, sha);
		goto out;
	} else if (known(bk, bk->q_size, NULL, st->size)) {
		/* A content of this size exists: hash first, store only if new. */
		uint64_t before = bk->bytes_done;
		twice = true;
		if (feed(w, st, &runs, &h, NULL, false) != 0) {
			backup_warn(bk, path, "cannot read: %s", imgfmt_fs_error(w->fs));
			goto out;
		}
		if (content_hash_final(&h, sha) < 0)
			goto out;
		if (known(bk, bk->q_sha, sha, 0)) {
			rc = 0;
			goto out;
		}
		content_hash_free(&h);
		if (content_hash_init(&h, runs.sparse, st->size) < 0) {
			cli_error(path, "out of memory");
			rc = -2;
			goto out;
		}
		bk->bytes_done = before; /* read again below */
	}
	if (open_pack(bk) < 0) {
		rc = -2;
		goto out;
	}
	e = file_entry(w, path, st, xattrs, &runs);
	if (!e) {
		cli_error(path, "out of memory");
		rc = -2;
		goto out;
	}
	if (pack_begin_entry(bk->pack, e, &frame, &off) < 0) {
		cli_error(bk->repo->path, "%s", pack_error(bk->pack));
		rc = -2;
		goto out;
	}
	fed = feed(w, st, &runs, &h, bk->pack, !twice);
	if (fed == -1) {
		/* Unreadable half-way: the entry leaves the archive again
		 * (no zero padding); the file is recorded as unreadable. */
		backup_warn(bk, path, "cannot read: %s", imgfmt_fs_error(w->fs));
		if (pack_abort_entry(bk->pack) < 0) {
			cli_error(bk->repo->path, "%s", pack_error(bk->pack));
			rc = -2;
		}
		goto out;
	}
	if (fed == 0 && content_hash_final(&h, sha) < 0)
		fed = -2;
	if (fed < 0 || pack_end_entry(bk->pack) < 0) {
		cli_error(bk->repo->path, "%s", pack_error(bk->pack));
		rc = -2;
		goto out;
	}
	bk->bytes_new += (int64_t)st->size;
	if (stage_content(bk, sha, st->size, frame, off) < 0) {
		cli_error("catalog", "cannot stage a content: %s", db_errmsg(bk->db));
		rc = -2;
		goto out;
	}
	rc = 0;
out:
	if (e)
		archive_entry_free(e);
	content_hash_free(&h);
	content_runs_free(&runs);
	return rc;
}

/* ---- contents read after the walk, in the order they lie on the disk ---- */

const struct imgfmt_stat *reader_stat(const struct walk *w, size_t i)
{
	uint32_t si;

	return imap_get(&w->scan_by_ino, w->pending[i].ino, &si) ? &w->scan[si] : NULL;
}

/* The queue's order, as stage.newv's (physical, id) sorts it. */
static int by_physical(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	int64_t kx = pending_key(x->physical), ky = pending_key(y->physical);

	return kx != ky ? (kx < ky ? -1 : 1) : (x->rowid > y->rowid) - (x->rowid < y->rowid);
}

static int by_rowid(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	return (x->rowid > y->rowid) - (x->rowid < y->rowid);
}

/* The path ("dir/name") and xattrs of the row that Q (dir, name, xattrs
 * from column FROM on) is at.  NULL: out of memory. */
static char *row_path(struct db_stmt *q, int from, struct blob *xattrs)
{
	size_t dl = (size_t)db_column_bytes(q, from), nl = (size_t)db_column_bytes(q, from + 1);
	char *path = malloc(dl + nl + 2);

	if (!path)
		return NULL;
	if (dl)
		memcpy(path, db_column_blob(q, from), dl);
	if (dl)
		path[dl++] = '/';
	if (nl)
		memcpy(path + dl, db_column_blob(q, from + 1), nl);
	path[dl + nl] = '\0';
	if (db_column_type(q, from + 2) == DB_BLOB &&
	    blob_append(xattrs, db_column_blob(q, from + 2), (size_t)db_column_bytes(q, from + 2)) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* The rows of the contents read: their ids, or "unreadable"; in rowid
 * order (the rows' pages in turn), then the other links of each inode. */
static int stage_results(struct walk *w)
{
	struct backup *bk = w->bk;
	struct db_stmt *s = bk->upd_done, *links;
	int rc = 0;

	qsort(w->pending, w->npending, sizeof(*w->pending), by_rowid);
	for (size_t i = 0; i < w->npending && rc == 0; i++) {
		const struct pending *p = &w->pending[i];
		if (p->result == PENDING_QUEUED)
			continue;
		if (p->result == PENDING_STORED) {
			db_bind_blob(s, 1, p->sha, 32);
			db_bind_null(s, 2);
		} else {
			db_bind_null(s, 1);
			db_bind_text(s, 2, "unreadable", -1);
		}
		db_bind_int64(s, 3, p->rowid);
		if (db_step(s) != DB_DONE)
			rc = -1;
		db_reset(s);
	}
	links = rc == 0 ? catalog_prepare(bk->db, "UPDATE stage.newv AS n SET sha = q.sha, error = q.error, pending = 0"
					     " FROM stage.newv AS q WHERE n.pending = 1 AND n.volume = ?1"
					     " AND q.ino = n.ino AND q.physical IS NOT NULL AND q.volume = ?1 AND q.pending = 0")
			: NULL;
	if (links) {
		db_bind_text(links, 1, w->volume, -1);
		if (db_step(links) != DB_DONE)
			rc = -1;
		db_finalize(links);
	} else {
		rc = -1;
	}
	if (rc < 0)
		cli_error("catalog", "cannot stage a row: %s", db_errmsg(bk->db));
	return rc;
}

static uint64_t pending_size(struct walk *w, size_t i)
{
	uint32_t si;

	return imap_get(&w->scan_by_ino, w->pending[i].ino, &si) ? w->scan[si].size : 4096;
}

/* The disk range the queued files from I on cover: up to 32 MiB, gaps
 * under 1 MiB bridged, into *R.  Returns the index after it.  A file
 * larger than BUF_SIZE is read past the page cache (feed()): it is a
 * window of its own, of no bytes. */
static size_t window_of(struct walk *w, size_t i, struct prefetch_range *r)
{
	uint64_t start, end;
	size_t j;

	if (i >= w->npending || w->pending[i].physical == IMGFMT_NO_PHYSICAL) {
		*r = (struct prefetch_range){ 0, 0 };
		return w->npending;
	}
	if (pending_size(w, i) > BUF_SIZE) {
		*r = (struct prefetch_range){ 0, 0 };
		return i + 1;
	}
	start = end = w->pending[i].physical;
	for (j = i; j < w->npending && w->pending[j].physical != IMGFMT_NO_PHYSICAL; j++) {
		uint64_t size = pending_size(w, j);
		if (size > BUF_SIZE || w->pending[j].physical > end + (1u << 20) || end - start > (32u << 20))
			break;
		if (w->pending[j].physical + size > end)
			end = w->pending[j].physical + size;
	}
	*r = (struct prefetch_range){ start, end - start };
	return j > i ? j : i + 1;
}

int read_pending(struct walk *w)
{
	struct backup *bk = w->bk;
	struct prefetch_range *win = NULL;
	size_t *first = NULL, nwin = 0, k = 0;
	struct prefetch *pf = NULL;
	struct reader *rd = NULL;
	struct db_stmt *list = NULL;
	int rc = 0;

	if (w->npending == 0)
		return 0; /* (qsort of NULL is undefined even for 0 elements) */
	qsort(w->pending, w->npending, sizeof(*w->pending), by_physical);
	/* the windows, each with the index of its first file (one more: the
	 * end): as many as the files' layout makes, not one per file */
	for (size_t i = 0, cap = 0; i < w->npending; nwin++) {
		if (nwin + 1 >= cap) {
			cap = cap ? 2 * cap : 64;
			struct prefetch_range *wg = realloc(win, cap * sizeof(*win));
			if (wg)
				win = wg;
			size_t *fg = wg ? realloc(first, cap * sizeof(*first)) : NULL;
			if (!fg) {
				free(win);
				free(first);
				cli_error(w->volume, "out of memory");
				return -1;
			}
			first = fg;
		}
		first[nwin] = i;
		i = window_of(w, i, &win[nwin]);
	}
	first[nwin] = w->npending;
	pf = prefetch_start(w->fs, win, nwin);
	/* the small files are read ahead on a thread (which then asks for
	 * the windows); without one, here */
	rd = reader_start(w, pf, first, nwin);
	w->reader = rd;
	/* the queued rows in the queue's order: one pass over the stage, not
	 * a lookup per file (q_pending only if the two orders disagree) */
	list = catalog_prepare(bk->db, "SELECT id, dir, name, xattrs FROM stage.newv"
				  " WHERE volume = ?1 AND physical IS NOT NULL ORDER BY physical, id");
	if (list)
		db_bind_text(list, 1, w->volume, -1);
	for (size_t i = 0; i < w->npending && rc == 0; i++) {
		struct pending *p = &w->pending[i];
		if (!rd && k < nwin && i == first[k])
			prefetch_at(pf, k++);
		const struct imgfmt_stat *st = reader_stat(w, i);
		const struct read_item *it = rd ? reader_take(rd, i) : NULL;
		struct blob xattrs = { 0 };
		char *path = NULL;
		int src;
		if (list && (db_step(list) != DB_ROW || db_column_int64(list, 0) != p->rowid)) {
			db_finalize(list);
			list = NULL;
		}
		if (!st) {
			if (rd)
				reader_done(rd, i);
			continue;
		}
		if (list) {
			path = row_path(list, 1, &xattrs);
		} else {
			db_bind_int64(bk->q_pending, 1, p->rowid);
			if (db_step(bk->q_pending) == DB_ROW)
				path = row_path(bk->q_pending, 0, &xattrs);
			db_reset(bk->q_pending);
		}
		if (!path) {
			free(xattrs.data);
			cli_error(w->volume, "out of memory");
			rc = -1;
			break;
		}
		if (it && it->status != READ_LARGE)
			src = store_item(w, path, st, &xattrs, it, p->sha);
		else
			src = store_content(w, path, strlen(path), st, &xattrs, p->sha);
		if (rd)
			reader_done(rd, i);
		free(xattrs.data);
		free(path);
		if (src == -2) {
			rc = -1;
			break;
		}
		p->result = src == 0 ? PENDING_STORED : PENDING_UNREADABLE;
	}
	db_finalize(list);
	w->reader = NULL;
	reader_stop(rd);
	prefetch_stop(pf);
	free(win);
	free(first);
	return rc == 0 ? stage_results(w) : rc;
}
