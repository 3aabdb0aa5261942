/* report.c --- the one list of report lines: formatted, sanitized, appended */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>

void report_sanitize(char *s)
{
	for (unsigned char *c = (unsigned char *)s; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
		else if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

void report_vadd(struct report_list *l, int tag, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return;
	report_sanitize(s); /* guest paths go to the terminal */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct report_entry *grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown) {
			free(s);
			return;
		}
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n].tag = tag;
	l->v[l->n++].text = s;
}

void report_add(struct report_list *l, int tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_vadd(l, tag, fmt, ap);
	va_end(ap);
}

void report_list_free(struct report_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	*l = (struct report_list){ 0 };
}
