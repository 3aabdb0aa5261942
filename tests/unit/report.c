/* report.c --- unit test: the one report list (format, sanitize, grow, free) */
#include "report.h"
#include "tap.h"

static void test_report(void)
{
	struct report_list l = { 0 };

	report_add(&l, 7, "%s: %d", "a\tb\nc\001", 3);
	is_int(l.n, 1, "report: one line");
	is_str(l.v[0].text, "a b c?: 3", "report: formatted, control bytes made printable");
	is_int(l.v[0].tag, 7, "report: tag kept");
	for (int i = 0; i < 40; i++)
		report_add(&l, i, "line %d", i);
	ok(l.n == 41 && !strcmp(l.v[40].text, "line 39") && l.v[40].tag == 39, "report: grows past its first block");
	report_list_free(&l);
	ok(l.n == 0 && l.v == NULL, "report: free empties it");
}

int main(void)
{
	test_report();
	return tap_done();
}
