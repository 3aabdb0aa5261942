/* ident.c --- identities of a disk and its volumes: UUIDs, serials, GUIDs
 *
 * Filesystem UUIDs of ext2/3/4 change through libext2fs (fs_ext_edit.c);
 * this file changes what is a plain field: the NTFS volume serial (in both
 * boot sectors), the swap UUID, and through libfdisk the GPT disk and
 * partition GUIDs or the MBR disk signature.
 */
#include "imgfmt_private.h"

#include <ctype.h>
#include <errno.h>
#include <libfdisk/libfdisk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* NDIGITS hex digits of S (hyphens at HYPHENS positions allowed) into OUT. */
static int parse_hex(const char *s, unsigned char *out, size_t nbytes, bool hyphens)
{
	size_t n = 0;

	for (; *s && n < 2 * nbytes; s++) {
		int v;
		if (hyphens && *s == '-' && (n == 8 || n == 12 || n == 16 || n == 20))
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			return -EINVAL;
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(v << 4);
		else
			out[n / 2] |= (unsigned char)v;
		n++;
	}
	return (*s || n != 2 * nbytes) ? -EINVAL : 0;
}

int imgfmt_uuid_parse(const char *s, unsigned char out[16])
{
	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return -EINVAL;
	return parse_hex(s, out, 16, true);
}

