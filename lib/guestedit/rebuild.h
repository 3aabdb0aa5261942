/* rebuild.h --- rebuild a guest's initramfs with its own tool (libguestfs) */
#ifndef RAWKIT_REBUILD_H
#define RAWKIT_REBUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "imgfmt.h"

/* The device the appliance (and a guest booted from the disk alone) names
 * volume V by: "/dev/sda2", "/dev/sda" for a disk without a partition
 * table, "/dev/VG/LV" for an LVM logical volume. */
void rebuild_device(const struct imgfmt_volume *v, char *out, size_t size);

/* Rebuild the initramfs of each kernel VERSIONS[i] (at INITRDS[i], as the
 * guest sees it) with the guest's own tool in a libguestfs appliance,
 * adding DRIVERS.  ROOT_DEV / BOOT_DEV: the devices of / and /boot as the
 * appliance sees them (rebuild_device(); BOOT_DEV NULL: none).  ROOT_LVM:
 * the root is an LVM logical volume (dracut is asked for its lvm module).
 * The tool used goes to TOOL.  < 0 with ERR. */
int rebuild_initramfs(const char *path, const char *root_dev, const char *boot_dev, bool root_lvm,
		      const char *const *versions,
		      const char *const *initrds, size_t nversions, const char *const *drivers, size_t ndrivers,
		      char *tool, size_t toolsize, char *err, size_t errlen);

#endif
