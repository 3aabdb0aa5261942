/* lvm_write.c --- new identities for a cloned VG (vgimportclone) and a grown PV (pvresize), written offline
 *
 * Both change the VG's metadata the way LVM2 does: the newest text among
 * the VG's PVs on this disk is rewritten (lvm_rewrite.c) with seqno + 1
 * and put into the ring buffer of every metadata area of every PV where
 * LVM2 would put it (lvm_label.c), then each area's header points at it;
 * new PV uuids and sizes go into the labels.  Everything is read, checked
 * and computed first; nothing is written unless all of it fits.
 */
#include "imgfmt_private.h"
#include "lvm.h"
#include "lvm_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SECTOR 512u

struct mda_write {
	unsigned char header[SECTOR];
	struct imgfmt_lvm_mda mda;
	uint64_t start;     /* of the new text, from the area's start */
	bool skip;          /* ignored area: LVM2 keeps no text there */
};

struct pv_write {
	size_t index;                      /* its volume */
	struct imgfmt_lvm_label label;
	unsigned char sector[SECTOR];      /* the label sector as read */
	struct mda_write mda[2];
	char new_uuid[40];
};

/* The VG's PVs on the disk and its newest metadata. */
struct vg_write {
	imgfmt_disk *disk;
	const char *name;
	struct pv_write *pvs;
	size_t npvs;
	char *text;                        /* the newest text, and then the new one */
	size_t len;
	uint64_t seqno;
	struct imgfmt_lvm_vg *vg;          /* parsed from the newest text */
};

static void vg_write_free(struct vg_write *w)
{
	free(w->pvs);
	free(w->text);
	imgfmt_lvm_vg_free(w->vg);
}

/* A volume of DISK that may be a PV: a partition or the whole disk (not an
 * LV) in which libblkid found an LVM2 label. */
static bool maybe_pv(const imgfmt_disk *disk, size_t i)
{
	return !(disk->maps && disk->maps[i]) && !strcmp(disk->volumes[i].fstype, "LVM2_member");
}

/* The label and newest metadata of PV volume PV->index into PV, *TEXT and
 * *VG (message on the disk when it cannot be read). */
static int read_pv(imgfmt_disk *disk, struct pv_write *pv, char **text, size_t *len, uint64_t *seqno,
		   struct imgfmt_lvm_vg **vg)
{
	const struct imgfmt_volume *v = &disk->volumes[pv->index];
	struct imgfmt_volume_ref r = { disk, pv->index };
	char err[IMGFMT_ERRLEN] = "";
	int rc;

	*text = NULL;
	*vg = NULL;
	if ((rc = imgfmt_lvm_read_label(imgfmt_volume_ref_read, &r, v->size, &pv->label, err)) < 0 ||
	    (rc = imgfmt_lvm_read_text(imgfmt_volume_ref_read, &r, v->size, &pv->label, text, len, seqno, err)) < 0 ||
	    (rc = imgfmt_lvm_parse(*text, *len, vg, err)) < 0) {
		free(*text);
		*text = NULL;
		return disk_fail(disk, rc == -ENOMEM || rc == -EIO ? rc : -EINVAL, "%s: LVM2 physical volume: %s", v->name,
				 err);
	}
	return 0;
}

/* PV's label sector and metadata area headers. */
static int read_areas(imgfmt_disk *disk, struct pv_write *pv)
{
	const struct imgfmt_volume *v = &disk->volumes[pv->index];
	char err[IMGFMT_ERRLEN] = "";
	int rc;

	if ((rc = imgfmt_volume_pread(disk, pv->index, pv->sector, SECTOR, pv->label.label_offset)) < 0)
		return rc;
	for (unsigned m = 0; m < pv->label.nmda; m++) {
		struct mda_write *mw = &pv->mda[m];
		if ((rc = imgfmt_volume_pread(disk, pv->index, mw->header, SECTOR, pv->label.mda[m].offset)) < 0)
			return rc;
		if ((rc = imgfmt_lvm_mda_parse(mw->header, pv->label.mda[m].offset, pv->label.mda[m].size, &mw->mda, err)) <
		    0)
			return disk_fail(disk, rc, "%s: LVM2 metadata area %u: %s", v->name, m + 1, err);
		mw->skip = mw->mda.ignored;
	}
	return 0;
}

/* PV volume I, when its metadata is of volume group W->name, into W (its
 * newest text kept when newer).  VG_UUID: that of the first one found; a
 * second VG of that name is refused.  PVs that cannot be read are left
 * out (the VG is then found incomplete). */
