/* pack.c --- write a pax tar archive as independently compressed frames
 *
 * libarchive writes the tar stream (pax headers, xattrs, sparse maps) into
 * pack_sink(), which cuts it into frames of at most FRAME_MAX bytes.  Each
 * frame becomes one zstd frame (with its content checksum) or one gzip
 * member, so the file as a whole is an ordinary .tar.zst / .tar.gz that GNU
 * tar and bsdtar extract, and yet one entry can be read by seeking to the
 * frame it starts in.  Frames are compressed by JOBS worker threads and
 * written in order by the calling thread; at most 2*JOBS are in flight.
 *
 * Holes of a sparse entry are handed to libarchive from a read-only
 * mapping of zero pages: it skips them without reading, so they cost
 * nothing.  An entry whose file turns out unreadable half-way is taken out
 * again (pack_abort_entry()): the frames it reached are dropped and the
 * tar stream goes on from where the entry began, with no zero padding.
 */
#include "lanfree.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define FRAME_MAX (1u << 20)
/* Default levels.  zstd: 1 (~330 MB/s a core here, archives ~12% larger
 * than level 3's at twice its speed) while compression shares a 2-core
 * server with reading and hashing; 3 from 4 threads on.  gzip: 6, dump -z's. */
#define ZSTD_LEVEL_FEW 1
#define ZSTD_LEVEL_MANY 3
#define ZSTD_MANY_JOBS 4
#define GZIP_LEVEL 6
#define WRITEBACK_STEP (32u << 20)
/* zeros handed to libarchive per call for a hole (it takes at most INT_MAX) */
#define HOLE_MAP (1u << 30)

struct job {
	unsigned char *raw, *out;
	size_t rawlen, outlen;
	bool done;
	int failed;
};

struct pack {
	char *path;
	int fd;
	bool staging; /* a copy to upload (pack_set_staging()): not fsync()ed */
	enum compression comp;
	int level;
	uint64_t writeback_from; /* archive bytes before it are being written back */
	struct archive *a;
	unsigned char *cur;
	size_t curlen;
	uint32_t nsubmitted;
	struct frame_info *frames;
	size_t nframes, capframes;
	uint64_t file_off;
	/* workers */
	int nthreads;
	pthread_t *threads;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	struct job **inflight; /* in submission order */
	size_t ninflight, next_pending, max_inflight;
	bool stop;
	/* the entry begun last, until it ends: where it began, and the bytes
	 * of its first frame before it once that frame is handed over */
	bool in_entry;
	uint32_t entry_frame;
	size_t entry_off;
	unsigned char *entry_prefix;
	const unsigned char *zeros; /* HOLE_MAP bytes, mapped at the first hole */
	/* state */
	bool failed, closed_ok;
	bool discarding; /* a writer is being dropped: its output is refused */
	char err[256];
};

const char *compression_name(enum compression c)
{
	return c == COMP_ZSTD ? "zstd" : c == COMP_GZIP ? "gzip" : "none";
}

const char *compression_suffix(enum compression c)
{
	return c == COMP_ZSTD ? ".tar.zst" : c == COMP_GZIP ? ".tar.gz" : ".tar";
}

int compression_default_level(enum compression c, int jobs)
{
	return c == COMP_GZIP ? GZIP_LEVEL : c == COMP_ZSTD ? (jobs >= ZSTD_MANY_JOBS ? ZSTD_LEVEL_MANY : ZSTD_LEVEL_FEW) : 0;
}

int compression_max_level(enum compression c)
{
	return c == COMP_ZSTD ? 19 : c == COMP_GZIP ? 9 : 0;
}

int compression_parse(const char *s, enum compression *c)
{
	if (!strcmp(s, "zstd"))
		*c = COMP_ZSTD;
	else if (!strcmp(s, "gzip"))
		*c = COMP_GZIP;
	else if (!strcmp(s, "none"))
		*c = COMP_NONE;
	else
		return -1;
	return 0;
}

static int pack_fail(struct pack *p, const char *fmt, ...) CLI_PRINTF(2, 3);
static int pack_fail(struct pack *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
	}
	p->failed = true;
	return -1;
}

/* Compress one frame; thread-safe (a context per call for gzip, per thread
 * for zstd). */
