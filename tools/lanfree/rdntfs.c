/* rdntfs.c --- restore-disk's NTFS partitions: made by mkntfs, filled through ntfs-3g
 *
 * mkntfs has no byte offset: the partition is reached through a loop
 * device (losetup -o, --sizelimit), and mkntfs -p writes its start into the
 * boot sector's hidden sectors, which Windows' boot code reads to find its
 * volume.  The recorded serial is put back by ntfslabel --new-serial (the
 * boot sector and its backup).  The files are restored by restore.c through
 * an ntfs-3g mount of the same loop device: a block device, so ntfs-3g runs
 * as fuseblk and its unmount returns once the volume is written and closed.
 * restore.c's ntfs mode sets ntfs-3g's system.ntfs_acl (the security
 * descriptor), system.ntfs_attrib (DOS attributes), system.ntfs_reparse_data
 * and system.ntfs_crtime; alternate data streams go back as the user.*
 * attributes ntfs-3g maps to streams (streams_interface=xattr).
 */
#include "rdntfs.h"
#include "rdrun.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NTFS_BOOT_BYTES 8192 /* as shape.c records it */

static bool power_of_two_in(uint64_t n, uint64_t low, uint64_t high)
{
	return n >= low && n <= high && !(n & (n - 1));
}

int rdntfs_check(json_t *params, char *why, size_t whylen)
{
	const char *serial = json_string_value(json_object_get(params, "serial"));
	uint64_t sector = rd_jnum(params, "sector_bytes"), cluster = rd_jnum(params, "cluster_bytes");
	static const char *const tools[] = { "mkntfs", "ntfslabel", "ntfs-3g" };

	/* mkntfs takes sectors of 256 to 4096 bytes, clusters up to 2 MiB */
	if (!power_of_two_in(sector, 256, 4096) || !power_of_two_in(cluster, sector, 2u << 20) || !serial ||
	    strlen(serial) != 16 || strspn(serial, "0123456789abcdefABCDEF") != 16) {
		snprintf(why, whylen, "its recorded NTFS parameters are damaged: left empty (its files: rawkit-lanfree "
			 "restore)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!rd_on_path(tools[i])) {
			snprintf(why, whylen, "%s is not installed (Debian's ntfs-3g package): left empty (its files: "
				 "rawkit-lanfree restore)", tools[i]);
			return -1;
		}
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		snprintf(why, whylen, "/dev/fuse cannot be opened (%s): ntfs-3g cannot fill it: left empty (its files: "
			 "rawkit-lanfree restore)", strerror(errno));
		return -1;
	}
	return 0;
}

static int make_ntfs(const char *dev, const struct ntfs_part *p, const char *object)
{
	uint64_t sector = rd_jnum(p->params, "sector_bytes");
	char ssz[24], csz[24], start[24], serial[40];
	int a = 0;
	char *argv[20];

	snprintf(ssz, sizeof(ssz), "%llu", (unsigned long long)sector);
	snprintf(csz, sizeof(csz), "%llu", (unsigned long long)rd_jnum(p->params, "cluster_bytes"));
	/* the hidden sectors: where the partition starts, in its sectors */
	snprintf(start, sizeof(start), "%llu", (unsigned long long)(p->start / sector));
	snprintf(serial, sizeof(serial), "--new-serial=%s", json_string_value(json_object_get(p->params, "serial")));
	argv[a++] = "mkntfs";
	argv[a++] = "-q";
	argv[a++] = "-Q";
	argv[a++] = "-s";
	argv[a++] = ssz;
	argv[a++] = "-c";
	argv[a++] = csz;
	argv[a++] = "-p";
	argv[a++] = start;
	argv[a++] = "-H";
	argv[a++] = "255";
	argv[a++] = "-S";
	argv[a++] = "63";
	if (p->label[0]) {
		argv[a++] = "-L";
		argv[a++] = (char *)p->label;
	}
	argv[a++] = (char *)dev;
	argv[a] = NULL;
	if (rd_run(argv, object) < 0)
		return -1;
	char *label[] = { "ntfslabel", "-q", serial, (char *)dev, NULL };
	return rd_run(label, object);
}

