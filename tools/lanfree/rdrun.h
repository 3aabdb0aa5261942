/* rdrun.h --- what restore-disk's makers share (rdrun.c) */
#ifndef RAWKIT_RDRUN_H
#define RAWKIT_RDRUN_H

#include "lanfree.h"

/* The shape's string ("" when absent) and count (0 when absent or
 * negative) under KEY of O. */
const char *rd_jstr(json_t *o, const char *key);
uint64_t rd_jnum(json_t *o, const char *key);

/* Is PROGRAM an executable in $PATH? */
bool rd_on_path(const char *program);
/* Run ARGV; 0, or -1 with its first lines reported under OBJECT (naming
 * the program, also when ARGV is "env VAR=VALUE... PROGRAM ..."). */
int rd_run(char *const argv[], const char *object);

/* START..START+SIZE of PATH as a loop device: its malloc'd name, or NULL
 * (reported).  rd_loop_detach() detaches and frees (NULL: nothing). */
char *rd_loop_attach(const char *path, uint64_t start, uint64_t size, const char *object);
void rd_loop_detach(char *dev);

/* A temp file for a disk-sized scratch image ($TMPDIR or /var/tmp), its
 * name into PATH: the open fd, or -1 (reported).  rd_temp_remove()
 * unlinks it (the caller closes the fd). */
int rd_temp_file(char *path, size_t size, const char *object);
void rd_temp_remove(void);

struct rd_fill_opts {
	const char *volume;              /* the generation's volume ("p1", "rhel-root") */
	const char *spec;                /* GUEST@SEQ */
	const struct restore_disk_opts *o;
	bool ntfs;                       /* restore.c's ntfs mode (an ntfs-3g mount) */
	uint64_t *files, *bytes;         /* out: what was restored */
};

/* Mount with MOUNT_ARGV (the mount point is appended) under a scratch
 * directory named like the volume, restore the volume into it, flush it
 * and unmount it.  A restore with warnings sets *STATUS to
 * RAWKIT_EXIT_WARNINGS.  0, or -1 reported under OBJECT. */
int rd_fill(char *const mount_argv[], const struct rd_fill_opts *f, const char *object, int *status);

/* From a signal handler: the mount, loop device and temp file of this
 * moment undone (no allocation). */
void rd_undo_on_signal(void);

#endif
