/* fs_ntfs.c --- NTFS back end through libntfs-3g
 *
 * The volume is served to libntfs-3g through ntfs_device operations bounded
 * to the volume's byte range of an imgfmt disk.  Opened for reading (every
 * source), they refuse every write, so nothing ntfs-3g decides to do can
 * touch it.  Opened with IMGFMT_FS_WRITE (a copy being personalized), the
 * volume is mounted read-write and one edit is offered: replacing the
 * contents of a file that exists (nt_write_file()).
 */
#include "imgfmt_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/logfile.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/ntfstime.h>
#include <ntfs-3g/reparse.h>
#include <ntfs-3g/security.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

struct nt_priv {
	imgfmt_fs *fs;
	ntfs_volume *vol;
	s64 pos; /* for the seek/read device operations */
};

#define NTFS_VOL(fs) (((struct nt_priv *)(fs)->priv)->vol)

/* ntfs-3g logs through a global handler: keep its last error per thread,
 * to say why a mount failed, and print nothing. */
static _Thread_local char nt_last_log[160];

static int nt_log_keep(const char *function, const char *file, int line, u32 level, void *data,
			 const char *format, va_list args)
{
	(void)function, (void)file, (void)line, (void)data;
	if (level & (NTFS_LOG_LEVEL_ERROR | NTFS_LOG_LEVEL_PERROR | NTFS_LOG_LEVEL_CRITICAL)) {
		char *nl;
		vsnprintf(nt_last_log, sizeof(nt_last_log), format, args);
		if ((nl = strchr(nt_last_log, '\n')))
			*nl = '\0';
	}
	return 0;
}

static void nt_log_setup(void)
{
	ntfs_log_set_handler(nt_log_keep);
}

static bool nt_match(const char *fstype)
{
	return !strcmp(fstype, "ntfs");
}

/* ---- device operations: bounded to the volume, writing only when the
 * filesystem was opened with IMGFMT_FS_WRITE ---- */

static int ndev_open(struct ntfs_device *dev, int flags)
{
	struct nt_priv *p = dev->d_private;
	bool read_only = (flags & O_ACCMODE) == O_RDONLY;

	if (!read_only && !p->fs->writable) {
		errno = EROFS;
		return -1;
	}
	NDevSetOpen(dev);
	if (read_only)
		NDevSetReadOnly(dev);
	return 0;
}

static int ndev_close(struct ntfs_device *dev)
{
	NDevClearOpen(dev);
	return 0;
}

static s64 ndev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 offset)
{
	struct nt_priv *p = dev->d_private;
	uint64_t size = p->fs->vol.size;

	if (count < 0 || offset < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)offset >= size)
		return 0;
	if ((uint64_t)count > size - (uint64_t)offset)
		count = (s64)(size - (uint64_t)offset);
	if (imgfmt_volume_pread(p->fs->disk, p->fs->index, buf, (size_t)count, (uint64_t)offset) < 0) {
		errno = EIO;
		return -1;
	}
	return count;
}

static s64 ndev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
	struct nt_priv *p = dev->d_private;
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? p->pos : (s64)p->fs->vol.size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + offset < 0) {
		errno = EINVAL;
		return -1;
	}
	p->pos = base + offset;
	return p->pos;
}

static s64 ndev_read(struct ntfs_device *dev, void *buf, s64 count)
{
	struct nt_priv *p = dev->d_private;
	s64 n = ndev_pread(dev, buf, count, p->pos);

	if (n > 0)
		p->pos += n;
	return n;
}

/* Through imgfmt_fs_volume_pwrite(), which refuses a filesystem opened
 * read-only (and a read-only disk) whatever ntfs-3g asks. */
