/* restore.c --- rawkit-lanfree restore: files of one generation into a directory
 *
 * Safety: every path is built component by component from the catalog and
 * created under --to with openat(O_NOFOLLOW | O_DIRECTORY), so neither a
 * name like ".." nor a symbolic link from the guest can lead outside it.
 * Owners, device nodes and setuid/setgid bits are restored only as root.
 * Existing files are left alone unless --overwrite (then replaced by
 * rename).  Each file's content id (content.c) is checked as it is
 * written; holes are left as holes, never written or hashed.
 */
#include "lanfree.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct deferred_dir {
	char *rel; /* path under --to */
	struct entry e;
};

struct restore {
	const struct restore_opts *o;
	struct repo *repo;
	int to_fd;
	bool root;
	unsigned warnings;
	uint64_t files, bytes, matched, failed;
	uint64_t total; /* bytes to restore, when known (the whole generation) */
	struct deferred_dir *dirs;
	size_t ndirs, capdirs;
	/* hard links: "volume/ino" -> first path restored */
	char **link_keys, **link_paths;
	size_t nlinks, caplinks;
	unsigned skipped_ns_xattrs;
	/* inode flags, set last (after every link, data and attribute): an
	 * append-only or immutable file takes no link once flagged */
	struct pending_flags *flags;
	size_t nflags, capflags;
	/* attributes the target filesystem refused as too large, kept in
	 * --to/XATTR_SIDECAR (getfattr --dump format) */
	FILE *sidecar;
	unsigned sidecar_values;
	struct cli_progress progress;
	struct unpacker *unp; /* kept open: contents are restored in archive order */
	struct writer *wr;    /* small files' data written on a thread, or NULL */
	/* the directory opened last (files of one directory follow each
	 * other): its path under --to and an fd of it, or -1 */
	char *dir_rel;
	size_t dir_len;
	int dir_fd;
};

struct pending_flags {
	char *rel; /* path under --to */
	uint32_t flags;
};

#define XATTR_SIDECAR "rawkit-xattrs.txt"


static void rwarn(struct restore *r, const char *object, const char *fmt, ...) CLI_PRINTF(3, 4);
static void rwarn(struct restore *r, const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarning(object, fmt, ap);
	va_end(ap);
	r->warnings++;
}

static void dir_remember(struct restore *r, const char *rel, size_t len, int fd)
{
	char *copy = malloc(len + 1);
	int keep = copy ? dup(fd) : -1;

	if (r->dir_fd >= 0)
		close(r->dir_fd);
	free(r->dir_rel);
	r->dir_rel = keep >= 0 ? copy : NULL;
	r->dir_fd = keep;
	r->dir_len = len;
	if (keep >= 0)
		memcpy(copy, rel, len);
	else
		free(copy);
}

/* Open (creating as needed, mode 0700) the directory REL under --to, one
 * component at a time, never following a symbolic link.  The walk starts
 * from the directory opened last when REL is that one or below it: a
 * restore never replaces a directory, so that fd still names it. */
static int open_dir(struct restore *r, const char *rel, size_t len)
{
	int fd;
	size_t at = 0;

	if (r->dir_fd >= 0 && len >= r->dir_len && !memcmp(rel, r->dir_rel, r->dir_len) &&
	    (len == r->dir_len || (r->dir_len && rel[r->dir_len] == '/'))) {
		if (len == r->dir_len)
			return dup(r->dir_fd);
		fd = dup(r->dir_fd);
		at = r->dir_len + 1;
	} else {
		fd = dup(r->to_fd);
	}

	while (fd >= 0 && at < len) {
		const char *c = rel + at, *slash = memchr(c, '/', len - at);
		size_t n = slash ? (size_t)(slash - c) : len - at;
		char name[256];
		int next;
		if (!path_component_ok(c, n)) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(name, c, n);
		name[n] = '\0';
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mkdirat(fd, name, 0700) == 0)
			next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		at += n + (slash ? 1 : 0);
	}
	if (fd >= 0)
		dir_remember(r, rel, len, fd);
	return fd;
}

struct xattr_ctx {
	struct restore *r;
	int fd;           /* -1: use PATH with lsetxattr */
	const char *path; /* for lsetxattr and messages */
	const char *rel;  /* path under --to */
};

/* S into F as getfattr --dump quotes it (setfattr --restore reads it back):
 * backslash, '=', blanks and control bytes as \ooo octal. */
static void sidecar_quote(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '\\' || c == '=' || c == 0x7f)
			fprintf(f, "\\%03o", c);
		else
			putc(c, f);
	}
}

/* Keep an attribute the target refused as too large in --to/XATTR_SIDECAR,
 * where `setfattr --restore` can put it back on a filesystem that takes it. */
