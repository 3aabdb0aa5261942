/* fs_ext_edit.c --- edit an ext2/3/4 filesystem in place through libext2fs
 *
 * What rawkit-clone needs and no more: replace a file's contents (keeping
 * its inode, so owner, mode, ACLs and SELinux label stay), create a file or
 * directory (labelled like its siblings), remove files and trees, and give
 * the filesystem a new UUID.  With metadata_csum and no csum_seed every
 * checksum is seeded from the UUID, so a new UUID means rewriting them all,
 * as tune2fs -U does; the csum_seed feature is never switched on behind the
 * user's back, because older boot loaders cannot read such a filesystem.
 */
#include "fs_ext.h"

#include <errno.h>
#include <ext2fs/ext3_extents.h>
#include <pthread.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EDIT_MAX_DEPTH 64 /* directory nesting a removal follows */
#define SELINUX_XATTR "security.selinux"

/* libext2fs's write paths (bitmaps read whole, blocks and inodes allocated)
 * trust the superblock and group descriptors.  The open path has already
 * applied e2fsck's geometry checks (fs_ext_check.c, and a writable open is
 * refused on misplaced group metadata); an edit also needs the counts it
 * allocates from to be possible and libext2fs' own descriptor check. */
static int check_geometry(imgfmt_fs *fs)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_super_block *sb = efs->super;
	uint64_t blocks = ext2fs_blocks_count(sb);
	errcode_t err;

	if (ext2fs_r_blocks_count(sb) > blocks / 2 || ext2fs_free_blocks_count(sb) > blocks ||
	    sb->s_free_inodes_count > sb->s_inodes_count)
		return fs_fail(fs, -EUCLEAN, "free or reserved counts larger than the filesystem (run e2fsck)");
	err = ext2fs_check_desc(efs);
	return err ? imgfmt_ext_fail(fs, err, "the group descriptors are damaged (run e2fsck)") : 0;
}

int imgfmt_ext_edit_prepare(imgfmt_fs *fs)
{
	ext2_filsys efs = EXT_FS(fs);
	errcode_t err;
	int rc;

	if (fs->dirty)
		return fs_fail(fs, -EUCLEAN, "the filesystem has errors or needs journal recovery (run e2fsck)");
	if (ext2fs_has_feature_ea_inode(efs->super))
		return fs_fail(fs, -EOPNOTSUPP, "editing a filesystem with the ea_inode feature is not supported");
	if (ext2fs_has_feature_journal_dev(efs->super) || efs->super->s_journal_dev)
		return fs_fail(fs, -EOPNOTSUPP, "editing a filesystem with an external journal is not supported");
	if ((rc = check_geometry(fs)) < 0)
		return rc;
	err = ext2fs_read_bitmaps(efs);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot read the allocation bitmaps");
	return 0;
}

