/* copy.c --- the copy engine: used blocks only, sparse, reflinked where possible
 *
 * A reader thread fills large buffers from the source while the calling
 * thread hashes them, drops all-zero blocks (on a new sparse file) and
 * writes the rest, starting write-back early so that the final fsync is
 * short.  Where the target file sits on the source's filesystem and that
 * filesystem can share extents (btrfs, XFS with reflink), the used ranges
 * are cloned with FICLONERANGE instead and nothing is copied.
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (8u << 20) /* bytes per read */
#define NBUF 4           /* buffers in flight */

/* One target of a run; a run writes every target from one read of the source. */
struct copy_target {
	char *path;
	unsigned flags;
	struct imgfmt_target t;
	uint64_t flushed;     /* bytes whose write-back has been started */
	bool copying;         /* written from the pipeline (not reflinked) */
	const char *method;
	char error[IMGFMT_ERRLEN];
};

struct imgfmt_copy {
	imgfmt_disk *src;
	int volume;
	uint64_t base, length; /* the source window copied to target offset 0 */
	struct copy_target *targets;
	size_t ntargets;
	imgfmt_finish_fn finish;
	void *finish_arg;
	bool checksum;
	imgfmt_progress_fn progress;
	void *progress_arg;
	imgfmt_extents *map;   /* used ranges of the last run, absolute on the source */
	struct imgfmt_copy_stats stats;
	char digest[65];
	char error[IMGFMT_ERRLEN];
};

imgfmt_copy *imgfmt_copy_new(void)
{
	imgfmt_copy *c = calloc(1, sizeof(*c));

	if (c)
		c->volume = -1;
	return c;
}

void imgfmt_copy_free(imgfmt_copy *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ntargets; i++)
		free(c->targets[i].path);
	free(c->targets);
	imgfmt_extents_free(c->map);
	free(c);
}

const char *imgfmt_copy_error(const imgfmt_copy *c)
{
	return c->error;
}

int imgfmt_copy_set_source(imgfmt_copy *c, imgfmt_disk *source, int volume)
{
	if (source->fd < 0)
		return imgfmt_fail(c->error, -EBADF, "source disk is not open");
	if (volume >= 0 && (size_t)volume >= source->nvolumes)
		return imgfmt_fail(c->error, -EINVAL, "no volume number %d", volume);
	if (volume >= 0 && source->volumes[volume].container)
		return imgfmt_fail(c->error, -EINVAL, "%s is an extended partition", source->volumes[volume].name);
	if (volume >= 0 && !imgfmt_volume_contiguous(source, (size_t)volume))
		return imgfmt_fail(c->error, -ENOTSUP,
				   "%s is a logical volume in several runs on the disk: copy the disk, or its physical volume",
				   source->volumes[volume].name);
	c->src = source;
	c->volume = volume;
	c->base = volume >= 0 ? source->volumes[volume].offset : 0;
	c->length = volume >= 0 ? source->volumes[volume].size : source->size;
	return 0;
}

int imgfmt_copy_add_target(imgfmt_copy *c, const char *path, unsigned flags)
{
	struct copy_target *grown;
	char *dup = strdup(path);

	if (!dup || !(grown = realloc(c->targets, (c->ntargets + 1) * sizeof(*grown)))) {
		free(dup);
		return imgfmt_fail(c->error, -ENOMEM, "out of memory");
	}
	c->targets = grown;
	memset(&c->targets[c->ntargets], 0, sizeof(c->targets[0]));
	c->targets[c->ntargets].path = dup;
	c->targets[c->ntargets].flags = flags;
	c->targets[c->ntargets].t.fd = -1;
	c->ntargets++;
	return 0;
}

int imgfmt_copy_set_target(imgfmt_copy *c, const char *path, unsigned flags)
{
	for (size_t i = 0; i < c->ntargets; i++)
		free(c->targets[i].path);
	c->ntargets = 0;
	return imgfmt_copy_add_target(c, path, flags);
}

void imgfmt_copy_set_finish(imgfmt_copy *c, imgfmt_finish_fn fn, void *arg)
{
	c->finish = fn;
	c->finish_arg = arg;
}

