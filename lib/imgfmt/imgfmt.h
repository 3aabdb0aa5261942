/* imgfmt.h --- libimgfmt: raw guest disks, partition tables, filesystems, used-block copy
 *
 * The one public header of libimgfmt (see libimgfmt(3)).  Conventions,
 * everywhere:
 *  - Handles are opaque and have one life cycle: imgfmt_X_new() makes an
 *    empty handle (NULL only when out of memory, the one failure without a
 *    handle to hold a message), imgfmt_X_open(handle, ...) opens it where
 *    there is something to open (a disk, a filesystem, an output), and
 *    imgfmt_X_free() closes and frees it and accepts NULL.  Types:
 *    imgfmt_disk, imgfmt_fs, imgfmt_output, imgfmt_copy, imgfmt_extents.
 *  - Every handle owns its last error, as libarchive's archive_set_error()
 *    and archive_error_string() do: imgfmt_disk_error(), imgfmt_fs_error(),
 *    imgfmt_output_error(), imgfmt_copy_error() give the message of the
 *    last failure of a call on that handle (an open included).  A call
 *    reports on the handle it is a function of, its first argument; what
 *    went wrong underneath (a disk read under a filesystem) is copied into
 *    that message.  imgfmt_extents holds no message: its calls fail only
 *    with -EINVAL (index out of range) or -ENOMEM.
 *  - Functions that can fail return 0 (or a count, an index) on success and
 *    a negative errno-style code on failure; a few without any handle
 *    (imgfmt_uuid_random()) return only the code.
 *  - A handle made from another borrows it: a filesystem or a copy source
 *    keeps a pointer to its disk, which must stay open until it is freed.
 *    Structs filled in for the caller (struct imgfmt_volume, imgfmt_stat,
 *    imgfmt_copy_stats) are plain data in the caller's memory; strings
 *    returned by the library belong to the handle.
 *  - The library never prints and never exits.
 *
 * Disks are raw, always: the format is never guessed and nothing inside an
 * image (a qcow2 header, a backing-file name) is ever followed.
 */
#ifndef IMGFMT_H
#define IMGFMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The release version of the library in use ("0.1.0"), at run time. */
const char *imgfmt_version(void);

/* ------------------------------------------------------------------ disks */

typedef struct imgfmt_disk imgfmt_disk;

/* imgfmt_disk_open() flags */
#define IMGFMT_OPEN_WRITE 0x1 /* read-write; a block device is opened O_EXCL */
#define IMGFMT_OPEN_NO_TABLE 0x2 /* do not read a partition table (about to write one) */

/* A new, unopened disk handle; NULL when out of memory. */
imgfmt_disk *imgfmt_disk_new(void);

/* Open PATH (raw image file, whole block device, partition, LVM volume,
 * or a Ceph RBD image named "rbd:POOL/IMAGE[@SNAP][:id=NAME][:conf=FILE]",
 * read through librbd and configured the standard way: $CEPH_CONF,
 * /etc/ceph/ceph.conf, $CEPH_ARGS), read its partition table (libfdisk)
 * and probe every volume (libblkid).
 * Read-only unless IMGFMT_OPEN_WRITE.  Refuses directories, empty files,
 * character devices, sizes that are not whole 512-byte sectors, partitions
 * that reach past the end of the disk and partitions that overlap.  A file
 * or device that is recognisably another image format (qcow2, vmdk, vhd,
 * vhdx, vdi) is refused with -EMEDIUMTYPE and a message naming the format
 * (not with IMGFMT_OPEN_NO_TABLE: a target about to be overwritten).
 * An RBD disk is read-only: IMGFMT_OPEN_WRITE fails with -EROFS; a missing
 * pool, image or snapshot is -ENOENT, an unreachable cluster -ETIMEDOUT
 * (after client_mount_timeout), a malformed spec -EINVAL. */
int imgfmt_disk_open(imgfmt_disk *disk, const char *path, unsigned flags);

/* Close and free; NULL is fine. */
void imgfmt_disk_free(imgfmt_disk *disk);

/* Message for the last failure on DISK ("" when none).  Valid until the
 * next call on DISK. */
const char *imgfmt_disk_error(const imgfmt_disk *disk);

const char *imgfmt_disk_path(const imgfmt_disk *disk);
uint64_t imgfmt_disk_size(const imgfmt_disk *disk);
unsigned imgfmt_disk_sector_size(const imgfmt_disk *disk);
int imgfmt_disk_is_blockdev(const imgfmt_disk *disk);
/* Whether DISK is an RBD image ("rbd:..."), read through librbd. */
int imgfmt_disk_is_rbd(const imgfmt_disk *disk);

/* Create, or remove, snapshot SNAP of the RBD image SPEC names
 * ("rbd:POOL[/NAMESPACE]/IMAGE[:KEY=VALUE...]", without @SNAP), on a
 * connection of their own; the image is opened read-write for this alone.
 * DISK is a handle from imgfmt_disk_new() that stays unopened: it only
 * keeps the message of a failure (imgfmt_disk_error()).  Return 0, or
 * -EINVAL (not such a spec, or one naming a snapshot), -ENOENT (no pool or
 * image; remove: no such snapshot), -EEXIST (create: SNAP exists), or what
 * the cluster said. */
