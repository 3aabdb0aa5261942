/* moddep.c --- a guest kernel's module index, read from its own files
 *
 * modules.dep lines are "kernel/drivers/block/virtio_blk.ko: kernel/...
 * virtio.ko kernel/.../virtio_ring.ko", already the transitive closure as
 * depmod wrote it; we follow dependencies anyway, in case a line does not
 * list them all.  The files are the guest's, so untrusted: a path that is
 * absolute, climbs with "..", or holds odd bytes is dropped with its line.
 */
#include "moddep.h"
#include "initrd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODDEP_DEPTH 64 /* dependency chain followed */

struct module {
	char name[64]; /* '-' as '_' */
	const char *path;
	const char **deps;
	size_t ndeps;
};

struct moddep {
	char dir[300];
	char *text, *builtin;
	struct module *mods;
	size_t n;
	const char **dep_store;
	struct module **sorted; /* by path, for by_path() */
};

static int cmp_path(const void *a, const void *b)
{
	return strcmp((*(struct module *const *)a)->path, (*(struct module *const *)b)->path);
}

static void normalize(const char *in, char *out, size_t size)
{
	size_t k;

	for (k = 0; in[k] && k < size - 1; k++)
		out[k] = in[k] == '-' ? '_' : in[k];
	out[k] = '\0';
}

bool moddep_safe_path(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 255)
		return false;
	for (const char *s = p; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == '\\')
			return false;
	for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
		if (!strncmp(c, "..", 2) && (c[2] == '/' || !c[2]))
			return false;
	return strstr(p, "//") == NULL;
}

static int parse_dep(struct moddep *m)
{
	size_t lines = 1, words = 0;

	for (const char *p = m->text; *p; p++) {
		lines += *p == '\n';
		words += *p == ' ';
	}
	m->mods = calloc(lines, sizeof(*m->mods));
	m->dep_store = calloc(words + 1, sizeof(*m->dep_store));
	if (!m->mods || !m->dep_store)
		return -ENOMEM;
	size_t used = 0;
	for (char *line = m->text, *next; line && *line; line = next) {
		struct module *mod = &m->mods[m->n];
		char *colon, *save = NULL;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!(colon = strchr(line, ':')))
			continue;
		*colon = '\0';
		if (!moddep_safe_path(line) || !initrd_module_name(line, mod->name, sizeof(mod->name)))
			continue;
		mod->path = line;
		mod->deps = &m->dep_store[used];
		for (char *w = strtok_r(colon + 1, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			if (moddep_safe_path(w) && used < words)
				m->dep_store[used++] = w, mod->ndeps++;
		m->n++;
	}
	if (!(m->sorted = calloc(m->n + 1, sizeof(*m->sorted))))
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		m->sorted[i] = &m->mods[i];
	qsort(m->sorted, m->n, sizeof(*m->sorted), cmp_path);
	return 0;
}

int moddep_parse(char *dep, char *builtin, const char *dir, struct moddep **out)
{
	struct moddep *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m) {
		free(dep);
		free(builtin);
		return -ENOMEM;
	}
	m->text = dep;
	m->builtin = builtin;
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	if ((rc = parse_dep(m)) < 0) {
		moddep_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int moddep_load(struct guest *gu, const char *version, struct moddep **out, char *err, size_t errlen)
{
	static const char *const bases[] = { "/usr/lib/modules", "/lib/modules" };
	char dir[300], path[340], *dep = NULL, *builtin = NULL;
	size_t len;
	int rc = -ENOENT;

	*out = NULL;
	for (size_t b = 0; b < 2 && rc == -ENOENT; b++) {
		snprintf(dir, sizeof(dir), "%s/%s", bases[b], version);
		snprintf(path, sizeof(path), "%s/modules.dep", dir);
		rc = guest_read(gu, path, &dep, &len);
	}
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(err, errlen, "no /lib/modules/%s/modules.dep in the guest", version);
		else
			snprintf(err, errlen, "%s", gu->err[0] ? gu->err : strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	if ((rc = guest_read(gu, path, &builtin, &len)) < 0 && rc != -ENOENT) {
		snprintf(err, errlen, "%s", gu->err[0] ? gu->err : strerror(-rc));
		free(dep);
		return rc;
	}
	if ((rc = moddep_parse(dep, builtin, dir, out)) < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

void moddep_free(struct moddep *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->builtin);
	free(m->mods);
	free(m->dep_store);
	free(m->sorted);
	free(m);
}

const char *moddep_dir(const struct moddep *m)
{
	return m->dir;
}

bool moddep_builtin(const struct moddep *m, const char *name)
{
	char want[64], mod[64];

	normalize(name, want, sizeof(want));
	for (const char *line = m->builtin; line && *line;) {
		const char *nl = strchr(line, '\n');
		char one[300];
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		if (l < sizeof(one)) {
			memcpy(one, line, l);
			one[l] = '\0';
			if (initrd_module_name(one, mod, sizeof(mod)) && !strcmp(mod, want))
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static const struct module *by_name(const struct moddep *m, const char *name)
{
	char want[64];

	normalize(name, want, sizeof(want));
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->mods[i].name, want))
			return &m->mods[i];
	return NULL;
}

static const struct module *by_path(const struct moddep *m, const char *path)
{
	struct module key = { .path = path }, *kp = &key, **hit;

	hit = bsearch(&kp, m->sorted, m->n, sizeof(*m->sorted), cmp_path);
	return hit ? *hit : NULL;
}

struct closure {
	const struct moddep *m;
	bool *seen;
	const char **files;
	size_t n;
};

/* MOD's dependencies, then MOD. */
static int visit(struct closure *c, const struct module *mod, int depth, char *err, size_t errlen)
{
	size_t i = (size_t)(mod - c->m->mods);

	if (c->seen[i])
		return 0;
	c->seen[i] = true;
	if (depth > MODDEP_DEPTH) {
		snprintf(err, errlen, "module %s: dependencies nested deeper than %d", mod->name, MODDEP_DEPTH);
		return -ELOOP;
	}
	for (size_t d = 0; d < mod->ndeps; d++) {
		const struct module *dep = by_path(c->m, mod->deps[d]);
		int rc;
		if (!dep) {
			snprintf(err, errlen, "module %s needs %s, which modules.dep does not list", mod->name,
				 mod->deps[d]);
			return -ENOENT;
		}
		if ((rc = visit(c, dep, depth + 1, err, errlen)) < 0)
			return rc;
	}
	c->files[c->n++] = mod->path;
	return 0;
}

int moddep_closure(const struct moddep *m, const char *const *names, size_t n, const char ***files, char *err,
		   size_t errlen)
{
	struct closure c = { .m = m };
	int rc = 0;

	*files = NULL;
	c.seen = calloc(m->n + 1, sizeof(*c.seen));
	c.files = calloc(m->n + 1, sizeof(*c.files));
	if (!c.seen || !c.files) {
		free(c.seen);
		free(c.files);
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct module *mod = by_name(m, names[i]);
		if (mod)
			rc = visit(&c, mod, 0, err, errlen);
		else if (!moddep_builtin(m, names[i])) {
			snprintf(err, errlen, "kernel has no %s module: neither built in nor in %s", names[i], m->dir);
			rc = -ENOENT;
		}
	}
	free(c.seen);
	if (rc < 0) {
		free(c.files);
		return rc;
	}
	*files = c.files;
	return 0;
}
