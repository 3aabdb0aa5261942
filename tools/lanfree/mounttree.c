/* mounttree.c --- rawkit-lanfree mount: the catalog as a tree of paths
 *
 *   /                    the guests that have a generation
 *   /GUEST/              its generations by number, and "latest"
 *   /GUEST/GEN/          the volumes the generation backed up
 *   /GUEST/GEN/VOL/...   the versions of the generation (first_seq <= GEN
 *                        <= last_seq), with their recorded metadata
 *
 * The catalog is input: a name that cannot be one path component (empty,
 * "." or "..", with '/' or NUL, longer than 255 bytes) is not listed, and
 * no value read from it is used as a size to allocate.  Inode numbers are
 * the recorded ones mixed with the guest, generation and volume, so that
 * hard links are links inside one generation's volume and nothing else.
 */
#include "fusemount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* the columns stat_from_row() reads, first in every version query */
#define STAT_COLUMNS "id, mode, uid, gid, size, atime, mtime, ctime, ino, nlink, rdev_major, rdev_minor"

static const char *const sql[ST_COUNT] = {
	[ST_GUEST] = "SELECT id FROM guests WHERE name = ?1",
	[ST_GUESTS] = "SELECT g.name, g.id FROM guests g WHERE EXISTS (SELECT 1 FROM generations n WHERE n.guest_id = g.id)"
		      " ORDER BY g.name",
	[ST_GEN] = "SELECT id, started, finished FROM generations WHERE guest_id = ?1 AND seq = ?2",
	[ST_GENS] = "SELECT seq, id, started, finished FROM generations WHERE guest_id = ?1 AND seq > 0 ORDER BY seq",
	[ST_LATEST] = "SELECT seq FROM generations WHERE guest_id = ?1 AND status = 'complete' AND seq > 0"
		      " ORDER BY seq DESC LIMIT 1",
	[ST_VOLUME] = "SELECT 1 FROM volumes WHERE gen_id = ?1 AND name = ?2 AND skipped IS NULL",
	[ST_VOLUMES] = "SELECT name FROM volumes WHERE gen_id = ?1 AND skipped IS NULL ORDER BY name",
	[ST_VERSION] = "SELECT " STAT_COLUMNS " FROM versions WHERE guest_id = ?1 AND volume = ?2 AND dir = ?3"
		       " AND name = ?4 AND first_seq <= ?5 AND last_seq >= ?5 LIMIT 1",
	[ST_CHILDREN] = "SELECT " STAT_COLUMNS ", name FROM versions WHERE guest_id = ?1 AND volume = ?2 AND dir = ?3"
			" AND first_seq <= ?4 AND last_seq >= ?4 AND length(name) > 0 ORDER BY name",
	[ST_BY_ID] = "SELECT symlink, xattrs, flags FROM versions WHERE id = ?1",
	[ST_CONTENT] = "SELECT v.size, v.error IS NOT NULL, v.content_id, c.sha256, c.size, c.entry_offset, a.path,"
		       " a.compression, f.offset, f.csize, f.usize FROM versions v"
		       " LEFT JOIN contents c ON c.id = v.content_id LEFT JOIN archives a ON a.id = c.archive_id"
		       " LEFT JOIN frames f ON f.archive_id = c.archive_id AND f.idx = c.frame_idx WHERE v.id = ?1",
};

int view_open(struct view *v, const char *repo, const char *catalog)
{
	char *db_path;

	v->db = NULL;
	memset(v->st, 0, sizeof(v->st));
	if (!(db_path = catalog ? strdup(catalog) : repo_catalog_target(repo))) {
		cli_error(repo, "cannot read the catalog's name: %s", strerror(errno));
		return -1;
	}
	if (db_open(db_path, DB_READ, &v->db) < 0) {
		cli_error(repo, "cannot open catalog: %s", db_errmsg(v->db));
		free(db_path);
		view_close(v);
		return -1;
	}
	free(db_path);
	if (catalog_check_schema(v->db, repo) < 0) {
		view_close(v);
		return -1;
	}
	for (int i = 0; i < ST_COUNT; i++)
		if (!(v->st[i] = catalog_prepare(v->db, sql[i]))) {
			view_close(v);
			return -1;
		}
	return 0;
}