int imgfmt_uuid_random(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* Write into volume V of DISK (one of its volumes), bounded by it. */
static int volume_pwrite(imgfmt_disk *disk, const struct imgfmt_volume *v, const void *buf, size_t len,
			 uint64_t off)
{
	return imgfmt_volume_pwrite(disk, (size_t)(v - disk->volumes), buf, len, off);
}

/* NTFS: the serial is 8 bytes at 0x48 of the boot sector and of its backup
 * in the volume's last sector (as ntfslabel --new-serial writes them). */
static int ntfs_set_serial(imgfmt_disk *disk, const struct imgfmt_volume *v, const char *id)
{
	unsigned char bs[512], serial_be[8], serial[8];
	uint64_t sectors, bytes_per_sector, backup;
	int rc;

	if (parse_hex(id, serial_be, 8, false) < 0)
		return disk_fail(disk, -EINVAL, "%s: \"%s\" is not an NTFS serial (16 hex digits)", v->name, id);
	for (int i = 0; i < 8; i++)
		serial[i] = serial_be[7 - i]; /* blkid shows it most significant byte first */
	if ((rc = imgfmt_volume_pread(disk, (size_t)(v - disk->volumes), bs, sizeof(bs), 0)) < 0)
		return rc;
	if (memcmp(bs + 3, "NTFS    ", 8) != 0)
		return disk_fail(disk, -EINVAL, "%s: no NTFS boot sector", v->name);
	bytes_per_sector = (uint64_t)bs[11] | (uint64_t)bs[12] << 8;
	sectors = 0;
	for (int i = 7; i >= 0; i--)
		sectors = sectors << 8 | bs[0x28 + i];
	if (bytes_per_sector < 256 || bytes_per_sector > 4096 || (bytes_per_sector & (bytes_per_sector - 1)))
		return disk_fail(disk, -EINVAL, "%s: bad NTFS sector size %llu", v->name,
				 (unsigned long long)bytes_per_sector);
	if ((rc = volume_pwrite(disk, v, serial, 8, 0x48)) < 0)
		return rc;
	/* The backup sits right after the sectors the boot sector counts. */
	backup = sectors * bytes_per_sector;
	if (sectors < v->size / bytes_per_sector && backup + sizeof(bs) <= v->size &&
	    imgfmt_volume_pread(disk, (size_t)(v - disk->volumes), bs, sizeof(bs), backup) == 0 && !memcmp(bs + 3, "NTFS    ", 8))
		rc = volume_pwrite(disk, v, serial, 8, backup + 0x48);
	return rc;
}

/* Swap version 1 (see swap.c) keeps its UUID at byte 1036. */
static int swap_set_uuid(imgfmt_disk *disk, const struct imgfmt_volume *v, const char *id)
{
	unsigned char uuid[16];
	unsigned page;
	int version;

	if (imgfmt_uuid_parse(id, uuid) < 0)
		return disk_fail(disk, -EINVAL, "%s: \"%s\" is not a UUID", v->name, id);
	if (imgfmt_swap_probe(disk, (size_t)(v - disk->volumes), &page, &version) == 0 && version == 1)
		return volume_pwrite(disk, v, uuid, sizeof(uuid), 1036);
	return disk_fail(disk, -EINVAL, "%s: no swap signature (version 1) found", v->name);
}

int imgfmt_volume_set_id(imgfmt_disk *disk, size_t index, const char *id)
{
	struct imgfmt_volume *v;
	int rc;

	if (index >= disk->nvolumes)
		return disk_fail(disk, -EINVAL, "no volume number %zu", index);
	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	v = &disk->volumes[index];
	if (!strcmp(v->fstype, "ntfs"))
		rc = ntfs_set_serial(disk, v, id);
	else if (!strcmp(v->fstype, "swap"))
		rc = swap_set_uuid(disk, v, id);
	else
		return disk_fail(disk, -EOPNOTSUPP, "%s: rawkit sets the identity of %s volumes elsewhere, or not at all",
				 v->name, v->fstype[0] ? v->fstype : "unknown");
	if (rc == 0)
		snprintf(v->fs_uuid, sizeof(v->fs_uuid), "%s", id);
	return rc;
}

/* ---- partition table identities through libfdisk ---- */

static int ids_ask(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data)
{
	(void)cxt, (void)data;
	int type = fdisk_ask_get_type(ask);

	return (type == FDISK_ASKTYPE_WARN || type == FDISK_ASKTYPE_WARNX || type == FDISK_ASKTYPE_INFO) ? 0
													      : -EINVAL;
}

static int open_cxt(imgfmt_disk *disk, struct fdisk_context **out, int readonly)
{
	struct fdisk_context *cxt = fdisk_new_context();
	int rc;

	*out = NULL;
	if (!cxt)
		return disk_fail(disk, -ENOMEM, "out of memory");
	fdisk_set_ask(cxt, ids_ask, disk);
	if ((rc = fdisk_assign_device_by_fd(cxt, disk->fd, disk->path, readonly)) < 0) {
		fdisk_unref_context(cxt);
		return disk_fail(disk, rc, "cannot open the partition table: %s", strerror(-rc));
	}
	*out = cxt;
	return 0;
}

static int set_ids(imgfmt_disk *disk, struct fdisk_context *cxt, const char *disk_id, const char *const *part_uuids)
{
	char *id = NULL;
	int rc = fdisk_set_disklabel_id_from_string(cxt, disk_id);

	if (rc < 0)
		return disk_fail(disk, rc, "cannot set the disk identifier %s: %s", disk_id, strerror(-rc));
	for (size_t i = 0; part_uuids && i < disk->nvolumes; i++) {
		struct fdisk_partition *pa;
		if (!part_uuids[i] || !disk->volumes[i].partno)
			continue;
		if (!(pa = fdisk_new_partition()))
			return disk_fail(disk, -ENOMEM, "out of memory");
		rc = fdisk_partition_set_uuid(pa, part_uuids[i]);
		if (rc == 0)
			rc = fdisk_set_partition(cxt, disk->volumes[i].partno - 1, pa);
		fdisk_unref_partition(pa);
		if (rc < 0)
			return disk_fail(disk, rc, "%s: cannot set the partition GUID: %s", disk->volumes[i].name,
					 strerror(-rc));
	}
	rc = fdisk_write_disklabel(cxt);
	if (rc < 0)
		return disk_fail(disk, rc, "cannot write the partition table: %s", strerror(-rc));
	if (fdisk_get_disklabel_id(cxt, &id) == 0 && id)
		snprintf(disk->id, sizeof(disk->id), "%s", id);
	free(id);
	for (size_t i = 0; part_uuids && i < disk->nvolumes; i++)
		if (part_uuids[i] && disk->volumes[i].partno)
			snprintf(disk->volumes[i].part_uuid, sizeof(disk->volumes[i].part_uuid), "%s", part_uuids[i]);
	return 0;
}

int imgfmt_disk_set_ids(imgfmt_disk *disk, const char *disk_id, const char *const *part_uuids)
{
	struct fdisk_context *cxt;
	int rc;

	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	if (strcmp(disk->label, "gpt") && strcmp(disk->label, "dos"))
		return disk_fail(disk, -EOPNOTSUPP, "no GPT or MBR partition table");
	if (!strcmp(disk->label, "dos"))
		part_uuids = NULL; /* MBR partition ids derive from the signature */
	if ((rc = open_cxt(disk, &cxt, 0)) < 0)
		return rc;
	if (!fdisk_has_label(cxt) || strcmp(fdisk_label_get_name(fdisk_get_label(cxt, NULL)), disk->label))
		rc = disk_fail(disk, -EUCLEAN, "the partition table changed since the disk was opened");
	else
		rc = set_ids(disk, cxt, disk_id, part_uuids);
	if (fdisk_deassign_device(cxt, rc < 0) < 0 && rc == 0)
		rc = disk_fail(disk, -EIO, "cannot flush the partition table");
	fdisk_unref_context(cxt);
	return rc;
}

int imgfmt_disk_sync(imgfmt_disk *disk)
{
	if (disk->writable && fsync(disk->fd) < 0)
		return disk_fail(disk, -errno, "cannot flush to stable storage: %s", strerror(errno));
	return 0;
}

/* ---- partition size through libfdisk ---- */

static int resize_part(imgfmt_disk *disk, struct fdisk_context *cxt, size_t index, uint64_t size)
{
	struct imgfmt_volume *v = &disk->volumes[index];
	struct fdisk_partition *pa = fdisk_new_partition();
	unsigned long ssz = fdisk_get_sector_size(cxt);
	int rc;

	if (!pa)
		return disk_fail(disk, -ENOMEM, "out of memory");
	if (size)
		rc = fdisk_partition_set_size(pa, size / ssz);
	else
		rc = fdisk_partition_end_follow_default(pa, 1); /* as large as the disk allows */
	if (rc == 0)
		rc = fdisk_set_partition(cxt, v->partno - 1, pa);
	fdisk_unref_partition(pa);
	pa = NULL; /* fdisk_get_partition() below fills *pa only when it is NULL */
	if (rc < 0)
		return disk_fail(disk, rc, "%s: cannot resize the partition: %s", v->name, strerror(-rc));
	if ((rc = fdisk_write_disklabel(cxt)) < 0)
		return disk_fail(disk, rc, "cannot write the partition table: %s", strerror(-rc));
	if ((rc = fdisk_get_partition(cxt, v->partno - 1, &pa)) == 0) {
		v->size = fdisk_partition_get_size(pa) * ssz;
		fdisk_unref_partition(pa);
	}
	return 0;
}

int imgfmt_disk_resize_volume(imgfmt_disk *disk, size_t index, uint64_t size)
{
	struct fdisk_context *cxt;
	int rc;

	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	if (index >= disk->nvolumes || !disk->volumes[index].partno || disk->volumes[index].container)
		return disk_fail(disk, -EINVAL, "volume %zu is not a partition", index);
	if (size % disk->sector_size)
		return disk_fail(disk, -EINVAL, "a partition size is a whole number of sectors");
	if ((rc = open_cxt(disk, &cxt, 0)) < 0)
		return rc;
	/* a GPT's backup header goes to the end of this disk, whatever its size */
	if (fdisk_is_label(cxt, GPT))
		fdisk_gpt_disable_relocation(fdisk_get_label(cxt, NULL), 0);
	rc = resize_part(disk, cxt, index, size);
	if (fdisk_deassign_device(cxt, rc < 0) < 0 && rc == 0)
		rc = disk_fail(disk, -EIO, "cannot flush the partition table");
	fdisk_unref_context(cxt);
	return rc;
}

/* ---- a partition table written onto another disk ---- */

/* PLACES' partitions to their new starts and sizes in SRC's script. */
static int place_partitions(imgfmt_disk *src, imgfmt_disk *dst, struct fdisk_script *dp, unsigned long ssz,
			    const struct imgfmt_part_place *places, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct imgfmt_part_place *pl = &places[i];
		struct fdisk_partition *pa;
		if (pl->index >= src->nvolumes || !src->volumes[pl->index].partno || pl->start % ssz || pl->size % ssz ||
		    !pl->size)
			return disk_fail(dst, -EINVAL, "no partition %zu to place at %llu bytes, %llu long", pl->index,
					 (unsigned long long)pl->start, (unsigned long long)pl->size);
		pa = fdisk_table_get_partition_by_partno(fdisk_script_get_table(dp), src->volumes[pl->index].partno - 1);
		if (!pa || fdisk_partition_set_start(pa, pl->start / ssz) < 0 ||
		    fdisk_partition_set_size(pa, pl->size / ssz) < 0)
			return disk_fail(dst, -EINVAL, "%s: cannot set its new place", src->volumes[pl->index].name);
	}
	return 0;
}

