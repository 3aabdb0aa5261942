/* convert.h --- make a Linux guest boot on other hardware: virtual (P2V) or
 * physical (V2P).  Shared by rawkit-p2v and rawkit-v2p.
 *
 * - Block device names of the disk's own partitions in fstab, crypttab,
 *   GRUB (root=, resume=), BLS entries and resume settings become UUID=
 *   references, stable on any hardware.
 * - MAC address pinning and persistent-net udev rules go; the report names
 *   the interfaces whose names may change.
 * - Every initramfs is checked (libarchive) for the storage drivers the new
 *   hardware needs; when they are missing it is rebuilt with the guest's own
 *   tool (update-initramfs, dracut) inside a libguestfs appliance, never with
 *   this host's programs on the guest's files.
 */
#ifndef RAWKIT_CONVERT_H
#define RAWKIT_CONVERT_H

#include "guest.h"
#include "imgfmt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum convert_to { CONVERT_TO_VIRTUAL, CONVERT_TO_PHYSICAL };

#define CONVERT_MAX_DRIVERS 32 /* drivers checked in an initramfs */

struct convert_opts {
	enum convert_to to;
	bool dry_run;
	const char *const *drivers; /* needed in the initramfs (module names) */
	size_t ndrivers;
	bool no_rebuild;            /* report missing drivers, do not rebuild */
};

struct convert_report {
	char **changes;   /* what was changed, where */
	size_t nchanges;
	char **checks;    /* what an admin should check */
	size_t nchecks;
	char **not_done;  /* what could not be done: the exit status is 3 */
	size_t nnot;
	bool linux_found;
};

/* Convert the guest on the disk at PATH (an image file or a block device
 * nobody else holds open).  A dry run reads only and reports.  Returns 0
 * (what could not be done is in R->not_done) or < 0 with ERR on a failure
 * that left the disk as it was or, past the first edit, unfinished. */
int convert_guest(const char *path, const struct convert_opts *o, struct convert_report *r, char *err,
		  size_t errlen);
void convert_report_free(struct convert_report *r);
void convert_report_text(FILE *out, const char *object, const struct convert_report *r);

/* ---- internals shared between the files of tools/convert ---- */

void convert_say(char ***list, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* devref.c: a device name of this disk's partitions and what it becomes. */
struct devmap {
	char base[128];    /* "sda", "nvme0n1", "disk/by-id/ata-X": this disk */
	bool found;
	size_t nvol;
	const struct imgfmt_volume *vols;
};
/* Work out from the root's fstab which device names are this disk's. */
void devref_learn(struct devmap *m, const char *fstab, size_t len, size_t root_vol, struct convert_report *r);
/* The volume a device name of this disk names, SIZE_MAX if none. */
size_t devref_volume(const struct devmap *m, const char *spec);
/* Rewrite fstab, crypttab, kernel command lines and resume settings in the
 * filesystem GU (ROOT: a root filesystem; else a separate /boot). */
int devref_rewrite(struct guest *gu, const struct devmap *m, bool root, struct convert_report *r);
/* The editors (fuzzed): new text or NULL. */
char *devref_fstab_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *devref_cmdline_edit(const char *data, size_t len, size_t *outlen, const void *arg);

/* initrd.c: which of NAMES (modules) the initramfs at PATH in GU holds:
 * FOUND[i] set per name.  < 0 when the initramfs cannot be read (ERR). */
int initrd_check(struct guest *gu, const char *path, const char *const *names, size_t n, bool *found, char *err,
		 size_t errlen);
/* Also set FOUND[i] for the NAMES kernel VERSION has built in (the root
 * filesystem's /lib/modules/VERSION/modules.builtin). */
void initrd_builtin(struct guest *gu, const char *version, const char *const *names, size_t n, bool *found);

/* rebuild.c: rebuild the initramfs of each kernel VERSIONS[i] (at
 * INITRDS[i], as the guest sees it) with the guest's own tool in a
 * libguestfs appliance, adding DRIVERS.  ROOT_PART / BOOT_PART: partition
 * numbers of / and /boot (root 0: the whole disk; boot 0: none).  < 0 with
 * ERR. */
int rebuild_initramfs(const char *path, unsigned root_part, unsigned boot_part, const char *const *versions,
		      const char *const *initrds, size_t nversions, const char *const *drivers, size_t ndrivers,
		      char *tool, size_t toolsize, char *err, size_t errlen);

#endif
