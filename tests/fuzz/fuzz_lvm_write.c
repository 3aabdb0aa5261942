/* fuzz_lvm_write.c --- libFuzzer: what lvm_write.c computes from untrusted metadata, before it writes
 *
 * Byte 0 even: the rest is a VG metadata text.  When imgfmt_lvm_parse
 * reads it, imgfmt_lvm_rewrite gives every PV and the VG new ids (the VG a
 * new name when bit 1 is set, the first PV a new size when bit 2 is), and
 * a rewrite that succeeds must parse again with exactly those values.
 * Byte 0 odd: the rest is a metadata area header (512 bytes; its magic,
 * version and checksum made right), the area's size (8) and a new text
 * size (3); when imgfmt_lvm_mda_parse takes the header and imgfmt_lvm_mda_place a place, the new text must lie inside
 * the ring, sector-aligned, and never over the current text.
 */
#include "lvm.h"
#include "lvm_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEW_VG_ID "NEWVGZ-zzzz-zzzz-zzzz-zzzz-zzzz-zzzzzz"

static void rewrite(const char *text, size_t len, unsigned flags)
{
	struct imgfmt_lvm_vg *vg, *again;
	struct imgfmt_lvm_pv_edit *pe;
	char err[512], (*ids)[40], *out;
	size_t out_len;

	if (imgfmt_lvm_parse(text, len, &vg, err) < 0)
		return;
	pe = calloc(vg->npvs, sizeof(*pe));
	ids = calloc(vg->npvs, sizeof(*ids));
	if (!pe || !ids)
		abort();
	for (size_t i = 0; i < vg->npvs; i++) {
		snprintf(ids[i], sizeof(ids[i]), "NEWPV%c-zzzz-zzzz-zzzz-zzzz-zzzz-%06zu", 'A' + (int)(i % 26), i);
		pe[i] = (struct imgfmt_lvm_pv_edit){ .uuid = vg->pvs[i].uuid, .new_uuid = ids[i] };
	}
	if (flags & 4) {
		pe[0].set_size = 1;
		pe[0].pe_count = vg->pvs[0].pe_count / 2;
		pe[0].dev_size = vg->pvs[0].pe_start / 512 + pe[0].pe_count * (vg->extent_size / 512);
	}
	struct imgfmt_lvm_edit edit = { .new_name = flags & 2 ? "fz-new.name" : NULL,
					.new_uuid = NEW_VG_ID,
					.seqno = vg->seqno + 1,
					.npvs = vg->npvs,
					.pvs = pe };
	if (imgfmt_lvm_rewrite(text, len, &edit, &out, &out_len, err) == 0) {
		if (strlen(out) != out_len)
			abort();
		/* the new text must read back with the new values (the smaller
		 * PV may now be too small for its LVs: then it may be refused) */
		if (imgfmt_lvm_parse(out, out_len, &again, err) < 0) {
			if (!(flags & 4) && vg->seqno < UINT32_MAX)
				abort();
		} else {
			if (strcmp(again->uuid, NEW_VG_ID) || again->seqno != vg->seqno + 1 || again->npvs != vg->npvs ||
			    strcmp(again->name, flags & 2 ? "fz-new.name" : vg->name))
				abort();
			for (size_t i = 0; i < vg->npvs; i++)
				if (strcmp(again->pvs[i].uuid, ids[i]) || again->pvs[i].pe_start != vg->pvs[i].pe_start ||
				    (i || !(flags & 4) ? again->pvs[i].pe_count != vg->pvs[i].pe_count
						       : again->pvs[i].pe_count != pe[0].pe_count))
					abort();
			imgfmt_lvm_vg_free(again);
		}
		free(out);
	}
	free(pe);
	free(ids);
	imgfmt_lvm_vg_free(vg);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Bytes [A, A+LEN) of a ring of R bytes, as positions from 0. */
static int ring_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen, uint64_t r)
{
	for (uint64_t i = 0; i < alen; i++) { /* small sizes only: see place() */
		uint64_t x = (a + i) % r;
		uint64_t d = (x + r - b % r) % r;
		if (d < blen)
			return 1;
	}
	return 0;
}

static void place(const uint8_t *data, size_t size)
{
	struct imgfmt_lvm_mda m;
	uint64_t asize, new_size, start;
	unsigned char h[512];
	uint32_t crc;
	char why[512];

	if (size < 512 + 8 + 4)
		return;
	/* a header whose checksum, magic and version hold: the fields are the input's */
	memcpy(h, data, sizeof(h));
	memcpy(h + 4, " LVM2 x[5A%r0N*>", 16);
	memset(h + 20, 0, 4);
	h[20] = 1;
	crc = lvm_crc(LVM_INITIAL_CRC, h + 4, sizeof(h) - 4);
	for (int i = 0; i < 4; i++)
		h[i] = (unsigned char)(crc >> (8 * i));
	asize = get64(data + 512) % (1u << 16);
	new_size = (uint64_t)(data[520] | data[521] << 8 | data[522] << 16) % (1u << 16);
	if (imgfmt_lvm_mda_parse(h, get64(h + 24), asize, &m, why) < 0)
		return;
	if (imgfmt_lvm_mda_place(&m, new_size, &start, why) < 0)
		return;
	if (start < 512 || start >= m.size || start % 512 || !new_size || new_size > m.size - 512)
		abort();
	if (m.text_offset && !m.ignored &&
	    ring_overlap(start - 512, new_size, m.text_offset - 512, m.text_size, m.size - 512))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		place(data + 1, size - 1);
	else
		rewrite((const char *)data + 1, size - 1, data[0]);
	return 0;
}
