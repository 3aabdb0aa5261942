/* export.c --- rawkit-lanfree export: one generation as one pax tar stream
 *
 * The synthetic full: every file of the generation, however many
 * incrementals it is made of, in one tar stream that GNU tar and bsdtar
 * extract without rawkit, laid out as restore lays it out (p1/etc/hostname)
 * and with what restore restores: mode, owner, times to the nanosecond,
 * symbolic links, hard links, devices, FIFOs, xattrs, POSIX ACLs (as
 * SCHILY.acl.*, the form both tars read; the kernel's system.posix_acl_*
 * attributes are not applied by either), holes (GNU sparse 1.0) and the
 * inode flags (SCHILY.fflags: bsdtar sets them, GNU tar skips them with a
 * note).  Sockets have no tar entry: they are left out, with a note.
 *
 * Entries come in restore's order: what has no content in path order, then
 * the files in the order their contents lie in the archives, which are read
 * once each, front to back, and the directories last (export_generation()).
 * libarchive cuts the stream into records of --block-size bytes, the last
 * one padded to a whole record, so that a tape gets fixed-size records.
 *
 * The catalog is input: names are checked as restore checks them, and
 * every content against its id.  A file whose data fits in memory (and a
 * sparse file whose data runs do) is checked before its header is written;
 * a larger one as it streams.  A damaged content fails the export: the
 * stream is left without its end-of-archive blocks (a tar reading it stops
 * with an error), and FILE, written as a temp file beside it, is removed.
 */
#include "hmap.h"
#include "lanfree.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Data checked before the header goes out: at most this much is held. */
#define KEEP_MAX (1u << 20)
/* zeros handed to libarchive per call for a hole (it skips them unread) */
#define HOLE_MAP (1u << 30)

/* Hard links of one volume: inode number -> index in export.link_paths. */
struct link_volume {
	char *name;
	struct imap inodes;
};

struct export {
	const struct export_opts *o;
	struct repo *repo;
	struct archive *a;
	int fd;
	bool failed;     /* reported; nothing more is exported */
	bool discarding; /* the stream is abandoned: the output takes nothing more */
	int out_errno;   /* why the output refused a write (0: libarchive's error) */
	uint64_t stream_bytes, files, bytes, total;
	unsigned warnings, sockets;
	struct unpacker *unp;
	struct cli_progress progress;
	unsigned char *keep; /* KEEP_MAX bytes: a content's data runs, in order */
	const unsigned char *zeros;
	struct link_volume *volumes;
	size_t nvolumes;
	char **link_paths;
	size_t nlinks, caplinks;
};

/* Where the stream goes: a regular file through a temp file beside it, or
 * straight to a device, a FIFO or stdout. */
struct output {
	const char *to;
	char *tmp; /* the temp file, until renamed */
	int fd;
	bool block_device;
};

/* The temp file being written, for a signal handler to remove. */
static char temp_path[PATH_MAX];

static void remove_temp(void)
{
	if (temp_path[0])
		unlink(temp_path);
}

static void xwarn(struct export *x, const char *object, const char *fmt, ...) CLI_PRINTF(3, 4);
static void xwarn(struct export *x, const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarning(object, fmt, ap);
	va_end(ap);
	x->warnings++;
}

static int xfail(struct export *x, const char *object, const char *fmt, ...) CLI_PRINTF(3, 4);
static int xfail(struct export *x, const char *object, const char *fmt, ...)
{
	va_list ap;

	if (!x->failed) {
		va_start(ap, fmt);
		cli_verror(object, fmt, ap);
		va_end(ap);
	}
	x->failed = true;
	return -1;
}

/* ------------------------------------------------------------ output */