size_t imgfmt_copy_target_count(const imgfmt_copy *c)
{
	return c->ntargets;
}

const char *imgfmt_copy_target_error(const imgfmt_copy *c, size_t index)
{
	return index < c->ntargets ? c->targets[index].error : "no such target";
}

const char *imgfmt_copy_target_method(const imgfmt_copy *c, size_t index)
{
	return index < c->ntargets && c->targets[index].method ? c->targets[index].method : "";
}

void imgfmt_copy_set_checksum(imgfmt_copy *c, int enable)
{
	c->checksum = enable != 0;
}

void imgfmt_copy_set_progress(imgfmt_copy *c, imgfmt_progress_fn cb, void *arg)
{
	c->progress = cb;
	c->progress_arg = arg;
}

void imgfmt_copy_get_stats(const imgfmt_copy *c, struct imgfmt_copy_stats *st)
{
	*st = c->stats;
}

const char *imgfmt_copy_checksum(const imgfmt_copy *c)
{
	return c->digest;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- checksum: SHA-256 over (target offset, length, data) per piece ---- */

static EVP_MD_CTX *hash_new(void)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();

	if (h && !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h);
		h = NULL;
	}
	return h;
}

static void hash_piece(EVP_MD_CTX *h, uint64_t off, const void *data, size_t len)
{
	unsigned char head[16];

	for (int i = 0; i < 8; i++) {
		head[i] = (unsigned char)(off >> (8 * i));
		head[8 + i] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	EVP_DigestUpdate(h, head, sizeof(head));
	EVP_DigestUpdate(h, data, len);
}

static void hash_finish(EVP_MD_CTX *h, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h, md, &n);
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(h);
}

/* ---- the reader thread and its queue ---- */

struct piece {
	uint64_t off; /* on the source */
	size_t len;
	char *buf;
};

struct pipeline {
	imgfmt_copy *c;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *free_bufs[NBUF];
	unsigned nfree;
	struct piece filled[NBUF];
	unsigned head, count;
	bool done, stop;
	int read_rc;
};