static s64 ndev_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 offset)
{
	struct nt_priv *p = dev->d_private;
	uint64_t size = p->fs->vol.size;
	int rc;

	if (count < 0 || offset < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)offset > size || (uint64_t)count > size - (uint64_t)offset) {
		errno = ENOSPC;
		return -1;
	}
	rc = imgfmt_fs_volume_pwrite(p->fs, buf, (size_t)count, (uint64_t)offset);
	if (rc < 0) {
		errno = rc == -EROFS ? EROFS : EIO;
		return -1;
	}
	return count;
}

static s64 ndev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	struct nt_priv *p = dev->d_private;
	s64 n = ndev_pwrite(dev, buf, count, p->pos);

	if (n > 0)
		p->pos += n;
	return n;
}

/* (the caller makes writes durable: imgfmt_disk_sync()) */
static int ndev_sync(struct ntfs_device *dev)
{
	(void)dev;
	return 0;
}

static int ndev_stat(struct ntfs_device *dev, struct stat *st)
{
	struct nt_priv *p = dev->d_private;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | (p->fs->writable ? 0600 : 0400);
	st->st_size = (off_t)p->fs->vol.size;
	return 0;
}

static int ndev_ioctl(struct ntfs_device *dev, unsigned long request, void *argp)
{
	(void)dev, (void)request, (void)argp;
	errno = EOPNOTSUPP;
	return -1;
}

static struct ntfs_device_operations ndev_ops = {
	.open = ndev_open,
	.close = ndev_close,
	.seek = ndev_seek,
	.read = ndev_read,
	.write = ndev_write,
	.pread = ndev_pread,
	.pwrite = ndev_pwrite,
	.sync = ndev_sync,
	.stat = ndev_stat,
	.ioctl = ndev_ioctl,
};

/* ---- volume ---- */

/* Unclean: marked dirty, or $LogFile holds transactions not yet applied. */
static bool nt_unclean(ntfs_volume *vol)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	RESTART_PAGE_HEADER *rp = NULL;
	bool unclean = (le16_to_cpu(vol->flags) & le16_to_cpu(VOLUME_IS_DIRTY)) != 0;

	ni = ntfs_inode_open(vol, FILE_LogFile);
	if (!ni)
		return true;
	na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na || !ntfs_check_logfile(na, &rp) || !ntfs_is_logfile_clean(na, rp))
		unclean = true;
	free(rp);
	if (na)
		ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return unclean;
}

static void nt_close(imgfmt_fs *fs);

static int nt_open(imgfmt_fs *fs)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct nt_priv *p = calloc(1, sizeof(*p));
	struct ntfs_device *dev;

	if (!p)
		return fs_fail(fs, -ENOMEM, "out of memory");
	pthread_once(&once, nt_log_setup);
	p->fs = fs;
	dev = ntfs_device_alloc(fs->disk->path, 0, &ndev_ops, p);
	if (!dev) {
		free(p);
		return fs_fail(fs, -ENOMEM, "out of memory");
	}
	nt_last_log[0] = '\0';
	errno = 0;
	/* read-write: ntfs-3g itself refuses a hibernated Windows and an
	 * unclean $LogFile */
	p->vol = ntfs_device_mount(dev, fs->writable ? 0 : NTFS_MNT_RDONLY);
	if (!p->vol) {
		int err = errno ? errno : EIO;
		ntfs_device_free(dev);
		free(p);
		return fs_fail(fs, err == ENOMEM ? -ENOMEM : -EUCLEAN, "cannot open NTFS: %s",
			       nt_last_log[0] ? nt_last_log : strerror(err));
	}
	fs->priv = p;
	snprintf(fs->type, sizeof(fs->type), "ntfs");
	fs->dirty = nt_unclean(p->vol);
	if (fs->dirty)
		fs->consistency.state = IMGFMT_NTFS_UNCLEAN;
	if (fs->dirty && fs->writable) {
		nt_close(fs);
		fs->priv = NULL;
		return fs_fail(fs, -EUCLEAN, "NTFS is marked dirty or its $LogFile is not clean: not written (run "
			       "chkdsk in the guest)");
	}
	fs->block_size = p->vol->cluster_size;
	fs->total_bytes = (uint64_t)p->vol->nr_clusters * p->vol->cluster_size;
	ntfs_volume_get_free_space(p->vol);
	fs->free_bytes = p->vol->free_clusters > 0 ? (uint64_t)p->vol->free_clusters * p->vol->cluster_size : 0;
	fs->root = FILE_root;
	return 0;
}

