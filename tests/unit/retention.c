/* retention.c --- unit test: retention rules against generated histories of dates */
#include "lanfree.h"
#include "tap.h"

#include <stdlib.h>
#include <time.h>

#define NS 1000000000LL
#define HOUR (3600 * NS)
#define DAY (24 * HOUR)

/* 2026-11-30 18:00:00 UTC */
static const int64_t newest = 1796061600LL * NS;

/* N generations, newest first, STEP apart, the newest at NEWEST. */
static struct retained *history(size_t n, int64_t step)
{
	struct retained *g = calloc(n, sizeof(*g));

	for (size_t i = 0; g && i < n; i++)
		g[i] = (struct retained){ (int64_t)(n - i), newest - (int64_t)i * step, 0 };
	return g;
}

static size_t kept(const struct retained *g, size_t n, unsigned reason)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += reason ? (g[i].reasons & reason) != 0 : g[i].reasons != 0;
	return k;
}

/* (the formats are the test's own constants) */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void bucket(int64_t ns, const char *fmt, char *out, size_t size)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, fmt, &tm);
}

/* Each kept-for-REASON generation is the newest of its bucket, the buckets
 * are distinct and they are the newest COUNT buckets that have one. */
static void check_buckets(const struct retained *g, size_t n, unsigned reason, int count, const char *fmt,
			  const char *name)
{
	char seen[64][32], b[32], prev[32] = "";
	int nb = 0, k = 0;
	bool newest_of_each = true;

	for (size_t i = 0; i < n; i++) {
		bucket(g[i].time, fmt, b, sizeof(b));
		if (strcmp(b, prev)) { /* the first (newest) of a new bucket */
			if (nb < count)
				snprintf(seen[nb++], sizeof(seen[0]), "%s", b);
			newest_of_each &= ((g[i].reasons & reason) != 0) == (nb <= count && !strcmp(seen[nb - 1], b));
		} else if (g[i].reasons & reason)
			newest_of_each = false; /* not the newest of its bucket */
		snprintf(prev, sizeof(prev), "%s", b);
		k += (g[i].reasons & reason) != 0;
	}
	is_int(k, count, "%s %d: that many kept", name, count);
	ok(newest_of_each, "%s %d: each the newest of one of the %d newest buckets that have one", name, count, count);
}

static void test_rules(void)
{
	size_t n = 4 * 800; /* every 6 hours for 800 days */
	struct retained *g = history(n, 6 * HOUR);
	struct retention p = { 0 };

	p.last = 3;
	retention_apply(&p, g, n);
	is_int(kept(g, n, 0), 3, "last 3: three kept");
	ok(g[0].reasons == KEEP_LAST && g[2].reasons == KEEP_LAST && !g[3].reasons, "last 3: the three newest, for 'last'");

	p = (struct retention){ .hourly = 5 };
	retention_apply(&p, g, n);
	check_buckets(g, n, KEEP_HOURLY, 5, "%Y-%m-%d %H", "hourly");
	p = (struct retention){ .daily = 7 };
	retention_apply(&p, g, n);
	check_buckets(g, n, KEEP_DAILY, 7, "%Y-%m-%d", "daily");
	ok(g[0].reasons & KEEP_DAILY, "daily: the newest generation is the newest of today");
	p = (struct retention){ .weekly = 4 };
	retention_apply(&p, g, n);
	check_buckets(g, n, KEEP_WEEKLY, 4, "%G-W%V", "weekly");
	p = (struct retention){ .monthly = 12 };
	retention_apply(&p, g, n);
	check_buckets(g, n, KEEP_MONTHLY, 12, "%Y-%m", "monthly");
	p = (struct retention){ .yearly = 2 };
	retention_apply(&p, g, n);
	check_buckets(g, n, KEEP_YEARLY, 2, "%Y", "yearly");
	p = (struct retention){ .yearly = 10 };
	retention_apply(&p, g, n);
	is_int(kept(g, n, KEEP_YEARLY), 3, "yearly 10 over 800 days: the 3 years that have one");

	/* within: relative to the newest generation, strictly newer than the limit */
	p = (struct retention){ 0 };
	ok(retention_parse_within("30d", &p) == 0, "within 30d parses");
	retention_apply(&p, g, n);
	is_int(kept(g, n, KEEP_WITHIN), 30 * 4, "within 30d: the 120 generations of the last 30 days (not the one 30 days back)");
	p = (struct retention){ 0 };
	retention_parse_within("1y", &p);
	retention_apply(&p, g, n);
	is_int(kept(g, n, KEEP_WITHIN), 365 * 4, "within 1y: a calendar year back (365 days from 2026-11-30)");
	p = (struct retention){ 0 };
	retention_parse_within("2w12h", &p);
	retention_apply(&p, g, n);
	is_int(kept(g, n, KEEP_WITHIN), 14 * 4 + 2, "within 2w12h: 14.5 days back, 58 generations (0 to 342 hours)");

	/* a guest whose backups stopped: within counts from its newest */
	for (size_t i = 0; i < n; i++)
		g[i].time -= 400 * DAY;
	p = (struct retention){ 0 };
	retention_parse_within("7d", &p);
	retention_apply(&p, g, n);
	is_int(kept(g, n, KEEP_WITHIN), 28, "within 7d, backups stopped 400 days ago: still the last week's 28");

	/* rules together: a generation's reasons are every rule that keeps it */
	p = (struct retention){ .last = 2, .daily = 3, .monthly = 2 };
	retention_apply(&p, g, n);
	is_int(g[0].reasons, KEEP_LAST | KEEP_DAILY | KEEP_MONTHLY, "last+daily+monthly: the newest has all three reasons");
	is_int(g[1].reasons, KEEP_LAST, "the second newest: last only");
	is_int(kept(g, n, 0), 2 + 2 + 1, "last 2, daily 3, monthly 2: 5 generations (the overlaps counted once)");
	free(g);
}

