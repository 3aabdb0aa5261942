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
	struct imgfmt_target t;
	uint64_t size, written, zeros;
	char error[IMGFMT_ERRLEN];
};

int imgfmt_output_open(imgfmt_output **out, const char *path, uint64_t size, unsigned flags, char *err,
		       size_t errlen)
{
	imgfmt_output *o = calloc(1, sizeof(*o));
	imgfmt_disk none = { .fd = -1 };
	char msg[IMGFMT_ERRLEN];
	int rc;

	*out = NULL;
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	none.fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* no source to compare the target with */
	rc = none.fd < 0 ? -errno : imgfmt_target_open(&o->t, path, flags, &none, size, 0, msg);
	if (none.fd >= 0)
		close(none.fd);
	if (rc < 0) {
		snprintf(err, errlen, "%s", none.fd < 0 ? strerror(-rc) : msg);
		free(o);
		return rc;
	}
	o->size = size;
	*out = o;
	return 0;
}

const char *imgfmt_output_error(const imgfmt_output *o)
{
	return o->error;
}

int imgfmt_output_write(imgfmt_output *o, const void *data, size_t len, uint64_t off)
{
	if (o->t.fd < 0)
		return imgfmt_fail(o->error, -EBADF, "the output is closed");
	o->t.touched = true;
	if (off > o->size || len > o->size - off)
		return imgfmt_fail(o->error, -ERANGE, "%zu bytes at %llu are outside the disk (%llu bytes)", len,
				   (unsigned long long)off, (unsigned long long)o->size);
	return imgfmt_target_write(&o->t, data, len, off, &o->written, &o->zeros, o->error);
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
		return imgfmt_fail(o->error, -errno, "cannot flush to stable storage: %s", strerror(errno));
	close(o->t.fd);
	o->t.fd = -1;
	return 0;
}

int imgfmt_output_commit(imgfmt_output *o)
{
	int rc = imgfmt_target_commit(&o->t, o->error);

	return rc;
}

void imgfmt_output_free(imgfmt_output *o)
{
	if (!o)
		return;
	if (o->t.path) /* not committed */
		imgfmt_target_abort(&o->t);
	free(o);
}
