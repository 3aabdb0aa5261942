/* lvm_vg.c --- a VG's metadata text resolved to its visible LVs' byte runs on the PVs
 *
 * The text (LVM2 lib/format_text/import_vsn1.c reads the same): top-level
 * contents = "Text Format Volume Group", version = 1, and one section, the
 * VG: id, seqno, extent_size (sectors), physical_volumes { pvN { id,
 * pe_start (sectors), pe_count, dev_size } }, logical_volumes { NAME { id,
 * status [..."VISIBLE"], segment_count, segmentN { start_extent,
 * extent_count, type, ... } } }.  Segment types read: "striped"
 * (stripe_count, stripe_size, stripes = [ "pvN"|"lv", start, ... ]),
 * "mirror" (mirror_count, mirrors = [ "lv_mimage_0", start, ... ]) and
 * "raid1" (raids = [ "lv_rmeta_0", "lv_rimage_0", ... ], images from extent
 * 0); mirrors and raid1 are read from their first image.  Everything else
 * keeps the LV, refused.  An area naming an LV maps onto that LV's own
 * segments (at most LVM_REF_DEPTH levels).
 */
#include "imgfmt_private.h"
#include "lvm.h"
#include "lvm_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define LVM_MAX_SEGMENTS 65536u /* segments of all the VG's LVs */
#define LVM_MAX_AREAS (1u << 18) /* stripes and images of all segments */
#define LVM_MAX_RUNS (1u << 18)  /* resolved runs of all visible LVs */
#define LVM_MAX_STRIPES 128u
#define LVM_REF_DEPTH 8

enum seg_kind { SEG_STRIPED, SEG_MIRROR, SEG_RAID1, SEG_OTHER };

struct area {
	int is_lv;
	uint32_t target;   /* PV or LV index */
	uint64_t extent;   /* first extent on it */
	uint64_t len;      /* extents on it */
};

struct seginfo {
	uint64_t start, count;   /* LV extents */
	enum seg_kind kind;
	char type[16];
	uint32_t nareas, first_area;
	uint64_t stripe_size;    /* sectors */
};

struct lvinfo {
	const char *name; /* in the tree's arena */
	uint32_t node;
	int visible;
	uint64_t extents;
	uint32_t first_seg, nsegs;
	const char *cow_of;      /* the origin, when this LV is a snapshot's COW store */
	const char *thin_pool;
};

struct ctx {
	struct lvm_tree t;
	char *err;
	uint64_t extent_bytes;
	struct imgfmt_lvm_vg *vg;
	uint32_t *pv_node;           /* [vg->npvs] */
	const char **pv_name;
	struct lvinfo *lvs;
	size_t nlvs;
	uint32_t *pv_sorted, *lv_sorted; /* indices sorted by name */
	struct seginfo *segs;
	size_t nsegs, segs_cap;
	struct area *areas;
	size_t nareas, areas_cap;
	size_t nruns;
};

#define vg_fail(c, code, ...) imgfmt_fail((c)->err, (code), __VA_ARGS__)

/* LVM2's rule for VG and LV names (lib/misc/lvm-string.c): [a-zA-Z0-9+_.-],
 * no leading '-', not "." or "..", at most 127 bytes. */
static int valid_name(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > 127 || n[0] == '-' || !strcmp(n, ".") || !strcmp(n, ".."))
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
		      *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

/* A segment type as shown in messages: lower-case words, else "unknown". */
static void copy_type(char out[16], const char *type)
{
	size_t len = strlen(type);

	for (size_t i = 0; i < len; i++)
		if (!((type[i] >= 'a' && type[i] <= 'z') || (type[i] >= '0' && type[i] <= '9') || type[i] == '_' ||
		      type[i] == '-'))
			len = 0;
	if (!len || len > 15)
		type = "unknown";
	snprintf(out, 16, "%s", type);
}

static int copy_id(char out[40], const char *id)
{
	if (!id || strlen(id) > 39)
		return -EINVAL;
	snprintf(out, 40, "%s", id);
	return 0;
}

static int by_pv_name(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;

	return strcmp(c->pv_name[*(const uint32_t *)a], c->pv_name[*(const uint32_t *)b]);
}

static int by_lv_name(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;

	return strcmp(c->lvs[*(const uint32_t *)a].name, c->lvs[*(const uint32_t *)b].name);
}