void view_close(struct view *v)
{
	for (int i = 0; i < ST_COUNT; i++) {
		db_finalize(v->st[i]);
		v->st[i] = NULL;
	}
	db_close(v->db);
	v->db = NULL;
}

/* The statement I, reset for new bindings. */
static struct db_stmt *stmt(struct view *v, enum view_stmt i)
{
	db_reset(v->st[i]);
	db_clear_bindings(v->st[i]);
	return v->st[i];
}

/* An empty blob, not NULL: SQLite binds a NULL pointer as NULL. */
static void bind_bytes(struct db_stmt *st, int i, const char *p, size_t n)
{
	db_bind_blob(st, i, n ? p : "", (int)n);
}

/* ---- inode numbers ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static uint64_t bytes_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

/* Never 0 (some readers skip such entries) nor 1 (the root's). */
static ino_t ino_nonzero(uint64_t x)
{
	return x > 1 ? (ino_t)x : (ino_t)(x + 2);
}

/* A recorded inode number made unique to its guest, generation and volume
 * (XOR: one-to-one inside a volume, so its hard links stay links). */
static ino_t entry_ino(const struct node *n, const char *vol, size_t vol_len, uint64_t ino)
{
	uint64_t salt = mix64(mix64((uint64_t)n->guest_id) ^ mix64((uint64_t)n->seq + 0x51) ^ bytes_hash(vol, vol_len));

	return ino_nonzero(ino ^ salt);
}

static ino_t made_up_ino(enum node_kind kind, int64_t a, int64_t b)
{
	return kind == NODE_ROOT ? 1 : ino_nonzero(mix64(((uint64_t)kind << 56) ^ mix64((uint64_t)a) ^ (uint64_t)b));
}

/* ---- stat ---- */

static void set_times(struct stat *s, int64_t atime, int64_t mtime, int64_t ctime)
{
	s->st_atim = ns_timespec(atime);
	s->st_mtim = ns_timespec(mtime);
	s->st_ctim = ns_timespec(ctime);
}

/* A directory rawkit makes up (the root, a guest, a generation). */
static void made_up_dir(struct view *v, struct node *n, int64_t when)
{
	memset(&n->st, 0, sizeof(n->st));
	n->st.st_mode = S_IFDIR | 0555;
	n->st.st_nlink = 2;
	n->st.st_uid = v->uid;
	n->st.st_gid = v->gid;
	n->st.st_ino = made_up_ino(n->kind, n->kind == NODE_GUEST ? n->guest_id : n->gen_id, n->version_id);
	set_times(&n->st, when, when, when);
}

/* A version's stat from the STAT_COLUMNS of ST. */
static void stat_from_row(struct db_stmt *st, struct node *n, const char *vol, size_t vol_len)
{
	struct stat *s = &n->st;
	int64_t size = db_column_int64(st, 4), nlink = db_column_int64(st, 9);

	memset(s, 0, sizeof(*s));
	n->version_id = db_column_int64(st, 0);
	s->st_mode = (mode_t)db_column_int64(st, 1);
	s->st_uid = (uid_t)db_column_int64(st, 2);
	s->st_gid = (gid_t)db_column_int64(st, 3);
	s->st_size = size < 0 ? 0 : size; /* a negative size: reading it fails (mountfile.c) */
	set_times(s, db_column_int64(st, 5), db_column_int64(st, 6), db_column_int64(st, 7));
	s->st_ino = entry_ino(n, vol, vol_len, (uint64_t)db_column_int64(st, 8));
	s->st_nlink = nlink < 1 ? 1 : nlink > UINT32_MAX ? UINT32_MAX : (nlink_t)nlink;
	s->st_rdev = makedev((unsigned)db_column_int64(st, 10), (unsigned)db_column_int64(st, 11));
	s->st_blksize = 4096;
	/* what the data would take without holes: the catalog does not say
	 * where the holes are until the archive entry is read */
	if (S_ISREG(s->st_mode) || S_ISDIR(s->st_mode))
		s->st_blocks = (blkcnt_t)(((uint64_t)s->st_size + 511) / 512);
}