int imgfmt_disk_write_ptable(imgfmt_disk *src, imgfmt_disk *dst, const struct imgfmt_part_place *places, size_t n)
{
	struct fdisk_context *from = NULL, *to = NULL;
	struct fdisk_script *dp = NULL;
	unsigned char boot[440];
	int rc;

	if (!dst->writable)
		return disk_fail(dst, -EROFS, "the disk is open read-only");
	if ((rc = imgfmt_disk_pread(src, boot, sizeof(boot), 0)) < 0)
		return disk_fail(dst, rc, "%s", imgfmt_disk_error(src));
	if ((rc = open_cxt(src, &from, 1)) < 0)
		return disk_fail(dst, rc, "%s", imgfmt_disk_error(src));
	if (!(dp = fdisk_new_script(from)) || fdisk_script_read_context(dp, NULL) < 0) {
		rc = disk_fail(dst, -EIO, "cannot read the partition table of %s", src->path);
		goto out;
	}
	/* the size of the new disk is its own; everything else is kept */
	fdisk_script_set_header(dp, "last-lba", NULL);
	fdisk_script_set_header(dp, "device", NULL);
	if ((rc = place_partitions(src, dst, dp, fdisk_get_sector_size(from), places, n)) < 0)
		goto out;
	if ((rc = open_cxt(dst, &to, 0)) < 0)
		goto out;
	if ((rc = fdisk_apply_script(to, dp)) < 0 || (rc = fdisk_write_disklabel(to)) < 0) {
		rc = disk_fail(dst, rc, "cannot write the partition table: %s", strerror(-rc));
		goto out;
	}
	/* the boot loader's first stage in the MBR stays */
	if (pwrite(dst->fd, boot, sizeof(boot), 0) != (ssize_t)sizeof(boot))
		rc = disk_fail(dst, -EIO, "cannot write the boot code: %s", strerror(errno));
out:
	fdisk_unref_script(dp);
	if (to)
		fdisk_deassign_device(to, rc < 0);
	if (from)
		fdisk_deassign_device(from, 1);
	fdisk_unref_context(to);
	fdisk_unref_context(from);
	return rc;
}