int imgfmt_rbd_snapshot_create(imgfmt_disk *disk, const char *spec, const char *snap);
int imgfmt_rbd_snapshot_remove(imgfmt_disk *disk, const char *spec, const char *snap);

/* Read LEN bytes at OFFSET.  Returns 0, or -ERANGE for a read past the end
 * of the disk, -EIO (with the cause in the message) when the device fails
 * or returns short. */
int imgfmt_disk_pread(imgfmt_disk *disk, void *buf, size_t len, uint64_t offset);

/* While ON, reads of at least 128 KiB whose buffer, offset and length are
 * multiples of 4 KiB (by imgfmt_disk_pread() and everything that reads
 * through it: a filesystem's files) bypass the page cache (O_DIRECT), on a
 * read-only disk that is a file or block device allowing it; elsewhere
 * this does nothing.  For data read once in large pieces: on a virtual
 * machine filling the cache costs as much CPU as hashing what is read. */
void imgfmt_disk_read_direct(imgfmt_disk *disk, int on);

/* Partition-table type: "dos", "gpt", ... or "" for none. */
const char *imgfmt_disk_label(const imgfmt_disk *disk);
/* Disk identifier: GPT disk GUID or MBR signature ("0x1234abcd"); "" for none. */
const char *imgfmt_disk_id(const imgfmt_disk *disk);

/* Non-fatal remarks made while opening (a damaged GPT header repaired from
 * its backup, ...), one per line; "" when none. */
const char *imgfmt_disk_warnings(const imgfmt_disk *disk);

/* ---------------------------------------------------------------- volumes */

/* A volume is a partition, the whole disk when there is no partition
 * table, or a logical volume of an LVM2 volume group whose physical volumes
 * are on the disk (listed after the partitions; never activated, read
 * through its segments).  Filled in by imgfmt_disk_volume(); plain data,
 * caller-owned. */
struct imgfmt_volume {
	char name[256];       /* "p1", "p5", "disk", or an LV's device-mapper name ("rhel-root") */
	unsigned partno;      /* partition number (1-based), 0 for "disk" and LVs */
	uint64_t offset;      /* bytes from the start of the disk (an LV: of its first extent) */
	uint64_t size;        /* bytes */
	int parent;           /* an LV: index of the volume holding its first extent (its PV); else -1 */
	unsigned segments;    /* an LV: runs on the disk (1: contiguous at OFFSET); else 1 */
	char lv_vg[128];      /* an LV: its volume group's name; an LVM2 PV whose metadata was read:
	                         the group it belongs to; "" otherwise */
	char lv_name[128];    /* an LV: its name in the volume group */
	char lv_uuid[40];     /* an LV: its LVM UUID */
	char lv_layout[16];   /* an LV: "linear", "striped", "raid1", "mirror", "thin", ... */
	int unreadable;       /* an LV rawkit cannot read (thin, cache, snapshot, extents on a PV
	                         that is not on this disk): probe_note says why; reads give -ENOTSUP */
	char type[40];        /* "0x83", a GPT type GUID, or "" */
	char type_name[64];   /* libfdisk's name for the type ("Linux filesystem") */
	char part_uuid[40];   /* GPT partition GUID, "" otherwise */
	char part_name[80];   /* GPT partition name (UTF-8), "" otherwise */
	int container;        /* an extended partition (holds logical ones) */
	/* what libblkid found inside */
	char fstype[32];      /* "ext4", "ntfs", "swap", "LVM2_member", ... or "" */
	char fs_uuid[64];
	char fs_label[256];
	char probe_note[160]; /* why fstype is empty, when there is a reason (an LV rawkit cannot read: why) */
};

/* Number of volumes (never 0 for an open disk). */
size_t imgfmt_disk_volume_count(const imgfmt_disk *disk);

/* Copy volume INDEX (0-based, in disk order) into *OUT.  -EINVAL when out
 * of range. */
int imgfmt_disk_volume(const imgfmt_disk *disk, size_t index, struct imgfmt_volume *out);

/* Index of the volume named NAME ("p2", "disk"), or -ENOENT. */
int imgfmt_disk_find_volume(const imgfmt_disk *disk, const char *name);

/* Read LEN bytes at OFFSET inside volume INDEX (an LV through its
 * segments).  -ERANGE for a read outside the volume, -ENOTSUP for an LV
 * rawkit cannot read (thin, cache, snapshot: see its probe_note), -EIO as
 * imgfmt_disk_pread(); the message is on DISK. */
int imgfmt_volume_pread(imgfmt_disk *disk, size_t index, void *buf, size_t len, uint64_t offset);

