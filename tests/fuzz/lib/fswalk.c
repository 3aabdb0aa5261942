/* fswalk.c --- the bounded walk of a disk's filesystems shared by the fuzz targets */
#include "fswalk.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

enum { MAX_NODES = 200, MAX_DEPTH = 8, READ_MAX = 1 << 16 };

struct walk {
	imgfmt_fs *fs;
	unsigned nodes, depth;
	char buf[READ_MAX];
};

static int ignore_xattr(const char *name, const void *value, size_t size, void *arg)
{
	(void)name, (void)value, (void)size, (void)arg;
	return 0;
}

static int ignore_stream(const char *name, uint64_t size, void *arg)
{
	struct walk *w = arg;
	(void)name, (void)size;
	return w->nodes++ > MAX_NODES;
}

static int ignore_run(uint64_t logical, uint64_t length, uint64_t physical, void *arg)
{
	(void)logical, (void)length, (void)physical, (void)arg;
	return 0;
}

static int count_scanned(const struct imgfmt_stat *st, void *arg)
{
	unsigned *n = arg;
	(void)st;
	return ++*n > 100000;
}

static int visit(const char *name, size_t len, uint64_t ino, unsigned type, void *arg);

static void visit_ino(struct walk *w, uint64_t ino)
{
	struct imgfmt_stat st;

	if (w->nodes++ > MAX_NODES || imgfmt_fs_stat(w->fs, ino, &st) < 0)
		return;
	imgfmt_fs_xattrs(w->fs, ino, ignore_xattr, w);
	imgfmt_fs_streams(w->fs, ino, ignore_stream, w);
	if (S_ISDIR(st.mode) && w->depth < MAX_DEPTH) {
		imgfmt_fs_data_runs(w->fs, ino, ignore_run, w); /* (ext: where its entries lie) */
		w->depth++;
		imgfmt_fs_readdir(w->fs, ino, visit, w);
		w->depth--;
	} else if (S_ISREG(st.mode)) {
		imgfmt_fs_pread(w->fs, ino, NULL, w->buf, sizeof(w->buf), 0);
		imgfmt_fs_data_runs(w->fs, ino, ignore_run, w);
	} else if (S_ISLNK(st.mode)) {
		imgfmt_fs_readlink(w->fs, ino, w->buf, sizeof(w->buf));
	}
}

static int visit(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct walk *w = arg;
	uint64_t found;
	char path[300];

	(void)type;
	if (w->depth == 1 && len < 200) { /* a lookup by name too */
		snprintf(path, sizeof(path), "/%.*s", (int)len, name);
		imgfmt_fs_lookup(w->fs, path, &found);
	}
	visit_ino(w, ino);
	return w->nodes > MAX_NODES;
}

void fuzz_walk_disk(imgfmt_disk *disk, bool scan)
{
	imgfmt_extents *used = NULL;

	imgfmt_disk_used(disk, -1, &used);
	imgfmt_extents_free(used);
	for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++) {
		struct walk *w = calloc(1, sizeof(*w));
		unsigned scanned = 0;
		if (w && (w->fs = imgfmt_fs_new()) && imgfmt_fs_open(w->fs, disk, i, 0) == 0) {
			if (scan)
				imgfmt_fs_scan(w->fs, count_scanned, &scanned);
			visit_ino(w, imgfmt_fs_root(w->fs));
		}
		if (w)
			imgfmt_fs_free(w->fs);
		free(w);
	}
}
