/* stream.c --- rawkit-p2v send / receive: a disk's used blocks as a stream
 *
 * Format (all integers little-endian; documented in rawkit-p2v(1)):
 *   header, 64 bytes: "RAWKITP2", u32 version (1), u32 compression
 *     (1 zstd, 2 zlib), u64 disk size, u64 bytes to come, u32 sector size,
 *     u32 largest frame, 20 zero bytes, u32 CRC-32 of the 60 bytes before;
 *   frames, each a 32-byte head: u32 type ("DATA" or "END!"), u32 raw
 *     length, u32 stored length, u32 CRC-32 of the raw bytes, u64 disk
 *     offset (DATA), u32 zero, u32 CRC-32 of the 28 bytes before; then the
 *     stored bytes (DATA: one compressed frame of at most 1 MiB raw);
 *   the END! frame carries 32 raw bytes: u64 DATA frames, u64 raw bytes,
 *     u32 CRC-32 over every DATA frame's CRC, 12 zero bytes.
 * A receiver that sees a bad CRC, a frame outside the disk, or the end of
 * the input before END! stops, and the target is not created.
 */
#include "p2v.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define MAGIC "RAWKITP2"
#define VERSION 1
#define FRAME_RAW (1u << 20)
#define TYPE_DATA 0x41544144u /* "DATA" */
#define TYPE_END 0x21444e45u  /* "END!" */
#define HEADER_SIZE 64
#define HEAD_SIZE 32
#define END_SIZE 32

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc(const void *p, size_t len)
{
	return (uint32_t)crc32(0L, p, (uInt)len);
}

static int write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* LEN bytes, or fewer at the end of the input: returns how many were read. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void frame_head(unsigned char *h, uint32_t type, uint32_t raw, uint32_t stored, uint32_t data_crc,
		       uint64_t offset)
{
	memset(h, 0, HEAD_SIZE);
	put32(h, type);
	put32(h + 4, raw);
	put32(h + 8, stored);
	put32(h + 12, data_crc);
	put64(h + 16, offset);
	put32(h + 28, crc(h, 28));
}

static size_t compress_bound(int method, size_t len)
{
	return method == P2V_ZLIB ? (size_t)compressBound((uLong)len) : ZSTD_compressBound(len);
}

/* ---- send ---- */

struct sender {
	int fd, method;
	ZSTD_CCtx *zc;
	unsigned char *raw, *packed;
	uint64_t frames, bytes, sent;
	uint32_t crcs;
};

static int send_frame(struct sender *s, size_t len, uint64_t off, char *err, size_t errlen)
{
	unsigned char head[HEAD_SIZE];
	size_t stored = compress_bound(s->method, len);
	uint32_t data_crc = crc(s->raw, len);
	int rc;

	if (s->method == P2V_ZLIB) {
		uLongf n = (uLongf)stored;
		if (compress2(s->packed, &n, s->raw, (uLong)len, 1) != Z_OK) {
			snprintf(err, errlen, "zlib compression failed");
			return -EIO;
		}
		stored = n;
	} else {
		stored = ZSTD_compressCCtx(s->zc, s->packed, stored, s->raw, len, 3);
		if (ZSTD_isError(stored)) {
			snprintf(err, errlen, "zstd compression failed: %s", ZSTD_getErrorName(stored));
			return -EIO;
		}
	}
	frame_head(head, TYPE_DATA, (uint32_t)len, (uint32_t)stored, data_crc, off);
	if ((rc = write_all(s->fd, head, sizeof(head))) < 0 || (rc = write_all(s->fd, s->packed, stored)) < 0) {
		snprintf(err, errlen, "cannot write the stream: %s", strerror(-rc));
		return rc;
	}
	s->frames++;
	s->bytes += len;
	s->sent += sizeof(head) + stored;
	s->crcs = (uint32_t)crc32(s->crcs, (const unsigned char *)head + 12, 4);
	return 0;
}

