/* config.c --- rawkit-lanfree.conf(5): the fleet's INI file, read with libinih
 *
 * [repository] names the repository and how many guests run at once;
 * [defaults] holds what every [guest NAME] inherits and may override.  A
 * key the page does not list, a section it does not know, a value that is
 * not what the key takes: each is an error naming the file and the line,
 * and nothing runs.  libinih cuts lines at INI_MAX_LINE bytes and would
 * read the rest as a line of its own, and takes an indented line for the
 * continuation of the value above; the reader below refuses both instead,
 * so that a hook is never run cut short, nor a line meant as a key run as
 * part of another.
 */
#include "lanfree.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse {
	struct fleet_conf *c;
	FILE *f;
	unsigned line;       /* the line the reader gave last */
	bool too_long;       /* the reader stopped at a line it could not give whole */
	bool indented;       /* ... or at an indented line */
	struct guest_conf *current; /* the section's guest, or &c->defaults */
	bool in_repository;
	char *err;
	size_t errlen;
};

static void fail(struct parse *p, const char *fmt, ...) CLI_PRINTF(2, 3);
static void fail(struct parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->err[0]) /* the first error is the one to fix */
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->c->path, p->line, msg);
	cli_sanitize(p->err);
}

static void section(struct parse *p, const char *s);

/* A section header starts here, as libinih reads one ("[NAME]", spaces
 * before it, a byte-order mark on the first line): the keys that follow
 * are its.  Seen here rather than in the handler, which never hears of a
 * section without keys (a [guest NAME] left empty is an error). */
static void note_section(struct parse *p, const char *line)
{
	const char *s = line, *end;
	char name[256];

	if (p->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
		s += 3;
	s += strspn(s, " \t\r");
	if (*s != '[' || !(end = strchr(s, ']')))
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
	section(p, name);
}

/* fgets() for ini_parse_stream(), counting lines and refusing one that does
 * not fit (NULL ends the parse; too_long says why). */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	size_t len;

	if (p->too_long || !fgets(buf, size, p->f))
		return NULL;
	p->line++;
	len = strlen(buf);
	if (len == (size_t)size - 1 && buf[len - 1] != '\n' && !feof(p->f)) {
		p->too_long = true;
		return NULL;
	}
	if ((buf[0] == ' ' || buf[0] == '\t') && !strchr(";#\r\n", buf[strspn(buf, " \t")])) {
		/* libinih would take it as the previous value's continuation: a
		 * mis-indented "after = ..." would run as a before hook */
		p->indented = true;
		return NULL;
	}
	note_section(p, buf);
	return buf;
}

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

static int add_string(char ***list, size_t *n, const char *value)
{
	char **grown = realloc(*list, (*n + 2) * sizeof(char *));

	if (!grown)
		return -1;
	*list = grown;
	if (!(grown[*n] = strdup(value)))
		return -1;
	grown[++*n] = NULL;
	return 0;
}

