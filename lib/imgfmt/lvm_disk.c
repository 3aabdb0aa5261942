/* lvm_disk.c --- the logical volumes of LVM2 volume groups on a disk, as volumes
 *
 * Nothing is activated: the PV labels and metadata of the disk's own
 * volumes are read (lvm_label.c, lvm_text.c, lvm_vg.c) and each LV becomes
 * a volume read through its segments (volio.c).  A VG is taken from the
 * newest metadata among its PVs; LVs with an extent on a PV that is not on
 * this disk, and LVs rawkit cannot read (thin, cache, snapshot ...), are
 * listed with the reason and cannot be read.  Damaged metadata is a
 * warning, never a failure to open the disk.
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void imgfmt_volmap_free(struct imgfmt_volmap *map)
{
	if (!map)
		return;
	for (size_t i = 0; i < map->nsegs; i++)
		free(map->segs[i].area);
	free(map->segs);
	free(map);
}

void imgfmt_lvm_free_volumes(imgfmt_disk *disk)
{
	for (size_t i = 0; i < disk->nvolumes; i++) {
		if (disk->maps)
			imgfmt_volmap_free(disk->maps[i]);
		if (disk->pv_free)
			imgfmt_extents_free(disk->pv_free[i]);
	}
	free(disk->maps);
	disk->maps = NULL;
	free(disk->pv_free);
	disk->pv_free = NULL;
}

/* Whether DISK has a volume named NAME already. */
static bool name_taken(const imgfmt_disk *disk, const char *name)
{
	for (size_t i = 0; i < disk->nvolumes; i++)
		if (!strcmp(disk->volumes[i].name, name))
			return true;
	return false;
}

/* One PV found on the disk. */
struct pv_found {
	size_t index;                 /* its volume */
	struct imgfmt_lvm_label label;
	struct imgfmt_lvm_vg *vg;     /* parsed from its newest metadata, NULL when unreadable */
	bool used;                    /* its VG has been added */
};

