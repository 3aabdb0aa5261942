/* deploy.c --- write the image onto the target, resize, convert
 *
 * Same size or larger: the copy engine writes the used blocks; before the
 * target is committed the last partition and its filesystem grow (the GPT
 * backup header moves to the new end) and the guest is converted.
 * Smaller than the image: a last partition that changes size is first
 * copied alone to a temp file and resized there (the image is never
 * written); the target then gets the image's used blocks before that
 * partition, the resized filesystem, and the image's partition table
 * written anew for its size.
 * A swap after the last filesystem (swap.c) moves to the end of the disk
 * in either case: its header page is written at the new place and the
 * table written anew with the new places.
 */
#include "recover.h"
#include "v2p.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (8u << 20)

struct deploy {
	imgfmt_disk *image;
	const struct v2p_opts *o;
	const struct v2p_plan *p;
	struct v2p_result *res;
	struct cli_progress progress;
};

static struct convert_opts convert_opts(const struct v2p_opts *o)
{
	return (struct convert_opts){ .to = CONVERT_TO_PHYSICAL, .drivers = o->drivers, .ndrivers = o->ndrivers,
				      .rebuild = (enum convert_rebuild)o->rebuild };
}

static int convert(struct deploy *d, const char *path, char *err, size_t errlen)
{
	struct convert_opts co = convert_opts(d->o);
	double t0 = cli_now();
	int rc = convert_guest(path, &co, &d->res->rep, err, errlen);

	d->res->convert_seconds = cli_now() - t0;
	d->res->converted = rc == 0 && d->res->rep.linux_found;
	return rc;
}

/* Grow a filesystem in place on the target, through a loop device over its
 * partition alone (resize2fs and ntfsresize size the files they work on). */
static int loop_grow(const char *fstype, const char *path, uint64_t offset, uint64_t size, char *err, size_t errlen)
{
	char off[32], len[32], *dev = NULL, line[256];
	int rc;

	snprintf(off, sizeof(off), "%llu", (unsigned long long)offset);
	snprintf(len, sizeof(len), "%llu", (unsigned long long)size);
	char *argv[] = { "losetup", "-f", "--show", "-o", off, "--sizelimit", len, (char *)path, NULL };
	if (run_program(argv, &dev, true) != 0 || !dev) {
		run_one_line(dev, line, sizeof(line));
		snprintf(err, errlen, "cannot set up a loop device to grow the filesystem (root needed): %s", line);
		free(dev);
		return -1;
	}
	dev[strcspn(dev, "\n")] = '\0';
	rc = fs_resize(fstype, dev, 0, size, false, err, errlen);
	char *detach[] = { "losetup", "-d", dev, NULL };
	run_program(detach, NULL, true);
	free(dev);
	return rc;
}


/* An LVM physical volume whose partition grew: its label and its VG's
 * metadata say the new size (pvresize); the LVs keep theirs. */
static int pv_grow(const char *path, size_t index, char *err, size_t errlen)
{
	imgfmt_disk *disk = imgfmt_disk_new();
	int rc = -1;

	if (!disk || imgfmt_disk_open(disk, path, IMGFMT_OPEN_WRITE) < 0 ||
	    imgfmt_disk_lvm_resize_pv(disk, index) < 0 || imgfmt_disk_sync(disk) < 0)
		snprintf(err, errlen, "cannot grow the LVM physical volume: %s",
			 disk ? imgfmt_disk_error(disk) : "out of memory");
	else
		rc = 0;
	imgfmt_disk_free(disk);
	return rc;
}

/* Grow the filesystem (or PV) of the last partition, number INDEX at OFFSET. */
static int grow_last(const struct v2p_plan *p, const char *path, size_t index, uint64_t offset, uint64_t size,
		     char *err, size_t errlen)
{
	if (!strcmp(p->fstype, "LVM2_member"))
		return pv_grow(path, index, err, errlen);
	return loop_grow(p->fstype, path, offset, size, err, errlen);
}

/* A swap after the filesystem, on the target the image was copied onto:
 * its header page to the disk's end (the old one wiped first: the
 * filesystem grows over it), then the image's table with the new places. */
