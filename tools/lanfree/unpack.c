/* unpack.c --- read entries of a framed archive: by seeking to an entry's
 * frame, or reading on from the last one
 *
 * Decompression starts at the frame the entry begins in (zstd and gzip
 * both continue across frame boundaries), the bytes before the entry are
 * skipped, and libarchive parses the entry from there: pax headers,
 * xattrs and sparse maps as any tar reader would.  An unpacker keeps its
 * reader open, so that entries read in archive order cost one pass.
 */
#include "lanfree.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define INBUF (128u << 10)
#define OUTBUF (256u << 10)

struct source {
	struct archfile *f;
	uint64_t pos; /* where the next read of F starts */
	enum compression comp;
	ZSTD_DStream *zd;
	z_stream zs;
	bool zs_ready;
	unsigned char *in, *out;
	size_t in_pos, in_len;
	uint64_t skip;
	bool eof;
	char err[160];
};

static int refill(struct source *s)
{
	ssize_t n;

	if (s->in_pos < s->in_len || s->eof)
		return 0;
	n = archfile_pread(s->f, s->in, INBUF, s->pos, s->err, sizeof(s->err));
	if (n < 0)
		return -1;
	s->pos += (uint64_t)n;
	s->in_pos = 0;
	s->in_len = (size_t)n;
	s->eof = n == 0;
	return 0;
}

/* Up to OUTBUF decompressed bytes into s->out; 0 at the end. */
static ssize_t produce(struct source *s)
{
	if (refill(s) < 0)
		return -1;
	if (s->comp == COMP_NONE) {
		size_t n = s->in_len - s->in_pos;
		memcpy(s->out, s->in + s->in_pos, n);
		s->in_pos = s->in_len;
		return (ssize_t)n;
	}
	while (!(s->eof && s->in_pos == s->in_len)) {
		size_t made;
		if (s->comp == COMP_ZSTD) {
			ZSTD_inBuffer zin = { s->in, s->in_len, s->in_pos };
			ZSTD_outBuffer zout = { s->out, OUTBUF, 0 };
			size_t r = ZSTD_decompressStream(s->zd, &zout, &zin);
			if (ZSTD_isError(r)) {
				snprintf(s->err, sizeof(s->err), "zstd: %s", ZSTD_getErrorName(r));
				return -1;
			}
			s->in_pos = zin.pos;
			made = zout.pos;
		} else {
			int r;
			s->zs.next_in = s->in + s->in_pos;
			s->zs.avail_in = (uInt)(s->in_len - s->in_pos);
			s->zs.next_out = s->out;
			s->zs.avail_out = OUTBUF;
			r = inflate(&s->zs, Z_NO_FLUSH);
			s->in_pos = s->in_len - s->zs.avail_in;
			made = OUTBUF - s->zs.avail_out;
			if (r == Z_STREAM_END)
				inflateReset(&s->zs); /* the next gzip member */
			else if (r != Z_OK && r != Z_BUF_ERROR) {
				snprintf(s->err, sizeof(s->err), "gzip: %s", s->zs.msg ? s->zs.msg : "corrupt data");
				return -1;
			}
		}
		if (made)
			return (ssize_t)made;
		if (refill(s) < 0)
			return -1;
	}
	return 0;
}

static la_ssize_t source_read(struct archive *a, void *arg, const void **buf)
{
	struct source *s = arg;

	for (;;) {
		ssize_t n = produce(s);
		if (n < 0) {
			archive_set_error(a, EIO, "%s", s->err);
			return -1;
		}
		if (n == 0 || (uint64_t)n > s->skip) {
			*buf = s->out + s->skip;
			n -= n ? (ssize_t)s->skip : 0;
			s->skip = 0;
			return n;
		}
		s->skip -= (uint64_t)n;
	}
}

/* A reader kept open between entries: the next entry of the same archive
 * at most CONTINUE_MAX bytes further on is reached by reading on (what
 * lies between is decompressed and skipped), not by starting again at its
 * frame.  A whole restore, in archive order, reads each archive once. */
#define CONTINUE_MAX (4u << 20)
/* The last entry read, when it is no larger than this, is kept: files with
 * the same content (stored once) follow each other in archive order. */
#define KEEP_MAX (1u << 20)

struct kept_block {
	uint64_t offset; /* in the file */
	size_t at, len;  /* in kept */
};

struct unpacker {
	struct source s;
	struct archive *a;
	char *path;
	uint64_t base; /* position in the archive's tar stream of libarchive's 0 */
	uint64_t last; /* position of the last header read */
	/* the last entry read, whole: at KEPT_AT of the archive at PATH (a
	 * reader opened elsewhere, or closed, has dropped it first) */
	unsigned char *kept;
	size_t kept_len;
	struct kept_block *blocks;
	size_t nblocks, capblocks;
	struct unpack_info kept_info;
	uint64_t kept_at;
	bool kept_ok;
};