static bool number(const char *value, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (!*value || *end || errno || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

static const char *const keep_keys[] = { "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
					 "keep-yearly" };

static int guest_key(struct parse *p, struct guest_conf *g, const char *name, const char *value)
{
	int *keep_fields[] = { &g->keep.last, &g->keep.hourly, &g->keep.daily, &g->keep.weekly, &g->keep.monthly,
			       &g->keep.yearly };

	for (size_t i = 0; i < sizeof(keep_keys) / sizeof(keep_keys[0]); i++)
		if (!strcmp(name, keep_keys[i])) {
			if (!number(value, 0, 1000000, keep_fields[i]))
				fail(p, "%s: a number 0..1000000, not \"%s\"", name, value);
			g->keep_given = true;
			return 1;
		}
	if (!strcmp(name, "keep-within")) {
		if (!*value) {
			g->keep.has_within = false;
		} else if (retention_parse_within(value, &g->keep) < 0)
			fail(p, "keep-within: a span such as 7d, 2w, 6m, 1y6m or 36h (not all zero), not \"%s\"", value);
		g->keep_given = true;
	} else if (!strcmp(name, "disk")) {
		if (g == &p->c->defaults)
			fail(p, "disk: belongs in a [guest NAME] section");
		else if (!*value)
			fail(p, "disk: empty");
		else if (set_string(&g->disk, value) < 0)
			return 0;
	} else if (!strcmp(name, "level")) {
		if (strcmp(value, "full") && strcmp(value, "incr") && strcmp(value, "diff"))
			fail(p, "level: full, incr or diff, not \"%s\"", value);
		else if (set_string(&g->level, value) < 0)
			return 0;
	} else if (!strcmp(name, "compress")) {
		enum compression c;
		if (compression_parse(value, &c) < 0)
			fail(p, "compress: zstd, gzip or none, not \"%s\"", value);
		else if (set_string(&g->compress, value) < 0)
			return 0;
	} else if (!strcmp(name, "allow-dirty")) {
		if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcmp(value, "1"))
			g->allow_dirty = 1;
		else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") || !strcmp(value, "0"))
			g->allow_dirty = 0;
		else
			fail(p, "allow-dirty: yes or no, not \"%s\"", value);
	} else if (!strcmp(name, "exclude")) {
		if (*value && add_string(&g->excludes, &g->nexcludes, value) < 0)
			return 0;
	} else if (!strcmp(name, "before")) {
		if (*value && add_string(&g->before, &g->nbefore, value) < 0)
			return 0;
	} else if (!strcmp(name, "after")) {
		if (*value && add_string(&g->after, &g->nafter, value) < 0)
			return 0;
	} else
		fail(p, "unknown key \"%s\" (see rawkit-lanfree.conf(5))", name);
	return 1;
}

static struct guest_conf *new_guest(struct parse *p, const char *name)
{
	struct guest_conf *grown;

	for (size_t i = 0; i < p->c->nguests; i++)
		if (!strcmp(p->c->guests[i].name, name)) {
			fail(p, "[guest %s] given twice", name);
			return NULL;
		}
	grown = realloc(p->c->guests, (p->c->nguests + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	p->c->guests = grown;
	memset(&grown[p->c->nguests], 0, sizeof(*grown));
	grown[p->c->nguests].allow_dirty = -1;
	grown[p->c->nguests].line = p->line;
	if (!(grown[p->c->nguests].name = strdup(name)))
		return NULL;
	return &grown[p->c->nguests++];
}

/* A section header: "repository", "defaults" or "guest NAME". */
static void section(struct parse *p, const char *s)
{
	p->current = NULL;
	p->in_repository = false;
	if (!strcmp(s, "repository"))
		p->in_repository = true;
	else if (!strcmp(s, "defaults"))
		p->current = &p->c->defaults;
	else if (!strncmp(s, "guest ", 6) && guest_name_ok(s + 6))
		p->current = new_guest(p, s + 6);
	else if (!strncmp(s, "guest ", 6))
		fail(p, "[%s]: not a guest name (letters, digits, '.', '_', '-', '+')", s);
	else
		fail(p, "unknown section [%s] (repository, defaults, guest NAME)", s);
}

static int handler(void *user, const char *sect, const char *name, const char *value)
{
	struct parse *p = user;

	if (!name || p->err[0]) /* a section alone (INI_CALL_HANDLER_ON_NEW_SECTION); or after an error */
		return 1;
	if (p->in_repository) {
		if (!strcmp(name, "path")) {
			if (!*value)
				fail(p, "path: empty");
			else if (set_string(&p->c->repo, value) < 0)
				return 0;
		} else if (!strcmp(name, "jobs")) {
			if (!number(value, 1, 64, &p->c->jobs))
				fail(p, "jobs: a number 1..64 (guests backed up at once), not \"%s\"", value);
		} else
			fail(p, "unknown key \"%s\" in [repository] (path, jobs)", name);
		return 1;
	}
	if (!p->current) {
		if (!*sect)
			fail(p, "\"%s\" before any section", name);
		return 1;
	}
	return guest_key(p, p->current, name, value);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A guest's settings: its own, else the defaults'. */
static int inherit(struct fleet_conf *c, struct guest_conf *g)
{
	const struct guest_conf *d = &c->defaults;

	if ((!g->level && d->level && !(g->level = strdup(d->level))) ||
	    (!g->compress && d->compress && !(g->compress = strdup(d->compress))))
		return -1;
	if (g->allow_dirty < 0)
		g->allow_dirty = d->allow_dirty > 0;
	if (!g->keep_given)
		g->keep = d->keep;
	/* the defaults' excludes first, then the guest's own; a guest's hooks
	 * replace the defaults' */
	if (d->nexcludes) {
		char **merged = NULL;
		size_t n = 0;
		for (size_t i = 0; i < d->nexcludes + g->nexcludes; i++)
			if (add_string(&merged, &n, i < d->nexcludes ? d->excludes[i] : g->excludes[i - d->nexcludes]) < 0) {
				free_strings(merged, n);
				return -1;
			}
		free_strings(g->excludes, g->nexcludes);
		g->excludes = merged;
		g->nexcludes = n;
	}
	if (!g->nbefore)
		for (size_t i = 0; i < d->nbefore; i++)
			if (add_string(&g->before, &g->nbefore, d->before[i]) < 0)
				return -1;
	if (!g->nafter)
		for (size_t i = 0; i < d->nafter; i++)
			if (add_string(&g->after, &g->nafter, d->after[i]) < 0)
				return -1;
	return 0;
}

int fleet_conf_load(const char *path, struct fleet_conf *c, char *err, size_t errlen)
{
	struct parse p = { .c = c, .err = err, .errlen = errlen };
	int rc;

	memset(c, 0, sizeof(*c));
	c->defaults.allow_dirty = -1;
	err[0] = '\0';
	if (!(c->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (!(p.f = fopen(path, "re"))) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		cli_sanitize(err);
		return -1;
	}
	rc = ini_parse_stream(read_line, &p, handler, &p);
	fclose(p.f);
	if (p.indented) {
		fail(&p, "an indented line (libinih would read it as the continuation of the value above): "
			 "start it at the first column");
	} else if (p.too_long) {
		fail(&p, "line longer than %d bytes (a long hook belongs in a script)", INI_MAX_LINE - 2);
	} else if (rc > 0 && !err[0]) {
		p.line = (unsigned)rc;
		fail(&p, "not a section, a key = value or a comment");
	} else if (rc < 0 && !err[0])
		snprintf(err, errlen, "%s: out of memory", path);
	if (err[0])
		return -2;
	if (!c->nguests) {
		snprintf(err, errlen, "%s: no [guest NAME] section: nothing to back up", path);
		cli_sanitize(err);
		return -2;
	}
	if (!c->jobs)
		c->jobs = 1;
	for (size_t i = 0; i < c->nguests; i++) {
		struct guest_conf *g = &c->guests[i];
		if (!g->disk) {
			snprintf(err, errlen, "%s:%u: [guest %s] has no disk", path, g->line, g->name);
			cli_sanitize(err);
			return -2;
		}
		if (inherit(c, g) < 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
	}
	return 0;
}

static void guest_conf_free(struct guest_conf *g)
{
	free(g->name);
	free(g->disk);
	free(g->level);
	free(g->compress);
	free_strings(g->excludes, g->nexcludes);
	free_strings(g->before, g->nbefore);
	free_strings(g->after, g->nafter);
}

void fleet_conf_free(struct fleet_conf *c)
{
	for (size_t i = 0; i < c->nguests; i++)
		guest_conf_free(&c->guests[i]);
	free(c->guests);
	guest_conf_free(&c->defaults);
	free(c->repo);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