static void *reader_main(void *arg)
{
	struct pipeline *p = arg;
	const imgfmt_extents *map = p->c->map;
	int rc = 0;

	for (size_t i = 0; i < imgfmt_extents_count(map) && !rc; i++) {
		uint64_t off, len;
		imgfmt_extents_get(map, i, &off, &len);
		while (len && !rc) {
			struct piece pc = { off, len > CHUNK ? CHUNK : (size_t)len, NULL };
			pthread_mutex_lock(&p->mu);
			while (!p->nfree && !p->stop)
				pthread_cond_wait(&p->cv, &p->mu);
			if (p->stop) {
				pthread_mutex_unlock(&p->mu);
				rc = -ECANCELED;
				break;
			}
			pc.buf = p->free_bufs[--p->nfree];
			pthread_mutex_unlock(&p->mu);
			rc = imgfmt_disk_pread(p->c->src, pc.buf, pc.len, pc.off);
			pthread_mutex_lock(&p->mu);
			if (rc < 0) {
				p->free_bufs[p->nfree++] = pc.buf;
			} else {
				p->filled[(p->head + p->count++) % NBUF] = pc;
				pthread_cond_broadcast(&p->cv);
			}
			pthread_mutex_unlock(&p->mu);
			off += pc.len;
			len -= pc.len;
		}
	}
	pthread_mutex_lock(&p->mu);
	p->done = true;
	p->read_rc = rc == -ECANCELED ? 0 : rc;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Write one piece (on a fresh sparse file, only its non-zero blocks). */
static int write_piece(imgfmt_copy *c, struct imgfmt_target *t, const struct piece *pc)
{
	int rc = imgfmt_target_write(t, pc->buf, pc->len, pc->off - c->base, &c->stats.written_bytes,
				     &c->stats.zero_bytes);

	return rc < 0 ? imgfmt_fail(c->error, rc, "%s", t->error) : rc;
}

static int copy_data(imgfmt_copy *c, EVP_MD_CTX *hash)
{
	struct pipeline p = { .c = c };
	uint64_t total = imgfmt_extents_bytes(c->map), last_report = 0;
	pthread_t reader;
	int rc = 0;

	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	for (unsigned i = 0; i < NBUF; i++) {
		if (posix_memalign((void **)&p.free_bufs[i], 4096, CHUNK)) {
			rc = imgfmt_fail(c->error, -ENOMEM, "out of memory");
			break;
		}
		p.nfree++;
	}
	posix_fadvise(c->src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!rc && pthread_create(&reader, NULL, reader_main, &p))
		rc = imgfmt_fail(c->error, -EAGAIN, "cannot start the reader thread");
	if (rc) {
		for (unsigned i = 0; i < p.nfree; i++)
			free(p.free_bufs[i]);
		return rc;
	}
	for (;;) {
		struct piece pc;
		pthread_mutex_lock(&p.mu);
		while (!p.count && !p.done)
			pthread_cond_wait(&p.cv, &p.mu);
		if (!p.count) {
			pthread_mutex_unlock(&p.mu);
			break;
		}
		pc = p.filled[p.head];
		p.head = (p.head + 1) % NBUF;
		p.count--;
		pthread_mutex_unlock(&p.mu);
		if (!rc) {
			c->stats.read_bytes += pc.len;
			if (hash)
				hash_piece(hash, pc.off - c->base, pc.buf, pc.len);
			for (size_t i = 0; i < c->ntargets && !rc; i++) {
				struct copy_target *ct = &c->targets[i];
				if (!ct->copying)
					continue;
				rc = write_piece(c, &ct->t, &pc);
				if (rc < 0)
					snprintf(ct->error, sizeof(ct->error), "%s", c->error);
				/* Start write-back now rather than all at the final fsync. */
				if (!rc && !ct->t.blockdev && pc.off - c->base > ct->flushed + (64u << 20)) {
					sync_file_range(ct->t.fd, (off_t)ct->flushed,
							(off_t)(pc.off - c->base - ct->flushed), SYNC_FILE_RANGE_WRITE);
					ct->flushed = pc.off - c->base;
				}
			}
			if (c->progress && c->stats.read_bytes - last_report >= (32u << 20)) {
				c->progress(c->stats.read_bytes, total, c->progress_arg);
				last_report = c->stats.read_bytes;
			}
		}
		pthread_mutex_lock(&p.mu);
		p.free_bufs[p.nfree++] = pc.buf;
		if (rc)
			p.stop = true;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
	}
	pthread_join(reader, NULL);
	if (!rc && p.read_rc)
		rc = imgfmt_fail(c->error, p.read_rc, "%s", imgfmt_disk_error(c->src));
	for (unsigned i = 0; i < p.nfree; i++)
		free(p.free_bufs[i]);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (!rc && c->progress)
		c->progress(total, total, c->progress_arg);
	return rc;
}

/* ---- reflink ---- */

/* Clone every used range, widened to the target's block size.  Returns 1
 * when the filesystem cannot share extents (nothing was changed), 0 when
 * done, < 0 on a real failure. */
static int copy_reflink(imgfmt_copy *c, struct copy_target *ct)
{
	struct imgfmt_target *t = &ct->t;
	struct stat src;
	uint64_t bs = t->block_size;

	if ((ct->flags & IMGFMT_TARGET_NO_REFLINK) || !t->fresh || c->src->blockdev ||
	    fstat(c->src->fd, &src) < 0 || src.st_dev != t->fs_dev || c->base % bs ||
	    ((c->base + c->length) % bs && c->base + c->length != (uint64_t)src.st_size))
		return 1; /* (a window that ends off a block boundary short of EOF cannot be cloned) */
	/* A whole disk: one FICLONE shares every extent at once (free blocks
	 * that still hold data are shared too, at no cost in space). */
	if (c->volume < 0 && ioctl(t->fd, FICLONE, c->src->fd) == 0) {
		c->stats.cloned_bytes += imgfmt_extents_bytes(c->map);
		return 0;
	}
	for (size_t i = 0; i < imgfmt_extents_count(c->map); i++) {
		struct file_clone_range r;
		uint64_t off, len, end;
		imgfmt_extents_get(c->map, i, &off, &len);
		end = off + len;
		off -= off % bs;
		end = end % bs ? end + bs - end % bs : end;
		if (end > c->base + c->length)
			end = c->base + c->length;
		r = (struct file_clone_range){ .src_fd = c->src->fd,
					       .src_offset = off,
					       .src_length = end - off,
					       .dest_offset = off - c->base };
		if (ioctl(t->fd, FICLONERANGE, &r) < 0) {
			int e = errno;
			if (i == 0 && (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY || e == EPERM))
				return 1;
			return imgfmt_fail(c->error, -e, "cannot share extents at byte %llu: %s",
					   (unsigned long long)off, strerror(e));
		}
		c->stats.cloned_bytes += end - off;
	}
	return 0;
}

/* Hash the used ranges as read from FD at (source offset - READ_SHIFT),
 * or from the source disk itself when FD is -1 (an RBD disk has no fd to
 * read), framed by target offset as copy_data() does. */
static int hash_ranges(imgfmt_copy *c, int fd, uint64_t read_shift, char hex[65])
{
	EVP_MD_CTX *h = hash_new();
	char *buf = malloc(CHUNK);
	int rc = 0;

	if (!h || !buf) {
		rc = imgfmt_fail(c->error, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < imgfmt_extents_count(c->map) && !rc; i++) {
		uint64_t off, len;
		imgfmt_extents_get(c->map, i, &off, &len);
		while (len && !rc) {
			size_t n = len > CHUNK ? CHUNK : (size_t)len, got = 0;
			if (fd < 0 && (rc = imgfmt_disk_pread(c->src, buf, n, off)) < 0)
				rc = imgfmt_fail(c->error, rc, "%s", imgfmt_disk_error(c->src));
			while (fd >= 0 && got < n) {
				ssize_t r = pread(fd, buf + got, n - got, (off_t)(off - read_shift + got));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					rc = imgfmt_fail(c->error, -EIO, "read error at byte %llu: %s",
							 (unsigned long long)(off - read_shift + got),
							 r < 0 ? strerror(errno) : "end of file");
					break;
				}
				got += (size_t)r;
			}
			if (!rc)
				hash_piece(h, off - c->base, buf, n);
			off += n;
			len -= n;
		}
	}
out:
	free(buf);
	if (h && !rc) {
		hash_finish(h, hex);
		h = NULL;
	}
	EVP_MD_CTX_free(h);
	return rc;
}

/* Zero the ranges the filesystems use but the source image has as holes:
 * a block device keeps whatever was on it before. */
static int zero_holes(imgfmt_copy *c, struct imgfmt_target *t, const imgfmt_extents *fs_used)
{
	imgfmt_extents *holes = imgfmt_extents_new();
	int rc = 0;

	if (!holes)
		return imgfmt_fail(c->error, -ENOMEM, "out of memory");
	if (imgfmt_extents_subtract(fs_used, c->map, holes) < 0)
		rc = imgfmt_fail(c->error, -ENOMEM, "out of memory");
	for (size_t i = 0; i < imgfmt_extents_count(holes) && !rc; i++) {
		uint64_t range[2];
		imgfmt_extents_get(holes, i, &range[0], &range[1]);
		range[0] -= c->base;
		if (ioctl(t->fd, BLKZEROOUT, range) < 0)
			rc = imgfmt_fail(c->error, -errno, "cannot zero bytes %llu-%llu: %s",
					 (unsigned long long)range[0], (unsigned long long)(range[0] + range[1]),
					 strerror(errno));
	}
	imgfmt_extents_free(holes);
	return rc;
}

/* c->map = the source's used ranges; FS_USED (the filesystems' half, before
 * the image's own allocation is applied) is kept for the caller. */
static int copy_map(imgfmt_copy *c, imgfmt_extents *fs_used)
{
	imgfmt_extents *data = imgfmt_extents_new();
	int rc = -ENOMEM;

	if (data && (c->map || (c->map = imgfmt_extents_new())))
		rc = imgfmt_used_parts(c->src, c->volume, fs_used, data);
	if (rc == 0)
		rc = imgfmt_extents_intersect(fs_used, data, c->map);
	imgfmt_extents_free(data);
	if (rc < 0)
		imgfmt_fail(c->error, rc, "%s", rc == -ENOMEM ? "out of memory" : imgfmt_disk_error(c->src));
	return rc;
}

/* Every target's file opened (or device checked) before the first write
 * to any of them: one refusal stops the whole run. */
static int open_targets(imgfmt_copy *c)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		struct copy_target *ct = &c->targets[i];
		int rc = imgfmt_target_open(&ct->t, ct->path, ct->flags, c->src, c->length, c->stats.used_bytes);
		if (rc < 0) {
			snprintf(ct->error, sizeof(ct->error), "%s", ct->t.error);
			imgfmt_fail(c->error, rc, "%s%s%s", c->ntargets > 1 ? ct->path : "",
				    c->ntargets > 1 ? ": " : "", ct->error);
			for (size_t j = 0; j < c->ntargets; j++)
				if (j != i)
					snprintf(c->targets[j].error, sizeof(c->targets[j].error),
						 "not written: %s was refused", ct->path);
			return rc;
		}
	}
	return 0;
}

