/* reader.c --- a backup's small files read and hashed ahead, on a thread
 * of their own
 *
 * read_pending() goes through the queued contents in disk order.  For a
 * file of at most BUF_SIZE bytes the work is: map its data runs, read
 * them, hash them (this thread's part), then look its id up in the
 * catalog and archive it (the part of the thread that holds the catalog
 * and the archive).  The two overlap: this thread runs up to
 * AHEAD_FILES files and AHEAD_BYTES bytes ahead.  A larger file is
 * streamed by the other thread as before (hash first when its size is
 * known, read again only if it is new): this thread stops at it and waits
 * until it is done, so that the volume's handle has one user at a time.
 * Meanwhile it hashes that file's chunks as the other thread reads and
 * archives them (reader_hash()).  It also asks for the next windows of the
 * disk (prefetch_at()).
 */
#include "backup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AHEAD_FILES 256
#define AHEAD_BYTES (2u << 20)

struct reader {
	struct walk *w;
	struct prefetch *pf;
	const size_t *first; /* each window's first file */
	size_t nwin;
	struct read_item item[AHEAD_FILES];
	size_t posted;       /* items 0..posted-1 are ready */
	size_t taken;        /* items 0..taken-1 are done with */
	size_t bytes;        /* data held by ready items not yet done with */
	bool stop;
	/* who sleeps on cv: a wake-up costs a system call, made only then */
	bool reader_waits, taker_waits, large_waits;
	size_t large_at;     /* the large file's item the reader waits at */
	/* a chunk of the large file to hash, while this thread waits for it */
	struct {
		struct content_hash *h;
		const void *buf;
		size_t len;
		uint64_t offset;
	} job;
	bool job_ready;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

/* Map, read and hash the small file of pending entry I into IT. */
static void read_small(struct walk *w, size_t i, struct read_item *it)
{
	const struct imgfmt_stat *st = reader_stat(w, i);
	struct content_hash h = { 0 };
	const char *why;

	if (!st) {
		it->status = READ_SKIP;
		return;
	}
	if (st->size > BUF_SIZE) {
		it->status = READ_LARGE;
		return;
	}
	if (content_runs_get(w->fs, st, &it->runs, &why) < 0) {
		it->status = READ_UNMAPPED;
		snprintf(it->why, sizeof(it->why), "%s", why);
		return;
	}
	it->data = calloc(1, st->size ? st->size : 1);
	if (!it->data || content_hash_init(&h, it->runs.sparse, st->size) < 0) {
		content_hash_free(&h);
		it->status = READ_NOMEM;
		return;
	}
	it->status = READ_OK;
	if (read_runs(w->fs, st, &it->runs, it->data, &h) < 0) {
		it->status = READ_UNREADABLE;
		snprintf(it->why, sizeof(it->why), "%s", imgfmt_fs_error(w->fs));
	}
	if (it->status == READ_OK && content_hash_final(&h, it->sha) < 0) {
		it->status = READ_UNREADABLE;
		snprintf(it->why, sizeof(it->why), "its data runs do not add up to its size");
	}
	content_hash_free(&h);
}

static void item_clear(struct read_item *it)
{
	content_runs_free(&it->runs);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

static void *run(void *arg)
{
	struct reader *r = arg;
	struct walk *w = r->w;
	size_t k = 0;

	for (size_t i = 0; i < w->npending; i++) {
		const struct imgfmt_stat *st = reader_stat(w, i);
		size_t size = st && st->size <= BUF_SIZE ? (size_t)st->size : 0;
		struct read_item it = { 0 };

		pthread_mutex_lock(&r->mu);
		while (!r->stop && (i - r->taken >= AHEAD_FILES || (r->bytes && r->bytes + size > AHEAD_BYTES))) {
			r->reader_waits = true;
			pthread_cond_wait(&r->cv, &r->mu);
			r->reader_waits = false;
		}
		bool stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		if (k < r->nwin && i == r->first[k])
			prefetch_at(r->pf, k++);
		read_small(w, i, &it);
		pthread_mutex_lock(&r->mu);
		r->item[i % AHEAD_FILES] = it;
		r->bytes += it.data ? size : 0;
		r->posted = i + 1;
		if (r->taker_waits)
			pthread_cond_broadcast(&r->cv);
		/* a large file is the other thread's to read: wait till it is done */
		r->large_at = i;
		while (!r->stop && it.status == READ_LARGE && r->taken <= i) {
			if (r->job_ready) {
				pthread_mutex_unlock(&r->mu);
				content_hash_data(r->job.h, r->job.buf, r->job.len, r->job.offset);
				pthread_mutex_lock(&r->mu);
				r->job_ready = false;
				if (r->taker_waits)
					pthread_cond_broadcast(&r->cv);
				continue;
			}
			r->reader_waits = r->large_waits = true;
			pthread_cond_wait(&r->cv, &r->mu);
			r->reader_waits = r->large_waits = false;
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	return NULL;
}

struct reader *reader_start(struct walk *w, struct prefetch *pf, const size_t *first, size_t nwin)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->w = w;
	r->pf = pf;
	r->first = first;
	r->nwin = nwin;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, run, r)) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return NULL;
	}
	return r;
}

struct read_item *reader_take(struct reader *r, size_t i)
{
	struct read_item *it;

	pthread_mutex_lock(&r->mu);
	while (r->posted <= i) {
		r->taker_waits = true;
		pthread_cond_wait(&r->cv, &r->mu);
		r->taker_waits = false;
	}
	it = &r->item[i % AHEAD_FILES];
	pthread_mutex_unlock(&r->mu);
	return it;
}

void reader_done(struct reader *r, size_t i)
{
	struct read_item *it = &r->item[i % AHEAD_FILES];
	const struct imgfmt_stat *st = reader_stat(r->w, i);
	size_t size = it->data && st ? (size_t)st->size : 0;

	item_clear(it);
	pthread_mutex_lock(&r->mu);
	r->bytes -= size;
	r->taken = i + 1;
	/* a full queue waits till it is half empty: not a wake-up per file */
	if (r->reader_waits && (r->large_waits ? r->taken > r->large_at
					       : r->posted - r->taken <= AHEAD_FILES / 2 && r->bytes <= AHEAD_BYTES / 2))
		pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Wait until the chunk handed over last is hashed. */
static void job_wait(struct reader *r)
{
	while (r->job_ready) {
		r->taker_waits = true;
		pthread_cond_wait(&r->cv, &r->mu);
		r->taker_waits = false;
	}
}

void reader_hash(struct reader *r, struct content_hash *h, const void *buf, size_t len, uint64_t offset)
{
	pthread_mutex_lock(&r->mu);
	job_wait(r);
	r->job.h = h;
	r->job.buf = buf;
	r->job.len = len;
	r->job.offset = offset;
	r->job_ready = true;
	if (r->reader_waits)
		pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void reader_hash_wait(struct reader *r)
{
	pthread_mutex_lock(&r->mu);
	job_wait(r);
	pthread_mutex_unlock(&r->mu);
}

void reader_stop(struct reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	for (size_t i = r->taken; i < r->posted; i++)
		item_clear(&r->item[i % AHEAD_FILES]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