/* Gaps: the newest N buckets that HAVE a generation, as restic counts. */
static void test_gaps(void)
{
	int64_t days[] = { 0, 1, 5, 6, 30, 31, 90 }; /* days before the newest */
	size_t n = sizeof(days) / sizeof(days[0]);
	struct retained g[7];
	struct retention p = { .daily = 4 };

	for (size_t i = 0; i < n; i++)
		g[i] = (struct retained){ (int64_t)(n - i), newest - days[i] * DAY, 0 };
	retention_apply(&p, g, n);
	ok(g[0].reasons && g[1].reasons && g[2].reasons && g[3].reasons && !g[4].reasons,
	   "daily 4 with gaps: the 4 newest days that have a generation (day 0, 1, 5, 6)");
	p = (struct retention){ .monthly = 2 };
	retention_apply(&p, g, n);
	is_int(kept(g, n, 0), 2, "monthly 2 with gaps: two");
	retention_apply(&p, g, 0);
	ok(true, "no generations: nothing to do, no crash");
}

/* Buckets are local time: a day in Berlin is not a day in UTC. */
static void test_local_time(void)
{
	struct retained g[2] = { { 2, newest - 17 * HOUR - HOUR / 2, 0 }, { 1, newest - 18 * HOUR - HOUR / 2, 0 } };
	struct retention p = { .daily = 1 };

	/* 00:30 and 23:30 UTC: two days in UTC, one (01:30, 00:30) in Berlin */
	setenv("TZ", "UTC", 1);
	tzset();
	p.daily = 2;
	retention_apply(&p, g, 2);
	is_int(kept(g, 2, 0), 2, "UTC: 23:30 and 00:30 are two days, daily 2 keeps both");
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	retention_apply(&p, g, 2);
	is_int(kept(g, 2, 0), 1, "Europe/Berlin: the same two are one day, daily 2 keeps its newest only");
	/* spring forward: 03:30 CEST less one hour is 02:30, which does not
	 * exist, and mktime() may bring it back to 03:30: the newest stays */
	struct retained one = { 1, 1774747800LL * NS, 0 }; /* 2026-03-29 01:30 UTC = 03:30 CEST */
	p = (struct retention){ 0 };
	retention_parse_within("1h", &p);
	retention_apply(&p, &one, 1);
	ok(one.reasons & KEEP_WITHIN, "within 1h across the spring-forward gap: the newest is kept");
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_parse(void)
{
	static const char *const good[] = { "1y6m2w3d12h", "7d", "2w", "6m", "1y", "36h", "0y1h" };
	static const char *const bad[] = { "0d", "0y0m", "0h", "", "7", "30s", "d", "1d2y", "1y1y", "-1d", "1.5d", "7d ", " 7d", "1000000d" };
	struct retention p;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p = (struct retention){ 0 };
		ok(retention_parse_within(good[i], &p) == 0 && p.has_within, "within \"%s\" is a span", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = (struct retention){ 0 };
		ok(retention_parse_within(bad[i], &p) < 0 && !p.has_within, "within \"%s\" is refused", bad[i]);
	}
	p = (struct retention){ 0 };
	retention_parse_within("1y6m2w3d12h", &p);
	ok(p.within.years == 1 && p.within.months == 6 && p.within.weeks == 2 && p.within.days == 3 && p.within.hours == 12,
	   "1y6m2w3d12h: each field");
	ok(!retention_any(&(struct retention){ 0 }) && retention_any(&(struct retention){ .yearly = 1 }),
	   "retention_any: none, and one rule");
	is_str(retention_reason_name(KEEP_WITHIN), "within", "reason names");
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_rules();
	test_gaps();
	test_local_time();
	test_parse();
	return tap_done();
}
