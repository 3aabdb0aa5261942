/* linux.c --- the personalization operations on a Linux root filesystem
 *
 * Each operation edits files in place through lib/guestedit's guest calls
 * (libimgfmt on ext, a kernel mount on XFS; an edited file keeps its
 * inode, owner, mode and SELinux label); files it would touch that do not
 * exist are skipped silently.
 */
#include "clone.h"
#include "hmap.h"
#include "netcfg.h"
#include "textedit.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct imgfmt_newfile root_0644 = { 0644, 0, 0 };
static const struct imgfmt_newfile root_0600 = { 0600, 0, 0 };
static const struct imgfmt_newfile root_0700 = { 0700, 0, 0 };

/* ---- hostname ---- */

static int op_hostname(struct guest *gu, const struct golden *g, const char *name)
{
	struct hostnames h = { g->old_hostname, name };
	char line[300];
	int rc;

	snprintf(line, sizeof(line), "%s\n", name);
	rc = guest_write(gu, OP_HOSTNAME, "/etc/hostname", line, strlen(line), &root_0644);
	if (rc == 0 && guest_mode(gu, "/etc/HOSTNAME"))
		rc = guest_write(gu, OP_HOSTNAME, "/etc/HOSTNAME", line, strlen(line), NULL);
	if (rc == 0)
		rc = guest_edit_file(gu, OP_HOSTNAME, "/etc/hosts", hosts_edit, &h);
	if (rc == 0)
		rc = guest_edit_file(gu, OP_HOSTNAME, "/etc/sysconfig/network", sysconfig_network_edit, &h);
	if (rc == 0)
		rc = guest_edit_file(gu, OP_HOSTNAME, "/etc/mailname", word_edit, &h);
	return rc;
}

/* ---- machine-id ---- */

static int op_machine_id(struct guest *gu)
{
	int rc = 0;

	if (S_ISREG(guest_mode(gu, "/etc/machine-id")))
		rc = guest_write(gu, OP_MACHINE_ID, "/etc/machine-id", "", 0, NULL);
	if (rc == 0 && S_ISREG(guest_mode(gu, "/var/lib/dbus/machine-id")))
		rc = guest_remove(gu, OP_MACHINE_ID, "/var/lib/dbus/machine-id", false);
	return rc;
}

/* ---- ssh host keys ---- */

