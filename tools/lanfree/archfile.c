/* archfile.c --- an archive opened to be read: a file of a local repository,
 * or the chunk objects of a repository in RADOS
 *
 * Readers (unpack.c, verify.c, mount) name an archive by REPO/REL, as they
 * always have.  An open RADOS repository registers its name here
 * (archfile_register()), and a path under it is read from its objects:
 * REL.00000000, REL.00000001, ..., each chunk_bytes long but the last.
 */
#include "lanfree.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one read of an object asks for at least (up to the end of its
 * chunk): a reader going through an archive (unpack's 128 KiB refills,
 * verify's entries one after the other, each opened anew) costs a round
 * trip per READAHEAD, not per refill or per entry.  Each archfile keeps
 * the window it read last, and a copy goes to its repository's window,
 * which the next archfile opened finds (verify opens one per content);
 * no lock is held while reading. */
#define READAHEAD (4u << 20)

/* Bytes [off, off + len) of an archive, in BUF (READAHEAD bytes). */
struct span {
	unsigned char *buf;
	uint64_t off;
	size_t len;
};

/* A repository's: the span read last, of archive REL. */
struct window {
	pthread_mutex_t mu;
	char *rel;
	struct span s;
};

struct archfile {
	int fd;              /* a local file, or -1 */
	imgfmt_rados *rados; /* else its repository's pool */
	uint64_t chunk;
	char *rel;
	struct window *w; /* its repository's */
	struct span own;  /* what it read last */
};

enum { MAX_REPOS = 4 };
static struct {
	char *path;
	imgfmt_rados *rados;
	uint64_t chunk;
	struct window w;
} repos[MAX_REPOS];
static pthread_mutex_t repos_mu = PTHREAD_MUTEX_INITIALIZER;

int archfile_register(const char *path, imgfmt_rados *rados, uint64_t chunk)
{
	int rc = -1;

	pthread_mutex_lock(&repos_mu);
	for (int i = 0; i < MAX_REPOS; i++)
		if (!repos[i].path) {
			if ((repos[i].path = strdup(path))) {
				repos[i].rados = rados;
				repos[i].chunk = chunk;
				pthread_mutex_init(&repos[i].w.mu, NULL);
				rc = 0;
			}
			break;
		}
	pthread_mutex_unlock(&repos_mu);
	return rc;
}

void archfile_unregister(imgfmt_rados *rados)
{
	pthread_mutex_lock(&repos_mu);
	for (int i = 0; i < MAX_REPOS; i++)
		if (repos[i].path && repos[i].rados == rados) {
			free(repos[i].path);
			free(repos[i].w.s.buf);
			free(repos[i].w.rel);
			pthread_mutex_destroy(&repos[i].w.mu);
			memset(&repos[i], 0, sizeof(repos[i]));
		}
	pthread_mutex_unlock(&repos_mu);
}

void archive_chunk_name(const char *rel, uint64_t index, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%08llx", rel, (unsigned long long)index);
}

struct archfile *archfile_open(const char *path, char *err, size_t errlen)
{
	struct archfile *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->fd = -1;
	pthread_mutex_lock(&repos_mu);
	for (int i = 0; i < MAX_REPOS; i++) {
		size_t n = repos[i].path ? strlen(repos[i].path) : 0;
		if (n && !strncmp(path, repos[i].path, n) && path[n] == '/') {
			f->rados = repos[i].rados;
			f->chunk = repos[i].chunk;
			f->w = &repos[i].w;
			f->rel = strdup(path + n + 1);
			break;
		}
	}
	pthread_mutex_unlock(&repos_mu);
	if (f->rados) {
		if (!f->rel || !archive_path_ok(f->rel)) {
			snprintf(err, errlen, "%s: %s", path, f->rel ? "not an archive name" : "out of memory");
			archfile_close(f);
			return NULL;
		}
		return f;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		archfile_close(f);
		return NULL;
	}
	return f;
}

struct archfile *archfile_open_fd(int fd)
{
	struct archfile *f = calloc(1, sizeof(*f));

	if (f)
		f->fd = fd;
	return f;
}

/* Up to LEN bytes at OFF from the chunk objects, without the cache. */
static ssize_t read_chunks(struct archfile *f, void *buf, size_t len, uint64_t off, char *err, size_t errlen)
{
	size_t done = 0;

	while (done < len) {
		uint64_t at = off + done, index = at / f->chunk, in = at % f->chunk;
		size_t want = len - done;
		char name[700];
		ssize_t n;
		if (want > f->chunk - in)
			want = (size_t)(f->chunk - in);
		archive_chunk_name(f->rel, index, name, sizeof(name));
		n = imgfmt_rados_read(f->rados, name, (char *)buf + done, want, in);
		if (n == -ENOENT && index > 0 && in == 0)
			break; /* the end, at a chunk boundary */
		if (n < 0) {
			snprintf(err, errlen, "%s", imgfmt_rados_error(f->rados));
			return -1;
		}
		done += (size_t)n;
		if ((size_t)n < want)
			break; /* the last chunk's end */
	}
	return (ssize_t)done;
}

/* Up to LEN bytes at OFF of the archive S holds part of into BUF; -1
 * when OFF is not in it. */
static ssize_t from_span(const struct span *s, void *buf, size_t len, uint64_t off)
{
	size_t n;

	if (!s->buf || off < s->off || off >= s->off + s->len)
		return -1;
	n = (size_t)(s->off + s->len - off);
	if (n > len)
		n = len;
	memcpy(buf, s->buf + (off - s->off), n);
	return (ssize_t)n;
}

ssize_t archfile_pread(struct archfile *f, void *buf, size_t len, uint64_t off, char *err, size_t errlen)
{
	struct window *w = f->w;
	ssize_t n;
	size_t want;

	if (f->fd >= 0) {
		do
			n = pread(f->fd, buf, len, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			snprintf(err, errlen, "read error: %s", strerror(errno));
		return n;
	}
	if (len >= READAHEAD)
		return read_chunks(f, buf, len, off, err, errlen);
	if ((n = from_span(&f->own, buf, len, off)) >= 0 && (size_t)n == len)
		return n;
	pthread_mutex_lock(&w->mu);
	n = w->rel && !strcmp(w->rel, f->rel) ? from_span(&w->s, buf, len, off) : -1;
	pthread_mutex_unlock(&w->mu);
	if (n >= 0 && (size_t)n == len)
		return n;
	/* from OFF to the end of its chunk, at most READAHEAD */
	want = READAHEAD;
	if (want > f->chunk - off % f->chunk && len <= f->chunk - off % f->chunk)
		want = (size_t)(f->chunk - off % f->chunk);
	if (!f->own.buf && !(f->own.buf = malloc(READAHEAD))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->own.len = 0;
	if ((n = read_chunks(f, f->own.buf, want, off, err, errlen)) < 0)
		return -1;
	f->own.off = off;
	f->own.len = (size_t)n;
	/* for the next archfile of this archive */
	pthread_mutex_lock(&w->mu);
	free(w->rel);
	if ((w->s.buf || (w->s.buf = malloc(READAHEAD))) && (w->rel = strdup(f->rel))) {
		memcpy(w->s.buf, f->own.buf, f->own.len);
		w->s.off = f->own.off;
		w->s.len = f->own.len;
	} else
		w->rel = NULL;
	pthread_mutex_unlock(&w->mu);
	n = from_span(&f->own, buf, len, off);
	return n < 0 ? 0 : n; /* (past the end: nothing) */
}

int archfile_size(struct archfile *f, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (f->fd >= 0) {
		if (fstat(f->fd, &st) < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		*size = (uint64_t)st.st_size;
		return 0;
	}
	/* every chunk but the last is whole: the last one's size says the rest */
	for (uint64_t index = 0;; index++) {
		char name[700];
		uint64_t n;
		int rc;
		archive_chunk_name(f->rel, index, name, sizeof(name));
		rc = imgfmt_rados_size(f->rados, name, &n);
		if (rc == -ENOENT && index > 0) {
			*size = index * f->chunk;
			return 0;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s", imgfmt_rados_error(f->rados));
			return -1;
		}
		if (n != f->chunk) {
			if (n > f->chunk) {
				snprintf(err, errlen, "chunk %s has %llu bytes, more than a chunk", name,
					 (unsigned long long)n);
				return -1;
			}
			*size = index * f->chunk + n;
			return 0;
		}
	}
}

void archfile_close(struct archfile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->own.buf);
	free(f->rel);
	free(f);
}
