/* fs_xfs_attr.c --- XFS extended attributes: shortform, leaf, node; remote values
 *
 * Names come out as Linux names: no namespace flag is user.*, ROOT is
 * trusted.*, SECURE is security.*.  XFS keeps POSIX ACLs as the trusted
 * attributes SGI_ACL_FILE and SGI_ACL_DEFAULT in its own big-endian
 * format; they come out as system.posix_acl_access and
 * system.posix_acl_default in the Linux xattr ACL format (version 2,
 * little-endian), as getfattr shows them and as the ext back end gives
 * them.
 */
#include "fs_xfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XFS_ATTR_LOCAL 0x01
#define XFS_ATTR_ROOT 0x02
#define XFS_ATTR_SECURE 0x04
#define XFS_ATTR_PARENT 0x08 /* parent pointers (not exposed as xattrs) */
#define XFS_ATTR_INCOMPLETE 0x80
#define XFS_ATTR_LEAF_MAGIC 0xfbee
#define XFS_ATTR3_LEAF_MAGIC 0x3bee
#define XFS_DA_NODE_MAGIC 0xfebe
#define XFS_DA3_NODE_MAGIC 0x3ebe
#define XFS_ATTR3_RMT_MAGIC 0x5841524du
#define ACL_USER 0x02
#define ACL_GROUP 0x08

struct attr_ctx {
	imgfmt_fs *fs;
	const struct xfs_inode *ip;
	struct xfs_map map;
	imgfmt_xattr_fn cb;
	void *arg;
	unsigned char *blk, *rblk, *value;
};

/* XFS's xfs_acl (be32 count; be32 tag, be32 id, be16 perm, be16 pad) to
 * the Linux xattr form (le32 version 2; le16 tag, le16 perm, le32 id). */