static int op_ssh_hostkeys(struct guest *gu, const struct golden *g, struct target_plan *t)
{
	char err[256];

	if (!g->nkeys && !g->sshd)
		return 0; /* no SSH server in the guest */
	if (!gu->dry && !t->keys) {
		snprintf(gu->err, sizeof(gu->err), "ssh host keys: none were made");
		return -EIO;
	}
	if (!gu->dry) {
		double start = cli_now();
		int rc = keys_wait(t->keys, err, sizeof(err));
		t->keys_wait_seconds += cli_now() - start;
		if (rc < 0) {
			snprintf(gu->err, sizeof(gu->err), "ssh host keys: %s", err);
			return -EIO;
		}
	}
	for (size_t i = 0; i < (g->nkeys ? g->nkeys : 3); i++) {
		static const char defaults[3][16] = { "rsa", "ecdsa", "ed25519" };
		const char *type = g->nkeys ? g->key_types[i] : defaults[i];
		char path[128], *priv = "", *pub = "";
		size_t privlen = 0, publen = 0;
		int rc;
		if (!gu->dry && keys_get(t->keys, i, &priv, &privlen, &pub, &publen) < 0) {
			snprintf(gu->err, sizeof(gu->err), "ssh host keys: no new %s key", type);
			return -EIO;
		}
		snprintf(path, sizeof(path), "/etc/ssh/ssh_host_%s_key", type);
		rc = guest_write(gu, OP_SSH_HOSTKEYS, path, priv, privlen, &root_0600);
		snprintf(path, sizeof(path), "/etc/ssh/ssh_host_%s_key.pub", type);
		if (rc == 0)
			rc = guest_write(gu, OP_SSH_HOSTKEYS, path, pub, publen, &root_0644);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- removals ---- */

/* A removal under one directory: which entries go, whether it descends,
 * and the directories it has entered (a crafted golden disk can give a
 * directory a second name inside itself: followed, the walk never ends). */
struct removal {
	struct guest *gu;
	struct report *rep;
	enum clone_op op;
	bool (*match)(const char *name, unsigned mode);
	bool recurse;
	struct imap seen; /* directories entered: a crafted fs may give one a second name */
};

/* May the walk enter (or remove whole) directory PATH at DEPTH?  1 yes,
 * 0 no (said in the report), negative on error. */
static int may_enter(struct removal *rm, const char *path, uint64_t ino, int depth)
{
	int fresh;

	if (depth > GUEST_WALK_DEPTH) {
		report_not_done(rm->rep, "%s: directories nested deeper than %d: not followed", path, GUEST_WALK_DEPTH);
		return 0;
	}
	fresh = !imap_get(&rm->seen, ino, &(uint32_t){ 0 });
	if (fresh && imap_put(&rm->seen, ino, 1) < 0) {
		snprintf(rm->gu->err, sizeof(rm->gu->err), "%.400s: out of memory", path);
		return -ENOMEM;
	}
	if (!fresh)
		report_not_done(rm->rep, "%s: another name of a directory already walked (a directory hard link; "
				"run e2fsck on the golden disk): not followed", path);
	return fresh;
}

static int remove_in(struct removal *rm, const char *dir, int depth)
{
	struct guest *gu = rm->gu;
	char **names = guest_list(gu, dir);
	int rc = 0;

	for (char **p = names; p && *p && rc == 0; p++) {
		struct imgfmt_stat st;
		char path[1024];
		int enter = 1;
		if (snprintf(path, sizeof(path), "%s/%s", dir, *p) >= (int)sizeof(path) || guest_stat(gu, path, &st) < 0)
			continue;
		if (S_ISDIR(st.mode) && (rm->recurse || rm->match(*p, st.mode)) &&
		    (enter = may_enter(rm, path, st.ino, depth + 1)) <= 0) {
			rc = enter;
			continue;
		}
		if (S_ISDIR(st.mode) && rm->recurse)
			rc = remove_in(rm, path, depth + 1);
		else if (rm->match(*p, st.mode))
			rc = guest_remove(gu, rm->op, path, S_ISDIR(st.mode));
	}
	guest_names_free(names);
	return gu->err[0] && rc == 0 ? -EIO : rc;
}

/* Remove the entries of DIR that pass MATCH (with RECURSE, in every
 * directory below it too; directories themselves stay). */
static int remove_children(struct guest *gu, struct report *rep, enum clone_op op, const char *dir,
			   bool (*match)(const char *name, unsigned mode), bool recurse)
{
	struct removal rm = { .gu = gu, .rep = rep, .op = op, .match = match, .recurse = recurse };
	struct imgfmt_stat st;
	int rc = 0;

	if (guest_stat(gu, dir, &st) < 0 || !S_ISDIR(st.mode))
		return 0;
	if (imap_put(&rm.seen, st.ino, 1) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = remove_in(&rm, dir, 0);
	imap_free(&rm.seen);
	return rc;
}

static bool regular(const char *name, unsigned mode)
{
	(void)name;
	return S_ISREG(mode);
}

static bool anything(const char *name, unsigned mode)
{
	(void)name, (void)mode;
	return true;
}

static bool lease(const char *name, unsigned mode)
{
	return S_ISREG(mode) && strstr(name, "lease") != NULL;
}

static int op_logfiles(struct guest *gu, struct report *rep)
{
	int rc = 0;

	/* The journal's per-machine directories go whole. */
	if (guest_is_dir(gu, "/var/log/journal"))
		rc = remove_children(gu, rep, OP_LOGFILES, "/var/log/journal", anything, false);
	if (rc == 0)
		rc = remove_children(gu, rep, OP_LOGFILES, "/var/log", regular, true);
	return rc;
}

static int op_bash_history(struct guest *gu)
{
	char **homes = guest_list(gu, "/home");
	int rc = 0;

	if (S_ISREG(guest_mode(gu, "/root/.bash_history")))
		rc = guest_remove(gu, OP_BASH_HISTORY, "/root/.bash_history", false);
	for (char **p = homes; p && *p && rc == 0; p++) {
		char path[512];
		snprintf(path, sizeof(path), "/home/%s/.bash_history", *p);
		if (S_ISREG(guest_mode(gu, path)))
			rc = guest_remove(gu, OP_BASH_HISTORY, path, false);
	}
	guest_names_free(homes);
	return rc;
}

static int op_tmp_files(struct guest *gu, struct report *rep)
{
	int rc = remove_children(gu, rep, OP_TMP_FILES, "/tmp", anything, false);

	return rc == 0 ? remove_children(gu, rep, OP_TMP_FILES, "/var/tmp", anything, false) : rc;
}

static int op_dhcp_state(struct guest *gu, struct report *rep)
{
	static const char *const dirs[] = { "/var/lib/dhcp", "/var/lib/dhclient", "/var/lib/NetworkManager" };
	int rc = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && rc == 0; i++)
		rc = remove_children(gu, rep, OP_DHCP_STATE, dirs[i], lease, false);
	return rc;
}

static int remove_regular(struct guest *gu, enum clone_op op, const char *const *paths, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		if (S_ISREG(guest_mode(gu, paths[i])))
			rc = guest_remove(gu, op, paths[i], false);
	return rc;
}

static int op_random_seed(struct guest *gu)
{
	static const char *const paths[] = { "/var/lib/systemd/random-seed", "/var/lib/urandom/random-seed",
					     "/var/lib/random-seed" };

	return remove_regular(gu, OP_RANDOM_SEED, paths, sizeof(paths) / sizeof(paths[0]));
}

static int op_utmp(struct guest *gu)
{
	static const char *const paths[] = { "/var/run/utmp", "/run/utmp" };

	return remove_regular(gu, OP_UTMP, paths, sizeof(paths) / sizeof(paths[0]));
}

/* RHEL 9's LVM devices file names each PV by its PVID: with the new PV
 * UUIDs a clone gets (disk-ids), LVM would ignore every PV it lists.
 * Without the file LVM uses every device (what vgimportclone's
 * --importdevices and virt-sysprep's lvm-system-devices arrive at). */
static int op_lvm_devices(struct guest *gu, const struct golden *g)
{
	static const char *const paths[] = { "/etc/lvm/devices/system.devices" };

	for (size_t i = 0; i < g->nvol; i++)
		if (g->vols[i].lv_vg[0] && !g->vols[i].lv_name[0])
			return remove_regular(gu, OP_DISK_IDS, paths, 1);
	return 0;
}

/* ---- an authorized key for root ---- */

static int op_ssh_key(struct guest *gu, const char *key)
{
	const char *path = "/root/.ssh/authorized_keys";
	size_t klen = strlen(key), len = 0;
	struct text t = { 0 };
	char *data = NULL;
	int rc = 0;

	if (!guest_is_dir(gu, "/root"))
		return 0;
	if (!guest_is_dir(gu, "/root/.ssh")) {
		if ((rc = guest_mkdir(gu, "/root/.ssh", &root_0700)) < 0)
			return rc;
	} else if ((rc = guest_read(gu, path, &data, &len)) < 0 && rc != -ENOENT) {
		return rc;
	}
	while (klen && (key[klen - 1] == '\n' || key[klen - 1] == '\r'))
		klen--;
	if (data && memmem(data, len, key, klen)) {
		free(data);
		return 0;
	}
	text_add(&t, data ? data : "", len);
	if (t.len && t.s[t.len - 1] != '\n')
		text_add(&t, "\n", 1);
	text_add(&t, key, klen);
	text_add(&t, "\n", 1);
	free(data);
	rc = t.oom ? -ENOMEM : guest_write(gu, OP_SSH_KEY, path, t.s, t.len, &root_0600);
	free(t.s);
	return rc;
}

/* ---- references to identities ---- */

int linux_rewrite_refs(struct guest *gu, const struct id_plan *ids, bool root)
{
	static const char *const root_files[] = {
		"/etc/fstab", "/etc/crypttab", "/etc/default/grub", "/etc/initramfs-tools/conf.d/resume",
		"/etc/kernel/cmdline", "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
	};
	static const char *const root_envs[] = { "/boot/grub/grubenv", "/boot/grub2/grubenv" };
	static const char *const boot_files[] = { "/grub/grub.cfg", "/grub2/grub.cfg" };
	static const char *const boot_envs[] = { "/grub/grubenv", "/grub2/grubenv" };
	const char *const *files = root ? root_files : boot_files, *const *envs = root ? root_envs : boot_envs;
	size_t n = root ? sizeof(root_files) / sizeof(root_files[0]) : sizeof(boot_files) / sizeof(boot_files[0]);
	bool unfit = false;
	struct grubenv_refs env = { ids, &unfit };
	int rc = 0;

	if (!ids_any(ids))
		return 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = guest_edit_file(gu, OP_FS_UUIDS, files[i], refs_edit, ids);
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		rc = guest_edit_file(gu, OP_FS_UUIDS, envs[i], grubenv_edit, &env);
		if (rc == 0 && unfit) {
			snprintf(gu->err, sizeof(gu->err), "%s: the renamed volume group's references do not fit its "
				 "1024 bytes", envs[i]);
			rc = -EFBIG;
		}
	}
	if (rc == 0)
		rc = guest_edit_dir(gu, OP_FS_UUIDS, root ? "/boot/loader/entries" : "/loader/entries", name_is_conf, refs_edit,
			      ids);
	if (rc == 0 && root)
		rc = guest_edit_dir(gu, OP_FS_UUIDS, "/etc/default/grub.d", name_is_cfg, refs_edit, ids);
	return rc;
}

int linux_personalize(struct guest *gu, const struct golden *g, const struct clone_opts *o, struct target_plan *t)
{
	int rc = 0;

	if (o->ops[OP_HOSTNAME] && t->hostname[0])
		rc = op_hostname(gu, g, t->hostname);
	if (rc == 0 && o->ops[OP_MACHINE_ID])
		rc = op_machine_id(gu);
	if (rc == 0 && o->ops[OP_SSH_HOSTKEYS])
		rc = op_ssh_hostkeys(gu, g, t);
	if (rc == 0 && o->ops[OP_NET_HWADDR])
		rc = netcfg_unpin_macs(gu, OP_NET_HWADDR);
	if (rc == 0 && o->ops[OP_UDEV_NET] && S_ISREG(guest_mode(gu, "/etc/udev/rules.d/70-persistent-net.rules")))
		rc = guest_remove(gu, OP_UDEV_NET, "/etc/udev/rules.d/70-persistent-net.rules", false);
	if (rc == 0 && o->ops[OP_LOGFILES])
		rc = op_logfiles(gu, &t->rep);
	if (rc == 0 && o->ops[OP_BASH_HISTORY])
		rc = op_bash_history(gu);
	if (rc == 0 && o->ops[OP_TMP_FILES])
		rc = op_tmp_files(gu, &t->rep);
	if (rc == 0 && o->ops[OP_DHCP_STATE])
		rc = op_dhcp_state(gu, &t->rep);
	if (rc == 0 && o->ops[OP_RANDOM_SEED])
		rc = op_random_seed(gu);
	if (rc == 0 && o->ops[OP_UTMP])
		rc = op_utmp(gu);
	if (rc == 0 && o->ops[OP_DISK_IDS])
		rc = op_lvm_devices(gu, g);
	if (rc == 0 && o->ssh_key_data)
		rc = op_ssh_key(gu, o->ssh_key_data);
	if (rc == 0 && gu->err[0])
		rc = -EIO;
	return rc;
}
