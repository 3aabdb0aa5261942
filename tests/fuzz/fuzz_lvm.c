/* fuzz_lvm.c --- libFuzzer: arbitrary bytes as an LVM2 PV (label, metadata areas) or as VG metadata text
 *
 * The first byte picks: even, the rest is a PV image read through
 * imgfmt_lvm_read_label and imgfmt_lvm_read_text, then its text parsed;
 * odd, the rest is a metadata text for imgfmt_lvm_parse.  Besides not
 * crashing, the results must keep lvm.h's promises: reads inside the PV,
 * areas inside the label's PV, runs sorted and contiguous from 0 to the
 * LV's size, every area inside its PV's extents, refused LVs without runs.
 */
#include "lvm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct input {
	const uint8_t *data;
	size_t size;
};

static int read_pv(void *arg, void *buf, size_t len, uint64_t off)
{
	const struct input *in = arg;

	if (off > in->size || len > in->size - off)
		abort(); /* lvm_label.c must bound every read by the PV's size */
	memcpy(buf, in->data + off, len);
	return 0;
}

static void check_vg(const struct imgfmt_lvm_vg *vg)
{
	char dm[300];

	for (size_t i = 0; i < vg->nlvs; i++) {
		const struct imgfmt_lvm_lv *lv = &vg->lvs[i];
		uint64_t at = 0;
		if (lv->refused[0] && lv->nsegs)
			abort();
		if (imgfmt_lvm_dm_name(vg->name, lv->name, dm, sizeof(dm)) < 0)
			abort();
		for (size_t s = 0; s < lv->nsegs; s++) {
			const struct imgfmt_lvm_seg *g = &lv->segs[s];
			if (g->start != at || !g->length || !g->stripes || (g->stripes > 1 && !g->stripe_size))
				abort();
			at += g->length;
			for (uint32_t k = 0; k < g->stripes; k++) {
				const struct imgfmt_lvm_area *a = &g->area[k];
				if (a->pv >= vg->npvs)
					abort();
				const struct imgfmt_lvm_pvinfo *pv = &vg->pvs[a->pv];
				uint64_t per_stripe = g->length / g->stripes;
				if (a->offset < pv->pe_start ||
				    a->offset + per_stripe > pv->pe_start + pv->pe_count * vg->extent_size)
					abort();
			}
		}
		if (!lv->refused[0] && at != lv->size)
			abort();
	}
}

static void parse_text(const char *text, size_t len)
{
	struct imgfmt_lvm_vg *vg;
	char err[512];

	if (imgfmt_lvm_parse(text, len, &vg, err) < 0)
		return;
	check_vg(vg);
	imgfmt_lvm_vg_free(vg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data + 1, size ? size - 1 : 0 };
	struct imgfmt_lvm_label label;
	char err[512], *text;
	size_t len;
	uint64_t seqno;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		parse_text((const char *)in.data, in.size);
		return 0;
	}
	if (imgfmt_lvm_read_label(read_pv, &in, in.size, &label, err) < 0)
		return 0;
	if (label.nmda > 2)
		abort();
	for (unsigned i = 0; i < label.nmda; i++)
		if (label.mda[i].offset > in.size || label.mda[i].size > in.size - label.mda[i].offset)
			abort();
	if (imgfmt_lvm_read_text(read_pv, &in, in.size, &label, &text, &len, &seqno, err) < 0)
		return 0;
	if (strlen(text) != len)
		abort();
	parse_text(text, len);
	free(text);
	return 0;
}
