/* report.h --- the one list of report lines (changes, checks, what was not done) */
#ifndef RAWKIT_REPORT_H
#define RAWKIT_REPORT_H

#include <stdarg.h>
#include <stddef.h>

/* One line: TAG is the caller's (rawkit-clone: the operation), TEXT has
 * its control bytes made printable (guest names go to a terminal). */
struct report_entry {
	int tag;
	char *text;
};

/* A growing list; zero-initialized is empty.  Out of memory drops a line. */
struct report_list {
	struct report_entry *v;
	size_t n, cap;
};

/* Append a line formatted from FMT under TAG. */
void report_add(struct report_list *l, int tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void report_vadd(struct report_list *l, int tag, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Free every line; the list is empty again. */
void report_list_free(struct report_list *l);

/* Control bytes in S made printable in place (newline/tab: space, others '?'). */
void report_sanitize(char *s);

#endif
