/* lvm-dump.c --- test helper: what lib/imgfmt/lvm_*.c make of a PV or of a metadata text
 *
 * usage: lvm-dump PV_IMAGE [OFFSET SIZE]     the PV at OFFSET (bytes, SIZE long) of the image
 *        lvm-dump --metadata PV_IMAGE [OFFSET SIZE]   the chosen metadata text, as is
 *        lvm-dump --text FILE                a metadata text (vgcfgbackup's format)
 * Prints the label, the metadata's seqno, the VG, its PVs and every visible
 * LV with its runs: "seg START LENGTH STRIPES STRIPE_SIZE PV:OFFSET..." (all
 * in bytes); or one line "lvm-dump: FILE: why" on stderr and exit 1.
 */
#include "lvm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 512 /* IMGFMT_ERRLEN */

struct pv_file {
	int fd;
	uint64_t offset, size;
};

static int pv_read(void *arg, void *buf, size_t len, uint64_t off)
{
	struct pv_file *pv = arg;

	if (off > pv->size || len > pv->size - off)
		return -EINVAL;
	return pread(pv->fd, buf, len, (off_t)(pv->offset + off)) == (ssize_t)len ? 0 : -EIO;
}

static int fail(const char *file, const char *why)
{
	fprintf(stderr, "lvm-dump: %s: %s\n", file, why);
	return 1;
}

static void dump_vg(const struct imgfmt_lvm_vg *vg)
{
	char dm[300];

	printf("vg %s uuid %s seqno %" PRIu64 " extent_size %" PRIu64 "\n", vg->name, vg->uuid, vg->seqno,
	       vg->extent_size);
	for (size_t i = 0; i < vg->npvs; i++)
		printf("pv %zu uuid %s pe_start %" PRIu64 " pe_count %" PRIu64 " dev_size %" PRIu64 "\n", i,
		       vg->pvs[i].uuid, vg->pvs[i].pe_start, vg->pvs[i].pe_count, vg->pvs[i].dev_size);
	for (size_t i = 0; i < vg->nlvs; i++) {
		const struct imgfmt_lvm_lv *lv = &vg->lvs[i];
		if (imgfmt_lvm_dm_name(vg->name, lv->name, dm, sizeof(dm)) < 0)
			snprintf(dm, sizeof(dm), "?");
		printf("lv %s uuid %s dm %s layout %s size %" PRIu64 " segs %zu%s%s\n", lv->name, lv->uuid, dm,
		       lv->layout, lv->size, lv->nsegs, lv->refused[0] ? " refused: " : "", lv->refused);
		for (size_t s = 0; s < lv->nsegs; s++) {
			const struct imgfmt_lvm_seg *g = &lv->segs[s];
			printf("  seg %" PRIu64 " %" PRIu64 " %" PRIu32 " %" PRIu64, g->start, g->length, g->stripes,
			       g->stripe_size);
			for (uint32_t k = 0; k < g->stripes; k++)
				printf(" %u:%" PRIu64, g->area[k].pv, g->area[k].offset);
			printf("\n");
		}
	}
}

static int parse_and_dump(const char *file, const char *text, size_t len)
{
	struct imgfmt_lvm_vg *vg;
	char err[ERRLEN];

	if (imgfmt_lvm_parse(text, len, &vg, err) < 0)
		return fail(file, err);
	dump_vg(vg);
	imgfmt_lvm_vg_free(vg);
	return 0;
}

static int dump_text_file(const char *file)
{
	FILE *f = fopen(file, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return fail(file, strerror(errno));
	do {
		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			char *grown = realloc(buf, cap);
			if (!grown)
				return fclose(f), free(buf), fail(file, "out of memory");
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	int rc = parse_and_dump(file, buf ? buf : "", len);
	free(buf);
	return rc;
}

static int dump_pv(const char *file, int argc, char **argv, int metadata_only)
{
	struct pv_file pv = { 0 };
	struct imgfmt_lvm_label label;
	struct stat st;
	char err[ERRLEN], *text;
	size_t len;
	uint64_t seqno;

	if ((pv.fd = open(file, O_RDONLY)) < 0 || fstat(pv.fd, &st) < 0)
		return fail(file, strerror(errno));
	pv.size = (uint64_t)st.st_size;
	if (argc == 2) {
		pv.offset = strtoull(argv[0], NULL, 0);
		pv.size = strtoull(argv[1], NULL, 0);
	}
	if (imgfmt_lvm_read_label(pv_read, &pv, pv.size, &label, err) < 0)
		return close(pv.fd), fail(file, err);
	if (imgfmt_lvm_read_text(pv_read, &pv, pv.size, &label, &text, &len, &seqno, err) < 0)
		return close(pv.fd), fail(file, err);
	close(pv.fd);
	if (metadata_only) {
		fwrite(text, 1, len, stdout);
		free(text);
		return 0;
	}
	printf("label sector %" PRIu64 " uuid %s dev_size %" PRIu64 " data_offset %" PRIu64 " mdas %u\n",
	       label.label_offset / 512, label.uuid, label.dev_size, label.data_offset, label.nmda);
	for (unsigned i = 0; i < label.nmda; i++)
		printf("mda %u offset %" PRIu64 " size %" PRIu64 "\n", i + 1, label.mda[i].offset, label.mda[i].size);
	printf("seqno %" PRIu64 "\n", seqno);
	int rc = parse_and_dump(file, text, len);
	free(text);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--text"))
		return dump_text_file(argv[2]);
	if ((argc == 3 || argc == 5) && !strcmp(argv[1], "--metadata"))
		return dump_pv(argv[2], argc - 3, argv + 3, 1);
	if (argc == 2 || argc == 4)
		return dump_pv(argv[1], argc - 2, argv + 2, 0);
	fprintf(stderr, "usage: lvm-dump PV_IMAGE [OFFSET SIZE] | --metadata PV_IMAGE [OFFSET SIZE] | --text FILE\n");
	return 2;
}
