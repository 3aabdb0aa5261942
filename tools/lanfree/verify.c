/* verify.c --- rawkit-lanfree verify: catalog, frames, data, or against a disk
 *
 * Always: the catalog's own integrity and references, and the SHA-256 of
 * every frame of every archive in scope (no decompression).  --read-data:
 * every content decompressed and checked against its SHA-256.  --against
 * DISK: the generation compared with what the disk holds now, both ways
 * (files changed or gone, and files on the disk the generation lacks).
 */
#include "lanfree.h"
#include "imgfmt.h"
#include "hmap.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The frame limits as SQL literals (lanfree.h's are unsigned C expressions). */
#define FRAME_USIZE_MAX_SQL "1048576"
#define FRAME_CSIZE_MAX_SQL "1114112"
_Static_assert(FRAME_USIZE_MAX == 1048576 && FRAME_CSIZE_MAX == 1114112, "frame limits as SQL literals");

struct verify {
	struct repo *r;
	unsigned problems;
	uint64_t frames, contents, files;
	bool json;
};

static void problem(struct verify *v, const char *object, const char *fmt, ...) CLI_PRINTF(3, 4);
static void problem(struct verify *v, const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(object, fmt, ap);
	va_end(ap);
	v->problems++;
}

static void check_catalog(struct verify *v)
{
	static const struct {
		const char *sql, *what;
	} checks[] = {
		{ "SELECT count(*) FROM contents c WHERE NOT EXISTS (SELECT 1 FROM frames f WHERE"
		  " f.archive_id = c.archive_id AND f.idx = c.frame_idx)", "contents pointing at no frame" },
		{ "SELECT count(*) FROM versions v WHERE v.content_id IS NOT NULL AND NOT EXISTS"
		  " (SELECT 1 FROM contents c WHERE c.id = v.content_id)", "versions pointing at no content" },
		{ "SELECT count(*) FROM versions v WHERE (v.mode & 61440) = 32768 AND v.size > 0 AND"
		  " v.content_id IS NULL AND v.error IS NULL", "non-empty files without content" },
		{ "SELECT count(*) FROM versions WHERE first_seq > last_seq", "versions with an empty life" },
		{ "SELECT count(*) FROM frames f JOIN archives a ON a.id = f.archive_id"
		  " WHERE f.offset + f.csize > a.size", "frames past the end of their archive" },
		/* sizes and offsets the code would seek to, allocate or loop over */
		{ "SELECT count(*) FROM archives WHERE typeof(size) != 'integer' OR size < 0",
		  "archives with an impossible size" },
		{ "SELECT count(*) FROM frames WHERE typeof(\"offset\") != 'integer' OR typeof(csize) != 'integer'"
		  " OR typeof(usize) != 'integer' OR \"offset\" < 0 OR csize <= 0 OR csize > " FRAME_CSIZE_MAX_SQL
		  " OR usize < 0 OR usize > " FRAME_USIZE_MAX_SQL, "frames with a negative or impossible offset or size" },
		{ "SELECT count(*) FROM contents c JOIN frames f ON f.archive_id = c.archive_id AND f.idx = c.frame_idx"
		  " WHERE typeof(c.entry_offset) != 'integer' OR c.entry_offset < 0 OR c.entry_offset > f.usize",
		  "contents starting outside their frame" },
		{ "SELECT count(*) FROM contents WHERE typeof(size) != 'integer' OR size < 0",
		  "contents with a negative size" },
		{ "SELECT count(*) FROM versions WHERE typeof(size) != 'integer' OR size < 0",
		  "versions with a negative size" },
		{ "SELECT count(*) FROM versions v JOIN contents c ON c.id = v.content_id WHERE v.size != c.size",
		  "versions whose size is not their content's" },
	};
	struct db_stmt *st = catalog_prepare(v->r->db, "PRAGMA quick_check");

	if (st && db_step(st) == DB_ROW && strcmp(db_column_text(st, 0), "ok"))
		problem(v, "catalog", "integrity check: %s", db_column_text(st, 0));
	db_finalize(st);
	st = catalog_prepare(v->r->db, "PRAGMA foreign_key_check");
	if (st && db_step(st) == DB_ROW)
		problem(v, "catalog", "a reference to a missing row in table %s", db_column_text(st, 0));
	db_finalize(st);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		st = catalog_prepare(v->r->db, checks[i].sql);
		if (st && db_step(st) == DB_ROW && db_column_int64(st, 0) > 0)
			problem(v, "catalog", "%lld %s", (long long)db_column_int64(st, 0), checks[i].what);
		db_finalize(st);
	}
}

