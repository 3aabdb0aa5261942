/* drivers.c --- the storage drivers a physical target needs in the initramfs */
#include "v2p.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void add(struct v2p_opts *o, const char *name)
{
	for (size_t i = 0; i < o->ndrivers; i++)
		if (!strcmp(o->drivers[i], name))
			return;
	if (o->ndrivers < V2P_MAX_DRIVERS) {
		char *dup = strdup(name);
		if (dup)
			o->drivers[o->ndrivers++] = dup;
	}
}

/* The driver bound to the nearest device above /sys/block/NAME/device:
 * ahci, nvme, mpt3sas, virtio_pci's virtio_blk... */
static void host_driver(struct v2p_opts *o, const char *name)
{
	char path[PATH_MAX], real[PATH_MAX], link[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/block/%s/device", name);
	if (!realpath(path, real))
		return;
	for (int up = 0; up < 6; up++) {
		char drv[PATH_MAX + 16];
		ssize_t n;
		snprintf(drv, sizeof(drv), "%s/driver", real);
		n = readlink(drv, link, sizeof(link) - 1);
		if (n > 0) {
			const char *base;
			link[n] = '\0';
			base = strrchr(link, '/');
			base = base ? base + 1 : link;
			/* drivers named differently from their modules */
			if (!strcmp(base, "sd"))
				base = "sd_mod";
			if (strcmp(base, "pcieport") != 0)
				add(o, base);
		}
		char *slash = strrchr(real, '/');
		if (!slash || slash == real)
			break;
		*slash = '\0';
	}
}

void v2p_default_drivers(struct v2p_opts *o)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;

	add(o, "ahci");
	add(o, "nvme");
	add(o, "sd_mod");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "loop", 4) || !strncmp(e->d_name, "ram", 3) ||
		    !strncmp(e->d_name, "dm-", 3) || !strncmp(e->d_name, "zram", 4) || !strncmp(e->d_name, "md", 2))
			continue;
		host_driver(o, e->d_name);
	}
	if (d)
		closedir(d);
}
