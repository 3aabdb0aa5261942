/* target_info.c --- a disk a tool is about to overwrite (rawkit-v2p, rawkit-lanfree restore-disk) */
#include "target_info.h"

#include "imgfmt.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int target_blockdev_size(const char *target, uint64_t *bytes, unsigned *sector, char *err, size_t errlen)
{
	unsigned ssz = 512;
	int fd = open(target, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, errno == EBUSY ? "the disk is in use (mounted, or held open)" : "cannot open: %s",
			 strerror(errno));
		return -1;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0) {
		snprintf(err, errlen, "cannot read its size: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (sector)
		*sector = ssz;
	return 0;
}

void target_holds(const char *target, char *out, size_t size)
{
	imgfmt_disk *d = imgfmt_disk_new();
	blkid_probe pr;
	const char *type = NULL;

	out[0] = '\0';
	if (d && imgfmt_disk_open(d, target, 0) == 0 && imgfmt_disk_label(d)[0]) {
		snprintf(out, size, "a %s partition table (", imgfmt_disk_label(d));
		for (size_t i = 0; i < imgfmt_disk_volume_count(d); i++) {
			struct imgfmt_volume v;
			imgfmt_disk_volume(d, i, &v);
			snprintf(out + strlen(out), size - strlen(out), "%s%s %s%s%s%s", i ? ", " : "", v.name,
				 v.fstype[0] ? v.fstype : "unknown", v.fs_label[0] ? " \"" : "", v.fs_label,
				 v.fs_label[0] ? "\"" : "");
		}
		snprintf(out + strlen(out), size - strlen(out), ")");
	}
	imgfmt_disk_free(d);
	if (out[0] || !(pr = blkid_new_probe_from_filename(target)))
		return;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_enable_partitions(pr, 1);
	if (blkid_do_safeprobe(pr) == 0 && (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 ||
					   blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0))
		snprintf(out, size, "a %s signature", type);
	blkid_free_probe(pr);
}
