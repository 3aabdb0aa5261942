/* report.c --- what a personalization changed, skipped, and wants known */
#include "clone.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	if (s)
		cli_sanitize(s); /* guest paths go to the terminal */
	return s;
}

static void push(char ***list, size_t *n, char *s)
{
	char **grown;

	if (!s || !(grown = realloc(*list, (*n + 1) * sizeof(*grown)))) {
		free(s);
		return;
	}
	*list = grown;
	(*list)[(*n)++] = s;
}

void report_change(struct report *r, enum clone_op op, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	if (!s)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct change *grown = realloc(r->changes, cap * sizeof(*grown));
		if (!grown) {
			free(s);
			return;
		}
		r->changes = grown;
		r->cap = cap;
	}
	r->changes[r->n].op = op;
	r->changes[r->n++].what = s;
}

void report_not_done(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	push(&r->not_done, &r->nnot, vformat(fmt, ap));
	va_end(ap);
}

void report_note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	push(&r->notes, &r->nnotes, vformat(fmt, ap));
	va_end(ap);
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->changes[i].what);
	for (size_t i = 0; i < r->nnot; i++)
		free(r->not_done[i]);
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->changes);
	free(r->not_done);
	free(r->notes);
	*r = (struct report){ 0 };
}

static void report_changed(void *ctx, int tag, const char *what)
{
	report_change(ctx, (enum clone_op)tag, "%s", what);
}

struct guest guest_for(imgfmt_fs *fs, bool dry, struct report *rep)
{
	return (struct guest){ .fs = fs, .dry = dry, .changed = report_changed, .ctx = rep };
}
