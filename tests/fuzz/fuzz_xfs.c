/* fuzz_xfs.c --- libFuzzer: crafted XFS volumes through the public API
 *
 * An XFS is at least 16 MiB, more than a fuzz input should be, and almost
 * all zeros: the input is the volume's non-zero 4 KiB blocks, each as a
 * 2-byte little-endian block number (of 4096: a 16 MiB volume) and its
 * 4096 bytes (tests/fuzz/seed.sh makes seeds from mkfs.xfs images).  The
 * volume is opened as a disk without a partition table and walked: used
 * map, fs info, scan, and the tree with stat, read, readlink, xattrs and
 * runs, all bounded.
 */
#include "imgfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BLOCK = 4096, BLOCKS = 4096, MAX_NODES = 200, MAX_DEPTH = 8, READ_MAX = 1 << 16 };

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
	if (S_ISDIR(st.mode) && w->depth < MAX_DEPTH) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-xfs", MFD_CLOEXEC);
	imgfmt_disk *disk = imgfmt_disk_new();
	imgfmt_extents *used = NULL;
	char path[64];

	if (fd < 0 || !disk || ftruncate(fd, (off_t)BLOCK * BLOCKS) < 0)
		abort();
	for (size_t pos = 0; pos + 2 <= size; pos += 2 + BLOCK) {
		unsigned blk = (data[pos] | data[pos + 1] << 8) % BLOCKS;
		size_t n = size - pos - 2 < BLOCK ? size - pos - 2 : BLOCK;
		if (pwrite(fd, data + pos + 2, n, (off_t)blk * BLOCK) != (ssize_t)n)
			abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (imgfmt_disk_open(disk, path, 0) == 0) {
		imgfmt_disk_used(disk, -1, &used);
		imgfmt_extents_free(used);
		for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++) {
			struct walk *w = calloc(1, sizeof(*w));
			unsigned scanned = 0;
			if (w && (w->fs = imgfmt_fs_new()) && imgfmt_fs_open(w->fs, disk, i, 0) == 0) {
				imgfmt_fs_scan(w->fs, count_scanned, &scanned);
				visit_ino(w, imgfmt_fs_root(w->fs));
			}
			if (w)
				imgfmt_fs_free(w->fs);
			free(w);
		}
	}
	imgfmt_disk_free(disk);
	close(fd);
	return 0;
}
