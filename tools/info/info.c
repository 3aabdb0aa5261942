/* info.c --- rawkit-info's work: open a disk and describe it */
#include "info.h"
#include "cli.h"
#include "imgfmt.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

struct vol_report {
	struct imgfmt_volume v;
	uint64_t copy_bytes;   /* what the copy engine would copy */
	const char *note;
	char fs_type[16];      /* "" when the filesystem was not read */
	uint64_t fs_total, fs_free;
	int dirty;
	struct imgfmt_consistency_info consistency;
};

static void collect(imgfmt_disk *disk, size_t i, struct vol_report *r)
{
	imgfmt_extents *used = NULL;
	imgfmt_fs *fs = NULL;

	imgfmt_disk_volume(disk, i, &r->v);
	if (imgfmt_disk_used(disk, (int)i, &used) == 0)
		r->copy_bytes = imgfmt_extents_bytes(used);
	imgfmt_extents_free(used);
	r->note = imgfmt_disk_used_note(disk, i);
	if (r->v.fstype[0] && (fs = imgfmt_fs_new()) && imgfmt_fs_open(fs, disk, i, 0) == 0) {
		snprintf(r->fs_type, sizeof(r->fs_type), "%s", imgfmt_fs_type(fs));
		imgfmt_fs_sizes(fs, NULL, &r->fs_total, &r->fs_free);
		r->dirty = imgfmt_fs_dirty(fs);
		imgfmt_fs_consistency(fs, &r->consistency);
	}
	imgfmt_fs_free(fs);
}

/* How a crash-consistent snapshot's filesystem was read, for the NOTE column. */
static const char *consistency_text(const struct vol_report *r, char *buf, size_t size)
{
	const struct imgfmt_consistency_info *c = &r->consistency;

	switch (c->state) {
	case IMGFMT_REPLAYED:
		snprintf(buf, size, "journal replayed: %u transaction%s, %llu block%s", c->transactions,
			 c->transactions == 1 ? "" : "s", (unsigned long long)c->blocks, c->blocks == 1 ? "" : "s");
		break;
	case IMGFMT_UNREPLAYABLE:
		snprintf(buf, size, "journal cannot be replayed: %s", c->note);
		break;
	case IMGFMT_NTFS_UNCLEAN:
		snprintf(buf, size, "NTFS not cleanly shut down (read as it is)");
		break;
	case IMGFMT_XFS_LOG_DIRTY:
		snprintf(buf, size, "XFS log not replayed (read as it is)");
		break;
	default:
		buf[0] = 0;
	}
	return buf;
}

static void print_text(imgfmt_disk *disk, struct vol_report *r, size_t n, uint64_t total_copy)
{
	char a[16], b[16], c[16], d[16];
	const char *label = imgfmt_disk_label(disk), *warn = imgfmt_disk_warnings(disk);
	int w = 5;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(r[i].v.name) > w)
			w = (int)strlen(r[i].v.name);
	printf("disk %s: %s, %s, %u-byte sectors\n", imgfmt_disk_path(disk),
	       imgfmt_disk_is_rbd(disk) ? "RBD image" : imgfmt_disk_is_blockdev(disk) ? "block device" : "image file",
	       cli_human(imgfmt_disk_size(disk), a, sizeof(a)), imgfmt_disk_sector_size(disk));
	printf("partition table: %s%s%s\n", label[0] ? label : "none", imgfmt_disk_id(disk)[0] ? ", id " : "",
	       imgfmt_disk_id(disk));
	if (warn[0])
		printf("warnings: %s\n", warn);
	printf("%-*s %10s %10s  %-24s %-6s %10s %10s  %s\n", w, "NAME", "START", "SIZE", "TYPE", "FS", "FS-USED",
	       "TO-COPY", "LABEL/NOTE");
	for (size_t i = 0; i < n; i++) {
		const struct imgfmt_volume *v = &r[i].v;
		const char *note = r[i].note[0] ? r[i].note : v->fs_label;
		char state[300], where[300] = "";
		consistency_text(&r[i], state, sizeof(state));
		if (v->lv_name[0] && v->segments > 1)
			snprintf(where, sizeof(where), "; %s %s in %u runs from %s", v->lv_layout, "LV", v->segments,
				 v->parent >= 0 ? r[v->parent].v.name : "?");
		else if (v->lv_name[0] && v->parent >= 0)
			snprintf(where, sizeof(where), "; %s LV on %s", v->lv_layout, r[v->parent].v.name);
		else if (!v->lv_name[0] && v->lv_vg[0])
			snprintf(where, sizeof(where), "; LVM2 volume group %s", v->lv_vg);
		if (!note[0] && where[0])
			memmove(where, where + 2, strlen(where + 2) + 1);
		printf("%-*s %10s %10s  %-24.24s %-6s %10s %10s  %s%s%s%s%s\n", w, v->name, cli_human(v->offset, a, sizeof(a)),
		       cli_human(v->size, b, sizeof(b)), v->type_name[0] ? v->type_name : "-",
		       v->fstype[0] ? v->fstype : "-",
		       r[i].fs_total ? cli_human(r[i].fs_total - r[i].fs_free, c, sizeof(c)) : "-",
		       cli_human(r[i].copy_bytes, d, sizeof(d)), note, where, (note[0] || where[0]) && state[0] ? "; " : "", state,
		       r[i].dirty && !state[0] ? " (not cleanly unmounted)" : "");
	}
	printf("used: %s of %s would be copied\n", cli_human(total_copy, a, sizeof(a)),
	       cli_human(imgfmt_disk_size(disk), b, sizeof(b)));
}

