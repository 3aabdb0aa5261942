/* lvm_label.c --- an LVM2 PV's label (label_header + pv_header) and the metadata text in its areas, read and updated
 *
 * On disk, little-endian (LVM2 lib/label/label.h, lib/format_text/layout.h):
 *   label_header, in one of sectors 0-3: "LABELONE", sector number (u64),
 *     crc (u32) of the sector from byte 20 on, offset of the pv_header (u32),
 *     type "LVM2 001".
 *   pv_header: uuid (32 chars), device size (u64), then two lists of
 *     {offset u64, size u64} (data areas, metadata areas), each ended by a
 *     zero offset, all inside the label sector.
 *   mda_header, first sector of a metadata area: crc (u32) of bytes 4-511,
 *     magic (16), version 1 (u32), start (u64, the area's own offset), size
 *     (u64), raw_locn {offset u64 from the area's start, size u64, crc u32,
 *     flags u32}[]; slot 0 is the committed metadata.  The text is a ring
 *     buffer over the area after its first 512 bytes: when offset + size
 *     passes the end it continues at start + 512.
 */
#include "imgfmt_private.h"
#include "lvm.h"
#include "lvm_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define MDA_MAGIC " LVM2 x[5A%r0N*>"
#define RAW_LOCN_IGNORED 0x1u

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* [OFF, OFF+LEN) inside [0, SIZE), without overflow. */
static int inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* LVM2's PV/VG ids: 32 characters of [0-9a-zA-Z!#], shown as 6-4-4-4-4-4-6. */
static int format_uuid(const unsigned char *id, char out[40])
{
	static const unsigned groups[] = { 6, 4, 4, 4, 4, 4, 6 };
	size_t o = 0, i = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (g)
			out[o++] = '-';
		for (unsigned k = 0; k < groups[g]; k++, i++) {
			unsigned char c = id[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '!' ||
			      c == '#'))
				return -EINVAL;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return 0;
}

/* The pv_header at byte OFF of label sector S (already checksummed). */
static int parse_pv_header(const unsigned char *s, uint32_t off, uint64_t pv_size, struct imgfmt_lvm_label *label,
			   char *err)
{
	if (off < 32 || off > SECTOR - 40)
		return imgfmt_fail(err, -EINVAL, "LVM2 label: pv_header at byte %u of the sector", off);
	if (format_uuid(s + off, label->uuid) < 0)
		return imgfmt_fail(err, -EINVAL, "LVM2 label: malformed PV uuid");
	label->dev_size = le64(s + off + 32);
	size_t p = off + 40;
	int list = 0; /* 0: data areas, 1: metadata areas */
	unsigned ndata = 0;
	for (;;) {
		if (p + 16 > SECTOR)
			return imgfmt_fail(err, -EINVAL, "LVM2 label: area lists overflow the label sector");
		uint64_t aoff = le64(s + p), asize = le64(s + p + 8);
		p += 16;
		if (!aoff) {
			if (list++)
				break;
			continue;
		}
		if (!list) {
			if (!ndata++)
				label->data_offset = aoff;
			if (aoff > pv_size)
				return imgfmt_fail(err, -EINVAL, "LVM2 label: data area at %llu, past the PV's %llu bytes",
						   (unsigned long long)aoff, (unsigned long long)pv_size);
			continue;
		}
		if (label->nmda == 2)
			return imgfmt_fail(err, -EINVAL, "LVM2 label: more than two metadata areas");
		if (asize < 2 * SECTOR || !inside(aoff, asize, pv_size))
			return imgfmt_fail(err, -EINVAL, "LVM2 label: metadata area %u (%llu bytes at %llu) outside the PV",
					   label->nmda + 1, (unsigned long long)asize, (unsigned long long)aoff);
		label->mda[label->nmda].offset = aoff;
		label->mda[label->nmda].size = asize;
		label->nmda++;
	}
	return 0;
}

int imgfmt_lvm_read_label(imgfmt_lvm_read_fn rd, void *arg, uint64_t pv_size, struct imgfmt_lvm_label *label,
			  char *err)
{
	unsigned char s[SECTOR];
	int rc;

	memset(label, 0, sizeof(*label));
	for (unsigned i = 0; i < 4 && (uint64_t)(i + 1) * SECTOR <= pv_size; i++) {
		if ((rc = rd(arg, s, SECTOR, (uint64_t)i * SECTOR)) < 0)
			return imgfmt_fail(err, rc, "LVM2 label: cannot read sector %u", i);
		if (memcmp(s, "LABELONE", 8) || le64(s + 8) != i)
			continue;
		if (lvm_crc(LVM_INITIAL_CRC, s + 20, SECTOR - 20) != le32(s + 16))
			return imgfmt_fail(err, -EINVAL, "LVM2 label in sector %u: bad checksum", i);
		if (memcmp(s + 24, "LVM2 001", 8))
			return imgfmt_fail(err, -EINVAL, "LVM2 label in sector %u: unknown type", i);
		label->label_offset = (uint64_t)i * SECTOR;
		return parse_pv_header(s, le32(s + 20), pv_size, label, err);
	}
	return imgfmt_fail(err, -ENOENT, "no LVM2 label");
}

