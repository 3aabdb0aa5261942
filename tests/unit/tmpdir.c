/* tmpdir.c --- unit test: the one TMPDIR rule for temp file and directory templates */
#include "run.h"
#include "tap.h"

#include <stdlib.h>

int main(void)
{
	char buf[64];

	unsetenv("TMPDIR");
	run_temp_template(buf, sizeof(buf), "rawkit-keys", "/tmp");
	is_str(buf, "/tmp/rawkit-keys-XXXXXX", "TMPDIR unset: the fallback");
	setenv("TMPDIR", "", 1);
	run_temp_template(buf, sizeof(buf), "rawkit-v2p", "/var/tmp");
	is_str(buf, "/var/tmp/rawkit-v2p-XXXXXX", "TMPDIR empty: the fallback (not the root directory)");
	setenv("TMPDIR", "/scratch/t", 1);
	run_temp_template(buf, sizeof(buf), "rawkit-vfat", "/tmp");
	is_str(buf, "/scratch/t/rawkit-vfat-XXXXXX", "TMPDIR set: used");
	/* 64 bytes hold a directory of 44 and "/rawkit-keys-XXXXXX" (19) and the NUL */
	char dir[46], want[64];
	memset(dir, 'a', sizeof(dir));
	dir[0] = '/', dir[44] = '\0';
	setenv("TMPDIR", dir, 1);
	run_temp_template(buf, sizeof(buf), "rawkit-keys", "/tmp");
	snprintf(want, sizeof(want), "%s/rawkit-keys-XXXXXX", dir);
	is_str(buf, want, "TMPDIR that just fits the buffer: used");
	dir[44] = 'a', dir[45] = '\0';
	setenv("TMPDIR", dir, 1);
	run_temp_template(buf, sizeof(buf), "rawkit-keys", "/tmp");
	is_str(buf, "/tmp/rawkit-keys-XXXXXX", "one byte longer: the fallback, never a cut template");
	return tap_done();
}
