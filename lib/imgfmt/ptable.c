/* ptable.c --- read a disk's partition table through libfdisk */
#include "imgfmt_private.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libfdisk reports through this callback; keep warnings, answer nothing. */
static int ptable_ask(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data)
{
	imgfmt_disk *disk = data;
	(void)cxt;

	switch (fdisk_ask_get_type(ask)) {
	case FDISK_ASKTYPE_WARN:
	case FDISK_ASKTYPE_WARNX: {
		const char *msg = fdisk_ask_print_get_mesg(ask);
		if (msg)
			imgfmt_append_line(&disk->warnings, msg);
		return 0;
	}
	case FDISK_ASKTYPE_INFO:
		return 0;
	default:
		return -EINVAL; /* read-only: there is nothing to decide */
	}
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int ptable_add(imgfmt_disk *disk, struct fdisk_partition *pa, unsigned long ssz)
{
	struct imgfmt_volume *v, *grown;
	struct fdisk_parttype *type = fdisk_partition_get_type(pa);
	uint64_t start = fdisk_partition_get_start(pa), size = fdisk_partition_get_size(pa);

	if (start > UINT64_MAX / ssz || size > UINT64_MAX / ssz)
		return disk_fail(disk, -ERANGE, "partition %zu: start or size out of range",
				 fdisk_partition_get_partno(pa) + 1);
	grown = realloc(disk->volumes, (disk->nvolumes + 1) * sizeof(*grown));
	if (!grown)
		return disk_fail(disk, -ENOMEM, "out of memory");
	disk->volumes = grown;
	v = memset(&disk->volumes[disk->nvolumes++], 0, sizeof(*v));
	v->partno = (unsigned)fdisk_partition_get_partno(pa) + 1;
	v->parent = -1;
	v->segments = 1;
	snprintf(v->name, sizeof(v->name), "p%u", v->partno);
	v->offset = start * ssz;
	v->size = size * ssz;
	v->container = fdisk_partition_is_container(pa);
	if (type) {
		const char *guid = fdisk_parttype_get_string(type);
		if (guid)
			copy_str(v->type, sizeof(v->type), guid);
		else
			snprintf(v->type, sizeof(v->type), "0x%02x", fdisk_parttype_get_code(type));
		copy_str(v->type_name, sizeof(v->type_name), fdisk_parttype_get_name(type));
	}
	copy_str(v->part_uuid, sizeof(v->part_uuid), fdisk_partition_get_uuid(pa));
	copy_str(v->part_name, sizeof(v->part_name), fdisk_partition_get_name(pa));
	return 0;
}

static int ptable_whole_disk(imgfmt_disk *disk)
{
	disk->volumes = calloc(1, sizeof(*disk->volumes));
	if (!disk->volumes)
		return disk_fail(disk, -ENOMEM, "out of memory");
	disk->nvolumes = 1;
	copy_str(disk->volumes[0].name, sizeof(disk->volumes[0].name), "disk");
	disk->volumes[0].size = disk->size;
	disk->volumes[0].parent = -1;
	disk->volumes[0].segments = 1;
	return 0;
}

/* Does libblkid see a partition table at all?  It tells an MBR from the
 * boot sector of a FAT or NTFS filesystem on the whole disk, which also ends
 * in 55AA; libfdisk alone would take the latter for an empty MBR. */
static int ptable_present(imgfmt_disk *disk, bool *present)
{
	blkid_probe pr = blkid_new_probe();
	const char *type = NULL;
	int rc;

	*present = false;
	if (!pr)
		return disk_fail(disk, -ENOMEM, "out of memory");
	if (blkid_probe_set_device(pr, disk->fd, 0, (blkid_loff_t)disk->size) != 0) {
		blkid_free_probe(pr);
		return disk_fail(disk, -EIO, "cannot probe for a partition table");
	}
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	rc = blkid_do_safeprobe(pr);
	if (rc == 0 && blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0 && type)
		*present = true;
	else if (rc == -2)
		*present = true; /* several tables: let libfdisk decide and warn */
	blkid_free_probe(pr);
	imgfmt_fd_readahead_on(disk->fd);
	return 0;
}

int imgfmt_ptable_read(imgfmt_disk *disk)
{
	bool present, assigned = false;
	struct fdisk_context *cxt = fdisk_new_context();
	struct fdisk_table *tb = NULL;
	struct fdisk_iter *itr = NULL;
	struct fdisk_partition *pa;
	char *id = NULL;
	int rc;

	if (!cxt)
		return disk_fail(disk, -ENOMEM, "out of memory");
	rc = ptable_present(disk, &present);
	if (rc < 0 || !present) {
		rc = rc < 0 ? rc : ptable_whole_disk(disk);
		goto out;
	}
	fdisk_set_ask(cxt, ptable_ask, disk);
	rc = fdisk_assign_device_by_fd(cxt, disk->fd, disk->path, 1);
	assigned = rc == 0;
	if (rc < 0) {
		rc = disk_fail(disk, rc, "cannot read partition table: %s", strerror(-rc));
		goto out;
	}
	if (!fdisk_has_label(cxt)) {
		rc = ptable_whole_disk(disk);
		goto out;
	}
	copy_str(disk->label, sizeof(disk->label), fdisk_label_get_name(fdisk_get_label(cxt, NULL)));
	if (fdisk_get_disklabel_id(cxt, &id) == 0)
		copy_str(disk->id, sizeof(disk->id), id);
	rc = fdisk_get_partitions(cxt, &tb);
	if (rc < 0) {
		rc = disk_fail(disk, rc, "cannot read %s partition table: %s", disk->label, strerror(-rc));
		goto out;
	}
	itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	if (!itr) {
		rc = disk_fail(disk, -ENOMEM, "out of memory");
		goto out;
	}
	while (rc == 0 && fdisk_table_next_partition(tb, itr, &pa) == 0) {
		if (!fdisk_partition_has_start(pa) || !fdisk_partition_has_size(pa) ||
		    fdisk_partition_get_size(pa) == 0)
			continue;
		rc = ptable_add(disk, pa, fdisk_get_sector_size(cxt));
	}
	/* A protective MBR stands for a GPT that libfdisk could not read: never
	 * fall back to reading the protective entry as a partition. */
	for (size_t i = 0; rc == 0 && i < disk->nvolumes; i++)
		if (!strcmp(disk->label, "dos") && !strcmp(disk->volumes[i].type, "0xee"))
			rc = disk_fail(disk, -EUCLEAN,
				       "protective MBR for a GPT, but no valid GPT header for a disk of %llu bytes "
				       "(truncated or damaged image?)",
				       (unsigned long long)disk->size);
	if (rc == 0 && disk->nvolumes == 0)
		rc = ptable_whole_disk(disk);
out:
	free(id);
	fdisk_free_iter(itr);
	fdisk_unref_table(tb);
	if (assigned)
		fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	return rc;
}

int imgfmt_ptable_none(imgfmt_disk *disk)
{
	return ptable_whole_disk(disk);
}
