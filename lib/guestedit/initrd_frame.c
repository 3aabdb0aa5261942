/* initrd_frame.c --- check the cpio framing of an initramfs
 *
 * libarchive reads the entries; but a crafted header makes it allocate
 * what the header says before finding the data missing (a 4 GiB name, or
 * a symbolic link's target, which it reads whole), and after a header it
 * cannot read it searches forward for one it can.  So every byte is fed
 * here before libarchive sees it, and the framing is walked as the
 * kernel's unpacker and unmkinitramfs walk it: headers, names bounded as
 * the kernel bounds them, 4-byte padding, trailers, zero padding between
 * archives.  Nothing is kept but the state of the walk.
 */
#include "initrd_frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum { ZEROS, HEADER, NAME, SKIP };

void frame_init(struct frame_walk *w, bool one)
{
	memset(w, 0, sizeof(*w));
	w->state = ZEROS;
	w->one = one;
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

static int bad(const struct frame_walk *w, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "damaged cpio archive at byte %llu: %s", (unsigned long long)w->at, what);
	return -EILSEQ;
}

/* The header is in: check it, and say what comes next. */
static int header(struct frame_walk *w, char *err, size_t errlen)
{
	uint32_t field, mode = 0;

	if (memcmp(w->hdr, "070701", 6) && memcmp(w->hdr, "070702", 6))
		return bad(w, err, errlen, "not a newc header");
	for (int f = 0; f < 13; f++) { /* every field: libarchive skips ahead past a bad one */
		if (!hex8(w->hdr + 6 + 8 * f, &field))
			return bad(w, err, errlen, "not a newc header");
		if (f == 1)
			mode = field;
		else if (f == 6)
			w->filesize = field;
		else if (f == 11)
			w->namesize = field;
	}
	if (w->namesize == 0 || w->namesize > FRAME_NAME_MAX)
		return bad(w, err, errlen, "a name longer than the kernel takes");
	if ((mode & 0170000) == 0120000 && w->filesize > FRAME_NAME_MAX)
		return bad(w, err, errlen, "a symbolic link's target longer than the kernel takes");
	w->have = 0;
	w->state = NAME;
	return 0;
}

/* The name's first bytes are in (all of a trailer's): skip the rest. */
static void name(struct frame_walk *w)
{
	uint64_t head = (FRAME_HEADER + (uint64_t)w->namesize + 3) & ~3ull;

	w->trailer = w->namesize == 11 && !memcmp(w->hdr + FRAME_HEADER, "TRAILER!!!", 11);
	w->skip = head - FRAME_HEADER - w->have + (((uint64_t)w->filesize + 3) & ~3ull);
	w->state = SKIP;
}

/* The entry was skipped: a trailer ends its archive. */
static int entry_done(struct frame_walk *w)
{
	if (!w->trailer) {
		w->state = HEADER;
		w->at = w->pos;
		w->have = 0;
		return 0;
	}
	w->archives++;
	w->state = ZEROS;
	if (w->one) {
		w->end = w->pos;
		return 1;
	}
	return 0;
}

int frame_feed(struct frame_walk *w, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		switch (w->state) {
		case ZEROS:
			while (i < len && !buf[i])
				i++, w->pos++;
			if (i < len) {
				w->state = HEADER;
				w->at = w->pos;
				w->have = 0;
			}
			break;
		case HEADER:
		case NAME: {
			size_t want = w->state == HEADER ? FRAME_HEADER : (w->namesize < 11 ? w->namesize : 11);
			size_t base = w->state == HEADER ? 0 : FRAME_HEADER, take = want - w->have;
			if (take > len - i)
				take = len - i;
			memcpy(w->hdr + base + w->have, buf + i, take);
			w->have += take, i += take, w->pos += take;
			if (w->have < want)
				break;
			if (w->state == HEADER) {
				if ((rc = header(w, err, errlen)) < 0)
					return rc;
			} else
				name(w);
			break;
		}
		case SKIP: {
			uint64_t take = w->skip < len - i ? w->skip : len - i;
			w->skip -= take, i += (size_t)take, w->pos += take;
			if (w->skip == 0 && (rc = entry_done(w)) != 0)
				return rc;
			break;
		}
		}
	}
	return 0;
}

int frame_end(struct frame_walk *w, char *err, size_t errlen)
{
	if (w->state == ZEROS)
		return 0;
	if (w->state == SKIP && w->trailer && w->skip <= 3) { /* the stream ends in the trailer's padding */
		w->skip = 0;
		entry_done(w);
		return 0;
	}
	return bad(w, err, errlen, w->state == SKIP && !w->trailer ? "truncated entry" : "no trailer");
}