/* The seqno of the VG in TEXT, or -EINVAL. */
static int text_seqno(const char *text, size_t len, uint64_t *seqno, char *err)
{
	struct lvm_tree t;
	int rc = lvm_text_parse(text, len, &t, err);

	if (rc < 0)
		return rc;
	uint32_t vg = t.nodes[0].child;
	while (vg && t.nodes[vg].kind != LVM_SECTION)
		vg = t.nodes[vg].next;
	rc = vg ? lvm_find_uint(&t, vg, "seqno", UINT32_MAX, seqno) : -ENOENT;
	lvm_tree_free(&t);
	return rc < 0 ? imgfmt_fail(err, -EINVAL, "no VG seqno in the text") : 0;
}

int imgfmt_lvm_mda_parse(const unsigned char h[512], uint64_t aoff, uint64_t asize, struct imgfmt_lvm_mda *mda,
			 char *why)
{
	if (lvm_crc(LVM_INITIAL_CRC, h + 4, SECTOR - 4) != le32(h))
		return imgfmt_fail(why, -EINVAL, "bad header checksum");
	if (memcmp(h + 4, MDA_MAGIC, 16) || le32(h + 20) != 1)
		return imgfmt_fail(why, -EINVAL, "bad header magic or version");
	uint64_t start = le64(h + 24), size = le64(h + 32);
	if (start != aoff || size < 2 * SECTOR || size > asize)
		return imgfmt_fail(why, -EINVAL, "header says %llu bytes at %llu", (unsigned long long)size,
				   (unsigned long long)start);
	const unsigned char *rl = h + 40;
	mda->size = size;
	mda->text_offset = le64(rl);
	mda->text_size = le64(rl + 8);
	mda->text_crc = le32(rl + 16);
	mda->ignored = (le32(rl + 20) & RAW_LOCN_IGNORED) != 0;
	if (!mda->text_offset)
		return 0; /* no metadata yet */
	if (mda->text_offset < SECTOR || mda->text_offset >= size || !mda->text_size ||
	    mda->text_size > size - SECTOR || mda->text_size > LVM_TEXT_MAX_LEN)
		return imgfmt_fail(why, -EINVAL, "text of %llu bytes at %llu outside the area",
				   (unsigned long long)mda->text_size, (unsigned long long)mda->text_offset);
	return 0;
}

/* The committed text of one metadata area into *TEXT (malloc'd), or a reason in WHY. */
static int read_area(imgfmt_lvm_read_fn rd, void *arg, uint64_t aoff, uint64_t asize, char **text, size_t *len,
		     char *why)
{
	unsigned char h[SECTOR];
	struct imgfmt_lvm_mda m;
	int rc;

	if ((rc = rd(arg, h, SECTOR, aoff)) < 0)
		return imgfmt_fail(why, rc, "cannot read its header");
	if ((rc = imgfmt_lvm_mda_parse(h, aoff, asize, &m, why)) < 0)
		return rc;
	if (!m.text_offset)
		return imgfmt_fail(why, -ENOENT, "no metadata");
	if (m.ignored)
		return imgfmt_fail(why, -ENOENT, "ignored");
	uint64_t roff = m.text_offset, rsize = m.text_size, size = m.size;
	uint64_t wrap = roff + rsize > size ? roff + rsize - size : 0;
	char *buf = malloc(rsize + 1);
	if (!buf)
		return imgfmt_fail(why, -ENOMEM, "out of memory");
	if ((rc = rd(arg, buf, rsize - wrap, aoff + roff)) < 0 ||
	    (wrap && (rc = rd(arg, buf + rsize - wrap, wrap, aoff + SECTOR)) < 0)) {
		free(buf);
		return imgfmt_fail(why, rc, "cannot read its text");
	}
	if (lvm_crc(LVM_INITIAL_CRC, buf, rsize) != m.text_crc) {
		free(buf);
		return imgfmt_fail(why, -EINVAL, "bad text checksum");
	}
	buf[rsize] = '\0';
	*text = buf;
	*len = strnlen(buf, rsize);
	return 0;
}