/* Is frame IDX of an archive of FILE_SIZE bytes, at OFF with CSIZE bytes,
 * something to read?  Records the problem when not. */
static bool frame_ok(struct verify *v, const char *shown, int64_t idx, int64_t off, int64_t csize, int64_t file_size)
{
	if (off < 0 || csize <= 0 || csize > (int64_t)FRAME_CSIZE_MAX) {
		problem(v, shown, "frame %lld: impossible offset %lld or size %lld in the catalog", (long long)idx,
			(long long)off, (long long)csize);
		return false;
	}
	if (off > file_size || csize > file_size - off) {
		problem(v, shown, "frame %lld at %lld: %lld bytes past the end of the archive (%lld bytes)",
			(long long)idx, (long long)off, (long long)csize, (long long)file_size);
		return false;
	}
	return true;
}

/* Read each frame of archive ID and compare its SHA-256. */
static void check_archive(struct verify *v, int64_t id, const char *rel, int64_t size)
{
	struct db_stmt *st = catalog_prepare(v->r->db, "SELECT idx, \"offset\", csize, sha256 FROM frames WHERE archive_id = ? ORDER BY idx");
	char *path = NULL, shown[120];
	unsigned char *buf = NULL, md[32];
	struct archfile *f = NULL;
	uint64_t file_size;
	char err[300];
	int fd;

	if (!st || asprintf(&path, "%s/%s", v->r->path, archive_path_shown(rel, shown, sizeof(shown))) < 0) {
		problem(v, "catalog", "archive %lld: cannot check: out of memory", (long long)id);
		goto out;
	}
	if (!archive_path_ok(rel)) {
		problem(v, "catalog", "damaged: archive %lld has the path \"%s\", not one rawkit writes", (long long)id,
			shown);
		goto out;
	}
	if (v->r->rados) {
		/* REL itself (PATH is shortened for messages) */
		char *full = NULL;
		if (asprintf(&full, "%s/%s", v->r->path, rel) < 0)
			snprintf(err, sizeof(err), "out of memory");
		else
			f = archfile_open(full, err, sizeof(err));
		free(full);
	} else if ((fd = repo_open_archive(v->r, rel)) < 0 || !(f = archfile_open_fd(fd))) {
		snprintf(err, sizeof(err), "%s", fd < 0 ? strerror(errno) : "out of memory");
		if (fd >= 0)
			close(fd);
	}
	if (!f || archfile_size(f, &file_size, err, sizeof(err)) < 0) {
		problem(v, path, "cannot open: %s", err);
		goto out;
	}
	if (file_size != (uint64_t)size)
		problem(v, path, "has %lld bytes, the catalog says %lld", (long long)file_size, (long long)size);
	buf = malloc(FRAME_CSIZE_MAX);
	if (!buf) {
		problem(v, path, "cannot check: out of memory");
		goto out;
	}
	db_bind_int64(st, 1, id);
	while (db_step(st) == DB_ROW) {
		int64_t idx = db_column_int64(st, 0), off = db_column_int64(st, 1);
		int64_t csize = db_column_int64(st, 2);
		size_t n = (size_t)csize;
		if (!frame_ok(v, path, idx, off, csize, (int64_t)file_size))
			continue;
		if (archfile_pread(f, buf, n, (uint64_t)off, err, sizeof(err)) != (ssize_t)n) {
			problem(v, path, "frame %lld at %lld: cannot read", (long long)idx, (long long)off);
			continue;
		}
		SHA256(buf, n, md);
		if (db_column_bytes(st, 3) != 32 || memcmp(md, db_column_blob(st, 3), 32))
			problem(v, path, "frame %lld at byte %lld: checksum mismatch", (long long)idx, (long long)off);
		v->frames++;
	}
out:
	archfile_close(f);
	db_finalize(st);
	free(buf);
	free(path);
}

struct hasher {
	struct unpack_info info;
	struct content_hash c;
	uint64_t want; /* the catalog's size: checked before a byte is hashed */
	bool started, size_differs;
};

