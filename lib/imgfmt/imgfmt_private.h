/* imgfmt_private.h --- internals of libimgfmt shared between its files */
#ifndef IMGFMT_PRIVATE_H
#define IMGFMT_PRIVATE_H

#include "imgfmt.h"
#include "lvm.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define IMGFMT_ERRLEN 512

#if defined(__GNUC__)
#define IMGFMT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define IMGFMT_PRINTF(a, b)
#endif

struct imgfmt_rbd;

struct imgfmt_disk {
	int fd;                        /* an RBD disk: its window (disk_rbd.c) */
	int dfd;                       /* imgfmt_disk_read_direct(): O_DIRECT, or -1 */
	bool direct;                   /* large aligned reads through dfd */
	bool direct_refused;           /* O_DIRECT refused here: never asked again */
	char *path;
	struct imgfmt_rbd *rbd;        /* an RBD image, read through librbd; else NULL */
	uint64_t size;
	unsigned sector_size;
	bool blockdev;
	bool writable;
	char label[16];
	char id[48];
	char *warnings;                /* "\n"-separated, malloc'd, may be NULL */
	struct imgfmt_volume *volumes;
	struct imgfmt_volmap **maps;   /* per volume: NULL, or an LV's segments (lvm_disk.c) */
	imgfmt_extents **pv_free;      /* per volume: NULL, or an LVM PV's extents no LV holds (disk offsets) */
	size_t nvolumes;
	char **used_notes;             /* per volume, after imgfmt_disk_used() */
	bool replayed;                 /* a volume was read through its journal (usedmap.c) */
	char error[IMGFMT_ERRLEN];
};

/* An LV's bytes on the disk: its segments in LV order, covering [0, size),
 * with absolute disk offsets in the areas (area.pv: the PV's volume index).
 * REFUSED: an LV rawkit cannot read (no segments; reads fail -ENOTSUP). */
struct imgfmt_volmap {
	size_t nsegs;
	struct imgfmt_lvm_seg *segs;
	bool refused;
};
void imgfmt_volmap_free(struct imgfmt_volmap *map); /* lvm_disk.c */

/* volio.c: reads and writes inside a volume, bounded by it and mapped
 * through an LV's segments (0 or -errno with the message on DISK):
 * imgfmt_volume_pread() and imgfmt_volume_pwrite() in imgfmt.h. */
/* Call CB with each disk range (DISK_OFF, LEN) that holds volume bytes
 * [OFF, OFF+LEN), in volume order; VOL_OFF is where the range starts in
 * the volume.  A non-zero return from CB stops and is returned. */
typedef int (*imgfmt_volmap_fn)(uint64_t disk_off, uint64_t len, uint64_t vol_off, void *arg);
int imgfmt_volume_map(imgfmt_disk *disk, size_t index, uint64_t off, uint64_t len, imgfmt_volmap_fn cb, void *arg);
/* A volume of a disk as a reader callback (imgfmt_lvm_read_fn and the like):
 * ARG is a struct imgfmt_volume_ref. */
struct imgfmt_volume_ref {
	imgfmt_disk *disk;
	size_t index;
};
int imgfmt_volume_ref_read(void *arg, void *buf, size_t len, uint64_t off);
/* Whether volume INDEX is one run at its offset (a partition, a linear
 * LV in one segment). */
bool imgfmt_volume_contiguous(const imgfmt_disk *disk, size_t index);

/* lvm_disk.c: append the LVs of every volume group whose PVs are volumes
 * of DISK (after probing); damaged metadata becomes a warning. */
int imgfmt_lvm_add_volumes(imgfmt_disk *disk);
/* Free what imgfmt_lvm_add_volumes() made (the maps and PV extents). */
void imgfmt_lvm_free_volumes(imgfmt_disk *disk);

/* libblkid marks the file it probes POSIX_FADV_RANDOM, which turns the
 * kernel's readahead off for every later read of that file (each miss
 * becomes a synchronous request of just its own size): back to normal
 * after every probe (probe.c, ptable.c). */
static inline void imgfmt_fd_readahead_on(int fd)
{
	posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL);
}

