/* initrd.c --- walk an initramfs with libarchive, as the kernel unpacks it
 *
 * An initramfs is one or more cpio archives one after the other: typically
 * an uncompressed early one (CPU microcode), then a compressed part (gzip,
 * zstd, xz, lz4...).  The kernel reads them in turn, skipping zero padding
 * between them, and files met later replace earlier ones, so a compressed
 * part may itself hold several archives, in one stream or in concatenated
 * frames (rawkit's driver injection appends one).  libarchive reads each
 * archive and ends at its trailer; where the next one starts is found from
 * the trailer's position: in the file for an uncompressed archive, in the
 * decompressed stream (read once, through a small window) for the others.
 * The file is read through the caller's pread, never copied out.
 */
#include "initrd.h"
#include "initrd_frame.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INITRD_BLOCK (256u << 10)
#define TRAILER_BYTES 124 /* a newc trailer: 110-byte header + "TRAILER!!!\0", padded to 4 */

/* The file, from the caller's pread. */
struct file_source {
	initrd_pread_fn pread;
	void *src;
	uint64_t size, pos;
	char *buf;
};

static la_ssize_t file_read(struct archive *a, void *arg, const void **out)
{
	struct file_source *s = arg;
	size_t want = s->size - s->pos < INITRD_BLOCK ? (size_t)(s->size - s->pos) : INITRD_BLOCK;
	ssize_t n;

	if (want == 0)
		return 0;
	n = s->pread(s->src, s->buf, want, s->pos);
	if (n < 0) {
		archive_set_error(a, EIO, "read error at byte %llu", (unsigned long long)s->pos);
		return -1;
	}
	s->pos += (uint64_t)n;
	*out = s->buf;
	return n;
}

/* The decompressed stream of the compressed part, handed to one cpio reader
 * after another: the last two blocks are kept, so that the next archive can
 * start where the previous one's trailer ended. */
struct stream_source {
	struct archive *raw;    /* the decompressor, libarchive's raw format */
	char *blk[2];
	size_t len[2];
	uint64_t start[2];      /* decompressed offset of each block */
	int cur;                /* the newer block */
	uint64_t pos;           /* the next byte a reader gets */
	bool eof;
	struct frame_walk frames; /* every block checked before a reader gets it */
	char err[256];
};

/* Make the byte at S->pos available: 1, 0 at the end, < 0 on an error. */
static int stream_fill(struct stream_source *s)
{
	for (;;) {
		for (int k = 0; k < 2; k++)
			if (s->pos >= s->start[k] && s->pos < s->start[k] + s->len[k])
				return 1;
		if (s->pos < s->start[!s->cur]) {
			snprintf(s->err, sizeof(s->err), "archive restarts too far back in the decompressed stream");
			return -EILSEQ;
		}
		if (s->eof)
			return 0;
		uint64_t next = s->start[s->cur] + s->len[s->cur];
		la_ssize_t n = archive_read_data(s->raw, s->blk[!s->cur], INITRD_BLOCK);
		if (n < 0) {
			snprintf(s->err, sizeof(s->err), "%s",
				 archive_error_string(s->raw) ? archive_error_string(s->raw) : "decompression failed");
			return -EILSEQ;
		}
		if (n == 0) {
			if (frame_end(&s->frames, s->err, sizeof(s->err)) < 0)
				return -EILSEQ;
			s->eof = true;
			continue;
		}
		if (frame_feed(&s->frames, s->blk[!s->cur], (size_t)n, s->err, sizeof(s->err)) < 0)
			return -EILSEQ;
		s->cur = !s->cur;
		s->start[s->cur] = next;
		s->len[s->cur] = (size_t)n;
	}
}

static la_ssize_t stream_read(struct archive *a, void *arg, const void **out)
{
	struct stream_source *s = arg;
	int rc = stream_fill(s);

	if (rc < 0) {
		archive_set_error(a, EILSEQ, "%s", s->err);
		return -1;
	}
	if (rc == 0)
		return 0;
	for (int k = 0; k < 2; k++)
		if (s->pos >= s->start[k] && s->pos < s->start[k] + s->len[k]) {
			size_t at = (size_t)(s->pos - s->start[k]);
			*out = s->blk[k] + at;
			s->pos = s->start[k] + s->len[k];
			return (la_ssize_t)(s->len[k] - at);
		}
	return 0;
}

