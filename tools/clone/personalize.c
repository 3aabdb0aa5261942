/* personalize.c --- personalize one target disk: files, identities, table
 *
 * Order matters: files and references are edited first (the new ids are
 * known from the plan; XFS through a kernel mount of the copy, unmounted
 * before anything else touches it; a Windows volume's SYSTEM hive through
 * libimgfmt's NTFS, closed again), then each filesystem gets its new
 * UUID through libimgfmt, then the
 * NTFS serials and swap UUIDs, and the partition table last.  A target
 * that fails anywhere is not committed (a new file is removed).
 */
#include "clone.h"
#include "mount.h"

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

/* The Linux operations on a root, the references on a root or /boot:
 * the same calls whether GU is an imgfmt_fs or a mounted root. */
static int edit_files(struct guest *gu, const struct vol_info *vi, const struct golden *g,
		      const struct clone_opts *o, struct target_plan *t, const char *name, char *err, size_t errlen)
{
	int rc = 0;

	if (vi->linux_root)
		rc = linux_personalize(gu, g, o, t);
	if (rc == 0 && (vi->linux_root || vi->boot))
		rc = linux_rewrite_refs(gu, &t->ids, vi->linux_root);
	if (rc < 0 || gu->err[0]) {
		snprintf(err, errlen, "%s: %s", name, gu->err[0] ? gu->err : strerror(-rc));
		rc = rc < 0 ? rc : -EIO;
	}
	return rc;
}

/* The new UUID C of FS (volume I), reported. */
static int set_fs_uuid(imgfmt_fs *fs, size_t i, const struct id_change *c, const struct golden *g,
		       struct target_plan *t, bool dry, char *err, size_t errlen)
{
	const char *name = g->vols[i].name;
	int rc = 0;

	if (!dry && (rc = imgfmt_fs_set_uuid(fs, c->new_id)) < 0)
		snprintf(err, errlen, "%s: cannot set the UUID: %s", name, imgfmt_fs_error(fs));
	else
		report_change(&t->rep, OP_FS_UUIDS, "%s: %s UUID %s -> %s", name, g->vols[i].fstype, c->old, c->new_id);
	return rc;
}

static imgfmt_fs *open_fs(imgfmt_disk *d, size_t i, bool write, char *err, size_t errlen)
{
	imgfmt_fs *fs = imgfmt_fs_new();
	int rc = fs ? imgfmt_fs_open(fs, d, i, write ? IMGFMT_FS_WRITE : 0) : -ENOMEM;

	if (rc < 0) {
		snprintf(err, errlen, "%s", fs ? imgfmt_fs_error(fs) : strerror(-rc));
		imgfmt_fs_free(fs);
		return NULL;
	}
	return fs;
}

/* One ext filesystem: its files through libimgfmt, then its new UUID. */
static int edit_ext(imgfmt_disk *d, size_t i, const struct golden *g, const struct clone_opts *o,
		    struct target_plan *t, bool dry, char *err, size_t errlen)
{
	const struct vol_info *vi = &g->info[i];
	const struct id_change *c = fs_change(&t->ids, i);
	const char *name = g->vols[i].name;
	struct guest gu;
	int rc = 0;

	if (!vi->linux_root && !vi->boot && !c)
		return 0;
	if (!(gu = guest_for(open_fs(d, i, !dry, err, errlen), dry, &t->rep)).fs)
		return -EIO;
	rc = edit_files(&gu, vi, g, o, t, name, err, errlen);
	if (rc == 0 && c)
		rc = set_fs_uuid(gu.fs, i, c, g, t, dry, err, errlen);
	if (rc == 0 && !dry && (rc = imgfmt_fs_commit(gu.fs)) < 0)
		snprintf(err, errlen, "%s: %s", name, imgfmt_fs_error(gu.fs));
	imgfmt_fs_free(gu.fs);
	return rc;
}

bool linux_ops_wanted(const struct clone_opts *o, const struct target_plan *t)
{
	for (int k = 0; k < OP_COUNT; k++)
		if (o->ops[k] && k != OP_FS_UUIDS && k != OP_DISK_IDS && (k != OP_HOSTNAME || t->hostname[0]))
			return true;
	return o->ssh_key_data != NULL;
}

bool xfs_needs_mount(const struct golden *g, size_t i, const struct clone_opts *o, const struct target_plan *t)
{
	const struct vol_info *vi = &g->info[i];

	return vi->kind == VOL_XFS &&
	       ((vi->linux_root && linux_ops_wanted(o, t)) || ((vi->linux_root || vi->boot) && ids_any(&t->ids)));
}

/* The files of XFS volume I, edited through a kernel mount of the copy at
 * PATH: a loop device over its byte range when it is one run of the disk,
 * else (an LV in several segments) over a FUSE file served from D. */
static int edit_xfs_mounted(imgfmt_disk *d, size_t i, const struct golden *g, const struct clone_opts *o,
			    struct target_plan *t, const char *path, char *err, size_t errlen)
{
	const struct imgfmt_volume *v = &g->vols[i];
	struct guest_mount *m;
	struct guest gu;
	char cerr[512];
	int rc, crc;

	if (v->segments <= 1)
		rc = guest_mount_range(&m, path, v->offset, v->size, "xfs", cerr, sizeof(cerr));
	else
		rc = guest_mount_volume(&m, d, i, "xfs", cerr, sizeof(cerr));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", v->name, cerr);
		return rc;
	}
	gu = guest_reporting_root(guest_mount_root(m), false, &t->rep.changes);
	rc = edit_files(&gu, &g->info[i], g, o, t, v->name, err, errlen);
	if ((crc = guest_mount_close(m, cerr, sizeof(cerr))) < 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", v->name, cerr);
		rc = crc;
	}
	if (rc == 0 && v->segments > 1)
		report_note(&t->rep, "%s: XFS edited through a kernel mount of the LV's %u segments (served by FUSE)",
			    v->name, v->segments);
	return rc;
}

