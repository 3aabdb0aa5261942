/* fuzz_stream.c --- libFuzzer: rawkit-p2v's stream reader on arbitrary bytes
 *
 * The input is read as a stream from `rawkit-p2v send` (seeds: real ones):
 * p2v_receive_header() and p2v_receive_data() read it from a memfd, as
 * receive reads its stdin, and write what it carries into a new target in
 * a private temporary directory.  The target is never committed, so its temp
 * file is removed each time; nothing is written anywhere else.
 */
#include "../../tools/p2v/p2v.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static char dir[PATH_MAX];

static void remove_dir(void)
{
	rmdir(dir);
}

/* A temporary directory of our own, made once. */
static const char *target_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/fuzz-stream.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_progress progress = { 0 };
	struct p2v_header h;
	struct p2v_stats st;
	imgfmt_output *out = imgfmt_output_new();
	char path[PATH_MAX + 16], err[600];
	int fd = memfd_create("fuzz-stream", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/disk.img", target_dir());
	if (!out)
		abort();
	if (p2v_receive_header(fd, &h, err, sizeof(err)) == 0 && imgfmt_output_open(out, path, h.disk_size, 0) == 0)
		p2v_receive_data(fd, &h, out, &st, &progress, err, sizeof(err));
	imgfmt_output_free(out); /* not committed: the temp file goes */
	close(fd);
	return 0;
}