/* Past the zero padding of the stream: 1 at a byte, 0 at the end. */
static int stream_skip_zeros(struct stream_source *s)
{
	int rc;

	while ((rc = stream_fill(s)) > 0) {
		int k = s->pos >= s->start[s->cur] ? s->cur : !s->cur;
		const char *p = s->blk[k] + (s->pos - s->start[k]), *end = s->blk[k] + s->len[k];
		while (p < end && !*p)
			p++;
		s->pos = s->start[k] + (uint64_t)(p - s->blk[k]);
		if (p < end)
			return 1;
	}
	return rc;
}

static void initrd_strip(const char **path)
{
	while (**path == '/' || (**path == '.' && (*path)[1] == '/'))
		*path += **path == '/' ? 1 : 2;
}

/* One cpio archive read from A (opened by the caller): each entry to FN.
 * Its trailer's end, relative to where A started, goes to *END. */
static int read_archive(struct archive *a, unsigned index, initrd_entry_fn fn, void *arg, uint64_t *end,
			unsigned *entries, char *err, size_t errlen)
{
	struct archive_entry *e;
	int r, rc = 0;

	*entries = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
		struct initrd_entry ie;
		initrd_strip(&path);
		ie = (struct initrd_entry){ .path = path, .mode = archive_entry_mode(e),
					    .size = (uint64_t)archive_entry_size(e), .archive = index };
		(*entries)++;
		if (fn && *path && (rc = fn(arg, a, &ie)) < 0)
			return rc;
		archive_read_data_skip(a);
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "damaged initramfs (archive %u): %s", index + 1,
			 archive_error_string(a) ? archive_error_string(a) : "read error");
		return -EILSEQ;
	}
	*end = (uint64_t)archive_read_header_position(a) + TRAILER_BYTES;
	return 0;
}

static struct archive *cpio_reader(void)
{
	struct archive *a = archive_read_new();

	if (a)
		archive_read_support_format_cpio(a);
	return a;
}

/* The uncompressed archive at S->pos; S->pos goes to its end. */
/* The framing of the archive at S->pos: its size into *SIZE. */
static int frame_plain(struct file_source *s, uint64_t *size, char *err, size_t errlen)
{
	struct frame_walk w;
	uint64_t pos = s->pos;
	int rc = 0;

	frame_init(&w, true);
	while (rc == 0) {
		size_t want = s->size - pos < INITRD_BLOCK ? (size_t)(s->size - pos) : INITRD_BLOCK;
		ssize_t n = want ? s->pread(s->src, s->buf, want, pos) : 0;
		if (n < 0)
			return snprintf(err, errlen, "read error at byte %llu", (unsigned long long)pos), -EIO;
		if (n == 0) {
			if ((rc = frame_end(&w, err, errlen)) == 0 && w.archives == 0) {
				snprintf(err, errlen, "no cpio trailer");
				rc = -EILSEQ;
			}
			rc = rc < 0 ? rc : 1;
			break;
		}
		pos += (uint64_t)n;
		rc = frame_feed(&w, s->buf, (size_t)n, err, errlen);
	}
	*size = w.end;
	return rc < 0 ? rc : 0;
}

static int walk_plain(struct file_source *s, unsigned index, initrd_entry_fn fn, void *arg, char *err,
		      size_t errlen)
{
	struct archive *a;
	uint64_t start = s->pos, end = 0, framed = 0;
	unsigned entries;
	int rc = frame_plain(s, &framed, err, errlen);

	if (rc < 0)
		return rc;
	if (!(a = cpio_reader()))
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	if (archive_read_open(a, s, NULL, file_read, NULL) != ARCHIVE_OK) {
		snprintf(err, errlen, "not an initramfs at byte %llu: %s", (unsigned long long)start,
			 archive_error_string(a) ? archive_error_string(a) : "unknown format");
		archive_read_free(a);
		return -EILSEQ;
	}
	rc = read_archive(a, index, fn, arg, &end, &entries, err, errlen);
	archive_read_free(a);
	s->pos = start + framed;
	return rc;
}

/* A decompressing reader of the file from START to its end. */
static struct archive *open_raw(struct file_source *s, uint64_t start)
{
	struct archive *raw = archive_read_new();
	struct archive_entry *e;