static int compress_job(struct job *j, enum compression comp, int level, ZSTD_CCtx *zc)
{
	if (comp == COMP_NONE) {
		j->out = j->raw;
		j->outlen = j->rawlen;
		j->raw = NULL;
		return 0;
	}
	if (comp == COMP_ZSTD) {
		size_t bound = ZSTD_compressBound(j->rawlen), n;
		j->out = malloc(bound);
		if (!j->out)
			return -1;
		/* set per frame: a context can outlive its pack (submit()'s) */
		ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, level);
		n = ZSTD_compress2(zc, j->out, bound, j->raw, j->rawlen);
		if (ZSTD_isError(n))
			return -1;
		j->outlen = n;
	} else {
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		uLong bound = deflateBound(&zs, (uLong)j->rawlen) + 64;
		j->out = malloc(bound);
		if (!j->out) {
			deflateEnd(&zs);
			return -1;
		}
		zs.next_in = j->raw;
		zs.avail_in = (uInt)j->rawlen;
		zs.next_out = j->out;
		zs.avail_out = (uInt)bound;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
			deflateEnd(&zs);
			return -1;
		}
		j->outlen = zs.total_out;
		deflateEnd(&zs);
	}
	free(j->raw);
	j->raw = NULL;
	return 0;
}

static ZSTD_CCtx *zstd_cctx(void)
{
	ZSTD_CCtx *zc = ZSTD_createCCtx();

	if (zc)
		ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 1);
	return zc;
}

static void *worker_main(void *arg)
{
	struct pack *p = arg;
	ZSTD_CCtx *zc = p->comp == COMP_ZSTD ? zstd_cctx() : NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;
		while (!p->stop && p->next_pending >= p->ninflight)
			pthread_cond_wait(&p->cv_work, &p->mu);
		if (p->stop)
			break;
		j = p->inflight[p->next_pending++];
		pthread_mutex_unlock(&p->mu);
		j->failed = (p->comp == COMP_ZSTD && !zc) || compress_job(j, p->comp, p->level, zc) < 0;
		pthread_mutex_lock(&p->mu);
		j->done = true;
		pthread_cond_broadcast(&p->cv_done);
	}
	pthread_mutex_unlock(&p->mu);
	ZSTD_freeCCtx(zc);
	return NULL;
}

