/* devref.c --- block device names of the disk's own partitions become UUID=
 *
 * A guest that names its partitions /dev/sda2, /dev/nvme0n1p2,
 * /dev/cciss/c0d0p2, /dev/disk/by-id/...-part2 (physical) or /dev/vda2,
 * /dev/xvda2 (virtual) stops finding them on other hardware.  Which names
 * are this disk's is learnt from the root's own fstab: the entries of one
 * device base whose partition numbers and filesystem types all match this
 * disk's partitions (and whose "/" is the filesystem that holds the fstab).
 * Names of other disks, LVM and md devices, labels and UUIDs stay.
 */
#include "devref.h"
#include "textedit.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct devname {
	char base[128];
	unsigned part;
};

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* BASE + PART from NAME, when NAME ends in "<sep><digits>". */
static bool split_part(const char *name, size_t len, const char *sep, struct devname *d)
{
	size_t seplen = strlen(sep), i = len;

	while (i > 0 && isdigit((unsigned char)name[i - 1]))
		i--;
	if (i == len || i < seplen + 1 || strncmp(name + i - seplen, sep, seplen) != 0 || len - i > 3)
		return false;
	if (i - seplen >= sizeof(d->base))
		return false;
	memcpy(d->base, name, i - seplen);
	d->base[i - seplen] = '\0';
	d->part = (unsigned)atoi(name + i);
	return d->part > 0;
}

/* /dev/NAME of a partition, by kernel name or by-id/by-path link. */
static bool parse_dev(const char *spec, size_t len, struct devname *d)
{
	const char *name;
	size_t n, letters = 0;

	if (len < 6 || strncmp(spec, "/dev/", 5) != 0)
		return false;
	name = spec + 5, n = len - 5;
	if ((n > 11 && !strncmp(name, "disk/by-id/", 11)) || (n > 13 && !strncmp(name, "disk/by-path/", 13)))
		return split_part(name, n, "-part", d);
	if (n > 6 && !strncmp(name, "cciss/", 6))
		return split_part(name, n, "p", d);
	if (memchr(name, '/', n))
		return false;
	if ((n > 4 && !strncmp(name, "nvme", 4)) || (n > 6 && !strncmp(name, "mmcblk", 6)))
		return split_part(name, n, "p", d);
	/* sdX, hdX, vdX, xvdX: letters, then the partition number */
	for (const char *pfx[] = { "xvd", "sd", "hd", "vd" }, **p = pfx; p < pfx + 4; p++) {
		size_t pl = strlen(*p);
		if (n <= pl || strncmp(name, *p, pl) != 0)
			continue;
		letters = pl;
		while (letters < n && islower((unsigned char)name[letters]))
			letters++;
		if (letters == pl || !all_digits(name + letters, n - letters) || n - letters > 3 ||
		    letters >= sizeof(d->base))
			return false;
		memcpy(d->base, name, letters);
		d->base[letters] = '\0';
		d->part = (unsigned)atoi(name + letters);
		return d->part > 0;
	}
	return false;
}

static bool type_fits(const char *fstab_type, const char *fstype)
{
	if (!strcmp(fstab_type, "auto") || !strcmp(fstab_type, fstype))
		return true;
	if (!strncmp(fstab_type, "ext", 3) && !strncmp(fstype, "ext", 3))
		return true;
	if ((!strcmp(fstab_type, "vfat") || !strcmp(fstab_type, "msdos")) && !strcmp(fstype, "vfat"))
		return true;
	return !strncmp(fstab_type, "ntfs", 4) && !strcmp(fstype, "ntfs");
}

static const struct imgfmt_volume *volume_of(const struct devmap *m, unsigned part, size_t *index)
{
	for (size_t i = 0; i < m->nvol; i++)
		if (m->vols[i].partno == part && !m->vols[i].container) {
			if (index)
				*index = i;
			return &m->vols[i];
		}
	return NULL;
}

/* The whitespace-separated field K of a line: start and length. */
static bool field(const char *line, size_t len, int k, size_t *start, size_t *flen)
{
	size_t i = 0;

	for (int f = 0;; f++) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len || line[i] == '\n' || line[i] == '#')
			return false;
		*start = i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		*flen = i - *start;
		if (f == k)
			return true;
	}
}

