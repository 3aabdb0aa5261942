/* writer.c --- a restore's small files written and checked on a thread of
 * their own
 *
 * A restore unpacks the archive on one thread: decompressing, creating the
 * file, setting its attributes.  Writing the data (a copy into the page
 * cache) and hashing it to check its content id are as much work again;
 * here they run beside it.  The restoring thread hands over a file whose
 * bytes it has unpacked into memory (a file_job) and goes on with the
 * next; it takes the finished jobs back in the order it gave them, to
 * report, set attributes and close.  At most MAX_JOBS files and MAX_BYTES
 * bytes are in flight.
 */
#include "lanfree.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 64 /* two descriptors each: the file and its directory */
#define MAX_BYTES (8u << 20)

struct writer {
	struct file_job *head, *tail; /* given, oldest first */
	struct file_job *next;        /* the first not yet written */
	size_t njobs, bytes;
	bool stop, thread_waits, owner_waits;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

/* Write and hash J's data runs, size the file, compare the id. */
static void job_run(struct file_job *j)
{
	struct content_hash h;
	unsigned char md[32];

	if (content_hash_init(&h, j->sparse, j->size) < 0) {
		j->result = JOB_NOMEM;
		content_hash_free(&h);
		return;
	}
	j->result = JOB_OK;
	for (size_t i = 0; i < j->runs.n && j->result == JOB_OK; i++) {
		const struct content_run *run = &j->runs.run[i];
		const unsigned char *p = j->data + run->offset;
		if (content_hash_data(&h, p, run->length, run->offset) < 0)
			j->result = JOB_DAMAGED;
		else if (cli_pwrite_all(j->fd, p, run->length, run->offset) < 0)
			j->result = JOB_IO, j->err = errno;
	}
	if (j->result == JOB_OK && ftruncate(j->fd, (off_t)j->size) < 0)
		j->result = JOB_SIZE, j->err = errno;
	if (j->result == JOB_OK && (content_hash_final(&h, md) < 0 || memcmp(md, j->sha, 32) != 0))
		j->result = JOB_DAMAGED;
	content_hash_free(&h);
}

static void *run(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->next) {
			w->thread_waits = true;
			pthread_cond_wait(&w->cv, &w->mu);
			w->thread_waits = false;
		}
		if (!w->next)
			break; /* stopped, nothing left to write */
		struct file_job *j = w->next;
		pthread_mutex_unlock(&w->mu);
		job_run(j);
		pthread_mutex_lock(&w->mu);
		j->done = true;
		w->next = j->next;
		if (w->owner_waits)
			pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *writer_start(void)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, run, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

bool writer_full(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	bool full = w->njobs >= MAX_JOBS || w->bytes >= MAX_BYTES;
	pthread_mutex_unlock(&w->mu);
	return full;
}

void writer_give(struct writer *w, struct file_job *j)
{
	j->next = NULL;
	j->done = false;
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	if (!w->next)
		w->next = j;
	w->njobs++;
	w->bytes += (size_t)j->size;
	if (w->thread_waits)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct file_job *writer_take(struct writer *w, bool wait)
{
	struct file_job *j = NULL;

	pthread_mutex_lock(&w->mu);
	while (wait && w->head && !w->head->done) {
		w->owner_waits = true;
		pthread_cond_wait(&w->cv, &w->mu);
		w->owner_waits = false;
	}
	if (w->head && w->head->done) {
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->njobs--;
		w->bytes -= (size_t)j->size;
	}
	pthread_mutex_unlock(&w->mu);
	return j;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Inline, without a thread: the same work, at once. */
void file_job_run(struct file_job *j)
{
	job_run(j);
	j->done = true;
}
