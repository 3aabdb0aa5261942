/* initrd_frame.c --- check the cpio framing of an initramfs
 *
 * libarchive reads the entries; but a crafted header makes it allocate
 * what the header says before finding the data missing (a 4 GiB name,
 * or a symbolic link's target: libarchive reads it whole).  So the
 * framing is walked first, as the kernel's unpacker and
 * unmkinitramfs walk it: headers, names bounded as the kernel bounds them,
 * 4-byte padding, trailers, zero padding between archives.  Nothing is
 * kept but where the first archive ends.
 */
#include "initrd_frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_BUF (64u << 10)
#define HEADER 110

struct scan {
	frame_more_fn more;
	void *ctx;
	char *buf;
	size_t len, at;
	uint64_t pos; /* of buf[at] in the stream */
};

/* K bytes at S->buf + S->at: 0, 1 when the stream ends first, < 0. */
static int need(struct scan *s, size_t k)
{
	if (s->len - s->at >= k)
		return 0;
	memmove(s->buf, s->buf + s->at, s->len - s->at);
	s->len -= s->at;
	s->at = 0;
	while (s->len < k) {
		ssize_t n = s->more(s->ctx, s->buf + s->len, FRAME_BUF - s->len);
		if (n < 0)
			return -EIO;
		if (n == 0)
			return 1;
		s->len += (size_t)n;
	}
	return 0;
}

static int skip(struct scan *s, uint64_t n)
{
	while (n) {
		if (s->at == s->len) {
			ssize_t r = s->more(s->ctx, s->buf, FRAME_BUF);
			if (r <= 0)
				return r < 0 ? -EIO : 1;
			s->at = 0;
			s->len = (size_t)r;
		}
		size_t take = s->len - s->at < n ? s->len - s->at : (size_t)n;
		s->at += take;
		s->pos += take;
		n -= take;
	}
	return 0;
}

static bool hex8(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return false;
		*v = *v << 4 | (uint32_t)d;
	}
	return true;
}

/* Past zero padding: 0 at a byte, 1 at the end. */
static int skip_zeros(struct scan *s)
{
	for (;;) {
		int rc = need(s, 1);
		if (rc)
			return rc;
		while (s->at < s->len && !s->buf[s->at])
			s->at++, s->pos++;
		if (s->at < s->len)
			return 0;
	}
}

static int bad(char *err, size_t errlen, uint64_t pos, const char *what)
{
	snprintf(err, errlen, "damaged cpio archive at byte %llu: %s", (unsigned long long)pos, what);
	return -EILSEQ;
}

int initrd_frames(frame_more_fn more, void *ctx, bool one, uint64_t *end, char *err, size_t errlen)
{
	struct scan s = { .more = more, .ctx = ctx };
	int archives = 0, rc = 0;
	bool open = false;

	if (!(s.buf = malloc(FRAME_BUF)))
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	for (;;) {
		uint32_t namesize, filesize, mode;
		uint64_t at = s.pos;
		if (!open && (rc = skip_zeros(&s)) != 0) {
			rc = rc == 1 ? 0 : bad(err, errlen, s.pos, "read error");
			break;
		}
		at = s.pos;
		if ((rc = need(&s, HEADER)) != 0) {
			rc = bad(err, errlen, at, rc == 1 ? "truncated header" : "read error");
			break;
		}
		const char *h = s.buf + s.at;
		bool hex = true;
		uint32_t ignored;
		for (int f = 0; f < 13 && hex; f++) /* every field: libarchive skips ahead past a bad one */
			hex = hex8(h + 6 + 8 * f, &ignored);
		if ((memcmp(h, "070701", 6) && memcmp(h, "070702", 6)) || !hex || !hex8(h + 14, &mode) ||
		    !hex8(h + 54, &filesize) || !hex8(h + 94, &namesize)) {
			rc = bad(err, errlen, at, "not a newc header");
			break;
		}
		if (namesize == 0 || namesize > FRAME_NAME_MAX) {
			rc = bad(err, errlen, at, "a name longer than the kernel takes");
			break;
		}
		if ((mode & 0170000) == 0120000 && filesize > FRAME_NAME_MAX) {
			rc = bad(err, errlen, at, "a symbolic link's target longer than the kernel takes");
			break;
		}
		if ((rc = need(&s, HEADER + namesize)) != 0) {
			rc = bad(err, errlen, at, rc == 1 ? "truncated name" : "read error");
			break;
		}
		bool trailer = namesize == 11 && !memcmp(s.buf + s.at + HEADER, "TRAILER!!!", 11);
		uint64_t head = (HEADER + (uint64_t)namesize + 3) & ~3ull, data = ((uint64_t)filesize + 3) & ~3ull;
		if ((rc = skip(&s, head)) != 0 || (rc = skip(&s, data)) != 0) {
			if (rc == 1 && trailer) { /* the stream ends in the trailer's padding */
				archives++, open = false, *end = s.pos, rc = 0;
				break;
			}
			rc = bad(err, errlen, at, rc == 1 ? "truncated data" : "read error");
			break;
		}
		open = !trailer;
		if (trailer) {
			archives++;
			if (one) {
				*end = s.pos;
				break;
			}
		}
	}
	if (rc == 0 && open)
		rc = bad(err, errlen, s.pos, "no trailer");
	free(s.buf);
	return rc < 0 ? rc : archives;
}