static int hash_block(const void *buf, size_t len, uint64_t offset, void *arg)
{
	struct hasher *hs = arg;

	if (hs->info.size != hs->want) {
		hs->size_differs = true;
		return -1;
	}
	if (!hs->started && content_hash_init(&hs->c, hs->info.sparse, hs->info.size) < 0)
		return -1;
	hs->started = true;
	return content_hash_data(&hs->c, buf, len, offset);
}

/* The catalog row of a content, checked before anything is opened or
 * looped over; the problem is recorded when it is not usable. */
static bool content_row_ok(struct verify *v, struct db_stmt *st, const char *shown)
{
	char path[120];

	if (db_column_int64(st, 1) < 0 || db_column_int64(st, 4) < 0 || db_column_int64(st, 5) < 0) {
		problem(v, shown, "damaged catalog: negative size %lld, frame offset %lld or entry offset %lld",
			(long long)db_column_int64(st, 1), (long long)db_column_int64(st, 4),
			(long long)db_column_int64(st, 5));
		return false;
	}
	if (!archive_path_ok(db_column_text(st, 2))) {
		problem(v, shown, "damaged catalog: its archive has the path \"%s\", not one rawkit writes",
			archive_path_shown(db_column_text(st, 2), path, sizeof(path)));
		return false;
	}
	return true;
}

/* Decompress one content and check its id; holes are not hashed. */
static void check_content(struct verify *v, struct db_stmt *st)
{
	struct hasher hs = { .want = (uint64_t)db_column_int64(st, 1) };
	enum compression comp;
	unsigned char md[32];
	const char *compression = db_column_text(st, 3);
	char err[400], *path = NULL, shown[80] = "(a content without a checksum)";
	int unpacked;

	if (db_column_bytes(st, 0) != 32) {
		problem(v, shown, "damaged catalog: the checksum is not 32 bytes");
		goto out;
	}
	hex(db_column_blob(st, 0), 8, shown);
	strcat(shown, "...");
	if (!content_row_ok(v, st, shown))
		goto out;
	if (asprintf(&path, "%s/%s", v->r->path, db_column_text(st, 2)) < 0 || !compression ||
	    compression_parse(compression, &comp) < 0) {
		problem(v, shown, "cannot check");
		goto out;
	}
	unpacked = unpack_entry(path, comp, (uint64_t)db_column_int64(st, 4),
				(uint64_t)db_column_int64(st, 5), hash_block, &hs, &hs.info, err, sizeof(err));
	if (unpacked < 0 || hs.info.size != hs.want) {
		/* a size only means something once the entry's header was read */
		if (hs.size_differs || (unpacked == 0 && hs.info.size != hs.want))
			problem(v, shown, "the archive entry has %llu bytes, the catalog says %llu",
				(unsigned long long)hs.info.size, (unsigned long long)hs.want);
		else
			problem(v, shown, "content: %s", err);
		goto out;
	}
	if (!hs.started && content_hash_init(&hs.c, hs.info.sparse, hs.info.size) < 0) {
		problem(v, shown, "cannot check");
		goto out;
	}
	hs.started = true;
	if (content_hash_final(&hs.c, md) < 0 || memcmp(md, db_column_blob(st, 0), 32))
		problem(v, shown, "content does not match its checksum");
	v->contents++;
out:
	if (hs.started)
		content_hash_free(&hs.c);
	free(path);
}

/* ---- --against DISK ---- */

struct against {
	struct verify *v;
	imgfmt_disk *disk;
	imgfmt_fs **fs;
	size_t nvol;
	unsigned char *buf;
};

static imgfmt_fs *volume_fs(struct against *a, const char *name)
{
	int i = imgfmt_disk_find_volume(a->disk, name);

	if (i < 0)
		return NULL;
	if (!a->fs[i]) {
		imgfmt_fs *fs = imgfmt_fs_new();
		if (!fs || imgfmt_fs_open(fs, a->disk, (size_t)i, 0) < 0) {
			imgfmt_fs_free(fs);
			return NULL;
		}
		a->fs[i] = fs;
	}
	return a->fs[i];
}