/* The recorded boot code (Windows': the boot sector's code and $Boot's
 * loader, which reads the BPB to find the MFT) around the BPB mkntfs wrote
 * for the new volume, in the boot sector and its backup (the volume's last
 * sector).  Nothing recorded (an older backup's shape): mkntfs's code
 * stays. */
/* P's recorded boot code into CODE: 1, 0 when none was recorded, -1
 * (reported) when the record is damaged. */
static int recorded_boot_code(const struct ntfs_part *p, unsigned char code[NTFS_BOOT_BYTES])
{
	uint64_t stored = 0, at = 0;
	bool found = false;
	json_t *a;
	size_t i;

	json_array_foreach(p->boot_areas, i, a)
		if (!strcmp(rd_jstr(a, "what"), "ntfs_boot_code") && !strcmp(rd_jstr(a, "volume"), p->name)) {
			stored = rd_jnum(a, "stored_bytes");
			at = rd_jnum(a, "blob_offset_bytes");
			found = true;
		}
	if (!found)
		return 0;
	if (stored < 512 || stored > NTFS_BOOT_BYTES || at > p->boot_len || stored > p->boot_len - at) {
		cli_error("catalog", "the recorded NTFS boot code of %s is damaged", p->name);
		return -1;
	}
	memset(code, 0, NTFS_BOOT_BYTES);
	memcpy(code, p->boot + at, stored);
	return 1;
}

int rdntfs_check_boot(const struct ntfs_part *p)
{
	unsigned char code[NTFS_BOOT_BYTES];

	return recorded_boot_code(p, code) < 0 ? -1 : 0;
}

static int put_boot_code(const char *dev, const struct ntfs_part *p, const char *object)
{
	unsigned char code[NTFS_BOOT_BYTES], made[512];
	uint64_t sectors, sector;
	int fd, rc;

	if ((rc = recorded_boot_code(p, code)) <= 0)
		return rc;
	rc = 0;
	if ((fd = open(dev, O_RDWR | O_CLOEXEC)) < 0 || pread(fd, made, sizeof(made), 0) != (ssize_t)sizeof(made)) {
		cli_error(object, "cannot read the new boot sector: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	/* the jump and OEM id, then the BPB and its extension (serial included)
	 * are the new volume's; the code and the signature the recorded */
	memcpy(code, made, 0x54);
	memcpy(code + 0x1fe, made + 0x1fe, 2);
	sector = made[0x0b] | made[0x0c] << 8;
	sectors = 0;
	for (int k = 7; k >= 0; k--)
		sectors = sectors << 8 | made[0x28 + k];
	if (cli_pwrite_all(fd, code, sizeof(code), 0) < 0 ||
	    cli_pwrite_all(fd, code, sector < sizeof(code) ? sector : sizeof(code), sectors * sector) < 0 ||
	    fsync(fd) < 0) {
		cli_error(object, "cannot write the NTFS boot code: %s", strerror(errno));
		rc = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Fill the new NTFS on DEV: mounted by ntfs-3g, the generation's volume
 * restored into it in restore.c's ntfs mode (rdrun.c).  No "permissions":
 * chmod and chown change nothing, the security descriptors set are the
 * recorded ones. */
static int fill_ntfs(const char *dev, struct ntfs_part *p, const char *spec, const struct restore_disk_opts *o,
		     const char *object, int *status)
{
	struct rd_fill_opts f = { .volume = p->name, .spec = spec, .o = o, .ntfs = true, .files = &p->files,
				  .bytes = &p->bytes };
	char *mount_argv[] = { "ntfs-3g", "-o", "streams_interface=xattr", (char *)dev, NULL };

	return rd_fill(mount_argv, &f, object, status);
}

int rdntfs_make(const char *path, struct ntfs_part *p, const char *spec, const struct restore_disk_opts *o,
		const char *object, int *status)
{
	char *dev = rd_loop_attach(path, p->start, p->size, object);
	int rc;

	if (!dev)
		return -1;
	rc = make_ntfs(dev, p, object);
	if (rc == 0)
		rc = put_boot_code(dev, p, object);
	if (rc == 0 && spec)
		rc = fill_ntfs(dev, p, spec, o, object, status);
	rd_loop_detach(dev);
	return rc;
}
