/* fs_xfs_free.c --- XFS allocation groups: their headers, their short-form
 * btrees, and the free space of the by-block-number btree (bnobt)
 *
 * Free space feeds the used-block map: anything doubtful (a bad checksum,
 * records out of order, a sum that is not the AGF's count) is an error, so
 * that the volume is copied whole rather than a used block left out.
 */
#include "fs_xfs.h"

#include <errno.h>
#include <stdlib.h>

#define XFS_AGF_MAGIC 0x58414746u
#define XFS_ABTB_MAGIC 0x41425442u
#define XFS_ABTB_CRC_MAGIC 0x41423342u
#define XFS_NULLAGBLOCK UINT32_MAX

int imgfmt_xfs_read_aghdr(imgfmt_fs *fs, uint32_t agno, unsigned sector, uint32_t magic, size_t crc_off,
			  unsigned char *buf)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint64_t off = (((uint64_t)agno * xs->agblocks) << xs->blocklog) + (uint64_t)sector * xs->sectsize;
	uint64_t length = xs->dblocks - (uint64_t)agno * xs->agblocks;
	int rc = imgfmt_fs_volume_pread(fs, buf, xs->sectsize, off);

	if (length > xs->agblocks)
		length = xs->agblocks;
	if (rc < 0)
		return rc;
	if (xfs_be32(buf) != magic || xfs_be32(buf + 4) != 1 || xfs_be32(buf + 8) != agno ||
	    xfs_be32(buf + 12) != length)
		return fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: bad %s header", agno, sector == 1 ? "AGF" : "AGI");
	if (xs->v5 && !imgfmt_xfs_crc_ok(buf, xs->sectsize, crc_off))
		return fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: bad %s checksum", agno, sector == 1 ? "AGF" : "AGI");
	return 0;
}

/* Down the leftmost pointers, then along the leaves' right siblings.  Every
 * record's first field (its key: a block or inode number) must grow, and
 * every leaf but a lone root holds one, so a loop cannot go on. */
int imgfmt_xfs_walk_agbt(imgfmt_fs *fs, uint32_t agno, uint32_t root, uint32_t levels, uint32_t magic,
			 size_t reclen, size_t keylen, xfs_rec_fn cb, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	size_t hdr = xs->v5 ? 56 : 16, nodemax = (xs->blocksize - hdr) / (keylen + 4);
	size_t leafmax = (xs->blocksize - hdr) / reclen;
	uint32_t agbno = root, level = levels;
	uint64_t last_key = 0;
	bool first = true;
	unsigned char *blk;
	int rc = 0;

	if (levels == 0 || levels > XFS_MAX_BTREE_DEPTH)
		return fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: btree of %u levels", agno, levels);
	if (!(blk = malloc(xs->blocksize)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	while (rc == 0 && agbno != XFS_NULLAGBLOCK) {
		uint64_t block;
		unsigned n, lvl;
		if (level > 0)
			level--;
		if (!imgfmt_xfs_ag_block(fs, agno, agbno, &block)) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: btree block %u outside the AG", agno, agbno);
			break;
		}
		if ((rc = imgfmt_xfs_read_blocks(fs, block, blk, xs->blocksize)) < 0)
			break;
		n = xfs_be16(blk + 6);
		lvl = xfs_be16(blk + 4);
		if (xfs_be32(blk) != magic || lvl != level || n > (lvl ? nodemax : leafmax) ||
		    (n == 0 && (lvl > 0 || agbno != root)) ||
		    (xs->v5 && (!imgfmt_xfs_crc_ok(blk, xs->blocksize, 52) || xfs_be32(blk + 48) != agno))) {
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: bad btree block %u", agno, agbno);
			break;
		}
		if (lvl > 0) {
			agbno = xfs_be32(blk + hdr + nodemax * keylen);
			continue;
		}
		for (unsigned i = 0; i < n && rc == 0; i++) {
			const unsigned char *rec = blk + hdr + (size_t)i * reclen;
			if (!first && xfs_be32(rec) <= last_key) {
				rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: btree records out of order", agno);
				break;
			}
			first = false;
			last_key = xfs_be32(rec);
			rc = cb(fs, agno, rec, arg);
		}
		agbno = xfs_be32(blk + 12);
	}
	free(blk);
	return rc;
}

struct free_ctx {
	imgfmt_extents *out;
	uint64_t next, length, total;
};

static int free_rec(imgfmt_fs *fs, uint32_t agno, const unsigned char *rec, void *arg)
{
	struct xfs_state *xs = XFS_ST(fs);
	struct free_ctx *f = arg;
	uint64_t start = xfs_be32(rec), count = xfs_be32(rec + 4);

	if (count == 0 || start < f->next || start + count > f->length)
		return fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: free extent %llu+%llu overlaps or lies outside", agno,
			       (unsigned long long)start, (unsigned long long)count);
	f->next = start + count;
	f->total += count;
	if (imgfmt_extents_add(f->out, ((uint64_t)agno * xs->agblocks + start) << xs->blocklog, count << xs->blocklog))
		return fs_fail(fs, -ENOMEM, "out of memory");
	return 0;
}