/* ---- paths ---- */

/* A path of the mount cut into its first three components and the rest. */
struct where {
	int depth; /* 0 the root, 1 a guest, 2 a generation, 3 a volume, 4 below */
	const char *part[3];
	size_t len[3];
	const char *rel; /* below the volume: "etc/ssh" ("" at depth 3) */
	size_t rel_len;
};

static void split(const char *path, struct where *w)
{
	const char *p = path;

	memset(w, 0, sizeof(*w));
	w->rel = "";
	while (*p == '/')
		p++;
	while (*p && w->depth < 3) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		w->part[w->depth] = p;
		w->len[w->depth++] = n;
		p += n;
		while (*p == '/')
			p++;
	}
	if (*p) {
		w->depth = 4;
		w->rel = p;
		w->rel_len = strlen(p);
		while (w->rel_len && w->rel[w->rel_len - 1] == '/')
			w->rel_len--;
	}
}

/* GEN as the directory names it: decimal, no leading zero; -1 if not. */
static int64_t parse_seq(const char *s, size_t n)
{
	int64_t seq = 0;

	if (n == 0 || n > 18 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		seq = seq * 10 + (s[i] - '0');
	}
	return seq;
}

/* Step I failed: DB_DONE is "no such thing", anything else the catalog's trouble. */
static int step_error(struct view *v, int rc)
{
	if (rc == DB_DONE)
		return -ENOENT;
	if (v->foreground)
		cli_warning("catalog", "%s", db_errmsg(v->db));
	return -EIO;
}

static int find_guest(struct view *v, const struct where *w, struct node *n)
{
	struct db_stmt *st = stmt(v, ST_GUEST);
	int rc;

	db_bind_text(st, 1, w->part[0], (int)w->len[0]);
	if ((rc = db_step(st)) != DB_ROW)
		return step_error(v, rc);
	n->kind = NODE_GUEST;
	n->guest_id = db_column_int64(st, 0);
	made_up_dir(v, n, v->mounted);
	return 0;
}

static int find_latest(struct view *v, struct node *n)
{
	struct db_stmt *st = stmt(v, ST_LATEST);
	int rc;

	db_bind_int64(st, 1, n->guest_id);
	if ((rc = db_step(st)) != DB_ROW)
		return step_error(v, rc);
	n->kind = NODE_LATEST;
	n->seq = db_column_int64(st, 0);
	memset(&n->st, 0, sizeof(n->st));
	n->st.st_mode = S_IFLNK | 0777;
	n->st.st_nlink = 1;
	n->st.st_uid = v->uid;
	n->st.st_gid = v->gid;
	n->st.st_size = snprintf(NULL, 0, "%lld", (long long)n->seq);
	n->st.st_ino = made_up_ino(NODE_LATEST, n->guest_id, 0);
	set_times(&n->st, v->mounted, v->mounted, v->mounted);
	return 0;
}

static int find_gen(struct view *v, const struct where *w, struct node *n)
{
	struct db_stmt *st;
	int64_t seq = parse_seq(w->part[1], w->len[1]);
	int rc;

	if (w->len[1] == 6 && !memcmp(w->part[1], "latest", 6))
		return w->depth == 2 ? find_latest(v, n) : -ENOTDIR;
	if (seq <= 0)
		return -ENOENT;
	st = stmt(v, ST_GEN);
	db_bind_int64(st, 1, n->guest_id);
	db_bind_int64(st, 2, seq);
	if ((rc = db_step(st)) != DB_ROW)
		return step_error(v, rc);
	n->kind = NODE_GEN;
	n->seq = seq;
	n->gen_id = db_column_int64(st, 0);
	made_up_dir(v, n, db_column_int64(st, 1));
	return 0;
}

/* The version at DIR/NAME of volume W->part[2] in N's generation. */
static int find_version(struct view *v, const struct where *w, const char *dir, size_t dir_len, const char *name,
			size_t name_len, struct node *n)
{
	struct db_stmt *st = stmt(v, ST_VERSION);
	int rc;

	db_bind_int64(st, 1, n->guest_id);
	db_bind_text(st, 2, w->part[2], (int)w->len[2]);
	bind_bytes(st, 3, dir, dir_len);
	bind_bytes(st, 4, name, name_len);
	db_bind_int64(st, 5, n->seq);
	if ((rc = db_step(st)) != DB_ROW)
		return step_error(v, rc);
	stat_from_row(st, n, w->part[2], w->len[2]);
	return 0;
}