int p2v_send(imgfmt_disk *disk, int fd, int method, struct p2v_stats *st, struct cli_progress *progress, char *err,
	     size_t errlen)
{
	struct sender s = { .fd = fd, .method = method };
	imgfmt_extents *map = NULL;
	unsigned char header[HEADER_SIZE] = { 0 }, end[HEAD_SIZE + END_SIZE];
	uint64_t total;
	int rc;

	if ((rc = imgfmt_disk_used(disk, -1, &map)) < 0) {
		snprintf(err, errlen, "cannot map the used blocks: %s", imgfmt_disk_error(disk));
		return rc;
	}
	total = imgfmt_extents_bytes(map);
	s.raw = malloc(FRAME_RAW);
	s.packed = malloc(compress_bound(method, FRAME_RAW));
	s.zc = method == P2V_ZSTD ? ZSTD_createCCtx() : NULL;
	if (!s.raw || !s.packed || (method == P2V_ZSTD && !s.zc)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	memcpy(header, MAGIC, 8);
	put32(header + 8, VERSION);
	put32(header + 12, (uint32_t)method);
	put64(header + 16, imgfmt_disk_size(disk));
	put64(header + 24, total);
	put32(header + 32, 512);
	put32(header + 36, FRAME_RAW);
	put32(header + 60, crc(header, 60));
	if ((rc = write_all(fd, header, sizeof(header))) < 0) {
		snprintf(err, errlen, "cannot write the stream: %s", strerror(-rc));
		goto out;
	}
	s.sent = sizeof(header);
	for (size_t i = 0; i < imgfmt_extents_count(map) && rc == 0; i++) {
		uint64_t off, len;
		imgfmt_extents_get(map, i, &off, &len);
		while (len && rc == 0) {
			size_t n = len > FRAME_RAW ? FRAME_RAW : (size_t)len;
			if ((rc = imgfmt_disk_pread(disk, s.raw, n, off)) < 0)
				snprintf(err, errlen, "%s", imgfmt_disk_error(disk));
			else
				rc = send_frame(&s, n, off, err, errlen);
			off += n;
			len -= n;
			cli_progress_update(progress, s.bytes, total);
		}
	}
	if (rc == 0) {
		unsigned char *body = end + HEAD_SIZE;
		memset(body, 0, END_SIZE);
		put64(body, s.frames);
		put64(body + 8, s.bytes);
		put32(body + 16, s.crcs);
		frame_head(end, TYPE_END, END_SIZE, END_SIZE, crc(body, END_SIZE), 0);
		if ((rc = write_all(fd, end, sizeof(end))) < 0)
			snprintf(err, errlen, "cannot write the stream: %s", strerror(-rc));
		s.sent += sizeof(end);
	}
	st->used_bytes = total;
	st->written_bytes = s.bytes;
	st->stream_bytes = s.sent;
	st->frames = s.frames;
out:
	ZSTD_freeCCtx(s.zc);
	free(s.raw);
	free(s.packed);
	imgfmt_extents_free(map);
	return rc;
}

/* ---- receive ---- */

int p2v_receive_header(int fd, struct p2v_header *h, char *err, size_t errlen)
{
	unsigned char header[HEADER_SIZE];
	ssize_t n = read_full(fd, header, sizeof(header));

	if (n < 0) {
		snprintf(err, errlen, "cannot read the stream: %s", strerror((int)-n));
		return -EIO;
	}
	if (n < (ssize_t)sizeof(header) || memcmp(header, MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a rawkit-p2v stream (no %s header)", n < (ssize_t)sizeof(header) ? "complete" : "RAWKITP2");
		return -EINVAL;
	}
	if (get32(header + 60) != crc(header, 60)) {
		snprintf(err, errlen, "stream header damaged (checksum mismatch)");
		return -EILSEQ;
	}
	h->version = get32(header + 8);
	h->method = (int)get32(header + 12);
	h->disk_size = get64(header + 16);
	h->used_bytes = get64(header + 24);
	h->frame_max = get32(header + 36);
	if (h->version != VERSION || (h->method != P2V_ZSTD && h->method != P2V_ZLIB) || h->frame_max == 0 ||
	    h->frame_max > (16u << 20) || h->disk_size == 0 || h->disk_size % 512 || h->used_bytes > h->disk_size) {
		snprintf(err, errlen, "unsupported or damaged stream header (version %u, compression %d)", h->version,
			 h->method);
		return -EINVAL;
	}
	return 0;
}

static int decompress(int method, const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	if (method == P2V_ZLIB) {
		uLongf n = (uLongf)outlen;
		return uncompress(out, &n, in, (uLong)inlen) == Z_OK && n == outlen ? 0 : -1;
	}
	size_t n = ZSTD_decompress(out, outlen, in, inlen);
	return !ZSTD_isError(n) && n == outlen ? 0 : -1;
}

int p2v_receive_data(int fd, const struct p2v_header *h, imgfmt_output *out, struct p2v_stats *st,
		     struct cli_progress *progress, char *err, size_t errlen)
{
	size_t bound = compress_bound(h->method, h->frame_max);
	unsigned char head[HEAD_SIZE], *raw = malloc(h->frame_max), *packed = malloc(bound > END_SIZE ? bound : END_SIZE);
	uint64_t frames = 0, bytes = 0, pos = HEADER_SIZE;
	uint32_t crcs = 0;
	int rc = -EIO;

	if (!raw || !packed) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read_full(fd, head, sizeof(head));
		uint32_t type, rawlen, stored, data_crc;
		uint64_t off;
		if (n != (ssize_t)sizeof(head)) {
			snprintf(err, errlen, "stream truncated at byte %llu (after %llu frames): no end marker",
				 (unsigned long long)(pos + (n > 0 ? (uint64_t)n : 0)), (unsigned long long)frames);
			goto out;
		}
		if (get32(head + 28) != crc(head, 28)) {
			snprintf(err, errlen, "stream damaged at byte %llu: frame header checksum mismatch",
				 (unsigned long long)pos);
			rc = -EILSEQ;
			goto out;
		}
		type = get32(head), rawlen = get32(head + 4), stored = get32(head + 8), data_crc = get32(head + 12);
		off = get64(head + 16);
		if ((type != TYPE_DATA && type != TYPE_END) || rawlen > h->frame_max || stored > bound ||
		    (type == TYPE_END && (rawlen != END_SIZE || stored != END_SIZE))) {
			snprintf(err, errlen, "stream damaged at byte %llu: bad frame", (unsigned long long)pos);
			rc = -EILSEQ;
			goto out;
		}
		pos += sizeof(head);
		n = read_full(fd, packed, stored);
		if (n != (ssize_t)stored) {
			snprintf(err, errlen, "stream truncated at byte %llu (in frame %llu)",
				 (unsigned long long)(pos + (n > 0 ? (uint64_t)n : 0)), (unsigned long long)frames + 1);
			goto out;
		}
		pos += stored;
		if (type == TYPE_END) {
			if (crc(packed, END_SIZE) != data_crc || get64(packed) != frames || get64(packed + 8) != bytes ||
			    get32(packed + 16) != crcs) {
				snprintf(err, errlen, "stream damaged: the end marker does not match what came "
					 "(%llu frames, %llu bytes)", (unsigned long long)frames, (unsigned long long)bytes);
				rc = -EILSEQ;
				goto out;
			}
			if (read_full(fd, head, 1) != 0) {
				snprintf(err, errlen, "data after the end of the stream");
				rc = -EILSEQ;
				goto out;
			}
			rc = 0;
			break;
		}
		if (off > h->disk_size || rawlen > h->disk_size - off) {
			snprintf(err, errlen, "stream damaged: frame %llu lies outside the disk", (unsigned long long)frames + 1);
			rc = -EILSEQ;
			goto out;
		}
		if (decompress(h->method, packed, stored, raw, rawlen) < 0 || crc(raw, rawlen) != data_crc) {
			snprintf(err, errlen, "stream damaged: frame %llu (disk offset %llu) does not decompress to "
				 "its checksum", (unsigned long long)frames + 1, (unsigned long long)off);
			rc = -EILSEQ;
			goto out;
		}
		if ((rc = imgfmt_output_write(out, raw, rawlen, off)) < 0) {
			snprintf(err, errlen, "%s", imgfmt_output_error(out));
			goto out;
		}
		rc = -EIO;
		frames++;
		bytes += rawlen;
		crcs = (uint32_t)crc32(crcs, head + 12, 4);
		cli_progress_update(progress, bytes, h->used_bytes);
	}
	st->used_bytes = h->used_bytes;
	st->written_bytes = bytes;
	st->stream_bytes = pos;
	st->frames = frames;
out:
	free(raw);
	free(packed);
	return rc;
}
