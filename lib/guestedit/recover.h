/* recover.h --- a disk copied from a crash-consistent snapshot, recovered (see recover.c) */
#ifndef RAWKIT_RECOVER_H
#define RAWKIT_RECOVER_H

#include "report.h"

#include <stddef.h>

/* Write the journal replay of every ext3/ext4 volume of the disk at PATH
 * that needs recovery into it (imgfmt_disk_recover()), and say so on
 * CHANGES.  Returns the number of volumes replayed, or -1 with the reason
 * in ERR. */
int guest_recover_disk(const char *path, struct report_list *changes, char *err, size_t errlen);

/* The line that says N volumes got their replay (nothing when N is 0). */
void guest_recover_note(struct report_list *changes, unsigned n);

#endif