/* The AG free list (AGFL, sector 3): blocks kept free for the btrees to
 * grow into, FLCOUNT of them from slot FLFIRST round to FLLAST.  Free as
 * xfs_db's freesp counts them: nothing in them is read before written. */
static int free_list(imgfmt_fs *fs, uint32_t agno, const unsigned char *agf, imgfmt_extents *out)
{
	struct xfs_state *xs = XFS_ST(fs);
	size_t hdr = xs->v5 ? 36 : 0, slots = (xs->sectsize - hdr) / 4;
	uint32_t first = xfs_be32(agf + 40), last = xfs_be32(agf + 44), count = xfs_be32(agf + 48);
	uint64_t off = ((((uint64_t)agno * xs->agblocks) << xs->blocklog) + 3ULL * xs->sectsize);
	unsigned char *fl;
	int rc;

	if (count == 0)
		return 0;
	if (first >= slots || last >= slots || count > slots || (last + slots - first) % slots + 1 != count)
		return fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: free list indexes", agno);
	if (!(fl = malloc(xs->sectsize)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	rc = imgfmt_fs_volume_pread(fs, fl, xs->sectsize, off);
	if (rc == 0 && xs->v5 && (xfs_be32(fl) != 0x5841464cu || xfs_be32(fl + 4) != agno ||
				  !imgfmt_xfs_crc_ok(fl, xs->sectsize, 32)))
		rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: bad free list header", agno);
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		uint32_t agbno = xfs_be32(fl + hdr + (size_t)((first + i) % slots) * 4);
		uint64_t block;
		if (!imgfmt_xfs_ag_block(fs, agno, agbno, &block))
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: free list block %u outside the AG", agno, agbno);
		else if (imgfmt_extents_add(out, block << xs->blocklog, xs->blocksize))
			rc = fs_fail(fs, -ENOMEM, "out of memory");
	}
	free(fl);
	return rc;
}

int imgfmt_xfs_free_space(imgfmt_fs *fs, imgfmt_extents *free_ranges)
{
	struct xfs_state *xs = XFS_ST(fs);
	unsigned char *agf = malloc(xs->sectsize);
	int rc = 0;

	if (!agf)
		return fs_fail(fs, -ENOMEM, "out of memory");
	for (uint32_t agno = 0; agno < xs->agcount && rc == 0; agno++) {
		struct free_ctx f = { free_ranges, 0, 0, 0 };
		if ((rc = imgfmt_xfs_read_aghdr(fs, agno, 1, XFS_AGF_MAGIC, 216, agf)) < 0)
			break;
		f.length = xfs_be32(agf + 12);
		rc = imgfmt_xfs_walk_agbt(fs, agno, xfs_be32(agf + 16), xfs_be32(agf + 28),
					  xs->v5 ? XFS_ABTB_CRC_MAGIC : XFS_ABTB_MAGIC, 8, 8, free_rec, &f);
		if (rc == 0 && f.total != xfs_be32(agf + 52))
			rc = fs_fail(fs, -EUCLEAN, "damaged XFS: AG %u: free extents sum to %llu blocks, the AGF says %u",
				     agno, (unsigned long long)f.total, xfs_be32(agf + 52));
		if (rc == 0)
			rc = free_list(fs, agno, agf, free_ranges);
	}
	free(agf);
	return rc;
}
