/* fs_xfs_util.c --- helpers every file of the XFS back end uses: CRCs and
 * block addresses (their own file, so that calls between the back end's
 * files run one way)
 */
#include "fs_xfs.h"

#include <errno.h>

#include <ext2fs/ext2fs.h> /* ext2fs_crc32c_le */

uint32_t imgfmt_xfs_crc(const unsigned char *buf, size_t len, size_t crc_off)
{
	static const unsigned char zero[4];
	uint32_t crc = ext2fs_crc32c_le(~0u, buf, crc_off);

	crc = ext2fs_crc32c_le(crc, zero, 4);
	crc = ext2fs_crc32c_le(crc, buf + crc_off + 4, len - crc_off - 4);
	return ~crc;
}

bool imgfmt_xfs_crc_ok(const unsigned char *buf, size_t len, size_t crc_off)
{
	const unsigned char *p = buf + crc_off;
	uint32_t stored = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	return stored == imgfmt_xfs_crc(buf, len, crc_off);
}

void imgfmt_xfs_put_crc(unsigned char *buf, size_t len, size_t crc_off)
{
	uint32_t crc = imgfmt_xfs_crc(buf, len, crc_off);

	for (int i = 0; i < 4; i++)
		buf[crc_off + i] = (unsigned char)(crc >> (8 * i));
}

int imgfmt_xfs_read_blocks(imgfmt_fs *fs, uint64_t block, void *buf, size_t len)
{
	struct xfs_state *xs = XFS_ST(fs);

	if (block >= xs->dblocks || len > (xs->dblocks - block) << xs->blocklog)
		return fs_fail(fs, -EUCLEAN, "damaged XFS: block %llu is outside the filesystem",
			       (unsigned long long)block);
	return imgfmt_fs_volume_pread(fs, buf, len, block << xs->blocklog);
}

bool imgfmt_xfs_ag_block(imgfmt_fs *fs, uint32_t agno, uint64_t agbno, uint64_t *block)
{
	struct xfs_state *xs = XFS_ST(fs);

	if (agno >= xs->agcount || agbno >= xs->agblocks)
		return false;
	*block = (uint64_t)agno * xs->agblocks + agbno;
	return *block < xs->dblocks;
}

int imgfmt_xfs_fsb_to_block(imgfmt_fs *fs, uint64_t fsb, uint64_t *block)
{
	struct xfs_state *xs = XFS_ST(fs);
	uint64_t agno = fsb >> xs->agblklog, agbno = fsb & ((1ULL << xs->agblklog) - 1);

	if (agno >= xs->agcount || !imgfmt_xfs_ag_block(fs, (uint32_t)agno, agbno, block))
		return fs_fail(fs, -EUCLEAN, "damaged XFS: block %llu is outside the filesystem",
			       (unsigned long long)fsb);
	return 0;
}

