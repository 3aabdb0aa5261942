/* convert.c --- the conversion of one guest disk: find the Linux root, fix
 * device references and network pinning, check every initramfs, rebuild
 * the ones that lack drivers, and report
 */
#include "convert.h"
#include "cli.h"
#include "netcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_KERNELS 16

void convert_say(char ***list, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, **grown;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		cli_sanitize(s); /* guest names go to the terminal */
	if (!s || !(grown = realloc(*list, (*n + 1) * sizeof(*grown)))) {
		free(s);
		return;
	}
	*list = grown;
	(*list)[(*n)++] = s;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void convert_report_free(struct convert_report *r)
{
	free_list(r->changes, r->nchanges);
	free_list(r->checks, r->nchecks);
	free_list(r->not_done, r->nnot);
	memset(r, 0, sizeof(*r));
}

static void changed(void *ctx, int tag, const char *what)
{
	struct convert_report *r = ctx;
	(void)tag;

	convert_say(&r->changes, &r->nchanges, "%s", what);
}

struct kernel {
	char version[128];
	char initrd[300];
	bool found[CONVERT_MAX_DRIVERS];
};

static bool safe_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

/* Kernels in DIR ("/boot" of the root, or "/" of a separate /boot) with
 * their initramfs (Debian initrd.img-V, Fedora initramfs-V.img, SUSE
 * initrd-V). */
static size_t find_kernels(struct guest *gu, const char *dir, struct kernel *k, struct convert_report *r)
{
	char **names = guest_list(gu, dir);
	size_t n = 0;
	const char *slash = strcmp(dir, "/") ? "/" : "";

	for (char **p = names; p && *p && n < MAX_KERNELS; p++) {
		const char *v = *p + 8;
		if (strncmp(*p, "vmlinuz-", 8) != 0 || !*v)
			continue;
		if (!safe_word(v) || strlen(v) >= sizeof(k[n].version)) {
			convert_say(&r->not_done, &r->nnot, "%s%s%s: kernel version with unexpected characters: not checked",
				    dir, slash, *p);
			continue;
		}
		memset(&k[n], 0, sizeof(k[n]));
		snprintf(k[n].version, sizeof(k[n].version), "%s", v);
		for (int f = 0; f < 3 && !k[n].initrd[0]; f++) {
			char path[300];
			if (f == 0)
				snprintf(path, sizeof(path), "%s%sinitrd.img-%s", dir, slash, v);
			else if (f == 1)
				snprintf(path, sizeof(path), "%s%sinitramfs-%s.img", dir, slash, v);
			else
				snprintf(path, sizeof(path), "%s%sinitrd-%s", dir, slash, v);
			if (S_ISREG(guest_mode(gu, path)))
				snprintf(k[n].initrd, sizeof(k[n].initrd), "%s", path);
		}
		if (!k[n].initrd[0]) {
			convert_say(&r->checks, &r->nchecks, "kernel %s has no initramfs in %s: it must find its root "
				    "disk by itself", v, dir);
			continue;
		}
		n++;
	}
	guest_names_free(names);
	return n;
}

/* Which volume an fstab source names (UUID=, LABEL=, PARTUUID= or a device
 * of this disk); SIZE_MAX when none. */
static size_t resolve(const struct devmap *m, const char *spec)
{
	for (size_t i = 0; i < m->nvol; i++) {
		const struct imgfmt_volume *v = &m->vols[i];
		if ((!strncmp(spec, "UUID=", 5) && v->fs_uuid[0] && !strcasecmp(spec + 5, v->fs_uuid)) ||
		    (!strncmp(spec, "LABEL=", 6) && v->fs_label[0] && !strcmp(spec + 6, v->fs_label)) ||
		    (!strncmp(spec, "PARTUUID=", 9) && v->part_uuid[0] && !strcasecmp(spec + 9, v->part_uuid)))
			return i;
	}
	return devref_volume(m, spec);
}

/* The volume mounted at /boot, from the fstab; SIZE_MAX when / holds it. */
static size_t boot_volume(const struct devmap *m, const char *fstab, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *line = fstab + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) : len - i;
		char spec[256], mnt[64];
		i += l + (nl ? 1 : 0);
		if (l >= 300 || sscanf(line, "%255s %63s", spec, mnt) != 2 || spec[0] == '#')
			continue;
		if (!strcmp(mnt, "/boot"))
			return resolve(m, spec);
	}
	return SIZE_MAX;
}

