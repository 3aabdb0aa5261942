/* fuzz_jbd2.c --- libFuzzer: arbitrary bytes as an ext3/ext4 journal walked by jbd2.c
 *
 * The first byte picks the block size (1, 2 or 4 KiB); the rest is the
 * journal, block 0 its superblock.  Besides not crashing, the map must keep
 * its promises: sorted, one entry per block, every entry inside the journal
 * and the filesystem, never more entries than journal blocks.
 */
#include "jbd2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct input {
	const uint8_t *data;
	size_t bs, nblocks;
};

static int read_block(void *ctx, uint64_t n, void *buf)
{
	struct input *in = ctx;

	if (n >= in->nblocks)
		abort(); /* jbd2.c must bound every read by the journal's length */
	memcpy(buf, in->data + n * in->bs, in->bs);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	struct jbd2_log *log;
	char why[256];

	if (size < 1)
		return 0;
	in.bs = (size_t)1024 << (data[0] % 3);
	in.data = data + 1;
	in.nblocks = (size - 1) / in.bs;
	struct jbd2_source src = { .read = read_block, .ctx = &in, .nblocks = in.nblocks,
				   .block_size = (uint32_t)in.bs, .fs_blocks = 1u << 20 };
	if (imgfmt_jbd2_log_scan(&src, &log, why, sizeof(why)) < 0)
		return 0;
	const struct jbd2_block *b = imgfmt_jbd2_log_blocks(log);
	size_t n = imgfmt_jbd2_log_count(log);
	if (n > in.nblocks)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (b[i].journal_block >= in.nblocks || b[i].fs_block >= src.fs_blocks)
			abort();
		if (i && b[i - 1].fs_block >= b[i].fs_block)
			abort();
		if (imgfmt_jbd2_log_lower_bound(log, b[i].fs_block) != i)
			abort();
	}
	imgfmt_jbd2_log_free(log);
	return 0;
}