/* Index of the PV (LVS == 0) or LV named NAME, through SORTED (N entries), or -1. */
static long lookup(const struct ctx *c, const uint32_t *sorted, size_t n, int lvs, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = lvs ? c->lvs[sorted[mid]].name : c->pv_name[sorted[mid]];
		int cmp = strcmp(name, m);
		if (!cmp)
			return sorted[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* ----------------------------------------------------------- PVs */

static int read_pvs(struct ctx *c, uint32_t vgn)
{
	const struct lvm_tree *t = &c->t;
	uint32_t sec = lvm_find(t, vgn, "physical_volumes");
	size_t n = 0;

	if (!sec || t->nodes[sec].kind != LVM_SECTION)
		return vg_fail(c, -EINVAL, "VG %s: no physical_volumes", c->vg->name);
	for (uint32_t p = t->nodes[sec].child; p; p = t->nodes[p].next)
		n += t->nodes[p].kind == LVM_SECTION;
	if (!n)
		return vg_fail(c, -EINVAL, "VG %s: no physical volumes", c->vg->name);
	c->vg->pvs = calloc(n, sizeof(*c->vg->pvs));
	c->pv_node = calloc(n, sizeof(*c->pv_node));
	c->pv_name = calloc(n, sizeof(*c->pv_name));
	c->pv_sorted = calloc(n, sizeof(*c->pv_sorted));
	if (!c->vg->pvs || !c->pv_node || !c->pv_name || !c->pv_sorted)
		return vg_fail(c, -ENOMEM, "out of memory");
	for (uint32_t p = t->nodes[sec].child; p; p = t->nodes[p].next) {
		if (t->nodes[p].kind != LVM_SECTION)
			continue;
		size_t i = c->vg->npvs++;
		struct imgfmt_lvm_pvinfo *pv = &c->vg->pvs[i];
		const char *name = lvm_key(t, p);
		uint64_t pe_start, pe_count, dev_size = 0, end;
		c->pv_node[i] = p;
		c->pv_name[i] = name;
		c->pv_sorted[i] = (uint32_t)i;
		if (!valid_name(name))
			return vg_fail(c, -EINVAL, "VG %s: a PV with an invalid name", c->vg->name);
		if (copy_id(pv->uuid, lvm_find_str(t, p, "id")) < 0)
			return vg_fail(c, -EINVAL, "PV %s: no valid id", name);
		if (lvm_find_uint(t, p, "pe_start", UINT64_MAX / SECTOR, &pe_start) < 0 ||
		    lvm_find_uint(t, p, "pe_count", UINT32_MAX, &pe_count) < 0)
			return vg_fail(c, -EINVAL, "PV %s: missing or invalid pe_start/pe_count", name);
		int rc = lvm_find_uint(t, p, "dev_size", UINT64_MAX / SECTOR, &dev_size);
		if (rc == -EINVAL)
			return vg_fail(c, -EINVAL, "PV %s: invalid dev_size", name);
		pv->pe_start = pe_start * SECTOR;
		pv->pe_count = pe_count;
		pv->dev_size = dev_size * SECTOR;
		if (__builtin_mul_overflow(pe_count, c->extent_bytes, &end) ||
		    __builtin_add_overflow(end, pv->pe_start, &end) || end > INT64_MAX)
			return vg_fail(c, -EINVAL, "PV %s: extents past any device size", name);
		/* vgcreate records the device's size, pvresize the size after
		 * pe_start: the extents fit in either */
		if (pv->dev_size && end - pv->pe_start > pv->dev_size)
			return vg_fail(c, -EINVAL, "PV %s: %llu extents do not fit in its %llu bytes", name,
				       (unsigned long long)pe_count, (unsigned long long)pv->dev_size);
	}
	qsort_r(c->pv_sorted, c->vg->npvs, sizeof(*c->pv_sorted), by_pv_name, c);
	for (size_t i = 1; i < c->vg->npvs; i++)
		if (!strcmp(c->pv_name[c->pv_sorted[i - 1]], c->pv_name[c->pv_sorted[i]]))
			return vg_fail(c, -EINVAL, "VG %s: PV %s twice", c->vg->name, c->pv_name[c->pv_sorted[i]]);
	return 0;
}

/* ----------------------------------------------------------- LVs and segments */

static int list_lvs(struct ctx *c, uint32_t vgn)
{
	const struct lvm_tree *t = &c->t;
	uint32_t sec = lvm_find(t, vgn, "logical_volumes");
	size_t n = 0;

	if (!sec)
		return 0; /* a VG without LVs */
	if (t->nodes[sec].kind != LVM_SECTION)
		return vg_fail(c, -EINVAL, "VG %s: logical_volumes is not a section", c->vg->name);
	for (uint32_t l = t->nodes[sec].child; l; l = t->nodes[l].next)
		n += t->nodes[l].kind == LVM_SECTION;
	if (!n)
		return 0;
	c->lvs = calloc(n, sizeof(*c->lvs));
	c->lv_sorted = calloc(n, sizeof(*c->lv_sorted));
	if (!c->lvs || !c->lv_sorted)
		return vg_fail(c, -ENOMEM, "out of memory");
	for (uint32_t l = t->nodes[sec].child; l; l = t->nodes[l].next) {
		if (t->nodes[l].kind != LVM_SECTION)
			continue;
		struct lvinfo *lv = &c->lvs[c->nlvs];
		lv->name = lvm_key(t, l);
		lv->node = l;
		lv->visible = lvm_array_has(t, l, "status", "VISIBLE");
		if (!valid_name(lv->name))
			return vg_fail(c, -EINVAL, "VG %s: an LV with an invalid name", c->vg->name);
		c->lv_sorted[c->nlvs] = (uint32_t)c->nlvs;
		c->nlvs++;
	}
	qsort_r(c->lv_sorted, c->nlvs, sizeof(*c->lv_sorted), by_lv_name, c);
	for (size_t i = 1; i < c->nlvs; i++)
		if (!strcmp(c->lvs[c->lv_sorted[i - 1]].name, c->lvs[c->lv_sorted[i]].name))
			return vg_fail(c, -EINVAL, "VG %s: LV %s twice", c->vg->name, c->lvs[c->lv_sorted[i]].name);
	return 0;
}

static int grow(struct ctx *c, void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*arr, n * size);
	if (!p)
		return vg_fail(c, -ENOMEM, "out of memory");
	*arr = p;
	*cap = n;
	return 0;
}

/* A PV or LV named NAME for an area of LV's segment SEG. */
static int area_target(struct ctx *c, const struct lvinfo *lv, size_t seg, const char *name, struct area *a)
{
	long i = lookup(c, c->pv_sorted, c->vg->npvs, 0, name);

	if (i >= 0) {
		a->is_lv = 0;
		a->target = (uint32_t)i;
		return 0;
	}
	if ((i = lookup(c, c->lv_sorted, c->nlvs, 1, name)) >= 0) {
		a->is_lv = 1;
		a->target = (uint32_t)i;
		return 0;
	}
	return vg_fail(c, -EINVAL, "LV %s segment %zu: no PV or LV named %s", lv->name, seg + 1,
		       valid_name(name) ? name : "(invalid name)");
}

static int add_area(struct ctx *c, struct seginfo *s, const struct area *a)
{
	int rc;

	if (c->nareas >= LVM_MAX_AREAS)
		return vg_fail(c, -EINVAL, "VG %s: more than %u segment areas", c->vg->name, LVM_MAX_AREAS);
	if ((rc = grow(c, (void **)&c->areas, &c->areas_cap, c->nareas + 1, sizeof(*c->areas))) < 0)
		return rc;
	c->areas[c->nareas++] = *a;
	s->nareas++;
	return 0;
}

/* The [name, extent, name, extent, ...] list KEY of a striped or mirror
 * segment: exactly N pairs, each AREA_LEN extents long. */
static int read_pairs(struct ctx *c, struct lvinfo *lv, size_t segno, uint32_t sn, const char *key, uint64_t n,
		      uint64_t area_len, struct seginfo *s)
{
	const struct lvm_tree *t = &c->t;
	uint32_t arr = lvm_find(t, sn, key), e;
	uint64_t k = 0;
	int rc;

	if (!arr || t->nodes[arr].kind != LVM_ARRAY)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: no %s list", lv->name, segno + 1, key);
	for (e = t->nodes[arr].child; e; e = t->nodes[t->nodes[e].next].next, k++) {
		uint32_t off = t->nodes[e].next;
		struct area a = { .len = area_len };
		if (k == n || t->nodes[e].kind != LVM_STRING || !off || t->nodes[off].kind != LVM_INT ||
		    t->nodes[off].num < 0 || t->nodes[off].num > UINT32_MAX)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: malformed %s list", lv->name, segno + 1, key);
		a.extent = (uint64_t)t->nodes[off].num;
		if ((rc = area_target(c, lv, segno, lvm_str(t, e), &a)) < 0 || (rc = add_area(c, s, &a)) < 0)
			return rc;
	}
	if (k != n)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: %s lists %llu areas, not %llu", lv->name, segno + 1, key,
			       (unsigned long long)k, (unsigned long long)n);
	return 0;
}

