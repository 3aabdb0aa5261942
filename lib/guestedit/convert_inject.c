/* convert_inject.c --- driver injection for a conversion: open the
 * filesystem holding the initramfs files for writing (the root's for
 * reading modules, when /boot is separate) and inject into each */
#include "convert_inject.h"
#include "guestvol.h"
#include "inject.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int one(struct guest *bootg, struct guest *rootg, bool boot_is_root, struct inject_kernel *k,
		const struct convert_opts *o, struct convert_report *r)
{
	struct inject_request rq = { .boot = bootg, .root = rootg, .boot_is_root = boot_is_root,
				     .initrd = k->initrd, .version = k->version, .drivers = o->drivers,
				     .ndrivers = o->ndrivers, .extras = o->extras, .nextras = o->nextras };
	struct inject_result res;
	char why[512];
	int rc = initrd_inject(&rq, &res, why, sizeof(why));

	if (rc == -ENOTSUP) {
		report_add(&r->checks, 0, "%s: drivers not injected (%s)%s", k->initrd, why,
			   o->dry_run ? ": it would be rebuilt in a libguestfs appliance instead" :
			   ": rebuilding it in a libguestfs appliance instead");
		bootg->err[0] = rootg->err[0] = '\0'; /* refused before any write */
		return 0;
	}
	if (rc < 0) {
		snprintf(bootg->err, sizeof(bootg->err), "%.200s: %.300s", k->initrd, why);
		return rc;
	}
	k->done = true;
	report_add(o->dry_run ? &r->checks : &r->changes, 0, "%s: %s %zu module%s (%s) for kernel %s%s%s%s",
		   k->initrd, o->dry_run ? "would inject" : "injected", res.nmodules, res.nmodules == 1 ? "" : "s",
		   res.nmodules ? res.modules : "already there; the boot list updated", k->version,
		   o->dry_run ? "" : " (", o->dry_run ? "" : res.layout, o->dry_run ? "" : " layout, one archive appended)");
	return 0;
}

int convert_inject(const char *path, size_t root, size_t boot, struct inject_kernel *k, size_t n,
		   const struct convert_opts *o, struct convert_report *r, char *err, size_t errlen)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct guest_volume gv;
	struct guest rootg = { 0 };
	struct imgfmt_volume v;
	size_t where = boot != SIZE_MAX ? boot : root;
	int rc;

	if (!d || (rc = imgfmt_disk_open(d, path, o->dry_run ? 0 : IMGFMT_OPEN_WRITE)) < 0) {
		snprintf(err, errlen, "cannot open the disk again: %s", d ? imgfmt_disk_error(d) : "out of memory");
		imgfmt_disk_free(d);
		return -EIO;
	}
	imgfmt_disk_volume(d, where, &v);
	if ((rc = guest_volume_open(&gv, d, path, where, o->dry_run, &r->changes, err, errlen)) < 0) {
		imgfmt_disk_free(d);
		return rc;
	}
	if (boot != SIZE_MAX) {
		rootg.fs = imgfmt_fs_new();
		if (!rootg.fs || imgfmt_fs_open(rootg.fs, d, root, 0) < 0) {
			for (size_t i = 0; i < n; i++)
				report_add(&r->checks, 0, "%s: drivers not injected (the root filesystem cannot be read: "
					   "%s)", k[i].initrd, rootg.fs ? imgfmt_fs_error(rootg.fs) : "out of memory");
			n = 0;
		}
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = one(&gv.gu, boot != SIZE_MAX ? &rootg : &gv.gu, boot == SIZE_MAX, &k[i], o, r);
	imgfmt_fs_free(rootg.fs);
	rc = guest_volume_close(&gv, rc, v.name, err, errlen);
	if (rc == 0 && !o->dry_run && (rc = imgfmt_disk_sync(d)) < 0)
		snprintf(err, errlen, "%s", imgfmt_disk_error(d));
	imgfmt_disk_free(d);
	return rc;
}