/* Write LEN bytes at OFFSET inside volume INDEX (an LV through its
 * segments), DISK open with IMGFMT_OPEN_WRITE.  The same errors, and
 * -EROFS on a read-only disk.  For a volume's contents as a whole (a
 * filesystem driver serving it); nothing outside the volume is written. */
int imgfmt_volume_pwrite(imgfmt_disk *disk, size_t index, const void *buf, size_t len, uint64_t offset);

/* ---------------------------------------------------------------- extents */

/* A sorted list of non-overlapping byte ranges on a disk. */
typedef struct imgfmt_extents imgfmt_extents;

imgfmt_extents *imgfmt_extents_new(void);
void imgfmt_extents_free(imgfmt_extents *ext);
size_t imgfmt_extents_count(const imgfmt_extents *ext);
/* Range I: *OFFSET and *LENGTH in bytes.  -EINVAL when out of range. */
int imgfmt_extents_get(const imgfmt_extents *ext, size_t i, uint64_t *offset, uint64_t *length);
/* Sum of all lengths. */
uint64_t imgfmt_extents_bytes(const imgfmt_extents *ext);

/* The bytes of VOLUME (an index, or -1 for the whole disk) that hold data
 * worth copying: everything except the free blocks of filesystems whose
 * allocation libimgfmt can read (ext2/3/4 block bitmaps, NTFS $Bitmap, the
 * body of swap), intersected with the image file's own allocation
 * (SEEK_DATA/SEEK_HOLE).  Anything unknown or damaged counts as used.
 * Offsets are relative to the start of the disk.  *OUT is freed by the
 * caller with imgfmt_extents_free(). */
int imgfmt_disk_used(imgfmt_disk *disk, int volume, imgfmt_extents **out);

/* Why a volume's free space could not be read, after imgfmt_disk_used():
 * "" when its allocation was read, else a short reason ("unknown content",
 * "ext4: bad block bitmap checksum", ...). */
const char *imgfmt_disk_used_note(const imgfmt_disk *disk, size_t volume);

/* ------------------------------------------------------------ filesystems */

typedef struct imgfmt_fs imgfmt_fs;

/* imgfmt_fs_open() flags */
#define IMGFMT_FS_WRITE 0x1 /* edit (see "editing"), on a disk opened with IMGFMT_OPEN_WRITE */

/* A new, unopened filesystem handle; NULL when out of memory. */
imgfmt_fs *imgfmt_fs_new(void);

/* Open the filesystem of volume INDEX of DISK for reading, at its offset
 * inside the disk, without loop devices or mounts (ext2/3/4 through
 * libext2fs, NTFS through libntfs-3g).  On failure the message ("p1: why")
 * is on FS, which stays unopened and may be opened again or freed.  DISK
 * must stay open until FS is freed.  -EBUSY when FS is open already. */
int imgfmt_fs_open(imgfmt_fs *fs, imgfmt_disk *disk, size_t index, unsigned flags);

/* Close (without committing edits) and free; NULL is fine. */
void imgfmt_fs_free(imgfmt_fs *fs);

/* Message for the last failure on FS ("" when none).  A call on a handle
 * that is not open fails with -EBADF. */
const char *imgfmt_fs_error(const imgfmt_fs *fs);

/* "ext2", "ext3", "ext4" or "ntfs". */
const char *imgfmt_fs_type(const imgfmt_fs *fs);

/* 1 when the filesystem cannot be read as a consistent whole: ext3/4
 * needs a journal recovery rawkit cannot do (see imgfmt_fs_consistency()),
 * has errors recorded, or NTFS is marked dirty / its $LogFile is not clean. */
int imgfmt_fs_dirty(const imgfmt_fs *fs);

/* How a crash-consistent snapshot (a running guest's disk) was read. */
enum imgfmt_consistency {
	IMGFMT_CLEAN = 0,        /* nothing to replay */
	IMGFMT_REPLAYED,         /* ext3/4: the journal's committed transactions are read from the
	                          * journal (a source is never written; a target opened with
	                          * IMGFMT_FS_WRITE gets them written and ends clean) */
	IMGFMT_UNREPLAYABLE,     /* ext3/4 needs recovery rawkit cannot do: read as it is on disk */
	IMGFMT_NTFS_UNCLEAN,     /* NTFS dirty or $LogFile unclean: read as it is (no log replay) */
	IMGFMT_XFS_LOG_DIRTY,    /* XFS log holds changes not written back (no unmount record at its
	                          * head): read as it is, no replay; the note says how much */
};
struct imgfmt_consistency_info {
	enum imgfmt_consistency state;
	uint32_t transactions;   /* REPLAYED: transactions replayed */
	uint64_t blocks;         /* REPLAYED: filesystem blocks read from the journal */
	char note[200];          /* why UNREPLAYABLE, or why the log ended early; "" if none */
};
void imgfmt_fs_consistency(const imgfmt_fs *fs, struct imgfmt_consistency_info *info);
/* Write the journal replay of every ext3/ext4 volume of DISK that needs
 * recovery into it (DISK opened with IMGFMT_OPEN_WRITE: a target copied from
 * a crash-consistent snapshot), its orphans released: it ends as e2fsck's
 * recovery leaves it.  Volumes that cannot be replayed are left as they
 * are.  Returns how many volumes were replayed, or a negative errno with the
 * message on DISK. */