static int add_pv(struct vg_write *w, size_t i, char vg_uuid[40])
{
	struct pv_write *pv = &w->pvs[w->npvs];
	struct imgfmt_lvm_vg *vg;
	char *text;
	size_t len;
	uint64_t seqno;
	int rc;

	memset(pv, 0, sizeof(*pv));
	pv->index = i;
	if ((rc = read_pv(w->disk, pv, &text, &len, &seqno, &vg)) < 0)
		return rc == -ENOMEM || rc == -EIO ? rc : 0;
	if (strcmp(vg->name, w->name)) {
		rc = 0;
	} else if (vg_uuid[0] && strcmp(vg_uuid, vg->uuid)) {
		rc = disk_fail(w->disk, -EINVAL, "two volume groups named %s on this disk", w->name);
	} else {
		snprintf(vg_uuid, 40, "%s", vg->uuid);
		w->npvs++;
		if (!w->text || seqno > w->seqno) {
			free(w->text);
			imgfmt_lvm_vg_free(w->vg);
			w->text = text, w->len = len, w->seqno = seqno, w->vg = vg;
			text = NULL, vg = NULL;
		}
		rc = read_areas(w->disk, pv);
	}
	free(text);
	imgfmt_lvm_vg_free(vg);
	return rc;
}

/* Every PV of volume group NAME on DISK, read; the VG complete on it. */
static int load_vg(struct vg_write *w, imgfmt_disk *disk, const char *name)
{
	char vg_uuid[40] = "";
	size_t n = 0;
	int rc;

	memset(w, 0, sizeof(*w));
	w->disk = disk;
	w->name = name;
	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	for (size_t i = 0; i < disk->nvolumes; i++)
		n += maybe_pv(disk, i);
	if (n && !(w->pvs = calloc(n, sizeof(*w->pvs))))
		return disk_fail(disk, -ENOMEM, "out of memory");
	for (size_t i = 0; i < disk->nvolumes; i++)
		if (maybe_pv(disk, i) && (rc = add_pv(w, i, vg_uuid)) < 0)
			return rc;
	if (!w->npvs)
		return disk_fail(disk, -ENOENT, "no LVM2 volume group %s on this disk", name);
	/* every PV of the VG here, and nothing else */
	for (size_t k = 0; k < w->vg->npvs; k++) {
		size_t i = 0;
		while (i < w->npvs && strcmp(w->pvs[i].label.uuid, w->vg->pvs[k].uuid))
			i++;
		if (i == w->npvs)
			return disk_fail(disk, -EINVAL, "volume group %s is incomplete on this disk: physical volume %s is missing",
					 name, w->vg->pvs[k].uuid);
	}
	if (w->npvs != w->vg->npvs)
		return disk_fail(disk, -EINVAL, "volume group %s: a physical volume on this disk is not in its metadata", name);
	if (w->seqno >= UINT32_MAX)
		return disk_fail(disk, -EINVAL, "volume group %s: seqno at its maximum", name);
	return 0;
}

/* A new random LVM2 id as pvs shows it: 32 of [0-9a-zA-Z] (LVM2's id_create
 * leaves out its '!' and '#'), in groups 6-4-4-4-4-4-6. */
static int random_id(char out[40])
{
	static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char b[64];
	size_t o = 0, n = 0;

	while (n < 32) {
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			return -EIO;
		for (size_t i = 0; i < sizeof(b) && n < 32; i++) {
			if (b[i] >= 248) /* 248 = 4 * 62: no bias */
				continue;
			if (n == 6 || n == 10 || n == 14 || n == 18 || n == 22 || n == 26)
				out[o++] = '-';
			out[o++] = chars[b[i] % 62];
			n++;
		}
	}
	out[o] = '\0';
	return 0;
}

