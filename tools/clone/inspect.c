/* inspect.c --- look at the golden disk once: which volumes rawkit can edit,
 * where the Linux root is, what it holds
 */
#include "clone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Types whose identity is kept on purpose, and holds no Linux config. */
static bool kept_type(const char *fstype)
{
	return !strcmp(fstype, "vfat") || !strcmp(fstype, "iso9660") || !strcmp(fstype, "udf");
}

static void read_hostname(struct golden *g, struct guest *gu)
{
	char *data;
	size_t len, n = 0;

	if (guest_read(gu, "/etc/hostname", &data, &len) < 0)
		return;
	while (n < len && n < sizeof(g->old_hostname) - 1 && data[n] != '\n' && data[n] != ' ' && data[n] != '\t' &&
	       data[n] != '\r')
		n++;
	memcpy(g->old_hostname, data, n);
	g->old_hostname[n] = '\0';
	free(data);
}

/* ssh_host_TYPE_key files in /etc/ssh. */
static void read_key_types(struct golden *g, struct guest *gu)
{
	char **names = guest_list(gu, "/etc/ssh");

	g->sshd = guest_exists(gu, "/etc/ssh/sshd_config");
	for (char **p = names; p && *p; p++) {
		size_t len = strlen(*p);
		char path[300];
		if (strncmp(*p, "ssh_host_", 9) || len < 9 + 4 + 1 || strcmp(*p + len - 4, "_key") ||
		    len - 13 >= sizeof(g->key_types[0]) || g->nkeys == sizeof(g->key_types) / sizeof(g->key_types[0]))
			continue;
		snprintf(path, sizeof(path), "/etc/ssh/%s", *p);
		char *data;
		size_t dlen;
		if (guest_read(gu, path, &data, &dlen) < 0)
			continue; /* not a regular file */
		free(data);
		memcpy(g->key_types[g->nkeys], *p + 9, len - 13);
		g->key_types[g->nkeys][len - 13] = '\0';
		g->nkeys++;
	}
	guest_names_free(names);
}

/* An ext2/3/4 or XFS volume: a Linux root, a /boot, or data. */
static int look_linux_fs(struct golden *g, size_t i, struct vol_info *vi, enum vol_kind kind)
{
	const struct imgfmt_volume *v = &g->vols[i];
	struct report scratch = { 0 };
	imgfmt_fs *fs = imgfmt_fs_new();
	int rc = fs ? imgfmt_fs_open(fs, g->disk, i, 0) : -ENOMEM;

	if (rc < 0) {
		vi->kind = VOL_FOREIGN;
		snprintf(vi->why, sizeof(vi->why), "%s", fs ? imgfmt_fs_error(fs) : strerror(-rc));
		imgfmt_fs_free(fs);
		return 0;
	}
	if (kind == VOL_EXT && imgfmt_fs_dirty(fs)) {
		cli_error(imgfmt_disk_path(g->disk), "%s: %s has errors or needs journal recovery: run e2fsck on the "
			  "golden disk first", v->name, v->fstype);
		imgfmt_fs_free(fs);
		return -1;
	}
	struct guest gu = guest_for(fs, true, &scratch);
	vi->kind = kind;
	vi->linux_root = guest_exists(&gu, "/etc/fstab") || guest_exists(&gu, "/etc/os-release");
	vi->boot = !vi->linux_root && (guest_is_dir(&gu, "/grub") || guest_is_dir(&gu, "/grub2") ||
				       guest_is_dir(&gu, "/loader"));
	if (vi->linux_root && g->roots++ == 0) {
		read_hostname(g, &gu);
		read_key_types(g, &gu);
	}
	imgfmt_fs_free(fs);
	report_free(&scratch);
	return 0;
}

static int look_ntfs(struct golden *g, size_t i, struct vol_info *vi)
{
	imgfmt_fs *fs = imgfmt_fs_new();

	vi->kind = VOL_NTFS;
	if (!fs || imgfmt_fs_open(fs, g->disk, i, 0) < 0) {
		imgfmt_fs_free(fs);
		return 0; /* the serial is a boot sector field all the same */
	}
	if (imgfmt_fs_dirty(fs)) {
		cli_error(imgfmt_disk_path(g->disk), "%s: NTFS is marked dirty (not shut down cleanly): run chkdsk in "
			  "the guest or ntfsfix first", g->vols[i].name);
		imgfmt_fs_free(fs);
		return -1;
	}
	char path[256];
	struct imgfmt_stat st;
	/* (as Windows matches names: C:\WINDOWS\system32 on older systems) */
	vi->windows = windows_find(fs, "/Windows/System32", path, sizeof(path), &st) == 0 && S_ISDIR(st.mode);
	g->windows |= vi->windows;
	imgfmt_fs_free(fs);
	return 0;
}

int golden_open(struct golden *g, const char *path, bool write)
{
	int rc;

	memset(g, 0, sizeof(*g));
	if (!(g->disk = imgfmt_disk_new())) {
		cli_error(path, "out of memory");
		return -1;
	}
	if (imgfmt_disk_open(g->disk, path, write ? IMGFMT_OPEN_WRITE : 0) < 0) {
		cli_error(path, "cannot open disk: %s", imgfmt_disk_error(g->disk));
		return -1;
	}
	g->nvol = imgfmt_disk_volume_count(g->disk);
	g->vols = calloc(g->nvol, sizeof(*g->vols));
	g->info = calloc(g->nvol, sizeof(*g->info));
	if (!g->vols || !g->info) {
		cli_error(path, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < g->nvol; i++) {
		struct imgfmt_volume *v = &g->vols[i];
		struct vol_info *vi = &g->info[i];
		imgfmt_disk_volume(g->disk, i, v);
		rc = 0;
		if (v->unreadable) {
			vi->kind = VOL_FOREIGN; /* an LV rawkit cannot read (thin, cache...) */
			snprintf(vi->why, sizeof(vi->why), "%s", v->probe_note);
		} else if (v->container || !v->fstype[0]) {
			vi->kind = VOL_NONE;
		} else if (!strcmp(v->fstype, "ext2") || !strcmp(v->fstype, "ext3") || !strcmp(v->fstype, "ext4")) {
			rc = look_linux_fs(g, i, vi, VOL_EXT);
		} else if (!strcmp(v->fstype, "xfs")) {
			rc = look_linux_fs(g, i, vi, VOL_XFS);
		} else if (!strcmp(v->fstype, "LVM2_member") && v->lv_vg[0]) {
			vi->kind = VOL_NONE; /* a PV whose LVs are volumes of their own */
		} else if (!strcmp(v->fstype, "ntfs")) {
			rc = look_ntfs(g, i, vi);
		} else if (!strcmp(v->fstype, "swap")) {
			vi->kind = VOL_SWAP;
		} else if (kept_type(v->fstype)) {
			vi->kind = VOL_KEPT;
		} else {
			vi->kind = VOL_FOREIGN;
			snprintf(vi->why, sizeof(vi->why), "rawkit cannot edit %s", v->fstype);
		}
		if (rc < 0)
			return -1;
		g->foreign |= vi->kind == VOL_FOREIGN;
	}
	return 0;
}

void golden_close(struct golden *g)
{
	imgfmt_disk_free(g->disk);
	free(g->vols);
	free(g->info);
	memset(g, 0, sizeof(*g));
}
