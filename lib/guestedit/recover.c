/* recover.c --- a disk copied from a crash-consistent snapshot gets its journals replayed
 *
 * The copy engine does this for the targets it writes; the range copies of
 * rawkit-v2p and the stream of rawkit-p2v receive write their targets
 * themselves and call this before the conversion (which must see the
 * filesystems as the guest will).
 */
#include "recover.h"
#include "imgfmt.h"

#include <errno.h>
#include <stdio.h>

void guest_recover_note(struct report_list *changes, unsigned n)
{
	if (n)
		report_add(changes, 0, "%u volume%s of a crash-consistent source: journal replay written into the target",
			   n, n == 1 ? "" : "s");
}

int guest_recover_disk(const char *path, struct report_list *changes, char *err, size_t errlen)
{
	imgfmt_disk *disk = imgfmt_disk_new();
	int rc = disk ? imgfmt_disk_open(disk, path, IMGFMT_OPEN_WRITE) : -ENOMEM;

	if (rc == 0)
		rc = imgfmt_disk_recover(disk);
	if (rc < 0)
		snprintf(err, errlen, "cannot write the journal replay: %s", disk ? imgfmt_disk_error(disk) : "out of memory");
	else
		guest_recover_note(changes, (unsigned)rc);
	imgfmt_disk_free(disk);
	return rc < 0 ? -1 : rc;
}