/* Interfaces named after a MAC address: persistent-net rules' NAME=. */
static void pinned_names(struct guest *gu, struct convert_report *r)
{
	char *data;
	size_t len;

	if (guest_read(gu, "/etc/udev/rules.d/70-persistent-net.rules", &data, &len) < 0)
		return;
	for (char *p = data; (p = strstr(p, "NAME=\"")); p += 6) {
		char name[32];
		if (sscanf(p + 6, "%31[^\"]", name) == 1)
			convert_say(&r->checks, &r->nchecks, "network interface %s was named by its MAC address: on the "
				    "new hardware it gets the kernel's name; check its configuration", name);
	}
	free(data);
}

struct root_info {
	size_t root, boot; /* volume indexes (boot: SIZE_MAX when on /) */
	struct kernel kernels[MAX_KERNELS];
	size_t nkernels;
};

static int edit_root(imgfmt_disk *d, struct devmap *m, const struct convert_opts *o, struct root_info *ri,
		     struct convert_report *r, char *err, size_t errlen)
{
	struct guest gu = { .dry = o->dry_run, .changed = changed, .ctx = r };
	char *fstab = NULL;
	size_t len = 0;
	int rc;

	if ((rc = imgfmt_fs_open(d, ri->root, o->dry_run ? 0 : IMGFMT_FS_WRITE, &gu.fs)) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		return rc;
	}
	if (guest_read(&gu, "/etc/fstab", &fstab, &len) == 0) {
		devref_learn(m, fstab, len, ri->root, r);
		ri->boot = boot_volume(m, fstab, len);
		if (ri->boot == ri->root)
			ri->boot = SIZE_MAX;
	}
	pinned_names(&gu, r);
	rc = devref_rewrite(&gu, m, true, r);
	if (rc == 0)
		rc = netcfg_unpin_macs(&gu, 0);
	if (rc == 0 && S_ISREG(guest_mode(&gu, "/etc/udev/rules.d/70-persistent-net.rules")))
		rc = guest_remove(&gu, 0, "/etc/udev/rules.d/70-persistent-net.rules", false);
	if (ri->boot == SIZE_MAX)
		ri->nkernels = find_kernels(&gu, "/boot", ri->kernels, r);
	if (rc == 0 && !o->dry_run)
		rc = imgfmt_fs_commit(gu.fs);
	if (rc < 0 || gu.err[0])
		snprintf(err, errlen, "%s: %s", m->vols[ri->root].name, gu.err[0] ? gu.err : imgfmt_fs_error(gu.fs));
	imgfmt_fs_close(gu.fs);
	free(fstab);
	return rc < 0 ? rc : gu.err[0] ? -EIO : 0;
}

static int edit_boot(imgfmt_disk *d, struct devmap *m, const struct convert_opts *o, struct root_info *ri,
		     struct convert_report *r, char *err, size_t errlen)
{
	struct guest gu = { .dry = o->dry_run, .changed = changed, .ctx = r };
	int rc;

	if (strncmp(m->vols[ri->boot].fstype, "ext", 3) != 0) {
		convert_say(&r->not_done, &r->nnot, "%s: /boot is %s: its GRUB configuration and initramfs were not "
			    "checked", m->vols[ri->boot].name, m->vols[ri->boot].fstype);
		return 0;
	}
	if ((rc = imgfmt_fs_open(d, ri->boot, o->dry_run ? 0 : IMGFMT_FS_WRITE, &gu.fs)) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		return rc;
	}
	rc = devref_rewrite(&gu, m, false, r);
	ri->nkernels = find_kernels(&gu, "/", ri->kernels, r);
	if (rc == 0 && !o->dry_run)
		rc = imgfmt_fs_commit(gu.fs);
	if (rc < 0 || gu.err[0])
		snprintf(err, errlen, "%s: %s", m->vols[ri->boot].name, gu.err[0] ? gu.err : imgfmt_fs_error(gu.fs));
	imgfmt_fs_close(gu.fs);
	return rc < 0 ? rc : gu.err[0] ? -EIO : 0;
}

/* Check every kernel's initramfs; the names still missing go to MISSING. */
static int check_initrds(imgfmt_disk *d, const struct convert_opts *o, struct root_info *ri, bool report,
			 struct convert_report *r, char *err, size_t errlen)
{
	struct guest root = { 0 }, boot = { 0 };
	int rc;

