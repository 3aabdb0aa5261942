/* lvm_rewrite.c --- a VG's metadata text with new ids, name, seqno or PV size, everything else kept
 *
 * The text is untrusted and may name an LV like the VG or hold an id in a
 * comment or a description: nothing is searched for.  The parser
 * (lvm_text.c) reports where each key and value is; the VG section's name,
 * its id and seqno, and in physical_volumes each PV's id, dev_size and
 * pe_count are replaced at those places, and the pieces spliced.
 */
#include "imgfmt_private.h"
#include "lvm.h"
#include "lvm_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PVS 4096u /* PVs edited in one call (LVM2 itself allows no more than this in a VG) */

struct splice {
	uint32_t at, len;   /* bytes of the text replaced (LEN 0: an insertion at AT) */
	char with[136];     /* a quoted id, a number, a VG name (at most 127 bytes) */
};

struct rewrite {
	const struct lvm_tree *t;
	struct splice *sp;
	size_t n, cap;
	char *err;
};

/* The one member KEY of section SEC, of kind KIND: 0 and *OUT, or -EINVAL. */
static int only(struct rewrite *rw, uint32_t sec, const char *key, enum lvm_kind kind, const char *where,
		uint32_t *out)
{
	const struct lvm_tree *t = rw->t;
	unsigned found = 0;

	for (uint32_t n = t->nodes[sec].child; n; n = t->nodes[n].next)
		if (!strcmp(lvm_key(t, n), key)) {
			found++;
			*out = n;
		}
	if (found != 1 || t->nodes[*out].kind != kind)
		return imgfmt_fail(rw->err, -EINVAL, "metadata text: %s: %s %s", where, key,
				   found > 1 ? "given more than once" : found ? "of the wrong kind" : "missing");
	return 0;
}

static int add(struct rewrite *rw, uint32_t at, uint32_t len, const char *with)
{
	struct splice *s;

	if (rw->n == rw->cap || strlen(with) >= sizeof(s->with))
		return imgfmt_fail(rw->err, -EINVAL, "metadata text: too many or too long changes");
	s = &rw->sp[rw->n++];
	s->at = at;
	s->len = len;
	snprintf(s->with, sizeof(s->with), "%s", with);
	return 0;
}

/* Replace the value of the one KEY of SEC. */
static int replace_value(struct rewrite *rw, uint32_t sec, const char *key, enum lvm_kind kind, const char *where,
			 const char *value)
{
	uint32_t n;
	int rc = only(rw, sec, key, kind, where, &n);

	if (rc < 0)
		return rc;
	return add(rw, rw->t->nodes[n].val_at, rw->t->nodes[n].val_len, value);
}

static int edit_pv(struct rewrite *rw, uint32_t pv, const struct imgfmt_lvm_pv_edit *e)
{
	const struct lvm_tree *t = rw->t;
	char v[80];
	uint32_t n;
	int rc;

	if (e->new_uuid) {
		snprintf(v, sizeof(v), "\"%s\"", e->new_uuid);
		if ((rc = replace_value(rw, pv, "id", LVM_STRING, e->uuid, v)) < 0)
			return rc;
	}
	if (!e->set_size)
		return 0;
	snprintf(v, sizeof(v), "%" PRIu64, e->pe_count);
	if ((rc = replace_value(rw, pv, "pe_count", LVM_INT, e->uuid, v)) < 0)
		return rc;
	if (!lvm_find(t, pv, "dev_size")) { /* old metadata without it: add it after pe_count */
		only(rw, pv, "pe_count", LVM_INT, e->uuid, &n);
		snprintf(v, sizeof(v), "\ndev_size = %" PRIu64, e->dev_size);
		return add(rw, t->nodes[n].val_at + t->nodes[n].val_len, 0, v);
	}
	snprintf(v, sizeof(v), "%" PRIu64, e->dev_size);
	return replace_value(rw, pv, "dev_size", LVM_INT, e->uuid, v);
}