int imgfmt_lvm_read_text(imgfmt_lvm_read_fn rd, void *arg, uint64_t pv_size, const struct imgfmt_lvm_label *label,
			 char **text, size_t *len, uint64_t *seqno, char *err)
{
	char reasons[IMGFMT_ERRLEN] = "", why[IMGFMT_ERRLEN];
	char *best = NULL;
	size_t best_len = 0;
	uint64_t best_seqno = 0;
	int rc = -ENOENT;

	*text = NULL;
	for (unsigned i = 0; i < label->nmda && i < 2; i++) {
		char *t = NULL;
		size_t l = 0;
		uint64_t s = 0;
		if (!inside(label->mda[i].offset, label->mda[i].size, pv_size)) {
			imgfmt_fail(why, -EINVAL, "outside the PV");
		} else if ((rc = read_area(rd, arg, label->mda[i].offset, label->mda[i].size, &t, &l, why)) == 0) {
			int parsed = text_seqno(t, l, &s, why);
			if (parsed == 0 && (!best || s > best_seqno)) {
				free(best);
				best = t, best_len = l, best_seqno = s;
			} else {
				free(t);
			}
			if (parsed == 0)
				continue; /* the newest copy wins; an older one is no damage */
		} else if (rc == -EIO || rc == -ENOMEM) {
			free(best);
			return imgfmt_fail(err, rc, "LVM2 metadata area %u: %s", i + 1, why);
		}
		size_t used = strlen(reasons);
		snprintf(reasons + used, sizeof(reasons) - used, "%sarea %u: %.200s", used ? "; " : "", i + 1, why);
		why[0] = '\0';
	}
	if (!best)
		return imgfmt_fail(err, -ENOENT, "no valid LVM2 metadata (%s)", label->nmda ? reasons : "no metadata area");
	*text = best;
	*len = best_len;
	*seqno = best_seqno;
	return 0;
}

/* ------------------------------------------------------------ writing */

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

int imgfmt_lvm_label_update(unsigned char s[512], const char *uuid, uint64_t dev_size)
{
	uint32_t off = le32(s + 20);
	unsigned char id[32];
	char check[40];
	size_t n = 0;

	if (memcmp(s, "LABELONE", 8) || lvm_crc(LVM_INITIAL_CRC, s + 20, SECTOR - 20) != le32(s + 16) ||
	    off < 32 || off > SECTOR - 40)
		return -EINVAL;
	if (uuid) {
		for (const char *p = uuid; *p; p++) {
			if (*p == '-')
				continue;
			if (n == sizeof(id))
				return -EINVAL;
			id[n++] = (unsigned char)*p;
		}
		if (n != sizeof(id) || format_uuid(id, check) < 0)
			return -EINVAL;
		memcpy(s + off, id, sizeof(id));
	}
	put_le64(s + off + 32, dev_size);
	put_le32(s + 16, lvm_crc(LVM_INITIAL_CRC, s + 20, SECTOR - 20));
	return 0;
}

/* LVM2's placement of the next copy (lib/format_text/format-text.c,
 * _next_rlocn_offset and the overlap checks of _vg_write_raw): after the
 * current text, rounded up to a sector, back to the start of the ring when
 * that is less than a sector from its end; a text may wrap.  At most half
 * the ring minus a sector, so that two copies always fit. */
int imgfmt_lvm_mda_place(const struct imgfmt_lvm_mda *mda, uint64_t new_size, uint64_t *start, char *why)
{
	uint64_t size = mda->size, max, old_start, old_last = 0, old_wrap = 0, new_start, new_last, new_wrap;
	bool has_old = mda->text_offset && !mda->ignored, overlap;

	max = size >= 4 * SECTOR ? (size - SECTOR) / 2 - SECTOR : 0;
	if (!new_size || new_size > max)
		return imgfmt_fail(why, -ENOSPC, "%llu bytes of metadata text, more than the %llu this area holds",
				   (unsigned long long)new_size, (unsigned long long)max);
	old_start = mda->text_offset;
	if (has_old) {
		if (old_start + mda->text_size > size) {
			old_wrap = old_start + mda->text_size - size;
			old_last = old_wrap + SECTOR - 1;
		} else {
			old_last = old_start + mda->text_size - 1;
		}
	}
	if (!has_old || size - old_last < SECTOR) {
		new_start = SECTOR;
	} else {
		new_start = (old_last + 1 + SECTOR - 1) / SECTOR * SECTOR;
		if (new_start > size - SECTOR)
			new_start = SECTOR;
	}
	if (new_start + new_size > size) {
		new_wrap = new_start + new_size - size;
		new_last = new_wrap + SECTOR - 1;
	} else {
		new_wrap = 0;
		new_last = new_start + new_size - 1;
	}
	if (!has_old)
		overlap = false;
	else if (new_wrap && old_wrap)
		overlap = true;
	else if (!new_wrap && !old_wrap)
		overlap = !((new_start > old_last && new_last > new_start) || (new_start < old_start && new_last < old_start));
	else if (old_wrap)
		overlap = !(old_last < new_start && new_start < new_last && new_last < old_start);
	else
		overlap = !(new_last < old_start && old_start < old_last && old_last < new_start);
	if (overlap)
		return imgfmt_fail(why, -ENOSPC, "%llu bytes of metadata text do not fit beside the current %llu",
				   (unsigned long long)new_size, (unsigned long long)mda->text_size);
	*start = new_start;
	return 0;
}

void imgfmt_lvm_mda_commit(unsigned char h[512], uint64_t offset, uint64_t size, uint32_t crc)
{
	unsigned char *rl = h + 40;

	put_le64(rl, offset);
	put_le64(rl + 8, size);
	put_le32(rl + 16, crc);
	memset(rl + 24, 0, 24); /* slot 1, the precommitted copy: none */
	put_le32(h, lvm_crc(LVM_INITIAL_CRC, h + 4, SECTOR - 4));
}
