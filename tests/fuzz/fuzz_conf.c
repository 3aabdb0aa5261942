/* fuzz_conf.c --- libFuzzer: rawkit-lanfree.conf(5) through fleet_conf_load()
 *
 * The input is the file (written to a memfd and read by its /proc path, as
 * the tool reads a path).  Whatever it holds, the parse either gives a
 * configuration whose every guest has a name and a disk, or an error
 * message naming the file; never a crash, a leak or a read past a line.
 */
#include "lanfree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_conf c;
	char path[64], err[1024];
	int fd = memfd_create("conf", MFD_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = fleet_conf_load(path, &c, err, sizeof(err));
	if (rc == 0) {
		if (!c.nguests || c.jobs < 1)
			abort();
		for (size_t i = 0; i < c.nguests; i++)
			if (!c.guests[i].name || !c.guests[i].disk || !guest_name_ok(c.guests[i].name))
				abort();
	} else if (strncmp(err, path, strlen(path)))
		abort(); /* every error names the file */
	fleet_conf_free(&c);
	close(fd);
	return 0;
}