static void keep_block(struct unpacker *u, const void *buf, size_t len, uint64_t offset)
{
	if (!u->kept_ok)
		return;
	if (u->nblocks == u->capblocks) {
		size_t cap = u->capblocks ? 2 * u->capblocks : 16;
		struct kept_block *grown = realloc(u->blocks, cap * sizeof(*grown));
		if (!grown) {
			u->kept_ok = false;
			return;
		}
		u->blocks = grown;
		u->capblocks = cap;
	}
	if (u->kept_len + len > KEEP_MAX) {
		u->kept_ok = false;
		return;
	}
	memcpy(u->kept + u->kept_len, buf, len);
	u->blocks[u->nblocks++] = (struct kept_block){ offset, u->kept_len, len };
	u->kept_len += len;
}

static void reader_close(struct unpacker *u)
{
	if (u->a)
		archive_read_free(u->a);
	u->a = NULL;
	archfile_close(u->s.f);
	u->s.f = NULL;
	free(u->path);
	u->path = NULL;
}

struct unpacker *unpacker_new(void)
{
	struct unpacker *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->s.in = malloc(INBUF);
	u->s.out = malloc(OUTBUF);
	u->kept = malloc(KEEP_MAX);
	if (!u->s.in || !u->s.out || !u->kept) {
		unpacker_free(u);
		return NULL;
	}
	return u;
}

void unpacker_free(struct unpacker *u)
{
	if (!u)
		return;
	reader_close(u);
	if (u->s.zd)
		ZSTD_freeDStream(u->s.zd);
	if (u->s.zs_ready)
		inflateEnd(&u->s.zs);
	free(u->s.in);
	free(u->s.out);
	free(u->kept);
	free(u->blocks);
	free(u);
}

/* Start reading PATH at the frame at FRAME_OFF, OFFSET bytes into it. */
static int reader_open(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off,
		       uint64_t offset, char *err, size_t errlen)
{
	struct source *s = &u->s;

	reader_close(u);
	s->comp = comp;
	s->skip = offset;
	s->in_pos = s->in_len = 0;
	s->eof = false;
	s->err[0] = '\0';
	if (!(u->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(s->f = archfile_open(path, err, errlen))) {
		reader_close(u);
		return -1;
	}
	s->pos = frame_off;
	if (comp == COMP_ZSTD) {
		if (!s->zd && !(s->zd = ZSTD_createDStream())) {
			snprintf(err, errlen, "out of memory");
			reader_close(u);
			return -1;
		}
		ZSTD_DCtx_reset(s->zd, ZSTD_reset_session_only);
	}
	if (comp == COMP_GZIP) {
		if (s->zs_ready)
			inflateReset(&s->zs);
		else if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {
			snprintf(err, errlen, "out of memory");
			reader_close(u);
			return -1;
		}
		s->zs_ready = true;
	}
	u->a = archive_read_new();
	if (!u->a || archive_read_support_format_tar(u->a) != ARCHIVE_OK ||
	    archive_read_open(u->a, s, NULL, source_read, NULL) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: %s", path, u->a ? archive_error_string(u->a) : "out of memory");
		reader_close(u);
		return -1;
	}
	return 0;
}

/* The header of the entry at TARGET: on from the open reader when it
 * can, else from the entry's frame.  1 found, 0 not there, -1 error. */
static int reach(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off, uint64_t frame_upos,
		 uint64_t offset, uint64_t size, struct archive_entry **e, char *err, size_t errlen)
{
	uint64_t target = frame_upos + offset;
	bool fresh = !(u->a && !strcmp(u->path, path) && comp == u->s.comp && target > u->last &&
		       target - u->last <= CONTINUE_MAX);

	for (;;) {
		if (fresh) {
			if (reader_open(u, path, comp, frame_off, offset, err, errlen) < 0)
				return -1;
			u->base = target;
		}
		for (;;) {
			int r = archive_read_next_header(u->a, e);
			uint64_t at = u->base + (uint64_t)archive_read_header_position(u->a);
			if (r != ARCHIVE_OK) {
				snprintf(err, errlen, "%s: no tar entry at frame offset %llu + %llu: %s", path,
					 (unsigned long long)frame_off, (unsigned long long)offset,
					 archive_error_string(u->a));
				break;
			}
			u->last = at;
			if (at == target && (fresh || size == UNPACK_SIZE_UNKNOWN || archive_entry_size(*e) < 0 ||
					     (uint64_t)archive_entry_size(*e) == size))
				return 1;
			if (at == target) { /* another entry where the catalog's frame sizes led */
				snprintf(err, errlen, "%s: not the entry at frame offset %llu + %llu", path,
					 (unsigned long long)frame_off, (unsigned long long)offset);
				break;
			}
			if (at > target || fresh) {
				snprintf(err, errlen, "%s: no tar entry at frame offset %llu + %llu", path,
					 (unsigned long long)frame_off, (unsigned long long)offset);
				break;
			}
		}
		if (fresh) {
			reader_close(u);
			return 0;
		}
		fresh = true; /* not where reading on led: from its frame, once */
	}
}

int unpacker_begin(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off,
		   uint64_t frame_upos, uint64_t offset, uint64_t size, struct unpack_info *info,
		   struct content_runs *map, char *err, size_t errlen)
{
	struct archive_entry *e;
	la_int64_t run_off, run_len;

	u->kept_ok = false; /* the reader moves on: what was kept is not its last entry any more */
	if (reach(u, path, comp, frame_off, frame_upos, offset, size, &e, err, errlen) <= 0)
		return -1;
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) < 0) {
		snprintf(err, errlen, "%s: the entry at frame offset %llu + %llu is not a regular file", path,
			 (unsigned long long)frame_off, (unsigned long long)offset);
		reader_close(u);
		return -1;
	}
	info->size = (uint64_t)archive_entry_size(e);
	info->sparse = archive_entry_sparse_count(e) > 0;
	if (map && info->sparse) {
		archive_entry_sparse_reset(e);
		while (archive_entry_sparse_next(e, &run_off, &run_len) == ARCHIVE_OK) {
			/* the map is input: in order, inside the entry, or the archive is damaged */
			if (run_off < 0 || run_len < 0 || (uint64_t)run_off > info->size ||
			    (uint64_t)run_len > info->size - (uint64_t)run_off ||
			    (map->n && (uint64_t)run_off < map->run[map->n - 1].offset + map->run[map->n - 1].length)) {
				snprintf(err, errlen, "%s: the entry at frame offset %llu + %llu has an impossible sparse map",
					 path, (unsigned long long)frame_off, (unsigned long long)offset);
				reader_close(u);
				return -1;
			}
			if (run_len && content_runs_append(map, (uint64_t)run_off, (uint64_t)run_len) < 0) {
				snprintf(err, errlen, "out of memory");
				reader_close(u);
				return -1;
			}
		}
	}
	return 0;
}

