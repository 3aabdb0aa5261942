/* output.c --- a disk written from a stream of pieces (rawkit-p2v receive)
 *
 * The same target rules as the copy engine (target.c): a new file is a
 * sparse temp file beside its name, renamed into place only when complete
 * and durable; a block device is opened O_EXCL and must be large enough.
 * Nothing is refused half-way: every check is made at open.
 */
#include "imgfmt_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct imgfmt_output {
	struct imgfmt_target t; /* its error is the output's */
	uint64_t size, written, zeros;
};

imgfmt_output *imgfmt_output_new(void)
{
	imgfmt_output *o = calloc(1, sizeof(*o));

	if (o)
		o->t.fd = -1;
	return o;
}

int imgfmt_output_open(imgfmt_output *o, const char *path, uint64_t size, unsigned flags)
{
	imgfmt_disk none = { .fd = -1 };
	int rc;

	if (o->t.path)
		return imgfmt_fail(o->t.error, -EBUSY, "the output is already open");
	none.fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* no source to compare the target with */
	if (none.fd < 0)
		return imgfmt_fail(o->t.error, -errno, "%s", strerror(errno));
	rc = imgfmt_target_open(&o->t, path, flags, &none, size, 0);
	close(none.fd);
	if (rc < 0)
		return rc;
	o->size = size;
	return 0;
}

const char *imgfmt_output_error(const imgfmt_output *o)
{
	return o->t.error;
}

int imgfmt_output_write(imgfmt_output *o, const void *data, size_t len, uint64_t off)
{
	if (o->t.fd < 0)
		return imgfmt_fail(o->t.error, -EBADF, "the output is closed");
	o->t.touched = true;
	if (off > o->size || len > o->size - off)
		return imgfmt_fail(o->t.error, -ERANGE, "%zu bytes at %llu are outside the disk (%llu bytes)", len,
				   (unsigned long long)off, (unsigned long long)o->size);
	return imgfmt_target_write(&o->t, data, len, off, &o->written, &o->zeros);
}

const char *imgfmt_output_path(const imgfmt_output *o)
{
	return o->t.tmp ? o->t.tmp : o->t.path;
}

int imgfmt_output_release(imgfmt_output *o)
{
	if (o->t.fd < 0 || !o->t.blockdev)
		return 0;
	if (fsync(o->t.fd) < 0)
		return imgfmt_fail(o->t.error, -errno, "cannot flush to stable storage: %s", strerror(errno));
	close(o->t.fd);
	o->t.fd = -1;
	return 0;
}

int imgfmt_output_commit(imgfmt_output *o)
{
	if (!o->t.path)
		return imgfmt_fail(o->t.error, -EBADF, "the output is not open");
	return imgfmt_target_commit(&o->t);
}

void imgfmt_output_free(imgfmt_output *o)
{
	if (!o)
		return;
	if (o->t.path) /* not committed */
		imgfmt_target_abort(&o->t);
	free(o);
}
