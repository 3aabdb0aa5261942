/* prefetch.c --- ask the kernel for the next windows of a backup's reads
 * from a thread of their own
 *
 * The contents are read in disk order, window by window (read_pending()).
 * Asking for a window (POSIX_FADV_WILLNEED) submits its I/O, and that
 * submission costs the thread that makes it: page allocation and, on a
 * virtual machine, one exit per request.  Made here, it overlaps the reader
 * hashing and archiving the window before; the reader finds the pages in
 * the cache.  At most AHEAD windows are asked for beyond the one being
 * read, so the cache holds a bounded amount the reader has not used.
 */
#include "backup.h"

#include <pthread.h>
#include <stdlib.h>

#define AHEAD 3

struct prefetch {
	imgfmt_fs *fs;
	const struct prefetch_range *r;
	size_t n;
	size_t reading; /* window the reader is in */
	size_t next;    /* next window to ask for */
	bool stop, threaded;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

static void *run(void *arg)
{
	struct prefetch *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next < p->n && p->next > p->reading + AHEAD)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->next >= p->n)
			break;
		size_t k = p->next++;
		pthread_mutex_unlock(&p->mu);
		if (p->r[k].length) /* (a large file's: read past the cache) */
			imgfmt_fs_advise(p->fs, p->r[k].offset, p->r[k].length);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct prefetch *prefetch_start(imgfmt_fs *fs, const struct prefetch_range *r, size_t n)
{
	struct prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fs = fs;
	p->r = r;
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threaded = pthread_create(&p->thread, NULL, run, p) == 0;
	return p;
}

void prefetch_at(struct prefetch *p, size_t window)
{
	if (!p)
		return;
	if (!p->threaded) { /* no thread: ask for this window now, as before */
		if (window < p->n && p->r[window].length)
			imgfmt_fs_advise(p->fs, p->r[window].offset, p->r[window].length);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->reading = window;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void prefetch_stop(struct prefetch *p)
{
	if (!p)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
