/* hmap.h --- an open-addressing hash map with 64-bit keys */
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

#endif
