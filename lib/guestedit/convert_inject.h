/* convert_inject.h --- the conversion's driver injection step (see inject.h):
 * every kernel whose initramfs lacks drivers, on the disk being converted */
#ifndef RAWKIT_CONVERT_INJECT_H
#define RAWKIT_CONVERT_INJECT_H

#include "convert.h"

#include <stdbool.h>
#include <stddef.h>

struct inject_kernel {
	const char *version;
	const char *initrd; /* its path in the filesystem holding it (root, or a separate /boot) */
	bool done;          /* set when its drivers were injected (or, dry, would be) */
};

/* Inject O's drivers (and extras) into each kernel of K on the disk at
 * PATH: root filesystem volume ROOT, /boot volume BOOT (SIZE_MAX: on the
 * root).  What was injected goes to R->changes (a dry run: R->checks);
 * why a kernel was refused to R->checks, with K[i].done left false for the
 * caller's fallback.  0, or < 0 with ERR when a write failed. */
int convert_inject(const char *path, size_t root, size_t boot, struct inject_kernel *k, size_t n,
		   const struct convert_opts *o, struct convert_report *r, char *err, size_t errlen);

#endif
