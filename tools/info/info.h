/* info.h --- rawkit-info: report what libimgfmt sees on a disk */
#ifndef RAWKIT_INFO_H
#define RAWKIT_INFO_H

#include <stdbool.h>

/* Print the disk's partitions, filesystems and used space; returns an
 * exit status (rawkit(7)). */
int info_run(const char *path, bool json);

#endif
