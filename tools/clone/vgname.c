/* vgname.c --- --vg-name: the golden disk's volume group renamed on every
 * target, and every reference to the old name in the guest's files
 *
 * A VG name changes length, so references are rewritten into a new text
 * (grubenv keeps its 1024-byte block).  Only these token forms are
 * rewritten, never a bare word:
 *
 *   /dev/mapper/VG-LV  lvm/VG-LV  (device-mapper and GRUB names: each '-'
 *                                   of VG and LV doubled)
 *   /dev/VG/LV  rd.lvm.lv=VG/LV  rd.lvm.vg=VG
 */
#include "clone.h"
#include "textedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte of an LVM2 VG or LV name. */
static bool lvm_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '_' ||
	       c == '.' || c == '-';
}

/* LVM2's rule for a VG name (lvm2 lib/misc/lvm-string.c, validate_name):
 * 1 to 127 name bytes, not starting with '-', not "." or "..". */
bool vg_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 127 || s[0] == '-' || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!lvm_name_char(s[i]))
			return false;
	return true;
}

int vg_name_format(const char *fmt, size_t index, char *out, size_t size, char *err, size_t errlen)
{
	char name[512];

	if (name_format("--vg-name", fmt, index, name, sizeof(name), err, errlen) < 0)
		return -1;
	if (!vg_name_valid(name) || strlen(name) >= size) {
		snprintf(err, errlen, "--vg-name: \"%.200s\" is not a valid volume group name (1 to 127 of a-z A-Z 0-9 "
			 "+ _ . -, not starting with '-', not . or ..)", name);
		return -1;
	}
	snprintf(out, size, "%s", name);
	return 0;
}

int golden_vg(const struct golden *g, const struct clone_opts *o)
{
	const char *path = imgfmt_disk_path(g->disk);
	const char *vg = NULL;

	if (!o->ops[OP_DISK_IDS]) {
		cli_error(NULL, "--vg-name: the volume group is renamed with the disk-ids operation, which --operations "
			  "leaves out");
		return -1;
	}
	for (size_t i = 0; i < g->nvol; i++) {
		const struct imgfmt_volume *v = &g->vols[i];
		if (g->info[i].kind == VOL_FOREIGN) {
			cli_error(path, "--vg-name: %s: %s: a volume rawkit cannot edit may name the volume group",
				  v->name, g->info[i].why);
			return -1;
		}
		if (strcmp(v->fstype, "LVM2_member"))
			continue;
		if (!v->lv_vg[0]) {
			cli_error(path, "--vg-name: %s: an LVM2 physical volume whose metadata rawkit cannot read", v->name);
			return -1;
		}
		if (vg && strcmp(vg, v->lv_vg)) {
			cli_error(path, "--vg-name: more than one volume group on the disk (%s, %s): which one to rename?",
				  vg, v->lv_vg);
			return -1;
		}
		vg = v->lv_vg;
	}
	if (!vg) {
		cli_error(path, "--vg-name: no LVM2 volume group on the disk");
		return -1;
	}
	return 0;
}

const char *golden_vg_name(const struct golden *g)
{
	for (size_t i = 0; i < g->nvol; i++)
		if (!strcmp(g->vols[i].fstype, "LVM2_member") && g->vols[i].lv_vg[0])
			return g->vols[i].lv_vg;
	return NULL;
}

/* NAME with each '-' doubled, as device-mapper and GRUB spell it. */
static void dm_escape(const char *name, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = name; *p && o + 2 < size; p++) {
		out[o++] = *p;
		if (*p == '-')
			out[o++] = '-';
	}
	out[o] = '\0';
}

/* The reference forms: a prefix, then the VG's name (DM: escaped), then
 * what must follow it: '-' or '/' and an LV name's first byte, or (END) a
 * byte that cannot continue a name. */
static const struct vg_form {
	const char *prefix;
	bool dm;
	char sep;
} vg_forms[] = {
	{ "/dev/mapper/", true, '-' },
	{ "lvm/", true, '-' },
	{ "/dev/", false, '/' },
	{ "rd.lvm.lv=", false, '/' },
	{ "rd.lvm.vg=", false, '\0' },
};

/* The length of the old name when form F at I in DATA names it, else 0. */
static size_t form_match(const struct vg_form *f, const char *data, size_t len, size_t i, const char *name)
{
	size_t plen = strlen(f->prefix), nlen = strlen(name), at = i + plen;

	if (i > 0 && (lvm_name_char(data[i - 1]) || data[i - 1] == '/'))
		return 0;
	if (len - i < plen + nlen || memcmp(data + i, f->prefix, plen) || memcmp(data + at, name, nlen))
		return 0;
	at += nlen;
	if (!f->sep)
		return at == len || !lvm_name_char(data[at]) ? nlen : 0;
	/* SEP, then an LV name, which never starts with '-' (so "VG--X" is
	 * another group whose name goes on with '-') */
	return at + 1 < len && data[at] == f->sep && lvm_name_char(data[at + 1]) && data[at + 1] != '-' ? nlen : 0;
}

char *vg_rewrite(const char *old, const char *new_name, const char *data, size_t len, size_t *outlen)
{
	char old_dm[260], new_dm[260];
	struct text t = { 0 };
	size_t count = 0, done = 0;

	if (!old[0] || !vg_name_valid(old) || !vg_name_valid(new_name))
		return NULL;
	dm_escape(old, old_dm, sizeof(old_dm));
	dm_escape(new_name, new_dm, sizeof(new_dm));
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(vg_forms) / sizeof(vg_forms[0]); k++) {
			const struct vg_form *f = &vg_forms[k];
			size_t plen = strlen(f->prefix), nlen = form_match(f, data, len, i, f->dm ? old_dm : old);
			if (!nlen)
				continue;
			text_add(&t, data + done, i + plen - done);
			text_add(&t, f->dm ? new_dm : new_name, strlen(f->dm ? new_dm : new_name));
			done = i + plen + nlen;
			i = done - 1;
			count++;
			break;
		}
	}
	text_add(&t, data + done, len - done);
	return text_result(&t, count > 0, outlen);
}