static int sidecar_store(struct restore *r, const char *rel, const char *name, const void *value, size_t size)
{
	const unsigned char *v = value;

	if (!r->sidecar) {
		int fd = openat(r->to_fd, XATTR_SIDECAR, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || !(r->sidecar = fdopen(fd, "a"))) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	fputs("# file: ", r->sidecar);
	sidecar_quote(r->sidecar, rel, strlen(rel));
	putc('\n', r->sidecar);
	sidecar_quote(r->sidecar, name, strlen(name));
	fputs("=0x", r->sidecar);
	for (size_t i = 0; i < size; i++)
		fprintf(r->sidecar, "%02x", v[i]);
	fputs("\n\n", r->sidecar);
	r->sidecar_values++;
	return ferror(r->sidecar) ? -1 : 0;
}

/* ENOSPC or E2BIG from setxattr with room to spare on the target: the value
 * is larger than one attribute may be there (ext4: a block), not a full disk. */
static bool xattr_too_large(struct restore *r, int err, size_t size)
{
	struct statvfs vfs;

	if (err == E2BIG)
		return true;
	return err == ENOSPC && fstatvfs(r->to_fd, &vfs) == 0 &&
	       (uint64_t)vfs.f_bavail * vfs.f_frsize > (uint64_t)size + (1u << 20);
}

/* A value the target refused as too large: into the sidecar, with a note. */
static void xattr_set_aside(struct xattr_ctx *x, const char *name, const void *value, size_t size)
{
	struct restore *r = x->r;
	char *shown = strdup(x->rel);

	if (sidecar_store(r, x->rel, name, value, size) < 0) {
		rwarn(r, x->path, "cannot set attribute %s: value of %zu bytes is larger than the target filesystem "
			  "accepts, and cannot be stored in %s/%s: %s", name, size, r->o->to, XATTR_SIDECAR, strerror(errno));
	} else if (!r->o->quiet && !r->o->json && shown) {
		cli_sanitize(shown);
		fprintf(stderr, "%s: %s: attribute %s: value of %zu bytes is larger than the target filesystem accepts; "
			"stored in %s/%s\n", cli_program(), shown, name, size, r->o->to, XATTR_SIDECAR);
	}
	free(shown);
}

static int set_one_xattr(const char *name, size_t name_len, const void *value, size_t size, void *arg)
{
	struct xattr_ctx *x = arg;
	char n[300];
	int rc;

	if (name_len >= sizeof(n) - 8)
		return 0;
	/* NTFS metadata goes back into system.* only through ntfs-3g (whose
	 * name for the security descriptor is system.ntfs_acl); elsewhere it
	 * is kept as user.* */
	if (x->r->o->ntfs && name_len == 20 && !memcmp(name, "system.ntfs_security", 20))
		snprintf(n, sizeof(n), "system.ntfs_acl");
	else if (name_len > 12 && !memcmp(name, "system.ntfs_", 12) && !x->r->o->ntfs)
		snprintf(n, sizeof(n), "user.%.*s", (int)(name_len - 7), name + 7);
	else
		snprintf(n, sizeof(n), "%.*s", (int)name_len, name);
	if (!x->r->root && (!strncmp(n, "trusted.", 8) || !strncmp(n, "security.", 9))) {
		x->r->skipped_ns_xattrs++;
		return 0;
	}
	rc = x->fd >= 0 ? fsetxattr(x->fd, n, value, size, 0) : lsetxattr(x->path, n, value, size, 0);
	if (rc < 0 && xattr_too_large(x->r, errno, size))
		xattr_set_aside(x, n, value, size);
	else if (rc < 0)
		rwarn(x->r, x->path, "cannot set attribute %s: %s", n, strerror(errno));
	return 0;
}

/* Inode flags of REL, to be set by flags_apply() once everything else is
 * in place. */
static void flags_defer(struct restore *r, const char *rel, uint32_t flags)
{
	if (r->nflags == r->capflags) {
		size_t cap = r->capflags ? 2 * r->capflags : 64;
		struct pending_flags *grown = realloc(r->flags, cap * sizeof(*grown));
		if (!grown) {
			rwarn(r, rel, "out of memory: inode flags %x not set", flags);
			return;
		}
		r->flags = grown;
		r->capflags = cap;
	}
	r->flags[r->nflags].rel = strdup(rel);
	r->flags[r->nflags].flags = flags;
	if (r->flags[r->nflags].rel)
		r->nflags++;
	else
		rwarn(r, rel, "out of memory: inode flags %x not set", flags);
}

/* Set the deferred inode flags: after every link, data, attribute and time
 * (an append-only or immutable inode takes none of them afterwards). */
static void flags_apply(struct restore *r)
{
	for (size_t i = 0; i < r->nflags; i++) {
		const char *rel = r->flags[i].rel, *slash = strrchr(rel, '/');
		int parent = open_dir(r, rel, slash ? (size_t)(slash - rel) : 0), flags = 0, fd = -1;
		struct stat st;
		fd = parent < 0 ? -1 :
		     openat(parent, slash ? slash + 1 : rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			rwarn(r, rel, "cannot open to set its inode flags: %s", fd < 0 ? strerror(errno) : "not a file");
		else if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
			flags = (flags & ~SETTABLE_FLAGS) | (int)(r->flags[i].flags & SETTABLE_FLAGS);
			if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
				rwarn(r, rel, "cannot set inode flags %x: %s", r->flags[i].flags & SETTABLE_FLAGS, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		if (parent >= 0)
			close(parent);
	}
}

/* E's creation, write and access times through ntfs-3g's system.ntfs_times
 * (each in 100 ns units since 1601, little-endian).  Set before the other
 * attributes: once set so, ntfs-3g keeps them through the writes of streams,
 * attributes and reparse data, whereas a time set by utimensat() is lost
 * after a system.ntfs_* one, and a reparse point (a link to ntfs-3g) takes
 * no utimensat() at all.  0, or -1 (warned). */
static int ntfs_set_times(struct restore *r, int fd, const struct entry *e, const char *shown)
{
	int64_t ns[3] = { e->btime, e->mtime, e->atime };
	unsigned char v[24];

	for (int k = 0; k < 3; k++) {
		int64_t t = ns[k] / 100 + 116444736000000000LL;
		for (int i = 0; i < 8; i++)
			v[8 * k + i] = (unsigned char)((uint64_t)t >> (8 * i));
	}
	if (fsetxattr(fd, "system.ntfs_times", v, sizeof(v), 0) == 0)
		return 0;
	rwarn(r, shown, "cannot set times: %s", strerror(errno));
	return -1;
}

/* Owner, xattrs, mode, times: in that order (chown clears setuid); the
 * inode flags are deferred to flags_apply().  On ntfs-3g: the times
 * first (ntfs_set_times()), no mode. */
static void apply_meta(struct restore *r, int parent, const char *name, int fd, const struct entry *e,
		       const char *shown)
{
	struct timespec ts[2] = { ns_timespec(e->atime), ns_timespec(e->mtime) };
	char *proc = NULL;
	struct xattr_ctx x = { r, fd, shown, shown };
	bool link = S_ISLNK(e->mode), times_set;

	/* (through FD where there is one: no lookup of NAME again) */
	if (r->root && (fd >= 0 ? fchown(fd, e->uid, e->gid) : fchownat(parent, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW)) < 0)
		rwarn(r, shown, "cannot set owner: %s", strerror(errno));
	times_set = r->o->ntfs && fd >= 0 && e->btime && ntfs_set_times(r, fd, e, shown) == 0;
	/* No fd (a symlink, a device): lsetxattr() through the parent's fd. */
	if (e->xattrs_len && fd < 0 && asprintf(&proc, "/proc/self/fd/%d/%s", parent, name) >= 0)
		x.path = proc;
	if (e->xattrs_len && (fd >= 0 || proc) && xattr_blob_each(e->xattrs, e->xattrs_len, set_one_xattr, &x) < 0)
		rwarn(r, shown, "malformed attributes in the catalog");
	free(proc);
	/* ntfs-3g (without "permissions") has no modes: an NTFS file's is its
	 * read-only attribute, set with system.ntfs_attrib */
	if (!link && !r->o->ntfs) {
		mode_t mode = e->mode & 07777;
		if (!r->root)
			mode &= ~(mode_t)(S_ISUID | S_ISGID);
		if ((fd >= 0 ? fchmod(fd, mode) : fchmodat(parent, name, mode, 0)) < 0)
			rwarn(r, shown, "cannot set mode: %s", strerror(errno));
	}
	if (!times_set && (fd >= 0 ? futimens(fd, ts) : utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW)) < 0)
		rwarn(r, shown, "cannot set times: %s", strerror(errno));
	if (fd >= 0 && (e->flags & SETTABLE_FLAGS))
		flags_defer(r, shown, e->flags);
}

struct block_writer {
	int fd;
	struct unpack_info info;
	struct content_hash c;
	bool started;
	const char *why; /* the block refused, and why */
};

/* Unpack E's entry from its archive, each data block to BLOCK(ARG), its
 * header into *INFO; the entry must have E's size.  0, or -1 reported
 * under SHOWN: *WHY when BLOCK refused a block, else the unpacker's error. */
static int unpack_content(struct restore *r, const struct entry *e, const char *shown, unpack_block_fn block,
			  void *arg, const char *const *why, struct unpack_info *info)
{
	char err[400], *archive = NULL;
	enum compression comp;
	int rc = -1;

	if (asprintf(&archive, "%s/%s", r->repo->path, e->archive) < 0)
		cli_error(shown, "out of memory");
	else if (compression_parse(e->compression, &comp) < 0)
		cli_error(shown, "unknown compression %s in the catalog", e->compression);
	else if (unpacker_entry(r->unp, archive, comp, e->frame_off, e->frame_upos, e->entry_off, e->size, block, arg, info,
				err, sizeof(err)) < 0)
		cli_error(shown, "%s", *why ? *why : err);
	else if (info->size != e->size)
		cli_error(shown, "archive entry has %llu bytes, the catalog says %llu", (unsigned long long)info->size,
			  (unsigned long long)e->size);
	else
		rc = 0;
	free(archive);
	return rc;
}

/* A data block of the entry: hash it, write it at its offset.  Holes are
 * left to ftruncate(): nothing is written or hashed for them. */
static int write_block(const void *buf, size_t len, uint64_t offset, void *arg)
{
	struct block_writer *w = arg;

	if (!w->started) {
		if (content_hash_init(&w->c, w->info.sparse, w->info.size) < 0)
			return -1;
		w->started = true;
	}
	/* out of order or past the entry's size: the archive is damaged */
	if (content_hash_data(&w->c, buf, len, offset) < 0) {
		w->why = "archive entry has data out of order or past its size";
		return -1;
	}
	return cli_pwrite_all(w->fd, buf, len, offset);
}

/* Write the content of E into FD; check its id. */
static int write_content(struct restore *r, int fd, const struct entry *e, const char *shown)
{
	struct block_writer w = { .fd = fd };
	unsigned char md[32];
	int rc = -1;

	if (unpack_content(r, e, shown, write_block, &w, &w.why, &w.info) < 0)
		goto out;
	if (!w.started && content_hash_init(&w.c, w.info.sparse, w.info.size) < 0) {
		cli_error(shown, "out of memory");
		goto out;
	}
	w.started = true;
	if (ftruncate(fd, (off_t)e->size) < 0) {
		cli_error(shown, "cannot size: %s", strerror(errno));
		goto out;
	}
	if (content_hash_final(&w.c, md) < 0 || memcmp(md, e->sha, 32) != 0) {
		cli_error(shown, "restored content does not match its checksum (damaged archive?)");
		goto out;
	}
	r->bytes += e->size;
	rc = 0;
out:
	if (w.started)
		content_hash_free(&w.c);
	return rc;
}

static const char *link_find(struct restore *r, const char *key)
{
	for (size_t i = 0; i < r->nlinks; i++)
		if (!strcmp(r->link_keys[i], key))
			return r->link_paths[i];
	return NULL;
}

static void link_add(struct restore *r, const char *key, const char *rel)
{
	if (r->nlinks == r->caplinks) {
		size_t cap = r->caplinks ? r->caplinks * 2 : 64;
		char **k = realloc(r->link_keys, cap * sizeof(*k)), **p;
		if (!k)
			return;
		r->link_keys = k;
		p = realloc(r->link_paths, cap * sizeof(*p));
		if (!p)
			return;
		r->link_paths = p;
		r->caplinks = cap;
	}
	r->link_keys[r->nlinks] = strdup(key);
	r->link_paths[r->nlinks] = strdup(rel);
	if (r->link_keys[r->nlinks] && r->link_paths[r->nlinks])
		r->nlinks++;
}


/* A file of at most ASYNC_MAX bytes is unpacked into memory and written by
 * the writer thread (writer.c) while the next ones are unpacked; a larger
 * one is streamed to it, block by block. */
#define ASYNC_MAX (1u << 20)

/* A file handed to the writer: what it takes to finish it here. */
struct async_file {
	struct file_job job; /* first: the writer's jobs are these */
	int parent;
	char *name, *rel;
	struct entry e;
	const char *why;     /* collect_block() or stream_block() refused a block, and why */
	char why_buf[160];
	struct unpack_info info; /* the entry's header */
	uint64_t end;        /* of the last block unpacked */
	bool given;          /* to the writer */
	struct restore *r;   /* (streamed: for stream_block()) */
};

static void async_free(struct async_file *f)
{
	if (f->parent >= 0)
		close(f->parent);
	free(f->job.data);
	content_runs_free(&f->job.runs);
	free(f->name);
	free(f->rel);
	entry_free(&f->e);
	free(f);
}

/* What went wrong with J (not JOB_OK nor JOB_ABANDONED), in BUF. */
static const char *job_why(const struct file_job *j, char *buf, size_t size)
{
	if (j->result == JOB_DAMAGED)
		return "restored content does not match its checksum (damaged archive?)";
	if (j->result == JOB_NOMEM)
		return "out of memory";
	snprintf(buf, size, "cannot %s: %s", j->result == JOB_SIZE ? "size" : "write", strerror(j->err));
	return buf;
}

/* A file the writer is done with: report, or set its attributes and
 * close it, as restore_file() does for the others. */
static void async_finish(struct restore *r, struct async_file *f)
{
	const struct entry *e = &f->e;

	switch (f->job.result) {
	case JOB_OK:
		r->bytes += e->size;
		apply_meta(r, f->parent, f->name, f->job.fd, e, f->rel);
		close(f->job.fd);
		if (e->nlink > 1) {
			char key[64];
			snprintf(key, sizeof(key), "%s/%llu", e->volume, (unsigned long long)e->ino);
			link_add(r, key, f->rel);
		}
		r->files++;
		break;
	case JOB_ABANDONED: /* reported when it was */
		close(f->job.fd);
		unlinkat(f->parent, f->name, 0);
		r->failed++;
		break;
	default:
		cli_error(f->rel, "%s", job_why(&f->job, f->why_buf, sizeof(f->why_buf)));
		close(f->job.fd);
		unlinkat(f->parent, f->name, 0);
		r->failed++;
	}
	cli_progress_update(&r->progress, r->bytes, r->total);
	async_free(f);
}

/* Finish the files the writer is done with (ALL: every file given). */
static void async_drain(struct restore *r, bool all)
{
	struct file_job *j;

	if (!r->wr)
		return;
	while ((j = writer_take(r->wr, all)))
		async_finish(r, (struct async_file *)j);
}

/* A file that cannot be handed to the writer (reported): FD closed, the
 * file removed, F (if any) freed.  -1. */
static int async_fail(struct restore *r, int parent, const char *name, int fd, struct async_file *f)
{
	close(fd);
	unlinkat(parent, name, 0);
	r->failed++;
	if (f)
		async_free(f);
	return -1;
}

/* A data block of an entry must come in order and within the entry's size
 * (the archive is input): false (F's why said) when it does not. */
static bool block_in_order(struct async_file *f, size_t len, uint64_t offset)
{
	if (offset > f->job.size || len > f->job.size - offset || offset < f->end) {
		f->why = "archive entry has data out of order or past its size";
		return false;
	}
	f->end = offset + len;
	return true;
}

/* A data block of an entry unpacked into memory. */
static int collect_block(const void *buf, size_t len, uint64_t offset, void *arg)
{
	struct async_file *f = arg;
	struct file_job *j = &f->job;

	if (!len)
		return 0;
	if (!block_in_order(f, len, offset))
		return -1;
	memcpy(j->data + offset, buf, len);
	if (content_runs_append(&j->runs, offset, len) < 0) {
		f->why = "out of memory";
		return -1;
	}
	return 0;
}

/* Hand F's job to the writer, once fewer files are in flight (finishing
 * those it is done with). */
static void hand_over(struct restore *r, struct async_file *f)
{
	while (writer_full(r->wr)) {
		struct file_job *j = writer_take(r->wr, true);
		if (j)
			async_finish(r, (struct async_file *)j);
	}
	f->job.sparse = f->info.sparse;
	writer_give(r->wr, &f->job);
	f->given = true;
}

/* Unpack E into a job for the writer and hand it over; FD and PARENT are
 * the job's then (and E's buffers).  0, or -1 (reported, FD closed and
 * the file removed). */
static int restore_async(struct restore *r, int parent, const char *name, int fd, struct entry *e, const char *rel)
{
	struct async_file *f = calloc(1, sizeof(*f));
	bool unpacked = false;

	if (f)
		f->parent = -1;
	if (!f || !(f->job.data = malloc(e->size ? e->size : 1))) {
		cli_error(rel, "out of memory");
	} else {
		f->job.fd = fd;
		f->job.size = e->size;
		memcpy(f->job.sha, e->sha, 32);
		unpacked = unpack_content(r, e, rel, collect_block, f, &f->why, &f->info) == 0;
	}
	if (unpacked) {
		f->parent = dup(parent);
		f->name = strdup(name);
		f->rel = strdup(rel);
		if (f->parent < 0 || !f->name || !f->rel) {
			cli_error(rel, "out of memory");
			unpacked = false;
		}
	}
	if (!unpacked)
		return async_fail(r, parent, name, fd, f);
	f->e = *e;
	memset(e, 0, sizeof(*e)); /* its buffers are the job's now */
	hand_over(r, f);
	return 0;
}


/* A data block of a streamed file, to the writer; the job goes first. */
static int stream_block(const void *buf, size_t len, uint64_t offset, void *arg)
{
	struct async_file *f = arg;

	if (!len)
		return 0;
	if (!block_in_order(f, len, offset))
		return -1;
	if (!f->given)
		hand_over(f->r, f);
	switch (writer_piece(f->r->wr, &f->job, buf, len, offset)) {
	case 0:
		return 0;
	case 1: /* the writer failed: said here, the rest not decompressed */
		f->why = job_why(&f->job, f->why_buf, sizeof(f->why_buf));
		return -1;
	default:
		f->why = "out of memory";
		return -1;
	}
}

/* Stream E to the writer as it is unpacked; FD and PARENT are the job's
 * then (and E's buffers).  0, or -1 (reported; the file is removed, now
 * or when the writer gives it back). */
static int restore_stream(struct restore *r, int parent, const char *name, int fd, struct entry *e, const char *rel)
{
	struct async_file *f = calloc(1, sizeof(*f));
	bool ok;

	if (f) {
		f->r = r;
		f->job.fd = fd;
		f->job.size = e->size;
		f->job.stream = true;
		memcpy(f->job.sha, e->sha, 32);
		f->parent = dup(parent);
		f->name = strdup(name);
		f->rel = strdup(rel);
	}
	if (!f || f->parent < 0 || !f->name || !f->rel) {
		cli_error(rel, "out of memory");
		return async_fail(r, parent, name, fd, f);
	}
	ok = unpack_content(r, e, rel, stream_block, f, &f->why, &f->info) == 0;
	if (!f->given && !ok)
		return async_fail(r, parent, name, fd, f);
	if (!f->given) /* no data: holes only */
		hand_over(r, f);
	f->e = *e;
	memset(e, 0, sizeof(*e)); /* its buffers are the job's now */
	writer_close(r->wr, &f->job, !ok);
	return ok ? 0 : -1;
}

/* The catalog is input: before a file is created or a loop runs, the
 * version's size is its content's and its archive has a name backup
 * writes.  False (reported) when the entry must not be restored. */
static bool entry_sane(const struct entry *e, const char *rel)
{
	const char *why = NULL;

	if ((int64_t)e->size < 0)
		why = "negative size";
	else if (e->content_missing)
		why = "its content is not in the catalog";
	else if (e->has_content && e->content_size != (int64_t)e->size)
		why = "its size is not its content's";
	else if (e->has_content && ((int64_t)e->frame_off < 0 || (int64_t)e->entry_off < 0))
		why = "negative archive offset";
	else if (e->has_content && !archive_path_ok(e->archive))
		why = "its archive has a path rawkit does not write";
	if (why)
		cli_error(rel, "damaged catalog: %s (size %lld, content %lld bytes): not restored", why,
			  (long long)e->size, (long long)e->content_size);
	return !why;
}

/* Create a regular file: new, or (--overwrite) a temp file renamed over. */
static int restore_file(struct restore *r, int parent, const char *name, struct entry *e, const char *rel)
{
	char key[64], tmp[300];
	const char *first;
	struct stat st;
	bool exists = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	const char *target = name;
	int fd;

	if (e->had_error) {
		rwarn(r, rel, "was not readable when backed up: not restored");
		return 0;
	}
	if (!entry_sane(e, rel)) {
		r->failed++;
		return 0;
	}
	snprintf(key, sizeof(key), "%s/%llu", e->volume, (unsigned long long)e->ino);
	if (e->nlink > 1)
		async_drain(r, true); /* the links restored so far are known */
	if (e->nlink > 1 && (first = link_find(r, key))) {
		if (exists && !r->o->overwrite) {
			rwarn(r, rel, "exists: not overwritten (use --overwrite)");
			return 0;
		}
		if (exists)
			unlinkat(parent, name, 0);
		if (linkat(r->to_fd, first, parent, name, 0) < 0)
			rwarn(r, rel, "cannot make hard link to %s: %s", first, strerror(errno));
		r->files++;
		return 0;
	}
	if (exists && !r->o->overwrite) {
		rwarn(r, rel, "exists: not overwritten (use --overwrite)");
		return 0;
	}
	if (exists) {
		snprintf(tmp, sizeof(tmp), ".rawkit-restore.%d", (int)getpid());
		target = tmp;
	}
	fd = openat(parent, target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rwarn(r, rel, "cannot create: %s", strerror(errno));
		return 0;
	}
	if (r->wr && e->has_content && !exists) {
		/* finished, or reported, later */
		if (e->size <= ASYNC_MAX)
			restore_async(r, parent, name, fd, e, rel);
		else
			restore_stream(r, parent, name, fd, e, rel);
		return 0;
	}
	if (e->has_content && write_content(r, fd, e, rel) < 0) {
		/* reported; go on with the rest, fail at the end */
		close(fd);
		unlinkat(parent, target, 0);
		r->failed++;
		return 0;
	}
	if (!e->has_content && e->size && ftruncate(fd, (off_t)e->size) < 0) {
		rwarn(r, rel, "cannot size: %s", strerror(errno));
	}
	if (exists && renameat(parent, target, parent, name) < 0) {
		rwarn(r, rel, "cannot replace: %s", strerror(errno));
		close(fd);
		unlinkat(parent, target, 0);
		return 0;
	}
	apply_meta(r, parent, name, fd, e, rel);
	close(fd);
	if (e->nlink > 1)
		link_add(r, key, rel);
	r->files++;
	return 0;
}

/* Keep directory E (and REL) to set its attributes at the end; E's
 * buffers move with it. */
static int defer_dir(struct restore *r, char *rel, struct entry *e)
{
	if (r->ndirs == r->capdirs) {
		size_t cap = r->capdirs ? 2 * r->capdirs : 256;
		struct deferred_dir *grown = realloc(r->dirs, cap * sizeof(*grown));
		if (!grown)
			return -1;
		r->dirs = grown;
		r->capdirs = cap;
	}
	r->dirs[r->ndirs].rel = rel;
	r->dirs[r->ndirs++].e = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static int restore_entry(struct restore *r, struct entry *e)
{
	char *rel = version_path(e->volume, e->dir, e->dir_len, e->name, e->name_len);
	char *slash;
	int parent = -1, rc = 0;
	const char *name;

	if (!rel)
		return -1;
	/* Every component is checked again: the catalog is input too. */
	for (char *c = rel, *end; *c; c = end + (*end ? 1 : 0)) {
		end = strchr(c, '/');
		if (!end)
			end = c + strlen(c);
		if (!path_component_ok(c, (size_t)(end - c)) || memchr(e->dir, '\0', e->dir_len) ||
		    memchr(e->name, '\0', e->name_len)) {
			rwarn(r, "catalog", "an entry with an unsafe path was left out");
			free(rel);
			return 0;
		}
	}
	slash = strrchr(rel, '/');
	name = slash ? slash + 1 : rel;
	parent = open_dir(r, rel, slash ? (size_t)(slash - rel) : 0);
	if (parent < 0) {
		rwarn(r, rel, "cannot open its directory: %s", strerror(errno));
		free(rel);
		return 0;
	}
	if (S_ISDIR(e->mode)) {
		struct stat st;
		if (mkdirat(parent, name, 0700) < 0 &&
		    !(errno == EEXIST && fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)))
			rwarn(r, rel, "cannot create directory: %s", strerror(errno));
		else if (defer_dir(r, rel, e) == 0) {
			rel = NULL; /* ownership moved */
			r->files++;
		} else {
			rwarn(r, rel, "out of memory: its attributes will not be set");
		}
	} else if (S_ISREG(e->mode)) {
		rc = restore_file(r, parent, name, e, rel);
	} else {
		struct stat st;
		int made;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!r->o->overwrite) {
				rwarn(r, rel, "exists: not overwritten (use --overwrite)");
				goto done;
			}
			unlinkat(parent, name, 0);
		}
		if (S_ISLNK(e->mode)) {
			char *target = strndup(e->symlink ? e->symlink : "", e->symlink_len);
			made = target ? symlinkat(target, parent, name) : -1;
			free(target);
		} else if (S_ISFIFO(e->mode)) {
			made = mknodat(parent, name, S_IFIFO | 0600, 0);
		} else if (!r->root) {
			rwarn(r, rel, "device nodes and sockets are restored only as root");
			goto done;
		} else {
			made = mknodat(parent, name, (e->mode & S_IFMT) | 0600, makedev(e->rdev_major, e->rdev_minor));
		}
		if (made < 0) {
			rwarn(r, rel, "cannot create: %s", strerror(errno));
			goto done;
		}
		apply_meta(r, parent, name, -1, e, rel);
		r->files++;
	}
done:
	cli_progress_update(&r->progress, r->bytes, r->total);
	close(parent);
	free(rel);
	return rc;
}