int unpacker_next(struct unpacker *u, const void **buf, size_t *len, uint64_t *offset, char *err, size_t errlen)
{
	la_int64_t off;
	int r;

	if (!u->a) {
		snprintf(err, errlen, "no entry is being read");
		return -1;
	}
	do
		r = archive_read_data_block(u->a, buf, len, &off);
	while (r == ARCHIVE_OK && *len == 0);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK || off < 0) {
		snprintf(err, errlen, "%s: %s", u->path, r != ARCHIVE_OK ? archive_error_string(u->a) : "negative offset");
		reader_close(u);
		return -1;
	}
	*offset = (uint64_t)off;
	return 1;
}

int unpacker_entry(struct unpacker *u, const char *path, enum compression comp, uint64_t frame_off,
		   uint64_t frame_upos, uint64_t offset, uint64_t size, unpack_block_fn cb, void *arg,
		   struct unpack_info *info, char *err, size_t errlen)
{
	if (u->kept_ok && u->kept_at == frame_upos + offset && u->path && !strcmp(u->path, path)) {
		/* the entry read last, again: from memory */
		*info = u->kept_info;
		for (size_t i = 0; i < u->nblocks; i++)
			if (cb(u->kept + u->blocks[i].at, u->blocks[i].len, u->blocks[i].offset, arg)) {
				snprintf(err, errlen, "cannot write the restored data");
				return -1;
			}
		return 0;
	}
	if (unpacker_begin(u, path, comp, frame_off, frame_upos, offset, size, info, NULL, err, errlen) < 0)
		return -1;
	u->kept_ok = info->size <= KEEP_MAX;
	u->kept_len = u->nblocks = 0;
	for (;;) {
		const void *buf;
		size_t len;
		uint64_t off;
		int r = unpacker_next(u, &buf, &len, &off, err, errlen);
		if (r == 0) {
			u->kept_info = *info;
			u->kept_at = frame_upos + offset;
			return 0;
		}
		if (r < 0) {
			u->kept_ok = false;
			return -1;
		}
		keep_block(u, buf, len, off);
		if (cb(buf, len, off, arg)) {
			snprintf(err, errlen, "cannot write the restored data");
			u->kept_ok = false;
			reader_close(u);
			return -1;
		}
	}
}

int unpack_entry(const char *path, enum compression comp, uint64_t frame_off, uint64_t offset, unpack_block_fn cb,
		 void *arg, struct unpack_info *info, char *err, size_t errlen)
{
	struct unpacker *u = unpacker_new();
	int rc;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = unpacker_entry(u, path, comp, frame_off, 0, offset, UNPACK_SIZE_UNKNOWN, cb, arg, info, err, errlen);
	unpacker_free(u);
	return rc;
}
