/* devref.h --- device names of a disk's own partitions rewritten as UUID= */
#ifndef RAWKIT_DEVREF_H
#define RAWKIT_DEVREF_H

#include "guest.h"
#include "imgfmt.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>

/* A device name of this disk's partitions and what it becomes. */
struct devmap {
	char base[128];    /* "sda", "nvme0n1", "disk/by-id/ata-X": this disk */
	bool found;
	size_t nvol;
	const struct imgfmt_volume *vols;
};

/* Work out from the root's fstab which device names are this disk's; the
 * names of other disks left alone are added to CHECKS. */
void devref_learn(struct devmap *m, const char *fstab, size_t len, size_t root_vol, struct report_list *checks);
/* The volume a device name of this disk names, SIZE_MAX if none. */
size_t devref_volume(const struct devmap *m, const char *spec);
/* Rewrite fstab, crypttab, kernel command lines and resume settings in the
 * filesystem GU (ROOT: a root filesystem; else a separate /boot). */
int devref_rewrite(struct guest *gu, const struct devmap *m, bool root);
/* The editors (fuzzed): new text or NULL. */
char *devref_fstab_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *devref_cmdline_edit(const char *data, size_t len, size_t *outlen, const void *arg);

#endif
