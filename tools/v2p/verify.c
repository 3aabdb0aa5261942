/* verify.c --- --verify: read the target back and compare it with the image
 *
 * The bytes the image uses, from its first partition up to the resized one,
 * must be the same on the target; a resized filesystem is compared file by
 * file (its metadata moved).  The partition table itself differs (sizes,
 * the GPT backup's place) and is checked by sfdisk --verify in the tests;
 * a swap moved to the disk's end must hold the image's header page.
 */
#include "v2p.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK (4u << 20)
#define MAX_DEPTH 256

struct range_compare {
	imgfmt_disk *a, *b;
	char *x, *y, *err;
	size_t errlen;
};

static int compare_chunk(uint64_t off, size_t n, void *arg)
{
	struct range_compare *c = arg;

	if (imgfmt_disk_pread(c->a, c->x, n, off) < 0 || imgfmt_disk_pread(c->b, c->y, n, off) < 0) {
		snprintf(c->err, c->errlen, "read error at byte %llu", (unsigned long long)off);
		return -EIO;
	}
	if (memcmp(c->x, c->y, n) != 0) {
		snprintf(c->err, c->errlen, "the target differs from the image at bytes %llu-%llu",
			 (unsigned long long)off, (unsigned long long)(off + n));
		return -EILSEQ;
	}
	return 0;
}

static int compare_ranges(imgfmt_disk *a, imgfmt_disk *b, uint64_t from, uint64_t to, char *err, size_t errlen)
{
	struct range_compare c = { a, b, malloc(CHUNK), malloc(CHUNK), err, errlen };
	int rc;

	err[0] = '\0';
	rc = c.x && c.y ? v2p_each_used(a, from, to, CHUNK, compare_chunk, &c) : -ENOMEM;
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : imgfmt_disk_error(a));
	free(c.x);
	free(c.y);
	return rc;
}

struct names {
	char **v;
	size_t n, cap;
};

static int add_name(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct names *l = arg;
	(void)ino, (void)type;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		l->v = grown, l->cap = cap;
	}
	if (!(l->v[l->n] = strndup(name, len)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int compare_tree(imgfmt_fs *fa, imgfmt_fs *fb, const char *path, int depth, char *buf, char *err,
			size_t errlen);

static int compare_file(imgfmt_fs *fa, imgfmt_fs *fb, const char *path, uint64_t ia, uint64_t ib, int depth,
			char *buf, char *err, size_t errlen)
{
	struct imgfmt_stat sa, sb;

	if (imgfmt_fs_stat(fa, ia, &sa) < 0 || imgfmt_fs_stat(fb, ib, &sb) < 0) {
		snprintf(err, errlen, "%s: cannot stat", path);
		return -EIO;
	}
	/* a directory's size is its layout, which a resize (and the check
	 * before it) may rewrite: its entries are compared instead */
	if (sa.mode != sb.mode || (!S_ISDIR(sa.mode) && sa.size != sb.size) || sa.uid != sb.uid || sa.gid != sb.gid) {
		snprintf(err, errlen, "%s: differs (mode, owner or size)", path);
		return -EILSEQ;
	}
	if (S_ISDIR(sa.mode))
		return depth < MAX_DEPTH ? compare_tree(fa, fb, path, depth + 1, buf, err, errlen) : 0;
	if (S_ISLNK(sa.mode)) {
		char la[4096], lb[4096];
		ssize_t na = imgfmt_fs_readlink(fa, ia, la, sizeof(la)), nb = imgfmt_fs_readlink(fb, ib, lb, sizeof(lb));
		if (na != nb || na < 0 || memcmp(la, lb, (size_t)na)) {
			snprintf(err, errlen, "%s: the link differs", path);
			return -EILSEQ;
		}
		return 0;
	}
	if (!S_ISREG(sa.mode))
		return 0;
	for (uint64_t off = 0; off < sa.size;) {
		size_t want = sa.size - off > CHUNK / 2 ? CHUNK / 2 : (size_t)(sa.size - off);
		ssize_t na = imgfmt_fs_pread(fa, ia, NULL, buf, want, off);
		ssize_t nb = imgfmt_fs_pread(fb, ib, NULL, buf + CHUNK / 2, want, off);
		if (na <= 0 || na != nb || memcmp(buf, buf + CHUNK / 2, (size_t)na) != 0) {
			snprintf(err, errlen, "%s: contents differ at byte %llu", path, (unsigned long long)off);
			return -EILSEQ;
		}
		off += (uint64_t)na;
	}
	return 0;
}

static int compare_tree(imgfmt_fs *fa, imgfmt_fs *fb, const char *path, int depth, char *buf, char *err,
			size_t errlen)
{
	struct names a = { 0 }, b = { 0 };
	uint64_t da, db;
	int rc;

	if ((rc = imgfmt_fs_lookup(fa, path, &da)) < 0 || (rc = imgfmt_fs_lookup(fb, path, &db)) < 0 ||
	    (rc = imgfmt_fs_readdir(fa, da, add_name, &a)) < 0 || (rc = imgfmt_fs_readdir(fb, db, add_name, &b)) < 0) {
		snprintf(err, errlen, "%s: cannot read the directory", path);
		goto out;
	}
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_str);
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), cmp_str);
	if (a.n != b.n) {
		snprintf(err, errlen, "%s: %zu entries in the image, %zu on the target", path, a.n, b.n);
		rc = -EILSEQ;
		goto out;
	}
	for (size_t i = 0; i < a.n && rc == 0; i++) {
		char child[4096];
		uint64_t ia, ib;
		if (strcmp(a.v[i], b.v[i]) != 0) {
			snprintf(err, errlen, "%s: \"%s\" is missing on the target", path, a.v[i]);
			rc = -EILSEQ;
			break;
		}
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", a.v[i]);
		if (imgfmt_fs_lookup(fa, child, &ia) < 0 || imgfmt_fs_lookup(fb, child, &ib) < 0) {
			snprintf(err, errlen, "%s: cannot look it up", child);
			rc = -EIO;
			break;
		}
		rc = compare_file(fa, fb, child, ia, ib, depth, buf, err, errlen);
	}