int imgfmt_disk_copy_ptable(imgfmt_disk *src, imgfmt_disk *dst, size_t index, uint64_t size)
{
	struct imgfmt_part_place pl = { index, index < src->nvolumes ? src->volumes[index].offset : 0, size };

	return imgfmt_disk_write_ptable(src, dst, &pl, 1);
}

/* ---- a partition table as text: libfdisk's script (sfdisk --dump) ---- */

int imgfmt_disk_ptable_dump(imgfmt_disk *disk, char **out)
{
	struct fdisk_context *cxt = NULL;
	struct fdisk_script *dp = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc;

	*out = NULL;
	if (!disk->label[0])
		return (*out = strdup("")) ? 0 : disk_fail(disk, -ENOMEM, "out of memory");
	if ((rc = open_cxt(disk, &cxt, 1)) < 0)
		return rc;
	if (!(dp = fdisk_new_script(cxt)) || fdisk_script_read_context(dp, NULL) < 0) {
		rc = disk_fail(disk, -EIO, "cannot describe the partition table");
		goto out;
	}
	/* partitions named disk1, disk2...: the text does not depend on
	 * where the disk was (the names carry the partition numbers) */
	if (fdisk_script_set_header(dp, "device", "disk") < 0 || !(f = open_memstream(&text, &len)) ||
	    fdisk_script_write_file(dp, f) < 0 || fclose(f) != 0) {
		f = NULL;
		rc = disk_fail(disk, -ENOMEM, "cannot describe the partition table");
		goto out;
	}
	f = NULL;
	*out = text;
	text = NULL;
	rc = 0;
out:
	if (f)
		fclose(f);
	free(text);
	fdisk_unref_script(dp);
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
	return rc;
}

