/* guest.c --- read, write and remove files inside a guest filesystem
 *
 * Thin helpers over imgfmt_fs_* for the tools that edit guests (rawkit-clone,
 * the conversions of rawkit-p2v and rawkit-v2p), or over a mounted root
 * (guestroot.c): files that do not exist are skipped silently, a dry run
 * only reports, and every change is told to the caller's callback.
 */
#include "guest.h"
#include "guestroot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GUEST_FILE_MAX (16u << 20) /* configuration files, not data */

static int lookup_stat(struct guest *g, const char *path, struct imgfmt_stat *st)
{
	uint64_t ino;
	int rc;

	if (g->mounted)
		return root_stat(g->root, path, st);
	rc = imgfmt_fs_lookup(g->fs, path, &ino);

	if (rc == 0)
		rc = imgfmt_fs_stat(g->fs, ino, st);
	return rc;
}

static int fail(struct guest *g, int rc, const char *path, const char *what)
{
	if (!g->err[0])
		snprintf(g->err, sizeof(g->err), "%s: %s: %s", path, what,
			 g->mounted ? strerror(-rc) : imgfmt_fs_error(g->fs));
	return rc;
}

int guest_read_max(struct guest *g, const char *path, size_t max, char **data, size_t *len)
{
	struct imgfmt_stat st;
	size_t done = 0;
	char *buf;
	int rc = lookup_stat(g, path, &st);

	*data = NULL;
	*len = 0;
	if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP || (rc == 0 && !S_ISREG(st.mode)))
		return -ENOENT;
	if (rc < 0)
		return fail(g, rc, path, "cannot look up");
	if (st.size > max) {
		snprintf(g->err, sizeof(g->err), "%s: larger than %zu MiB, not a file rawkit edits", path, max >> 20);
		return -EFBIG;
	}
	if (g->mounted) {
		rc = root_read(g->root, path, data, len, max);
		return rc == -ENOENT || rc == -EFBIG ? rc : rc < 0 ? fail(g, rc, path, "cannot read") : 0;
	}
	if (!(buf = malloc((size_t)st.size + 1)))
		return -ENOMEM;
	while (done < st.size) {
		ssize_t n = imgfmt_fs_pread(g->fs, st.ino, NULL, buf + done, (size_t)st.size - done, done);
		if (n <= 0) {
			free(buf);
			return fail(g, n < 0 ? (int)n : -EIO, path, "cannot read");
		}
		done += (size_t)n;
	}
	buf[done] = '\0';
	*data = buf;
	*len = done;
	return 0;
}

int guest_read(struct guest *g, const char *path, char **data, size_t *len)
{
	return guest_read_max(g, path, GUEST_FILE_MAX, data, len);
}

static void add_change(void *ctx, int tag, const char *what)
{
	report_add(ctx, tag, "%s", what);
}

struct guest guest_reporting(imgfmt_fs *fs, bool dry, struct report_list *changes)
{
	return (struct guest){ .fs = fs, .root = -1, .dry = dry, .changed = add_change, .ctx = changes };
}

struct guest guest_reporting_root(int root, bool dry, struct report_list *changes)
{
	return (struct guest){ .root = root, .mounted = true, .dry = dry, .changed = add_change, .ctx = changes };
}

static void changed(struct guest *g, int tag, const char *prefix, const char *path)
{
	char what[1100];

	if (!g->changed)
		return;
	snprintf(what, sizeof(what), "%s%s", prefix, path);
	g->changed(g->ctx, tag, what);
}

int guest_write(struct guest *g, int tag, const char *path, const char *data, size_t len,
		const struct imgfmt_newfile *nf)
{
	int rc = 0;

	if (!g->dry)
		rc = g->mounted ? root_write(g->root, path, data, len, nf) : imgfmt_fs_write_file(g->fs, path, data, len, nf);
	if (rc < 0)
		return fail(g, rc, path, "cannot write");
	changed(g, tag, "", path);
	return 0;
}

int guest_append(struct guest *g, int tag, const char *path, const char *data, size_t len)
{
	int rc = 0;

	if (!g->dry)
		rc = g->mounted ? root_append(g->root, path, data, len) : imgfmt_fs_append_file(g->fs, path, data, len);
	if (rc < 0)
		return fail(g, rc, path, "cannot append to it");
	changed(g, tag, "", path);
	return 0;
}

int guest_remove(struct guest *g, int tag, const char *path, bool recursive)
{
	struct imgfmt_stat st;
	int rc = lookup_stat(g, path, &st);

	if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP)
		return 0;
	if (rc < 0)
		return fail(g, rc, path, "cannot look up");
	if (S_ISDIR(st.mode) && !recursive)
		return 0;
	if (!g->dry)
		rc = g->mounted ? root_remove(g->root, path, recursive) : imgfmt_fs_remove(g->fs, path, recursive);
	if (rc < 0)
		return fail(g, rc, path, "cannot remove");
	changed(g, tag, "-", path);
	return 0;
}

int guest_mkdir(struct guest *g, const char *path, const struct imgfmt_newfile *nf)
{
	int rc = 0;

	if (!g->dry)
		rc = g->mounted ? root_mkdir(g->root, path, nf) : imgfmt_fs_mkdir(g->fs, path, nf);
	return rc < 0 ? fail(g, rc, path, "cannot create") : 0;
}

int guest_stat(struct guest *g, const char *path, struct imgfmt_stat *st)
{
	return lookup_stat(g, path, st);
}

unsigned guest_mode(struct guest *g, const char *path)
{
	struct imgfmt_stat st;

	return lookup_stat(g, path, &st) == 0 ? st.mode : 0;
}

int guest_is_dir(struct guest *g, const char *path)
{
	struct imgfmt_stat st;

	return lookup_stat(g, path, &st) == 0 && S_ISDIR(st.mode);
}

int guest_exists(struct guest *g, const char *path)
{
	struct imgfmt_stat st;

	return lookup_stat(g, path, &st) == 0;
}

struct name_list {
	char **v;
	size_t n, cap;
	bool oom;
};

static int add_name(const char *name, size_t namelen, uint64_t ino, unsigned type, void *arg)
{
	struct name_list *l = arg;
	(void)ino, (void)type;

	if (memchr(name, '/', namelen) || memchr(name, '\0', namelen))
		return 0; /* not a name a path can hold */
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown) {
			l->oom = true;
			return 1;
		}
		l->v = grown;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strndup(name, namelen))) {
		l->oom = true;
		return 1;
	}
	l->v[++l->n] = NULL;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **guest_list(struct guest *g, const char *dir)
{
	struct name_list l = { 0 };
	uint64_t ino;

	int rc;

	if (!guest_is_dir(g, dir))
		return NULL;
	if (g->mounted)
		rc = root_list(g->root, dir, add_name, &l);
	else if ((rc = imgfmt_fs_lookup(g->fs, dir, &ino)) == 0)
		rc = imgfmt_fs_readdir(g->fs, ino, add_name, &l);
	if (rc < 0 || l.oom) {
		if (!g->err[0])
			snprintf(g->err, sizeof(g->err), "%s: cannot list: %s", dir,
				 l.oom ? "out of memory" : g->mounted ? strerror(-rc) : imgfmt_fs_error(g->fs));
		guest_names_free(l.v);
		return NULL;
	}
	if (!l.v && !(l.v = calloc(1, sizeof(*l.v))))
		return NULL;
	qsort(l.v, l.n, sizeof(*l.v), cmp_names);
	return l.v;
}

void guest_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}