static void nt_close(imgfmt_fs *fs)
{
	struct nt_priv *p = fs->priv;

	if (!p)
		return;
	ntfs_umount(p->vol, FALSE); /* also frees the device */
	free(p);
}

/* Open MFT record INO into *NI; returns 0 or a negative code (message on FS). */
static int nt_get(imgfmt_fs *fs, uint64_t ino, ntfs_inode **ni)
{
	ntfs_volume *vol = NTFS_VOL(fs);

	*ni = NULL;
	if (ino >= (uint64_t)(vol->mft_na->initialized_size >> vol->mft_record_size_bits))
		return fs_fail(fs, -EINVAL, "MFT record %llu out of range", (unsigned long long)ino);
	errno = 0;
	*ni = ntfs_inode_open(vol, (MFT_REF)ino);
	if (!*ni)
		return fs_fail(fs, errno == ENOENT ? -ENOENT : -EUCLEAN, "cannot read MFT record %llu: %s",
			       (unsigned long long)ino, strerror(errno ? errno : EIO));
	return 0;
}

static ntfs_attr *nt_data(imgfmt_fs *fs, ntfs_inode *ni, const char *stream)
{
	ntfschar *uname = NULL;
	int ulen = 0;
	ntfs_attr *na;

	if (stream && (ulen = ntfs_mbstoucs(stream, &uname)) < 0) {
		fs_fail(fs, -EINVAL, "stream name \"%s\" is not valid UTF-8", stream);
		return NULL;
	}
	na = ntfs_attr_open(ni, AT_DATA, stream ? uname : AT_UNNAMED, (u32)ulen);
	if (!na)
		fs_fail(fs, errno == ENOENT ? -ENOENT : -EUCLEAN, "cannot open %s data of MFT record %llu",
			stream ? "stream" : "the", (unsigned long long)ni->mft_no);
	free(uname);
	return na;
}

/* Fill ST from the open inode NI (record INO). */
static void nt_fill_stat(ntfs_inode *ni, uint64_t ino, struct imgfmt_stat *st)
{
	u32 attrs = le32_to_cpu(ni->flags);

	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->generation = le16_to_cpu(ni->mrec->sequence_number);
	st->nlink = le16_to_cpu(ni->mrec->link_count);
	if (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) {
		st->mode = S_IFDIR | 0755;
	} else {
		ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
		st->mode = S_IFREG | 0644;
		if (na) {
			st->size = (uint64_t)na->data_size;
			st->allocated = (uint64_t)((na->data_flags & ATTR_IS_COMPRESSED) ? na->compressed_size
											  : na->allocated_size);
			ntfs_attr_close(na);
		}
	}
	if (attrs & le32_to_cpu(FILE_ATTR_READONLY))
		st->mode &= ~0222U;
	st->btime = ntfs2timespec(ni->creation_time);
	st->mtime = ntfs2timespec(ni->last_data_change_time);
	st->ctime = ntfs2timespec(ni->last_mft_change_time);
	st->atime = ntfs2timespec(ni->last_access_time);
	st->flags = attrs;
}

static int nt_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st)
{
	ntfs_inode *ni;
	int get_rc = nt_get(fs, ino, &ni);

	if (get_rc < 0)
		return get_rc;
	nt_fill_stat(ni, ino, st);
	ntfs_inode_close(ni);
	return 0;
}

/* Every MFT record in use ($MFT's bitmap says which), from the root on;
 * metadata files and extension records are left out. */
