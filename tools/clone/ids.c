/* ids.c --- new identities for a clone's volumes and disk, and the rewriting
 * of every text reference to the old ones
 *
 * All ids are replaced by ids of the same length and form, so a rewritten
 * file keeps its size (grubenv is a fixed 1024-byte block).
 */
#include "clone.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static int add(struct id_plan *p, size_t vol, const char *kind, const char *old, const char *new_id,
	       const char *old_ref, const char *new_ref)
{
	struct id_change *grown = realloc(p->v, (p->n + 1) * sizeof(*grown)), *c;

	if (!grown)
		return -1;
	p->v = grown;
	c = memset(&p->v[p->n++], 0, sizeof(*c));
	c->vol = vol;
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	snprintf(c->old, sizeof(c->old), "%s", old);
	snprintf(c->new_id, sizeof(c->new_id), "%s", new_id);
	snprintf(c->old_ref, sizeof(c->old_ref), "%s", old_ref);
	snprintf(c->new_ref, sizeof(c->new_ref), "%s", new_ref);
	return 0;
}

static int random_hex(char *out, size_t digits, bool upper)
{
	unsigned char b[16];

	if (digits > 2 * sizeof(b) || getrandom(b, (digits + 1) / 2, 0) != (ssize_t)((digits + 1) / 2))
		return -1;
	for (size_t i = 0; i < digits; i++)
		out[i] = (upper ? "0123456789ABCDEF" : "0123456789abcdef")[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[digits] = '\0';
	return 0;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_hex(const char *s, size_t digits)
{
	if (strlen(s) != digits)
		return false;
	for (size_t i = 0; i < digits; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int plan_fs(const struct golden *g, struct id_plan *p, struct report *r)
{
	for (size_t i = 0; i < g->nvol; i++) {
		const struct imgfmt_volume *v = &g->vols[i];
		char id[40];
		int rc = 0;

		switch (g->info[i].kind) {
		case VOL_EXT:
		case VOL_XFS:
		case VOL_SWAP:
			if (!is_uuid(v->fs_uuid)) {
				report_note(r, "%s: %s has no UUID to replace", v->name, v->fstype);
				continue;
			}
			rc = imgfmt_uuid_random(id) < 0 ? -1 : add(p, i, "fs", v->fs_uuid, id, v->fs_uuid, id);
			break;
		case VOL_NTFS:
			if (!is_hex(v->fs_uuid, 16)) {
				report_note(r, "%s: NTFS serial \"%s\" not understood, kept", v->name, v->fs_uuid);
				continue;
			}
			rc = random_hex(id, 16, true) < 0 ? -1 : add(p, i, "fs", v->fs_uuid, id, v->fs_uuid, id);
			break;
		default:
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int plan_disk(const struct golden *g, struct id_plan *p, struct report *r)
{
	const char *label = imgfmt_disk_label(g->disk), *old = imgfmt_disk_id(g->disk);
	char id[40];

	if (!strcmp(label, "gpt")) {
		if (imgfmt_uuid_random(id) < 0)
			return -1;
		for (char *c = id; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		if (add(p, SIZE_MAX, "disk", old, id, old, id) < 0)
			return -1;
		for (size_t i = 0; i < g->nvol; i++) {
			const char *pu = g->vols[i].part_uuid;
			if (!g->vols[i].partno || !is_uuid(pu))
				continue;
			if (imgfmt_uuid_random(id) < 0 || add(p, i, "part", pu, id, pu, id) < 0)
				return -1;
		}
	} else if (!strcmp(label, "dos")) {
		char sig[9], newid[16];
		if (!(old[0] == '0' && old[1] == 'x' && is_hex(old + 2, 8))) {
			report_note(r, "disk: MBR signature \"%s\" not understood, kept", old);
			return 0;
		}
		do {
			if (random_hex(sig, 8, false) < 0)
				return -1;
		} while (!strcmp(sig, "00000000"));
		snprintf(newid, sizeof(newid), "0x%s", sig);
		if (add(p, SIZE_MAX, "disk", old, newid, old, newid) < 0)
			return -1;
		/* PARTUUID=<signature>-<partition number, 2 hex digits> */
		for (size_t i = 0; i < g->nvol; i++) {
			char oref[24], nref[24];
			if (!g->vols[i].partno || g->vols[i].partno > 255)
				continue;
			snprintf(oref, sizeof(oref), "%s-%02x", old + 2, g->vols[i].partno);
			snprintf(nref, sizeof(nref), "%s-%02x", sig, g->vols[i].partno);
			if (add(p, i, "part", oref, nref, oref, nref) < 0)
				return -1;
		}
	}
	return 0;
}

int ids_plan(const struct golden *g, const bool ops[OP_COUNT], struct id_plan *out, struct report *r)
{
	*out = (struct id_plan){ 0 };
	if (ops[OP_FS_UUIDS] && plan_fs(g, out, r) < 0)
		goto fail;
	if (ops[OP_DISK_IDS] && plan_disk(g, out, r) < 0)
		goto fail;
	for (size_t i = 0; i < out->n; i++)
		snprintf(out->v[i].volume, sizeof(out->v[i].volume), "%s",
			 out->v[i].vol < g->nvol ? g->vols[out->v[i].vol].name : "disk");
	return 0;
fail:
	ids_free(out);
	return -1;
}

bool ids_any(const struct id_plan *p)
{
	return p->n > 0 || p->vg_new[0];
}

void ids_free(struct id_plan *p)
{
	free(p->v);
	*p = (struct id_plan){ 0 };
}

static bool id_char(char c)
{
	return isxdigit((unsigned char)c) || c == '-';
}

/* Same letters' case as the text had (blkid prints NTFS serials and
 * GRUB may print GUIDs in upper case). */
static void put_like(char *dst, const char *src, size_t len)
{
	bool upper = false;

	for (size_t i = 0; i < len; i++)
		if (isalpha((unsigned char)dst[i]))
			upper = isupper((unsigned char)dst[i]);
	for (size_t i = 0; i < len; i++)
		dst[i] = upper ? (char)toupper((unsigned char)src[i]) : (char)tolower((unsigned char)src[i]);
}

size_t ids_rewrite(const struct id_plan *p, char *text, size_t len)
{
	size_t count = 0;

	for (size_t k = 0; k < p->n; k++) {
		const char *old = p->v[k].old_ref;
		size_t olen = strlen(old);
		if (!olen || strlen(p->v[k].new_ref) != olen || !strcmp(p->v[k].kind, "disk"))
			continue;
		for (size_t i = 0; i + olen <= len; i++) {
			if (strncasecmp(text + i, old, olen) != 0)
				continue;
			if ((i > 0 && id_char(text[i - 1])) || (i + olen < len && id_char(text[i + olen])))
				continue;
			put_like(text + i, p->v[k].new_ref, olen);
			count++;
			i += olen - 1;
		}
	}
	return count;
}