static int find_volume(struct view *v, const struct where *w, struct node *n)
{
	struct db_stmt *st = stmt(v, ST_VOLUME);
	int64_t started = n->st.st_mtim.tv_sec * 1000000000LL + n->st.st_mtim.tv_nsec;
	int rc;

	db_bind_int64(st, 1, n->gen_id);
	db_bind_text(st, 2, w->part[2], (int)w->len[2]);
	if ((rc = db_step(st)) != DB_ROW)
		return step_error(v, rc);
	n->kind = NODE_VOLUME;
	/* the volume's root directory as recorded (dir and name empty) */
	rc = find_version(v, w, "", 0, "", 0, n);
	if (rc == -ENOENT) { /* (a catalog without one) */
		n->version_id = 0;
		made_up_dir(v, n, started);
		n->st.st_ino = made_up_ino(NODE_VOLUME, n->gen_id, (int64_t)bytes_hash(w->part[2], w->len[2]));
		rc = 0;
	}
	if (rc == 0 && !S_ISDIR(n->st.st_mode))
		return -EIO; /* a volume's root that is not a directory: the catalog is damaged */
	return rc;
}

static int resolve(struct view *v, const struct where *w, struct node *n)
{
	int rc;

	memset(n, 0, sizeof(*n));
	n->kind = NODE_ROOT;
	made_up_dir(v, n, v->mounted);
	if (w->depth == 0)
		return 0;
	if ((rc = find_guest(v, w, n)) < 0 || w->depth == 1)
		return rc;
	if ((rc = find_gen(v, w, n)) < 0 || w->depth == 2)
		return rc;
	if ((rc = find_volume(v, w, n)) < 0 || w->depth == 3)
		return rc;
	{
		const char *slash = memrchr(w->rel, '/', w->rel_len);
		size_t dir_len = slash ? (size_t)(slash - w->rel) : 0;
		const char *name = slash ? slash + 1 : w->rel;
		n->kind = NODE_ENTRY;
		return find_version(v, w, w->rel, dir_len, name, w->rel_len - (size_t)(name - w->rel), n);
	}
}

int view_lookup(struct view *v, const char *path, struct node *n)
{
	struct where w;

	split(path, &w);
	return resolve(v, &w, n);
}

/* ---- listing ---- */

static int list_guests(struct view *v, view_fill_fn fill, void *arg)
{
	struct db_stmt *st = stmt(v, ST_GUESTS);
	struct node n = { .kind = NODE_GUEST };
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);
		if (!name || !path_component_ok(name, strlen(name)))
			continue;
		n.guest_id = db_column_int64(st, 1);
		made_up_dir(v, &n, v->mounted);
		if (fill(name, &n.st, arg))
			return 0;
	}
	return rc == DB_DONE ? 0 : step_error(v, rc);
}

static int list_gens(struct view *v, const struct node *guest, view_fill_fn fill, void *arg)
{
	struct db_stmt *st = stmt(v, ST_GENS);
	struct node n = *guest;
	char name[24];
	int rc;

	db_bind_int64(st, 1, guest->guest_id);
	while ((rc = db_step(st)) == DB_ROW) {
		n.kind = NODE_GEN;
		n.seq = db_column_int64(st, 0);
		n.gen_id = db_column_int64(st, 1);
		made_up_dir(v, &n, db_column_int64(st, 2));
		snprintf(name, sizeof(name), "%lld", (long long)n.seq);
		if (fill(name, &n.st, arg))
			return 0;
	}
	if (rc != DB_DONE)
		return step_error(v, rc);
	n = *guest;
	rc = find_latest(v, &n);
	if (rc == 0)
		fill("latest", &n.st, arg);
	return rc == -ENOENT ? 0 : rc;
}