static void inode_set_now(ext2_filsys efs, struct ext2_inode_large *in, bool mtime)
{
	struct timespec ts;
	uint32_t extra;

	clock_gettime(CLOCK_REALTIME, &ts);
	extra = ((uint32_t)ts.tv_nsec << 2) | (uint32_t)(((uint64_t)ts.tv_sec >> 32) & 3);
	in->i_ctime = (uint32_t)ts.tv_sec;
	if (mtime)
		in->i_mtime = (uint32_t)ts.tv_sec;
	if (EXT2_INODE_SIZE(efs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	    in->i_extra_isize >= offsetof(struct ext2_inode_large, i_mtime_extra) + 4 - EXT2_GOOD_OLD_INODE_SIZE) {
		in->i_ctime_extra = extra;
		if (mtime)
			in->i_mtime_extra = extra;
	}
}

static int write_inode(imgfmt_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t err = ext2fs_write_inode_full(EXT_FS(fs), ino, (struct ext2_inode *)in, sizeof(*in));

	return err ? imgfmt_ext_fail(fs, err, "cannot write inode") : 0;
}

/* A directory changed: new mtime/ctime. */
static int touch_dir(imgfmt_fs *fs, ext2_ino_t dir)
{
	struct ext2_inode_large in;
	int rc = imgfmt_ext_read_inode(fs, dir, &in);

	if (rc < 0)
		return rc;
	inode_set_now(EXT_FS(fs), &in, true);
	return write_inode(fs, dir, &in);
}

/* The file's cached block map (fs_ext.c) is stale after an edit. */
static void forget_map(imgfmt_fs *fs)
{
	((struct ext_state *)fs->priv)->map_ino = 0;
}

static int lookup(imgfmt_fs *fs, ext2_ino_t dir, const char *name, ext2_ino_t *ino)
{
	errcode_t err = ext2fs_lookup(EXT_FS(fs), dir, name, (int)strlen(name), NULL, ino);

	if (err == EXT2_ET_FILE_NOT_FOUND)
		return -ENOENT;
	return err ? imgfmt_ext_fail(fs, err, "cannot search the directory") : 0;
}

/* ---- SELinux label of a new file: that of a sibling, else none ---- */

struct sibling {
	imgfmt_fs *fs;
	ext2_ino_t skip;
	unsigned want_dir;
	void *label;
	size_t len;
};

static int sibling_label(struct ext2_dir_entry *de, int offset, int blocksize, char *buf, void *arg)
{
	struct sibling *s = arg;
	ext2_filsys efs = EXT_FS(s->fs);
	struct ext2_xattr_handle *h = NULL;
	int ft = ext2fs_dirent_file_type(de);
	(void)offset, (void)blocksize, (void)buf;

	if (!de->inode || de->inode == s->skip || ext2fs_dirent_name_len(de) == 0 ||
	    (ext2fs_dirent_name_len(de) <= 2 && de->name[0] == '.'))
		return 0;
	if ((s->want_dir && ft != EXT2_FT_DIR) || (!s->want_dir && ft != EXT2_FT_REG_FILE))
		return 0;
	if (de->inode > efs->super->s_inodes_count || ext2fs_xattrs_open(efs, de->inode, &h))
		return 0;
	if (!ext2fs_xattrs_read(h) && !ext2fs_xattr_get(h, SELINUX_XATTR, &s->label, &s->len)) {
		ext2fs_xattrs_close(&h);
		return DIRENT_ABORT;
	}
	ext2fs_xattrs_close(&h);
	return 0;
}

static int label_like_siblings(imgfmt_fs *fs, ext2_ino_t dir, ext2_ino_t ino, bool is_dir)
{
	ext2_filsys efs = EXT_FS(fs);
	struct sibling s = { .fs = fs, .skip = ino, .want_dir = is_dir };
	struct ext2_xattr_handle *h = NULL;
	errcode_t err;

	ext2fs_dir_iterate(efs, dir, 0, NULL, sibling_label, &s);
	if (!s.label)
		return 0;
	err = ext2fs_xattrs_open(efs, ino, &h);
	if (!err)
		err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_set(h, SELINUX_XATTR, s.label, s.len);
	if (h)
		ext2fs_xattrs_close(&h);
	ext2fs_free_mem(&s.label);
	return err ? imgfmt_ext_fail(fs, err, "cannot set the SELinux label") : 0;
}

/* ---- new inodes ---- */

static void new_inode_init(ext2_filsys efs, struct ext2_inode_large *in, unsigned type,
			   const struct imgfmt_newfile *nf)
{
	memset(in, 0, sizeof(*in));
	in->i_mode = (uint16_t)(type | (nf->mode & 07777));
	in->i_uid = (uint16_t)nf->uid;
	in->osd2.linux2.l_i_uid_high = (uint16_t)(nf->uid >> 16);
	in->i_gid = (uint16_t)nf->gid;
	in->osd2.linux2.l_i_gid_high = (uint16_t)(nf->gid >> 16);
	in->i_links_count = 1;
	if (EXT2_INODE_SIZE(efs->super) > EXT2_GOOD_OLD_INODE_SIZE)
		in->i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
	inode_set_now(efs, in, true);
	in->i_atime = in->i_mtime;
}

/* An empty extent tree in the inode itself. */
static void extent_root_init(ext2_filsys efs, struct ext2_inode_large *in)
{
	struct ext3_extent_header *eh = (struct ext3_extent_header *)in->i_block;

	if (!ext2fs_has_feature_extents(efs->super))
		return;
	in->i_flags |= EXT4_EXTENTS_FL;
	eh->eh_magic = ext2fs_cpu_to_le16(EXT3_EXT_MAGIC);
	eh->eh_entries = 0;
	eh->eh_depth = 0;
	eh->eh_max = ext2fs_cpu_to_le16((sizeof(in->i_block) - sizeof(*eh)) / sizeof(struct ext3_extent));
}

static int link_entry(imgfmt_fs *fs, ext2_ino_t dir, const char *name, ext2_ino_t ino, int ft)
{
	ext2_filsys efs = EXT_FS(fs);
	errcode_t err = ext2fs_link(efs, dir, name, ino, ft);

	if (err == EXT2_ET_DIR_NO_SPACE) {
		forget_map(fs); /* (a directory's map is cached too: it grows) */
		err = ext2fs_expand_dir(efs, dir);
		if (!err)
			err = ext2fs_link(efs, dir, name, ino, ft);
	}
	return err ? imgfmt_ext_fail(fs, err, "cannot add the directory entry") : 0;
}

static int create_file(imgfmt_fs *fs, ext2_ino_t dir, const char *name, const struct imgfmt_newfile *nf,
		       ext2_ino_t *out)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t err;
	int rc;

	err = ext2fs_new_inode(efs, dir, LINUX_S_IFREG | 0600, NULL, &ino);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot allocate an inode");
	new_inode_init(efs, &in, LINUX_S_IFREG, nf);
	extent_root_init(efs, &in);
	err = ext2fs_write_new_inode(efs, ino, (struct ext2_inode *)&in);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot write the new inode");
	ext2fs_inode_alloc_stats2(efs, ino, +1, 0);
	rc = link_entry(fs, dir, name, ino, EXT2_FT_REG_FILE);
	if (rc < 0) { /* give the inode back: no entry names it */
		struct ext2_inode_large zero = { 0 };
		ext2fs_write_inode_full(efs, ino, (struct ext2_inode *)&zero, sizeof(zero));
		ext2fs_inode_alloc_stats2(efs, ino, -1, 0);
		return rc;
	}
	rc = label_like_siblings(fs, dir, ino, false);
	if (rc == 0)
		rc = touch_dir(fs, dir);
	*out = ino;
	return rc;
}

