/* content.c --- a file's content id: SHA-256 of its bytes, or of its data runs when it has holes
 *
 * A file without holes is identified by the SHA-256 of its bytes (what
 * sha256sum prints).  Hashing the zeros of a hole would make a file that
 * claims 16 TiB cost hours, so a file with holes (stored with a GNU sparse
 * map) is identified instead by SHA-512/256 over its data runs:
 *
 *     for each run, in file order: DATA || le64(offset) || le64(length)
 *     then: le64(apparent size) || "rawkit-sparse-1"
 *
 * Read backwards from its end the encoding is unambiguous, and it can be
 * hashed as the data streams by (a run's offset and length follow its
 * data).  Runs are maximal: adjacent runs are one run, empty ones none, so
 * the id depends only on which bytes are data, at which offsets.  A
 * different hash function keeps the two kinds of ids apart: no file can be
 * crafted whose SHA-256 equals another file's sparse id.
 */
#include "lanfree.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define SPARSE_TAG "rawkit-sparse-1"

static void update_le64(EVP_MD_CTX *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	EVP_DigestUpdate(h, b, sizeof(b));
}

int content_hash_init(struct content_hash *c, bool sparse, uint64_t size)
{
	memset(c, 0, sizeof(*c));
	c->sparse = sparse;
	c->size = size;
	c->h = EVP_MD_CTX_new();
	if (!c->h || !EVP_DigestInit_ex(c->h, sparse ? EVP_sha512_256() : EVP_sha256(), NULL))
		return -1;
	return 0;
}

/* Close the open run: its offset and length follow its data. */
static void close_run(struct content_hash *c)
{
	if (!c->in_run)
		return;
	update_le64(c->h, c->run_start);
	update_le64(c->h, c->pos - c->run_start);
	c->in_run = false;
}

int content_hash_data(struct content_hash *c, const void *buf, size_t len, uint64_t offset)
{
	if (len == 0)
		return 0;
	/* in order, inside the file; a dense file has no gaps */
	if (offset < c->pos || offset > c->size || len > c->size - offset || (!c->sparse && offset != c->pos))
		return -1;
	if (c->sparse && (!c->in_run || offset != c->pos)) {
		close_run(c);
		c->run_start = offset;
		c->in_run = true;
	}
	EVP_DigestUpdate(c->h, buf, len);
	c->pos = offset + len;
	return 0;
}

int content_hash_final(struct content_hash *c, unsigned char id[32])
{
	unsigned int len = 0;

	if (!c->sparse && c->pos != c->size)
		return -1;
	if (c->sparse) {
		close_run(c);
		update_le64(c->h, c->size);
		EVP_DigestUpdate(c->h, SPARSE_TAG, strlen(SPARSE_TAG));
	}
	if (!EVP_DigestFinal_ex(c->h, id, &len) || len != 32)
		return -1;
	return 0;
}

void content_hash_free(struct content_hash *c)
{
	EVP_MD_CTX_free(c->h);
	c->h = NULL;
}

/* ---- a file's data runs on the disk ---- */

static int run_add(uint64_t logical, uint64_t length, uint64_t physical, void *arg)
{
	struct content_runs *r = arg;
	struct content_run *last = r->n ? &r->run[r->n - 1] : NULL;

	if (length == 0)
		return 0;
	if (logical > UINT64_MAX - length || (last && logical < last->offset + last->length)) {
		r->bad = true; /* overlapping or out of order: not a map to trust */
		return -1;
	}
	if (physical != IMGFMT_NO_PHYSICAL &&
	    (physical > r->volume_size || length > r->volume_size - physical)) {
		r->bad = true; /* past the end of the volume */
		return -1;
	}
	/* Data without a place (inline, encrypted, compressed) is still data the
	 * volume holds: counted too, so a flag bit cannot make a 16 TiB file read
	 * as zeros. */
	if (length > r->volume_size - r->on_disk) {
		r->bad = true;
		return -1;
	}
	r->on_disk += length;
	return content_runs_append(r, logical, length);
}

int content_runs_append(struct content_runs *r, uint64_t offset, uint64_t length)
{
	struct content_run *last = r->n ? &r->run[r->n - 1] : NULL;

	if (last && last->offset + last->length == offset) {
		last->length += length;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct content_run *grown = realloc(r->run, cap * sizeof(*grown));
		if (!grown) {
			r->oom = true;
			return -1;
		}
		r->run = grown;
		r->cap = cap;
	}
	r->run[r->n].offset = offset;
	r->run[r->n++].length = length;
	return 0;
}

int content_runs_get(imgfmt_fs *fs, const struct imgfmt_stat *st, struct content_runs *r, const char **why)
{
	unsigned block_size;
	uint64_t free_bytes;

	memset(r, 0, sizeof(*r));
	imgfmt_fs_sizes(fs, &block_size, &r->volume_size, &free_bytes);
	if (imgfmt_fs_data_runs(fs, st->ino, run_add, r) < 0) {
		*why = r->bad	? "its block map points outside the volume, overlaps itself or claims more than the volume holds"
		       : r->oom ? "out of memory"
				: imgfmt_fs_error(fs);
		return -1;
	}
	/* Blocks are not shared on ext or NTFS: more data than the volume holds is a lie. */
	if (r->on_disk > r->volume_size) {
		*why = "its block map claims more data than the volume holds";
		return -1;
	}
	/* runs past the end of the file hold nothing of it */
	while (r->n && r->run[r->n - 1].offset >= st->size)
		r->n--;
	if (r->n && r->run[r->n - 1].offset + r->run[r->n - 1].length > st->size)
		r->run[r->n - 1].length = st->size - r->run[r->n - 1].offset;
	r->sparse = st->size && !(r->n == 1 && r->run[0].offset == 0 && r->run[0].length == st->size);
	return 0;
}

void content_runs_free(struct content_runs *r)
{
	free(r->run);
	r->run = NULL;
	r->n = r->cap = 0;
}

int content_id_of_file(imgfmt_fs *fs, const struct imgfmt_stat *st, void *buf, size_t buf_size, unsigned char id[32],
		       const char **why)
{
	struct content_runs runs;
	struct content_hash c = { 0 };
	int rc = -1;

	if (content_runs_get(fs, st, &runs, why) < 0)
		goto out;
	if (content_hash_init(&c, runs.sparse, st->size) < 0) {
		*why = "out of memory";
		goto out;
	}
	for (size_t i = 0; i < runs.n; i++) {
		for (uint64_t at = runs.run[i].offset, end = at + runs.run[i].length; at < end;) {
			size_t n = end - at > buf_size ? buf_size : (size_t)(end - at);
			if (imgfmt_fs_pread(fs, st->ino, NULL, buf, n, at) != (ssize_t)n) {
				*why = imgfmt_fs_error(fs);
				goto out;
			}
			content_hash_data(&c, buf, n, at);
			at += n;
		}
	}
	if (content_hash_final(&c, id) < 0) {
		*why = "cannot hash";
		goto out;
	}
	rc = 0;
out:
	content_hash_free(&c);
	content_runs_free(&runs);
	return rc;
}
