/* dirahead.c --- every directory's blocks asked for before the tree walk
 *
 * The walk reads each directory's entries from the disk, one directory at
 * a time, in tree order: cold, each is a random read the walk waits for
 * (on a guest of 16k directories, nine tenths of an incremental's tree
 * walk).  After the inode scan the directories are known; their blocks
 * are asked for here (POSIX_FADV_WILLNEED), in disk order and merged into
 * larger requests, from the prefetch thread, so that the walk finds them
 * in the page cache.  Only where the back end maps directories (ext2/3/4,
 * XFS); a hint: nothing fails here.
 */
#include "backup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GAP (128u << 10)     /* runs closer than this are one request */
#define REQUEST_MAX (8u << 20)
#define TOTAL_MAX (256u << 20) /* a hint: not more than this in all */

struct dirahead {
	struct prefetch_range *r;
	size_t n, cap;
	uint64_t total;
	bool full; /* TOTAL_MAX reached, or out of memory: ask for what is collected */
	struct prefetch *pf;
};

static int add_run(uint64_t logical, uint64_t length, uint64_t physical, void *arg)
{
	struct dirahead *d = arg;

	(void)logical;
	if (physical == IMGFMT_NO_PHYSICAL || !length)
		return 0;
	if (length > TOTAL_MAX - d->total) {
		d->full = true;
		return -1;
	}
	d->total += length;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 1024;
		struct prefetch_range *grown = realloc(d->r, cap * sizeof(*grown));
		if (!grown) {
			d->full = true;
			return -1;
		}
		d->r = grown;
		d->cap = cap;
	}
	d->r[d->n++] = (struct prefetch_range){ physical, length };
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct prefetch_range *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Sorted runs into requests: near ones joined, up to REQUEST_MAX each. */
static void merge(struct dirahead *d)
{
	size_t out = 0;

	if (!d->n)
		return; /* (qsort of NULL is undefined even for 0 elements) */
	qsort(d->r, d->n, sizeof(*d->r), by_offset);
	for (size_t i = 0; i < d->n; i++) {
		struct prefetch_range *last = out ? &d->r[out - 1] : NULL;
		uint64_t end = d->r[i].offset + d->r[i].length;
		if (last && d->r[i].offset <= last->offset + last->length + GAP &&
		    end - last->offset <= REQUEST_MAX) {
			if (end > last->offset + last->length)
				last->length = end - last->offset;
			continue;
		}
		d->r[out++] = d->r[i];
	}
	d->n = out;
}

struct dirahead *dirahead_start(struct walk *w)
{
	const char *type = imgfmt_fs_type(w->fs);
	struct dirahead *d;

	if ((strncmp(type, "ext", 3) && strcmp(type, "xfs")) || !(d = calloc(1, sizeof(*d))))
		return NULL;
	/* (a directory that cannot be mapped is left to the walk to report) */
	for (size_t i = 0; i < w->nscan && !d->full; i++)
		if (S_ISDIR(w->scan[i].mode))
			imgfmt_fs_data_runs(w->fs, w->scan[i].ino, add_run, d);
	merge(d);
	d->pf = prefetch_start(w->fs, d->r, d->n);
	prefetch_at(d->pf, d->n); /* all of it: no window is "read" here */
	return d;
}

void dirahead_stop(struct dirahead *d)
{
	if (!d)
		return;
	prefetch_stop(d->pf);
	free(d->r);
	free(d);
}
