/* initrd.h --- which drivers an initramfs (or the kernel itself) holds */
#ifndef RAWKIT_INITRD_H
#define RAWKIT_INITRD_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>

/* Which of NAMES (modules) the initramfs at PATH in GU holds: FOUND[i] set
 * per name.  < 0 when the initramfs cannot be read (ERR). */
int initrd_check(struct guest *gu, const char *path, const char *const *names, size_t n, bool *found, char *err,
		 size_t errlen);
/* Also set FOUND[i] for the NAMES kernel VERSION has built in (the root
 * filesystem's /lib/modules/VERSION/modules.builtin). */
void initrd_builtin(struct guest *gu, const char *version, const char *const *names, size_t n, bool *found);

#endif
