/* rebuild.c --- rebuild a guest's initramfs with the guest's own tool, in a
 * libguestfs appliance (never with this host's programs on guest files)
 *
 * Debian/Ubuntu: the drivers are added to /etc/initramfs-tools/modules and
 * update-initramfs -u -k VERSION runs; Fedora/RHEL/SUSE: dracut -f
 * --add-drivers (and --add lvm when the root is on LVM).  The appliance sees
 * the disk as /dev/sda, so partition N is /dev/sdaN, and activates the
 * disk's volume groups: an LV is /dev/VG/LV.
 */
#include "rebuild.h"

#include <guestfs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "libguestfs: WHAT: why" on one line (the appliance's output has many). */
static int fail(guestfs_h *g, char *err, size_t errlen, const char *what)
{
	const char *why = g ? guestfs_last_error(g) : NULL;

	snprintf(err, errlen, "libguestfs: %s: %s", what, why ? why : "failed");
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return -1;
}

/* Is PATH an executable in the guest? */
static bool has_tool(guestfs_h *g, const char *path)
{
	return guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1) == 1;
}

static int run(guestfs_h *g, const char *cmd, char *err, size_t errlen)
{
	char *out = guestfs_sh(g, cmd);

	if (!out)
		return fail(g, err, errlen, cmd);
	free(out);
	return 0;
}

/* Debian: MODULES in /etc/initramfs-tools/modules, then update-initramfs. */
static int debian(guestfs_h *g, const char *const *versions, size_t nv, const char *const *drivers, size_t nd,
		  char *err, size_t errlen)
{
	const char *modfile = "/etc/initramfs-tools/modules";
	char line[256], cmd[512];

	for (size_t i = 0; i < nd; i++) {
		char *grep;
		snprintf(cmd, sizeof(cmd), "grep -qx '%s' %s && echo yes || echo no", drivers[i], modfile);
		grep = guestfs_exists(g, modfile) == 1 ? guestfs_sh(g, cmd) : NULL;
		if (grep && !strncmp(grep, "yes", 3)) {
			free(grep);
			continue;
		}
		free(grep);
		snprintf(line, sizeof(line), "%s\n", drivers[i]);
		if (guestfs_write_append(g, modfile, line, strlen(line)) < 0)
			return fail(g, err, errlen, "cannot add the drivers to /etc/initramfs-tools/modules");
	}
	for (size_t i = 0; i < nv; i++) {
		snprintf(cmd, sizeof(cmd), "update-initramfs -u -k '%s'", versions[i]);
		if (run(g, cmd, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int dracut(guestfs_h *g, const char *const *versions, const char *const *initrds, size_t nv,
		  const char *const *drivers, size_t nd, bool lvm, char *err, size_t errlen)
{
	char list[512] = "", cmd[1024];

	for (size_t i = 0; i < nd; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "", drivers[i]);
	for (size_t i = 0; i < nv; i++) {
		snprintf(cmd, sizeof(cmd), "dracut -f %s--add-drivers '%s' '%s' '%s'", lvm ? "--add lvm " : "", list,
			 initrds[i], versions[i]);
		if (run(g, cmd, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Versions and driver names are checked by the caller: no quote can reach
 * a shell command line. */
void rebuild_device(const struct imgfmt_volume *v, char *out, size_t size)
{
	if (v->lv_name[0])
		snprintf(out, size, "/dev/%s/%s", v->lv_vg, v->lv_name);
	else if (v->partno)
		snprintf(out, size, "/dev/sda%u", v->partno);
	else
		snprintf(out, size, "/dev/sda"); /* no partition table */
}

int rebuild_initramfs(const char *path, const char *root_dev, const char *boot_dev, bool root_lvm,
		      const char *const *versions, const char *const *initrds, size_t nversions,
		      const char *const *drivers, size_t ndrivers, char *tool, size_t toolsize, char *err,
		      size_t errlen)
{
	/* errors come back through fail(), one line: libguestfs prints none,
	 * not even for a bad LIBGUESTFS_* variable */
	guestfs_h *g = guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
	int rc = -1;

	tool[0] = '\0';
	if (!g)
		return fail(NULL, err, errlen, "cannot create a handle");
	guestfs_set_error_handler(g, NULL, NULL);
	if (guestfs_parse_environment(g) < 0) {
		fail(g, err, errlen, "its environment (LIBGUESTFS_*)");
		goto out;
	}
	if (guestfs_add_drive_opts(g, path, GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw", -1) < 0 ||
	    guestfs_launch(g) < 0) {
		fail(g, err, errlen, "cannot start the appliance");
		goto out;
	}
	if (guestfs_mount(g, root_dev, "/") < 0) {
		fail(g, err, errlen, "cannot mount the root filesystem");
		goto out;
	}
	if (boot_dev) {
		if (guestfs_mount(g, boot_dev, "/boot") < 0) {
			fail(g, err, errlen, "cannot mount /boot");
			goto out;
		}
	}
	if (has_tool(g, "/usr/sbin/update-initramfs") || has_tool(g, "/sbin/update-initramfs")) {
		snprintf(tool, toolsize, "update-initramfs");
		rc = debian(g, versions, nversions, drivers, ndrivers, err, errlen);
	} else if (has_tool(g, "/usr/bin/dracut") || has_tool(g, "/usr/sbin/dracut") || has_tool(g, "/sbin/dracut")) {
		snprintf(tool, toolsize, "dracut");
		rc = dracut(g, versions, initrds, nversions, drivers, ndrivers, root_lvm, err, errlen);
	} else {
		snprintf(err, errlen, "the guest has neither update-initramfs nor dracut");
	}
	if (guestfs_umount_all(g) < 0 && rc == 0)
		rc = fail(g, err, errlen, "cannot unmount");
	if (guestfs_shutdown(g) < 0 && rc == 0)
		rc = fail(g, err, errlen, "the appliance did not shut down cleanly");
out:
	guestfs_close(g);
	return rc;
}
