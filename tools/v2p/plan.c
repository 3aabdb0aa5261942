/* plan.c --- decide a deployment before writing a byte: sizes, what the
 * last partition becomes, what the target holds now
 */
#include "v2p.h"
#include "run.h"

#include "target_info.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024ull * 1024)
#define GPT_TAIL (33 * 512ull) /* backup entries and header at the end */
/* room above the smallest size a filesystem can take: 5%, at least 8 MiB */

/* Size of TARGET (an existing file or block device), opened as it will be. */
static int target_size(const char *target, struct v2p_plan *p, char *err, size_t errlen)
{
	struct stat st;

	if (stat(target, &st) < 0) {
		snprintf(err, errlen, "%s (create an image file of the disk's size first, e.g. truncate -s 500G FILE)",
			 errno == ENOENT ? "no such disk or file" : strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		p->target_size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "neither a block device nor an image file");
		return -1;
	}
	p->target_blockdev = true;
	return target_blockdev_size(target, &p->target_size, NULL, err, errlen);
}

/* The partition that ends last (the one a resize moves). */
static size_t last_partition(imgfmt_disk *image, struct imgfmt_volume *out)
{
	size_t last = SIZE_MAX;
	uint64_t end = 0;

	for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(image, i, &v);
		if (v.partno && !v.container && v.offset + v.size > end) {
			end = v.offset + v.size;
			last = i;
			*out = v;
		}
	}
	return last;
}

static bool resizable(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4") || !strcmp(fstype, "ntfs") ||
	       !strcmp(fstype, "LVM2_member");
}

/* NTFS's smallest size needs the partition alone: a read-only loop device. */
static int min_size(imgfmt_disk *image, const struct imgfmt_volume *v, uint64_t *min, char *err, size_t errlen)
{
	char off[32], len[32], *dev = NULL, line[256];
	int rc;

	if (strcmp(v->fstype, "ntfs") != 0)
		return fs_min_size(imgfmt_disk_path(image), v, min, err, errlen);
	snprintf(off, sizeof(off), "%llu", (unsigned long long)v->offset);
	snprintf(len, sizeof(len), "%llu", (unsigned long long)v->size);
	char *argv[] = { "losetup", "-r", "-f", "--show", "-o", off, "--sizelimit", len, (char *)imgfmt_disk_path(image), NULL };
	if (run_program(argv, &dev, true) != 0 || !dev) {
		run_one_line(dev, line, sizeof(line));
		snprintf(err, errlen, "%s: cannot set up a loop device to measure NTFS (root needed): %s", v->name, line);
		free(dev);
		return -1;
	}
	dev[strcspn(dev, "\n")] = '\0';
	rc = fs_min_size(dev, v, min, err, errlen);
	char *detach[] = { "losetup", "-d", dev, NULL };
	run_program(detach, NULL, true);
	free(dev);
	return rc;
}

/* A swap last: the filesystem before it becomes *LAST, and the swap (with
 * its extended partition) moves to the disk's end; returns where that
 * filesystem may end now.  USABLE, the reason in WHY, when rawkit does not
 * move that layout. */
static uint64_t behind_swap(imgfmt_disk *image, struct imgfmt_volume *last, uint64_t usable, struct v2p_plan *p,
			    char *why, size_t whylen)
{
	struct imgfmt_volume fs;
	char reason[300];
	uint64_t end = v2p_plan_swap(image, last, usable, p, &fs, reason, sizeof(reason));

	if (!end) {
		snprintf(why, whylen, "%.32s (swap) was not moved to the end: %s", last->name, reason);
		return usable;
	}
	if (!resizable(fs.fstype)) {
		p->nmoves = 0;
		snprintf(why, whylen, "%.32s (swap) was not moved to the end and %.32s before it not grown: %.32s holds %s, and "
			 "rawkit resizes ext2/3/4 and NTFS only", last->name, fs.name, fs.name,
			 fs.fstype[0] ? fs.fstype : "no filesystem it knows");
		return usable;
	}
	p->last = (size_t)imgfmt_disk_find_volume(image, fs.name);
	*last = fs;
	return end;
}

/* Nothing grows on a larger disk: say what keeps its size, and why. */
static void note_not_grown(struct v2p_plan *p, const struct imgfmt_volume *last, uint64_t usable, const char *why)
{
	char unused[16];

	if (usable < last->offset + last->size + MiB)
		return;
	cli_human(usable - last->offset - last->size, unused, sizeof(unused));
	if (why[0])
		snprintf(p->not_grown, sizeof(p->not_grown), "%s; %s at the end of the disk left unused", why, unused);
	else
		snprintf(p->not_grown, sizeof(p->not_grown), "%s (%s) was not grown: rawkit resizes ext2/3/4 and NTFS "
			 "only; %s at the end of the disk left unused", last->name,
			 last->fstype[0] ? last->fstype : "no filesystem it knows", unused);
}