int imgfmt_disk_recover(imgfmt_disk *disk);
/* "clean", "replayed", "unreplayable", "ntfs-unclean", "xfs-log-not-replayed". */
const char *imgfmt_consistency_name(enum imgfmt_consistency state);

/* Tell the kernel that LENGTH bytes at OFFSET inside the volume will be
 * read soon (POSIX_FADV_WILLNEED on the disk), so that reads in disk order
 * become large requests.  A hint: returns 0 whatever happens. */
int imgfmt_fs_advise(imgfmt_fs *fs, uint64_t offset, uint64_t length);

/* Filesystem block (cluster) size, total and free bytes. */
void imgfmt_fs_sizes(const imgfmt_fs *fs, unsigned *block_size, uint64_t *total, uint64_t *free_bytes);

/* Files (inodes) in use as the filesystem counts them, 0 when unknown: a
 * size hint for imgfmt_fs_scan(). */
uint64_t imgfmt_fs_files(const imgfmt_fs *fs);

/* Inode number of the root directory. */
uint64_t imgfmt_fs_root(const imgfmt_fs *fs);

/* What lstat() would say, plus the identity that change detection needs. */
struct imgfmt_stat {
	uint64_t ino;          /* ext: inode number; NTFS: MFT record number */
	uint32_t generation;   /* ext: i_generation; NTFS: sequence number */
	uint32_t mode;         /* S_IF* | permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t allocated;    /* bytes allocated on disk */
	struct timespec atime, mtime, ctime, btime; /* btime: creation, 0 if unknown */
	uint32_t rdev_major, rdev_minor;
	uint32_t flags;        /* ext: inode flags (EXT2_*_FL); NTFS: DOS attributes */
};

int imgfmt_fs_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st);

/* Call CB for every file in use, in on-disk order (ext: the inode tables,
 * read sequentially; NTFS: the MFT records from the root on, metadata files
 * left out).  This is what makes an incremental backup cheap: one pass over
 * the inode tables instead of a stat per path.  Damaged inodes (bad
 * checksum) are left out.  A non-zero return from CB stops the scan and is
 * returned. */
typedef int (*imgfmt_scan_fn)(const struct imgfmt_stat *st, void *arg);
int imgfmt_fs_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg);

/* Resolve PATH ("/", "/etc/hostname") from the root without following
 * symlinks in the last component.  -ENOENT, -ENOTDIR, -ELOOP as usual. */
int imgfmt_fs_lookup(imgfmt_fs *fs, const char *path, uint64_t *ino);

/* Call CB for each entry of directory DIR, except "." and "..".  NAME is a
 * byte string of NAMELEN bytes (not NUL-terminated for ext; NTFS names are
 * converted to UTF-8; NTFS metadata files and DOS 8.3 aliases are left
 * out).  TYPE is a DT_* value.  A non-zero return from CB stops the walk
 * and is returned. */
typedef int (*imgfmt_dirent_fn)(const char *name, size_t namelen, uint64_t ino, unsigned type, void *arg);
int imgfmt_fs_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg);

/* Read up to LEN bytes of file INO at OFFSET.  Returns the byte count (0 at
 * end of file) or a negative code.  STREAM names an NTFS alternate data
 * stream, NULL for the file's data. */
ssize_t imgfmt_fs_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t offset);

/* Symlink target of INO into BUF (NUL-terminated); returns its length. */
ssize_t imgfmt_fs_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size);

/* Call CB for each extended attribute of INO.  ext: every namespace with its
 * Linux name ("user.x", "security.selinux", "system.posix_acl_access" in
 * the xattr ACL format).  NTFS: "system.ntfs_security" (the raw security
 * descriptor), "system.ntfs_attrib" (DOS attributes, 4 bytes LE), and
 * "system.ntfs_reparse_data" where there is one. */
typedef int (*imgfmt_xattr_fn)(const char *name, const void *value, size_t size, void *arg);
int imgfmt_fs_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg);

/* Call CB for each NTFS alternate data stream of INO (UTF-8 name, size).
 * ext has none: returns 0 without calling CB. */
typedef int (*imgfmt_stream_fn)(const char *name, uint64_t size, void *arg);
int imgfmt_fs_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg);

/* Call CB for each run of file INO's data that is stored on disk, in file
 * order: LOGICAL and LENGTH are bytes within the file, PHYSICAL the byte
 * offset of the run inside the volume (IMGFMT_NO_PHYSICAL for data kept in
 * the inode: ext4 inline data, NTFS resident or compressed).  Gaps are holes
 * (sparse regions, unwritten extents).  On ext2/3/4 and XFS a
 * directory's runs are where its entries lie (a read-ahead hint for
 * walking the tree). */
