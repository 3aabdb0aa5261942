/* convert.c --- the conversion of one guest disk: find the Linux root, fix
 * device references and network pinning, check every initramfs, rebuild
 * the ones that lack drivers, and report
 */
#include "convert.h"
#include "convert_inject.h"
#include "devref.h"
#include "guest.h"
#include "guestvol.h"
#include "initrd.h"
#include "netcfg.h"
#include "rebuild.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KERNELS 16

void convert_report_free(struct convert_report *r)
{
	report_list_free(&r->changes);
	report_list_free(&r->checks);
	report_list_free(&r->not_done);
	r->linux_found = false;
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
			report_add(&r->not_done, 0, "%s%s%s: kernel version with unexpected characters: not checked",
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
			report_add(&r->checks, 0, "kernel %s has no initramfs in %s: it must find its root "
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
			report_add(&r->checks, 0, "network interface %s was named by its MAC address: on the "
				   "new hardware it gets the kernel's name; check its configuration", name);
	}
	free(data);
}

struct root_info {
	size_t root, boot; /* volume indexes (boot: SIZE_MAX when on /) */
	struct kernel kernels[MAX_KERNELS];
	size_t nkernels;
};

/* Filesystems whose files a conversion edits: ext2/3/4 through libimgfmt,
 * XFS through a kernel mount (read through libimgfmt). */
static bool editable(const char *fstype)
{
	return !strncmp(fstype, "ext", 3) || !strcmp(fstype, "xfs");
}

/* The root's /etc/fstab, read only: which device names are this disk's,
 * and which volume is /boot. */
static int learn_fstab(imgfmt_disk *d, struct devmap *m, struct root_info *ri, struct convert_report *r, char *err,
		       size_t errlen)
{
	struct guest gu = { 0 };
	char *fstab = NULL;
	size_t len = 0;
	int rc;

	gu.fs = imgfmt_fs_new();
	rc = gu.fs ? imgfmt_fs_open(gu.fs, d, ri->root, 0) : -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", m->vols[ri->root].name, gu.fs ? imgfmt_fs_error(gu.fs) : strerror(-rc));
		imgfmt_fs_free(gu.fs);
		return rc;
	}
	if (guest_read(&gu, "/etc/fstab", &fstab, &len) == 0) {
		devref_learn(m, fstab, len, ri->root, &r->checks);
		ri->boot = boot_volume(m, fstab, len);
		if (ri->boot == ri->root)
			ri->boot = SIZE_MAX;
	} else if (gu.err[0]) {
		snprintf(err, errlen, "%s: %s", m->vols[ri->root].name, gu.err);
		rc = -EIO;
	}
	imgfmt_fs_free(gu.fs);
	free(fstab);
	return rc;
}

/* XFS files are edited through a kernel mount: root only, refused before
 * the first write. */
static int check_privileges(const struct devmap *m, const struct root_info *ri, bool dry, char *err, size_t errlen)
{
	const size_t edited[2] = { ri->root, ri->boot };

	if (geteuid() == 0)
		return 0;
	for (int i = 0; i < 2; i++)
		if (edited[i] != SIZE_MAX && guest_volume_needs_mount(&m->vols[edited[i]], dry)) {
			snprintf(err, errlen, "%s: the guest's XFS files are edited through a kernel mount, which needs "
				 "root (run as root)", m->vols[edited[i]].name);
			return -EPERM;
		}
	return 0;
}

static int edit_root(imgfmt_disk *d, const char *path, struct devmap *m, const struct convert_opts *o,
		     struct root_info *ri, struct convert_report *r, char *err, size_t errlen)
{
	struct guest_volume gv;
	struct guest *gu = &gv.gu;
	int rc;

	if ((rc = guest_volume_open(&gv, d, path, ri->root, o->dry_run, &r->changes, err, errlen)) < 0)
		return rc;
	pinned_names(gu, r);
	rc = devref_rewrite(gu, m, true);
	if (rc == 0)
		rc = netcfg_unpin_macs(gu, 0);
	if (rc == 0 && S_ISREG(guest_mode(gu, "/etc/udev/rules.d/70-persistent-net.rules")))
		rc = guest_remove(gu, 0, "/etc/udev/rules.d/70-persistent-net.rules", false);
	if (ri->boot == SIZE_MAX)
		ri->nkernels = find_kernels(gu, "/boot", ri->kernels, r);
	return guest_volume_close(&gv, rc, m->vols[ri->root].name, err, errlen);
}

static int edit_boot(imgfmt_disk *d, const char *path, struct devmap *m, const struct convert_opts *o,
		     struct root_info *ri, struct convert_report *r, char *err, size_t errlen)
{
	const struct imgfmt_volume *v = &m->vols[ri->boot];
	struct guest_volume gv;
	int rc;