/* raids = [ "x_rmeta_0", "x_rimage_0", ... ]: the images (the metadata LVs are skipped). */
static int read_raids(struct ctx *c, struct lvinfo *lv, size_t segno, uint32_t sn, struct seginfo *s)
{
	const struct lvm_tree *t = &c->t;
	uint32_t arr = lvm_find(t, sn, "raids");
	int rc;

	if (!arr || t->nodes[arr].kind != LVM_ARRAY)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: no raids list", lv->name, segno + 1);
	for (uint32_t e = t->nodes[arr].child; e; e = t->nodes[e].next) {
		struct area a = { .extent = 0, .len = s->count };
		if (t->nodes[e].kind != LVM_STRING)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: malformed raids list", lv->name, segno + 1);
		if ((rc = area_target(c, lv, segno, lvm_str(t, e), &a)) < 0)
			return rc;
		if (!a.is_lv)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: a raid image on a PV", lv->name, segno + 1);
		if (strstr(c->lvs[a.target].name, "_rmeta_"))
			continue;
		if ((rc = add_area(c, s, &a)) < 0)
			return rc;
	}
	if (!s->nareas)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: no raid image", lv->name, segno + 1);
	return 0;
}

static int read_segment(struct ctx *c, struct lvinfo *lv, size_t segno, uint32_t sn, struct seginfo *s)
{
	const struct lvm_tree *t = &c->t;
	const char *type = lvm_find_str(t, sn, "type");
	uint64_t n;

	if (lvm_find_uint(t, sn, "start_extent", UINT32_MAX, &s->start) < 0 ||
	    lvm_find_uint(t, sn, "extent_count", UINT32_MAX, &s->count) < 0 || !s->count || !type)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: missing or invalid start_extent/extent_count/type",
			       lv->name, segno + 1);
	if (s->start != lv->extents)
		return vg_fail(c, -EINVAL, "LV %s segment %zu: starts at extent %llu, not %llu", lv->name, segno + 1,
			       (unsigned long long)s->start, (unsigned long long)lv->extents);
	lv->extents += s->count;
	copy_type(s->type, type);
	s->first_area = (uint32_t)c->nareas;
	if (!strcmp(type, "striped")) {
		s->kind = SEG_STRIPED;
		if (lvm_find_uint(t, sn, "stripe_count", LVM_MAX_STRIPES, &n) < 0 || !n || s->count % n)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: invalid stripe_count", lv->name, segno + 1);
		if (n > 1 && (lvm_find_uint(t, sn, "stripe_size", UINT32_MAX, &s->stripe_size) < 0 ||
			      !s->stripe_size || (s->count / n * (c->extent_bytes / SECTOR)) % s->stripe_size))
			return vg_fail(c, -EINVAL, "LV %s segment %zu: invalid stripe_size", lv->name, segno + 1);
		return read_pairs(c, lv, segno, sn, "stripes", n, s->count / n, s);
	}
	if (!strcmp(type, "mirror")) {
		s->kind = SEG_MIRROR;
		if (lvm_find_uint(t, sn, "mirror_count", LVM_MAX_STRIPES, &n) < 0 || !n)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: invalid mirror_count", lv->name, segno + 1);
		return read_pairs(c, lv, segno, sn, "mirrors", n, s->count, s);
	}
	if (!strcmp(type, "raid1")) {
		s->kind = SEG_RAID1;
		return read_raids(c, lv, segno, sn, s);
	}
	s->kind = SEG_OTHER;
	if (!strcmp(type, "snapshot")) {
		const char *origin = lvm_find_str(t, sn, "origin"), *cow = lvm_find_str(t, sn, "cow_store");
		long o = origin ? lookup(c, c->lv_sorted, c->nlvs, 1, origin) : -1;
		long w = cow ? lookup(c, c->lv_sorted, c->nlvs, 1, cow) : -1;
		if (o < 0 || w < 0)
			return vg_fail(c, -EINVAL, "LV %s segment %zu: snapshot without its origin or COW LV", lv->name,
				       segno + 1);
		/* LVM2 lists the snapshot under its COW LV's name (hidden in the
		 * text) and never shows "snapshotN", the tie of origin and COW */
		c->lvs[w].cow_of = c->lvs[o].name;
		c->lvs[w].visible = 1;
		lv->visible = 0;
	}
	if (!strcmp(type, "thin")) {
		const char *pool = lvm_find_str(t, sn, "thin_pool");
		lv->thin_pool = pool && valid_name(pool) ? pool : "?";
	}
	return 0;
}

