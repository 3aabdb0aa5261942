/* hmap.c --- the hash maps of hmap.h (linear probing, power-of-two sizes) */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint32_t hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int imap_grow(struct imap *m)
{
	struct imap big = { 0 };

	big.cap = m->cap ? m->cap * 2 : 1024;
	big.keys = malloc(big.cap * sizeof(*big.keys));
	big.vals = calloc(big.cap, sizeof(*big.vals));
	if (!big.keys || !big.vals) {
		free(big.keys);
		free(big.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			imap_put(&big, m->keys[i], m->vals[i] - 1);
	imap_free(m);
	*m = big;
	return 0;
}

int imap_put(struct imap *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && imap_grow(m) < 0)
		return -1;
	for (i = mix64(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			m->vals[i] = val + 1;
			return 0;
		}
	m->keys[i] = key;
	m->vals[i] = val + 1;
	m->n++;
	return 0;
}

int imap_get(const struct imap *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return 0;
	for (size_t i = mix64(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			*val = m->vals[i] - 1;
			return 1;
		}
	return 0;
}

void imap_free(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void smap_init(struct smap *m, smap_key_fn key_of, const void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->key_of = key_of;
	m->ctx = ctx;
}

static int smap_grow(struct smap *m)
{
	struct smap big = *m;

	big.cap = m->cap ? m->cap * 2 : 1024;
	big.n = 0;
	big.slots = calloc(big.cap, sizeof(*big.slots));
	big.hashes = malloc(big.cap * sizeof(*big.hashes));
	if (!big.slots || !big.hashes) {
		free(big.slots);
		free(big.hashes);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i])
			continue;
		size_t j = m->hashes[i] & (big.cap - 1);
		while (big.slots[j])
			j = (j + 1) & (big.cap - 1);
		big.slots[j] = m->slots[i];
		big.hashes[j] = m->hashes[i];
		big.n++;
	}
	free(m->slots);
	free(m->hashes);
	*m = big;
	return 0;
}

/* The slot holding KEY (hash H), or the empty slot where it would go
 * (the table has at least one empty slot). */
static size_t smap_slot(const struct smap *m, const char *key, size_t len, uint32_t h)
{
	size_t i;

	for (i = h & (m->cap - 1); m->slots[i]; i = (i + 1) & (m->cap - 1)) {
		const char *k;
		size_t kl;
		if (m->hashes[i] != h)
			continue;
		m->key_of(m->slots[i] - 1, m->ctx, &k, &kl);
		if (kl == len && !memcmp(k, key, len))
			break;
	}
	return i;
}

int smap_put(struct smap *m, const char *key, size_t len, uint32_t val)
{
	uint32_t h = hash_bytes(key, len);
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && smap_grow(m) < 0)
		return -1;
	i = smap_slot(m, key, len, h);
	if (!m->slots[i]) {
		m->hashes[i] = h;
		m->n++;
	}
	m->slots[i] = val + 1;
	return 0;
}

int smap_get(const struct smap *m, const char *key, size_t len, uint32_t *val)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = smap_slot(m, key, len, hash_bytes(key, len));
	if (!m->slots[i])
		return 0;
	*val = m->slots[i] - 1;
	return 1;
}

void smap_free(struct smap *m)
{
	free(m->slots);
	free(m->hashes);
	m->slots = NULL;
	m->hashes = NULL;
	m->cap = m->n = 0;
}