#define IMGFMT_NO_PHYSICAL UINT64_MAX
typedef int (*imgfmt_run_fn)(uint64_t logical, uint64_t length, uint64_t physical, void *arg);
int imgfmt_fs_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg);

/* ---------------------------------------------------------------- editing
 *
 * A filesystem opened with IMGFMT_FS_WRITE (refused when it has errors or
 * needs journal recovery, or an NTFS is dirty, unclean or hibernated) can
 * be edited: ext2/3/4 with every call below; NTFS (through libntfs-3g)
 * only by imgfmt_fs_write_file() on a file that exists, the other calls
 * failing with -EOPNOTSUPP; XFS only by imgfmt_fs_set_uuid().  PATHs are
 * absolute inside the filesystem, their names matched exactly (NTFS
 * too: case counts); their directories must exist and no symlink is
 * followed.  Edits reach the disk at the latest in imgfmt_fs_commit(),
 * which returns what went wrong in writing them; call it before
 * imgfmt_fs_free(), and imgfmt_disk_sync() after it.  (NTFS writes each
 * edit as it is made: a handle freed without a commit has still written
 * them.)
 */

/* Mode (permission bits) and owner of a file or directory an edit creates. */
struct imgfmt_newfile {
	uint32_t mode;
	uint32_t uid, gid;
};

/* Make PATH a regular file holding LEN bytes of DATA.  An existing file
 * keeps its inode, owner, mode, ACLs and SELinux label (its contents are
 * replaced; NTFS: its unnamed data stream, the MFT record keeping its
 * security descriptor, attributes, names and other streams); a missing one
 * is created with NF (-ENOENT when NF is NULL; NTFS: -EOPNOTSUPP) and
 * labelled like a regular file beside it.  -EEXIST when PATH is not a
 * regular file (NTFS: a reparse point neither), -EPERM when it is
 * immutable or append-only (NTFS: read-only), -EOPNOTSUPP for an NTFS file
 * that is compressed or encrypted. */
int imgfmt_fs_write_file(imgfmt_fs *fs, const char *path, const void *data, size_t len,
			 const struct imgfmt_newfile *nf);

/* Append LEN bytes of DATA to regular file PATH (which must exist): only
 * the new blocks and the inode are written, so that a crash leaves the
 * file as it was or with the whole addition.  -EEXIST when PATH is not a
 * regular file, -EPERM when it is immutable. */
int imgfmt_fs_append_file(imgfmt_fs *fs, const char *path, const void *data, size_t len);

/* Create directory PATH with NF (labelled like a directory beside it);
 * -EEXIST when it exists. */
int imgfmt_fs_mkdir(imgfmt_fs *fs, const char *path, const struct imgfmt_newfile *nf);

/* Remove PATH (a file, symlink, device...; a directory and everything in it
 * only when RECURSIVE).  -ENOENT when missing. */
int imgfmt_fs_remove(imgfmt_fs *fs, const char *path, int recursive);

/* Give the filesystem the UUID UUID ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
 * with metadata_csum every checksum is rewritten (as tune2fs -U does). */
int imgfmt_fs_set_uuid(imgfmt_fs *fs, const char *uuid);

/* Write every edit out to the disk (its superblocks, group descriptors and
 * bitmaps included); imgfmt_disk_sync() then makes them durable. */
int imgfmt_fs_commit(imgfmt_fs *fs);

/* ------------------------------------------------------------- identities */

/* fsync the disk (after writes through imgfmt_volume_set_id() and the
 * like). */
int imgfmt_disk_sync(imgfmt_disk *disk);

/* A new random (version 4) UUID, lower case, into OUT. */
int imgfmt_uuid_random(char out[37]);

/* Set the identity of volume INDEX where it is a plain field: the NTFS
 * volume serial (ID: 16 hex digits, as blkid shows it) in both boot
 * sectors, or the swap UUID.  ext2/3/4 go through imgfmt_fs_set_uuid().
 * The disk must be open for writing. */
int imgfmt_volume_set_id(imgfmt_disk *disk, size_t index, const char *id);

/* Through libfdisk: set the disk identifier DISK_ID (GPT: a GUID; MBR:
 * "0x1234abcd") and, on GPT, the GUID of each volume i whose PART_UUIDS[i]
 * is not NULL (PART_UUIDS may be NULL; it has one entry per volume).
 * imgfmt_disk_id() and the volumes' part_uuid show the new values. */
int imgfmt_disk_set_ids(imgfmt_disk *disk, const char *disk_id, const char *const *part_uuids);

