/* hmap.c --- unit test: the integer and byte-string hash maps, through growth */
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

static char names[N][16];

static void key_of(uint32_t val, const void *ctx, const char **key, size_t *len)
{
	const char(*v)[16] = ctx;

	*key = v[val];
	*len = strlen(v[val]);
}

static void test_smap(void)
{
	struct smap m;
	uint32_t v = 0;
	bool all = true;

	smap_init(&m, key_of, names);
	is_int(smap_get(&m, "x", 1, &v), 0, "smap: an empty map has nothing");
	for (uint32_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "name-%u", i);
		all &= smap_put(&m, names[i], strlen(names[i]), i) == 0;
	}
	ok(all, "smap: %d puts", N);
	is_int(m.n, N, "smap: count");
	for (uint32_t i = 0; i < N && all; i++) {
		char key[16];
		snprintf(key, sizeof(key), "name-%u", i); /* another copy: compared by content */
		all = smap_get(&m, key, strlen(key), &v) == 1 && v == i;
	}
	ok(all, "smap: every key found by content after growing");
	is_int(smap_get(&m, "name-1", 5, &v), 0, "smap: a prefix of a key is not the key");
	is_int(smap_get(&m, "name-50000", 10, &v), 0, "smap: a key never put is absent");
	smap_put(&m, "name-3", 6, 3);
	is_int(m.n, N, "smap: a key put again is not added twice");
	smap_free(&m);
	ok(m.slots == NULL && m.n == 0, "smap: free empties it");
	is_int(hash_bytes("", 0), 2166136261u, "hash_bytes: FNV-1a offset basis for no bytes");
	is_int(hash_bytes("a", 1), 0xe40c292cu, "hash_bytes: FNV-1a of \"a\"");
}

int main(void)
{
	test_imap();
	test_smap();
	return tap_done();
}