static int read_segments(struct ctx *c)
{
	const struct lvm_tree *t = &c->t;
	int rc;

	for (size_t i = 0; i < c->nlvs; i++) {
		struct lvinfo *lv = &c->lvs[i];
		uint64_t count;
		if (lvm_find_uint(t, lv->node, "segment_count", LVM_MAX_SEGMENTS, &count) < 0 || !count)
			return vg_fail(c, -EINVAL, "LV %s: missing or invalid segment_count", lv->name);
		if (c->nsegs + count > LVM_MAX_SEGMENTS)
			return vg_fail(c, -EINVAL, "VG %s: more than %u segments", c->vg->name, LVM_MAX_SEGMENTS);
		lv->first_seg = (uint32_t)c->nsegs;
		for (uint32_t sn = t->nodes[lv->node].child; sn; sn = t->nodes[sn].next) {
			if (t->nodes[sn].kind != LVM_SECTION)
				continue;
			if (lv->nsegs == count)
				return vg_fail(c, -EINVAL, "LV %s: more segments than its segment_count %llu", lv->name,
					       (unsigned long long)count);
			if ((rc = grow(c, (void **)&c->segs, &c->segs_cap, c->nsegs + 1, sizeof(*c->segs))) < 0)
				return rc;
			struct seginfo *s = &c->segs[c->nsegs];
			memset(s, 0, sizeof(*s));
			if ((rc = read_segment(c, lv, lv->nsegs, sn, s)) < 0)
				return rc;
			c->nsegs++;
			lv->nsegs++;
		}
		if (lv->nsegs != count)
			return vg_fail(c, -EINVAL, "LV %s: %u segments, segment_count says %llu", lv->name, lv->nsegs,
				       (unsigned long long)count);
	}
	return 0;
}

