/* initrd.c --- which drivers an initramfs holds, read with libarchive
 *
 * An initramfs is one or more cpio archives one after the other, each
 * possibly compressed (gzip, zstd, xz, lz4, bzip2...): typically an
 * uncompressed early one (CPU microcode) and a compressed main one.  The
 * kernel reads them in turn, skipping zero padding between them; so do we:
 * after an uncompressed archive its end is found from its trailer's
 * position; a compressed one is the last.  The file is read straight from
 * the guest filesystem, never copied out.
 */
#include "initrd.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INITRD_MAX_SEGMENTS 8
#define INITRD_BLOCK (256u << 10)

struct source {
	imgfmt_fs *fs;
	uint64_t ino, size, pos;
	char *buf;
};

static la_ssize_t source_read(struct archive *a, void *arg, const void **out)
{
	struct source *s = arg;
	size_t want = s->size - s->pos < INITRD_BLOCK ? (size_t)(s->size - s->pos) : INITRD_BLOCK;
	ssize_t n;

	if (want == 0)
		return 0;
	n = imgfmt_fs_pread(s->fs, s->ino, NULL, s->buf, want, s->pos);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", imgfmt_fs_error(s->fs));
		return -1;
	}
	s->pos += (uint64_t)n;
	*out = s->buf;
	return n;
}

/* "kernel/drivers/block/virtio_blk.ko.zst" -> "virtio_blk"; '-' as '_'. */
static bool module_name(const char *path, char *out, size_t size)
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

static void mark(const char *path, const char *const *names, size_t n, bool *found)
{
	char mod[128];

	if (!module_name(path, mod, sizeof(mod)))
		return;
	for (size_t i = 0; i < n; i++) {
		char want[128];
		size_t k;
		for (k = 0; names[i][k] && k < sizeof(want) - 1; k++)
			want[k] = names[i][k] == '-' ? '_' : names[i][k];
		want[k] = '\0';
		if (!strcmp(mod, want))
			found[i] = true;
	}
}

/* One archive from the current position: its entries marked; *LAST when it
 * was compressed (or nothing follows); *END: where an uncompressed one
 * ended. */
static int read_segment(struct source *s, uint64_t start, const char *const *names, size_t n, bool *found,
			bool *last, uint64_t *end, char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, entries = 0;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->pos = start;
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open(a, s, NULL, source_read, NULL) != ARCHIVE_OK) {
		snprintf(err, errlen, "not an initramfs at byte %llu: %s", (unsigned long long)start,
			 archive_error_string(a) ? archive_error_string(a) : "unknown format");
		archive_read_free(a);
		return -EINVAL;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		entries++;
		mark(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", names, n, found);
		archive_read_data_skip(a);
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "damaged initramfs at byte %llu: %s", (unsigned long long)start,
			 archive_error_string(a) ? archive_error_string(a) : "read error");
		archive_read_free(a);
		return -EILSEQ;
	}
	*last = archive_filter_count(a) > 1 || entries == 0;
	/* the trailer's header, 110 bytes + "TRAILER!!!\0", padded to 4 */
	*end = start + (uint64_t)archive_read_header_position(a) + 124;
	archive_read_free(a);
	return 0;
}

/* Next non-zero byte at or after POS (cpio archives are zero-padded). */
static int skip_zeros(struct source *s, uint64_t *pos)
{
	while (*pos < s->size) {
		size_t want = s->size - *pos < INITRD_BLOCK ? (size_t)(s->size - *pos) : INITRD_BLOCK;
		ssize_t n = imgfmt_fs_pread(s->fs, s->ino, NULL, s->buf, want, *pos);
		if (n <= 0)
			return -EIO;
		for (ssize_t i = 0; i < n; i++)
			if (s->buf[i]) {
				*pos += (uint64_t)i;
				return 0;
			}
		*pos += (uint64_t)n;
	}
	return 0;
}

void initrd_builtin(struct guest *gu, const char *version, const char *const *names, size_t n, bool *found)
{
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
		mark(line, names, n, found);
	}
	free(data);
}

int initrd_check(struct guest *gu, const char *path, const char *const *names, size_t n, bool *found, char *err,
		 size_t errlen)
{
	struct source s = { .fs = gu->fs };
	struct imgfmt_stat st;
	uint64_t pos = 0;
	bool last = false;
	int rc;

	for (size_t i = 0; i < n; i++)
		found[i] = false;
	if ((rc = imgfmt_fs_lookup(gu->fs, path, &s.ino)) < 0 || (rc = imgfmt_fs_stat(gu->fs, s.ino, &st)) < 0 ||
	    !S_ISREG(st.mode)) {
		snprintf(err, errlen, "%s: cannot read it: %s", path, rc < 0 ? imgfmt_fs_error(gu->fs) : "not a file");
		return rc < 0 ? rc : -EINVAL;
	}
	s.size = st.size;
	if (!(s.buf = malloc(INITRD_BLOCK))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int seg = 0; seg < INITRD_MAX_SEGMENTS && !last && pos < s.size; seg++) {
		uint64_t end = 0;
		if ((rc = read_segment(&s, pos, names, n, found, &last, &end, err, errlen)) < 0)
			break;
		pos = end;
		if (!last && (rc = skip_zeros(&s, &pos)) < 0) {
			snprintf(err, errlen, "%s: read error", path);
			break;
		}
	}
	free(s.buf);
	return rc;
}