static void compare_one(struct against *a, struct db_stmt *st)
{
	const char *vol = db_column_text(st, 0);
	char *path = version_path(vol, db_column_blob(st, 1), (size_t)db_column_bytes(st, 1),
				  db_column_blob(st, 2), (size_t)db_column_bytes(st, 2));
	imgfmt_fs *fs = volume_fs(a, vol);
	struct imgfmt_stat now;
	uint64_t ino;
	uint32_t mode = (uint32_t)db_column_int64(st, 3);
	const char *rel = path ? path + strlen(vol) : "";

	a->v->files++;
	if (!path)
		return;
	if (!fs) {
		problem(a->v, path, "volume not readable on the disk now");
	} else if (imgfmt_fs_lookup(fs, rel[0] ? rel : "/", &ino) < 0 || imgfmt_fs_stat(fs, ino, &now) < 0) {
		problem(a->v, path, "missing on the disk");
	} else if ((now.mode & S_IFMT) != (mode & S_IFMT)) {
		problem(a->v, path, "type differs");
	} else {
		if (now.mode != mode)
			problem(a->v, path, "mode differs (%o, was %o)", now.mode & 07777, mode & 07777);
		if (now.uid != (uint32_t)db_column_int64(st, 4) || now.gid != (uint32_t)db_column_int64(st, 5))
			problem(a->v, path, "owner differs");
		if (S_ISREG(mode) && now.size != (uint64_t)db_column_int64(st, 6))
			problem(a->v, path, "size differs (%llu, was %lld)", (unsigned long long)now.size,
				(long long)db_column_int64(st, 6));
		else if (ts_ns(now.mtime.tv_sec, now.mtime.tv_nsec) != db_column_int64(st, 7) && !S_ISDIR(mode))
			problem(a->v, path, "mtime differs");
		else if (S_ISREG(mode) && db_column_type(st, 8) == DB_BLOB) {
			/* the same id as backup gives it: holes are not read */
			unsigned char md[32];
			const char *why;
			if (content_id_of_file(fs, &now, a->buf, 1 << 20, md, &why) < 0)
				problem(a->v, path, "cannot read: %s", why);
			else if (memcmp(md, db_column_blob(st, 8), 32))
				problem(a->v, path, "content differs");
		}
	}
	free(path);
}

/* The other direction: what the disk holds that the generation does not.
 * Each volume the generation backed up is walked from its root (depth
 * bound, visited set: the disk is untrusted); an entry missing from the
 * generation is reported once, not its subtree. */
#define DISK_MAX_DEPTH 4096

struct unbacked {
	struct against *a;
	const struct generation *g;
	const char *volume;
	imgfmt_fs *fs;
	struct db_stmt *q; /* is VOLUME, DIR, NAME in the generation? */
	char **excludes;
	size_t nexcludes;
	struct imap seen;
};

