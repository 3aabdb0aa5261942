/* info.c --- rawkit-info's work: open a disk and describe it */
#include "info.h"
#include "cli.h"
#include "imgfmt.h"

#include <stdlib.h>
#include <string.h>

struct vol_report {
	struct imgfmt_volume v;
	uint64_t copy_bytes;   /* what the copy engine would copy */
	const char *note;
	char fs_type[16];
	uint64_t fs_total, fs_free;
	int dirty;
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
	}
	imgfmt_fs_free(fs);
}

static void print_text(imgfmt_disk *disk, struct vol_report *r, size_t n, uint64_t total_copy)
{
	char a[16], b[16], c[16], d[16];
	const char *label = imgfmt_disk_label(disk), *warn = imgfmt_disk_warnings(disk);

	printf("disk %s: %s, %s, %u-byte sectors\n", imgfmt_disk_path(disk),
	       imgfmt_disk_is_blockdev(disk) ? "block device" : "image file",
	       cli_human(imgfmt_disk_size(disk), a, sizeof(a)), imgfmt_disk_sector_size(disk));
	printf("partition table: %s%s%s\n", label[0] ? label : "none", imgfmt_disk_id(disk)[0] ? ", id " : "",
	       imgfmt_disk_id(disk));
	if (warn[0])
		printf("warnings: %s\n", warn);
	printf("%-5s %10s %10s  %-24s %-6s %10s %10s  %s\n", "NAME", "START", "SIZE", "TYPE", "FS", "FS-USED",
	       "TO-COPY", "LABEL/NOTE");
	for (size_t i = 0; i < n; i++) {
		const struct imgfmt_volume *v = &r[i].v;
		const char *note = r[i].note[0] ? r[i].note : v->fs_label;
		printf("%-5s %10s %10s  %-24.24s %-6s %10s %10s  %s%s\n", v->name, cli_human(v->offset, a, sizeof(a)),
		       cli_human(v->size, b, sizeof(b)), v->type_name[0] ? v->type_name : "-",
		       v->fstype[0] ? v->fstype : "-",
		       r[i].fs_total ? cli_human(r[i].fs_total - r[i].fs_free, c, sizeof(c)) : "-",
		       cli_human(r[i].copy_bytes, d, sizeof(d)), note, r[i].dirty ? " (not cleanly unmounted)" : "");
	}
	printf("used: %s of %s would be copied\n", cli_human(total_copy, a, sizeof(a)),
	       cli_human(imgfmt_disk_size(disk), b, sizeof(b)));
}

static void json_field(const char *key, const char *value, bool comma)
{
	printf("\"%s\":", key);
	cli_json_cstr(stdout, value);
	if (comma)
		putchar(',');
}

static void print_json(imgfmt_disk *disk, struct vol_report *r, size_t n, uint64_t total_copy)
{
	printf("{");
	json_field("path", imgfmt_disk_path(disk), true);
	printf("\"size\":%llu,\"sector_size\":%u,\"block_device\":%s,", (unsigned long long)imgfmt_disk_size(disk),
	       imgfmt_disk_sector_size(disk), imgfmt_disk_is_blockdev(disk) ? "true" : "false");
	json_field("label", imgfmt_disk_label(disk), true);
	json_field("id", imgfmt_disk_id(disk), true);
	json_field("warnings", imgfmt_disk_warnings(disk), true);
	printf("\"copy_bytes\":%llu,\"volumes\":[", (unsigned long long)total_copy);
	for (size_t i = 0; i < n; i++) {
		const struct imgfmt_volume *v = &r[i].v;
		printf("%s{", i ? "," : "");
		json_field("name", v->name, true);
		printf("\"partno\":%u,\"offset\":%llu,\"size\":%llu,\"container\":%s,", v->partno,
		       (unsigned long long)v->offset, (unsigned long long)v->size, v->container ? "true" : "false");
		json_field("type", v->type, true);
		json_field("type_name", v->type_name, true);
		json_field("part_uuid", v->part_uuid, true);
		json_field("part_name", v->part_name, true);
		json_field("fstype", v->fstype, true);
		json_field("fs_uuid", v->fs_uuid, true);
		json_field("fs_label", v->fs_label, true);
		printf("\"fs_size\":%llu,\"fs_free\":%llu,\"dirty\":%s,\"copy_bytes\":%llu,",
		       (unsigned long long)r[i].fs_total, (unsigned long long)r[i].fs_free, r[i].dirty ? "true" : "false",
		       (unsigned long long)r[i].copy_bytes);
		json_field("note", r[i].note[0] ? r[i].note : v->probe_note, false);
		printf("}");
	}
	printf("]}\n");
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