/* Reflink what can be, then copy the rest in one pass over the source. */
static int fill_targets(imgfmt_copy *c, imgfmt_extents *fs_used, EVP_MD_CTX **hash)
{
	size_t copying = 0;
	int rc = 0;

	for (size_t i = 0; i < c->ntargets && rc >= 0; i++) {
		struct copy_target *ct = &c->targets[i];
		ct->t.touched = true;
		rc = copy_reflink(c, ct);
		if (rc < 0)
			snprintf(ct->error, sizeof(ct->error), "%s", c->error);
		ct->copying = rc == 1;
		ct->method = rc == 1 ? "copy" : "reflink";
		copying += rc == 1;
	}
	if (rc < 0)
		return rc;
	c->stats.method = copying ? "copy" : "reflink";
	if (!copying && *hash) {
		EVP_MD_CTX_free(*hash);
		*hash = NULL;
		rc = hash_ranges(c, -1, 0, c->digest);
	} else if (copying) {
		rc = copy_data(c, *hash);
	}
	for (size_t i = 0; i < c->ntargets && rc == 0; i++)
		if (c->targets[i].copying && c->targets[i].t.blockdev && (rc = zero_holes(c, &c->targets[i].t, fs_used)) < 0)
			snprintf(c->targets[i].error, sizeof(c->targets[i].error), "%s", c->error);
	return rc;
}

