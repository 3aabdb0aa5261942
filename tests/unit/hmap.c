/* hmap.c --- unit test: the integer hash map, through growth */
#include "hmap.h"
#include "tap.h"

#include <stdlib.h>

#define N 5000 /* several growths past the first 1024 slots */

static void test_imap(void)
{
	struct imap m = { 0 };
	uint32_t v = 0;
	bool all = true;

	is_int(imap_get(&m, 7, &v), 0, "imap: an empty map has nothing");
	for (uint32_t i = 0; i < N; i++)
		if (imap_put(&m, (uint64_t)i * 4096 + 1, i) < 0)
			all = false;
	ok(all, "imap: %d puts", N);
	is_int(m.n, N, "imap: count");
	for (uint32_t i = 0; i < N && all; i++)
		all = imap_get(&m, (uint64_t)i * 4096 + 1, &v) == 1 && v == i;
	ok(all, "imap: every key found with its value after growing");
	is_int(imap_get(&m, 4096 * 2, &v), 0, "imap: a key never put is absent");
	imap_put(&m, 1, 42);
	imap_get(&m, 1, &v);
	is_int(v, 42, "imap: put of a present key replaces the value");
	is_int(m.n, N, "imap: ... and does not add one");
	imap_put(&m, UINT64_MAX, 0);
	ok(imap_get(&m, UINT64_MAX, &v) == 1 && v == 0, "imap: value 0 and key UINT64_MAX");
	imap_free(&m);
	ok(m.keys == NULL && m.n == 0, "imap: free empties it");
}

int main(void)
{
	test_imap();
	return tap_done();
}