	if (ri->nkernels == 0)
		return 0; /* (a /boot rawkit cannot read has none listed, and said so) */
	rc = imgfmt_fs_open(d, ri->root, 0, &root.fs);

	if (rc == 0 && ri->boot != SIZE_MAX)
		rc = imgfmt_fs_open(d, ri->boot, 0, &boot.fs);
	if (rc < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		imgfmt_fs_close(root.fs);
		return rc;
	}
	for (size_t k = 0; k < ri->nkernels && rc == 0; k++) {
		struct kernel *kn = &ri->kernels[k];
		char why[512], have[512] = "";
		if (initrd_check(ri->boot != SIZE_MAX ? &boot : &root, kn->initrd, o->drivers, o->ndrivers, kn->found,
				 why, sizeof(why)) < 0) {
			convert_say(&r->not_done, &r->nnot, "kernel %s: %s", kn->version, why);
			for (size_t i = 0; i < o->ndrivers; i++)
				kn->found[i] = true; /* nothing more to do for it */
			continue;
		}
		initrd_builtin(&root, kn->version, o->drivers, o->ndrivers, kn->found);
		for (size_t i = 0; i < o->ndrivers; i++)
			if (!kn->found[i])
				snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", have[0] ? ", " : "",
					 o->drivers[i]);
		if (report && have[0])
			convert_say(&r->checks, &r->nchecks, "%s lacks %s", kn->initrd, have);
		else if (report)
			convert_say(&r->checks, &r->nchecks, "%s has the drivers the %s hardware needs", kn->initrd,
				    o->to == CONVERT_TO_VIRTUAL ? "virtual" : "physical");
	}
	imgfmt_fs_close(root.fs);
	imgfmt_fs_close(boot.fs);
	return 0;
}

static bool kernel_missing(const struct kernel *k, size_t ndrivers)
{
	for (size_t i = 0; i < ndrivers; i++)
		if (!k->found[i])
			return true;
	return false;
}

/* The root: an ext filesystem holding /etc/fstab.  What else it could be
 * is said in the report. */
static size_t find_root(imgfmt_disk *d, struct devmap *m, struct convert_report *r)
{
	bool windows = false;

	for (size_t i = 0; i < m->nvol; i++) {
		struct guest gu = { 0 };
		const char *t = m->vols[i].fstype;
		if (strncmp(t, "ext", 3) && strcmp(t, "ntfs"))
			continue;
		if (imgfmt_fs_open(d, i, 0, &gu.fs) < 0)
			continue;
		if (!strcmp(t, "ntfs"))
			windows |= guest_is_dir(&gu, "/Windows/System32");
		else if (S_ISREG(guest_mode(&gu, "/etc/fstab"))) {
			imgfmt_fs_close(gu.fs);
			return i;
		}
		imgfmt_fs_close(gu.fs);
	}
	if (windows)
		convert_say(&r->not_done, &r->nnot, "Windows guest: not converted (rawkit converts Linux guests; the "
			    "disk was copied as it is)");
	else {
		char others[256] = "";
		for (size_t i = 0; i < m->nvol; i++)
			if (m->vols[i].fstype[0] && strncmp(m->vols[i].fstype, "ext", 3) && strcmp(m->vols[i].fstype, "swap") &&
			    strcmp(m->vols[i].fstype, "vfat") && strcmp(m->vols[i].fstype, "ntfs"))
				snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s (%s)",
					 others[0] ? ", " : "", m->vols[i].name, m->vols[i].fstype);
		convert_say(&r->not_done, &r->nnot, "no Linux root filesystem rawkit can edit%s%s: not converted",
			    others[0] ? " among " : "", others);
	}
	return SIZE_MAX;
}