static int list_volumes(struct view *v, const struct node *gen, view_fill_fn fill, void *arg)
{
	struct db_stmt *st = stmt(v, ST_VOLUMES);
	char **names = NULL;
	size_t count = 0;
	int rc;

	/* the names first: each volume's root is another query */
	db_bind_int64(st, 1, gen->gen_id);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);
		char **grown;
		if (!name || !path_component_ok(name, strlen(name)))
			continue;
		if (!(grown = realloc(names, (count + 1) * sizeof(*names))) || !(grown[count] = strdup(name))) {
			names = grown ? grown : names;
			rc = -ENOMEM;
			break;
		}
		names = grown;
		count++;
	}
	rc = rc == DB_DONE ? 0 : rc == -ENOMEM ? -ENOMEM : step_error(v, rc);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		struct where w = { .depth = 3, .part = { "", "", names[i] }, .len = { 0, 0, strlen(names[i]) } };
		struct node n = *gen;
		if (find_volume(v, &w, &n) == 0 && fill(names[i], &n.st, arg))
			break;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int list_dir(struct view *v, const struct where *w, const struct node *dir, view_fill_fn fill, void *arg)
{
	struct db_stmt *st = stmt(v, ST_CHILDREN);
	struct node n = *dir;
	char *last = NULL, name[256];
	int rc;

	db_bind_int64(st, 1, dir->guest_id);
	db_bind_text(st, 2, w->part[2], (int)w->len[2]);
	bind_bytes(st, 3, w->rel, w->rel_len);
	db_bind_int64(st, 4, dir->seq);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *p = db_column_blob(st, 12);
		size_t len = (size_t)db_column_bytes(st, 12);
		if (!p || !path_component_ok(p, len))
			continue;
		memcpy(name, p, len);
		name[len] = '\0';
		if (last && !strcmp(last, name))
			continue; /* the same name twice in one generation: the first */
		n.kind = NODE_ENTRY;
		stat_from_row(st, &n, w->part[2], w->len[2]);
		if (fill(name, &n.st, arg))
			break;
		free(last);
		if (!(last = strdup(name))) {
			rc = -ENOMEM;
			break;
		}
	}
	free(last);
	db_reset(st);
	return rc == DB_DONE || rc == DB_ROW ? 0 : rc == -ENOMEM ? -ENOMEM : step_error(v, rc);
}

int view_list(struct view *v, const char *path, const struct node *n, view_fill_fn fill, void *arg)
{
	struct where w;

	split(path, &w);
	switch (n->kind) {
	case NODE_ROOT:
		return list_guests(v, fill, arg);
	case NODE_GUEST:
		return list_gens(v, n, fill, arg);
	case NODE_GEN:
		return list_volumes(v, n, fill, arg);
	case NODE_VOLUME:
		return n->version_id ? list_dir(v, &w, n, fill, arg) : 0;
	case NODE_ENTRY:
		return S_ISDIR(n->st.st_mode) ? list_dir(v, &w, n, fill, arg) : -ENOTDIR;
	default:
		return -ENOTDIR;
	}
}

/* ---- symbolic links, attributes, flags ---- */

/* Version N's row of ST_BY_ID, stepped: 0 or -errno. */
static struct db_stmt *by_id(struct view *v, const struct node *n, int *rc)
{
	struct db_stmt *st = stmt(v, ST_BY_ID);
	int r;

	db_bind_int64(st, 1, n->version_id);
	r = db_step(st);
	*rc = r == DB_ROW ? 0 : r == DB_DONE ? -EIO : step_error(v, r);
	return *rc ? NULL : st;
}

int view_readlink(struct view *v, const struct node *n, char *buf, size_t size)
{
	struct db_stmt *st;
	const void *target;
	size_t len;
	int rc;

	if (size == 0)
		return -EINVAL;
	if (n->kind == NODE_LATEST) {
		snprintf(buf, size, "%lld", (long long)n->seq);
		return 0;
	}
	if (n->kind != NODE_ENTRY || !S_ISLNK(n->st.st_mode))
		return -EINVAL;
	if (!(st = by_id(v, n, &rc)))
		return rc;
	target = db_column_blob(st, 0);
	len = (size_t)db_column_bytes(st, 0);
	if (len > size - 1)
		len = size - 1;
	if (len)
		memcpy(buf, target, len);
	buf[len] = '\0';
	db_reset(st);
	return 0;
}