/* LVM2, as vgimportclone does it: every physical volume of volume group VG
 * on DISK (open with IMGFMT_OPEN_WRITE; a clone) gets a new random PV
 * uuid, the VG a new uuid and, when NEW_VG_NAME is not NULL, that name, so
 * that a host seeing many clones of one disk sees no duplicates.  LVs keep
 * their names and uuids.  The VG's metadata (seqno + 1) is written into
 * every metadata area of every one of its PVs, and the PV labels updated.
 * Refused, with nothing written: -EROFS read-only disk; -ENOENT no such VG;
 * -EINVAL a PV of the VG missing from the disk, two VGs of that name,
 * invalid names (LVM2's rules: 1-127 of a-z A-Z 0-9 + _ . -, no leading
 * -), metadata that does not fit its area.  The caller fsyncs
 * (imgfmt_disk_sync()).  The disk's volume list (LV names, lv_vg) is stale
 * afterwards: free the disk and open it again to see the new names. */
int imgfmt_disk_lvm_set_ids(imgfmt_disk *disk, const char *vg, const char *new_vg_name);

/* LVM2, as pvresize does it: volume INDEX is a PV whose partition has just
 * been resized (imgfmt_disk_resize_volume()); its label's device size, and
 * its dev_size and pe_count in the VG's metadata (in every metadata area of
 * every PV of the VG, seqno + 1), become what the partition now holds.  The
 * LVs are not grown.  Refused, with nothing written: -ENOTSUP when the PV
 * has a second metadata area at its end (pvcreate --pvmetadatacopies 2:
 * run pvresize in the guest); -EINVAL when shrinking would cut off
 * extents in use, the VG is incomplete on DISK, or the metadata does not
 * fit; -EROFS on a read-only disk.  The caller fsyncs; the volume list is
 * stale afterwards (re-open the disk). */
int imgfmt_disk_lvm_resize_pv(imgfmt_disk *disk, size_t index);

/* Where the data area (the first extent) of PV volume INDEX starts, in
 * bytes from the start of the PV, as its label says: what lies before it
 * is the label and the metadata areas.  -EINVAL when INDEX is no PV or its
 * label is damaged. */
int imgfmt_disk_lvm_pv_data_offset(imgfmt_disk *disk, size_t index, uint64_t *offset);

/* ---------------------------------------------------------------- output
 *
 * A disk written piece by piece (from a stream), with the copy engine's
 * target rules: PATH is a new file (written as a sparse temp file beside
 * it, renamed into place by imgfmt_output_commit() only), an existing file
 * with IMGFMT_TARGET_OVERWRITE, or a block device of at least SIZE bytes
 * (opened O_EXCL).  Freed without a commit, a new file is removed.
 */
typedef struct imgfmt_output imgfmt_output;

/* A new, unopened output; NULL when out of memory. */
imgfmt_output *imgfmt_output_new(void);
/* Open PATH for a disk of SIZE bytes (flags: IMGFMT_TARGET_OVERWRITE).  On
 * failure the message is on OUT, which may be freed or opened again. */
int imgfmt_output_open(imgfmt_output *out, const char *path, uint64_t size, unsigned flags);
/* LEN bytes at OFF (all-zero blocks of a new file stay holes). */
int imgfmt_output_write(imgfmt_output *out, const void *data, size_t len, uint64_t off);
/* The file to open before the commit: the temp file, or the device. */
const char *imgfmt_output_path(const imgfmt_output *out);
/* A block device: fsync and close it, so that it can be opened O_EXCL
 * again (to convert it) before the commit.  No-op for files. */
int imgfmt_output_release(imgfmt_output *out);
/* fsync, rename into place, fsync the directory. */
int imgfmt_output_commit(imgfmt_output *out);
/* Message for the last failure on OUT ("" when none). */
const char *imgfmt_output_error(const imgfmt_output *out);
/* Free; an output not committed is aborted (a new file is removed).  NULL
 * is fine. */
void imgfmt_output_free(imgfmt_output *out);

/* Through libfdisk: make partition INDEX SIZE bytes long (0: as long as
 * the disk allows after its start); a GPT's backup header is moved to the
 * disk's end.  The filesystem inside is not touched. */
int imgfmt_disk_resize_volume(imgfmt_disk *disk, size_t index, uint64_t size);

/* Through libfdisk: write SRC's partition table (label, disk and partition
 * ids, types, names, attributes; the MBR's boot code) onto DST, sized for
 * DST, with partition INDEX made SIZE bytes long.  For a disk smaller than
 * the one the table was made for. */
int imgfmt_disk_copy_ptable(imgfmt_disk *src, imgfmt_disk *dst, size_t index, uint64_t size);

/* A partition's place for imgfmt_disk_write_ptable(): volume INDEX of the
 * source, START and SIZE in bytes (whole sectors). */
struct imgfmt_part_place {
	size_t index;
	uint64_t start, size;
};

/* The same, with each of the N partitions in PLACES moved and sized as
 * said (an extended partition and its logical ones may move together). */
int imgfmt_disk_write_ptable(imgfmt_disk *src, imgfmt_disk *dst, const struct imgfmt_part_place *places, size_t n);

/* Through libfdisk: DISK's partition table described as libfdisk's script
 * (the text sfdisk --dump prints: label, label-id, first-lba, last-lba,
 * sector-size; each partition's start, size, type, uuid, name, attrs,
 * bootable), its partitions named disk1, disk2... whatever DISK's path.
 * *OUT (the caller frees it) is "" for a disk without a table. */