static int nt_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg)
{
	ntfs_volume *vol = NTFS_VOL(fs);
	uint64_t nrecords = (uint64_t)(vol->mft_na->initialized_size >> vol->mft_record_size_bits);
	unsigned char bits[4096];
	uint64_t have_from = 0, have = 0;
	struct imgfmt_stat st;
	int rc = 0;

	for (uint64_t mft = FILE_root; mft < nrecords && !rc; mft++) {
		ntfs_inode *ni;
		if (mft > FILE_root && mft < FILE_first_user)
			continue;
		if (mft < have_from || mft >= have_from + have * 8) {
			s64 got = ntfs_attr_pread(vol->mftbmp_na, (s64)(mft / 8), sizeof(bits), bits);
			if (got <= 0)
				break;
			have_from = mft - mft % 8;
			have = (uint64_t)got;
		}
		if (!(bits[(mft - have_from) / 8] & (1u << (mft % 8))))
			continue;
		ni = ntfs_inode_open(vol, (MFT_REF)mft);
		if (!ni)
			continue;
		if (!ni->mrec->base_mft_record) {
			nt_fill_stat(ni, mft, &st);
			rc = cb(&st, arg);
		}
		ntfs_inode_close(ni);
	}
	return rc;
}

static int nt_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg);

/* By exact (case-sensitive) name over the directory's entries: no inode
 * caches needed, as ntfs_inode_lookup_by_mbsname() would want. */
static int nt_lookup_child(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	return imgfmt_fs_lookup_scan(fs, dir, name, nt_readdir, ino);
}

struct nt_readdir_ctx {
	imgfmt_fs *fs;
	imgfmt_dirent_fn cb;
	void *arg;
	int rc;
};

static int nt_readdir_one(void *dirent, const ntfschar *name, const int name_len, const int name_type,
			    const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
	struct nt_readdir_ctx *ctx = dirent;
	char *utf8 = NULL;
	int len;
	(void)pos;

	if (name_type == FILE_NAME_DOS || MREF(mref) < FILE_first_user)
		return 0; /* 8.3 aliases, ".", "..", and the metadata files */
	len = ntfs_ucstombs(name, name_len, &utf8, 0);
	if (len < 0)
		return 0; /* not representable (unpaired surrogate): left out */
	if (!(len == 1 && utf8[0] == '.') && !(len == 2 && utf8[0] == '.' && utf8[1] == '.'))
		ctx->rc = ctx->cb(utf8, (size_t)len, MREF(mref), dt_type, ctx->arg);
	free(utf8);
	return ctx->rc ? -1 : 0;
}

static int nt_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	struct nt_readdir_ctx ctx = { fs, cb, arg, 0 };
	ntfs_inode *ni;
	s64 pos = 0;
	int rc;
	int get_rc = nt_get(fs, dir, &ni);

	if (get_rc < 0)
		return get_rc;
	if (!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		ntfs_inode_close(ni);
		return fs_fail(fs, -ENOTDIR, "MFT record %llu is not a directory", (unsigned long long)dir);
	}
	rc = ntfs_readdir(ni, &pos, &ctx, nt_readdir_one);
	ntfs_inode_close(ni);
	if (ctx.rc)
		return ctx.rc;
	if (rc)
		return fs_fail(fs, -EUCLEAN, "cannot read directory %llu", (unsigned long long)dir);
	return 0;
}

static ssize_t nt_pread_data(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	s64 got = 0;
	int get_rc = nt_get(fs, ino, &ni);

	if (get_rc < 0)
		return get_rc;
	na = nt_data(fs, ni, stream);
	if (!na) {
		ntfs_inode_close(ni);
		return -ENOENT;
	}
	if ((s64)off < na->data_size) {
		s64 want = na->data_size - (s64)off < (s64)len ? na->data_size - (s64)off : (s64)len;
		got = ntfs_attr_pread(na, (s64)off, want, buf);
	}
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	if (got < 0)
		return fs_fail(fs, -EIO, "cannot read MFT record %llu at %llu: %s", (unsigned long long)ino,
			       (unsigned long long)off, strerror(errno ? errno : EIO));
	return (ssize_t)got;
}