/* An attribute's name as the mount shows it, into OUT: NTFS metadata
 * under user.* as restore writes it; false when it is not shown. */
static bool xattr_shown(const char *name, size_t len, bool root, char out[256])
{
	if (len == 0 || memchr(name, '\0', len))
		return false;
	if (len > 12 && !memcmp(name, "system.ntfs_", 12)) {
		if (len - 7 + 5 > 255)
			return false;
		memcpy(out, "user.", 5);
		memcpy(out + 5, name + 7, len - 7);
		out[len - 7 + 5] = '\0';
	} else {
		if (len > 255)
			return false;
		memcpy(out, name, len);
		out[len] = '\0';
	}
	/* trusted.* is for CAP_SYS_ADMIN, as ext4 and XFS have it */
	return root || strncmp(out, "trusted.", 8) != 0;
}

struct xattr_walk {
	const char *want;   /* getxattr: the name */
	char *out;          /* the value, or the list */
	size_t size, total; /* room in OUT, and what the answer takes */
	bool root, found;
};

static int xattr_get_one(const char *name, size_t len, const void *value, size_t size, void *arg)
{
	struct xattr_walk *x = arg;
	char shown[256];

	if (!xattr_shown(name, len, x->root, shown) || strcmp(shown, x->want))
		return 0;
	x->found = true;
	x->total = size;
	if (x->size && size <= x->size)
		memcpy(x->out, value, size);
	return 1;
}

static int xattr_list_one(const char *name, size_t len, const void *value, size_t size, void *arg)
{
	struct xattr_walk *x = arg;
	char shown[256];
	size_t n;

	if (!xattr_shown(name, len, x->root, shown))
		return 0;
	n = strlen(shown) + 1;
	if (x->size && x->total + n <= x->size)
		memcpy(x->out + x->total, shown, n);
	x->total += n;
	return 0;
}

static int xattr_walk(struct view *v, const struct node *n, xattr_blob_fn fn, struct xattr_walk *x)
{
	struct db_stmt *st;
	const void *blob;
	size_t len;
	int rc;

	if (n->kind != NODE_ENTRY && !(n->kind == NODE_VOLUME && n->version_id))
		return 0; /* the directories rawkit makes up have none */
	if (!(st = by_id(v, n, &rc)))
		return rc;
	blob = db_column_blob(st, 1);
	len = (size_t)db_column_bytes(st, 1);
	rc = blob && len && xattr_blob_each(blob, len, fn, x) < 0 ? -EIO : 0; /* (none: NULL) */
	db_reset(st);
	return rc;
}

int view_getxattr(struct view *v, const struct node *n, const char *name, char *value, size_t size, bool root)
{
	struct xattr_walk x = { .want = name, .out = value, .size = size, .root = root };
	int rc = xattr_walk(v, n, xattr_get_one, &x);

	if (rc < 0)
		return rc;
	if (!x.found)
		return -ENODATA;
	if (x.total > INT32_MAX || (size && x.total > size))
		return -ERANGE;
	return (int)x.total;
}

int view_listxattr(struct view *v, const struct node *n, char *list, size_t size, bool root)
{
	struct xattr_walk x = { .out = list, .size = size, .root = root };
	int rc = xattr_walk(v, n, xattr_list_one, &x);

	if (rc < 0)
		return rc;
	if (x.total > 65536)
		return -E2BIG; /* XATTR_LIST_MAX */
	if (size && x.total > size)
		return -ERANGE;
	return (int)x.total;
}

int view_flags(struct view *v, const struct node *n, uint32_t *flags)
{
	struct db_stmt *st;
	int rc;

	*flags = 0;
	if (n->kind != NODE_ENTRY && !(n->kind == NODE_VOLUME && n->version_id))
		return 0;
	if (!(st = by_id(v, n, &rc)))
		return rc;
	*flags = (uint32_t)db_column_int64(st, 2);
	db_reset(st);
	return 0;
}