out:
	names_free(&a);
	names_free(&b);
	return rc;
}

/* A moved swap: its header page (UUID, label) the same at its new place. */
static int compare_swap(imgfmt_disk *image, imgfmt_disk *t, const struct v2p_plan *p, char *err, size_t errlen)
{
	const struct v2p_move *m = &p->moves[p->nmoves - 1];
	unsigned char *page, *got = malloc(p->swap_page ? p->swap_page : 1);
	int rc = v2p_swap_header(image, p, &page, err, errlen);

	if (rc == 0 && (!got || imgfmt_disk_pread(t, got, p->swap_page, m->to) < 0 ||
			memcmp(page, got, p->swap_page) != 0)) {
		snprintf(err, errlen, "%s: the swap header at its new place differs from the image's", m->name);
		rc = -EILSEQ;
	}
	free(page);
	free(got);
	return rc;
}

/* Volume I of IMAGE is read through its journal (a crash-consistent image):
 * the target got the replay written, so its bytes differ on purpose. */
static bool replayed(imgfmt_disk *image, size_t i)
{
	struct imgfmt_consistency_info c = { 0 };
	imgfmt_fs *fs = imgfmt_fs_new();

	if (fs && imgfmt_fs_open(fs, image, i, 0) == 0)
		imgfmt_fs_consistency(fs, &c);
	imgfmt_fs_free(fs);
	return c.state == IMGFMT_REPLAYED;
}

/* Volume I of IMAGE and of T, file by file. */
static int compare_volume(imgfmt_disk *image, imgfmt_disk *t, size_t i, char *err, size_t errlen)
{
	imgfmt_fs *fa = imgfmt_fs_new(), *fb = imgfmt_fs_new();
	char *buf = malloc(CHUNK);
	int rc;

	if (!buf || !fa || !fb || imgfmt_fs_open(fa, image, i, 0) < 0 || imgfmt_fs_open(fb, t, i, 0) < 0) {
		snprintf(err, errlen, "--verify: cannot open the filesystem of volume %zu", i + 1);
		rc = -EIO;
	} else {
		rc = compare_tree(fa, fb, "/", 0, buf, err, errlen);
	}
	imgfmt_fs_free(fa);
	imgfmt_fs_free(fb);
	free(buf);
	return rc;
}

/* The used bytes of [FROM, TO): byte for byte, except the volumes whose
 * journal replay went into the target (file by file). */
static int compare_span(imgfmt_disk *image, imgfmt_disk *t, uint64_t from, uint64_t to, char *err, size_t errlen)
{
	uint64_t at = from;
	int rc = 0;

	while (rc == 0 && at < to) {
		size_t next = SIZE_MAX;
		struct imgfmt_volume v, n = { 0 };
		for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
			imgfmt_disk_volume(image, i, &v);
			if (!v.container && v.offset >= at && v.offset < to && v.offset + v.size <= to &&
			    (next == SIZE_MAX || v.offset < n.offset) && replayed(image, i))
				next = i, n = v;
		}
		if (next == SIZE_MAX)
			return compare_ranges(image, t, at, to, err, errlen);
		rc = compare_ranges(image, t, at, n.offset, err, errlen);
		if (rc == 0)
			rc = compare_volume(image, t, next, err, errlen);
		at = n.offset + n.size;
	}
	return rc;
}

int v2p_verify(imgfmt_disk *image, const char *target, const struct v2p_plan *p, char *err, size_t errlen)
{
	imgfmt_disk *t = imgfmt_disk_new();
	uint64_t first = UINT64_MAX, upto;
	int rc = -1;

	if (!t || imgfmt_disk_open(t, target, 0) < 0) {
		snprintf(err, errlen, "--verify: cannot open the target: %s", t ? imgfmt_disk_error(t) : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(image, i, &v);
		if (v.partno && v.offset < first)
			first = v.offset;
	}
	if (first == UINT64_MAX)
		first = 0;
	upto = p->last != SIZE_MAX && strcmp(p->action, "copy") ? p->last_start : p->image_size;
	/* the GPT backup moved; a smaller target got the partitions only */
	if (p->last != SIZE_MAX && !strcmp(p->action, "copy") &&
	    (!strcmp(imgfmt_disk_label(image), "gpt") || p->target_size < p->image_size))
		upto = p->last_start + p->last_size;
	rc = compare_span(image, t, first, upto, err, errlen);
	if (rc == 0 && p->nmoves)
		rc = compare_swap(image, t, p, err, errlen);
	if (rc == 0 && p->last != SIZE_MAX && strcmp(p->action, "copy"))
		rc = compare_volume(image, t, p->last, err, errlen); /* resized: its metadata moved */
out:
	imgfmt_disk_free(t);
	return rc;
}