static ssize_t nt_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size)
{
	(void)buf, (void)size;
	return fs_fail(fs, -EINVAL, "MFT record %llu: NTFS reparse points are kept as system.ntfs_reparse_data",
		       (unsigned long long)ino);
}

typedef int (*nt_getter)(imgfmt_fs *fs, ntfs_inode *ni, char *value, size_t size);

static int nt_get_security(imgfmt_fs *fs, ntfs_inode *ni, char *value, size_t size)
{
	struct SECURITY_CONTEXT scx;

	memset(&scx, 0, sizeof(scx));
	scx.vol = NTFS_VOL(fs);
	return ntfs_get_ntfs_acl(&scx, ni, value, size);
}

static int nt_get_attrib(imgfmt_fs *fs, ntfs_inode *ni, char *value, size_t size)
{
	(void)fs;
	return ntfs_get_ntfs_attrib(ni, value, size);
}

static int nt_get_reparse(imgfmt_fs *fs, ntfs_inode *ni, char *value, size_t size)
{
	(void)fs;
	if (!(ni->flags & FILE_ATTR_REPARSE_POINT))
		return 0;
	return ntfs_get_ntfs_reparse_data(ni, value, size);
}

/* Ask for the size, then the value; pass non-empty values to CB. */
static int nt_one_xattr(imgfmt_fs *fs, ntfs_inode *ni, const char *name, nt_getter get, imgfmt_xattr_fn cb,
			  void *arg)
{
	int size = get(fs, ni, NULL, 0), rc;
	char *value;

	if (size <= 0)
		return 0;
	value = malloc((size_t)size);
	if (!value)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if (get(fs, ni, value, (size_t)size) != size)
		rc = fs_fail(fs, -EUCLEAN, "MFT record %llu: cannot read %s", (unsigned long long)ni->mft_no, name);
	else
		rc = cb(name, value, (size_t)size, arg);
	free(value);
	return rc;
}

static int nt_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg)
{
	ntfs_inode *ni;
	int rc;
	int get_rc = nt_get(fs, ino, &ni);

	if (get_rc < 0)
		return get_rc;
	rc = nt_one_xattr(fs, ni, "system.ntfs_security", nt_get_security, cb, arg);
	if (!rc)
		rc = nt_one_xattr(fs, ni, "system.ntfs_attrib", nt_get_attrib, cb, arg);
	if (!rc)
		rc = nt_one_xattr(fs, ni, "system.ntfs_reparse_data", nt_get_reparse, cb, arg);
	ntfs_inode_close(ni);
	return rc;
}