static int acl_to_linux(imgfmt_fs *fs, const unsigned char *v, size_t size, unsigned char **out, size_t *outlen)
{
	uint32_t n = size >= 4 ? xfs_be32(v) : 0;
	unsigned char *p;

	if (size < 4 || n > (XFS_XATTR_SIZE_MAX - 4) / 12 || size != 4 + (size_t)n * 12)
		return fs_fail(fs, -EUCLEAN, "damaged XFS ACL (%zu bytes)", size);
	if (!(p = malloc(4 + (size_t)n * 8)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	*out = p;
	*outlen = 4 + (size_t)n * 8;
	p[0] = 2, p[1] = p[2] = p[3] = 0;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *e = v + 4 + (size_t)i * 12;
		uint32_t tag = xfs_be32(e), id = xfs_be32(e + 4);
		uint16_t perm = xfs_be16(e + 8);
		unsigned char *o = p + 4 + (size_t)i * 8;
		if (tag != ACL_USER && tag != ACL_GROUP)
			id = UINT32_MAX; /* ACL_UNDEFINED_ID, as the kernel gives it */
		o[0] = (unsigned char)tag, o[1] = (unsigned char)(tag >> 8);
		o[2] = (unsigned char)perm, o[3] = (unsigned char)(perm >> 8);
		for (int b = 0; b < 4; b++)
			o[4 + b] = (unsigned char)(id >> (8 * b));
	}
	return 0;
}

static int attr_emit(struct attr_ctx *c, unsigned flags, const unsigned char *name, size_t namelen,
		     const unsigned char *value, size_t size)
{
	const char *prefix = (flags & XFS_ATTR_SECURE) ? "security." : (flags & XFS_ATTR_ROOT) ? "trusted." : "user.";
	char full[300];
	unsigned char *acl = NULL;
	size_t acl_len = 0;
	int rc;

	if (flags & (XFS_ATTR_INCOMPLETE | XFS_ATTR_PARENT) || (flags & XFS_ATTR_ROOT && flags & XFS_ATTR_SECURE))
		return 0;
	if (flags & XFS_ATTR_ROOT && ((namelen == 12 && !memcmp(name, "SGI_ACL_FILE", 12)) ||
				      (namelen == 15 && !memcmp(name, "SGI_ACL_DEFAULT", 15)))) {
		if ((rc = acl_to_linux(c->fs, value, size, &acl, &acl_len)) < 0)
			return rc;
		rc = c->cb(namelen == 12 ? "system.posix_acl_access" : "system.posix_acl_default", acl, acl_len, c->arg);
		free(acl);
		return rc;
	}
	snprintf(full, sizeof(full), "%s%.*s", prefix, (int)namelen, (const char *)name);
	return c->cb(full, value, size, c->arg);
}

static int attr_damaged(struct attr_ctx *c, const char *what)
{
	return fs_fail(c->fs, -EUCLEAN, "damaged XFS inode %llu: attributes: %s", (unsigned long long)c->ip->ino, what);
}

/* Shortform: a header (totsize, count) and packed name/value entries. */
static int attr_short(struct attr_ctx *c)
{
	const unsigned char *p = c->ip->afork;
	size_t total = xfs_be16(p), pos = 4;
	unsigned count = p[2];

	if (total < 4 || total > c->ip->afork_size)
		return attr_damaged(c, "shortform size");
	for (unsigned i = 0; i < count; i++) {
		size_t namelen, valuelen;
		int rc;
		if (pos + 3 > total)
			return attr_damaged(c, "shortform entry past its end");
		namelen = p[pos], valuelen = p[pos + 1];
		if (pos + 3 + namelen + valuelen > total)
			return attr_damaged(c, "shortform entry past its end");
		rc = attr_emit(c, p[pos + 2], p + pos + 3, namelen, p + pos + 3 + namelen, valuelen);
		if (rc)
			return rc;
		pos += 3 + namelen + valuelen;
	}
	return 0;
}

/* Attribute fork block LBLK into c->blk, its da header checked. */
static int attr_block(struct attr_ctx *c, uint64_t lblk, unsigned char *buf)
{
	struct xfs_state *xs = XFS_ST(c->fs);
	int rc = imgfmt_xfs_map_read(c->fs, &c->map, lblk, 1, buf);

	if (rc < 0)
		return rc;
	if (xs->v5 && (!imgfmt_xfs_crc_ok(buf, xs->blocksize, 12) || xfs_be64(buf + 48) != c->ip->ino))
		return attr_damaged(c, "bad block checksum or owner");
	return 0;
}

/* A remote value: VALUELEN bytes in the blocks from VALUEBLK (v5: each
 * with a header saying which bytes it holds). */
static int attr_remote(struct attr_ctx *c, uint64_t valueblk, size_t valuelen)
{
	struct xfs_state *xs = XFS_ST(c->fs);
	size_t hdr = xs->v5 ? 56 : 0, per = xs->blocksize - hdr;
	int rc;

	for (size_t done = 0, b = 0; done < valuelen; b++) {
		size_t n = valuelen - done < per ? valuelen - done : per;
		if ((rc = imgfmt_xfs_map_read(c->fs, &c->map, valueblk + b, 1, c->rblk)) < 0)
			return rc;
		if (xs->v5 && (xfs_be32(c->rblk) != XFS_ATTR3_RMT_MAGIC || xfs_be32(c->rblk + 4) != done ||
			       xfs_be32(c->rblk + 8) != n || !imgfmt_xfs_crc_ok(c->rblk, xs->blocksize, 12)))
			return attr_damaged(c, "bad remote value block");
		memcpy(c->value + done, c->rblk + hdr, n);
		done += n;
	}
	return 0;
}

static int attr_leaf(struct attr_ctx *c, const unsigned char *b)
{
	struct xfs_state *xs = XFS_ST(c->fs);
	size_t bs = xs->blocksize, hdr = xs->v5 ? 80 : 32;
	unsigned count = xfs_be16(b + (xs->v5 ? 56 : 12));

	if (hdr + (size_t)count * 8 > bs)
		return attr_damaged(c, "leaf entry count");
	for (unsigned i = 0; i < count; i++) {
		const unsigned char *e = b + hdr + (size_t)i * 8;
		size_t idx = xfs_be16(e + 4), namelen, valuelen;
		unsigned flags = e[6];
		int rc;
		if (flags & XFS_ATTR_INCOMPLETE)
			continue;
		if (flags & XFS_ATTR_LOCAL) {
			if (idx + 3 > bs)
				return attr_damaged(c, "leaf entry past its block");
			valuelen = xfs_be16(b + idx), namelen = b[idx + 2];
			if (idx + 3 + namelen + valuelen > bs)
				return attr_damaged(c, "leaf entry past its block");
			rc = attr_emit(c, flags, b + idx + 3, namelen, b + idx + 3 + namelen, valuelen);
		} else {
			uint64_t valueblk;
			if (idx + 9 > bs)
				return attr_damaged(c, "leaf entry past its block");
			valueblk = xfs_be32(b + idx), valuelen = xfs_be32(b + idx + 4), namelen = b[idx + 8];
			if (idx + 9 + namelen > bs || valuelen > XFS_XATTR_SIZE_MAX)
				return attr_damaged(c, "remote entry past its block or too long");
			if ((rc = attr_remote(c, valueblk, valuelen)) < 0)
				return rc;
			rc = attr_emit(c, flags, b + idx + 9, namelen, c->value, valuelen);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Leaf or node form: from block 0 down the first pointers to the first
 * leaf, then along the leaves' forward links (no more leaves than the
 * fork has blocks: a loop ends there). */
static int attr_tree(struct attr_ctx *c)
{
	struct xfs_state *xs = XFS_ST(c->fs);
	uint16_t leaf_magic = xs->v5 ? XFS_ATTR3_LEAF_MAGIC : XFS_ATTR_LEAF_MAGIC;
	uint16_t node_magic = xs->v5 ? XFS_DA3_NODE_MAGIC : XFS_DA_NODE_MAGIC;
	uint64_t blk = 0, blocks = 0, visited = 0;
	unsigned depth = 0, level = UINT32_MAX;
	int rc;

	for (size_t i = 0; i < c->map.n; i++)
		blocks += c->map.ext[i].len;
	for (;;) {
		unsigned lvl, count;
		if ((rc = attr_block(c, blk, c->blk)) < 0)
			return rc;
		if (xfs_be16(c->blk + 8) == leaf_magic)
			break;
		if (xfs_be16(c->blk + 8) != node_magic || ++depth > XFS_DA_MAXDEPTH)
			return attr_damaged(c, "bad block magic or tree depth");
		count = xfs_be16(c->blk + (xs->v5 ? 56 : 12));
		lvl = xfs_be16(c->blk + (xs->v5 ? 58 : 14));
		if (count == 0 || lvl == 0 || lvl >= level || (xs->v5 ? 64 : 16) + (size_t)count * 8 > xs->blocksize)
			return attr_damaged(c, "bad node block");
		level = lvl;
		blk = xfs_be32(c->blk + (xs->v5 ? 64 : 16) + 4);
	}
	for (;;) {
		if ((rc = attr_leaf(c, c->blk)) != 0)
			return rc;
		blk = xfs_be32(c->blk);
		if (blk == 0)
			return 0;
		if (++visited > blocks)
			return attr_damaged(c, "the leaves loop");
		if ((rc = attr_block(c, blk, c->blk)) < 0)
			return rc;
		if (xfs_be16(c->blk + 8) != leaf_magic)
			return attr_damaged(c, "bad leaf block magic");
	}
}

int imgfmt_xfs_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct xfs_inode *ip = malloc(sizeof(*ip));
	struct attr_ctx c = { .fs = fs, .ip = ip, .cb = cb, .arg = arg };
	int rc;

	if (!ip)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if ((rc = imgfmt_xfs_read_inode(fs, ino, ip)) < 0 || !ip->afork)
		goto out;
	if (ip->aformat == XFS_FMT_LOCAL) {
		rc = attr_short(&c);
		goto out;
	}
	if ((rc = imgfmt_xfs_fork_map(fs, ip, XFS_ATTR_FORK, &c.map)) < 0 || c.map.n == 0)
		goto out;
	c.blk = malloc(xs->blocksize);
	c.rblk = malloc(xs->blocksize);
	c.value = malloc(XFS_XATTR_SIZE_MAX);
	if (!c.blk || !c.rblk || !c.value)
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	else
		rc = attr_tree(&c);
out:
	imgfmt_xfs_map_free(&c.map);
	free(c.blk);
	free(c.rblk);
	free(c.value);
	free(ip);
	return rc;
}