/* LEN (> 0) bytes at BUF are all zero (target.c's and disk_rbd.c's holes). */
static inline bool imgfmt_all_zero(const void *buf, size_t len)
{
	const char *p = buf;

	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* error.c: format MSG into BUF and return CODE (negative errno). */
int imgfmt_fail(char *buf, int code, const char *fmt, ...) IMGFMT_PRINTF(3, 4);
int imgfmt_vfail(char *buf, int code, const char *fmt, va_list ap) IMGFMT_PRINTF(3, 0);
#define disk_fail(d, code, ...) imgfmt_fail((d)->error, (code), __VA_ARGS__)
#define fs_fail(f, code, ...) imgfmt_fail((f)->error, (code), __VA_ARGS__)
/* Append a line to a malloc'd "\n"-separated string; out of memory is ignored
 * (warnings are best effort). */
void imgfmt_append_line(char **buf, const char *line);

/* ident.c: 16 bytes of a "xxxxxxxx-xxxx-..." UUID; -EINVAL if malformed. */
int imgfmt_uuid_parse(const char *s, unsigned char out[16]);

/* disk_rbd.c: disks on Ceph RBD ("rbd:POOL/IMAGE@SNAP").  libfdisk and
 * libblkid read disk->fd; for an RBD disk that is a sparse memory file, the
 * "window", holding only the ranges disk_rbd.c copies there
 * (reads of the image; nothing else reads the window). */
bool imgfmt_rbd_is_spec(const char *path);
/* Connect, open the image read-only (-EROFS with IMGFMT_OPEN_WRITE), set
 * the size and make the window with the disk's edges and its EBR chain. */
int imgfmt_rbd_open(imgfmt_disk *disk, const char *path, unsigned flags);
int imgfmt_rbd_pread(imgfmt_disk *disk, void *buf, size_t len, uint64_t off);
/* The allocated ranges of the image in [OFF, OFF+LEN) (rbd_diff_iterate2). */
int imgfmt_rbd_data_ranges(imgfmt_disk *disk, uint64_t off, uint64_t len, imgfmt_extents *out);
void imgfmt_rbd_close(imgfmt_disk *disk);
/* A copy's target "rbd:POOL/IMAGE" (target.c): check that the pool is there
 * and the image is not (unless REPLACE); write the data of FD (SIZE bytes,
 * its holes and all-zero 4 KiB blocks left out) into a new sparse image
 * under a temp name, flush it, and rename it into place (REPLACE: the old
 * image renamed aside until then, removed after); a failure removes the
 * temp image.  0 or a negative errno with the message in ERR. */
int imgfmt_rbd_target_check(char *err, const char *spec, bool replace);
int imgfmt_rbd_target_write(char *err, const char *spec, int fd, uint64_t size, bool replace);
/* Copy into the window what libblkid reads to identify the volume at OFF
 * of SIZE bytes: its first and last MiB (and an NTFS volume's first MFT
 * records); a no-op for other disks.  (Not imgfmt_disk_*: those are
 * exported.) */
int imgfmt_rbd_window_volume(imgfmt_disk *disk, uint64_t off, uint64_t size);

/* ptable.c: fill disk->label, ->id, ->volumes through libfdisk. */
int imgfmt_ptable_read(imgfmt_disk *disk);
/* The whole disk as its one volume (IMGFMT_OPEN_NO_TABLE). */
int imgfmt_ptable_none(imgfmt_disk *disk);
/* probe.c: fill the fstype/fs_uuid/fs_label of VOL through libblkid. */
int imgfmt_probe_volume(imgfmt_disk *disk, struct imgfmt_volume *vol);
/* The same for volume INDEX, an LV: one in several runs is probed from a
 * copy of its first and last MiB.  Negative only when out of memory. */
int imgfmt_probe_lv(imgfmt_disk *disk, size_t index);
/* swap.c: the page size (where the signature ends; the header is that
 * page) and the version (0 or 1) of the Linux swap in V; -ENOENT when there
 * is none, -EIO when it cannot be read. */
int imgfmt_swap_probe(imgfmt_disk *disk, size_t index, unsigned *page_size, int *version);
/* container.c: "qcow2", "vmdk", "vhd", "vhdx" or "vdi" when the SIZE bytes
 * open on FD are recognisably that image format, else NULL.  Only names it. */
const char *imgfmt_container_format(int fd, uint64_t size);

/* extents.c */
int imgfmt_extents_add(imgfmt_extents *ext, uint64_t offset, uint64_t length);
/* Sort and merge overlapping/adjacent ranges (after unsorted adds). */
void imgfmt_extents_normalize(imgfmt_extents *ext);
/* OUT = A minus B; OUT = A intersect B (A, B normalized). */
int imgfmt_extents_subtract(const imgfmt_extents *a, const imgfmt_extents *b, imgfmt_extents *out);
int imgfmt_extents_intersect(const imgfmt_extents *a, const imgfmt_extents *b, imgfmt_extents *out);
void imgfmt_extents_clear(imgfmt_extents *ext);

/* Filesystem back ends: one file each (fs_ext.c, fs_ntfs.c, fs_vfat.c; XFS: fs_xfs*.c). */
struct imgfmt_fs_ops {
	const char *name;
	bool (*match)(const char *fstype);
	int (*open)(imgfmt_fs *fs);
	void (*close)(imgfmt_fs *fs);
	int (*stat)(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st);
	int (*scan)(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg);
	int (*lookup_child)(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino);
	int (*readdir)(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg);
	ssize_t (*pread)(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off);
	ssize_t (*readlink)(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size);
	int (*xattrs)(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg);
	int (*streams)(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg);
	int (*data_runs)(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg);
	/* Add the free byte ranges, relative to the volume start, to FREE. */
	int (*free_space)(imgfmt_fs *fs, imgfmt_extents *free_ranges);
	/* Editing (NULL where the back end is read-only). */
	int (*write_file)(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len,
			  const struct imgfmt_newfile *nf);
	int (*append_file)(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len);
	int (*mkdir)(imgfmt_fs *fs, uint64_t dir, const char *name, const struct imgfmt_newfile *nf);
	int (*remove)(imgfmt_fs *fs, uint64_t dir, const char *name, bool recursive);
	int (*set_uuid)(imgfmt_fs *fs, const unsigned char uuid[16]);
	int (*commit)(imgfmt_fs *fs);
};

extern const struct imgfmt_fs_ops imgfmt_fs_ext_ops;
extern const struct imgfmt_fs_ops imgfmt_fs_ntfs_ops;
extern const struct imgfmt_fs_ops imgfmt_fs_xfs_ops;
extern const struct imgfmt_fs_ops imgfmt_fs_vfat_ops;

struct imgfmt_fs {
	const struct imgfmt_fs_ops *ops;
	imgfmt_disk *disk;
	size_t index;                  /* of the volume on DISK */
	struct imgfmt_volume vol;
	char type[16];
	bool writable;                 /* opened with IMGFMT_FS_WRITE */
	bool dirty;
	bool recover_only;             /* IMGFMT_FS_RECOVER_ONLY: write the replay, prepare no edit */
	struct imgfmt_consistency_info consistency;
	unsigned block_size;
	uint64_t total_bytes, free_bytes;
	uint64_t files;                /* inodes in use, 0 if unknown */
	uint64_t root;
	void *priv;                    /* the back end's own state */
	char error[IMGFMT_ERRLEN];
};

/* imgfmt_fs_open() flag for imgfmt_disk_recover(): with IMGFMT_FS_WRITE,
 * write a journal replay into the volume and prepare no editing; a volume
 * with nothing to replay is opened read-only. */
#define IMGFMT_FS_RECOVER_ONLY 0x100

/* fs_volume.c: read LEN bytes at OFF inside the volume of FS, bounded by the volume
 * (mapped through an LV's segments). */
int imgfmt_fs_volume_pread(imgfmt_fs *fs, void *buf, size_t len, uint64_t off);
/* The same for writing (FS opened with IMGFMT_FS_WRITE). */
int imgfmt_fs_volume_pwrite(imgfmt_fs *fs, const void *buf, size_t len, uint64_t off);
/* Find NAME in directory DIR among the entries WALK gives (back ends whose
 * directories are searched entry by entry): 0 with *INO, or -ENOENT with
 * the message on FS. */
typedef int (*imgfmt_dir_walk_fn)(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg);
int imgfmt_fs_lookup_scan(imgfmt_fs *fs, uint64_t dir, const char *name, imgfmt_dir_walk_fn walk, uint64_t *ino);

/* usedmap.c: allocated ranges of the image file in [off, off+len). */
int imgfmt_image_data_ranges(imgfmt_disk *disk, uint64_t off, uint64_t len, imgfmt_extents *out);
/* The two halves of imgfmt_disk_used(): bytes the filesystems use (or that
 * are unknown), and bytes the image file has allocated. */
int imgfmt_used_parts(imgfmt_disk *disk, int volume, imgfmt_extents *fs_used, imgfmt_extents *data);

/* target.c: where a copy goes.  Opened before the first write with every
 * check done; committed (fsync, rename, fsync dir) or aborted (temp file
 * removed, existing target untouched). */
struct imgfmt_target {
	int fd;
	char *path;      /* what the user named */
	char *tmp;       /* temp file beside it, NULL for a block device */
	bool blockdev;
	bool fresh;      /* a new sparse file: unwritten ranges read as zeros */
	dev_t fs_dev;    /* filesystem holding a file target, for reflink */
	bool replaces;   /* an existing file is replaced: keep its mode and owner */
	bool touched;    /* writing has begun (an aborted block device is wiped) */
	mode_t old_mode;
	uid_t old_uid;
	gid_t old_gid;
	unsigned block_size;
	char *rbd;       /* an RBD image (rbd:POOL/IMAGE): staged in the temp file, written by the commit */
	bool rbd_replace;
	uint64_t size;
	char error[IMGFMT_ERRLEN]; /* why the last call failed, as on every handle */
};

/* Each returns 0 or a negative errno with the message in T->error. */
int imgfmt_target_open(struct imgfmt_target *t, const char *path, unsigned flags, imgfmt_disk *source,
		       uint64_t size, uint64_t bytes);
int imgfmt_target_commit(struct imgfmt_target *t);
/* LEN bytes at OFF; on a fresh sparse file the all-zero 4 KiB blocks are
 * left as holes.  Bytes written and skipped are added to *WRITTEN, *ZEROS. */
int imgfmt_target_write(struct imgfmt_target *t, const void *data, size_t len, uint64_t off, uint64_t *written,
			uint64_t *zeros);
void imgfmt_target_abort(struct imgfmt_target *t);

#endif /* IMGFMT_PRIVATE_H */