/* LVM2's rule for a VG name (lib/misc/lvm-string.c, validate_name). */
static bool valid_vg_name(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 127 || n[0] == '-' || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
		      *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

/* The new text (W->text replaced) placed in every area; then written:
 * texts, area headers, labels (with LABEL_SIZE of each PV, or its own
 * recorded size when 0). */
static int place_and_write(struct vg_write *w, const uint64_t *label_size)
{
	imgfmt_disk *disk = w->disk;
	uint64_t size = w->len + 1; /* LVM2 stores and checksums the terminating NUL */
	uint32_t crc = lvm_crc(LVM_INITIAL_CRC, w->text, size);
	char why[IMGFMT_ERRLEN];
	int rc;

	for (size_t i = 0; i < w->npvs; i++) {
		struct pv_write *pv = &w->pvs[i];
		for (unsigned m = 0; m < pv->label.nmda; m++) {
			struct mda_write *mw = &pv->mda[m];
			if (mw->skip)
				continue;
			if (imgfmt_lvm_mda_place(&mw->mda, size, &mw->start, why) < 0)
				return disk_fail(disk, -EINVAL, "%s: LVM2 metadata area %u: %s",
						 disk->volumes[pv->index].name, m + 1, why);
			imgfmt_lvm_mda_commit(mw->header, mw->start, size, crc);
		}
		if (imgfmt_lvm_label_update(pv->sector, pv->new_uuid[0] ? pv->new_uuid : NULL,
					    label_size[i]) < 0)
			return disk_fail(disk, -EINVAL, "%s: LVM2 label cannot be updated", disk->volumes[pv->index].name);
	}
	/* all computed: the texts (in free space of the rings), then the headers
	 * that commit them, then the labels */
	for (int step = 0; step < 3; step++)
		for (size_t i = 0; i < w->npvs; i++) {
			struct pv_write *pv = &w->pvs[i];
			if (step == 2) {
				if ((rc = imgfmt_volume_pwrite(disk, pv->index, pv->sector, SECTOR, pv->label.label_offset)) < 0)
					return rc;
				continue;
			}
			for (unsigned m = 0; m < pv->label.nmda; m++) {
				struct mda_write *mw = &pv->mda[m];
				uint64_t area = pv->label.mda[m].offset, first = size, wrap = 0;
				if (mw->skip)
					continue;
				if (step == 1) {
					rc = imgfmt_volume_pwrite(disk, pv->index, mw->header, SECTOR, area);
				} else {
					if (mw->start + size > mw->mda.size)
						first = mw->mda.size - mw->start, wrap = size - first;
					rc = imgfmt_volume_pwrite(disk, pv->index, w->text, first, area + mw->start);
					if (rc == 0 && wrap)
						rc = imgfmt_volume_pwrite(disk, pv->index, w->text + first, wrap, area + SECTOR);
				}
				if (rc < 0)
					return rc;
			}
		}
	return 0;
}

/* W's text rewritten with EDIT (seqno + 1). */
static int rewrite(struct vg_write *w, struct imgfmt_lvm_edit *edit)
{
	char err[IMGFMT_ERRLEN] = "";
	char *text;
	size_t len;
	int rc;

	edit->seqno = w->seqno + 1;
	if ((rc = imgfmt_lvm_rewrite(w->text, w->len, edit, &text, &len, err)) < 0)
		return disk_fail(w->disk, rc, "volume group %s: %s", w->name, err);
	free(w->text);
	w->text = text;
	w->len = len;
	return 0;
}

int imgfmt_disk_lvm_set_ids(imgfmt_disk *disk, const char *vg, const char *new_vg_name)
{
	struct imgfmt_lvm_pv_edit *pe = NULL;
	uint64_t *sizes = NULL;
	struct vg_write w;
	char vg_uuid[40];
	int rc;

	if (!vg || !valid_vg_name(vg))
		return disk_fail(disk, -EINVAL, "\"%s\" is not a volume group name", vg ? vg : "");
	if (new_vg_name && !valid_vg_name(new_vg_name))
		return disk_fail(disk, -EINVAL, "\"%s\" is not a valid volume group name (LVM2 allows 1 to 127 of "
				 "a-z A-Z 0-9 + _ . -, no leading -, not . or ..)", new_vg_name);
	if ((rc = load_vg(&w, disk, vg)) < 0)
		goto out;
	pe = calloc(w.npvs, sizeof(*pe));
	sizes = calloc(w.npvs, sizeof(*sizes));
	if (!pe || !sizes) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = random_id(vg_uuid)) < 0) {
		rc = disk_fail(disk, rc, "no random numbers");
		goto out;
	}
	for (size_t i = 0; i < w.npvs; i++) {
		if ((rc = random_id(w.pvs[i].new_uuid)) < 0) {
			rc = disk_fail(disk, rc, "no random numbers");
			goto out;
		}
		pe[i] = (struct imgfmt_lvm_pv_edit){ .uuid = w.pvs[i].label.uuid, .new_uuid = w.pvs[i].new_uuid };
		sizes[i] = w.pvs[i].label.dev_size;
	}
	struct imgfmt_lvm_edit edit = { .new_name = new_vg_name, .new_uuid = vg_uuid, .npvs = w.npvs, .pvs = pe };
	if ((rc = rewrite(&w, &edit)) == 0)
		rc = place_and_write(&w, sizes);
out:
	free(pe);
	free(sizes);
	vg_write_free(&w);
	return rc;
}

/* Whether PV K of VG has extents in use at or past extent COUNT. */
static bool extents_in_use_from(const struct imgfmt_lvm_vg *vg, unsigned k, uint64_t count)
{
	uint64_t end = vg->pvs[k].pe_start + count * vg->extent_size;

	for (size_t a = 0; a < vg->nalloc; a++)
		if (vg->alloc[a].pv == k && vg->alloc[a].offset + vg->alloc[a].length > end)
			return true;
	return false;
}