/* One XFS filesystem: its files (mounted; read-only through libimgfmt for
 * a dry run), then, unmounted and clean, its new UUID through libimgfmt. */
static int edit_xfs(imgfmt_disk *d, size_t i, const struct golden *g, const struct clone_opts *o,
		    struct target_plan *t, const char *path, bool dry, char *err, size_t errlen)
{
	const struct id_change *c = fs_change(&t->ids, i);
	bool files = xfs_needs_mount(g, i, o, t);
	imgfmt_fs *fs;
	int rc = 0;

	if (!files && !c)
		return 0;
	if (files && !dry && (rc = edit_xfs_mounted(d, i, g, o, t, path, err, errlen)) < 0)
		return rc;
	if (!(fs = open_fs(d, i, !dry && c, err, errlen)))
		return -EIO;
	if (files && dry) {
		struct guest gu = guest_for(fs, true, &t->rep);
		rc = edit_files(&gu, &g->info[i], g, o, t, g->vols[i].name, err, errlen);
	}
	if (rc == 0 && c)
		rc = set_fs_uuid(fs, i, c, g, t, dry, err, errlen);
	if (rc == 0 && !dry && c && (rc = imgfmt_fs_commit(fs)) < 0)
		snprintf(err, errlen, "%s: %s", g->vols[i].name, imgfmt_fs_error(fs));
	imgfmt_fs_free(fs);
	return rc;
}

/* A Windows system volume: its computer name, when --hostname gives one
 * (the NTFS opened for writing on a copy only; read-only for a dry run). */
static int edit_windows(imgfmt_disk *d, size_t i, const struct golden *g, const struct clone_opts *o,
			struct target_plan *t, bool dry, char *err, size_t errlen)
{
	const char *name = g->vols[i].name;
	char why[512];
	imgfmt_fs *fs;
	int rc;

	if (!g->info[i].windows || !o->ops[OP_HOSTNAME] || !t->hostname[0])
		return 0;
	if (!(fs = open_fs(d, i, !dry, why, sizeof(why)))) { /* (a hibernated Windows: ntfs-3g's refusal) */
		size_t n = strlen(name);
		bool named = !strncmp(why, name, n) && !strncmp(why + n, ": ", 2);
		report_not_done(&t->rep, "%s: Windows: the computer name is not changed: %s", name, why + (named ? n + 2 : 0));
		return 0;
	}
	rc = windows_set_computer_name(fs, name, t->hostname, dry, &t->rep, err, errlen);
	if (rc == 0 && !dry && (rc = imgfmt_fs_commit(fs)) < 0)
		snprintf(err, errlen, "%s: %s", name, imgfmt_fs_error(fs));
	imgfmt_fs_free(fs);
	return rc;
}

static int set_volume_ids(imgfmt_disk *d, const struct golden *g, struct target_plan *t, bool dry, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < g->nvol; i++) {
		const struct id_change *c = fs_change(&t->ids, i);
		if (!c || g->info[i].kind == VOL_EXT || g->info[i].kind == VOL_XFS)
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

/* Every LVM2 volume group of the disk: new VG and PV UUIDs, as
 * vgimportclone gives them, so that a host seeing many clones of one golden
 * disk never sees duplicates; the VG keeps its name (/dev/mapper references
 * stay valid) unless --vg-name renames it (the references were rewritten
 * with the files).  The disk's list of LVs is stale afterwards: last step. */
static int set_lvm_ids(imgfmt_disk *d, const struct golden *g, const struct clone_opts *o, struct target_plan *t,
		       bool dry, char *err, size_t errlen)
{
	if (!o->ops[OP_DISK_IDS])
		return 0;
	for (size_t i = 0; i < g->nvol; i++) {
		const struct imgfmt_volume *v = &g->vols[i];
		bool seen = false;
		if (strcmp(v->fstype, "LVM2_member") || !v->lv_vg[0] || v->lv_name[0])
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(g->vols[j].fstype, "LVM2_member") && !strcmp(g->vols[j].lv_vg, v->lv_vg);
		if (seen)
			continue;
		bool rename = t->ids.vg_new[0] && !strcmp(v->lv_vg, t->ids.vg_old);
		if (!dry && imgfmt_disk_lvm_set_ids(d, v->lv_vg, rename ? t->ids.vg_new : NULL) < 0) {
			snprintf(err, errlen, "%s", imgfmt_disk_error(d));
			return -EIO;
		}
		if (rename)
			report_change(&t->rep, OP_DISK_IDS, "volume group %s: renamed %s, new VG UUID and PV UUIDs (as "
				      "vgimportclone gives them)", v->lv_vg, t->ids.vg_new);
		else
			report_change(&t->rep, OP_DISK_IDS, "volume group %s: new VG UUID and PV UUIDs (as vgimportclone "
				      "gives them; the name stays)", v->lv_vg);
	}
	return 0;
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
		else if (g->info[i].kind == VOL_XFS)
			rc = edit_xfs(d, i, g, o, t, path, dry, err, errlen);
		else if (g->info[i].kind == VOL_NTFS)
			rc = edit_windows(d, i, g, o, t, dry, err, errlen);
	if (rc == 0)
		rc = set_volume_ids(d, g, t, dry, err, errlen);
	if (rc == 0)
		rc = set_disk_ids(d, g, t, dry, err, errlen);
	if (rc == 0)
		rc = set_lvm_ids(d, g, o, t, dry, err, errlen);
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
