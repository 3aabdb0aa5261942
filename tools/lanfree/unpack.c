/* unpack.c --- read one entry of a framed archive by seeking to its frame
 *
 * Decompression starts at the frame the entry begins in (zstd and gzip
 * both continue across frame boundaries), the bytes before the entry are
 * skipped, and libarchive parses the entry from there: pax headers,
 * xattrs and sparse maps as any tar reader would.
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
	int fd;
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
	do
		n = read(s->fd, s->in, INBUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(s->err, sizeof(s->err), "read error: %s", strerror(errno));
		return -1;
	}
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

int unpack_entry(const char *path, enum compression comp, uint64_t frame_off, uint64_t offset, unpack_block_fn cb,
		 void *arg, struct unpack_info *info, char *err, size_t errlen)
{
	struct source s = { .fd = -1, .comp = comp, .skip = offset };
	struct archive *a = NULL;
	struct archive_entry *e;
	int rc = -1, r;

	s.in = malloc(INBUF);
	s.out = malloc(OUTBUF);
	if (!s.in || !s.out) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0 || lseek(s.fd, (off_t)frame_off, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (comp == COMP_ZSTD && !(s.zd = ZSTD_createDStream())) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (comp == COMP_GZIP) {
		if (inflateInit2(&s.zs, 15 + 16) != Z_OK) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		s.zs_ready = true;
	}
	a = archive_read_new();
	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open(a, &s, NULL, source_read, NULL) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: %s", path, a ? archive_error_string(a) : "out of memory");
		goto out;
	}
	if (archive_read_next_header(a, &e) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s: no tar entry at frame offset %llu + %llu: %s", path,
			 (unsigned long long)frame_off, (unsigned long long)offset, archive_error_string(a));
		goto out;
	}
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) < 0) {
		snprintf(err, errlen, "%s: the entry at frame offset %llu + %llu is not a regular file", path,
			 (unsigned long long)frame_off, (unsigned long long)offset);
		goto out;
	}
	info->size = (uint64_t)archive_entry_size(e);
	info->sparse = archive_entry_sparse_count(e) > 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			snprintf(err, errlen, "%s: %s", path, archive_error_string(a));
			goto out;
		}
		if (len && cb(buf, len, (uint64_t)off, arg)) {
			snprintf(err, errlen, "cannot write the restored data");
			goto out;
		}
	}
	rc = 0;
out:
	if (a)
		archive_read_free(a);
	if (s.zd)
		ZSTD_freeDStream(s.zd);
	if (s.zs_ready)
		inflateEnd(&s.zs);
	if (s.fd >= 0)
		close(s.fd);
	free(s.in);
	free(s.out);
	return rc;
}