/* ----------------------------------------------------------- bounds and overlaps */

struct use {
	int is_lv;
	uint32_t target;
	uint64_t start, end; /* extents [start, end) */
	uint32_t owner;      /* LV index */
};

static int by_place(const void *a, const void *b)
{
	const struct use *x = a, *y = b;

	if (x->is_lv != y->is_lv)
		return x->is_lv - y->is_lv;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static uint64_t pv_byte(const struct ctx *c, uint32_t pv, uint64_t extent)
{
	return c->vg->pvs[pv].pe_start + extent * c->extent_bytes;
}

/* Every area inside its PV or LV, and no extent used twice. */
static int check_areas(struct ctx *c)
{
	struct use *u = c->nareas ? calloc(c->nareas, sizeof(*u)) : NULL;
	size_t n = 0;
	int rc = 0;

	if (c->nareas && !u)
		return vg_fail(c, -ENOMEM, "out of memory");
	for (size_t l = 0; l < c->nlvs; l++) {
		const struct lvinfo *lv = &c->lvs[l];
		for (uint32_t s = lv->first_seg; s < lv->first_seg + lv->nsegs; s++) {
			const struct seginfo *seg = &c->segs[s];
			for (uint32_t k = 0; k < seg->nareas; k++) {
				const struct area *a = &c->areas[seg->first_area + k];
				uint64_t limit = a->is_lv ? c->lvs[a->target].extents : c->vg->pvs[a->target].pe_count;
				const char *on = a->is_lv ? c->lvs[a->target].name : c->pv_name[a->target];
				if (a->extent > limit || a->len > limit - a->extent) {
					rc = vg_fail(c, -EINVAL, "LV %s segment %u: extents %llu-%llu past the end of %s %s",
						     lv->name, s - lv->first_seg + 1, (unsigned long long)a->extent,
						     (unsigned long long)(a->extent + a->len - 1), a->is_lv ? "LV" : "PV", on);
					goto out;
				}
				if (a->is_lv && a->target == l) {
					rc = vg_fail(c, -EINVAL, "LV %s maps onto itself", lv->name);
					goto out;
				}
				u[n++] = (struct use){ a->is_lv, a->target, a->extent, a->extent + a->len, (uint32_t)l };
			}
		}
	}
	if (n)
		qsort(u, n, sizeof(*u), by_place);
	for (size_t i = 1; i < n; i++) {
		if (u[i].is_lv != u[i - 1].is_lv || u[i].target != u[i - 1].target || u[i].start >= u[i - 1].end)
			continue;
		const char *a = c->lvs[u[i - 1].owner].name, *b = c->lvs[u[i].owner].name;
		if (strcmp(a, b) > 0) {
			const char *x = a;
			a = b, b = x;
		}
		rc = vg_fail(c, -EINVAL, "LVs %s and %s overlap on %s %s", a, b, u[i].is_lv ? "LV" : "PV",
			     u[i].is_lv ? c->lvs[u[i].target].name : c->pv_name[u[i].target]);
		break;
	}
	/* every run of extents on a PV, whoever holds it (the used map keeps them) */
	if (rc == 0 && n && !(c->vg->alloc = calloc(n, sizeof(*c->vg->alloc))))
		rc = vg_fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!u[i].is_lv)
			c->vg->alloc[c->vg->nalloc++] = (struct imgfmt_lvm_alloc){
				(unsigned)u[i].target, pv_byte(c, u[i].target, u[i].start),
				(u[i].end - u[i].start) * c->extent_bytes };
out:
	free(u);
	return rc;
}