static const char select_sql[] =
	"SELECT " ENTRY_COLUMNS " FROM versions v%s" ENTRY_JOINS
	" WHERE v.guest_id = ?1 AND v.first_seq <= ?2 AND v.last_seq >= ?2%s"
	" ORDER BY c.id IS NOT NULL, a.path, f.offset, c.entry_offset, v.volume, v.dir, v.name";

/* The select with HINT after "versions v" and COND added to its WHERE;
 * QUIET: a failure is not reported (the caller has another way). */
static struct db_stmt *prepare_select(struct db *db, const char *hint, const char *cond, bool quiet)
{
	struct db_stmt *st = NULL;
	char *sql = NULL;

	if (asprintf(&sql, select_sql, hint, cond) < 0)
		return NULL;
	if (quiet)
		db_prepare(db, sql, &st);
	else
		st = catalog_prepare(db, sql);
	free(sql);
	return st;
}

/* Restore what matches PATH ("" for everything): the entry itself, what
 * is directly in it and what is below it.  What has no content comes
 * first, in path order (every directory exists before anything goes into
 * it), then the files with content in the order of their archives, which
 * are then read once each, front to back, as restore -r reads a dump. */
static int restore_path(struct restore *r, const struct generation *g, const char *path, bool *matched)
{
	char *vol = strdup(path), *rest;
	const char *slash_at, *cond;
	struct db_stmt *st = NULL;
	int rc = 0;

	if (!vol)
		return -1;
	rest = strchr(vol, '/');
	if (rest)
		*rest++ = '\0';
	else
		rest = "";
	cond = !path[0] ? "" : !rest[0] ? " AND v.volume = ?3" :
	       " AND v.volume = ?3 AND ((v.dir = ?4 AND v.name = ?5) OR v.dir = ?6 OR (v.dir >= ?7 AND v.dir < ?8))";
	/* A path is found through the directory index, one search per term
	 * (left alone, SQLite walks every open version of the guest: 27 MB
	 * read cold for one file); a catalog without that index still works. */
	if (path[0])
		st = prepare_select(r->repo->db, " INDEXED BY versions_dir", cond, true);
	if (!st)
		st = prepare_select(r->repo->db, "", cond, false);
	if (!st) {
		free(vol);
		return -1;
	}
	db_bind_int64(st, 1, g->guest_id);
	db_bind_int64(st, 2, g->seq);
	if (path[0])
		db_bind_text(st, 3, vol, -1);
	if (rest[0]) {
		size_t n = strlen(rest);
		char *lo = malloc(n + 2), *hi = malloc(n + 2);
		slash_at = strrchr(rest, '/');
		size_t dl = slash_at ? (size_t)(slash_at - rest) : 0;
		db_bind_blob_copy(st, 4, rest, (int)dl);
		db_bind_blob_copy(st, 5, slash_at ? slash_at + 1 : rest, (int)(n - dl - (slash_at ? 1 : 0)));
		db_bind_blob_copy(st, 6, rest, (int)n);
		if (lo && hi) {
			memcpy(lo, rest, n);
			lo[n] = '/';
			memcpy(hi, rest, n);
			hi[n] = '0'; /* the byte after '/' */
			db_bind_blob_copy(st, 7, lo, (int)n + 1);
			db_bind_blob_copy(st, 8, hi, (int)n + 1);
		}
		free(lo);
		free(hi);
	}
	while (rc == 0 && db_step(st) == DB_ROW) {
		struct entry e;
		if (entry_from_row(st, &e) < 0) {
			cli_error(NULL, "out of memory");
			entry_free(&e);
			rc = -1;
			break;
		}
		*matched = true;
		r->matched++;
		rc = restore_entry(r, &e);
		entry_free(&e);
		async_drain(r, false); /* the files the writer is done with */
	}
	db_finalize(st);
	free(vol);
	return rc;
}