static int move_swap(struct deploy *d, const char *path, char *err, size_t errlen)
{
	const struct v2p_plan *p = d->p;
	const struct v2p_move *m = &p->moves[p->nmoves - 1];
	unsigned char *page = NULL, *zero = calloc(1, p->swap_page ? p->swap_page : 1);
	imgfmt_disk *disk = NULL;
	int fd = -1, rc = -1;

	if (!zero || v2p_swap_header(d->image, p, &page, err, errlen) < 0)
		goto out;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || cli_pwrite_all(fd, zero, p->swap_page, m->from) < 0 ||
	    cli_pwrite_all(fd, page, p->swap_page, m->to) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: cannot move the swap header: %s", m->name, strerror(errno));
		goto out;
	}
	if (!(disk = imgfmt_disk_new()) || imgfmt_disk_open(disk, path, IMGFMT_OPEN_WRITE | IMGFMT_OPEN_NO_TABLE) < 0) {
		snprintf(err, errlen, "cannot open the target: %s", disk ? imgfmt_disk_error(disk) : "out of memory");
		goto out;
	}
	rc = v2p_write_table(d->image, disk, p, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	imgfmt_disk_free(disk);
	free(page);
	free(zero);
	return rc;
}

/* The partition table of a larger disk: the last partition to the end (or
 * only the GPT backup header moved there), then its filesystem. */
static int grow(struct deploy *d, const char *path, char *err, size_t errlen)
{
	const struct v2p_plan *p = d->p;
	imgfmt_disk *disk;
	double t0 = cli_now();
	struct imgfmt_volume v;
	size_t fix = p->last;
	int rc = 0;

	if (p->nmoves) {
		rc = move_swap(d, path, err, errlen);
		if (rc == 0 && !strcmp(p->action, "grow"))
			rc = grow_last(p, path, p->last, p->last_start, p->new_size, err, errlen);
		d->res->resize_seconds = cli_now() - t0;
		return rc;
	}
	disk = imgfmt_disk_new();
	if (!disk || imgfmt_disk_open(disk, path, IMGFMT_OPEN_WRITE) < 0) {
		snprintf(err, errlen, "cannot open the target: %s", disk ? imgfmt_disk_error(disk) : "out of memory");
		imgfmt_disk_free(disk);
		return -1;
	}
	if (!strcmp(imgfmt_disk_label(disk), "gpt") && fix == SIZE_MAX && imgfmt_disk_volume_count(disk) > 0)
		fix = 0; /* no resize: rewrite the table all the same, for the backup header */
	if (fix != SIZE_MAX && (!strcmp(imgfmt_disk_label(disk), "gpt") || !strcmp(p->action, "grow"))) {
		imgfmt_disk_volume(disk, fix, &v);
		rc = imgfmt_disk_resize_volume(disk, fix, !strcmp(p->action, "grow") && fix == p->last ? p->new_size : v.size);
		if (rc < 0)
			snprintf(err, errlen, "%s", imgfmt_disk_error(disk));
	}
	if (rc == 0 && !strcmp(p->action, "grow"))
		imgfmt_disk_volume(disk, p->last, &v);
	if (rc == 0)
		rc = imgfmt_disk_sync(disk);
	imgfmt_disk_free(disk);
	if (rc == 0 && !strcmp(p->action, "grow"))
		rc = grow_last(p, path, p->last, v.offset, v.size, err, errlen);
	d->res->resize_seconds = cli_now() - t0;
	return rc;
}

/* --verify: the copy (and resize) against the image, before the
 * conversion changes files on purpose. */
static int verify(struct deploy *d, const char *path, char *err, size_t errlen)
{
	double t0 = cli_now();
	int rc;

	if (!d->o->verify)
		return 0;
	rc = v2p_verify(d->image, path, d->p, err, errlen);
	d->res->verify_seconds = cli_now() - t0;
	d->res->verified = rc == 0;
	return rc;
}

static int finish(size_t index, const char *path, char *err, size_t errlen, void *arg)
{
	struct deploy *d = arg;
	int rc = 0;
	(void)index;

	cli_progress_end(&d->progress);
	/* an image file standing for a disk keeps the disk's size */
	if (!d->p->target_blockdev && truncate(path, (off_t)d->p->target_size) < 0) {
		snprintf(err, errlen, "cannot size the target: %s", strerror(errno));
		return -1;
	}
	if (d->p->target_size > d->p->image_size)
		rc = grow(d, path, err, errlen);
	if (rc == 0)
		rc = verify(d, path, err, errlen);
	if (rc == 0)
		rc = convert(d, path, err, errlen);
	return rc;
}

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	cli_progress_update(&((struct deploy *)arg)->progress, done, total);
}

