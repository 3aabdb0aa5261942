/* mount.h --- a guest filesystem mounted by the kernel, for edits rawkit
 * cannot make itself (XFS) */
#ifndef RAWKIT_MOUNT_H
#define RAWKIT_MOUNT_H

#include "imgfmt.h"

#include <stddef.h>
#include <stdint.h>

struct guest_mount;

/* Mount the FSTYPE filesystem found at byte OFFSET (SIZE bytes) of FILE (a
 * disk image or block device, the copy being edited) on a private
 * mkdtemp() directory: a loop device over that range (LOOP_CONFIGURE,
 * auto-cleared), mounted nosuid,nodev,noexec,noatime (XFS: nouuid, since
 * clones share their golden's UUID until it is changed).  Needs root.
 * 0 or -errno with a message in ERR. */
int guest_mount_range(struct guest_mount **out, const char *file, uint64_t offset, uint64_t size,
		      const char *fstype, char *err, size_t errlen);

/* The same for volume INDEX of DISK when it is not one run of the disk (an
 * LV in several segments): the volume is served as one file by a FUSE
 * thread of this process that reads and writes through DISK (open for
 * writing, kept open and otherwise untouched until guest_mount_close()),
 * and that file is loop-mounted as above. */
int guest_mount_volume(struct guest_mount **out, imgfmt_disk *disk, size_t index, const char *fstype, char *err,
		       size_t errlen);

/* An O_PATH fd of the mounted root (owned by M): for guest_reporting_root(). */
int guest_mount_root(const struct guest_mount *m);

/* Unmount (the filesystem writes everything back and ends clean), wait for
 * the loop device to go, stop the FUSE thread, remove the directory, free
 * M (NULL is fine).  0, or -errno with a message in ERR: then the edits may
 * not all be on the disk. */
int guest_mount_close(struct guest_mount *m, char *err, size_t errlen);

/* Detach (lazily) every mount made here and not yet unmounted: for a
 * tool's SIGTERM/SIGINT/SIGHUP handler, async-signal-safe, so that no
 * mount of a removed target is left behind. */
void guest_mount_abort_all(void);
/* The registry it walks (volfile.c's FUSE mounts too): DIR mounted, or
 * unmounted. */
void guest_mount_register(const char *dir);
void guest_mount_unregister(const char *dir);

#endif