static void warn(imgfmt_disk *disk, const char *fmt, ...) IMGFMT_PRINTF(2, 3);
static void warn(imgfmt_disk *disk, const char *fmt, ...)
{
	char msg[IMGFMT_ERRLEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	imgfmt_append_line(&disk->warnings, msg);
}

/* Read PV volume INDEX's label and newest metadata; false (with a warning)
 * when it cannot be used. */
static bool pv_load(imgfmt_disk *disk, struct pv_found *pv)
{
	const struct imgfmt_volume *v = &disk->volumes[pv->index];
	struct imgfmt_volume_ref r = { disk, pv->index };
	char err[IMGFMT_ERRLEN] = "";
	char *text = NULL;
	size_t len = 0;
	uint64_t seqno = 0;
	int rc;

	rc = imgfmt_lvm_read_label(imgfmt_volume_ref_read, &r, v->size, &pv->label, err);
	if (rc == 0)
		rc = imgfmt_lvm_read_text(imgfmt_volume_ref_read, &r, v->size, &pv->label, &text, &len, &seqno, err);
	if (rc == 0)
		rc = imgfmt_lvm_parse(text, len, &pv->vg, err);
	free(text);
	if (rc == -ENOMEM)
		return false;
	if (rc < 0) {
		warn(disk, "%s: LVM2 physical volume not read: %s", v->name, err[0] ? err : strerror(-rc));
		pv->vg = NULL;
		return false;
	}
	return true;
}

/* Append an empty volume to DISK (maps and pv_free grown with it). */
static struct imgfmt_volume *add_volume(imgfmt_disk *disk)
{
	struct imgfmt_volume *vols = realloc(disk->volumes, (disk->nvolumes + 1) * sizeof(*vols));
	struct imgfmt_volmap **maps;
	imgfmt_extents **pvf;

	if (!vols)
		return NULL;
	disk->volumes = vols;
	maps = realloc(disk->maps, (disk->nvolumes + 1) * sizeof(*maps));
	if (!maps)
		return NULL;
	disk->maps = maps;
	pvf = realloc(disk->pv_free, (disk->nvolumes + 1) * sizeof(*pvf));
	if (!pvf)
		return NULL;
	disk->pv_free = pvf;
	maps[disk->nvolumes] = NULL;
	pvf[disk->nvolumes] = NULL;
	memset(&vols[disk->nvolumes], 0, sizeof(*vols));
	return &vols[disk->nvolumes++];
}

/* Volume index of the PV of VG numbered K, or SIZE_MAX when it is not on this disk. */
static size_t pv_volume(const struct pv_found *pvs, size_t npvs, const struct imgfmt_lvm_vg *vg, unsigned k)
{
	for (size_t i = 0; i < npvs; i++)
		if (!strcmp(pvs[i].label.uuid, vg->pvs[k].uuid))
			return pvs[i].index;
	return SIZE_MAX;
}

/* The map of LV onto the disk; *WHY set (and NULL returned with errno 0)
 * when the LV cannot be read from this disk. */
static struct imgfmt_volmap *lv_map(imgfmt_disk *disk, const struct imgfmt_lvm_lv *lv, const size_t *pvvol,
				    char *why, size_t whysize)
{
	struct imgfmt_volmap *map = calloc(1, sizeof(*map));

	if (!map)
		return NULL;
	if (lv->refused[0]) {
		snprintf(why, whysize, "%s", lv->refused);
		map->refused = true;
		return map;
	}
	map->segs = calloc(lv->nsegs ? lv->nsegs : 1, sizeof(*map->segs));
	if (!map->segs)
		goto nomem;
	for (size_t s = 0; s < lv->nsegs; s++) {
		const struct imgfmt_lvm_seg *from = &lv->segs[s];
		struct imgfmt_lvm_seg *to = &map->segs[s];
		*to = *from;
		to->area = calloc(from->stripes, sizeof(*to->area));
		if (!to->area)
			goto nomem;
		map->nsegs = s + 1;
		for (uint32_t k = 0; k < from->stripes; k++) {
			size_t vi = pvvol[from->area[k].pv];
			if (vi == SIZE_MAX) {
				snprintf(why, whysize, "has extents on a physical volume that is not on this disk");
				imgfmt_volmap_free(map);
				map = calloc(1, sizeof(*map));
				if (!map)
					return NULL;
				map->refused = true;
				return map;
			}
			to->area[k].pv = (unsigned)vi;
			to->area[k].offset = disk->volumes[vi].offset + from->area[k].offset;
		}
	}
	return map;
nomem:
	imgfmt_volmap_free(map);
	return NULL;
}

/* The extents of the PVs of VG that no LV holds: pv_free of each PV volume. */
static int pv_free_extents(imgfmt_disk *disk, const struct imgfmt_lvm_vg *vg, const size_t *pvvol)
{
	for (size_t k = 0; k < vg->npvs; k++) {
		size_t vi = pvvol[k];
		imgfmt_extents *held, *area, *freex;
		uint64_t base;

		if (vi == SIZE_MAX)
			continue;
		base = disk->volumes[vi].offset;
		held = imgfmt_extents_new();
		area = imgfmt_extents_new();
		freex = imgfmt_extents_new();
		if (!held || !area || !freex)
			goto nomem;
		if (imgfmt_extents_add(area, base + vg->pvs[k].pe_start, vg->pvs[k].pe_count * vg->extent_size) < 0)
			goto nomem;
		for (size_t a = 0; a < vg->nalloc; a++)
			if (vg->alloc[a].pv == k &&
			    imgfmt_extents_add(held, base + vg->alloc[a].offset, vg->alloc[a].length) < 0)
				goto nomem;
		imgfmt_extents_normalize(held);
		if (imgfmt_extents_subtract(area, held, freex) < 0)
			goto nomem;
		imgfmt_extents_free(held);
		imgfmt_extents_free(area);
		imgfmt_extents_free(disk->pv_free[vi]);
		disk->pv_free[vi] = freex;
		continue;
nomem:
		imgfmt_extents_free(held);
		imgfmt_extents_free(area);
		imgfmt_extents_free(freex);
		return -ENOMEM;
	}
	return 0;
}

/* Add the LVs of VG (read from PV volumes PVVOL[k]) as volumes. */
static int add_vg(imgfmt_disk *disk, const struct imgfmt_lvm_vg *vg, const size_t *pvvol)
{
	/* every PV on this disk must hold the extents the metadata gives it */
	for (size_t k = 0; k < vg->npvs; k++) {
		const struct imgfmt_volume *pv;
		if (pvvol[k] == SIZE_MAX)
			continue;
		pv = &disk->volumes[pvvol[k]];
		if (vg->pvs[k].pe_count > UINT64_MAX / vg->extent_size ||
		    vg->pvs[k].pe_start > pv->size ||
		    vg->pvs[k].pe_count * vg->extent_size > pv->size - vg->pvs[k].pe_start) {
			warn(disk, "%s: LVM2 volume group %s not read: its extents on this physical volume end past the volume",
			     pv->name, vg->name);
			return 0;
		}
	}
	if (pv_free_extents(disk, vg, pvvol) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < vg->npvs; k++)
		if (pvvol[k] != SIZE_MAX)
			snprintf(disk->volumes[pvvol[k]].lv_vg, sizeof(disk->volumes[0].lv_vg), "%s", vg->name);
	for (size_t l = 0; l < vg->nlvs; l++) {
		const struct imgfmt_lvm_lv *lv = &vg->lvs[l];
		char name[256], why[160] = "";
		struct imgfmt_volmap *map;
		struct imgfmt_volume *v;

		if (imgfmt_lvm_dm_name(vg->name, lv->name, name, sizeof(name)) < 0) {
			warn(disk, "LVM2 logical volume %s/%s: name too long, left out", vg->name, lv->name);
			continue;
		}
		if (name_taken(disk, name)) {
			warn(disk, "LVM2 logical volume %s: a second volume of that name (two volume groups named %s?), left out",
			     name, vg->name);
			continue;
		}
		map = lv_map(disk, lv, pvvol, why, sizeof(why));
		if (!map || !(v = add_volume(disk))) {
			imgfmt_volmap_free(map);
			return -ENOMEM;
		}
		disk->maps[disk->nvolumes - 1] = map;
		snprintf(v->name, sizeof(v->name), "%s", name);
		snprintf(v->lv_vg, sizeof(v->lv_vg), "%s", vg->name);
		snprintf(v->lv_name, sizeof(v->lv_name), "%s", lv->name);
		snprintf(v->lv_uuid, sizeof(v->lv_uuid), "%s", lv->uuid);
		snprintf(v->lv_layout, sizeof(v->lv_layout), "%s", lv->layout);
		snprintf(v->type_name, sizeof(v->type_name), "LVM2 logical volume");
		v->size = lv->size;
		v->parent = -1;
		if (map->refused) {
			v->unreadable = 1;
			snprintf(v->probe_note, sizeof(v->probe_note), "%s", why);
			continue;
		}
		v->offset = map->nsegs ? map->segs[0].area[0].offset : 0;
		v->parent = map->nsegs ? (int)map->segs[0].area[0].pv : -1;
		for (size_t s = 0; s < map->nsegs; s++)
			v->segments += map->segs[s].stripes;
		if (imgfmt_probe_lv(disk, disk->nvolumes - 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

int imgfmt_lvm_add_volumes(imgfmt_disk *disk)
{
	size_t nparts = disk->nvolumes, npvs = 0;
	struct pv_found *pvs;
	int rc = 0;

	for (size_t i = 0; i < nparts; i++)
		npvs += !strcmp(disk->volumes[i].fstype, "LVM2_member");
	if (!npvs)
		return 0;
	pvs = calloc(npvs, sizeof(*pvs));
	disk->maps = calloc(nparts, sizeof(*disk->maps));
	disk->pv_free = calloc(nparts, sizeof(*disk->pv_free));
	if (!pvs || !disk->maps || !disk->pv_free) {
		free(pvs);
		return disk_fail(disk, -ENOMEM, "out of memory");
	}
	npvs = 0;
	for (size_t i = 0; i < nparts; i++) {
		if (strcmp(disk->volumes[i].fstype, "LVM2_member"))
			continue;
		pvs[npvs].index = i;
		pv_load(disk, &pvs[npvs]);
		npvs++;
	}
	/* one VG at a time, from the PV of it with the newest metadata */
	for (size_t i = 0; rc == 0 && i < npvs; i++) {
		size_t best = i, *pvvol;
		if (!pvs[i].vg || pvs[i].used)
			continue;
		for (size_t j = i + 1; j < npvs; j++)
			if (pvs[j].vg && !strcmp(pvs[j].vg->uuid, pvs[i].vg->uuid) && pvs[j].vg->seqno > pvs[best].vg->seqno)
				best = j;
		for (size_t j = i; j < npvs; j++)
			if (pvs[j].vg && !strcmp(pvs[j].vg->uuid, pvs[i].vg->uuid))
				pvs[j].used = true;
		pvvol = malloc(pvs[best].vg->npvs * sizeof(*pvvol) + 1);
		if (!pvvol) {
			rc = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < pvs[best].vg->npvs; k++)
			pvvol[k] = pv_volume(pvs, npvs, pvs[best].vg, (unsigned)k);
		rc = add_vg(disk, pvs[best].vg, pvvol);
		free(pvvol);
	}
	for (size_t i = 0; i < npvs; i++)
		imgfmt_lvm_vg_free(pvs[i].vg);
	free(pvs);
	return rc < 0 ? disk_fail(disk, rc, "out of memory") : 0;
}
