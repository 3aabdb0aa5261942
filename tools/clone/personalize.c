/* personalize.c --- personalize one target disk: files, identities, table
 *
 * Order matters: files and references are edited first (the new ids are
 * known from the plan), then each filesystem gets its new UUID, then the
 * NTFS serials and swap UUIDs, and the partition table last.  A target
 * that fails anywhere is not committed (a new file is removed).
 */
#include "clone.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct id_change *fs_change(const struct id_plan *p, size_t vol)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].vol == vol && !strcmp(p->v[i].kind, "fs"))
			return &p->v[i];
	return NULL;
}

/* One ext filesystem: the Linux operations on a root, the references on a
 * root or /boot, then its new UUID. */
static int edit_ext(imgfmt_disk *d, size_t i, const struct golden *g, const struct clone_opts *o,
		    struct target_plan *t, bool dry, char *err, size_t errlen)
{
	const struct vol_info *vi = &g->info[i];
	const struct id_change *c = fs_change(&t->ids, i);
	struct guest gu = guest_for(NULL, dry, &t->rep);
	const char *name = g->vols[i].name;
	int rc;

	if (!vi->linux_root && !vi->boot && !c)
		return 0;
	gu.fs = imgfmt_fs_new();
	rc = gu.fs ? imgfmt_fs_open(gu.fs, d, i, dry ? 0 : IMGFMT_FS_WRITE) : -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s", gu.fs ? imgfmt_fs_error(gu.fs) : strerror(-rc));
		imgfmt_fs_free(gu.fs);
		return rc;
	}
	if (vi->linux_root)
		rc = linux_personalize(&gu, g, o, t);
	if (rc == 0 && (vi->linux_root || vi->boot))
		rc = linux_rewrite_refs(&gu, &t->ids, vi->linux_root);
	if (rc < 0 || gu.err[0]) {
		snprintf(err, errlen, "%s: %s", name, gu.err[0] ? gu.err : strerror(-rc));
		rc = rc < 0 ? rc : -EIO;
	}
	if (rc == 0 && c) {
		if (!dry && (rc = imgfmt_fs_set_uuid(gu.fs, c->new_id)) < 0)
			snprintf(err, errlen, "%s: cannot set the UUID: %s", name, imgfmt_fs_error(gu.fs));
		else
			report_change(&t->rep, OP_FS_UUIDS, "%s: %s UUID %s -> %s", name, g->vols[i].fstype, c->old,
				      c->new_id);
	}
	if (rc == 0 && !dry && (rc = imgfmt_fs_commit(gu.fs)) < 0)
		snprintf(err, errlen, "%s: %s", name, imgfmt_fs_error(gu.fs));
	imgfmt_fs_free(gu.fs);
	return rc;
}

static int set_volume_ids(imgfmt_disk *d, const struct golden *g, struct target_plan *t, bool dry, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < g->nvol; i++) {
		const struct id_change *c = fs_change(&t->ids, i);
		if (!c || g->info[i].kind == VOL_EXT)
			continue;
		if (!dry && imgfmt_volume_set_id(d, i, c->new_id) < 0) {
			snprintf(err, errlen, "%s", imgfmt_disk_error(d));
			return -EIO;
		}
		report_change(&t->rep, OP_FS_UUIDS, "%s: %s %s %s -> %s", g->vols[i].name, g->vols[i].fstype,
			      g->info[i].kind == VOL_NTFS ? "serial" : "UUID", c->old, c->new_id);
	}
	return 0;
}

static int set_disk_ids(imgfmt_disk *d, const struct golden *g, struct target_plan *t, bool dry, char *err,
			size_t errlen)
{
	const char **parts = calloc(g->nvol ? g->nvol : 1, sizeof(*parts));
	const char *disk_id = NULL;
	int rc = 0;

	if (!parts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t k = 0; k < t->ids.n; k++) {
		const struct id_change *c = &t->ids.v[k];
		if (!strcmp(c->kind, "disk"))
			disk_id = c->new_id;
		else if (!strcmp(c->kind, "part") && c->vol < g->nvol)
			parts[c->vol] = c->new_id;
	}
	if (disk_id) {
		if (!dry && (rc = imgfmt_disk_set_ids(d, disk_id, parts)) < 0)
			snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		for (size_t k = 0; k < t->ids.n && rc == 0; k++) {
			const struct id_change *c = &t->ids.v[k];
			if (!strcmp(c->kind, "disk"))
				report_change(&t->rep, OP_DISK_IDS, "disk: %s identifier %s -> %s",
					      imgfmt_disk_label(g->disk), c->old, c->new_id);
			else if (!strcmp(c->kind, "part"))
				report_change(&t->rep, OP_DISK_IDS, "%s: PARTUUID %s -> %s", g->vols[c->vol].name,
					      c->old_ref, c->new_ref);
		}
	}
	free(parts);
	return rc;
}

int personalize(const struct golden *g, const struct clone_opts *o, struct target_plan *t, const char *path,
		bool dry, char *err, size_t errlen)
{
	imgfmt_disk *d = g->disk;
	int rc = 0;

	/* FAT volumes first, through mtools, before the disk is held open. */
	for (size_t i = 0; i < g->nvol && rc == 0; i++)
		if (g->info[i].kind == VOL_KEPT && !strcmp(g->vols[i].fstype, "vfat"))
			rc = vfat_rewrite_refs(dry ? imgfmt_disk_path(g->disk) : path, &g->vols[i], &t->ids, dry,
					       &t->rep, err, errlen);
	if (rc < 0)
		return -EIO;
	if (!dry && !o->in_place) {
		d = imgfmt_disk_new();
		if (!d || imgfmt_disk_open(d, path, IMGFMT_OPEN_WRITE) < 0) {
			snprintf(err, errlen, "cannot open the copy: %s", d ? imgfmt_disk_error(d) : "out of memory");
			imgfmt_disk_free(d);
			return -EIO;
		}
		if (imgfmt_disk_volume_count(d) != g->nvol) {
			snprintf(err, errlen, "the copy does not show the golden disk's volumes");
			imgfmt_disk_free(d);
			return -EIO;
		}
	}
	for (size_t i = 0; i < g->nvol && rc == 0; i++)
		if (g->info[i].kind == VOL_EXT)
			rc = edit_ext(d, i, g, o, t, dry, err, errlen);
	if (rc == 0)
		rc = set_volume_ids(d, g, t, dry, err, errlen);
	if (rc == 0)
		rc = set_disk_ids(d, g, t, dry, err, errlen);
	/* A new file is fsynced by the copy engine's commit, right after; a
	 * block device (handed over closed) and a disk edited in place here. */
	if (rc == 0 && !dry && (o->in_place || imgfmt_disk_is_blockdev(d)) && imgfmt_disk_sync(d) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		rc = -EIO;
	}
	if (d != g->disk)
		imgfmt_disk_free(d);
	return rc;
}
