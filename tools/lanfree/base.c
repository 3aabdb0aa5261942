/* base.c --- the base generation of a volume, in memory for comparison */
#include "backup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An inode's links are found by walking its chain up to CHAIN_MAX of them;
 * an inode with more (a hard-link farm, or a crafted guest's 65000) is
 * looked up by inode and path hashed together instead. */
#define CHAIN_MAX 64

static uint64_t link_key(uint64_t ino, const char *path, size_t len)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 1099511628211u;
	return h ^ (ino * 0x9e3779b97f4a7c15u);
}

static bool same_link(const struct base_version *v, const struct base_state *b, uint64_t ino, const char *path,
		      size_t len)
{
	return v->ino == ino && v->path_len == len && !memcmp(b->strings + v->path_off, path, len);
}

int64_t base_find(const struct base_state *b, uint64_t ino, const char *path, size_t len, int64_t *any)
{
	uint32_t i;

	if (any)
		*any = -1;
	if (!imap_get(&b->by_ino, ino, &i))
		return -1;
	if (any)
		*any = i;
	if (b->v[i].links > CHAIN_MAX) {
		if (imap_get(&b->by_link, link_key(ino, path, len), &i) && same_link(&b->v[i], b, ino, path, len))
			return i;
		return -1;
	}
	/* a chain points back only: no loop */
	for (size_t steps = 0; steps < CHAIN_MAX; steps++) {
		if (same_link(&b->v[i], b, ino, path, len))
			return i;
		if (!b->v[i].next_of_ino)
			break;
		i = b->v[i].next_of_ino - 1;
	}
	return -1;
}

const unsigned char *base_dirsum(const struct base_state *b, const struct base_version *v)
{
	return b->sums[v->sum_idx - 1];
}

/* Keep a directory's content checksum; the catalog is untrusted: anything
 * but 32 bytes is no checksum (the directory then counts as changed). */
static int base_add_sum(struct base_state *b, struct base_version *v, const void *sum, int len)
{
	if (!S_ISDIR(v->mode) || !sum || len != 32)
		return 0;
	if (b->nsums == b->capsums) {
		size_t cap = b->capsums ? b->capsums * 2 : 256;
		unsigned char(*grown)[32] = realloc(b->sums, cap * sizeof(*grown));
		if (!grown)
			return -1;
		b->sums = grown;
		b->capsums = cap;
	}
	memcpy(b->sums[b->nsums++], sum, 32);
	v->sum_idx = (uint32_t)b->nsums;
	return 0;
}

static int base_add_string(struct base_state *b, const void *dir, size_t dl, const void *name, size_t nl,
			   struct base_version *v)
{
	size_t need = dl + 1 + nl;

	if (b->slen + need > b->scap) {
		size_t cap = b->scap ? b->scap : 1 << 16;
		char *grown;
		while (cap < b->slen + need)
			cap *= 2;
		grown = realloc(b->strings, cap);
		if (!grown)
			return -1;
		b->strings = grown;
		b->scap = cap;
	}
	v->path_off = (uint32_t)b->slen;
	if (dl) /* SQLite gives NULL for an empty blob */
		memcpy(b->strings + b->slen, dir, dl);
	b->slen += dl;
	if (dl && nl)
		b->strings[b->slen++] = '/';
	if (nl)
		memcpy(b->strings + b->slen, name, nl);
	b->slen += nl;
	v->path_len = (uint32_t)(b->slen - v->path_off);
	return 0;
}

int base_load(struct base_state *b, struct db *db, int64_t guest_id, const char *volume, int64_t seq, size_t hint)
{
	struct db_stmt *st;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	if (seq <= 0)
		return 0;
	/* sized once for the volume's inodes: no copies while growing */
	if (hint > 0 && hint < (1u << 26)) {
		b->v = malloc(hint * sizeof(*b->v));
		b->cap = b->v ? hint : 0;
	}
	st = catalog_prepare(db, "SELECT id, last_seq, COALESCE(content_id, 0), ino, size, mtime, ctime, igen, mode, "
			    "error IS NOT NULL, dir, name, dirsum FROM versions "
			    "WHERE guest_id = ? AND volume = ? AND first_seq <= ?3 AND last_seq >= ?3");
	if (!st)
		return -1;
	db_bind_int64(st, 1, guest_id);
	db_bind_text(st, 2, volume, -1);
	db_bind_int64(st, 3, seq);
	while (rc == 0 && db_step(st) == DB_ROW) {
		struct base_version *v;
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 1024;
			struct base_version *grown = realloc(b->v, cap * sizeof(*grown));
			if (!grown) {
				rc = -1;
				break;
			}
			b->v = grown;
			b->cap = cap;
		}
		v = &b->v[b->n];
		memset(v, 0, sizeof(*v));
		v->id = db_column_int64(st, 0);
		v->last_seq = db_column_int64(st, 1);
		v->content_id = db_column_int64(st, 2);
		v->ino = (uint64_t)db_column_int64(st, 3);
		v->size = (uint64_t)db_column_int64(st, 4);
		v->mtime = db_column_int64(st, 5);
		v->ctime = db_column_int64(st, 6);
		v->igen = (uint32_t)db_column_int64(st, 7);
		v->mode = (uint32_t)db_column_int64(st, 8);
		v->has_error = db_column_int64(st, 9);
		if (base_add_string(b, db_column_blob(st, 10), (size_t)db_column_bytes(st, 10),
				    db_column_blob(st, 11), (size_t)db_column_bytes(st, 11), v) < 0 ||
		    base_add_sum(b, v, db_column_blob(st, 12), db_column_bytes(st, 12)) < 0) {
			rc = -1;
			break;
		}
		b->n++;
	}
	db_finalize(st);
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		uint32_t first;
		b->v[i].links = 1;
		if (imap_get(&b->by_ino, b->v[i].ino, &first)) {
			b->v[i].next_of_ino = first + 1;
			b->v[i].links = b->v[first].links + 1;
		}
		if (imap_put(&b->by_ino, b->v[i].ino, (uint32_t)i) < 0)
			rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < b->n; i++) {
		const struct base_version *v = &b->v[i];
		uint32_t head;
		if (imap_get(&b->by_ino, v->ino, &head) && b->v[head].links > CHAIN_MAX &&
		    imap_put(&b->by_link, link_key(v->ino, b->strings + v->path_off, v->path_len), (uint32_t)i) < 0)
			rc = -1;
	}
	if (rc < 0)
		cli_error(volume, "out of memory loading the base generation");
	return rc;
}

void base_free(struct base_state *b)
{
	imap_free(&b->by_ino);
	imap_free(&b->by_link);
	free(b->v);
	free(b->strings);
	free(b->sums);
	memset(b, 0, sizeof(*b));
}
