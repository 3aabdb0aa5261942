/* error.c --- error messages kept on handles */
#include "imgfmt_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int imgfmt_vfail(char *buf, int code, const char *fmt, va_list ap)
{
	vsnprintf(buf, IMGFMT_ERRLEN, fmt, ap);
	return code;
}

int imgfmt_fail(char *buf, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imgfmt_vfail(buf, code, fmt, ap);
	va_end(ap);
	return code;
}

void imgfmt_append_line(char **buf, const char *line)
{
	size_t old = *buf ? strlen(*buf) : 0;
	size_t add = strlen(line);
	char *grown = realloc(*buf, old + add + 2);

	if (!grown)
		return;
	if (old)
		grown[old++] = '\n';
	memcpy(grown + old, line, add + 1);
	*buf = grown;
}