int convert_guest(const char *path, const struct convert_opts *o, struct convert_report *r, char *err,
		  size_t errlen)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct imgfmt_volume *vols = NULL;
	struct devmap m = { 0 };
	struct root_info ri = { .boot = SIZE_MAX };
	int rc = -ENOMEM;

	if (o->ndrivers > CONVERT_MAX_DRIVERS) {
		snprintf(err, errlen, "more than %d drivers to check", CONVERT_MAX_DRIVERS);
		imgfmt_disk_free(d);
		return -E2BIG;
	}
	if (!d || imgfmt_disk_open(d, path, o->dry_run ? 0 : IMGFMT_OPEN_WRITE) < 0) {
		snprintf(err, errlen, "cannot open the disk: %s", d ? imgfmt_disk_error(d) : "out of memory");
		goto out;
	}
	m.nvol = imgfmt_disk_volume_count(d);
	if (!(vols = calloc(m.nvol, sizeof(*vols)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m.nvol; i++)
		imgfmt_disk_volume(d, i, &vols[i]);
	m.vols = vols;
	rc = 0;
	if ((ri.root = find_root(d, &m, r)) == SIZE_MAX)
		goto out;
	r->linux_found = true;
	if ((rc = edit_root(d, &m, o, &ri, r, err, errlen)) < 0)
		goto out;
	if (ri.boot != SIZE_MAX && (rc = edit_boot(d, &m, o, &ri, r, err, errlen)) < 0)
		goto out;
	if (!o->dry_run && (rc = imgfmt_disk_sync(d)) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		goto out;
	}
	if (!m.found)
		convert_say(&r->checks, &r->nchecks, "/etc/fstab names no partition of this disk by device: nothing to "
			    "convert there");
	if ((rc = check_initrds(d, o, &ri, true, r, err, errlen)) < 0)
		goto out;
	imgfmt_disk_free(d); /* the appliance opens the disk itself */
	d = NULL;
	const char *versions[MAX_KERNELS], *initrds[MAX_KERNELS];
	char paths[MAX_KERNELS][310];
	size_t nv = 0;
	for (size_t k = 0; k < ri.nkernels; k++)
		if (kernel_missing(&ri.kernels[k], o->ndrivers)) {
			/* as the appliance sees it: a separate /boot is mounted at /boot */
			snprintf(paths[nv], sizeof(paths[nv]), "%s%s", ri.boot != SIZE_MAX ? "/boot" : "",
				 ri.kernels[k].initrd);
			initrds[nv] = paths[nv];
			versions[nv++] = ri.kernels[k].version;
		}
	if (nv && (o->dry_run || o->no_rebuild)) {
		convert_say(o->dry_run ? &r->checks : &r->not_done, o->dry_run ? &r->nchecks : &r->nnot,
			    "%u initramfs image%s lack drivers: %s", (unsigned)nv, nv == 1 ? "" : "s",
			    o->dry_run ? "would be rebuilt with the guest's own tool in a libguestfs appliance"
				       : "not rebuilt (--no-rebuild)");
	} else if (nv) {
		char tool[32], why[1024];
		if (rebuild_initramfs(path, vols[ri.root].partno, ri.boot != SIZE_MAX ? vols[ri.boot].partno : 0, versions,
				      initrds, nv, o->drivers, o->ndrivers, tool, sizeof(tool), why, sizeof(why)) < 0) {
			convert_say(&r->not_done, &r->nnot, "initramfs not rebuilt (%s); the guest may not find its disk: %s",
				    tool[0] ? tool : "no tool", why);
		} else {
			for (size_t k = 0; k < nv; k++)
				convert_say(&r->changes, &r->nchanges, "initramfs of kernel %s rebuilt in the guest with %s",
					    versions[k], tool);
			/* and checked again */
			d = imgfmt_disk_new();
			if (!d || imgfmt_disk_open(d, path, 0) < 0) {
				snprintf(err, errlen, "cannot open the disk again: %s", d ? imgfmt_disk_error(d) : "out of memory");
				rc = -EIO;
				goto out;
			}
			if ((rc = check_initrds(d, o, &ri, false, r, err, errlen)) < 0)
				goto out;
			for (size_t k = 0; k < ri.nkernels; k++)
				if (kernel_missing(&ri.kernels[k], o->ndrivers))
					convert_say(&r->not_done, &r->nnot, "kernel %s: the rebuilt initramfs still lacks "
						    "drivers (does the kernel have them as modules?)", ri.kernels[k].version);
		}
	}
out:
	imgfmt_disk_free(d);
	free(vols);
	return rc;
}

static void text_list(FILE *out, const char *object, const char *what, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s: %s: %s\n", object, what, v[i]);
}

void convert_report_text(FILE *out, const char *object, const struct convert_report *r)
{
	text_list(out, object, "changed", r->changes, r->nchanges);
	text_list(out, object, "check", r->checks, r->nchecks);
}