/* As backup's --exclude: the whole VOLUME/PATH or any tail of it from a component. */
static bool disk_excluded(const struct unbacked *u, const char *full)
{
	for (size_t i = 0; i < u->nexcludes; i++)
		for (const char *p = full; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
			if (fnmatch(u->excludes[i], p, 0) == 0)
				return true;
	return false;
}

static bool in_generation(struct unbacked *u, const char *dir, size_t dir_len, const char *name, size_t len)
{
	bool found;

	db_bind_int64(u->q, 1, u->g->guest_id);
	db_bind_int64(u->q, 2, u->g->seq);
	db_bind_text(u->q, 3, u->volume, -1);
	db_bind_blob(u->q, 4, dir_len ? dir : "", (int)dir_len);
	db_bind_blob(u->q, 5, name, (int)len);
	found = db_step(u->q) == DB_ROW;
	db_reset(u->q);
	return found;
}

static void walk_disk(struct unbacked *u, const char *dir, size_t dir_len, uint64_t ino, unsigned depth);

/* Entry NAME of directory DIR (a path in the volume, "" its root). */
static void disk_entry(struct unbacked *u, const char *dir, size_t dir_len, const char *name, size_t len,
		       uint64_t ino, unsigned depth)
{
	struct imgfmt_stat st;
	char *full;

	/* backup leaves out unsafe names and entries naming unused inodes */
	if (len == 0 || len > 255 || memchr(name, '/', len) || memchr(name, '\0', len) ||
	    (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.') ||
	    imgfmt_fs_stat(u->fs, ino, &st) < 0)
		return;
	full = version_path(u->volume, dir, dir_len, name, len);
	if (!full || disk_excluded(u, full)) {
		free(full);
		return;
	}
	if (!in_generation(u, dir, dir_len, name, len))
		problem(u->a->v, full, "on the disk, not in the generation");
	else if (S_ISDIR(st.mode))
		walk_disk(u, full + strlen(u->volume) + 1, strlen(full) - strlen(u->volume) - 1, ino, depth + 1);
	free(full);
}

static void walk_disk(struct unbacked *u, const char *dir, size_t dir_len, uint64_t ino, unsigned depth)
{
	struct children l = { 0 };
	uint32_t seen;
	char *here = NULL;

	if (depth >= DISK_MAX_DEPTH || imap_get(&u->seen, ino, &seen) || imap_put(&u->seen, ino, 0) < 0)
		return;
	here = version_path(u->volume, dir, dir_len, NULL, 0);
	if (imgfmt_fs_readdir(u->fs, ino, children_add, &l) < 0)
		problem(u->a->v, here ? here : u->volume, "cannot read the directory on the disk: %s",
			imgfmt_fs_error(u->fs));
	else
		for (size_t i = 0; i < l.n; i++)
			disk_entry(u, dir, dir_len, l.c[i].name, l.c[i].len, l.c[i].ino, depth);
	children_free(&l);
	free(here);
}

/* The generation's --exclude list, one pattern a line. */
static void load_excludes(struct unbacked *u, struct db *db)
{
	struct db_stmt *st = catalog_prepare(db, "SELECT excludes FROM generations WHERE id = ?");
	const char *text;
	char *copy;

	if (!st)
		return;
	db_bind_int64(st, 1, u->g->id);
	if (db_step(st) == DB_ROW && (text = db_column_text(st, 0)) && *text &&
	    (copy = strdup(text))) {
		for (char *p = copy, *nl; p; p = nl ? nl + 1 : NULL) {
			char **grown = realloc(u->excludes, (u->nexcludes + 1) * sizeof(*grown));
			nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			if (!grown || !(grown[u->nexcludes] = strdup(p))) {
				u->excludes = grown ? grown : u->excludes;
				break;
			}
			u->excludes = grown;
			u->nexcludes++;
		}
		free(copy);
	}
	db_finalize(st);
}

static void check_unbacked(struct against *a, const struct generation *g)
{
	struct unbacked u = { .a = a, .g = g };
	struct db_stmt *vols = catalog_prepare(a->v->r->db, "SELECT name FROM volumes WHERE gen_id = ? AND skipped IS NULL"
						     " ORDER BY name");

	u.q = catalog_prepare(a->v->r->db, "SELECT 1 FROM versions WHERE guest_id = ?1 AND first_seq <= ?2 AND last_seq >= ?2"
				      " AND volume = ?3 AND dir = ?4 AND name = ?5 LIMIT 1");
	if (!vols || !u.q)
		goto out;
	load_excludes(&u, a->v->r->db);
	db_bind_int64(vols, 1, g->id);
	while (db_step(vols) == DB_ROW) {
		u.volume = db_column_text(vols, 0);
		if (!u.volume || !(u.fs = volume_fs(a, u.volume)))
			continue; /* reported by the other direction */
		imap_free(&u.seen);
		memset(&u.seen, 0, sizeof(u.seen));
		walk_disk(&u, "", 0, imgfmt_fs_root(u.fs), 0);
	}
out:
	for (size_t i = 0; i < u.nexcludes; i++)
		free(u.excludes[i]);
	free(u.excludes);
	imap_free(&u.seen);
	db_finalize(u.q);
	db_finalize(vols);
}

static void check_against(struct verify *v, const struct generation *g, const char *disk_path)
{
	struct against a = { .v = v };
	struct db_stmt *st;

	a.disk = imgfmt_disk_new();
	a.buf = malloc(1 << 20);
	if (!a.disk || !a.buf || imgfmt_disk_open(a.disk, disk_path, 0) < 0) {
		problem(v, disk_path, "%s", a.disk ? imgfmt_disk_error(a.disk) : "out of memory");
		goto out;
	}
	a.nvol = imgfmt_disk_volume_count(a.disk);
	a.fs = calloc(a.nvol, sizeof(*a.fs));
	st = catalog_prepare(v->r->db, "SELECT v.volume, v.dir, v.name, v.mode, v.uid, v.gid, v.size, v.mtime, c.sha256"
				  " FROM versions v LEFT JOIN contents c ON c.id = v.content_id"
				  " WHERE v.guest_id = ?1 AND v.first_seq <= ?2 AND v.last_seq >= ?2"
				  " ORDER BY v.volume, v.dir, v.name");
	if (a.fs && st) {
		db_bind_int64(st, 1, g->guest_id);
		db_bind_int64(st, 2, g->seq);
		while (db_step(st) == DB_ROW)
			compare_one(&a, st);
	}
	db_finalize(st);
	if (a.fs)
		check_unbacked(&a, g);
out:
	for (size_t i = 0; a.fs && i < a.nvol; i++)
		imgfmt_fs_free(a.fs[i]);
	free(a.fs);
	free(a.buf);
	imgfmt_disk_free(a.disk);
}

int cmd_verify(const char *repo, const char *spec, bool read_data, const char *against, bool json, bool quiet)
{
	int rc;
	struct repo r;
	struct verify v = { .r = &r, .json = json };
	struct generation g;
	struct db_stmt *st;
	char *guest = NULL;
	/* Archives and contents in scope: all, or those one generation uses. */
	const char *scope = spec ? " WHERE id IN (SELECT c.archive_id FROM contents c JOIN versions v ON"
				   " v.content_id = c.id WHERE v.guest_id = ?1 AND v.first_seq <= ?2 AND v.last_seq >= ?2)"
				 : "";
	char *sql = NULL;

	if ((rc = repo_open(&r, repo, REPO_READ)) != 0)
		return rc;
	if (spec && catalog_find_generation(r.db, spec, &guest, &g) < 0) {
		repo_close(&r);
		free(guest);
		return RAWKIT_EXIT_FAILED;
	}
	check_catalog(&v);
	if (asprintf(&sql, "SELECT id, path, size FROM archives%s ORDER BY id", scope) >= 0 && (st = catalog_prepare(r.db, sql))) {
		if (spec) {
			db_bind_int64(st, 1, g.guest_id);
			db_bind_int64(st, 2, g.seq);
		}
		while (db_step(st) == DB_ROW)
			check_archive(&v, db_column_int64(st, 0), db_column_text(st, 1),
				      db_column_int64(st, 2));
		db_finalize(st);
	}
	free(sql);
	sql = NULL;
	if (read_data &&
	    asprintf(&sql, "SELECT c.sha256, c.size, a.path, a.compression, f.offset, c.entry_offset FROM contents c"
			   " JOIN archives a ON a.id = c.archive_id JOIN frames f ON f.archive_id = c.archive_id"
			   " AND f.idx = c.frame_idx%s ORDER BY c.archive_id, c.frame_idx",
		     spec ? " WHERE c.id IN (SELECT content_id FROM versions WHERE guest_id = ?1 AND first_seq <= ?2"
			    " AND last_seq >= ?2)" : "") >= 0 &&
	    (st = catalog_prepare(r.db, sql))) {
		if (spec) {
			db_bind_int64(st, 1, g.guest_id);
			db_bind_int64(st, 2, g.seq);
		}
		while (db_step(st) == DB_ROW)
			check_content(&v, st);
		db_finalize(st);
	}
	free(sql);
	if (against)
		check_against(&v, &g, against);
	if (json) {
		json_t *o = json_object();
		json_put(o, "repo", json_text(repo));
		json_put(o, "guest", json_text(guest));
		json_put(o, "generation", spec ? json_integer(g.seq) : json_null());
		json_put(o, "disk", json_text(against));
		json_put(o, "frames", json_count(v.frames));
		json_put(o, "contents", json_count(v.contents));
		json_put(o, "files_compared", json_count(v.files));
		json_put(o, "problems", json_integer(v.problems));
		json_print(o, v.problems ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE);
	} else if (!quiet)
		printf("%s: %llu frames checked%s%s, %u problem%s\n", repo, (unsigned long long)v.frames,
		       read_data ? ", contents decompressed and checked" : "",
		       against ? ", compared with the disk" : "", v.problems, v.problems == 1 ? "" : "s");
	free(guest);
	repo_close(&r);
	return v.problems ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}