static int output_open(struct output *out)
{
	struct stat st;
	const char *slash = strrchr(out->to, '/');
	int dir_len = slash ? (int)(slash - out->to) : 0;

	if (!strcmp(out->to, "-")) {
		out->fd = STDOUT_FILENO;
		return 0;
	}
	if (stat(out->to, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error(out->to, "cannot write: %s", strerror(EISDIR));
		return -1;
	}
	if (stat(out->to, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a tape, a disk, a FIFO: written in place, as tar -f does */
		out->fd = open(out->to, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		out->block_device = S_ISBLK(st.st_mode);
		if (out->fd < 0)
			cli_error(out->to, "cannot open: %s", strerror(errno));
		return out->fd < 0 ? -1 : 0;
	}
	if (asprintf(&out->tmp, "%.*s%s.%s.XXXXXX", dir_len, out->to, slash ? "/" : "", slash ? slash + 1 : out->to) < 0 ||
	    strlen(out->tmp) >= sizeof(temp_path)) {
		free(out->tmp);
		out->tmp = NULL;
		cli_error(out->to, "cannot create: %s", strerror(ENAMETOOLONG));
		return -1;
	}
	out->fd = mkostemp(out->tmp, O_CLOEXEC);
	if (out->fd < 0) {
		cli_error(out->to, "cannot create: %s", strerror(errno));
		free(out->tmp);
		out->tmp = NULL;
		return -1;
	}
	snprintf(temp_path, sizeof(temp_path), "%s", out->tmp);
	cli_clean_up_on_signals(remove_temp);
	return 0;
}

/* The stream is complete: fsync the temp file and rename it over TO (then
 * fsync its directory); a device is flushed and closed. */
static int output_commit(struct output *out)
{
	const char *slash = strrchr(out->to, '/');
	int fd = out->fd, dir;
	char *dir_path;

	if (fd == STDOUT_FILENO) {
		out->fd = -1;
		return 0;
	}
	out->fd = -1;
	/* (a tape takes no fsync: its close writes the filemark) */
	if ((out->tmp || out->block_device) && fsync(fd) < 0) {
		cli_error(out->to, "cannot write: %s", strerror(errno));
		close(fd);
		return -1; /* the temp file goes with output_abandon() */
	}
	if (close(fd) < 0) {
		cli_error(out->to, "cannot write: %s", strerror(errno));
		return -1;
	}
	if (!out->tmp)
		return 0;
	if (rename(out->tmp, out->to) < 0) {
		cli_error(out->to, "cannot rename %s to it: %s", out->tmp, strerror(errno));
		return -1;
	}
	temp_path[0] = '\0';
	free(out->tmp);
	out->tmp = NULL; /* committed */
	dir_path = slash ? strndup(out->to, slash == out->to ? 1 : (size_t)(slash - out->to)) : strdup(".");
	dir = dir_path ? open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dir < 0 || fsync(dir) < 0)
		cli_warning(out->to, "cannot sync its directory: %s", strerror(errno));
	if (dir >= 0)
		close(dir);
	free(dir_path);
	return 0;
}

/* The export failed: a temp file is removed; a device is closed as it is. */
static void output_abandon(struct output *out)
{
	if (out->fd >= 0 && out->fd != STDOUT_FILENO)
		close(out->fd);
	out->fd = -1;
	if (out->tmp) {
		unlink(out->tmp);
		temp_path[0] = '\0';
	}
	free(out->tmp);
	out->tmp = NULL;
}

/* ------------------------------------------------------------- stream */

/* libarchive's output: whole records, written out (short writes retried). */
static la_ssize_t tar_sink(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct export *x = arg;
	const char *p = buf;
	size_t left = len;

	if (x->discarding) {
		archive_set_error(a, ECANCELED, "export abandoned");
		return -1;
	}
	while (left) {
		ssize_t n = write(x->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			x->out_errno = n < 0 ? errno : ENOSPC;
			archive_set_error(a, x->out_errno, "%s", strerror(x->out_errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	x->stream_bytes += len;
	return (la_ssize_t)len;
}

static int tar_start(struct export *x)
{
	int bs = (int)x->o->block_size;

	x->a = archive_write_new();
	if (!x->a || archive_write_set_format_pax(x->a) != ARCHIVE_OK ||
	    /* xattrs as SCHILY.xattr.* only: the form GNU tar reads too */
	    archive_write_set_format_option(x->a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(x->a, bs) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(x->a, bs) != ARCHIVE_OK ||
	    archive_write_open2(x->a, x, NULL, tar_sink, NULL, NULL) != ARCHIVE_OK)
		return xfail(x, x->o->to, "cannot start the tar stream: %s",
			     x->a ? archive_error_string(x->a) : "out of memory");
	return 0;
}

/* The output's error, or libarchive's. */
static int tar_fail(struct export *x)
{
	return xfail(x, x->o->to, "cannot write: %s",
		     x->out_errno ? strerror(x->out_errno) : archive_error_string(x->a));
}

static int tar_data(struct export *x, const void *buf, size_t len)
{
	if (len && archive_write_data(x->a, buf, len) < 0)
		return tar_fail(x);
	return 0;
}

/* LEN bytes of a hole: libarchive skips them (the entry's sparse map says
 * where the data is), from a mapping of zero pages never touched. */
static int tar_hole(struct export *x, uint64_t len)
{
	if (len && !x->zeros) {
		void *m = mmap(NULL, HOLE_MAP, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return xfail(x, x->o->to, "cannot map zeros for a hole: %s", strerror(errno));
		x->zeros = m;
	}
	while (len) {
		size_t n = len > HOLE_MAP ? HOLE_MAP : (size_t)len;
		la_ssize_t done = archive_write_data(x->a, x->zeros, n);
		if (done <= 0)
			return tar_fail(x);
		len -= (uint64_t)done;
	}
	return 0;
}

/* End the stream: the end-of-archive blocks, the last record padded. */
static int tar_finish(struct export *x)
{
	int rc = archive_write_close(x->a);

	archive_write_free(x->a);
	x->a = NULL;
	return rc == ARCHIVE_OK ? 0 : tar_fail(x);
}

/* Drop the stream without finishing it: libarchive's close would pad the
 * entry under way and write the end-of-archive blocks; its output is
 * refused instead, so that close only frees what it holds. */
static void tar_drop(struct export *x)
{
	if (!x->a)
		return;
	x->discarding = true;
	archive_write_close(x->a);
	archive_write_free(x->a);
	x->a = NULL;
}

/* ------------------------------------------------------------ headers */

struct attr_ctx {
	struct export *x;
	struct archive_entry *e;
	const char *path;
};

/* A POSIX ACL as the kernel keeps it in system.posix_acl_access/default (a
 * u32 version 2, then u16 tag, u16 permissions, u32 id per entry, little
 * endian) into E's ACL of TYPE; -1 when malformed. */
static int acl_to_entry(struct archive_entry *e, int type, const unsigned char *v, size_t size)
{
	static const struct {
		unsigned kernel;
		int tag;
	} tags[] = {
		{ 0x01, ARCHIVE_ENTRY_ACL_USER_OBJ }, { 0x02, ARCHIVE_ENTRY_ACL_USER },
		{ 0x04, ARCHIVE_ENTRY_ACL_GROUP_OBJ }, { 0x08, ARCHIVE_ENTRY_ACL_GROUP },
		{ 0x10, ARCHIVE_ENTRY_ACL_MASK }, { 0x20, ARCHIVE_ENTRY_ACL_OTHER },
	};

	if (size < 4 || (size - 4) % 8 || (v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24) != 2)
		return -1;
	/* checked whole before any of it goes in */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t at = 4; at < size; at += 8) {
			unsigned tag = v[at] | v[at + 1] << 8, perm = v[at + 2] | v[at + 3] << 8;
			uint32_t id = v[at + 4] | v[at + 5] << 8 | v[at + 6] << 16 | (uint32_t)v[at + 7] << 24;
			size_t i = 0;
			while (i < sizeof(tags) / sizeof(tags[0]) && tags[i].kernel != tag)
				i++;
			if (i == sizeof(tags) / sizeof(tags[0]) || perm & ~7u)
				return -1;
			/* ARCHIVE_ENTRY_ACL_READ, _WRITE, _EXECUTE are 4, 2, 1 as well */
			if (pass && archive_entry_acl_add_entry(e, type, (int)perm, tags[i].tag,
								tag == 0x02 || tag == 0x08 ? (int)id : -1, NULL) != ARCHIVE_OK)
				return -1;
		}
	}
	return 0;
}

static int attr_to_entry(const char *name, size_t name_len, const void *value, size_t size, void *arg)
{
	struct attr_ctx *c = arg;
	char n[300];
	int acl = 0;

	if (name_len >= sizeof(n) - 8 || memchr(name, '\0', name_len))
		return 0;
	/* NTFS metadata cannot go back into system.*: user.* as restore does */
	if (name_len > 12 && !memcmp(name, "system.ntfs_", 12))
		snprintf(n, sizeof(n), "user.%.*s", (int)(name_len - 7), name + 7);
	else
		snprintf(n, sizeof(n), "%.*s", (int)name_len, name);
	if (!strcmp(n, "system.posix_acl_access"))
		acl = ARCHIVE_ENTRY_ACL_TYPE_ACCESS;
	else if (!strcmp(n, "system.posix_acl_default"))
		acl = ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;
	if (!acl)
		archive_entry_xattr_add_entry(c->e, n, value, size);
	else if (acl_to_entry(c->e, acl, value, size) < 0)
		xwarn(c->x, c->path, "malformed ACL in %s: left out", n);
	return 0;
}

/* The tar header of V at PATH (a regular file's size and sparse map are
 * the caller's); NULL when out of memory. */
static struct archive_entry *tar_entry(struct export *x, const struct entry *v, const char *path)
{
	struct archive_entry *e = archive_entry_new();
	struct timespec at = ns_timespec(v->atime), mt = ns_timespec(v->mtime), ct = ns_timespec(v->ctime);
	struct attr_ctx c = { x, e, path };
	char *target;

	if (!e)
		return NULL;
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, v->mode & S_IFMT);
	archive_entry_set_perm(e, v->mode & 07777);
	archive_entry_set_uid(e, v->uid);
	archive_entry_set_gid(e, v->gid);
	archive_entry_set_atime(e, at.tv_sec, at.tv_nsec);
	archive_entry_set_mtime(e, mt.tv_sec, mt.tv_nsec);
	archive_entry_set_ctime(e, ct.tv_sec, ct.tv_nsec);
	if (S_ISLNK(v->mode)) {
		target = strndup(v->symlink ? v->symlink : "", v->symlink_len);
		if (!target) {
			archive_entry_free(e);
			return NULL;
		}
		archive_entry_copy_symlink(e, target);
		free(target);
	}
	if (S_ISCHR(v->mode) || S_ISBLK(v->mode)) {
		archive_entry_set_rdevmajor(e, v->rdev_major);
		archive_entry_set_rdevminor(e, v->rdev_minor);
	}
	/* ACLs after the mode: an access ACL's group entry is the group bits */
	if (v->xattrs_len && xattr_blob_each(v->xattrs, v->xattrs_len, attr_to_entry, &c) < 0)
		xwarn(x, path, "malformed attributes in the catalog: left out");
	if ((S_ISREG(v->mode) || S_ISDIR(v->mode)) && (v->flags & SETTABLE_FLAGS))
		archive_entry_set_fflags(e, v->flags & SETTABLE_FLAGS, 0);
	return e;
}

/* Write header E: 0, 1 when libarchive refused the entry (a warning; the
 * stream goes on), or -1 (reported). */
static int tar_header(struct export *x, struct archive_entry *e, const char *path)
{
	int r = archive_write_header(x->a, e);

	/* ARCHIVE_WARN: a name that is not UTF-8 went in with hdrcharset=BINARY */
	if (r >= ARCHIVE_WARN)
		return 0;
	if (r == ARCHIVE_FAILED && !x->out_errno) {
		xwarn(x, path, "cannot be put in a tar archive: %s: left out", archive_error_string(x->a));
		return 1;
	}
	return tar_fail(x);
}

static int tar_end_entry(struct export *x)
{
	return archive_write_finish_entry(x->a) == ARCHIVE_OK ? 0 : tar_fail(x);
}

/* ----------------------------------------------------------- contents */

/* A content being read from its archive: checked against its id, and
 * either kept (and written once checked) or streamed into the entry. */
struct content_pass {
	struct export *x;
	const struct entry *v;
	const char *path;
	struct unpack_info info;
	struct content_hash hash;
	bool started;   /* INFO known, HASH set up */
	bool streaming; /* the header is out: blocks go into the entry */
	bool keeping;   /* the data runs so far are in x->keep */
	bool refused;   /* libarchive refused the header: the file is left out */
	struct content_runs runs;
	size_t kept;
	uint64_t pos; /* streaming: bytes of the file handed to libarchive */
	const char *why; /* a block refused, and why (NULL: reported already) */
};

/* Header of regular file V at PATH, with its sparse map when RUNS (the
 * data runs; none: a file of holes only) is not NULL. */
static int file_header(struct export *x, const struct entry *v, const char *path, const struct content_runs *runs)
{
	struct archive_entry *e = tar_entry(x, v, path);
	int rc;

	if (!e)
		return xfail(x, path, "out of memory");
	archive_entry_set_size(e, (la_int64_t)v->size);
	if (runs) {
		for (size_t i = 0; i < runs->n; i++)
			archive_entry_sparse_add_entry(e, (la_int64_t)runs->run[i].offset, (la_int64_t)runs->run[i].length);
		/* a file that ends in a hole ends its map with an empty run, as
		 * GNU tar does (and a file of holes only still has a map) */
		if (!runs->n || runs->run[runs->n - 1].offset + runs->run[runs->n - 1].length < v->size)
			archive_entry_sparse_add_entry(e, (la_int64_t)v->size, 0);
	}
	rc = tar_header(x, e, path);
	archive_entry_free(e);
	return rc;
}

/* The first block (or the end of an entry without any): the entry's size
 * is the catalog's; a large file without holes is streamed from here. */
static int pass_start(struct content_pass *p)
{
	int rc;

	if (p->info.size != p->v->size) {
		p->why = "archive entry's size is not the catalog's";
		return -1;
	}
	if (content_hash_init(&p->hash, p->info.sparse, p->info.size) < 0) {
		p->why = "out of memory";
		return -1;
	}
	p->started = true;
	if (!p->streaming && !p->info.sparse && p->info.size > KEEP_MAX) {
		rc = file_header(p->x, p->v, p->path, NULL);
		p->refused = rc == 1;
		if (rc)
			return -1;
		p->streaming = true;
	}
	p->keeping = !p->streaming;
	return 0;
}

static int content_block(const void *buf, size_t len, uint64_t offset, void *arg)
{
	struct content_pass *p = arg;

	if (!p->started && pass_start(p) < 0)
		return -1;
	/* out of order or past the entry's size: the archive is damaged */
	if (content_hash_data(&p->hash, buf, len, offset) < 0) {
		p->why = "archive entry has data out of order or past its size";
		return -1;
	}
	if (p->streaming) {
		if (tar_hole(p->x, offset - p->pos) < 0 || tar_data(p->x, buf, len) < 0)
			return -1;
		p->pos = offset + len;
		return 0;
	}
	if (content_runs_append(&p->runs, offset, len) < 0) {
		p->why = "out of memory";
		return -1;
	}
	p->keeping = p->keeping && p->kept + len <= KEEP_MAX;
	if (p->keeping) {
		memcpy(p->x->keep + p->kept, buf, len);
		p->kept += len;
	}
	return 0;
}

/* Read V's content once (streaming: into the entry begun), and check it. */
static int content_read(struct content_pass *p)
{
	struct export *x = p->x;
	const struct entry *v = p->v;
	unsigned char md[32];
	char err[400], *archive = NULL;
	enum compression comp;
	int rc = -1;

	if (asprintf(&archive, "%s/%s", x->repo->path, v->archive) < 0)
		return xfail(x, p->path, "out of memory");
	if (compression_parse(v->compression, &comp) < 0)
		xfail(x, p->path, "damaged catalog: unknown compression %s", v->compression);
	else if (unpacker_entry(x->unp, archive, comp, v->frame_off, v->frame_upos, v->entry_off, v->size, content_block, p,
				&p->info, err, sizeof(err)) < 0) {
		if (!p->refused && !x->failed)
			xfail(x, p->path, "%s", p->why ? p->why : err);
	} else if (!p->started && pass_start(p) < 0) {
		if (!p->refused && !x->failed)
			xfail(x, p->path, "%s", p->why);
	} else if (content_hash_final(&p->hash, md) < 0 || memcmp(md, v->sha, 32) != 0) {
		xfail(x, p->path, "content does not match its checksum (damaged archive?)");
	} else {
		rc = 0;
	}
	if (p->started)
		content_hash_free(&p->hash);
	p->started = false;
	free(archive);
	return rc;
}

/* The kept data runs of a checked content into the entry, holes between. */
static int write_kept(struct export *x, const struct content_pass *p)
{
	uint64_t pos = 0;
	size_t at = 0;

	for (size_t i = 0; i < p->runs.n; i++) {
		const struct content_run *r = &p->runs.run[i];
		if (tar_hole(x, r->offset - pos) < 0 || tar_data(x, x->keep + at, (size_t)r->length) < 0)
			return -1;
		at += (size_t)r->length;
		pos = r->offset + r->length;
	}
	return tar_hole(x, p->v->size - pos);
}

/* Regular file V with content, at PATH: 0 written, 1 left out (libarchive
 * refused its header: a warning), -1 failed (reported). */
static int export_content(struct export *x, const struct entry *v, const char *path)
{
	struct content_pass p = { .x = x, .v = v, .path = path };
	int rc;

	if (content_read(&p) < 0) {
		rc = p.refused ? 1 : -1;
	} else if (p.streaming) {
		rc = tar_hole(x, v->size - p.pos); /* a sparse file's last hole */
	} else {
		rc = file_header(x, v, path, p.info.sparse ? &p.runs : NULL);
		if (rc == 0 && p.keeping) {
			rc = write_kept(x, &p);
		} else if (rc == 0) {
			/* a sparse file with more data than is kept: again, into the entry */
			struct content_pass again = { .x = x, .v = v, .path = path, .streaming = true };
			rc = content_read(&again);
			if (rc == 0)
				rc = tar_hole(x, v->size - again.pos);
			content_runs_free(&again.runs);
		}
	}
	content_runs_free(&p.runs);
	if (rc == 0 && tar_end_entry(x) < 0)
		return -1;
	return rc;
}

/* ------------------------------------------------------------- entries */

/* The first path exported of inode INO of VOLUME, or NULL. */
static struct link_volume *link_volume(struct export *x, const char *volume, bool add)
{
	struct link_volume *grown;

	for (size_t i = 0; i < x->nvolumes; i++)
		if (!strcmp(x->volumes[i].name, volume))
			return &x->volumes[i];
	if (!add || !(grown = realloc(x->volumes, (x->nvolumes + 1) * sizeof(*grown))))
		return NULL;
	x->volumes = grown;
	memset(&grown[x->nvolumes], 0, sizeof(*grown));
	if (!(grown[x->nvolumes].name = strdup(volume)))
		return NULL;
	return &x->volumes[x->nvolumes++];
}

static const char *link_find(struct export *x, const struct entry *v)
{
	struct link_volume *lv = link_volume(x, v->volume, false);
	uint32_t i;

	return lv && imap_get(&lv->inodes, v->ino, &i) ? x->link_paths[i] : NULL;
}

/* Remember PATH as the first of V's inode: later links refer to it (out of
 * memory: they become copies). */
static void link_add(struct export *x, const struct entry *v, const char *path)
{
	struct link_volume *lv = link_volume(x, v->volume, true);
	char *copy;

	if (!lv || x->nlinks >= UINT32_MAX - 1)
		return;
	if (x->nlinks == x->caplinks) {
		size_t cap = x->caplinks ? 2 * x->caplinks : 256;
		char **grown = realloc(x->link_paths, cap * sizeof(*grown));
		if (!grown)
			return;
		x->link_paths = grown;
		x->caplinks = cap;
	}
	if (!(copy = strdup(path)))
		return;
	if (imap_put(&lv->inodes, v->ino, (uint32_t)x->nlinks) < 0) {
		free(copy);
		return;
	}
	x->link_paths[x->nlinks++] = copy;
}

/* The catalog is input: before an entry is written, the version's size is
 * its content's and its archive has a name backup writes. */
static const char *version_damage(const struct entry *v)
{
	if ((int64_t)v->size < 0)
		return "negative size";
	if (v->content_missing)
		return "its content is not in the catalog";
	if (v->has_content && v->content_size != (int64_t)v->size)
		return "its size is not its content's";
	if (v->has_content && ((int64_t)v->frame_off < 0 || (int64_t)v->entry_off < 0 || (int64_t)v->frame_upos < 0))
		return "negative archive offset";
	if (v->has_content && !archive_path_ok(v->archive))
		return "its archive has a path rawkit does not write";
	return NULL;
}

static int export_file(struct export *x, const struct entry *v, const char *path)
{
	const char *first, *why;
	struct archive_entry *e;
	int rc;

	if (v->had_error) {
		xwarn(x, path, "was not readable when backed up: not exported");
		return 0;
	}
	if ((why = version_damage(v)))
		return xfail(x, path, "damaged catalog: %s (size %lld, content %lld bytes)", why, (long long)v->size,
			     (long long)v->content_size);
	if (v->nlink > 1 && (first = link_find(x, v))) {
		if (!(e = tar_entry(x, v, path)))
			return xfail(x, path, "out of memory");
		archive_entry_set_size(e, 0);
		archive_entry_copy_hardlink(e, first);
		rc = tar_header(x, e, path);
		archive_entry_free(e);
		if (rc == 0 && tar_end_entry(x) < 0)
			return -1;
		x->files += rc == 0;
		return rc < 0 ? -1 : 0;
	}
	if (v->has_content)
		rc = export_content(x, v, path);
	else if (v->size) {
		/* no content but a size: holes only, as restore makes it */
		struct content_runs none = { 0 };
		rc = file_header(x, v, path, &none);
		if (rc == 0)
			rc = tar_hole(x, v->size) < 0 || tar_end_entry(x) < 0 ? -1 : 0;
	} else {
		rc = file_header(x, v, path, NULL);
		if (rc == 0 && tar_end_entry(x) < 0)
			rc = -1;
	}
	if (rc < 0)
		return -1;
	if (rc == 0 && v->nlink > 1)
		link_add(x, v, path);
	if (rc == 0) {
		x->files++;
		x->bytes += v->size;
	}
	cli_progress_update(&x->progress, x->bytes, x->total);
	return 0;
}

/* Every component of V's path is one restore accepts (the catalog is input). */
static bool version_path_ok(const struct entry *v, const char *path)
{
	if (memchr(v->dir, '\0', v->dir_len) || memchr(v->name, '\0', v->name_len))
		return false;
	for (const char *c = path, *end; *c; c = end + (*end ? 1 : 0)) {
		end = strchr(c, '/');
		if (!end)
			end = c + strlen(c);
		if (!path_component_ok(c, (size_t)(end - c)))
			return false;
	}
	return path[0] != '\0';
}

/* V: 0 exported or left out with a warning, -1 failed (reported).  EARLY:
 * the first of a directory's two entries (not counted, no warning twice). */
static int export_version(struct export *x, const struct entry *v, bool early)
{
	char *path = version_path(v->volume, v->dir, v->dir_len, v->name, v->name_len);
	struct archive_entry *e;
	int rc = 0;

	if (!path)
		return xfail(x, x->o->to, "out of memory");
	if (!version_path_ok(v, path)) {
		if (!early)
			xwarn(x, "catalog", "an entry with an unsafe path was left out");
	} else if (S_ISREG(v->mode)) {
		rc = export_file(x, v, path);
	} else if (S_ISSOCK(v->mode)) {
		/* tar has no socket entries (GNU tar: "socket ignored") */
		x->sockets++;
	} else if (S_ISLNK(v->mode) && (!v->symlink_len || memchr(v->symlink, '\0', v->symlink_len))) {
		xwarn(x, path, "symbolic link with an empty or impossible target: left out");
	} else if (!S_ISDIR(v->mode) && !S_ISLNK(v->mode) && !S_ISCHR(v->mode) && !S_ISBLK(v->mode) &&
		   !S_ISFIFO(v->mode)) {
		xwarn(x, path, "unknown file type %o: left out", (unsigned)(v->mode & S_IFMT));
	} else if (!(e = tar_entry(x, v, path))) {
		rc = xfail(x, path, "out of memory");
	} else {
		archive_entry_set_size(e, 0);
		rc = tar_header(x, e, path);
		archive_entry_free(e);
		if (rc == 0)
			rc = tar_end_entry(x);
		x->files += rc == 0 && !early;
		rc = rc < 0 ? -1 : 0;
	}
	free(path);
	return rc;
}

/* ------------------------------------------------------------ catalog */

/* The versions of the generation: COND picks them, ORDER sorts them. */
static const char select_sql[] =
	"SELECT " ENTRY_COLUMNS " FROM versions v" ENTRY_JOINS
	" WHERE v.guest_id = ?1 AND v.first_seq <= ?2 AND v.last_seq >= ?2 AND %s ORDER BY %s";

static int find_default_acl(const char *name, size_t name_len, const void *value, size_t size, void *arg)
{
	if (name_len == 24 && !memcmp(name, "system.posix_acl_default", 24))
		*(bool *)arg = true;
	return 0;
}

static bool has_default_acl(const struct entry *v)
{
	bool found = false;

	if (v->xattrs_len)
		xattr_blob_each(v->xattrs, v->xattrs_len, find_default_acl, &found);
	return found;
}

/* EARLY: only the directories with a default ACL, their first entry. */
static int export_query(struct export *x, const struct generation *g, const char *cond, const char *order, bool early)
{
	struct db_stmt *st = NULL;
	char *sql = NULL;
	int rc = 0, step = DB_DONE;

	if (asprintf(&sql, select_sql, cond, order) < 0 || !(st = catalog_prepare(x->repo->db, sql))) {
		free(sql);
		return xfail(x, x->repo->path, "cannot read the catalog");
	}
	free(sql);
	db_bind_int64(st, 1, g->guest_id);
	db_bind_int64(st, 2, g->seq);
	while (rc == 0 && (step = db_step(st)) == DB_ROW) {
		struct entry v;
		if (entry_from_row(st, &v) < 0)
			rc = xfail(x, x->o->to, "out of memory");
		else if (!early || has_default_acl(&v))
			rc = export_version(x, &v, early);
		entry_free(&v);
	}
	if (rc == 0 && step != DB_DONE)
		rc = xfail(x, x->repo->path, "cannot read the catalog: %s", db_errmsg(x->repo->db));
	db_finalize(st);
	return rc;
}

/* Restore's order, which reads each archive once, front to back: what has
 * no content in path order, then the contents in archive order.  The
 * directories come last, deepest first, as restore sets their attributes:
 * a directory's times are then final once it is extracted (GNU tar sets
 * them as soon as an entry outside it follows).  A directory with a
 * default ACL also comes first, in path order: bsdtar sets no default ACL
 * on a directory it has already made for the files in it. */
static int export_generation(struct export *x, const struct generation *g)
{
	static const char dirs[] = "(v.mode & 61440) = 16384", others[] = "(v.mode & 61440) != 16384";

	if (export_query(x, g, dirs, "v.volume, v.dir, v.name", true) < 0 ||
	    export_query(x, g, others, "c.id IS NOT NULL, a.path, f.offset, c.entry_offset, v.volume, v.dir, v.name",
			 false) < 0)
		return -1;
	return export_query(x, g, dirs, "v.volume DESC, v.dir DESC, v.name DESC", false);
}

/* ------------------------------------------------------------ command */

static void export_json(const char *guest, const struct generation *g, const struct export *x, double seconds,
			int status)
{
	json_t *obj = json_object();

	json_put(obj, "guest", json_text(guest));
	json_put(obj, "generation", json_integer(g->seq));
	json_put(obj, "to", json_text(x->o->to));
	json_put(obj, "files", json_count(x->files));
	json_put(obj, "total_bytes", json_count(x->bytes));
	json_put(obj, "stream_bytes", json_count(x->stream_bytes));
	json_put_seconds(obj, "elapsed_ns", seconds);
	json_print(obj, status);
}

static void export_free(struct export *x)
{
	tar_drop(x);
	unpacker_free(x->unp);
	free(x->keep);
	if (x->zeros)
		munmap((void *)x->zeros, HOLE_MAP);
	for (size_t i = 0; i < x->nvolumes; i++) {
		free(x->volumes[i].name);
		imap_free(&x->volumes[i].inodes);
	}
	free(x->volumes);
	for (size_t i = 0; i < x->nlinks; i++)
		free(x->link_paths[i]);
	free(x->link_paths);
}

int cmd_export(const struct export_opts *o)
{
	struct export x = { .o = o, .fd = -1 };
	struct output out = { .to = o->to, .fd = -1 };
	bool to_stdout = !strcmp(o->to, "-"), summarize = false;
	FILE *text = to_stdout ? stderr : stdout; /* stdout may be the stream */
	struct repo repo;
	struct generation g;
	char *guest = NULL;
	double t0 = cli_now();
	int status = RAWKIT_EXIT_FAILED;

	if (to_stdout)
		json_mode_output(stderr);
	if (to_stdout && isatty(STDOUT_FILENO)) {
		cli_error(NULL, "stdout is a terminal: export writes a tar stream (--to FILE, or pipe it: --to - | tar -tvf -)");
		return RAWKIT_EXIT_USAGE;
	}
	if ((status = repo_open(&repo, o->repo, REPO_READ)) != 0)
		return status;
	status = RAWKIT_EXIT_FAILED;
	x.repo = &repo;
	if (catalog_find_generation(repo.db, o->spec, &guest, &g) < 0)
		goto out;
	if (!(x.unp = unpacker_new()) || !(x.keep = malloc(KEEP_MAX))) {
		cli_error(o->to, "out of memory");
		goto out;
	}
	if (output_open(&out) < 0)
		goto out;
	x.fd = out.fd;
	if (tar_start(&x) < 0)
		goto out;
	x.total = (uint64_t)g.bytes_total;
	cli_progress_start(&x.progress, "export", o->progress);
	if (export_generation(&x, &g) < 0 || tar_finish(&x) < 0 || output_commit(&out) < 0) {
		cli_progress_end(&x.progress);
		goto out;
	}
	cli_progress_end(&x.progress);
	summarize = true;
	if (x.sockets && !o->quiet && !o->json)
		fprintf(stderr, "%s: %s: %u socket%s left out (tar has no socket entries)\n", cli_program(), o->to,
			x.sockets, x.sockets == 1 ? "" : "s");
	if (!o->quiet && !o->json)
		fprintf(text, "%s@%lld: exported %llu entries, %llu bytes of files, as %llu bytes of tar to %s\n", guest,
			(long long)g.seq, (unsigned long long)x.files, (unsigned long long)x.bytes,
			(unsigned long long)x.stream_bytes, o->to);
	status = x.warnings ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
out:
	export_free(&x);
	output_abandon(&out);
	if (o->json && summarize)
		export_json(guest, &g, &x, cli_now() - t0, status);
	free(guest);
	repo_close(&repo);
	return status;
}