	if (!raw)
		return NULL;
	s->pos = start;
	archive_read_support_filter_all(raw);
	archive_read_support_format_raw(raw);
	if (archive_read_open(raw, s, NULL, file_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(raw, &e) != ARCHIVE_OK || archive_filter_count(raw) < 2) {
		archive_read_free(raw);
		return NULL;
	}
	return raw;
}

/* The compressed part from S->pos to the end of the file. */
static int walk_compressed(struct file_source *s, unsigned index, initrd_entry_fn fn, void *arg,
			   struct initrd_layout *lay, char *err, size_t errlen)
{
	struct stream_source st = { .cur = 0 };
	uint64_t start = s->pos;
	int rc = 0;

	frame_init(&st.frames, false);
	st.raw = open_raw(s, start);
	st.blk[0] = malloc(INITRD_BLOCK);
	st.blk[1] = malloc(INITRD_BLOCK);
	if (!st.raw || !st.blk[0] || !st.blk[1]) {
		if (!st.raw)
			snprintf(err, errlen, "not an initramfs at byte %llu: neither a cpio archive nor compressed",
				 (unsigned long long)start);
		else
			snprintf(err, errlen, "out of memory");
		rc = st.raw ? -ENOMEM : -EILSEQ;
		goto out;
	}
	lay->compression = archive_filter_code(st.raw, 0);
	snprintf(lay->compression_name, sizeof(lay->compression_name), "%s", archive_filter_name(st.raw, 0));
	st.start[0] = st.start[1] = 0;
	for (unsigned n = 0; rc == 0; n++) {
		struct archive *a;
		uint64_t at = st.pos, end = 0;
		unsigned entries;
		if ((rc = stream_skip_zeros(&st)) <= 0) {
			if (rc < 0)
				snprintf(err, errlen, "damaged initramfs at byte %llu: %s", (unsigned long long)start, st.err);
			if (n == 0 && rc == 0) {
				snprintf(err, errlen, "empty compressed archive at byte %llu", (unsigned long long)start);
				rc = -EILSEQ;
			}
			break;
		}
		if (index + n >= INITRD_MAX_ARCHIVES) {
			snprintf(err, errlen, "more than %d archives in one initramfs", INITRD_MAX_ARCHIVES);
			rc = -EILSEQ;
			break;
		}
		at = st.pos;
		if (!(a = cpio_reader())) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			break;
		}
		if (archive_read_open(a, &st, NULL, stream_read, NULL) != ARCHIVE_OK) {
			snprintf(err, errlen, "not an initramfs in the %s data at byte %llu: %s", lay->compression_name,
				 (unsigned long long)start,
				 archive_error_string(a) ? archive_error_string(a) : "unknown format");
			archive_read_free(a);
			rc = -EILSEQ;
			break;
		}
		rc = read_archive(a, index + n, fn, arg, &end, &entries, err, errlen);
		archive_read_free(a);
		st.pos = at + end;
		lay->archives++;
	}
	if (rc > 0)
		rc = 0;
out:
	archive_read_free(st.raw);
	free(st.blk[0]);
	free(st.blk[1]);
	return rc;
}

/* Past the zero padding of the file: 0, or -EIO. */
static int skip_zeros(struct file_source *s)
{
	while (s->pos < s->size) {
		size_t want = s->size - s->pos < INITRD_BLOCK ? (size_t)(s->size - s->pos) : INITRD_BLOCK;
		ssize_t n = s->pread(s->src, s->buf, want, s->pos);
		if (n <= 0)
			return -EIO;
		for (ssize_t i = 0; i < n; i++)
			if (s->buf[i]) {
				s->pos += (uint64_t)i;
				return 0;
			}
		s->pos += (uint64_t)n;
	}
	return 0;
}

int initrd_walk(initrd_pread_fn pread, void *src, uint64_t size, initrd_entry_fn fn, void *arg,
		struct initrd_layout *layout, char *err, size_t errlen)
{
	struct file_source s = { .pread = pread, .src = src, .size = size };
	struct initrd_layout scratch, *lay = layout ? layout : &scratch;
	int rc = 0;

