/* rebuild.h --- rebuild a guest's initramfs with its own tool (libguestfs) */
#ifndef RAWKIT_REBUILD_H
#define RAWKIT_REBUILD_H

#include <stddef.h>

/* Rebuild the initramfs of each kernel VERSIONS[i] (at INITRDS[i], as the
 * guest sees it) with the guest's own tool in a libguestfs appliance,
 * adding DRIVERS.  ROOT_PART / BOOT_PART: partition numbers of / and /boot
 * (root 0: the whole disk; boot 0: none).  The tool used goes to TOOL.
 * < 0 with ERR. */
int rebuild_initramfs(const char *path, unsigned root_part, unsigned boot_part, const char *const *versions,
		      const char *const *initrds, size_t nversions, const char *const *drivers, size_t ndrivers,
		      char *tool, size_t toolsize, char *err, size_t errlen);

#endif