static void restore_json(const char *guest, const struct generation *g, const struct restore *r,
			 const struct restore_opts *o, int status)
{
	json_t *obj = json_object();

	json_put(obj, "guest", json_text(guest));
	json_put(obj, "generation", json_integer(g->seq));
	json_put(obj, "to", json_text(o->to));
	json_put(obj, "files", json_count(r->files));
	json_put(obj, "restored_bytes", json_count(r->bytes));
	json_print(obj, status);
}

int cmd_restore(const struct restore_opts *o)
{
	int rc;
	struct restore r = { .o = o, .to_fd = -1, .root = geteuid() == 0, .dir_fd = -1 };
	struct repo repo;
	struct generation g;
	char *guest = NULL;
	bool summarize = false; /* --json: the restore ran, its object is due */
	int status = RAWKIT_EXIT_FAILED;

	if ((rc = repo_open(&repo, o->repo, REPO_READ)) != 0)
		return rc;
	r.repo = &repo;
	if (catalog_find_generation(repo.db, o->spec, &guest, &g) < 0)
		goto out;
	if (mkdir(o->to, 0700) < 0 && errno != EEXIST) {
		cli_error(o->to, "cannot create: %s", strerror(errno));
		goto out;
	}
	r.to_fd = open(o->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.to_fd < 0) {
		cli_error(o->to, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!(r.unp = unpacker_new())) {
		cli_error(o->to, "out of memory");
		goto out;
	}
	r.wr = writer_start(); /* (none: each file written as it is unpacked) */
	cli_progress_start(&r.progress, "restore", o->progress);
	if (o->npaths == 0)
		r.total = (uint64_t)g.bytes_total;
	if (o->npaths == 0) {
		bool matched = false;
		if (restore_path(&r, &g, "", &matched) < 0)
			goto out;
	}
	for (size_t i = 0; i < o->npaths; i++) {
		char *p = strdup(o->paths[i]);
		bool matched = false;
		size_t n;
		if (!p)
			goto out;
		while (p[0] == '/')
			memmove(p, p + 1, strlen(p));
		n = strlen(p);
		while (n && p[n - 1] == '/')
			p[--n] = '\0';
		async_drain(&r, true); /* paths may overlap: the last one's files are done */
		if (restore_path(&r, &g, p, &matched) < 0) {
			free(p);
			goto out;
		}
		if (!matched)
			rwarn(&r, o->paths[i], "not in %s@%lld", guest, (long long)g.seq);
		free(p);
	}
	async_drain(&r, true);
	/* Directories last, deepest first: their times must survive their entries. */
	for (size_t i = r.ndirs; i-- > 0;) {
		struct deferred_dir *d = &r.dirs[i];
		char *slash = strrchr(d->rel, '/');
		int parent = open_dir(&r, d->rel, slash ? (size_t)(slash - d->rel) : 0);
		int fd = parent < 0 ? -1 : openat(parent, slash ? slash + 1 : d->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			apply_meta(&r, parent, slash ? slash + 1 : d->rel, fd, &d->e, d->rel);
		else
			rwarn(&r, d->rel, "cannot open to set its attributes: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		if (parent >= 0)
			close(parent);
	}
	flags_apply(&r);
	if (r.sidecar && fclose(r.sidecar) != 0)
		rwarn(&r, o->to, "cannot write %s: %s", XATTR_SIDECAR, strerror(errno));
	r.sidecar = NULL;
	cli_progress_end(&r.progress);
	if (r.skipped_ns_xattrs)
		rwarn(&r, o->to, "%u trusted./security. attributes not restored (they need root)", r.skipped_ns_xattrs);
	summarize = true;
	if (!o->quiet && !o->json)
		printf("%s@%lld: restored %llu entries, %llu bytes, to %s\n", guest, (long long)g.seq,
		       (unsigned long long)r.files, (unsigned long long)r.bytes, o->to);
	if (r.matched == 0 && o->npaths) {
		cli_error(o->spec, "nothing matched");
		goto out;
	}
	if (r.failed) {
		cli_error(o->to, "%llu files could not be restored (listed above)", (unsigned long long)r.failed);
		goto out;
	}
	status = r.warnings ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
out:
	async_drain(&r, true);
	writer_stop(r.wr);
	if (o->files_out)
		*o->files_out = r.files;
	if (o->bytes_out)
		*o->bytes_out = r.bytes;
	if (o->json && summarize)
		restore_json(guest, &g, &r, o, status);
	for (size_t i = 0; i < r.ndirs; i++) {
		free(r.dirs[i].rel);
		entry_free(&r.dirs[i].e);
	}
	free(r.dirs);
	for (size_t i = 0; i < r.nlinks; i++) {
		free(r.link_keys[i]);
		free(r.link_paths[i]);
	}
	free(r.link_keys);
	free(r.link_paths);
	for (size_t i = 0; i < r.nflags; i++)
		free(r.flags[i].rel);
	free(r.flags);
	if (r.sidecar)
		fclose(r.sidecar);
	unpacker_free(r.unp);
	if (r.dir_fd >= 0)
		close(r.dir_fd);
	free(r.dir_rel);
	if (r.to_fd >= 0)
		close(r.to_fd);
	free(guest);
	repo_close(&repo);
	return status;
}