/* A copy of a crash-consistent snapshot: the journal replay of each of its
 * ext3/ext4 volumes is written into the copy (never into the source), so
 * that the target ends clean with the journaled work in place. */
static int recover_target(imgfmt_copy *c, struct copy_target *ct, const char *path)
{
	imgfmt_disk *d = imgfmt_disk_new();
	int rc = d ? imgfmt_disk_open(d, path, IMGFMT_OPEN_WRITE) : -ENOMEM;

	if (rc == 0)
		rc = imgfmt_disk_recover(d);
	if (rc > 0)
		c->stats.replayed = (unsigned)rc;
	if (rc < 0)
		imgfmt_fail(ct->error, rc, "cannot write the journal replay into the copy: %s",
			    d ? imgfmt_disk_error(d) : "out of memory");
	imgfmt_disk_free(d);
	return rc < 0 ? rc : 0;
}

/* The journal replay, the caller's last word on a target (rawkit-clone
 * personalizes it), then the commit.  A block device is handed over
 * closed, so that the caller can open it O_EXCL in turn. */
static int finish_target(imgfmt_copy *c, struct copy_target *ct, size_t index)
{
	bool recover = c->src->replayed;
	int rc = 0;

	if (c->finish || recover) {
		if (ct->t.blockdev && ct->t.fd >= 0) {
			if (fsync(ct->t.fd) < 0)
				return imgfmt_fail(ct->error, -errno, "cannot flush to stable storage: %s",
						   strerror(errno));
			close(ct->t.fd);
			ct->t.fd = -1;
		}
	}
	if (recover)
		rc = recover_target(c, ct, ct->t.tmp ? ct->t.tmp : ct->path);
	if (c->finish && rc == 0) {
		rc = c->finish(index, ct->t.tmp ? ct->t.tmp : ct->path, ct->error, sizeof(ct->error), c->finish_arg);
		if (rc < 0 && !ct->error[0])
			snprintf(ct->error, sizeof(ct->error), "failed (%s)", strerror(-rc));
	}
	if (rc == 0 && (rc = imgfmt_target_commit(&ct->t)) < 0)
		snprintf(ct->error, sizeof(ct->error), "%s", ct->t.error);
	return rc;
}