/* Does some fstab line name V by UUID=, LABEL= or PARTUUID=? */
static bool named_by_id(const struct devmap *m, const char *fstab, size_t len, const struct imgfmt_volume *v)
{
	(void)m;
	for (size_t i = 0; i < len;) {
		const char *line = fstab + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) : len - i, s, fl;
		i += l + (nl ? 1 : 0);
		if (!field(line, l, 0, &s, &fl))
			continue;
		if ((fl > 5 && !strncmp(line + s, "UUID=", 5) && v->fs_uuid[0] && strlen(v->fs_uuid) == fl - 5 &&
		     !strncasecmp(line + s + 5, v->fs_uuid, fl - 5)) ||
		    (fl > 6 && !strncmp(line + s, "LABEL=", 6) && v->fs_label[0] && strlen(v->fs_label) == fl - 6 &&
		     !strncmp(line + s + 6, v->fs_label, fl - 6)) ||
		    (fl > 9 && !strncmp(line + s, "PARTUUID=", 9) && v->part_uuid[0] && strlen(v->part_uuid) == fl - 9 &&
		     !strncasecmp(line + s + 9, v->part_uuid, fl - 9)))
			return true;
	}
	return false;
}

#define MAX_BASES 8

struct base_seen {
	char base[128];
	bool bad, has_root;
	unsigned entries;
};

void devref_learn(struct devmap *m, const char *fstab, size_t len, size_t root_vol, struct report_list *checks)
{
	struct base_seen seen[MAX_BASES];
	size_t nseen = 0, pick = MAX_BASES;

	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < len;) {
		const char *line = fstab + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) : len - i, s0, l0, s1, l1, s2, l2, k, vi = 0;
		struct devname d;
		i += l + (nl ? 1 : 0);
		if (!field(line, l, 0, &s0, &l0) || !parse_dev(line + s0, l0, &d))
			continue;
		for (k = 0; k < nseen && strcmp(seen[k].base, d.base); k++)
			;
		if (k == nseen) {
			if (nseen == MAX_BASES)
				continue;
			snprintf(seen[nseen++].base, sizeof(seen[0].base), "%s", d.base);
		}
		seen[k].entries++;
		const struct imgfmt_volume *v = volume_of(m, d.part, &vi);
		bool has_mnt = field(line, l, 1, &s1, &l1), has_type = field(line, l, 2, &s2, &l2);
		char type[32] = "auto";
		if (has_type && l2 < sizeof(type))
			memcpy(type, line + s2, l2), type[l2] = '\0';
		if (!v || !type_fits(type, v->fstype))
			seen[k].bad = true;
		if (has_mnt && l1 == 1 && line[s1] == '/') {
			seen[k].has_root = true;
			if (!v || vi != root_vol)
				seen[k].bad = true;
		} else if (v && (vi == root_vol || named_by_id(m, fstab, len, v))) {
			seen[k].bad = true; /* that partition is mounted elsewhere already: another disk's */
		}
	}
	for (size_t k = 0; k < nseen; k++)
		if (!seen[k].bad && seen[k].has_root)
			pick = k;
	if (pick == MAX_BASES) {
		size_t good = 0;
		for (size_t k = 0; k < nseen; k++)
			if (!seen[k].bad)
				good++, pick = k;
		if (good != 1)
			pick = MAX_BASES;
	}
	if (pick < MAX_BASES) {
		snprintf(m->base, sizeof(m->base), "%s", seen[pick].base);
		m->found = true;
	}
	for (size_t k = 0; k < nseen; k++)
		if (k != pick)
			report_add(checks, 0,
				   "/etc/fstab names /dev/%s%s devices that are not this disk's partitions: left as they are",
				   seen[k].base, isdigit((unsigned char)seen[k].base[strlen(seen[k].base) - 1]) ? "p*" : "*");
}

/* UUID= for a device of this disk, or NULL. */
static const char *uuid_for(const struct devmap *m, const char *spec, size_t len)
{
	struct devname d;
	const struct imgfmt_volume *v;

	if (!m->found || !parse_dev(spec, len, &d) || strcmp(d.base, m->base) != 0)
		return NULL;
	v = volume_of(m, d.part, NULL);
	return v && v->fs_uuid[0] ? v->fs_uuid : NULL;
}

struct field_edit {
	const struct devmap *m;
	int field;
};

static char *field_edit(const char *data, size_t len, size_t *outlen, const struct field_edit *fe)
{
	struct text t = { 0 };
	bool changed = false;

	for (size_t i = 0; i < len;) {
		const char *line = data + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) + 1 : len - i, s, fl;
		const char *uuid = field(line, l, fe->field, &s, &fl) ? uuid_for(fe->m, line + s, fl) : NULL;
		if (uuid) {
			text_add(&t, line, s);
			text_add(&t, "UUID=", 5);
			text_add(&t, uuid, strlen(uuid));
			text_add(&t, line + s + fl, l - s - fl);
			changed = true;
		} else {
			text_add(&t, line, l);
		}
		i += l;
	}
	return text_result(&t, changed, outlen);
}

