/* extents.c --- sorted lists of byte ranges on a disk */
#include "imgfmt_private.h"

#include <errno.h>
#include <stdlib.h>

struct range {
	uint64_t off, len;
};

struct imgfmt_extents {
	struct range *r;
	size_t n, cap;
};

imgfmt_extents *imgfmt_extents_new(void)
{
	return calloc(1, sizeof(imgfmt_extents));
}

void imgfmt_extents_free(imgfmt_extents *ext)
{
	if (!ext)
		return;
	free(ext->r);
	free(ext);
}

void imgfmt_extents_clear(imgfmt_extents *ext)
{
	ext->n = 0;
}

size_t imgfmt_extents_count(const imgfmt_extents *ext)
{
	return ext->n;
}

int imgfmt_extents_get(const imgfmt_extents *ext, size_t i, uint64_t *offset, uint64_t *length)
{
	if (i >= ext->n)
		return -EINVAL;
	*offset = ext->r[i].off;
	*length = ext->r[i].len;
	return 0;
}

uint64_t imgfmt_extents_bytes(const imgfmt_extents *ext)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < ext->n; i++)
		sum += ext->r[i].len;
	return sum;
}

/* Append; merges with the last range when they touch or overlap in order. */
int imgfmt_extents_add(imgfmt_extents *ext, uint64_t offset, uint64_t length)
{
	if (length == 0)
		return 0;
	if (ext->n) {
		struct range *last = &ext->r[ext->n - 1];
		if (offset >= last->off && offset <= last->off + last->len) {
			uint64_t end = offset + length;
			if (end > last->off + last->len)
				last->len = end - last->off;
			return 0;
		}
	}
	if (ext->n == ext->cap) {
		size_t cap = ext->cap ? ext->cap * 2 : 64;
		struct range *grown = realloc(ext->r, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ext->r = grown;
		ext->cap = cap;
	}
	ext->r[ext->n].off = offset;
	ext->r[ext->n].len = length;
	ext->n++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

void imgfmt_extents_normalize(imgfmt_extents *ext)
{
	size_t out = 0;

	if (ext->n < 2)
		return;
	qsort(ext->r, ext->n, sizeof(*ext->r), cmp_range);
	for (size_t i = 1; i < ext->n; i++) {
		struct range *cur = &ext->r[out];
		if (ext->r[i].off <= cur->off + cur->len) {
			uint64_t end = ext->r[i].off + ext->r[i].len;
			if (end > cur->off + cur->len)
				cur->len = end - cur->off;
		} else {
			ext->r[++out] = ext->r[i];
		}
	}
	ext->n = out + 1;
}

int imgfmt_extents_subtract(const imgfmt_extents *a, const imgfmt_extents *b, imgfmt_extents *out)
{
	size_t j = 0;

	imgfmt_extents_clear(out);
	for (size_t i = 0; i < a->n; i++) {
		uint64_t pos = a->r[i].off, end = a->r[i].off + a->r[i].len;
		while (j < b->n && b->r[j].off + b->r[j].len <= pos)
			j++;
		for (size_t k = j; k < b->n && b->r[k].off < end && pos < end; k++) {
			if (b->r[k].off > pos && imgfmt_extents_add(out, pos, b->r[k].off - pos))
				return -ENOMEM;
			if (b->r[k].off + b->r[k].len > pos)
				pos = b->r[k].off + b->r[k].len;
		}
		if (pos < end && imgfmt_extents_add(out, pos, end - pos))
			return -ENOMEM;
	}
	return 0;
}

int imgfmt_extents_intersect(const imgfmt_extents *a, const imgfmt_extents *b, imgfmt_extents *out)
{
	size_t i = 0, j = 0;

	imgfmt_extents_clear(out);
	while (i < a->n && j < b->n) {
		uint64_t a_end = a->r[i].off + a->r[i].len, b_end = b->r[j].off + b->r[j].len;
		uint64_t lo = a->r[i].off > b->r[j].off ? a->r[i].off : b->r[j].off;
		uint64_t hi = a_end < b_end ? a_end : b_end;
		if (lo < hi && imgfmt_extents_add(out, lo, hi - lo))
			return -ENOMEM;
		if (a_end < b_end)
			i++;
		else
			j++;
	}
	return 0;
}
