/* extents.c --- unit test: extent lists added, normalized, subtracted, intersected */
#include "imgfmt_private.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>

/* "off+len off+len ..." of EXT, for comparing whole lists at once. */
static const char *show(const imgfmt_extents *ext)
{
	static char buf[1024];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < imgfmt_extents_count(ext); i++) {
		uint64_t off, len;
		imgfmt_extents_get(ext, i, &off, &len);
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%llu+%llu", i ? " " : "",
					 (unsigned long long)off, (unsigned long long)len);
	}
	return buf;
}

/* An extent list from pairs OFF, LEN ending with a LEN of 0. */
static imgfmt_extents *make(const uint64_t *pairs)
{
	imgfmt_extents *e = imgfmt_extents_new();

	for (; e && pairs[1]; pairs += 2)
		imgfmt_extents_add(e, pairs[0], pairs[1]);
	return e;
}

static void test_add_normalize(void)
{
	imgfmt_extents *e = make((const uint64_t[]){ 0, 10, 10, 5, 12, 10, 100, 1, 0, 0 });

	is_str(show(e), "0+22 100+1", "add merges touching and overlapping ranges in order");
	is_int(imgfmt_extents_bytes(e), 23, "bytes sums the lengths");
	imgfmt_extents_add(e, 50, 10);
	imgfmt_extents_add(e, 55, 60);
	imgfmt_extents_add(e, 5, 1);
	imgfmt_extents_normalize(e);
	is_str(show(e), "0+22 50+65", "normalize sorts and merges out-of-order ranges");
	uint64_t off, len;
	is_int(imgfmt_extents_get(e, 2, &off, &len), -EINVAL, "get out of range is -EINVAL");
	imgfmt_extents_free(e);
}

static void test_subtract(void)
{
	imgfmt_extents *a = make((const uint64_t[]){ 0, 100, 200, 100, 0, 0 });
	imgfmt_extents *b = make((const uint64_t[]){ 10, 10, 50, 200, 290, 20, 0, 0 });
	imgfmt_extents *out = imgfmt_extents_new();

	is_int(imgfmt_extents_subtract(a, b, out), 0, "subtract succeeds");
	is_str(show(out), "0+10 20+30 250+40", "subtract: holes punched, a range spanning two of A's cut both");
	is_int(imgfmt_extents_bytes(out), 80, "subtract: bytes left");
	imgfmt_extents_clear(b);
	imgfmt_extents_subtract(a, b, out);
	is_str(show(out), "0+100 200+100", "subtracting nothing leaves A");
	imgfmt_extents_subtract(b, a, out);
	is_str(show(out), "", "subtracting from nothing leaves nothing");
	imgfmt_extents_add(b, 0, 1000);
	imgfmt_extents_subtract(a, b, out);
	is_int(imgfmt_extents_count(out), 0, "subtracting a cover leaves nothing");
	imgfmt_extents_free(a);
	imgfmt_extents_free(b);
	imgfmt_extents_free(out);
}

static void test_intersect(void)
{
	imgfmt_extents *a = make((const uint64_t[]){ 0, 100, 200, 100, 0, 0 });
	imgfmt_extents *b = make((const uint64_t[]){ 50, 200, 290, 20, 400, 5, 0, 0 });
	imgfmt_extents *out = imgfmt_extents_new();

	is_int(imgfmt_extents_intersect(a, b, out), 0, "intersect succeeds");
	is_str(show(out), "50+50 200+50 290+10", "intersect keeps only the common bytes");
	imgfmt_extents_intersect(b, a, out);
	is_str(show(out), "50+50 200+50 290+10", "intersect is symmetric");
	imgfmt_extents_clear(b);
	imgfmt_extents_intersect(a, b, out);
	is_int(imgfmt_extents_count(out), 0, "intersect with nothing is nothing");
	imgfmt_extents_free(a);
	imgfmt_extents_free(b);
	imgfmt_extents_free(out);
}

int main(void)
{
	test_add_normalize();
	test_subtract();
	test_intersect();
	return tap_done();
}