static json_t *volume_json(const struct vol_report *r, const struct vol_report *all)
{
	const struct imgfmt_volume *v = &r->v;
	json_t *o = json_object();

	json_put(o, "name", json_text(v->name));
	json_put(o, "partno", json_integer(v->partno));
	json_put(o, "parent", json_text(v->parent >= 0 ? all[v->parent].v.name : ""));
	json_put(o, "segments", json_integer(v->segments));
	json_put(o, "lv_vg", json_text(v->lv_vg));
	json_put(o, "lv_name", json_text(v->lv_name));
	json_put(o, "lv_uuid", json_text(v->lv_uuid));
	json_put(o, "lv_layout", json_text(v->lv_layout));
	json_put(o, "offset_bytes", json_count(v->offset));
	json_put(o, "size_bytes", json_count(v->size));
	json_put(o, "container", json_boolean(v->container));
	json_put(o, "type", json_text(v->type));
	json_put(o, "type_name", json_text(v->type_name));
	json_put(o, "part_uuid", json_text(v->part_uuid));
	json_put(o, "part_name", json_text(v->part_name));
	json_put(o, "fstype", json_text(v->fstype));
	json_put(o, "fs_uuid", json_text(v->fs_uuid));
	json_put(o, "fs_label", json_text(v->fs_label));
	json_put(o, "fs_size_bytes", json_count(r->fs_total));
	json_put(o, "fs_free_bytes", json_count(r->fs_free));
	json_put(o, "dirty", json_boolean(r->dirty));
	json_put(o, "consistency", json_string(r->fs_type[0] ? imgfmt_consistency_name(r->consistency.state) : ""));
	json_put(o, "journal_transactions", json_integer(r->consistency.transactions));
	json_put(o, "journal_blocks", json_count(r->consistency.blocks));
	json_put(o, "consistency_note", json_text(r->consistency.note));
	json_put(o, "used_bytes", json_count(r->copy_bytes));
	json_put(o, "note", json_text(r->note[0] ? r->note : v->probe_note));
	return o;
}

static void print_json(imgfmt_disk *disk, struct vol_report *r, size_t n, uint64_t total_copy)
{
	json_t *o = json_object(), *vols = json_array();

	if (imgfmt_disk_warnings(disk)[0])
		json_warning(imgfmt_disk_path(disk), imgfmt_disk_warnings(disk));
	json_put(o, "disk", json_text(imgfmt_disk_path(disk)));
	json_put(o, "disk_bytes", json_count(imgfmt_disk_size(disk)));
	json_put(o, "sector_bytes", json_integer(imgfmt_disk_sector_size(disk)));
	json_put(o, "block_device", json_boolean(imgfmt_disk_is_blockdev(disk)));
	json_put(o, "label", json_text(imgfmt_disk_label(disk)));
	json_put(o, "id", json_text(imgfmt_disk_id(disk)));
	json_put(o, "used_bytes", json_count(total_copy));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(vols, volume_json(&r[i], r));
	json_put(o, "volumes", vols);
	json_print(o, RAWKIT_EXIT_DONE);
}

int info_run(const char *path, bool json)
{
	imgfmt_disk *disk = imgfmt_disk_new();
	struct vol_report *reports = NULL;
	imgfmt_extents *all = NULL;
	uint64_t total_copy = 0;
	size_t n;
	int status = RAWKIT_EXIT_FAILED;

	if (!disk) {
		cli_error(path, "out of memory");
		return RAWKIT_EXIT_FAILED;
	}
	if (imgfmt_disk_open(disk, path, 0) < 0) {
		cli_error(path, "%s", imgfmt_disk_error(disk));
		goto out;
	}
	n = imgfmt_disk_volume_count(disk);
	reports = calloc(n, sizeof(*reports));
	if (!reports || imgfmt_disk_used(disk, -1, &all) < 0) {
		cli_error(path, "cannot map used space: %s", reports ? imgfmt_disk_error(disk) : "out of memory");
		goto out;
	}
	total_copy = imgfmt_extents_bytes(all);
	for (size_t i = 0; i < n; i++)
		collect(disk, i, &reports[i]);
	if (json)
		print_json(disk, reports, n, total_copy);
	else
		print_text(disk, reports, n, total_copy);
	status = RAWKIT_EXIT_DONE;
out:
	imgfmt_extents_free(all);
	free(reports);
	imgfmt_disk_free(disk);
	return status;
}