int imgfmt_disk_apply_ptable_dump(imgfmt_disk *disk, const char *dump, const struct imgfmt_part_place *places, size_t n)
{
	struct fdisk_context *cxt = NULL;
	struct fdisk_script *dp = NULL;
	FILE *f = NULL;
	int rc;

	if (!disk->writable)
		return disk_fail(disk, -EROFS, "the disk is open read-only");
	for (size_t i = 0; i < n; i++)
		if (places[i].start % disk->sector_size || places[i].size % disk->sector_size || !places[i].size)
			return disk_fail(disk, -EINVAL, "partition %zu: a place is a whole number of sectors", places[i].index);
	if ((rc = open_cxt(disk, &cxt, 0)) < 0)
		return rc;
	if (!(f = fmemopen((void *)dump, strlen(dump), "r")) || !(dp = fdisk_new_script(cxt)) ||
	    fdisk_script_read_file(dp, f) < 0) {
		rc = disk_fail(disk, -EINVAL, "cannot read the partition table's description");
		goto out;
	}
	/* the size of this disk is its own; everything else is kept */
	fdisk_script_set_header(dp, "last-lba", NULL);
	fdisk_script_set_header(dp, "device", NULL);
	for (size_t i = 0; i < n; i++) {
		struct fdisk_partition *pa =
			places[i].index ? fdisk_table_get_partition_by_partno(fdisk_script_get_table(dp), places[i].index - 1)
					: NULL;
		if (!pa || fdisk_partition_set_start(pa, places[i].start / disk->sector_size) < 0 ||
		    fdisk_partition_set_size(pa, places[i].size / disk->sector_size) < 0) {
			rc = disk_fail(disk, -EINVAL, "no partition %zu to place", places[i].index);
			goto out;
		}
	}
	if ((rc = fdisk_apply_script(cxt, dp)) < 0 || (rc = fdisk_write_disklabel(cxt)) < 0) {
		rc = disk_fail(disk, rc, "cannot write the partition table: %s", strerror(-rc));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	fdisk_unref_script(dp);
	if (fdisk_deassign_device(cxt, rc < 0) < 0 && rc == 0)
		rc = disk_fail(disk, -EIO, "cannot flush the partition table");
	fdisk_unref_context(cxt);
	return rc;
}