int imgfmt_disk_lvm_resize_pv(imgfmt_disk *disk, size_t index)
{
	const struct imgfmt_volume *v;
	struct imgfmt_lvm_pv_edit pe = { .set_size = true };
	uint64_t *sizes = NULL, dev_size, pe_count;
	struct vg_write w;
	char name[128];
	size_t me = 0;
	unsigned k = 0;
	int rc;

	if (index >= disk->nvolumes)
		return disk_fail(disk, -EINVAL, "no volume number %zu", index);
	v = &disk->volumes[index];
	if (!maybe_pv(disk, index))
		return disk_fail(disk, -EINVAL, "%s is not an LVM2 physical volume", v->name);
	/* its VG's name from its own metadata (the disk did not list the VG when
	 * the partition was cut shorter than its extents) */
	{
		struct pv_write pv = { .index = index };
		struct imgfmt_lvm_vg *vg;
		char *text;
		size_t len;
		uint64_t seqno;
		if ((rc = read_pv(disk, &pv, &text, &len, &seqno, &vg)) < 0)
			return rc;
		snprintf(name, sizeof(name), "%s", vg->name);
		free(text);
		imgfmt_lvm_vg_free(vg);
	}
	if ((rc = load_vg(&w, disk, name)) < 0)
		goto out;
	while (w.pvs[me].index != index)
		me++;
	while (strcmp(w.vg->pvs[k].uuid, w.pvs[me].label.uuid))
		k++;
	for (unsigned m = 0; m < w.pvs[me].label.nmda; m++)
		if (w.pvs[me].label.mda[m].offset >= w.vg->pvs[k].pe_start) {
			rc = disk_fail(disk, -ENOTSUP, "%s: the LVM2 physical volume has a metadata area at its end: run "
					 "pvresize in the guest", v->name);
			goto out;
		}
	/* as pvresize: the size after pe_start, in whole extents */
	if (v->size / SECTOR <= w.vg->pvs[k].pe_start / SECTOR) {
		rc = disk_fail(disk, -EINVAL, "%s: %llu bytes do not reach the first extent", v->name,
			       (unsigned long long)v->size);
		goto out;
	}
	dev_size = v->size / SECTOR - w.vg->pvs[k].pe_start / SECTOR;
	pe_count = dev_size * SECTOR / w.vg->extent_size;
	if (!pe_count || pe_count > UINT32_MAX) {
		rc = disk_fail(disk, -EINVAL, "%s: room for %llu extents of %llu bytes", v->name,
			       (unsigned long long)pe_count, (unsigned long long)w.vg->extent_size);
		goto out;
	}
	if (pe_count < w.vg->pvs[k].pe_count && extents_in_use_from(w.vg, k, pe_count)) {
		rc = disk_fail(disk, -EINVAL, "%s: shrinking the physical volume to %llu extents would cut off extents in use",
			       v->name, (unsigned long long)pe_count);
		goto out;
	}
	if (!(sizes = calloc(w.npvs, sizeof(*sizes)))) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w.npvs; i++)
		sizes[i] = i == me ? v->size : w.pvs[i].label.dev_size;
	pe.uuid = w.pvs[me].label.uuid;
	pe.dev_size = dev_size;
	pe.pe_count = pe_count;
	struct imgfmt_lvm_edit edit = { .npvs = 1, .pvs = &pe };
	if ((rc = rewrite(&w, &edit)) == 0)
		rc = place_and_write(&w, sizes);
out:
	free(sizes);
	vg_write_free(&w);
	return rc;
}

int imgfmt_disk_lvm_pv_data_offset(imgfmt_disk *disk, size_t index, uint64_t *offset)
{
	struct imgfmt_volume_ref r = { disk, index };
	struct imgfmt_lvm_label label;
	char err[IMGFMT_ERRLEN] = "";
	int rc;

	if (index >= disk->nvolumes)
		return disk_fail(disk, -EINVAL, "no volume number %zu", index);
	if (!maybe_pv(disk, index))
		return disk_fail(disk, -EINVAL, "%s is not an LVM2 physical volume", disk->volumes[index].name);
	rc = imgfmt_lvm_read_label(imgfmt_volume_ref_read, &r, disk->volumes[index].size, &label, err);
	if (rc < 0)
		return disk_fail(disk, rc == -EIO ? rc : -EINVAL, "%s: LVM2 physical volume: %s", disk->volumes[index].name,
				 err[0] ? err : "no label");
	if (label.data_offset > disk->volumes[index].size)
		return disk_fail(disk, -EINVAL, "%s: LVM2 physical volume: its data area starts past its end",
				 disk->volumes[index].name);
	*offset = label.data_offset;
	return 0;
}