/* ----------------------------------------------------------- resolving an LV to runs */

static int add_run(struct ctx *c, struct imgfmt_lvm_lv *out, size_t *cap, uint64_t start, uint64_t length,
		   uint32_t stripes, uint64_t stripe_size, struct imgfmt_lvm_area *area)
{
	int rc;

	if (c->nruns >= LVM_MAX_RUNS) {
		free(area);
		return vg_fail(c, -EINVAL, "VG %s: more than %u runs once resolved", c->vg->name, LVM_MAX_RUNS);
	}
	if ((rc = grow(c, (void **)&out->segs, cap, out->nsegs + 1, sizeof(*out->segs))) < 0) {
		free(area);
		return rc;
	}
	out->segs[out->nsegs++] = (struct imgfmt_lvm_seg){ start, length, stripes, stripe_size, area };
	c->nruns++;
	return 0;
}


/* Map extents [LE, LE+COUNT) of LV onto the PVs as runs of OUT starting at
 * byte AT of OUT's LV.  1: a refusal written into OUT->refused; 0; < 0. */
static int resolve(struct ctx *c, const struct lvinfo *lv, uint64_t le, uint64_t count, uint64_t at,
		   struct imgfmt_lvm_lv *out, size_t *cap, int depth)
{
	if (depth > LVM_REF_DEPTH)
		return vg_fail(c, -EINVAL, "LV %s: LVs stacked more than %d deep", out->name, LVM_REF_DEPTH);
	if (le > lv->extents || count > lv->extents - le)
		return vg_fail(c, -EINVAL, "LV %s: extents past the end of LV %s", out->name, lv->name);
	/* the first segment holding LE: segments are contiguous from 0 */
	size_t lo = 0, hi = lv->nsegs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->segs[lv->first_seg + mid].start <= le)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < lv->nsegs && count; i++) {
		const struct seginfo *s = &c->segs[lv->first_seg + i];
		uint64_t off = le - s->start, n = s->count - off < count ? s->count - off : count;
		const struct area *a = s->nareas ? &c->areas[s->first_area] : NULL; /* (none for SEG_OTHER) */
		int rc;
		if (s->kind == SEG_OTHER) {
			if (!depth)
				snprintf(out->refused, sizeof(out->refused), "%s volume: not supported", s->type);
			else
				snprintf(out->refused, sizeof(out->refused), "image %.110s is a %s volume: not supported",
					 lv->name, s->type);
			return 1;
		}
		if (s->kind == SEG_STRIPED && s->nareas > 1) {
			if (off || n != s->count) {
				snprintf(out->refused, sizeof(out->refused), "%.127s: striped image: not supported", lv->name);
				return 1;
			}
			struct imgfmt_lvm_area *areas = calloc(s->nareas, sizeof(*areas));
			if (!areas)
				return vg_fail(c, -ENOMEM, "out of memory");
			for (uint32_t k = 0; k < s->nareas; k++) {
				if (a[k].is_lv) {
					free(areas);
					snprintf(out->refused, sizeof(out->refused), "stripes over LVs: not supported");
					return 1;
				}
				areas[k] = (struct imgfmt_lvm_area){ a[k].target, pv_byte(c, a[k].target, a[k].extent) };
			}
			if ((rc = add_run(c, out, cap, at, n * c->extent_bytes, s->nareas, s->stripe_size * SECTOR,
					  areas)) < 0)
				return rc;
		} else {
			/* linear, or the first leg of a mirror / first image of a raid1 */
			uint64_t first = s->kind == SEG_RAID1 ? off : a->extent + off; /* raid images map from 0 */
			if (a->is_lv) {
				if ((rc = resolve(c, &c->lvs[a->target], first, n, at, out, cap, depth + 1)) != 0)
					return rc;
			} else {
				struct imgfmt_lvm_area *one = calloc(1, sizeof(*one));
				if (!one)
					return vg_fail(c, -ENOMEM, "out of memory");
				*one = (struct imgfmt_lvm_area){ a->target, pv_byte(c, a->target, first) };
				if ((rc = add_run(c, out, cap, at, n * c->extent_bytes, 1, 0, one)) < 0)
					return rc;
			}
		}
		le += n;
		count -= n;
		at += n * c->extent_bytes;
	}
	return 0;
}