int imgfmt_copy_run(imgfmt_copy *c)
{
	imgfmt_extents *fs_used = imgfmt_extents_new();
	EVP_MD_CTX *hash = NULL;
	double start = now();
	int rc;

	c->error[0] = c->digest[0] = '\0';
	memset(&c->stats, 0, sizeof(c->stats));
	for (size_t i = 0; i < c->ntargets; i++)
		c->targets[i].error[0] = '\0', c->targets[i].method = NULL, c->targets[i].flushed = 0;
	if (!c->src || !c->ntargets) {
		rc = imgfmt_fail(c->error, -EINVAL, "no %s set", c->src ? "target" : "source");
		goto out;
	}
	if (!fs_used) {
		rc = imgfmt_fail(c->error, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = copy_map(c, fs_used)) < 0)
		goto out;
	c->stats.source_bytes = c->length;
	c->stats.used_bytes = imgfmt_extents_bytes(c->map);
	if ((rc = open_targets(c)) < 0)
		goto out;
	if (c->checksum && !(hash = hash_new())) {
		rc = imgfmt_fail(c->error, -ENOMEM, "cannot set up SHA-256");
		goto out;
	}
	rc = fill_targets(c, fs_used, &hash);
	for (size_t i = 0; i < c->ntargets && rc == 0; i++) {
		int trc = finish_target(c, &c->targets[i], i);
		if (trc < 0) {
			imgfmt_target_abort(&c->targets[i].t);
			if (!c->error[0])
				imgfmt_fail(c->error, trc, "%s%s%s", c->ntargets > 1 ? c->targets[i].path : "",
					    c->ntargets > 1 ? ": " : "", c->targets[i].error);
		}
	}
	if (rc == 0 && c->error[0])
		rc = -EIO;
	if (rc == 0 && hash) {
		hash_finish(hash, c->digest);
		hash = NULL;
	}
out:
	for (size_t i = 0; i < c->ntargets; i++) {
		struct copy_target *ct = &c->targets[i];
		if (rc < 0 && !ct->error[0] && ct->t.path) /* (a committed target has no path left) */
			imgfmt_fail(ct->error, 0, "not written: %s", c->error);
		if (ct->t.path) /* not committed */
			imgfmt_target_abort(&ct->t);
	}
	EVP_MD_CTX_free(hash);
	imgfmt_extents_free(fs_used);
	c->stats.seconds = now() - start;
	return rc;
}

int imgfmt_copy_verify(imgfmt_copy *c, const char *path)
{
	char hex[65];
	int fd, rc;

	if (!c->src)
		return imgfmt_fail(c->error, -EINVAL, "no source set");
	/* Without a checksummed run, checksum the source's used ranges now. */
	if (!c->digest[0] || !c->map) {
		imgfmt_extents *fs_used = imgfmt_extents_new();
		rc = fs_used ? copy_map(c, fs_used) : imgfmt_fail(c->error, -ENOMEM, "out of memory");
		imgfmt_extents_free(fs_used);
		if (rc < 0)
			return rc;
		rc = hash_ranges(c, -1, 0, c->digest);
		if (rc < 0)
			return rc;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return imgfmt_fail(c->error, -errno, "cannot open %s: %s", path, strerror(errno));
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = hash_ranges(c, fd, c->base, hex);
	close(fd);
	if (rc == 0 && strcmp(hex, c->digest) != 0)
		rc = imgfmt_fail(c->error, -EILSEQ, "%s differs from the source in the copied ranges", path);
	return rc;
}
