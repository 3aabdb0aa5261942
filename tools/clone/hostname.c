/* hostname.c --- --hostname web%02d: one valid host name per target (and the
 * numbering that --vg-name shares) */
#include "clone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* RFC 1123 names: labels of letters, digits and '-', not starting or
 * ending with '-', at most 63 bytes each and 253 in all. */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

int name_format(const char *option, const char *fmt, size_t index, char *out, size_t size, char *err,
		size_t errlen)
{
	size_t o = 0;
	int conversions = 0;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			if (o + 1 < size)
				out[o++] = *p;
			continue;
		}
		if (p[1] == '%') {
			if (o + 1 < size)
				out[o++] = '%';
			p++;
			continue;
		}
		/* %[0][width]d|i|u */
		const char *q = p + 1;
		bool zero = *q == '0';
		int width = 0;
		char num[32];
		if (zero)
			q++;
		while (isdigit((unsigned char)*q) && width < 100)
			width = width * 10 + (*q++ - '0');
		if ((*q != 'd' && *q != 'i' && *q != 'u') || width > 20 || ++conversions > 1) {
			snprintf(err, errlen, "%s: \"%s\": only one %%d (%%02d, %%3d...) number is allowed", option, fmt);
			return -1;
		}
		snprintf(num, sizeof(num), zero ? "%0*zu" : "%*zu", width, index + 1);
		for (const char *n = num; *n; n++)
			if (o + 1 < size)
				out[o++] = *n == ' ' ? '0' : *n;
		p = q;
	}
	out[o] = '\0';
	return conversions;
}

int hostname_format(const char *fmt, size_t index, size_t ntargets, char *out, size_t size, char *err,
		    size_t errlen)
{
	int conversions = name_format("--hostname", fmt, index, out, size, err, errlen);

	if (conversions < 0)
		return -1;
	if (ntargets > 1 && conversions == 0) {
		snprintf(err, errlen, "--hostname: \"%s\" would give %zu targets the same name: add a number (web%%02d)",
			 fmt, ntargets);
		return -1;
	}
	if (!valid_hostname(out)) {
		snprintf(err, errlen, "--hostname: \"%s\" is not a valid host name (letters, digits, '-' and '.')", out);
		return -1;
	}
	return 0;
}
