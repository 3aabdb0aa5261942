/* lvm.h --- LVM2's on-disk format: PV labels, metadata areas, VG metadata text
 *
 * Internal to libimgfmt.  Everything read here is untrusted (a guest's
 * disk): checksums are verified, sizes bounded, and the parser keeps no
 * pointer into the text.  disk.c turns the result into volumes.
 *
 * Format: LVM2's lib/format_text (label_header in one of the first four
 * sectors, pv_header with its data and metadata area lists, mda_header with
 * raw_locn slots in a ring buffer, metadata text in LVM2's config syntax).
 */
#ifndef IMGFMT_LVM_H
#define IMGFMT_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read LEN bytes at OFF bytes from the start of the PV (0 or -errno); the
 * caller bounds it by the PV's volume. */
typedef int (*imgfmt_lvm_read_fn)(void *arg, void *buf, size_t len, uint64_t off);

/* What a PV label says (pv_header). */
struct imgfmt_lvm_label {
	char uuid[40];           /* "xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx", as pvs shows it */
	uint64_t label_offset;   /* byte offset of the label sector (0, 512, 1024 or 1536) */
	uint64_t dev_size;       /* bytes, as recorded in the label */
	uint64_t data_offset;    /* first data area: offset in bytes (pe_start) */
	unsigned nmda;           /* metadata areas (0..2) */
	struct {
		uint64_t offset, size; /* bytes from the start of the PV */
	} mda[2];
};

/* Read the label of a PV of PV_SIZE bytes.  -ENOENT when there is none
 * (not an LVM2 PV), -EINVAL with a message in ERR (IMGFMT_ERRLEN bytes) when
 * it is damaged (bad CRC, areas outside the PV), -EIO from RD. */
int imgfmt_lvm_read_label(imgfmt_lvm_read_fn rd, void *arg, uint64_t pv_size, struct imgfmt_lvm_label *label,
			  char *err);

/* The newest metadata text among LABEL's metadata areas whose mda_header
 * and text checksums hold (the text may wrap around the ring buffer).
 * *TEXT is malloc'd and NUL-terminated, *SEQNO its seqno.  -ENOENT when no
 * area holds valid metadata (message in ERR). */
int imgfmt_lvm_read_text(imgfmt_lvm_read_fn rd, void *arg, uint64_t pv_size, const struct imgfmt_lvm_label *label,
			 char **text, size_t *len, uint64_t *seqno, char *err);

/* ------------------------------------------------------------ writing (lvm_label.c) */

/* A metadata area's header (mda_header): the ring's size and where the
 * committed text (raw_locn slot 0) is. */
struct imgfmt_lvm_mda {
	uint64_t size;                    /* of the area, header sector included */
	uint64_t text_offset, text_size;  /* from the area's start; 0, 0: no text yet */
	uint32_t text_crc;
	bool ignored;                     /* pvchange --metadataignore: LVM2 keeps no text there */
};

/* Parse the header sector H of the area at AOFF (ASIZE bytes, as the label
 * says): 0, or -EINVAL with the reason in WHY. */
int imgfmt_lvm_mda_parse(const unsigned char h[512], uint64_t aoff, uint64_t asize, struct imgfmt_lvm_mda *mda,
			 char *why);
/* Where LVM2 would put the next text of NEW_SIZE bytes (its terminating
 * NUL included) into *START (from the area's start; it wraps when START +
 * NEW_SIZE passes the end).  -ENOSPC (reason in WHY) when it does not fit. */
int imgfmt_lvm_mda_place(const struct imgfmt_lvm_mda *mda, uint64_t new_size, uint64_t *start, char *why);
/* Point slot 0 of header H at a new text, clear slot 1, checksum H. */
void imgfmt_lvm_mda_commit(unsigned char h[512], uint64_t offset, uint64_t size, uint32_t crc);
/* In label sector S (as read at label_offset): the PV uuid UUID (32
 * characters, dashes ignored; NULL: kept) and the device size DEV_SIZE
 * (bytes), then the sector's checksum.  -EINVAL when S is not a valid
 * label or UUID not a PV uuid. */
int imgfmt_lvm_label_update(unsigned char s[512], const char *uuid, uint64_t dev_size);

/* ------------------------------------------------------------ the VG */

/* Where one stripe of a segment begins: PV index into vg->pvs, byte offset
 * from the start of that PV. */
struct imgfmt_lvm_area {
	unsigned pv;
	uint64_t offset;
};