static int deploy_larger(struct deploy *d, const char *target, char *err, size_t errlen)
{
	imgfmt_copy *c = imgfmt_copy_new();
	struct imgfmt_copy_stats st;
	int rc;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	imgfmt_copy_set_source(c, d->image, -1);
	imgfmt_copy_set_target(c, target, IMGFMT_TARGET_OVERWRITE | IMGFMT_TARGET_NO_REFLINK);
	imgfmt_copy_set_finish(c, finish, d);
	imgfmt_copy_set_progress(c, on_progress, d);
	cli_progress_start(&d->progress, "writing", d->o->progress);
	rc = imgfmt_copy_run(c);
	cli_progress_end(&d->progress);
	imgfmt_copy_get_stats(c, &st);
	guest_recover_note(&d->res->rep.changes, st.replayed);
	d->res->written = st.written_bytes;
	d->res->copy_seconds = st.seconds - d->res->resize_seconds - d->res->convert_seconds;
	if (rc < 0)
		snprintf(err, errlen, "%s", imgfmt_copy_target_error(c, 0)[0] ? imgfmt_copy_target_error(c, 0)
									     : imgfmt_copy_error(c));
	imgfmt_copy_free(c);
	return rc;
}

/* SRC's used ranges inside [FROM, TO) to OUT at (offset - FROM + AT). */
struct range_copy {
	imgfmt_disk *src;
	imgfmt_output *out;
	uint64_t from, at;
	char *buf, *err;
	size_t errlen;
	struct deploy *d;
};

static int copy_chunk(uint64_t off, size_t n, void *arg)
{
	struct range_copy *rc = arg;

	if (imgfmt_disk_pread(rc->src, rc->buf, n, off) < 0) {
		snprintf(rc->err, rc->errlen, "%s", imgfmt_disk_error(rc->src));
		return -EIO;
	}
	if (imgfmt_output_write(rc->out, rc->buf, n, off - rc->from + rc->at) < 0) {
		snprintf(rc->err, rc->errlen, "%s", imgfmt_output_error(rc->out));
		return -EIO;
	}
	rc->d->res->written += n;
	cli_progress_update(&rc->d->progress, rc->d->res->written, rc->d->p->used_bytes);
	return 0;
}

static int copy_ranges(imgfmt_disk *src, uint64_t from, uint64_t to, imgfmt_output *out, uint64_t at, char *buf,
		       struct deploy *d, char *err, size_t errlen)
{
	struct range_copy rc = { src, out, from, at, buf, err, errlen, d };
	int r;

	err[0] = '\0';
	r = v2p_each_used(src, from, to, CHUNK, copy_chunk, &rc);
	if (r < 0 && !err[0])
		snprintf(err, errlen, "%s", imgfmt_disk_error(src));
	return r;
}

/* The swap's header page at its new place on a smaller target. */
static int write_swap_header(struct deploy *d, imgfmt_output *out, char *err, size_t errlen)
{
	unsigned char *page;
	int rc = v2p_swap_header(d->image, d->p, &page, err, errlen);

	if (rc == 0 && (rc = imgfmt_output_write(out, page, d->p->swap_page, d->p->moves[d->p->nmoves - 1].to)) < 0)
		snprintf(err, errlen, "%s", imgfmt_output_error(out));
	free(page);
	return rc;
}