static void set_layout(const struct ctx *c, const struct lvinfo *lv, struct imgfmt_lvm_lv *out)
{
	snprintf(out->layout, sizeof(out->layout), "linear");
	for (uint32_t i = 0; i < lv->nsegs; i++) {
		const struct seginfo *s = &c->segs[lv->first_seg + i];
		if (s->kind == SEG_STRIPED && s->nareas > 1)
			snprintf(out->layout, sizeof(out->layout), "striped");
		if (s->kind != SEG_STRIPED) {
			snprintf(out->layout, sizeof(out->layout), "%s", s->type);
			break;
		}
	}
	if (lv->cow_of)
		snprintf(out->layout, sizeof(out->layout), "snapshot");
}

static void free_runs(struct imgfmt_lvm_lv *out)
{
	for (size_t i = 0; i < out->nsegs; i++)
		free(out->segs[i].area);
	free(out->segs);
	out->segs = NULL;
	out->nsegs = 0;
}

static int resolve_visible(struct ctx *c)
{
	const struct lvm_tree *t = &c->t;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < c->nlvs; i++)
		n += c->lvs[i].visible;
	if (!n)
		return 0;
	if (!(c->vg->lvs = calloc(n, sizeof(*c->vg->lvs))))
		return vg_fail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nlvs; i++) {
		const struct lvinfo *lv = &c->lvs[i];
		if (!lv->visible)
			continue;
		struct imgfmt_lvm_lv *out = &c->vg->lvs[c->vg->nlvs++];
		size_t cap = 0;
		snprintf(out->name, sizeof(out->name), "%s", lv->name);
		if (copy_id(out->uuid, lvm_find_str(t, lv->node, "id")) < 0)
			return vg_fail(c, -EINVAL, "LV %s: no valid id", lv->name);
		if (__builtin_mul_overflow(lv->extents, c->extent_bytes, &out->size) || out->size > INT64_MAX)
			return vg_fail(c, -EINVAL, "LV %s: too large", lv->name);
		set_layout(c, lv, out);
		if (lv->cow_of) {
			snprintf(out->refused, sizeof(out->refused), "snapshot of %.127s: not supported", lv->cow_of);
			continue;
		}
		if (lv->thin_pool) {
			snprintf(out->refused, sizeof(out->refused), "thin volume (pool %.60s/%.60s): not supported",
				 c->vg->name, lv->thin_pool);
			continue;
		}
		rc = resolve(c, lv, 0, lv->extents, 0, out, &cap, 0);
		if (rc < 0)
			return rc;
		if (rc > 0)
			free_runs(out);
	}
	return 0;
}