static int write_all(struct pack *p, const unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(p->fd, buf + done, len - done, (off_t)(p->file_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pack_fail(p, "cannot write archive: %s", n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
	/* Start the writeback of what is written every WRITEBACK_STEP: the
	 * disk writes while the frames after it are compressed, and the
	 * fsync at the end has only the tail left to wait for. */
	if (p->file_off + len - p->writeback_from >= WRITEBACK_STEP) {
		sync_file_range(p->fd, (off_t)p->writeback_from, (off_t)(p->file_off + len - p->writeback_from),
				SYNC_FILE_RANGE_WRITE);
		p->writeback_from = p->file_off + len;
	}
	return 0;
}

/* Write a compressed frame at the end of the file and record it. */
static int frame_out(struct pack *p, struct job *j, size_t usize)
{
	struct frame_info *f;

	if (j->failed)
		return pack_fail(p, "cannot compress a frame");
	if (p->nframes == p->capframes) {
		size_t cap = p->capframes ? p->capframes * 2 : 256;
		struct frame_info *grown = realloc(p->frames, cap * sizeof(*grown));
		if (!grown)
			return pack_fail(p, "%s", "out of memory");
		p->frames = grown;
		p->capframes = cap;
	}
	if (write_all(p, j->out, j->outlen) < 0)
		return -1;
	f = &p->frames[p->nframes++];
	f->offset = p->file_off;
	f->csize = j->outlen;
	f->usize = usize;
	SHA256(j->out, j->outlen, f->sha256);
	p->file_off += j->outlen;
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->raw);
	free(j->out);
	free(j);
}

/* Write the finished frames at the head of the queue (all when DRAIN). */
static int flush_done(struct pack *p, bool drain)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	while (p->ninflight && (drain || p->ninflight >= p->max_inflight || p->inflight[0]->done)) {
		struct job *j = p->inflight[0];
		size_t usize;
		while (!j->done)
			pthread_cond_wait(&p->cv_done, &p->mu);
		memmove(p->inflight, p->inflight + 1, (p->ninflight - 1) * sizeof(*p->inflight));
		p->ninflight--;
		p->next_pending--;
		pthread_mutex_unlock(&p->mu);
		usize = j->rawlen;
		if (!rc && frame_out(p, j, usize) < 0)
			rc = -1;
		job_free(j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Hand the current frame over for compression. */
static int submit(struct pack *p)
{
	struct job *j;

	if (p->curlen == 0)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return pack_fail(p, "%s", "out of memory");
	/* the first frame of an open entry: keep what precedes the entry */
	if (p->in_entry && p->nsubmitted == p->entry_frame && p->entry_off && !p->entry_prefix) {
		p->entry_prefix = malloc(p->entry_off);
		if (!p->entry_prefix) {
			free(j);
			return pack_fail(p, "%s", "out of memory");
		}
		memcpy(p->entry_prefix, p->cur, p->entry_off);
	}
	j->raw = p->cur;
	j->rawlen = p->curlen;
	p->cur = malloc(FRAME_MAX);
	p->curlen = 0;
	p->nsubmitted++;
	if (!p->cur) {
		job_free(j);
		return pack_fail(p, "%s", "out of memory");
	}
	if (p->nthreads == 0) {
		static _Thread_local ZSTD_CCtx *zc;
		if (p->comp == COMP_ZSTD && !zc)
			zc = zstd_cctx();
		j->failed = (p->comp == COMP_ZSTD && !zc) || compress_job(j, p->comp, p->level, zc) < 0;
		int rc = frame_out(p, j, j->rawlen);
		job_free(j);
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	p->inflight[p->ninflight++] = j;
	pthread_cond_signal(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	return flush_done(p, false);
}

/* libarchive's output: append to the current frame, cutting at FRAME_MAX. */
static la_ssize_t pack_sink(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct pack *p = arg;
	const unsigned char *in = buf;
	size_t left = len;
	(void)a;

	if (p->discarding)
		return -1; /* refused: libarchive gives up at once, pads nothing */
	while (left && !p->failed) {
		size_t n = FRAME_MAX - p->curlen < left ? FRAME_MAX - p->curlen : left;
		memcpy(p->cur + p->curlen, in, n);
		p->curlen += n;
		in += n;
		left -= n;
		if (p->curlen == FRAME_MAX && submit(p) < 0)
			break;
	}
	return p->failed ? -1 : (la_ssize_t)len;
}

/* A libarchive writer whose output goes to pack_sink(). */
static int start_tar(struct pack *p)
{
	p->a = archive_write_new();
	if (!p->a || archive_write_set_format_pax(p->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(p->a, 0) != ARCHIVE_OK ||
	    /* xattrs as SCHILY.xattr.* only: the form GNU tar reads too */
	    archive_write_set_format_option(p->a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_open2(p->a, p, NULL, pack_sink, NULL, NULL) != ARCHIVE_OK)
		return pack_fail(p, "cannot start the tar stream: %s", p->a ? archive_error_string(p->a) : "out of memory");
	return 0;
}

/* Drop a libarchive writer without letting it finish anything (a
 * half-written entry would be padded to its size with zeros): its output
 * is refused, so its close gives up at the first write and still frees
 * what it holds (archive_write_fail() would leak the output's state). */
static void drop_tar(struct pack *p)
{
	if (!p->a)
		return;
	p->discarding = true;
	archive_write_close(p->a);
	archive_write_free(p->a);
	p->discarding = false;
	p->a = NULL;
}

struct pack *pack_open(const char *path, enum compression comp, int level, int jobs, char *err, size_t errlen)
{
	struct pack *p = calloc(1, sizeof(*p));

	if (p)
		p->fd = -1;
	if (!p || !(p->path = strdup(path)) || !(p->cur = malloc(FRAME_MAX))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->comp = comp;
	p->level = level ? level : compression_default_level(comp, jobs);
	p->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); /* (read back when staged) */
	if (p->fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	p->nthreads = comp == COMP_NONE || jobs <= 1 ? 0 : jobs;
	p->max_inflight = 2 * (size_t)(p->nthreads ? p->nthreads : 1);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	if (p->nthreads) {
		p->inflight = calloc(p->max_inflight + 1, sizeof(*p->inflight));
		p->threads = calloc((size_t)p->nthreads, sizeof(*p->threads));
		if (!p->inflight || !p->threads) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (int i = 0; i < p->nthreads; i++)
			if (pthread_create(&p->threads[i], NULL, worker_main, p)) {
				p->nthreads = i;
				snprintf(err, errlen, "cannot start compression threads");
				goto fail;
			}
	}
	if (start_tar(p) < 0) {
		snprintf(err, errlen, "%s", p->err);
		goto fail;
	}
	return p;
fail:
	pack_free(p);
	return NULL;
}

int pack_begin_entry(struct pack *p, struct archive_entry *e, uint32_t *frame, uint64_t *offset)
{
	if (p->failed)
		return -1;
	*frame = p->nsubmitted;
	*offset = p->curlen;
	p->in_entry = true;
	p->entry_frame = p->nsubmitted;
	p->entry_off = p->curlen;
	free(p->entry_prefix);
	p->entry_prefix = NULL;
	/* ARCHIVE_WARN: a name that is not UTF-8 went in with hdrcharset=BINARY. */
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, "cannot write a tar header: %s", archive_error_string(p->a));
	return 0;
}

int pack_write(struct pack *p, const void *buf, size_t len)
{
	if (p->failed)
		return -1;
	if (archive_write_data(p->a, buf, len) < 0)
		return pack_fail(p, "cannot write tar data: %s", archive_error_string(p->a));
	return p->failed ? -1 : 0;
}

int pack_write_hole(struct pack *p, uint64_t len)
{
	if (p->failed)
		return -1;
	if (!p->zeros) {
		void *m = mmap(NULL, HOLE_MAP, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return pack_fail(p, "cannot map zeros for a hole: %s", strerror(errno));
		p->zeros = m;
	}
	while (len) {
		size_t n = len > HOLE_MAP ? HOLE_MAP : (size_t)len;
		la_ssize_t done = archive_write_data(p->a, p->zeros, n);
		if (done <= 0)
			return pack_fail(p, "cannot write tar data: %s", archive_error_string(p->a));
		len -= (uint64_t)done;
	}
	return p->failed ? -1 : 0;
}

int pack_abort_entry(struct pack *p)
{
	if (p->failed || !p->in_entry)
		return -1;
	drop_tar(p);
	if (p->nthreads && flush_done(p, true) < 0)
		return -1;
	if (p->nsubmitted > p->entry_frame) {
		/* the entry reached later frames: cut them off the file */
		if (p->entry_off && !p->entry_prefix)
			return pack_fail(p, "%s", "lost the start of an aborted entry");
		p->file_off = p->frames[p->entry_frame].offset;
		if (p->writeback_from > p->file_off)
			p->writeback_from = p->file_off;
		p->nframes = p->entry_frame;
		p->nsubmitted = p->entry_frame;
		if (ftruncate(p->fd, (off_t)p->file_off) < 0)
			return pack_fail(p, "cannot truncate archive: %s", strerror(errno));
		if (p->entry_off)
			memcpy(p->cur, p->entry_prefix, p->entry_off);
	}
	p->curlen = p->entry_off;
	p->in_entry = false;
	free(p->entry_prefix);
	p->entry_prefix = NULL;
	return start_tar(p);
}

int pack_end_entry(struct pack *p)
{
	p->in_entry = false;
	free(p->entry_prefix);
	p->entry_prefix = NULL;
	if (p->failed)
		return -1;
	if (archive_write_finish_entry(p->a) != ARCHIVE_OK)
		return pack_fail(p, "cannot finish a tar entry: %s", archive_error_string(p->a));
	return p->failed ? -1 : 0;
}

int pack_close(struct pack *p)
{
	if (!p->failed && archive_write_close(p->a) != ARCHIVE_OK)
		pack_fail(p, "cannot finish the tar stream: %s", archive_error_string(p->a));
	if (!p->failed)
		submit(p);
	if (p->nthreads)
		flush_done(p, true);
	if (!p->failed && !p->staging && fsync(p->fd) < 0)
		pack_fail(p, "cannot flush archive: %s", strerror(errno));
	if (p->failed)
		return -1;
	p->closed_ok = true;
	return 0;
}

const struct frame_info *pack_frames(const struct pack *p, size_t *count)
{
	*count = p->nframes;
	return p->frames;
}

void pack_set_staging(struct pack *p)
{
	p->staging = true;
}

int pack_fd(const struct pack *p)
{
	return p->fd;
}

uint64_t pack_size(const struct pack *p)
{
	return p->file_off;
}

const char *pack_error(const struct pack *p)
{
	return p->err;
}

void pack_free(struct pack *p)
{
	if (!p)
		return;
	if (!p->closed_ok)
		p->failed = true; /* the sink takes nothing more */
	if (p->closed_ok)
		archive_write_free(p->a);
	else
		drop_tar(p);
	if (p->threads) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		for (int i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
	}
	for (size_t i = 0; i < p->ninflight; i++)
		job_free(p->inflight[i]);
	if (p->fd >= 0) {
		close(p->fd);
		if (!p->closed_ok)
			unlink(p->path);
	}
	free(p->inflight);
	free(p->threads);
	free(p->frames);
	free(p->entry_prefix);
	if (p->zeros)
		munmap((void *)p->zeros, HOLE_MAP);
	free(p->cur);
	free(p->path);
	free(p);
}
