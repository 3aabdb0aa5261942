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
 *
 * A larger file is streamed: its job is given before its data, the blocks
 * follow as they are unpacked (at most MAX_PIECE_BYTES in flight), and the
 * thread writes and hashes them while the restoring thread decompresses
 * the next.  The restoring thread does not wait for the file's end: it
 * takes the job back later, like any other.
 */
#include "lanfree.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 64 /* two descriptors each: the file and its directory */
#define MAX_BYTES (8u << 20)
#define MAX_PIECE_BYTES (8u << 20)

struct job_piece {
	struct job_piece *next;
	uint64_t offset;
	size_t len;
	unsigned char data[];
};

struct writer {
	struct file_job *head, *tail; /* given, oldest first */
	struct file_job *next;        /* the first not yet written */
	size_t njobs, bytes, piece_bytes;
	bool stop, thread_waits, owner_waits;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
};

/* Hash and write LEN bytes of J at OFFSET (J still JOB_OK); *END: where
 * the data written ends. */
static void job_write(struct file_job *j, struct content_hash *h, const unsigned char *p, size_t len, uint64_t offset,
		      uint64_t *end)
{
	if (content_hash_data(h, p, len, offset) < 0)
		j->result = JOB_DAMAGED;
	else if (cli_pwrite_all(j->fd, p, len, offset) < 0)
		j->result = JOB_IO, j->err = errno;
	*end = offset + len;
}

/* A streamed job's next piece, waiting for it; NULL: closed, none left. */
static struct job_piece *piece_wait(struct writer *w, struct file_job *j)
{
	struct job_piece *p;

	pthread_mutex_lock(&w->mu);
	while (!j->pieces && !j->closed) {
		w->thread_waits = true;
		pthread_cond_wait(&w->cv, &w->mu);
		w->thread_waits = false;
	}
	if ((p = j->pieces) && !(j->pieces = p->next))
		j->pieces_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return p;
}

static void piece_done(struct writer *w, struct file_job *j, struct job_piece *p)
{
	pthread_mutex_lock(&w->mu);
	j->failed = j->result != JOB_OK; /* (read by the owner under the lock) */
	w->piece_bytes -= p->len;
	if (w->owner_waits)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	free(p);
}

/* Write and hash J's data runs (or, streamed, its pieces as they come),
 * size the file, compare the id. */
static void job_run(struct writer *w, struct file_job *j)
{
	struct content_hash h;
	unsigned char md[32];
	struct job_piece *p;
	uint64_t end = 0;

	j->result = content_hash_init(&h, j->sparse, j->size) < 0 ? JOB_NOMEM : JOB_OK;
	for (size_t i = 0; !j->stream && i < j->runs.n && j->result == JOB_OK; i++)
		job_write(j, &h, j->data + j->runs.run[i].offset, j->runs.run[i].length, j->runs.run[i].offset, &end);
	while (j->stream && (p = piece_wait(w, j))) {
		if (j->result == JOB_OK) /* after an error, the rest is only let go */
			job_write(j, &h, p->data, p->len, p->offset, &end);
		piece_done(w, j, p);
	}
	if (j->abandoned)
		j->result = JOB_ABANDONED;
	/* sized by its data, unless it ends in a hole (a new file: an
	 * ftruncate() to its size would cost a journalled inode update) */
	if (j->result == JOB_OK && end != j->size && ftruncate(j->fd, (off_t)j->size) < 0)
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
		job_run(w, j);
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
	w->bytes += j->stream ? 0 : (size_t)j->size; /* a stream's pieces are counted apart */
	if (w->thread_waits)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int writer_piece(struct writer *w, struct file_job *j, const void *buf, size_t len, uint64_t offset)
{
	struct job_piece *p = malloc(sizeof(*p) + len);

	if (!p)
		return -1;
	p->next = NULL;
	p->offset = offset;
	p->len = len;
	memcpy(p->data, buf, len);
	pthread_mutex_lock(&w->mu);
	while (w->piece_bytes >= MAX_PIECE_BYTES && !j->failed) {
		w->owner_waits = true;
		pthread_cond_wait(&w->cv, &w->mu);
		w->owner_waits = false;
	}
	if (j->failed) {
		pthread_mutex_unlock(&w->mu);
		free(p);
		return 1;
	}
	if (j->pieces_tail)
		j->pieces_tail->next = p;
	else
		j->pieces = p;
	j->pieces_tail = p;
	w->piece_bytes += len;
	if (w->thread_waits)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void writer_close(struct writer *w, struct file_job *j, bool abandon)
{
	pthread_mutex_lock(&w->mu);
	j->closed = true;
	j->abandoned = abandon;
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
		w->bytes -= j->stream ? 0 : (size_t)j->size;
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
	job_run(NULL, j); /* never a streamed one */
	j->done = true;
}
