/* fsresize.c --- grow or shrink a filesystem offline: resize2fs (ext2/3/4),
 * ntfsresize (NTFS), the tools that own those formats
 */
#include "v2p.h"
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_ext(const char *t)
{
	return !strcmp(t, "ext2") || !strcmp(t, "ext3") || !strcmp(t, "ext4");
}

/* ext: resize2fs -P (in filesystem blocks); NTFS: ntfsresize --info (on a
 * file of the partition alone: the caller gives one). */
int fs_min_size(const char *image, const struct imgfmt_volume *v, uint64_t *min, char *err, size_t errlen)
{
	char path[4200], *out = NULL, line[512];
	int rc = -1;

	if (is_ext(v->fstype)) {
		imgfmt_disk *d = imgfmt_disk_new();
		imgfmt_fs *fs = imgfmt_fs_new();
		unsigned bs = 0;
		const char *p;
		snprintf(path, sizeof(path), "%s?offset=%" PRIu64, image, v->offset);
		char *argv[] = { "resize2fs", "-P", path, NULL };
		if (d && fs && imgfmt_disk_open(d, image, 0) == 0 && imgfmt_fs_open(fs, d, (size_t)imgfmt_disk_find_volume(d, v->name), 0) == 0)
			imgfmt_fs_sizes(fs, &bs, NULL, NULL);
		imgfmt_fs_free(fs);
		imgfmt_disk_free(d);
		if (bs && run_program(argv, &out, true) == 0 && out && (p = strstr(out, "minimum size of the filesystem: "))) {
			*min = strtoull(p + 32, NULL, 10) * bs;
			rc = 0;
		}
	} else if (!strcmp(v->fstype, "ntfs")) {
		const char *p;
		char *argv[] = { "ntfsresize", "--info", "--force", "--no-progress-bar", (char *)image, NULL };
		if (run_program(argv, &out, true) == 0 && out && (p = strstr(out, "You might resize at "))) {
			*min = strtoull(p + 20, NULL, 10);
			rc = 0;
		} else if (out && strstr(out, "already") && strstr(out, "minimal")) {
			*min = v->size;
			rc = 0;
		}
	}
	if (rc < 0) {
		run_one_line(out, line, sizeof(line));
		snprintf(err, errlen, "%s: cannot find the smallest size of its %s filesystem%s%s", v->name, v->fstype,
			 line[0] ? ": " : "", line);
	}
	free(out);
	return rc;
}

int fs_resize(const char *fstype, const char *file, uint64_t offset, uint64_t size, bool shrinking, char *err,
	      size_t errlen)
{
	char path[4200], arg[64], *out = NULL, line[512];
	int st = -1;

	if (is_ext(fstype)) {
		snprintf(path, sizeof(path), offset ? "%s?offset=%" PRIu64 : "%s", file, offset);
		snprintf(arg, sizeof(arg), "%" PRIu64 "K", size / 1024);
		(void)shrinking; /* resize2fs wants a freshly checked filesystem either way */
		{
			char *fsck[] = { "e2fsck", "-f", "-y", path, NULL };
			st = run_program(fsck, &out, true);
			if (st != 0 && st != 1) {
				run_one_line(out, line, sizeof(line));
				snprintf(err, errlen, "e2fsck before resizing failed (status %d): %s", st, line);
				free(out);
				return -1;
			}
			free(out);
			out = NULL;
		}
		char *argv[] = { "resize2fs", path, arg, NULL };
		st = run_program(argv, &out, true);
	} else if (!strcmp(fstype, "ntfs")) {
		snprintf(arg, sizeof(arg), "%" PRIu64, size);
		char *argv[] = { "ntfsresize", "--force", "--no-progress-bar", "--size", arg, (char *)file, NULL };
		st = run_program(argv, &out, true);
	} else {
		snprintf(err, errlen, "rawkit cannot resize %s filesystems", fstype);
		return -1;
	}
	if (st != 0) {
		run_one_line(out, line, sizeof(line));
		snprintf(err, errlen, "%s failed (status %d): %s", is_ext(fstype) ? "resize2fs" : "ntfsresize", st, line);
	}
	free(out);
	return st == 0 ? 0 : -1;
}
