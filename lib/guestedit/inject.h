/* inject.h --- add kernel modules to a guest's initramfs without running
 * the guest: one cpio archive appended, as early microcode is prepended */
#ifndef RAWKIT_INJECT_H
#define RAWKIT_INJECT_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inject_request {
	struct guest *boot;  /* the filesystem holding INITRD: written unless it is dry */
	struct guest *root;  /* the root filesystem: /lib/modules/VERSION, /boot/config-VERSION (may be BOOT) */
	bool boot_is_root;
	const char *initrd;  /* its path in BOOT */
	const char *version; /* the kernel's */
	const char *const *drivers; /* loaded at boot: all of them must be found */
	size_t ndrivers;
	const char *const *extras;  /* added too when the kernel has them (virtio_net) */
	size_t nextras;
};

struct inject_result {
	char layout[24];      /* "initramfs-tools", "dracut" */
	char compression[16]; /* of the appended archive, as of the initramfs' own: "zstd", "gzip", "none" */
	char modules[1024];   /* the module files added, by name, ", "-separated */
	size_t nmodules;
	uint64_t bytes;       /* appended */
};

/* Add RQ->drivers (and their dependencies, from the guest's modules.dep)
 * to the initramfs: the modules themselves as the guest has them, module
 * indexes regenerated for the combined set by this host's depmod -b, and
 * the list the initramfs loads at boot (initramfs-tools: conf/modules;
 * dracut: etc/cmdline.d rd.driver.pre and etc/modules-load.d), in one cpio
 * archive compressed as the initramfs is, appended to the file.  With
 * RQ->boot->dry nothing is written: R says what would be.
 *
 * -ENOTSUP with ERR when anything is uncertain (a layout not recognised, a
 * module the guest lacks, signed modules enforced, a compression rawkit
 * does not write, no depmod): nothing was written, the caller may fall
 * back to rebuilding it in the guest.  Other < 0: the write failed. */
int initrd_inject(const struct inject_request *rq, struct inject_result *r, char *err, size_t errlen);

#endif