int imgfmt_disk_ptable_dump(imgfmt_disk *disk, char **out);

/* Through libfdisk: write the table DUMP describes (as
 * imgfmt_disk_ptable_dump() gives it) onto DISK, open for writing, sized
 * for it (a GPT's backup at its end), every id, type, name and attribute
 * kept, each of the N partitions in PLACES moved and sized as said (there
 * INDEX is the partition's number, 1-based).  The MBR's boot code is not
 * written.  The volume list is stale afterwards (open the disk again). */
int imgfmt_disk_apply_ptable_dump(imgfmt_disk *disk, const char *dump, const struct imgfmt_part_place *places,
				  size_t n);

/* ------------------------------------------------------------ temp files */

/* Remove every temp file the library has made for a new copy target or
 * output and not yet renamed into place or removed.  Async-signal-safe:
 * meant for a tool's SIGTERM/SIGINT/SIGHUP handler, which then re-raises
 * the signal (the library installs no signal handler itself).  A block
 * device target is not touched. */
void imgfmt_remove_temp_files(void);

/* Remove every RBD temp image (IMAGE.rawkit-tmp-PID) the library is
 * writing for a new copy target and has not yet renamed into place.  Not
 * async-signal-safe (it talks to the cluster): meant for a tool's thread
 * that waits for SIGTERM/SIGINT/SIGHUP (sigwait(), all threads blocking
 * them), which then lets the signal end the process. */
void imgfmt_remove_temp_images(void);

/* ----------------------------------------------------------- copy engine */

typedef struct imgfmt_copy imgfmt_copy;

/* imgfmt_copy_set_target() flags */
#define IMGFMT_TARGET_OVERWRITE 0x1 /* replace an existing regular file */
#define IMGFMT_TARGET_NO_REFLINK 0x2 /* never share extents with the source */
#define IMGFMT_TARGET_RBD 0x4 /* "rbd:POOL/IMAGE" is a new RBD image, staged in a
                               * file (else refused: see libimgfmt(3)) */

struct imgfmt_copy_stats {
	uint64_t source_bytes;  /* size of what is copied (disk or volume) */
	uint64_t used_bytes;    /* bytes the used map selected */
	uint64_t read_bytes;    /* bytes read from the source */
	uint64_t written_bytes; /* bytes written to the target */
	uint64_t cloned_bytes;  /* bytes shared by reflink */
	uint64_t zero_bytes;    /* used bytes that were zero and left as holes */
	double seconds;
	const char *method;     /* "reflink" or "copy" */
	unsigned replayed;      /* volumes of a crash-consistent source whose journal replay was
	                         * written into each target (see imgfmt_disk_recover()) */
};

imgfmt_copy *imgfmt_copy_new(void);
void imgfmt_copy_free(imgfmt_copy *copy);
const char *imgfmt_copy_error(const imgfmt_copy *copy);

/* What to copy: VOLUME of SOURCE (index), or the whole disk when -1.
 * SOURCE stays owned by the caller and must stay open. */
int imgfmt_copy_set_source(imgfmt_copy *copy, imgfmt_disk *source, int volume);

/* Where to: a new regular file (created sparse, in place only once it is
 * complete and durable: temp + fsync + rename + fsync of the directory), an
 * existing regular file only with IMGFMT_TARGET_OVERWRITE, or an existing
 * block device at least as large as the source (opened O_EXCL), or with
 * IMGFMT_TARGET_RBD a new RBD image "rbd:POOL/IMAGE": staged in a sparse
 * file (the path the finish callback gets), written through librbd into a
 * new sparse image and renamed into place by the commit. */
int imgfmt_copy_set_target(imgfmt_copy *copy, const char *path, unsigned flags);

/* Add another target: one run writes them all from a single read of the
 * source (reflinking those that can share extents with it).  Every target
 * is opened and checked before the first write to any. */
int imgfmt_copy_add_target(imgfmt_copy *copy, const char *path, unsigned flags);
size_t imgfmt_copy_target_count(const imgfmt_copy *copy);
/* Why target INDEX was not written or committed, "" when it was. */
const char *imgfmt_copy_target_error(const imgfmt_copy *copy, size_t index);
/* "reflink" or "copy" after a run. */
const char *imgfmt_copy_target_method(const imgfmt_copy *copy, size_t index);

/* Called for each target once its data is in place and before it is
 * committed: PATH is the file to open (the temp file of a new target, or
 * the block device, closed by the engine).  A negative return (with a
 * message in ERR) aborts that target: a new file is removed; a block
 * device keeps what was written. */
typedef int (*imgfmt_finish_fn)(size_t index, const char *path, char *err, size_t errlen, void *arg);
void imgfmt_copy_set_finish(imgfmt_copy *copy, imgfmt_finish_fn fn, void *arg);

/* Compute a SHA-256 over the copied ranges (offset, length, data); see
 * imgfmt_copy_checksum(). */