/* ----------------------------------------------------------- the VG */

static int read_vg(struct ctx *c)
{
	const struct lvm_tree *t = &c->t;
	const char *contents = lvm_find_str(t, 0, "contents");
	uint64_t version, extent_size;
	uint32_t vgn;
	int rc;

	if (!contents || strcmp(contents, "Text Format Volume Group") ||
	    lvm_find_uint(t, 0, "version", UINT32_MAX, &version) < 0 || version != 1)
		return vg_fail(c, -EINVAL, "not LVM2 VG metadata (contents/version)");
	for (vgn = t->nodes[0].child; vgn && t->nodes[vgn].kind != LVM_SECTION; vgn = t->nodes[vgn].next)
		;
	if (!vgn)
		return vg_fail(c, -EINVAL, "no VG in the metadata");
	if (!valid_name(lvm_key(t, vgn)))
		return vg_fail(c, -EINVAL, "invalid VG name");
	snprintf(c->vg->name, sizeof(c->vg->name), "%s", lvm_key(t, vgn));
	if (copy_id(c->vg->uuid, lvm_find_str(t, vgn, "id")) < 0)
		return vg_fail(c, -EINVAL, "VG %s: no valid id", c->vg->name);
	if (lvm_find_uint(t, vgn, "seqno", UINT32_MAX, &c->vg->seqno) < 0 ||
	    lvm_find_uint(t, vgn, "extent_size", UINT32_MAX, &extent_size) < 0 || !extent_size)
		return vg_fail(c, -EINVAL, "VG %s: missing or invalid seqno/extent_size", c->vg->name);
	c->extent_bytes = c->vg->extent_size = extent_size * SECTOR;
	if ((rc = read_pvs(c, vgn)) < 0 || (rc = list_lvs(c, vgn)) < 0 || (rc = read_segments(c)) < 0 ||
	    (rc = check_areas(c)) < 0)
		return rc;
	return resolve_visible(c);
}

int imgfmt_lvm_parse(const char *text, size_t len, struct imgfmt_lvm_vg **vg, char *err)
{
	struct ctx c = { .err = err };
	int rc;

	*vg = NULL;
	if ((rc = lvm_text_parse(text, len, &c.t, err)) < 0)
		return rc;
	if (!(c.vg = calloc(1, sizeof(*c.vg))))
		rc = imgfmt_fail(err, -ENOMEM, "out of memory");
	else
		rc = read_vg(&c);
	if (rc < 0)
		imgfmt_lvm_vg_free(c.vg);
	else
		*vg = c.vg;
	free(c.pv_node);
	free(c.pv_name);
	free(c.pv_sorted);
	free(c.lvs);
	free(c.lv_sorted);
	free(c.segs);
	free(c.areas);
	lvm_tree_free(&c.t);
	return rc;
}

void imgfmt_lvm_vg_free(struct imgfmt_lvm_vg *vg)
{
	if (!vg)
		return;
	for (size_t i = 0; i < vg->nlvs; i++)
		free_runs(&vg->lvs[i]);
	free(vg->lvs);
	free(vg->alloc);
	free(vg->pvs);
	free(vg);
}

int imgfmt_lvm_dm_name(const char *vg, const char *lv, char *out, size_t size)
{
	size_t o = 0;

	for (int part = 0; part < 2; part++) {
		for (const char *p = part ? lv : vg; *p; p++) {
			if (o + 2 + (*p == '-') > size)
				return -ENAMETOOLONG;
			if (*p == '-')
				out[o++] = '-';
			out[o++] = *p;
		}
		if (!part) {
			if (o + 2 > size)
				return -ENAMETOOLONG;
			out[o++] = '-';
		}
	}
	out[o] = '\0';
	return 0;
}