/* ---- write a whole file ---- */

/* LEN bytes of DATA at FILE's position, in pieces libext2fs takes. */
static errcode_t file_write_all(ext2_file_t file, const void *data, size_t len)
{
	size_t done = 0;
	errcode_t err = 0;

	while (!err && done < len) {
		unsigned int chunk = len - done > (1u << 20) ? (1u << 20) : (unsigned int)(len - done), got = 0;
		err = ext2fs_file_write(file, (const char *)data + done, chunk, &got);
		if (!err && got == 0)
			err = EXT2_ET_SHORT_WRITE;
		done += got;
	}
	return err;
}

/* Close FILE (opened or not: NULL), then, when nothing failed (ERR, WHAT
 * says what if it did), give inode INO its new change and modify times. */
static int file_done(imgfmt_fs *fs, ext2_ino_t ino, ext2_file_t file, errcode_t err, const char *what)
{
	struct ext2_inode_large in;
	int rc;

	if (file) {
		errcode_t cerr = ext2fs_file_close(file);
		if (!err)
			err = cerr;
	}
	if (err)
		return imgfmt_ext_fail(fs, err, what);
	if ((rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc;
	inode_set_now(EXT_FS(fs), &in, true);
	return write_inode(fs, ino, &in);
}

int imgfmt_ext_write_file(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len,
			  const struct imgfmt_newfile *nf)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	ext2_file_t file = NULL;
	ext2_ino_t ino;
	errcode_t err;
	int rc;

	forget_map(fs);
	rc = lookup(fs, (ext2_ino_t)dir, name, &ino);
	if (rc == -ENOENT) {
		if (!nf)
			return fs_fail(fs, -ENOENT, "no such file");
		rc = create_file(fs, (ext2_ino_t)dir, name, nf, &ino);
	}
	if (rc < 0 || (rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc;
	if (!LINUX_S_ISREG(in.i_mode))
		return fs_fail(fs, -EEXIST, "not a regular file");
	if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return fs_fail(fs, -EPERM, "the file is immutable or append-only");
	err = ext2fs_file_open2(efs, ino, (struct ext2_inode *)&in, EXT2_FILE_WRITE, &file);
	if (!err)
		err = ext2fs_file_set_size2(file, 0);
	if (!err)
		err = file_write_all(file, data, len);
	if (!err)
		err = ext2fs_file_set_size2(file, len);
	return file_done(fs, ino, file, err, "cannot write the file");
}

int imgfmt_ext_append_file(imgfmt_fs *fs, uint64_t dir, const char *name, const void *data, size_t len)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	ext2_file_t file = NULL;
	ext2_ino_t ino;
	errcode_t err;
	__u64 size;
	int rc;

	forget_map(fs);
	if ((rc = lookup(fs, (ext2_ino_t)dir, name, &ino)) < 0)
		return rc == -ENOENT ? fs_fail(fs, -ENOENT, "no such file") : rc;
	if ((rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc;
	if (!LINUX_S_ISREG(in.i_mode))
		return fs_fail(fs, -EEXIST, "not a regular file");
	if (in.i_flags & EXT2_IMMUTABLE_FL)
		return fs_fail(fs, -EPERM, "the file is immutable");
	err = ext2fs_file_open2(efs, ino, (struct ext2_inode *)&in, EXT2_FILE_WRITE, &file);
	if (!err)
		err = ext2fs_file_get_lsize(file, &size);
	if (!err)
		err = ext2fs_file_llseek(file, size, EXT2_SEEK_SET, NULL);
	if (!err)
		err = file_write_all(file, data, len);
	return file_done(fs, ino, file, err, "cannot append to the file");
}

/* ---- directories ---- */

int imgfmt_ext_mkdir(imgfmt_fs *fs, uint64_t dir, const char *name, const struct imgfmt_newfile *nf)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t err;
	int rc = lookup(fs, (ext2_ino_t)dir, name, &ino);

	if (rc == 0)
		return fs_fail(fs, -EEXIST, "already exists");
	if (rc != -ENOENT)
		return rc;
	err = ext2fs_new_inode(efs, (ext2_ino_t)dir, LINUX_S_IFDIR | 0755, NULL, &ino);
	if (!err)
		err = ext2fs_mkdir(efs, (ext2_ino_t)dir, ino, name);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(efs, (ext2_ino_t)dir);
		if (!err)
			err = ext2fs_mkdir(efs, (ext2_ino_t)dir, ino, name);
	}
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot create the directory");
	if ((rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc;
	in.i_mode = (uint16_t)(LINUX_S_IFDIR | (nf->mode & 07777));
	in.i_uid = (uint16_t)nf->uid;
	in.osd2.linux2.l_i_uid_high = (uint16_t)(nf->uid >> 16);
	in.i_gid = (uint16_t)nf->gid;
	in.osd2.linux2.l_i_gid_high = (uint16_t)(nf->gid >> 16);
	if ((rc = write_inode(fs, ino, &in)) < 0)
		return rc;
	rc = label_like_siblings(fs, (ext2_ino_t)dir, ino, true);
	return rc < 0 ? rc : touch_dir(fs, (ext2_ino_t)dir);
}

/* ---- removal ---- */

/* Give back an inode that has no links left: data, xattr block, inode. */
static int release_inode(imgfmt_fs *fs, ext2_ino_t ino, struct ext2_inode_large *in)
{
	ext2_filsys efs = EXT_FS(fs);
	blk64_t acl = ext2fs_file_acl_block(efs, (struct ext2_inode *)in);
	errcode_t err = 0;
	int rc;

	if (ext2fs_inode_has_valid_blocks2(efs, (struct ext2_inode *)in) || (in->i_flags & EXT4_INLINE_DATA_FL))
		err = ext2fs_punch(efs, ino, (struct ext2_inode *)in, NULL, 0, ~0ULL);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot free the file's blocks");
	if (acl) {
		__u32 count = 0;
		if (acl < efs->super->s_first_data_block || acl >= ext2fs_blocks_count(efs->super))
			return fs_fail(fs, -EUCLEAN, "extended attribute block %llu out of range",
				       (unsigned long long)acl);
		err = ext2fs_adjust_ea_refcount3(efs, acl, NULL, -1, &count, ino);
		if (err)
			return imgfmt_ext_fail(fs, err, "cannot release the extended attribute block");
		if (count == 0)
			ext2fs_block_alloc_stats2(efs, acl, -1);
		ext2fs_file_acl_block_set(efs, (struct ext2_inode *)in, 0);
	}
	in->i_links_count = 0;
	in->i_dtime = in->i_ctime = (uint32_t)time(NULL);
	if ((rc = write_inode(fs, ino, in)) < 0)
		return rc;
	ext2fs_inode_alloc_stats2(efs, ino, -1, LINUX_S_ISDIR(in->i_mode));
	return 0;
}

struct child_list {
	char **names;
	size_t n, cap;
	int rc;
};

static int collect_child(struct ext2_dir_entry *de, int offset, int blocksize, char *buf, void *arg)
{
	struct child_list *l = arg;
	size_t len = (size_t)ext2fs_dirent_name_len(de);
	(void)offset, (void)blocksize, (void)buf;

	if (!de->inode || len == 0 || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **grown = realloc(l->names, cap * sizeof(*grown));
		if (!grown) {
			l->rc = -ENOMEM;
			return DIRENT_ABORT;
		}
		l->names = grown;
		l->cap = cap;
	}
	if (!(l->names[l->n] = strndup(de->name, len))) {
		l->rc = -ENOMEM;
		return DIRENT_ABORT;
	}
	l->n++;
	return 0;
}

/* A recursive removal: the directories it has entered (open addressing,
 * 0 = empty).  A crafted filesystem can give a directory a second name
 * inside itself, or elsewhere: followed, the first never ends and the
 * second empties a directory that was never named. */
struct removal {
	ext2_ino_t *seen;
	size_t cap, n;
};

static size_t seen_slot(const struct removal *rm, ext2_ino_t ino)
{
	size_t i = (size_t)(ino * 0x9e3779b1u) & (rm->cap - 1);

	while (rm->seen[i] && rm->seen[i] != ino)
		i = (i + 1) & (rm->cap - 1);
	return i;
}

/* 1 when INO is newly added, 0 when it was entered before, -ENOMEM. */
static int seen_add(struct removal *rm, ext2_ino_t ino)
{
	if (2 * (rm->n + 1) > rm->cap) {
		struct removal grown = { .cap = rm->cap ? 2 * rm->cap : 64, .n = rm->n };
		if (!(grown.seen = calloc(grown.cap, sizeof(*grown.seen))))
			return -ENOMEM;
		for (size_t i = 0; i < rm->cap; i++)
			if (rm->seen[i])
				grown.seen[seen_slot(&grown, rm->seen[i])] = rm->seen[i];
		free(rm->seen);
		*rm = grown;
	}
	size_t i = seen_slot(rm, ino);
	if (rm->seen[i])
		return 0;
	rm->seen[i] = ino;
	rm->n++;
	return 1;
}

/* May the removal enter directory INO, named in DIR?  Its ".." must name
 * DIR (a directory has one name) and it must not have been entered yet. */
static int may_enter(imgfmt_fs *fs, struct removal *rm, ext2_ino_t dir, ext2_ino_t ino)
{
	ext2_ino_t dotdot = 0;
	int rc = lookup(fs, ino, "..", &dotdot);

	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT || dotdot != dir)
		return fs_fail(fs, -ELOOP, "a second name of a directory (a directory hard link): run e2fsck");
	rc = seen_add(rm, ino);
	if (rc < 0)
		return fs_fail(fs, rc, "out of memory");
	return rc ? 0 : fs_fail(fs, -ELOOP, "a directory reached twice (a directory hard link loop): run e2fsck");
}

static int remove_entry(imgfmt_fs *fs, struct removal *rm, ext2_ino_t dir, const char *name, bool recursive,
			int depth);

static int remove_children(imgfmt_fs *fs, struct removal *rm, ext2_ino_t ino, int depth)
{
	struct child_list l = { 0 };
	errcode_t err = ext2fs_dir_iterate(EXT_FS(fs), ino, 0, NULL, collect_child, &l);
	int rc = err ? imgfmt_ext_fail(fs, err, "cannot read the directory") :
		 l.rc ? fs_fail(fs, l.rc, "out of memory") : 0;

	for (size_t i = 0; i < l.n; i++) {
		if (rc == 0)
			rc = remove_entry(fs, rm, ino, l.names[i], true, depth + 1);
		free(l.names[i]);
	}
	free(l.names);
	return rc;
}

static int remove_entry(imgfmt_fs *fs, struct removal *rm, ext2_ino_t dir, const char *name, bool recursive,
			int depth)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_inode_large in;
	ext2_ino_t ino;
	errcode_t err;
	bool is_dir;
	int rc;

	if (depth > EDIT_MAX_DEPTH)
		return fs_fail(fs, -ELOOP, "directories nested deeper than %d", EDIT_MAX_DEPTH);
	if ((rc = lookup(fs, dir, name, &ino)) < 0 || (rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc == -ENOENT ? fs_fail(fs, rc, "no such file") : rc;
	if (ino < EXT2_FIRST_INODE(efs->super))
		return fs_fail(fs, -EPERM, "a reserved inode is not removed");
	/* a crafted directory can name a freed inode, or one inode twice */
	if (in.i_links_count == 0 || !ext2fs_test_inode_bitmap2(efs->inode_map, ino))
		return fs_fail(fs, -EUCLEAN, "the entry names an inode that is not in use (run e2fsck)");
	{
		blk64_t acl = ext2fs_file_acl_block(efs, (struct ext2_inode *)&in);
		if (acl && (acl < efs->super->s_first_data_block || acl >= ext2fs_blocks_count(efs->super)))
			return fs_fail(fs, -EUCLEAN, "extended attribute block %llu out of range",
				       (unsigned long long)acl);
	}
	is_dir = LINUX_S_ISDIR(in.i_mode);
	if (is_dir && !recursive)
		return fs_fail(fs, -EISDIR, "is a directory");
	if (in.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return fs_fail(fs, -EPERM, "immutable or append-only");
	if (is_dir && ((rc = may_enter(fs, rm, dir, ino)) < 0 || (rc = remove_children(fs, rm, ino, depth)) < 0))
		return rc;
	err = ext2fs_unlink(efs, dir, name, ino, 0);
	if (err)
		return imgfmt_ext_fail(fs, err, "cannot remove the directory entry");
	if ((rc = imgfmt_ext_read_inode(fs, ino, &in)) < 0)
		return rc;
	if (is_dir) {
		struct ext2_inode_large parent;
		if ((rc = imgfmt_ext_read_inode(fs, dir, &parent)) < 0)
			return rc;
		if (parent.i_links_count > 2)
			parent.i_links_count--;
		inode_set_now(efs, &parent, true);
		if ((rc = write_inode(fs, dir, &parent)) < 0)
			return rc;
		return release_inode(fs, ino, &in);
	}
	if ((rc = touch_dir(fs, dir)) < 0)
		return rc;
	if (in.i_links_count > 1) {
		in.i_links_count--;
		inode_set_now(efs, &in, false);
		return write_inode(fs, ino, &in);
	}
	return release_inode(fs, ino, &in);
}

int imgfmt_ext_remove(imgfmt_fs *fs, uint64_t dir, const char *name, bool recursive)
{
	struct removal rm = { 0 };
	int rc;

	forget_map(fs);
	rc = seen_add(&rm, (ext2_ino_t)dir); /* the directory the removal starts in */
	rc = rc < 0 ? fs_fail(fs, rc, "out of memory") : remove_entry(fs, &rm, (ext2_ino_t)dir, name, recursive, 0);
	free(rm.seen);
	return rc;
}

/* ---- a new UUID ---- */

/* ---- directory blocks, in disk order and in runs ---- */

struct dir_block {
	blk64_t blk;
	ext2_ino_t dir;
};

struct dir_blocks {
	struct dir_block *v;
	size_t n, cap;
	ext2_ino_t dir;
	bool oom, bad;
};

static int collect_dir_block(ext2_filsys efs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref, int ref_off,
			     void *arg)
{
	struct dir_blocks *d = arg;
	(void)blockcnt, (void)ref, (void)ref_off;

	if (*blocknr < efs->super->s_first_data_block || *blocknr >= ext2fs_blocks_count(efs->super)) {
		d->bad = true;
		return BLOCK_ABORT;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 4096;
		struct dir_block *grown = realloc(d->v, cap * sizeof(*grown));
		if (!grown) {
			d->oom = true;
			return BLOCK_ABORT;
		}
		d->v = grown;
		d->cap = cap;
	}
	d->v[d->n++] = (struct dir_block){ *blocknr, d->dir };
	return 0;
}

static int cmp_dir_block(const void *a, const void *b)
{
	const struct dir_block *x = a, *y = b;

	return x->blk < y->blk ? -1 : x->blk > y->blk;
}

#define RUN_BLOCKS 256 /* blocks read and written at once */

/* Read adjacent blocks together, set each one's checksum, write them back
 * together: a few large requests instead of two per directory block. */
static int rewrite_dir_blocks(imgfmt_fs *fs, struct dir_blocks *d)
{
	ext2_filsys efs = EXT_FS(fs);
	char *buf = NULL;
	errcode_t err = ext2fs_get_mem((unsigned long)RUN_BLOCKS * efs->blocksize, &buf);

	if (err)
		return imgfmt_ext_fail(fs, err, "out of memory");
	if (d->n)
		qsort(d->v, d->n, sizeof(*d->v), cmp_dir_block);
	for (size_t i = 0; i < d->n && !err;) {
		size_t j = i + 1;
		while (j < d->n && j - i < RUN_BLOCKS && d->v[j].blk == d->v[j - 1].blk + 1)
			j++;
		if (j < d->n && d->v[j].blk == d->v[j - 1].blk) { /* a block claimed twice: crafted */
			ext2fs_free_mem(&buf);
			return fs_fail(fs, -EUCLEAN, "block %llu belongs to two directories",
				       (unsigned long long)d->v[j].blk);
		}
		err = io_channel_read_blk64(efs->io, d->v[i].blk, (int)(j - i), buf);
		for (size_t k = i; k < j && !err; k++)
			err = ext2fs_dir_block_csum_set(efs, d->v[k].dir,
							(struct ext2_dir_entry *)(buf + (k - i) * efs->blocksize));
		if (!err)
			err = io_channel_write_blk64(efs->io, d->v[i].blk, (int)(j - i), buf);
		i = j;
	}
	ext2fs_free_mem(&buf);
	return err ? imgfmt_ext_fail(fs, err, "cannot rewrite directory block checksums") : 0;
}

/* A directory's blocks from its extent tree, without reading its inode
 * again (block-mapped directories through block_iterate). */
static errcode_t collect_dir(ext2_filsys efs, ext2_ino_t ino, struct ext2_inode_large *in, struct dir_blocks *dirs)
{
	ext2_extent_handle_t h = NULL;
	struct ext2fs_extent e;
	errcode_t err;
	int op = EXT2_EXTENT_ROOT;

	dirs->dir = ino;
	if (!(in->i_flags & EXT4_EXTENTS_FL)) {
		err = ext2fs_block_iterate3(efs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL,
					    collect_dir_block, dirs);
		return err ? err : dirs->oom ? EXT2_ET_NO_MEMORY : dirs->bad ? EXT2_ET_BAD_BLOCK_NUM : 0;
	}
	if ((err = ext2fs_extent_open2(efs, ino, (struct ext2_inode *)in, &h)))
		return err;
	while (!(err = ext2fs_extent_get(h, op, &e))) {
		op = EXT2_EXTENT_NEXT;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF) || (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT) ||
		    (e.e_flags & EXT2_EXTENT_FLAGS_UNINIT))
			continue;
		for (blk64_t b = 0; b < e.e_len && !dirs->oom && !dirs->bad; b++) {
			blk64_t blk = e.e_pblk + b;
			collect_dir_block(efs, &blk, 0, 0, 0, dirs);
		}
		if (dirs->oom || dirs->bad)
			break;
	}
	ext2fs_extent_free(h);
	if (err == EXT2_ET_EXTENT_NO_NEXT)
		err = 0;
	return err ? err : dirs->oom ? EXT2_ET_NO_MEMORY : dirs->bad ? EXT2_ET_BAD_BLOCK_NUM : 0;
}

/* The checksums that live outside the inode IN (as read in the first pass):
 * extent tree blocks and the xattr block now; directory blocks are
 * collected on DIRS for rewrite_dir_blocks(). */
static errcode_t rewrite_inode_blocks(ext2_filsys efs, ext2_ino_t ino, struct ext2_inode_large *in, char *buf,
				      struct dir_blocks *dirs)
{
	const struct ext3_extent_header *eh = (const struct ext3_extent_header *)in->i_block;
	blk64_t acl;
	errcode_t err = 0;

	if ((in->i_flags & EXT4_EXTENTS_FL) && eh->eh_depth > 0)
		err = ext2fs_fix_extents_checksums(efs, ino, (struct ext2_inode *)in);
	if (!err && LINUX_S_ISDIR(in->i_mode) && ext2fs_inode_has_valid_blocks2(efs, (struct ext2_inode *)in))
		err = collect_dir(efs, ino, in, dirs);
	acl = ext2fs_file_acl_block(efs, (struct ext2_inode *)in);
	if (!err && acl) {
		if (acl < efs->super->s_first_data_block || acl >= ext2fs_blocks_count(efs->super))
			return EXT2_ET_BAD_EA_BLOCK_NUM;
		err = ext2fs_read_ext_attr3(efs, acl, buf, ino);
		if (!err)
			err = ext2fs_write_ext_attr3(efs, acl, buf, ino);
	}
	return err;
}

/* Does an inode (as on disk) have checksummed blocks of its own? */
static bool has_own_blocks(ext2_filsys efs, const struct ext2_inode_large *in)
{
	const struct ext3_extent_header *eh = (const struct ext3_extent_header *)in->i_block;

	if (ext2fs_file_acl_block(efs, (const struct ext2_inode *)in))
		return true;
	if (LINUX_S_ISDIR(ext2fs_le16_to_cpu(in->i_mode)))
		return true;
	return (ext2fs_le32_to_cpu(in->i_flags) & EXT4_EXTENTS_FL) && ext2fs_le16_to_cpu(eh->eh_depth) > 0;
}

/* Inodes for the second pass, with a copy of the first 160 bytes. */
struct ino_copy {
	ext2_ino_t ino;
	struct ext2_inode_large in;
};

struct ino_list {
	struct ino_copy *v;
	size_t n, cap;
};

static int ino_push(struct ino_list *l, ext2_ino_t ino, const struct ext2_inode_large *in, unsigned isize)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct ino_copy *grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n].ino = ino;
	memset(&l->v[l->n].in, 0, sizeof(l->v[l->n].in));
	memcpy(&l->v[l->n].in, in, isize < sizeof(*in) ? isize : sizeof(*in));
	l->n++;
	return 0;
}

/* The inode tables a group at a time: one read, every inode's checksum set
 * in the buffer, one write.  Inodes with checksummed blocks of their own go
 * on a list for the second pass.  Unused inodes are zeroed (as tune2fs
 * does): an all-zero inode needs no checksum.  The work is CRC-32C bound,
 * so the groups are shared between threads (libext2fs's checksum functions
 * only read the filesystem handle; each thread has its own buffer). */
struct itable_worker {
	ext2_filsys efs;
	unsigned id, nworkers;
	struct ino_list more;
	errcode_t err;
	const char *what;
	pthread_t thread;
};

static void *itable_worker_main(void *arg)
{
	struct itable_worker *w = arg;
	ext2_filsys efs = w->efs;
	unsigned isize = EXT2_INODE_SIZE(efs->super), ipg = efs->super->s_inodes_per_group;
	uint64_t bs = efs->blocksize;
	char *buf = malloc(efs->inode_blocks_per_group * bs);

	if (!buf) {
		w->err = EXT2_ET_NO_MEMORY, w->what = "out of memory";
		return NULL;
	}
	for (dgrp_t g = w->id; g < efs->group_desc_count && !w->err; g += w->nworkers) {
		blk64_t loc = ext2fs_inode_table_loc(efs, g), blocks;
		unsigned used = ipg;
		if (ext2fs_has_group_desc_csum(efs)) {
			if (ext2fs_bg_flags_test(efs, g, EXT2_BG_INODE_UNINIT))
				continue;
			used = ext2fs_bg_itable_unused(efs, g) < ipg ? ipg - ext2fs_bg_itable_unused(efs, g) : 0;
		}
		if (!used)
			continue;
		blocks = ((uint64_t)used * isize + bs - 1) / bs;
		if (blocks > efs->inode_blocks_per_group || loc < efs->super->s_first_data_block ||
		    loc + blocks > ext2fs_blocks_count(efs->super)) {
			w->err = EXT2_ET_GDESC_BAD_INODE_TABLE, w->what = "inode table out of range";
			break;
		}
		if ((w->err = io_channel_read_blk64(efs->io, loc, (int)blocks, buf))) {
			w->what = "cannot read an inode table";
			break;
		}
		for (unsigned i = 0; i < used && !w->err; i++) {
			ext2_ino_t ino = g * ipg + i + 1;
			struct ext2_inode_large *in = (struct ext2_inode_large *)(buf + (size_t)i * isize);
			const unsigned char *p = (const unsigned char *)in;
			if (!ext2fs_test_inode_bitmap2(efs->inode_map, ino)) {
				if (p[0] || memcmp(p, p + 1, isize - 1))
					memset(in, 0, isize);
				continue;
			}
			if ((w->err = ext2fs_inode_csum_set(efs, ino, in)))
				w->what = "cannot checksum an inode";
			else if (in->i_links_count && has_own_blocks(efs, in) && ino_push(&w->more, ino, in, isize) < 0)
				w->err = EXT2_ET_NO_MEMORY, w->what = "out of memory";
		}
		if (!w->err && (w->err = io_channel_write_blk64(efs->io, loc, (int)blocks, buf)))
			w->what = "cannot write an inode table";
	}
	free(buf);
	return NULL;
}

#define ITABLE_WORKERS 4

static int rewrite_inode_tables(imgfmt_fs *fs, struct ino_list *more)
{
	struct itable_worker w[ITABLE_WORKERS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus < 1 ? 1 : cpus > ITABLE_WORKERS ? ITABLE_WORKERS : (unsigned)cpus;
	int rc = 0;

	if (EXT_FS(fs)->group_desc_count < 64)
		n = 1; /* a small filesystem: not worth a thread */
	bool started[ITABLE_WORKERS] = { false };

	for (unsigned i = 0; i < n; i++)
		w[i] = (struct itable_worker){ .efs = EXT_FS(fs), .id = i, .nworkers = n };
	for (unsigned i = 1; i < n; i++)
		started[i] = pthread_create(&w[i].thread, NULL, itable_worker_main, &w[i]) == 0;
	for (unsigned i = 0; i < n; i++) /* this thread does its share, and any a thread could not */
		if (!started[i])
			itable_worker_main(&w[i]);
	for (unsigned i = 1; i < n; i++)
		if (started[i])
			pthread_join(w[i].thread, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (w[i].err && rc == 0)
			rc = imgfmt_ext_fail(fs, w[i].err, w[i].what);
		for (size_t k = 0; k < w[i].more.n && rc == 0; k++)
			if (ino_push(more, w[i].more.v[k].ino, &w[i].more.v[k].in, sizeof(w[i].more.v[k].in)) < 0)
				rc = fs_fail(fs, -ENOMEM, "out of memory");
		free(w[i].more.v);
	}
	return rc;
}

static int rewrite_orphan_file(imgfmt_fs *fs, char *buf);

static int rewrite_checksums(imgfmt_fs *fs)
{
	ext2_filsys efs = EXT_FS(fs);
	struct ino_list more = { 0 };
	char *buf = NULL;
	errcode_t err;
	int rc;

	if (EXT2_INODE_SIZE(efs->super) < sizeof(struct ext2_inode))
		return fs_fail(fs, -EUCLEAN, "bad inode size");
	ext2fs_flush_icache(efs);
	rc = rewrite_inode_tables(fs, &more);
	ext2fs_flush_icache(efs);
	if (rc == 0 && (err = ext2fs_get_mem(efs->blocksize, &buf)))
		rc = imgfmt_ext_fail(fs, err, "out of memory");
	struct dir_blocks dirs = { 0 };
	for (size_t i = 0; i < more.n && rc == 0; i++)
		if ((err = rewrite_inode_blocks(efs, more.v[i].ino, &more.v[i].in, buf, &dirs)))
			rc = imgfmt_ext_fail(fs, err, "cannot rewrite the checksums of an inode's blocks");
	if (rc == 0)
		rc = rewrite_dir_blocks(fs, &dirs);
	free(dirs.v);
	if (rc == 0)
		rc = rewrite_orphan_file(fs, buf);
	ext2fs_free_mem(&buf);
	free(more.v);
	if (rc == 0) {
		ext2fs_mark_ib_dirty(efs);
		ext2fs_mark_bb_dirty(efs);
	}
	return rc;
}

struct orphan_rewrite {
	ext2_ino_t ino;
	char *buf;
	errcode_t err;
};

static int rewrite_orphan_block(ext2_filsys efs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref, int ref_off,
				void *arg)
{
	struct orphan_rewrite *o = arg;
	(void)blockcnt, (void)ref, (void)ref_off;

	if (*blocknr < efs->super->s_first_data_block || *blocknr >= ext2fs_blocks_count(efs->super)) {
		o->err = EXT2_ET_BAD_BLOCK_NUM;
		return BLOCK_ABORT;
	}
	o->err = io_channel_read_blk64(efs->io, *blocknr, 1, o->buf);
	if (!o->err)
		o->err = ext2fs_orphan_file_block_csum_set(efs, o->ino, *blocknr, o->buf);
	if (!o->err)
		o->err = io_channel_write_blk64(efs->io, *blocknr, 1, o->buf);
	return o->err ? BLOCK_ABORT : 0;
}

static int rewrite_orphan_file(imgfmt_fs *fs, char *buf)
{
	ext2_filsys efs = EXT_FS(fs);
	struct orphan_rewrite o = { .ino = efs->super->s_orphan_file_inum, .buf = buf };
	errcode_t err;

	if (!ext2fs_has_feature_orphan_file(efs->super) || !o.ino)
		return 0;
	err = ext2fs_block_iterate3(efs, o.ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY, NULL,
				    rewrite_orphan_block, &o);
	if (!err)
		err = o.err;
	return err ? imgfmt_ext_fail(fs, err, "cannot rewrite the orphan file checksums") : 0;
}

int imgfmt_ext_set_uuid(imgfmt_fs *fs, const unsigned char uuid[16])
{
	ext2_filsys efs = EXT_FS(fs);
	struct ext2_super_block *sb = efs->super;
	bool seeded = ext2fs_has_feature_csum_seed(sb);
	int rc = 0;

	forget_map(fs);
	memcpy(sb->s_uuid, uuid, sizeof(sb->s_uuid));
	if (!seeded)
		ext2fs_init_csum_seed(efs);
	if (!seeded && ext2fs_has_feature_metadata_csum(sb)) {
		efs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
		rc = rewrite_checksums(fs);
		efs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS;
	}
	if (rc < 0)
		return rc; /* the superblock is not written with a UUID the checksums do not all follow */
	if (ext2fs_has_group_desc_csum(efs))
		for (dgrp_t g = 0; g < efs->group_desc_count; g++)
			ext2fs_group_desc_csum_set(efs, g);
	efs->flags &= ~EXT2_FLAG_SUPER_ONLY;
	ext2fs_mark_super_dirty(efs);
	return 0;
}

int imgfmt_ext_commit(imgfmt_fs *fs)
{
	errcode_t err = ext2fs_flush2(EXT_FS(fs), EXT2_FLAG_FLUSH_NO_SYNC);

	return err ? imgfmt_ext_fail(fs, err, "cannot write the filesystem's metadata") : 0;
}