static int nt_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg)
{
	ntfs_inode *ni;
	ntfs_attr_search_ctx *ctx;
	int rc = 0;
	int get_rc = nt_get(fs, ino, &ni);

	if (get_rc < 0)
		return get_rc;
	ctx = ntfs_attr_get_search_ctx(ni, NULL);
	if (!ctx) {
		ntfs_inode_close(ni);
		return fs_fail(fs, -ENOMEM, "out of memory");
	}
	while (!rc && !ntfs_attr_lookup(AT_DATA, NULL, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		ATTR_RECORD *a = ctx->attr;
		char *utf8 = NULL;
		uint64_t size;
		if (!a->name_length)
			continue;
		if (ntfs_ucstombs((ntfschar *)((u8 *)a + le16_to_cpu(a->name_offset)), a->name_length, &utf8, 0) < 0)
			continue;
		size = a->non_resident ? (uint64_t)sle64_to_cpu(a->data_size) : le32_to_cpu(a->value_length);
		rc = cb(utf8, size, arg);
		free(utf8);
	}
	ntfs_attr_put_search_ctx(ctx);
	ntfs_inode_close(ni);
	return rc;
}

static int nt_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	uint64_t cs, limit, run_off = 0, run_len = 0, run_phys = 0;
	int rc = 0;
	int get_rc = nt_get(fs, ino, &ni);

	if (get_rc < 0)
		return get_rc;
	na = nt_data(fs, ni, NULL);
	if (!na) {
		ntfs_inode_close(ni);
		return -ENOENT;
	}
	cs = NTFS_VOL(fs)->cluster_size;
	limit = (uint64_t)na->initialized_size;
	if (!NAttrNonResident(na) || NAttrCompressed(na) || NAttrEncrypted(na)) {
		if (na->data_size > 0)
			rc = cb(0, (uint64_t)na->data_size, IMGFMT_NO_PHYSICAL, arg);
	} else if (ntfs_attr_map_whole_runlist(na)) {
		rc = fs_fail(fs, -EUCLEAN, "MFT record %llu: bad runlist", (unsigned long long)ino);
	} else {
		for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
			uint64_t off = (uint64_t)rl->vcn * cs, len = (uint64_t)rl->length * cs;
			uint64_t phys = (uint64_t)rl->lcn * cs;
			if (rl->lcn < 0 || off >= limit)
				continue;
			if (len > limit - off)
				len = limit - off;
			if (run_len && run_off + run_len == off && run_phys + run_len == phys) {
				run_len += len;
				continue;
			}
			if (run_len && (rc = cb(run_off, run_len, run_phys, arg)))
				break;
			run_off = off;
			run_len = len;
			run_phys = phys;
		}
		if (!rc && run_len)
			rc = cb(run_off, run_len, run_phys, arg);
	}
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return rc;
}

/* Free clusters from $Bitmap, one chunk at a time. */
static int nt_free_space(imgfmt_fs *fs, imgfmt_extents *free_ranges)
{
	ntfs_volume *vol = NTFS_VOL(fs);
	uint64_t cs = vol->cluster_size, nclusters = (uint64_t)vol->nr_clusters, run_start = 0, lcn = 0;
	bool in_run = false;
	enum { CHUNK = 1 << 16 };
	unsigned char *buf = malloc(CHUNK);
	int rc = 0;

	if (!buf)
		return fs_fail(fs, -ENOMEM, "out of memory");
	while (lcn < nclusters && !rc) {
		s64 want = (s64)((nclusters - lcn + 7) / 8 < CHUNK ? (nclusters - lcn + 7) / 8 : CHUNK);
		s64 got = ntfs_attr_pread(vol->lcnbmp_na, (s64)(lcn / 8), want, buf);
		if (got != want) {
			rc = fs_fail(fs, -EUCLEAN, "cannot read $Bitmap");
			break;
		}
		for (s64 i = 0; i < got && lcn < nclusters && !rc; i++) {
			unsigned char byte = buf[i];
			if ((byte == 0x00 && in_run) || (byte == 0xff && !in_run)) {
				lcn += 8;
				continue;
			}
			for (int bit = 0; bit < 8 && lcn < nclusters; bit++, lcn++) {
				bool used = byte & (1U << bit);
				if (!used && !in_run) {
					in_run = true;
					run_start = lcn;
				} else if (used && in_run) {
					in_run = false;
					if (imgfmt_extents_add(free_ranges, run_start * cs, (lcn - run_start) * cs))
						rc = fs_fail(fs, -ENOMEM, "out of memory");
				}
			}
		}
	}
	if (lcn > nclusters)
		lcn = nclusters;
	if (!rc && in_run && imgfmt_extents_add(free_ranges, run_start * cs, (lcn - run_start) * cs))
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	free(buf);
	return rc;
}

/* ---- editing: a file's contents replaced ---- */

/* NTFS opened with IMGFMT_FS_WRITE: NAME in directory DIR, a regular file
 * that exists, gets the LEN bytes of DATA as its unnamed $DATA (grown or
 * truncated through libntfs-3g); its MFT record keeps its security
 * descriptor, DOS attributes, hard links and streams.  Files are not
 * created (-ENOENT without NF, -EOPNOTSUPP with one).  Written as it goes:
 * a copy being built is the only thing ever opened for writing. */