static int collect(struct rewrite *rw, const struct imgfmt_lvm_edit *edit)
{
	const struct lvm_tree *t = rw->t;
	uint32_t vg = 0, pvs, n;
	char v[80];
	int rc;

	for (n = t->nodes[0].child; n; n = t->nodes[n].next)
		if (t->nodes[n].kind == LVM_SECTION) {
			if (vg)
				return imgfmt_fail(rw->err, -EINVAL, "metadata text: more than one VG section");
			vg = n;
		}
	if (!vg)
		return imgfmt_fail(rw->err, -EINVAL, "metadata text: no VG section");
	if (edit->new_name && (rc = add(rw, t->nodes[vg].key_at, t->nodes[vg].key_len, edit->new_name)) < 0)
		return rc;
	if (edit->new_uuid) {
		snprintf(v, sizeof(v), "\"%s\"", edit->new_uuid);
		if ((rc = replace_value(rw, vg, "id", LVM_STRING, "VG", v)) < 0)
			return rc;
	}
	snprintf(v, sizeof(v), "%" PRIu64, edit->seqno);
	if ((rc = replace_value(rw, vg, "seqno", LVM_INT, "VG", v)) < 0 ||
	    (rc = only(rw, vg, "physical_volumes", LVM_SECTION, "VG", &pvs)) < 0)
		return rc;
	for (size_t i = 0; i < edit->npvs; i++) {
		const struct imgfmt_lvm_pv_edit *e = &edit->pvs[i];
		uint32_t found = 0;
		for (n = t->nodes[pvs].child; n; n = t->nodes[n].next) {
			const char *id;
			if (t->nodes[n].kind != LVM_SECTION || !(id = lvm_find_str(t, n, "id")) || strcmp(id, e->uuid))
				continue;
			if (found)
				return imgfmt_fail(rw->err, -EINVAL, "metadata text: PV %s listed twice", e->uuid);
			found = n;
		}
		if (!found)
			return imgfmt_fail(rw->err, -EINVAL, "metadata text: no PV %s", e->uuid);
		if ((rc = edit_pv(rw, found, e)) < 0)
			return rc;
	}
	return 0;
}

static int by_at(const void *a, const void *b)
{
	const struct splice *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/* TEXT with the splices of RW (sorted, apart) into *OUT. */
static int splice_text(struct rewrite *rw, const char *text, size_t len, char **out, size_t *out_len)
{
	size_t size = len + 1, at = 0, o = 0;
	char *buf;

	qsort(rw->sp, rw->n, sizeof(*rw->sp), by_at);
	for (size_t i = 0; i < rw->n; i++) {
		if (i && rw->sp[i].at < rw->sp[i - 1].at + rw->sp[i - 1].len)
			return imgfmt_fail(rw->err, -EINVAL, "metadata text: two changes at one place");
		size += strlen(rw->sp[i].with);
	}
	if (!(buf = malloc(size)))
		return imgfmt_fail(rw->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rw->n; i++) {
		const struct splice *s = &rw->sp[i];
		const char *with = s->with;
		memcpy(buf + o, text + at, s->at - at);
		o += s->at - at;
		memcpy(buf + o, with, strlen(with));
		o += strlen(with);
		at = (size_t)s->at + s->len;
	}
	memcpy(buf + o, text + at, len - at);
	o += len - at;
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}

int imgfmt_lvm_rewrite(const char *text, size_t len, const struct imgfmt_lvm_edit *edit, char **out,
		       size_t *out_len, char *err)
{
	struct lvm_tree t;
	struct rewrite rw = { .t = &t, .err = err };
	const char *nul = memchr(text, '\0', len);
	int rc;

	*out = NULL;
	if (nul)
		len = (size_t)(nul - text); /* the parser stops there too */
	if (edit->npvs > MAX_PVS)
		return imgfmt_fail(err, -EINVAL, "more than %u PVs to change", MAX_PVS);
	if ((rc = lvm_text_parse(text, len, &t, err)) < 0)
		return rc;
	rw.cap = 3 * edit->npvs + 3;
	if (!(rw.sp = calloc(rw.cap, sizeof(*rw.sp))))
		rc = imgfmt_fail(err, -ENOMEM, "out of memory");
	if (rc == 0)
		rc = collect(&rw, edit);
	if (rc == 0)
		rc = splice_text(&rw, text, len, out, out_len);
	free(rw.sp);
	lvm_tree_free(&t);
	return rc;
}
