/* swap.c --- find a Linux swap signature: the one probe for the used map and for setting a swap UUID */
#include "imgfmt_private.h"

#include <errno.h>
#include <string.h>

/* The signature ends the first page, of whatever size the system that made
 * the swap had: "SWAPSPACE2" (version 1, has a UUID at byte 1036) or the
 * old "SWAP-SPACE" (version 0). */
int imgfmt_swap_probe(imgfmt_disk *disk, size_t index, unsigned *page_size, int *version)
{
	const struct imgfmt_volume *v = &disk->volumes[index];
	static const unsigned pages[] = { 4096, 8192, 16384, 65536 };
	char magic[10];

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (pages[i] > v->size)
			break;
		if (imgfmt_volume_pread(disk, index, magic, sizeof(magic), pages[i] - 10) < 0)
			return -EIO;
		if (!memcmp(magic, "SWAPSPACE2", 10) || !memcmp(magic, "SWAP-SPACE", 10)) {
			*page_size = pages[i];
			*version = magic[4] == 'S' ? 1 : 0;
			return 0;
		}
	}
	return -ENOENT;
}
