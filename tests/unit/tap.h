/* tap.h --- a tiny TAP producer for the unit test programs run by prove
 *
 *	ok(cond, "name %d", i);           one test point
 *	is_int(got, want, "name");        integers, both shown on failure
 *	is_str(got, want, "name");        strings (NULL allowed)
 *	return tap_done();                the plan; exit 1 if any failed
 */
#ifndef RAWKIT_TAP_H
#define RAWKIT_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5))) static bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failures++;
		printf("#   Failed at %s line %d\n", file, line);
	}
	return pass;
}

#define ok(cond, ...) tap_ok((cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long got_ = (long long)(got), want_ = (long long)(want);                    \
		if (!ok(got_ == want_, __VA_ARGS__))                                               \
			printf("#   got %lld, expected %lld\n", got_, want_);                       \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *got_ = (got), *want_ = (want);                                         \
		bool same_ = got_ && want_ ? !strcmp(got_, want_) : got_ == want_;               \
		if (!ok(same_, __VA_ARGS__))                                                       \
			printf("#   got \"%s\"\n#   expected \"%s\"\n", got_ ? got_ : "(null)",       \
			       want_ ? want_ : "(null)");                                          \
	} while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failures ? 1 : 0;
}

#endif