int v2p_plan(imgfmt_disk *image, const char *target, const struct v2p_opts *o, struct v2p_plan *p, int *status,
	     char *err, size_t errlen)
{
	struct imgfmt_volume last = { 0 };
	imgfmt_extents *used = NULL;
	uint64_t usable, end;
	char why[512], layout[512] = "";

	memset(p, 0, sizeof(*p));
	*status = RAWKIT_EXIT_FAILED;
	p->image_size = imgfmt_disk_size(image);
	p->last = SIZE_MAX;
	if (target_size(target, p, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (imgfmt_disk_used(image, -1, &used) == 0)
		p->used_bytes = imgfmt_extents_bytes(used);
	imgfmt_extents_free(used);
	/* a filesystem that was not cleanly unmounted cannot be resized or edited */
	for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
		imgfmt_fs *fs = imgfmt_fs_new();
		if (!fs || imgfmt_fs_open(fs, image, i, 0) < 0) {
			imgfmt_fs_free(fs);
			continue;
		}
		if (imgfmt_fs_dirty(fs)) {
			struct imgfmt_volume v;
			imgfmt_disk_volume(image, i, &v);
			snprintf(err, errlen, "the image's %s (%s) has errors or needs journal recovery: check it first "
				 "(e2fsck, or chkdsk in Windows)", v.name, imgfmt_fs_type(fs));
			imgfmt_fs_free(fs);
			return -1;
		}
		imgfmt_fs_free(fs);
	}
	target_holds(target, p->destroys, sizeof(p->destroys));
	if (p->destroys[0] && !o->force && !o->dry_run) {
		snprintf(err, errlen, "holds %s: --force to overwrite it (all of it is lost)", p->destroys);
		return -1;
	}
	p->action = "copy";
	if (p->target_size == p->image_size)
		return 0;
	if (o->resize == V2P_NO_RESIZE && p->target_size > p->image_size)
		return 0;
	if (o->resize == V2P_GROW && p->target_size < p->image_size) {
		snprintf(err, errlen, "too small: %llu bytes, the image is %llu (--grow does not shrink; --fit does)",
			 (unsigned long long)p->target_size, (unsigned long long)p->image_size);
		return -1;
	}
	if ((p->last = last_partition(image, &last)) == SIZE_MAX) {
		if (p->target_size < p->image_size) {
			snprintf(err, errlen, "too small: %llu bytes, the image (no partition table) needs %llu",
				 (unsigned long long)p->target_size, (unsigned long long)p->image_size);
			return -1;
		}
		p->action = "copy";
		return 0;
	}
	if (p->target_size <= GPT_TAIL + MiB) {
		snprintf(err, errlen, "too small: %llu bytes", (unsigned long long)p->target_size);
		return -1;
	}
	usable = p->target_size - (strcmp(imgfmt_disk_label(image), "gpt") ? 0 : GPT_TAIL);
	usable -= usable % MiB; /* partitions end on a MiB boundary */
	end = usable;
	if (!strcmp(last.fstype, "swap") && o->resize != V2P_NO_RESIZE)
		end = behind_swap(image, &last, usable, p, layout, sizeof(layout));
	snprintf(p->last_name, sizeof(p->last_name), "%s", last.name);
	snprintf(p->fstype, sizeof(p->fstype), "%s", last.fstype);
	p->last_start = last.offset;
	p->last_size = last.size;
	if (end <= last.offset) {
		snprintf(err, errlen, "too small: %llu bytes; the image needs more than %llu (its last %s starts "
			 "there)", (unsigned long long)p->target_size,
			 (unsigned long long)(last.offset + (p->target_size - end)),
			 p->nmoves ? "filesystem" : "partition");
		return -1;
	}
	p->new_size = end - last.offset;
	if (!resizable(last.fstype) || (o->resize == V2P_NO_RESIZE && p->target_size < p->image_size)) {
		/* the partitions as they are: the disk alone grows or shrinks */
		p->new_size = last.size;
		p->nmoves = 0;
		if (last.offset + last.size <= usable) {
			if (o->resize != V2P_NO_RESIZE)
				note_not_grown(p, &last, usable, layout);
			return 0;
		}
		snprintf(err, errlen, "too small: %llu bytes; the image needs %llu, and rawkit cannot shrink its last "
			 "partition (%s: %s)%s%s", (unsigned long long)p->target_size,
			 (unsigned long long)(last.offset + last.size + (p->target_size - usable)), last.name,
			 last.fstype[0] ? last.fstype : "unknown content", layout[0] ? "; " : "", layout);
		return -1;
	}
	if (p->new_size >= last.size) {
		p->action = p->new_size > last.size ? "grow" : "copy";
		if (p->new_size > last.size && !strcmp(last.fstype, "LVM2_member")) {
			char more[16];
			cli_human(p->new_size - last.size, more, sizeof(more));
			snprintf(p->not_grown, sizeof(p->not_grown), "%.32s: the LVM physical volume grows by %s, its "
				 "logical volumes do not: the free extents are in volume group %.64s (lvextend -r in the "
				 "guest)", last.name, more, last.lv_vg[0] ? last.lv_vg : "?");
		}
		return 0;
	}
	if (!strcmp(last.fstype, "LVM2_member")) {
		snprintf(err, errlen, "too small: %llu bytes; the image needs %llu, and rawkit does not shrink an LVM "
			 "physical volume (%s)", (unsigned long long)p->target_size,
			 (unsigned long long)(last.offset + last.size + (p->target_size - end)), last.name);
		return -1;
	}
	uint64_t min;
	if (min_size(image, &last, &min, err, errlen) < 0)
		return -1;
	if (min + TARGET_SHRINK_SLACK(min) > p->new_size) {
		uint64_t need = last.offset + min + TARGET_SHRINK_SLACK(min) + (p->target_size - end);
		snprintf(err, errlen, "too small: %llu bytes; the image fits in %llu (%s's %s filesystem holds %llu bytes "
			 "and can shrink no further)", (unsigned long long)p->target_size, (unsigned long long)need,
			 last.name, last.fstype, (unsigned long long)min);
		return -1;
	}
	p->action = "shrink";
	return 0;
}
