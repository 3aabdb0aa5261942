/* retention.c --- which generations a retention policy keeps, and why
 *
 * As restic's forget counts them: --keep-last N keeps the N newest; each
 * --keep-hourly/daily/weekly/monthly/yearly N keeps the newest generation of
 * each of the N newest hours, days, ISO weeks, months, years that have one
 * (local time); --keep-within DURATION keeps every generation less than
 * DURATION older than the newest one (not than now: a guest whose backups
 * stopped keeps its last ones).  A generation is kept when any rule keeps
 * it, and every rule that does is its reason.
 */
#include "lanfree.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const reason_names[] = { "last", "hourly", "daily", "weekly", "monthly", "yearly", "within" };

const char *retention_reason_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (bit == 1u << i)
			return reason_names[i];
	return "?";
}

bool retention_any(const struct retention *p)
{
	return p->last || p->hourly || p->daily || p->weekly || p->monthly || p->yearly || p->has_within;
}

/* 1y6m2w3d12h: years, months, weeks, days, hours, each at most once, in
 * that order; at least one, not all zero; a bare number is refused (days
 * or hours?). */
int retention_parse_within(const char *s, struct retention *p)
{
	static const char units[] = "ymwdh";
	int *fields[] = { &p->within.years, &p->within.months, &p->within.weeks, &p->within.days, &p->within.hours };
	size_t next = 0;
	const char *at = s;

	memset(&p->within, 0, sizeof(p->within));
	if (!*s)
		return -1;
	while (*at) {
		char *end;
		const char *unit;
		long v;
		if (!isdigit((unsigned char)*at))
			return -1;
		errno = 0;
		v = strtol(at, &end, 10);
		if (errno || v > 100000 || !*end || !(unit = strchr(units, *end)) || (size_t)(unit - units) < next)
			return -1;
		*fields[unit - units] = (int)v;
		next = (size_t)(unit - units) + 1;
		at = end + 1;
	}
	if (!p->within.years && !p->within.months && !p->within.weeks && !p->within.days && !p->within.hours)
		return -1; /* a span of nothing would keep nothing, not even the newest */
	p->has_within = true;
	return 0;
}

enum bucket { HOUR, DAY, WEEK, MONTH, YEAR };

static void bucket_of(int64_t ns, enum bucket b, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!localtime_r(&t, &tm)) /* a time from the catalog no calendar holds */
		memset(&tm, 0, sizeof(tm));
	switch (b) {
	case HOUR: strftime(out, size, "%Y-%m-%d %H", &tm); break;
	case DAY: strftime(out, size, "%Y-%m-%d", &tm); break;
	case WEEK: strftime(out, size, "%G-W%V", &tm); break;
	case MONTH: strftime(out, size, "%Y-%m", &tm); break;
	case YEAR: strftime(out, size, "%Y", &tm); break;
	}
}

/* Keep the newest generation of each of the newest COUNT buckets. */
static void keep_buckets(struct retained *g, size_t n, int count, enum bucket b, unsigned reason)
{
	char last[32] = "";
	int kept = 0;

	for (size_t i = 0; i < n && kept < count; i++) { /* newest first */
		char bucket[32];
		bucket_of(g[i].time, b, bucket, sizeof(bucket));
		if (strcmp(bucket, last)) {
			g[i].reasons |= reason;
			snprintf(last, sizeof(last), "%s", bucket);
			kept++;
		}
	}
}

/* NEWEST less the policy's duration, in ns; calendar arithmetic in local
 * time (a month back from 31 March is 3 March, as mktime() normalizes). */
static int64_t within_limit(const struct retention *p, int64_t newest)
{
	time_t t = (time_t)(newest / 1000000000), back;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return INT64_MIN;
	tm.tm_year -= p->within.years;
	tm.tm_mon -= p->within.months;
	tm.tm_mday -= p->within.days + 7 * p->within.weeks;
	tm.tm_hour -= p->within.hours;
	tm.tm_isdst = -1;
	back = mktime(&tm);
	if (back == (time_t)-1)
		return INT64_MIN;
	return (int64_t)back * 1000000000 + newest % 1000000000;
}

void retention_apply(const struct retention *p, struct retained *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g[i].reasons = (int64_t)i < p->last ? KEEP_LAST : 0;
	keep_buckets(g, n, p->hourly, HOUR, KEEP_HOURLY);
	keep_buckets(g, n, p->daily, DAY, KEEP_DAILY);
	keep_buckets(g, n, p->weekly, WEEK, KEEP_WEEKLY);
	keep_buckets(g, n, p->monthly, MONTH, KEEP_MONTHLY);
	keep_buckets(g, n, p->yearly, YEAR, KEEP_YEARLY);
	if (p->has_within && n) {
		int64_t newest = g[0].time, limit;
		for (size_t i = 1; i < n; i++)
			if (g[i].time > newest)
				newest = g[i].time;
		limit = within_limit(p, newest);
		/* the newest is within any span (also when a clock change
		 * brings the limit back to it) */
		for (size_t i = 0; i < n; i++)
			if (g[i].time > limit || g[i].time == newest)
				g[i].reasons |= KEEP_WITHIN;
	}
}