void imgfmt_copy_set_checksum(imgfmt_copy *copy, int enable);

/* Progress: called now and then from the copying thread with bytes done
 * and bytes to do. */
typedef void (*imgfmt_progress_fn)(uint64_t done, uint64_t total, void *arg);
void imgfmt_copy_set_progress(imgfmt_copy *copy, imgfmt_progress_fn cb, void *arg);

/* Check everything (target size, target in use) and fail before the first
 * write; then copy.  On failure a new target file is removed and an
 * existing one left as it was. */
int imgfmt_copy_run(imgfmt_copy *copy);

/* After a successful run. */
void imgfmt_copy_get_stats(const imgfmt_copy *copy, struct imgfmt_copy_stats *st);
/* Hex SHA-256 of the copied ranges, "" when checksums were off. */
const char *imgfmt_copy_checksum(const imgfmt_copy *copy);

/* Re-read the used ranges from PATH and compare their checksum with the
 * source's: the one computed by the last run when it had checksums on,
 * else computed now from the source (no run needed, only a source).
 * Returns 0 when equal, -EILSEQ when different. */
int imgfmt_copy_verify(imgfmt_copy *copy, const char *path);

/* ------------------------------------------------------- RADOS objects */

/* Objects in a Ceph RADOS pool, for what keeps its data there (a backup
 * repository "rados:POOL[/NAMESPACE]"): librados, loaded on first use as
 * for rbd: disks, configured the same way (":id=NAME", ":conf=FILE",
 * ":KEY=VALUE" Ceph options after the spec; $CEPH_CONF, $CEPH_ARGS).  The
 * handle follows the library's rules: imgfmt_rados_new(), _open(), _free(),
 * the last failure's message in imgfmt_rados_error(). */
typedef struct imgfmt_rados imgfmt_rados;

/* Whether S is spelt "rados:..." (a RADOS spec, not a path). */
int imgfmt_rados_is_spec(const char *s);
imgfmt_rados *imgfmt_rados_new(void);
/* Connect and open the pool (and namespace) of SPEC,
 * "rados:POOL[/NAMESPACE][:KEY=VALUE...]": -ENOENT no such pool, -EINVAL a
 * malformed spec or option, -ENOSYS librados is not installed. */
int imgfmt_rados_open(imgfmt_rados *r, const char *spec);
/* Release the locks held, disconnect and free; NULL is fine. */
void imgfmt_rados_free(imgfmt_rados *r);
const char *imgfmt_rados_error(const imgfmt_rados *r);
/* Object NAME made LEN bytes of BUF (created or replaced), committed on
 * every replica when the call returns. */
int imgfmt_rados_write(imgfmt_rados *r, const char *name, const void *buf, size_t len);
/* N objects at once (NAMES[i] made LENS[i] bytes of BUFS[i]), written in
 * parallel; returns when every one is committed, or the first failure. */
int imgfmt_rados_write_many(imgfmt_rados *r, size_t n, const char *const *names, const void *const *bufs,
			    const size_t *lens);
/* The same for an object that must not exist yet: -EEXIST when it does. */
int imgfmt_rados_create(imgfmt_rados *r, const char *name, const void *buf, size_t len);
/* Up to LEN bytes of NAME at OFF: the count read (short or 0 at its end),
 * or -ENOENT / another negative errno. */
ssize_t imgfmt_rados_read(imgfmt_rados *r, const char *name, void *buf, size_t len, uint64_t off);
int imgfmt_rados_size(imgfmt_rados *r, const char *name, uint64_t *size);
/* -ENOENT when there is no NAME. */
int imgfmt_rados_remove(imgfmt_rados *r, const char *name);
/* CB with the name of each object in the pool's namespace, in no order,
 * until it returns non-zero (returned); 0 at the end, or a negative errno. */
int imgfmt_rados_list(imgfmt_rados *r, int (*cb)(const char *name, void *arg), void *arg);
/* An advisory lock on OBJECT (created empty if missing), EXCLUSIVE or
 * shared with other shared holders: -EBUSY when another client holds it
 * (or this one, another way).  It lasts SECONDS and a thread of the handle
 * renews it every SECONDS/3 until imgfmt_rados_unlock() or _free(): a
 * holder that dies without either releases it after at most SECONDS.
 * Every lock of one handle has the same SECONDS. */
int imgfmt_rados_lock(imgfmt_rados *r, const char *object, int exclusive, unsigned seconds);
int imgfmt_rados_unlock(imgfmt_rados *r, const char *object);
/* Renew every lock R holds now: 0 when each one is held for another
 * SECONDS from now; -ENOLCK when one was lost (a renewal failed, or its
 * lease ran out while the process was stopped: another client may have
 * taken it since), for good.  What a lock protects is committed only
 * after this says 0. */
int imgfmt_rados_locks_held(imgfmt_rados *r);

#ifdef __cplusplus
}
#endif
#endif /* IMGFMT_H */