static int nt_write_file(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len,
			 const struct imgfmt_newfile *nf)
{
	ntfs_inode *ni;
	ntfs_attr *na;
	uint64_t ino;
	s64 done = 0;
	int rc = nt_lookup_child(fs, dir, name, &ino);

	if (rc == -ENOENT && nf)
		return fs_fail(fs, -EOPNOTSUPP, "%s: rawkit does not create files on NTFS", name);
	if (rc < 0 || (rc = nt_get(fs, ino, &ni)) < 0)
		return rc;
	if ((ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) || (ni->flags & FILE_ATTR_REPARSE_POINT))
		rc = fs_fail(fs, -EEXIST, "%s: not a regular file", name);
	else if (ni->flags & FILE_ATTR_READONLY)
		rc = fs_fail(fs, -EPERM, "%s: the file is read-only", name);
	else if (ni->flags & (FILE_ATTR_ENCRYPTED | FILE_ATTR_COMPRESSED))
		rc = fs_fail(fs, -EOPNOTSUPP, "%s: rawkit does not write %s files", name,
			     (ni->flags & FILE_ATTR_ENCRYPTED) ? "encrypted" : "compressed");
	if (rc < 0) {
		ntfs_inode_close(ni);
		return rc;
	}
	if (!(na = nt_data(fs, ni, NULL))) {
		ntfs_inode_close(ni);
		return -EUCLEAN;
	}
	nt_last_log[0] = '\0';
	errno = 0;
	while (done < (s64)len) {
		s64 n = ntfs_attr_pwrite(na, done, (s64)len - done, (const char *)data + done);
		if (n <= 0)
			break;
		done += n;
	}
	if (done < (s64)len || (na->data_size > (s64)len && ntfs_attr_truncate(na, (s64)len)))
		rc = fs_fail(fs, errno == ENOSPC ? -ENOSPC : -EIO, "%s: cannot write MFT record %llu: %s", name,
			     (unsigned long long)ino, nt_last_log[0] ? nt_last_log : strerror(errno ? errno : EIO));
	ntfs_attr_close(na);
	if (rc == 0)
		ntfs_inode_update_times(ni, NTFS_UPDATE_MCTIME);
	if (rc == 0 && ntfs_inode_sync(ni))
		rc = fs_fail(fs, -EIO, "%s: cannot write MFT record %llu: %s", name, (unsigned long long)ino,
			     strerror(errno ? errno : EIO));
	ntfs_inode_close(ni);
	return rc;
}

/* What ntfs_umount() would write, written now (the cluster and MFT
 * bitmaps' inodes, $MFT and its mirror); the volume stays mounted. */
static int nt_commit(imgfmt_fs *fs)
{
	ntfs_volume *vol = NTFS_VOL(fs);
	ntfs_inode *sys[] = { vol->lcnbmp_ni, vol->mft_ni, vol->mftmirr_ni };

	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (sys[i] && NInoDirty(sys[i]) && ntfs_inode_sync(sys[i]))
			return fs_fail(fs, -EIO, "cannot write MFT record %llu: %s", (unsigned long long)sys[i]->mft_no,
				       strerror(errno ? errno : EIO));
	return 0;
}

const struct imgfmt_fs_ops imgfmt_fs_ntfs_ops = {
	.name = "ntfs",
	.match = nt_match,
	.open = nt_open,
	.close = nt_close,
	.stat = nt_stat,
	.scan = nt_scan,
	.lookup_child = nt_lookup_child,
	.readdir = nt_readdir,
	.pread = nt_pread_data,
	.readlink = nt_readlink,
	.xattrs = nt_xattrs,
	.streams = nt_streams,
	.data_runs = nt_data_runs,
	.free_space = nt_free_space,
	/* no mkdir, remove, set_uuid (the serial is a boot sector field:
	 * imgfmt_volume_set_id()) */
	.write_file = nt_write_file,
	.commit = nt_commit,
};
