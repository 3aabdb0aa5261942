/* swap.c --- a swap partition after the last filesystem (Debian's default
 * layout) moves to the end of the disk, so that the filesystem can grow
 *
 * A swap keeps nothing but its header page (version, size, UUID, label):
 * the page is carried over byte for byte, so fstab's UUID= and LABEL=
 * references stay true.  On MBR the swap may be a logical partition in an
 * extended partition of its own; the two move together.
 */
#include "v2p.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024ll * 1024)

/* The size of SWAP's header page: "SWAPSPACE2" ends it, at whatever page
 * size the system that made it had; 0 when there is none. */
static size_t header_page(imgfmt_disk *image, const struct imgfmt_volume *swap)
{
	static const size_t pages[] = { 4096, 8192, 16384, 65536 };
	char magic[10];

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (pages[i] > swap->size || imgfmt_disk_pread(image, magic, sizeof(magic), swap->offset + pages[i] - 10) < 0)
			break;
		if (!memcmp(magic, "SWAPSPACE2", sizeof(magic)))
			return pages[i];
	}
	return 0;
}

static bool inside(const struct imgfmt_volume *in, const struct imgfmt_volume *v)
{
	return v->offset >= in->offset && v->offset + v->size <= in->offset + in->size;
}

/* The extended partition holding SWAP (index, or SIZE_MAX when the swap is
 * not a logical one); WHY is set when it holds another partition too. */
static size_t container_of(imgfmt_disk *image, const struct imgfmt_volume *swap, struct imgfmt_volume *c, char *why,
			   size_t whylen)
{
	size_t found = SIZE_MAX;

	for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(image, i, &v);
		if (v.partno && v.container && inside(&v, swap))
			found = i, *c = v;
	}
	for (size_t i = 0; found != SIZE_MAX && i < imgfmt_disk_volume_count(image); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(image, i, &v);
		if (v.partno && !v.container && v.partno != swap->partno && inside(c, &v))
			snprintf(why, whylen, "the extended partition %s holds %s as well as %s (rawkit moves an extended "
				 "partition that holds a swap alone)", c->name, v.name, swap->name);
	}
	return found;
}

/* The partition that ends last at or before END (SIZE_MAX when none). */
static size_t ending_before(imgfmt_disk *image, uint64_t end, struct imgfmt_volume *out)
{
	size_t found = SIZE_MAX;
	uint64_t best = 0;

	for (size_t i = 0; i < imgfmt_disk_volume_count(image); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(image, i, &v);
		if (v.partno && !v.container && v.offset + v.size <= end && v.offset + v.size >= best)
			found = i, best = v.offset + v.size, *out = v;
	}
	return found;
}

static void add_move(struct v2p_plan *p, size_t index, const struct imgfmt_volume *v, const char *what, int64_t delta)
{
	struct v2p_move *m = &p->moves[p->nmoves++];

	m->index = index;
	snprintf(m->name, sizeof(m->name), "%s", v->name);
	snprintf(m->what, sizeof(m->what), "%s", what);
	m->from = v->offset;
	m->to = (uint64_t)((int64_t)v->offset + delta);
	m->size = v->size;
}

uint64_t v2p_plan_swap(imgfmt_disk *image, const struct imgfmt_volume *swap, uint64_t usable, struct v2p_plan *p,
		       struct imgfmt_volume *fs, char *why, size_t whylen)
{
	struct imgfmt_volume c = { 0 };
	size_t ci, swap_index = (size_t)imgfmt_disk_find_volume(image, swap->name);
	uint64_t from, to;
	int64_t delta;

	why[0] = '\0';
	p->nmoves = 0;
	ci = container_of(image, swap, &c, why, whylen);
	if (why[0])
		return 0;
	from = ci == SIZE_MAX ? swap->offset : c.offset;
	to = ci == SIZE_MAX ? swap->offset + swap->size : c.offset + c.size;
	if (ending_before(image, from, fs) == SIZE_MAX) {
		snprintf(why, whylen, "%s (swap) is the only partition: there is no filesystem before it to grow",
			 swap->name);
		return 0;
	}
	if (!(p->swap_page = header_page(image, swap))) {
		snprintf(why, whylen, "%s has no swap header rawkit can carry over (version 1, \"SWAPSPACE2\")",
			 swap->name);
		return 0;
	}
	/* the block [from, to) moves by whole MiB, so it stays aligned as it was */
	delta = (int64_t)usable - (int64_t)to;
	delta = delta >= 0 ? delta - delta % MiB : -((-delta + MiB - 1) / MiB * MiB);
	if (delta < 0 && (uint64_t)-delta >= from)
		return fs->offset; /* no room at all: the caller says too small */
	/* (a swap that stays where it is is still written: a smaller target
	 * gets nothing after the filesystem but what is written here) */
	if (ci != SIZE_MAX)
		add_move(p, ci, &c, "extended", delta);
	add_move(p, swap_index, swap, "swap", delta);
	/* the filesystem ends on a MiB boundary, as partitioning tools leave it */
	to = (uint64_t)((int64_t)from + delta);
	return to - to % MiB > fs->offset ? to - to % MiB : to;
}

int v2p_swap_header(imgfmt_disk *image, const struct v2p_plan *p, unsigned char **page, char *err, size_t errlen)
{
	const struct v2p_move *m = p->nmoves ? &p->moves[p->nmoves - 1] : NULL;

	*page = NULL;
	if (!m || !p->swap_page || p->swap_page > m->size || !(*page = malloc(p->swap_page))) {
		snprintf(err, errlen, "%s: no swap header to move", m ? m->name : "swap");
		return -1;
	}
	if (imgfmt_disk_pread(image, *page, p->swap_page, m->from) < 0 ||
	    memcmp(*page + p->swap_page - 10, "SWAPSPACE2", 10) != 0) {
		snprintf(err, errlen, "%s: cannot read its swap header: %s", m->name, imgfmt_disk_error(image));
		free(*page);
		*page = NULL;
		return -1;
	}
	return 0;
}

int v2p_write_table(imgfmt_disk *image, imgfmt_disk *dst, const struct v2p_plan *p, char *err, size_t errlen)
{
	struct imgfmt_part_place places[3];
	size_t n = 0;

	places[n++] = (struct imgfmt_part_place){ p->last, p->last_start, p->new_size };
	for (size_t i = 0; i < p->nmoves; i++)
		places[n++] = (struct imgfmt_part_place){ p->moves[i].index, p->moves[i].to, p->moves[i].size };
	if (imgfmt_disk_write_ptable(image, dst, places, n) < 0 || imgfmt_disk_sync(dst) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(dst));
		return -1;
	}
	return 0;
}
