/* hmap.h --- open-addressing hash maps: 64-bit keys, or byte-string keys */
#ifndef RAWKIT_HMAP_H
#define RAWKIT_HMAP_H

#include <stddef.h>
#include <stdint.h>

/* uint64 -> value index (values are kept by the caller, e.g. in an array) */
struct imap {
	uint64_t *keys;
	uint32_t *vals; /* index + 1; 0 = empty slot */
	size_t cap, n;
};
int imap_put(struct imap *m, uint64_t key, uint32_t val);
/* Returns 1 and *VAL when KEY is present. */
int imap_get(const struct imap *m, uint64_t key, uint32_t *val);
void imap_free(struct imap *m);

/* byte string -> value index; keys are looked up through a callback so that
 * the strings live once, with the caller. */
typedef void (*smap_key_fn)(uint32_t val, const void *ctx, const char **key, size_t *len);
struct smap {
	uint32_t *slots; /* index + 1; 0 = empty */
	uint32_t *hashes;
	size_t cap, n;
	smap_key_fn key_of;
	const void *ctx;
};
void smap_init(struct smap *m, smap_key_fn key_of, const void *ctx);
int smap_put(struct smap *m, const char *key, size_t len, uint32_t val);
int smap_get(const struct smap *m, const char *key, size_t len, uint32_t *val);
void smap_free(struct smap *m);

uint32_t hash_bytes(const void *data, size_t len);

#endif