static int deploy_smaller(struct deploy *d, const char *target, char *err, size_t errlen)
{
	const struct v2p_plan *p = d->p;
	char dir[256], part[300] = "";
	imgfmt_copy *c = imgfmt_copy_new();
	imgfmt_disk *fs = imgfmt_disk_new(), *dst = NULL;
	imgfmt_output *out = NULL;
	char *buf = malloc(CHUNK);
	double t0 = cli_now();
	bool resized = p->new_size != p->last_size;
	int rc = -1;

	run_temp_template(dir, sizeof(dir), "rawkit-v2p", "/var/tmp");
	if (!c || !fs || !buf || !mkdtemp(dir)) {
		snprintf(err, errlen, "cannot make a work directory: %s", strerror(errno));
		goto out;
	}
	snprintf(part, sizeof(part), "%s/part.img", dir);
	/* 1. a last partition that changes size: alone, resized in a temp file */
	if (resized) {
		imgfmt_copy_set_source(c, d->image, (int)p->last);
		imgfmt_copy_set_target(c, part, 0);
		if (imgfmt_copy_run(c) < 0) {
			snprintf(err, errlen, "cannot copy %s to %s: %s", p->fstype, part, imgfmt_copy_error(c));
			goto out;
		}
		struct imgfmt_copy_stats st;
		imgfmt_copy_get_stats(c, &st);
		guest_recover_note(&d->res->rep.changes, st.replayed);
		if (p->new_size > p->last_size && truncate(part, (off_t)p->new_size) < 0) {
			snprintf(err, errlen, "cannot size %s: %s", part, strerror(errno));
			goto out;
		}
		if (fs_resize(p->fstype, part, 0, p->new_size, true, err, errlen) < 0)
			goto out;
		d->res->resize_seconds = cli_now() - t0;
	}
	/* 2. the target: what lies before that partition, then the resized one */
	t0 = cli_now();
	if (!(out = imgfmt_output_new()) || imgfmt_output_open(out, target, p->target_size, IMGFMT_TARGET_OVERWRITE) < 0) {
		snprintf(err, errlen, "%s", out ? imgfmt_output_error(out) : "out of memory");
		goto out;
	}
	cli_progress_start(&d->progress, "writing", d->o->progress);
	rc = copy_ranges(d->image, 0, resized ? p->last_start : p->last_start + p->last_size, out, 0, buf, d, err,
			 errlen);
	if (rc == 0 && p->nmoves)
		rc = write_swap_header(d, out, err, errlen);
	if (rc == 0 && resized && imgfmt_disk_open(fs, part, 0) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(fs));
		rc = -1;
	}
	if (rc == 0 && resized)
		rc = copy_ranges(fs, 0, p->new_size, out, p->last_start, buf, d, err, errlen);
	cli_progress_end(&d->progress);
	d->res->copy_seconds = cli_now() - t0;
	if (rc == 0 && (rc = imgfmt_output_release(out)) < 0)
		snprintf(err, errlen, "%s", imgfmt_output_error(out));
	/* 3. the image's partition table, sized for the target */
	if (rc == 0 && (!(dst = imgfmt_disk_new()) || imgfmt_disk_open(dst, imgfmt_output_path(out), IMGFMT_OPEN_WRITE |
									   IMGFMT_OPEN_NO_TABLE) < 0)) {
		snprintf(err, errlen, "%s", dst ? imgfmt_disk_error(dst) : "out of memory");
		rc = -1;
	}
	if (rc == 0)
		rc = v2p_write_table(d->image, dst, p, err, errlen);
	imgfmt_disk_free(dst);
	/* the partitions copied range by range: their journal replay too */
	if (rc == 0 && guest_recover_disk(imgfmt_output_path(out), &d->res->rep.changes, err, errlen) < 0)
		rc = -1;
	if (rc == 0)
		rc = verify(d, imgfmt_output_path(out), err, errlen);
	if (rc == 0)
		rc = convert(d, imgfmt_output_path(out), err, errlen);
	if (rc == 0 && (rc = imgfmt_output_commit(out)) < 0)
		snprintf(err, errlen, "%s", imgfmt_output_error(out));
out:
	imgfmt_output_free(out);
	imgfmt_disk_free(fs);
	imgfmt_copy_free(c);
	free(buf);
	if (part[0]) {
		unlink(part);
		rmdir(dir);
	}
	return rc;
}

int v2p_deploy(imgfmt_disk *image, const char *target, const struct v2p_opts *o, const struct v2p_plan *p,
	       struct v2p_result *res, char *err, size_t errlen)
{
	struct deploy d = { .image = image, .o = o, .p = p, .res = res };
	/* a target smaller than the image cannot take a whole copy first */
	return p->target_size >= p->image_size || p->last == SIZE_MAX ? deploy_larger(&d, target, err, errlen)
								      : deploy_smaller(&d, target, err, errlen);
}