/* A run of an LV: bytes [START, START+LENGTH) of the LV.  STRIPES == 1: the
 * run is contiguous at AREA[0].  STRIPES > 1: striped, byte B of the run is
 * in stripe (B / STRIPE_SIZE) % STRIPES at AREA[k].offset + (B / (STRIPE_SIZE
 * * STRIPES)) * STRIPE_SIZE + B % STRIPE_SIZE.  Segments of the LV are
 * sorted, contiguous from 0 to the LV's size. */
struct imgfmt_lvm_seg {
	uint64_t start, length;
	uint32_t stripes;
	uint64_t stripe_size;            /* bytes; 0 when STRIPES == 1 */
	struct imgfmt_lvm_area *area;    /* [stripes] */
};

struct imgfmt_lvm_lv {
	char name[128];
	char uuid[40];
	char layout[16];   /* "linear", "striped", "raid1", "mirror", "thin", "cache", "snapshot", ... */
	uint64_t size;     /* bytes */
	char refused[160]; /* "" when readable; else why not ("thin volume: not supported", ...) and NSEGS == 0 */
	size_t nsegs;
	struct imgfmt_lvm_seg *segs; /* mirrors/raid1: resolved to one leg (the first image) */
};

struct imgfmt_lvm_pvinfo {
	char uuid[40];
	uint64_t pe_start;  /* bytes */
	uint64_t pe_count;  /* extents */
	uint64_t dev_size;  /* bytes (0 when not recorded) */
};

/* A run of extents some LV holds (visible or hidden: raid/mirror images and
 * metadata, pool data, snapshot stores...): bytes from the start of PV. */
struct imgfmt_lvm_alloc {
	unsigned pv;
	uint64_t offset, length;
};

struct imgfmt_lvm_vg {
	char name[128];
	char uuid[40];
	uint64_t seqno;
	uint64_t extent_size;  /* bytes */
	size_t npvs;
	struct imgfmt_lvm_pvinfo *pvs;
	size_t nlvs;
	struct imgfmt_lvm_lv *lvs; /* the visible LVs (status VISIBLE), in metadata order */
	size_t nalloc;
	struct imgfmt_lvm_alloc *alloc; /* every extent run any LV holds */
};

/* Parse metadata TEXT (LEN bytes) and resolve every visible LV onto the
 * PVs.  Refuses (-EINVAL, message in ERR): syntax errors, nesting deeper
 * than 32, more than 65536 segments in the VG, extents outside a PV's
 * pe_count, two LVs on the same extent, LVs referencing missing PVs or LVs.
 * Thin, cache, snapshot and other unsupported LVs are kept with REFUSED set. */
int imgfmt_lvm_parse(const char *text, size_t len, struct imgfmt_lvm_vg **vg, char *err);
void imgfmt_lvm_vg_free(struct imgfmt_lvm_vg *vg);

/* ------------------------------------------------------------ rewriting the text (lvm_rewrite.c) */

/* One PV's changes: the PV whose id is UUID gets NEW_UUID (NULL: kept) and,
 * with SET_SIZE, dev_size DEV_SIZE (sectors) and pe_count PE_COUNT. */
struct imgfmt_lvm_pv_edit {
	const char *uuid, *new_uuid;
	bool set_size;
	uint64_t dev_size, pe_count;
};

/* What changes in a VG's text: its name (NULL: kept), its id (NULL: kept),
 * its seqno (always), and its PVs'. */
struct imgfmt_lvm_edit {
	const char *new_name, *new_uuid;
	uint64_t seqno;
	size_t npvs;
	const struct imgfmt_lvm_pv_edit *pvs;
};

/* TEXT (LEN bytes, as imgfmt_lvm_read_text gives it) with EDIT made: the
 * tokens the parser found are replaced where they are and everything else
 * is kept byte for byte.  *OUT is malloc'd and NUL-terminated, *OUT_LEN
 * its length without the NUL.  -EINVAL (message in ERR) when the text is
 * not one VG's metadata, a PV of EDIT is not in it, or a value to replace
 * is missing, repeated or of the wrong kind. */
int imgfmt_lvm_rewrite(const char *text, size_t len, const struct imgfmt_lvm_edit *edit, char **out,
		       size_t *out_len, char *err);

/* The device-mapper name of LV in VG ("rhel-root"; a '-' inside either name
 * is doubled: "my--vg-lv--1") into OUT; -ENAMETOOLONG when it does not fit. */
int imgfmt_lvm_dm_name(const char *vg, const char *lv, char *out, size_t size);

#endif /* IMGFMT_LVM_H */
