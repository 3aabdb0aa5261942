/* volfile.h --- one volume of a disk served as a file through FUSE (volfile.c) */
#ifndef RAWKIT_VOLFILE_H
#define RAWKIT_VOLFILE_H

#include "imgfmt.h"

#include <stddef.h>

struct volfile;

/* Serve volume INDEX of DISK (open for writing) as the regular file
 * *PATH (inside a private mkdtemp() directory) from a thread of this
 * process: reads and writes map through imgfmt_volume_pread/pwrite, so an
 * LV's segments look like one file.  0 or -errno with a message in ERR. */
int volfile_start(struct volfile **out, imgfmt_disk *disk, size_t index, const char **path, char *err,
		  size_t errlen);

/* Unmount and stop; 0, or -EIO when a read or write failed while it served
 * (the first failure in ERR).  Frees VF (NULL is fine). */
int volfile_stop(struct volfile *vf, char *err, size_t errlen);

#endif