	if (!editable(v->fstype)) {
		report_add(&r->not_done, 0, "%s: /boot is %s: its GRUB configuration and initramfs were not "
			   "checked", v->name, v->fstype);
		return 0;
	}
	if ((rc = guest_volume_open(&gv, d, path, ri->boot, o->dry_run, &r->changes, err, errlen)) < 0)
		return rc;
	rc = devref_rewrite(&gv.gu, m, false);
	ri->nkernels = find_kernels(&gv.gu, "/", ri->kernels, r);
	return guest_volume_close(&gv, rc, v->name, err, errlen);
}

/* Check every kernel's initramfs; the names still missing go to MISSING. */
static int check_initrds(imgfmt_disk *d, const struct convert_opts *o, struct root_info *ri, bool report,
			 struct convert_report *r, char *err, size_t errlen)
{
	struct guest root = { 0 }, boot = { 0 };
	int rc;

	if (ri->nkernels == 0)
		return 0; /* (a /boot rawkit cannot read has none listed, and said so) */
	root.fs = imgfmt_fs_new();
	boot.fs = ri->boot != SIZE_MAX ? imgfmt_fs_new() : NULL;
	if (!root.fs || (ri->boot != SIZE_MAX && !boot.fs))
		rc = -ENOMEM, snprintf(err, errlen, "out of memory");
	else if ((rc = imgfmt_fs_open(root.fs, d, ri->root, 0)) < 0)
		snprintf(err, errlen, "%s", imgfmt_fs_error(root.fs));
	else if (boot.fs && (rc = imgfmt_fs_open(boot.fs, d, ri->boot, 0)) < 0)
		snprintf(err, errlen, "%s", imgfmt_fs_error(boot.fs));
	if (rc < 0) {
		imgfmt_fs_free(root.fs);
		imgfmt_fs_free(boot.fs);
		return rc;
	}
	for (size_t k = 0; k < ri->nkernels && rc == 0; k++) {
		struct kernel *kn = &ri->kernels[k];
		char why[512], have[512] = "";
		if (initrd_check(ri->boot != SIZE_MAX ? &boot : &root, kn->initrd, o->drivers, o->ndrivers, kn->found,
				 why, sizeof(why)) < 0) {
			report_add(&r->not_done, 0, "kernel %s: %s", kn->version, why);
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
			report_add(&r->checks, 0, "%s lacks %s", kn->initrd, have);
		else if (report)
			report_add(&r->checks, 0, "%s has the drivers the %s hardware needs", kn->initrd,
				   o->to == CONVERT_TO_VIRTUAL ? "virtual" : "physical");
	}
	imgfmt_fs_free(root.fs);
	imgfmt_fs_free(boot.fs);
	return 0;
}

static bool kernel_missing(const struct kernel *k, size_t ndrivers)
{
	for (size_t i = 0; i < ndrivers; i++)
		if (!k->found[i])
			return true;
	return false;
}

/* The root: an ext or XFS filesystem holding /etc/fstab.  What else it
 * could be is said in the report. */
static size_t find_root(imgfmt_disk *d, struct devmap *m, struct convert_report *r)
{
	bool windows = false;

	for (size_t i = 0; i < m->nvol; i++) {
		struct guest gu = { 0 };
		const char *t = m->vols[i].fstype;
		if (!editable(t) && strcmp(t, "ntfs"))
			continue;
		if (!(gu.fs = imgfmt_fs_new()) || imgfmt_fs_open(gu.fs, d, i, 0) < 0) {
			imgfmt_fs_free(gu.fs);
			continue;
		}
		if (!strcmp(t, "ntfs"))
			windows |= guest_is_dir(&gu, "/Windows/System32");
		else if (S_ISREG(guest_mode(&gu, "/etc/fstab"))) {
			imgfmt_fs_free(gu.fs);
			return i;
		}
		imgfmt_fs_free(gu.fs);
	}
	if (windows)
		report_add(&r->not_done, 0, "Windows guest: not converted (rawkit converts Linux guests; the "
			   "disk was copied as it is)");
	else {
		char others[512] = "";
		for (size_t i = 0; i < m->nvol; i++) {
			size_t used = strlen(others);
			if (m->vols[i].fstype[0] && !editable(m->vols[i].fstype) && strcmp(m->vols[i].fstype, "swap") &&
			    strcmp(m->vols[i].fstype, "vfat") && strcmp(m->vols[i].fstype, "ntfs") &&
			    strcmp(m->vols[i].fstype, "LVM2_member"))
				snprintf(others + used, sizeof(others) - used, "%s%.64s (%.31s)", others[0] ? ", " : "",
					 m->vols[i].name, m->vols[i].fstype);
		}
		report_add(&r->not_done, 0, "no Linux root filesystem rawkit can edit%s%s: not converted",
			   others[0] ? " among " : "", others);
	}
	return SIZE_MAX;
}

/* The volumes of D into *VOLS (malloc'd), for M. */
static int load_volumes(imgfmt_disk *d, struct devmap *m, struct imgfmt_volume **out, char *err, size_t errlen)
{
	struct imgfmt_volume *vols;

	m->nvol = imgfmt_disk_volume_count(d);
	if (!(vols = calloc(m->nvol ? m->nvol : 1, sizeof(*vols)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nvol; i++)
		imgfmt_disk_volume(d, i, &vols[i]);
	m->vols = *out = vols;
	return 0;
}

int convert_check_privileges(imgfmt_disk *disk, const struct convert_opts *o, char *err, size_t errlen)
{
	struct devmap m = { 0 };
	struct root_info ri = { .boot = SIZE_MAX };
	struct convert_report scratch = { 0 };
	struct imgfmt_volume *vols = NULL;
	char ignored[256];
	int rc = 0;

	if (o->dry_run || geteuid() == 0)
		return 0;
	if (load_volumes(disk, &m, &vols, ignored, sizeof(ignored)) == 0 && (ri.root = find_root(disk, &m, &scratch)) != SIZE_MAX) {
		learn_fstab(disk, &m, &ri, &scratch, ignored, sizeof(ignored)); /* its failures come again later */
		rc = check_privileges(&m, &ri, false, err, errlen);
	}
	convert_report_free(&scratch);
	free(vols);
	return rc;
}

/* Kernels still missing drivers after injection go to the appliance. */
static int appliance(const char *path, const struct imgfmt_volume *vols, const struct convert_opts *o,
		     struct root_info *ri, const bool *injected, struct convert_report *r, char *err, size_t errlen)
{
	const char *versions[MAX_KERNELS], *initrds[MAX_KERNELS];
	char paths[MAX_KERNELS][310], tool[32], why[1024], root_dev[300], boot_dev[300];
	size_t nv = 0;

	for (size_t k = 0; k < ri->nkernels; k++)
		if (kernel_missing(&ri->kernels[k], o->ndrivers) && !injected[k]) {
			/* as the appliance sees it: a separate /boot is mounted at /boot */
			snprintf(paths[nv], sizeof(paths[nv]), "%s%s", ri->boot != SIZE_MAX ? "/boot" : "",
				 ri->kernels[k].initrd);
			initrds[nv] = paths[nv];
			versions[nv++] = ri->kernels[k].version;
		}
	if (!nv)
		return 0;
	if (o->dry_run || o->rebuild == CONVERT_REBUILD_NONE) {
		report_add(o->dry_run ? &r->checks : &r->not_done, 0, "%u initramfs image%s lack drivers: %s",
			   (unsigned)nv, nv == 1 ? "" : "s",
			   o->dry_run ? "would be rebuilt with the guest's own tool in a libguestfs appliance"
				      : "not rebuilt (--rebuild=none)");
		return 0;
	}
	rebuild_device(&vols[ri->root], root_dev, sizeof(root_dev));
	if (ri->boot != SIZE_MAX)
		rebuild_device(&vols[ri->boot], boot_dev, sizeof(boot_dev));
	tool[0] = '\0';
	if (rebuild_initramfs(path, root_dev, ri->boot != SIZE_MAX ? boot_dev : NULL, vols[ri->root].lv_name[0] != 0,
			      versions, initrds, nv, o->drivers, o->ndrivers, tool, sizeof(tool), why, sizeof(why)) < 0) {
		report_add(&r->not_done, 0, "initramfs not rebuilt (%s); the guest may not find its disk: %s",
			   tool[0] ? tool : "no tool", why);
		return 0;
	}
	for (size_t k = 0; k < nv; k++)
		report_add(&r->changes, 0, "initramfs of kernel %s rebuilt in the guest with %s", versions[k], tool);
	return 1;
}

/* Inject the drivers into the initramfs images that lack them, rebuild
 * the rest in the appliance, and check them all again. */
static int fix_initrds(const char *path, const struct imgfmt_volume *vols, const struct convert_opts *o,
		       struct root_info *ri, struct convert_report *r, char *err, size_t errlen)
{
	struct inject_kernel ik[MAX_KERNELS];
	bool injected[MAX_KERNELS] = { false };
	size_t n = 0, map[MAX_KERNELS];
	imgfmt_disk *d;
	int rc;

	for (size_t k = 0; k < ri->nkernels; k++)
		if (kernel_missing(&ri->kernels[k], o->ndrivers)) {
			ik[n] = (struct inject_kernel){ .version = ri->kernels[k].version, .initrd = ri->kernels[k].initrd };
			map[n++] = k;
		}
	if (!n)
		return 0;
	if (o->rebuild == CONVERT_REBUILD_INJECT) {
		if ((rc = convert_inject(path, ri->root, ri->boot, ik, n, o, r, err, errlen)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (ik[i].done)
				injected[map[i]] = true;
	}
	if ((rc = appliance(path, vols, o, ri, injected, r, err, errlen)) <= 0)
		return rc; /* (what was injected was read back by the injection itself) */
	/* checked again, as the guest will boot them */
	if (!(d = imgfmt_disk_new()) || imgfmt_disk_open(d, path, 0) < 0) {
		snprintf(err, errlen, "cannot open the disk again: %s", d ? imgfmt_disk_error(d) : "out of memory");
		imgfmt_disk_free(d);
		return -EIO;
	}
	rc = check_initrds(d, o, ri, false, r, err, errlen);
	imgfmt_disk_free(d);
	if (rc < 0)
		return rc;
	for (size_t k = 0; k < ri->nkernels; k++)
		if (kernel_missing(&ri->kernels[k], o->ndrivers))
			report_add(&r->not_done, 0, "kernel %s: its initramfs still lacks drivers after %s",
				   ri->kernels[k].version, injected[k] ? "injection" : "the rebuild (does the kernel have "
				   "them as modules?)");
	return 0;
}

int convert_guest(const char *path, const struct convert_opts *o, struct convert_report *r, char *err,
		  size_t errlen)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct imgfmt_volume *vols = NULL;
	struct devmap m = { 0 };
	struct root_info ri = { .boot = SIZE_MAX };
	struct convert_opts lvm_opts;
	const char *lvm_drivers[CONVERT_MAX_DRIVERS + 1];
	bool mounted;
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
	if ((rc = load_volumes(d, &m, &vols, err, errlen)) < 0)
		goto out;
	if ((ri.root = find_root(d, &m, r)) == SIZE_MAX)
		goto out;
	r->linux_found = true;
	if ((rc = learn_fstab(d, &m, &ri, r, err, errlen)) < 0 ||
	    (rc = check_privileges(&m, &ri, o->dry_run, err, errlen)) < 0)
		goto out;
	mounted = guest_volume_needs_mount(&vols[ri.root], o->dry_run) ||
		  (ri.boot != SIZE_MAX && guest_volume_needs_mount(&vols[ri.boot], o->dry_run));
	if (vols[ri.root].lv_name[0]) {
		/* a root on LVM: the initramfs also needs device-mapper (and the
		 * guest's lvm, which dracut adds with its lvm module) */
		bool have = false;
		for (size_t i = 0; i < o->ndrivers; i++) {
			lvm_drivers[i] = o->drivers[i];
			have |= !strcmp(o->drivers[i], "dm_mod") || !strcmp(o->drivers[i], "dm-mod");
		}
		lvm_opts = *o;
		if (!have)
			lvm_drivers[lvm_opts.ndrivers++] = "dm_mod";
		lvm_opts.drivers = lvm_drivers;
		o = &lvm_opts;
		report_add(&r->checks, 0, "root on LVM (%s): /dev/mapper references stay valid; the initramfs needs "
			   "device-mapper and lvm", vols[ri.root].name);
	}
	if ((rc = edit_root(d, path, &m, o, &ri, r, err, errlen)) < 0)
		goto out;
	if (ri.boot != SIZE_MAX && (rc = edit_boot(d, path, &m, o, &ri, r, err, errlen)) < 0)
		goto out;
	if (!o->dry_run && (rc = imgfmt_disk_sync(d)) < 0) {
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
		goto out;
	}
	if (mounted) {
		/* the kernel wrote through its own mount, now gone: read afresh */
		imgfmt_disk_free(d);
		d = imgfmt_disk_new();
		if (!d || imgfmt_disk_open(d, path, 0) < 0) {
			snprintf(err, errlen, "cannot open the disk again: %s", d ? imgfmt_disk_error(d) : "out of memory");
			rc = -EIO;
			goto out;
		}
	}
	if (!m.found)
		report_add(&r->checks, 0, "/etc/fstab names no partition of this disk by device: nothing to "
			   "convert there");
	if ((rc = check_initrds(d, o, &ri, true, r, err, errlen)) < 0)
		goto out;
	imgfmt_disk_free(d); /* the appliance opens the disk itself */
	d = NULL;
	if ((rc = fix_initrds(path, vols, o, &ri, r, err, errlen)) < 0)
		goto out;
out:
	imgfmt_disk_free(d);
	free(vols);
	return rc;
}