char *devref_fstab_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct field_edit fe = { arg, 0 };

	return field_edit(data, len, outlen, &fe);
}

static char *crypttab_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct field_edit fe = { arg, 1 };

	return field_edit(data, len, outlen, &fe);
}

/* root=DEV, resume=DEV and RESUME=DEV wherever they stand as words. */
char *devref_cmdline_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	static const char *const keys[] = { "root=", "resume=", "RESUME=" };
	const struct devmap *m = arg;
	struct text t = { 0 };
	bool changed = false;

	for (size_t i = 0; i < len;) {
		/* grubenv's kernelopts=root=... (Fedora, RHEL 8) starts one too */
		bool word_start = i == 0 || isspace((unsigned char)data[i - 1]) || data[i - 1] == '"' ||
				  data[i - 1] == '\'' || (i >= 11 && !strncmp(data + i - 11, "kernelopts=", 11));
		size_t k, kl = 0, e;
		const char *uuid = NULL;
		for (k = 0; word_start && k < sizeof(keys) / sizeof(keys[0]); k++) {
			kl = strlen(keys[k]);
			if (len - i > kl && !strncmp(data + i, keys[k], kl))
				break;
		}
		if (word_start && k < sizeof(keys) / sizeof(keys[0])) {
			for (e = i + kl; e < len && !isspace((unsigned char)data[e]) && data[e] != '"' && data[e] != '\''; e++)
				;
			uuid = uuid_for(m, data + i + kl, e - i - kl);
		}
		if (uuid) {
			text_add(&t, data + i, kl);
			text_add(&t, "UUID=", 5);
			text_add(&t, uuid, strlen(uuid));
			i = e;
			changed = true;
		} else {
			text_add(&t, data + i, 1);
			i++;
		}
	}
	return text_result(&t, changed, outlen);
}

/* grubenv is a block of exactly 1024 bytes padded with '#': a longer
 * value takes its room from the padding. */
static char *grubenv_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	size_t n = 0, pad = 0;
	char *out = devref_cmdline_edit(data, len, &n, arg);

	if (!out || n <= len)
		return out;
	while (pad < n && out[n - 1 - pad] == '#')
		pad++;
	if (pad < n - len) {
		free(out);
		return NULL; /* no room: left as it was (and reported) */
	}
	out[len] = '\0';
	*outlen = len;
	return out;
}

int devref_rewrite(struct guest *gu, const struct devmap *m, bool root)
{
	static const char *const root_cmdlines[] = { "/etc/default/grub", "/etc/kernel/cmdline",
						     "/etc/initramfs-tools/conf.d/resume", "/boot/grub/grub.cfg",
						     "/boot/grub2/grub.cfg", "/boot/grub/grubenv", "/boot/grub2/grubenv" };
	static const char *const boot_cmdlines[] = { "/grub/grub.cfg", "/grub2/grub.cfg", "/grub/grubenv",
						     "/grub2/grubenv" };
	const char *const *files = root ? root_cmdlines : boot_cmdlines;
	size_t n = root ? sizeof(root_cmdlines) / sizeof(root_cmdlines[0]) : sizeof(boot_cmdlines) / sizeof(boot_cmdlines[0]);
	int rc = 0;

	if (!m->found)
		return 0;
	if (root)
		rc = guest_edit_file(gu, 0, "/etc/fstab", devref_fstab_edit, m);
	if (rc == 0 && root)
		rc = guest_edit_file(gu, 0, "/etc/crypttab", crypttab_edit, m);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = guest_edit_file(gu, 0, files[i], strstr(files[i], "grubenv") ? grubenv_edit : devref_cmdline_edit, m);
	if (rc == 0)
		rc = guest_edit_dir(gu, 0, root ? "/boot/loader/entries" : "/loader/entries", name_is_conf,
				    devref_cmdline_edit, m);
	if (rc == 0 && root)
		rc = guest_edit_dir(gu, 0, "/etc/default/grub.d", name_is_cfg, devref_cmdline_edit, m);
	return rc;
}

size_t devref_volume(const struct devmap *m, const char *spec)
{
	struct devname d;
	size_t index;

	if (!m->found || !parse_dev(spec, strlen(spec), &d) || strcmp(d.base, m->base) != 0 ||
	    !volume_of(m, d.part, &index))
		return SIZE_MAX;
	return index;
}