	*lay = (struct initrd_layout){ .compression = ARCHIVE_FILTER_NONE };
	if (!(s.buf = malloc(INITRD_BLOCK)))
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	while (rc == 0 && s.pos < s.size) {
		char magic[6];
		if (lay->archives >= INITRD_MAX_ARCHIVES) {
			snprintf(err, errlen, "more than %d archives in one initramfs", INITRD_MAX_ARCHIVES);
			rc = -EILSEQ;
			break;
		}
		if (s.size - s.pos < sizeof(magic) || pread(src, magic, sizeof(magic), s.pos) != (ssize_t)sizeof(magic)) {
			snprintf(err, errlen, "truncated initramfs at byte %llu", (unsigned long long)s.pos);
			rc = -EILSEQ;
			break;
		}
		if (!memcmp(magic, "070701", 6) || !memcmp(magic, "070702", 6)) {
			rc = walk_plain(&s, lay->archives, fn, arg, err, errlen);
			lay->archives++;
			if (rc == 0 && (rc = skip_zeros(&s)) < 0)
				snprintf(err, errlen, "read error at byte %llu", (unsigned long long)s.pos);
		} else {
			rc = walk_compressed(&s, lay->archives, fn, arg, lay, err, errlen);
			break; /* the compressed part runs to the end */
		}
	}
	if (rc == 0 && lay->archives == 0) {
		snprintf(err, errlen, "empty initramfs");
		rc = -EILSEQ;
	}
	free(s.buf);
	return rc;
}

struct memory {
	const char *data;
	size_t len;
};

static ssize_t memory_pread(void *arg, void *buf, size_t len, uint64_t offset)
{
	const struct memory *m = arg;

	if (offset >= m->len)
		return 0;
	if (len > m->len - offset)
		len = (size_t)(m->len - offset);
	memcpy(buf, m->data + offset, len);
	return (ssize_t)len;
}

int initrd_walk_memory(const void *data, size_t len, initrd_entry_fn fn, void *arg, struct initrd_layout *layout,
		       char *err, size_t errlen)
{
	struct memory m = { data, len };

	return initrd_walk(memory_pread, &m, len, fn, arg, layout, err, errlen);
}

bool initrd_module_name(const char *path, char *out, size_t size)
{
	const char *base = strrchr(path, '/'), *ko;
	size_t n;

	base = base ? base + 1 : path;
	ko = strstr(base, ".ko");
	if (!ko || (ko[3] && ko[3] != '.'))
		return false;
	n = (size_t)(ko - base);
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
	return true;
}

struct marks {
	const char *const *names;
	size_t n;
	bool *found;
};

static void mark(const char *path, const struct marks *m)
{
	char mod[128];

	if (!initrd_module_name(path, mod, sizeof(mod)))
		return;
	for (size_t i = 0; i < m->n; i++) {
		char want[128];
		size_t k;
		for (k = 0; m->names[i][k] && k < sizeof(want) - 1; k++)
			want[k] = m->names[i][k] == '-' ? '_' : m->names[i][k];
		want[k] = '\0';
		if (!strcmp(mod, want))
			m->found[i] = true;
	}
}

static int mark_entry(void *arg, struct archive *a, const struct initrd_entry *e)
{
	(void)a;
	if (S_ISREG(e->mode))
		mark(e->path, arg);
	return 0;
}

void initrd_builtin(struct guest *gu, const char *version, const char *const *names, size_t n, bool *found)
{
	struct marks m = { names, n, found };
	char path[300], *data;
	size_t len;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", version);
	if (guest_read(gu, path, &data, &len) < 0) {
		snprintf(path, sizeof(path), "/usr/lib/modules/%s/modules.builtin", version);
		if (guest_read(gu, path, &data, &len) < 0)
			return;
	}
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		mark(line, &m);
	}
	free(data);
}

struct fs_source {
	imgfmt_fs *fs;
	uint64_t ino;
};

static ssize_t fs_pread(void *arg, void *buf, size_t len, uint64_t offset)
{
	struct fs_source *s = arg;
	return imgfmt_fs_pread(s->fs, s->ino, NULL, buf, len, offset);
}

int initrd_check(struct guest *gu, const char *path, const char *const *names, size_t n, bool *found, char *err,
		 size_t errlen)
{
	struct fs_source s = { .fs = gu->fs };
	struct marks m = { names, n, found };
	struct imgfmt_stat st;
	char why[400];
	int rc;

	for (size_t i = 0; i < n; i++)
		found[i] = false;
	if ((rc = imgfmt_fs_lookup(gu->fs, path, &s.ino)) < 0 || (rc = imgfmt_fs_stat(gu->fs, s.ino, &st)) < 0 ||
	    !S_ISREG(st.mode)) {
		snprintf(err, errlen, "%s: cannot read it: %s", path, rc < 0 ? imgfmt_fs_error(gu->fs) : "not a file");
		return rc < 0 ? rc : -EINVAL;
	}
	if ((rc = initrd_walk(fs_pread, &s, st.size, mark_entry, &m, NULL, why, sizeof(why))) < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}
