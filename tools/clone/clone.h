/* clone.h --- rawkit-clone: one golden disk to many personalized guest disks */
#ifndef RAWKIT_CLONE_H
#define RAWKIT_CLONE_H

#include "cli.h"
#include "guest.h"
#include "imgfmt.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- operations (ops.c) ---- */

enum clone_op {
	OP_HOSTNAME,
	OP_MACHINE_ID,
	OP_SSH_HOSTKEYS,
	OP_NET_HWADDR,
	OP_UDEV_NET,
	OP_FS_UUIDS,
	OP_DISK_IDS,
	OP_LOGFILES,
	OP_BASH_HISTORY,
	OP_TMP_FILES,
	OP_DHCP_STATE,
	OP_RANDOM_SEED,
	OP_UTMP,
	OP_SSH_KEY,
	OP_COUNT
};

const char *op_name(enum clone_op op);
const char *op_meaning(enum clone_op op);
/* Parse "--operations" LIST into ENABLED; -1 with a message on error. */
int ops_parse(const char *list, bool enabled[OP_COUNT], char *err, size_t errlen);
void ops_defaults(bool enabled[OP_COUNT]);

/* ---- what a run reports (lib/guestedit's report lists) ---- */

struct report {
	struct report_list changes;  /* tag: the operation; "/etc/hostname", "p1: UUID 1234... -> 5678..." */
	struct report_list not_done; /* what could not be done, one line each */
	struct report_list notes;    /* what an admin should know */
};

#define report_change(r, op, ...) report_add(&(r)->changes, (int)(op), __VA_ARGS__)
#define report_not_done(r, ...) report_add(&(r)->not_done, 0, __VA_ARGS__)
#define report_note(r, ...) report_add(&(r)->notes, 0, __VA_ARGS__)

static inline void report_free(struct report *r)
{
	report_list_free(&r->changes);
	report_list_free(&r->not_done);
	report_list_free(&r->notes);
}

/* ---- the golden disk, inspected once (inspect.c) ---- */

enum vol_kind {
	VOL_NONE,    /* nothing to edit: empty, extended, BIOS boot... */
	VOL_EXT,     /* ext2/3/4 rawkit can edit */
	VOL_XFS,     /* XFS: read by libimgfmt, files edited through a kernel mount (root) */
	VOL_NTFS,    /* serial only */
	VOL_SWAP,
	VOL_KEPT,    /* identity kept on purpose (vfat) */
	VOL_FOREIGN, /* a filesystem rawkit cannot edit: btrfs, LUKS, an LV it cannot read... */
};

struct vol_info {
	enum vol_kind kind;
	bool linux_root;  /* /etc/fstab or /etc/os-release */
	bool boot;        /* a separate /boot: /grub, /grub2 or /loader */
	bool windows;     /* NTFS holding /Windows/System32 */
	char why[160];    /* VOL_FOREIGN: why it cannot be edited */
};

struct golden {
	imgfmt_disk *disk;
	size_t nvol;
	struct imgfmt_volume *vols;
	struct vol_info *info;
	size_t roots;          /* Linux roots found */
	bool foreign;          /* any VOL_FOREIGN */
	bool windows;
	char old_hostname[256];
	char key_types[8][16]; /* ssh host key types present ("rsa", "ed25519") */
	size_t nkeys;
	bool sshd;             /* /etc/ssh/sshd_config exists */
};

/* Open DISK (read-only unless WRITE) and look at every volume.  Refuses a
 * filesystem with errors.  -1 with the message printed. */
int golden_open(struct golden *g, const char *path, bool write);
void golden_close(struct golden *g);

/* ---- identities (ids.c) ---- */

struct id_change {
	size_t vol;       /* volume index, or SIZE_MAX for the disk */
	char volume[256]; /* its name ("p2", "rhel-root"), "disk" */
	char kind[8];     /* "fs", "part", "disk" */
	char old[64], new_id[64];
	/* what text files name: differs from the id for MBR partitions */
	char old_ref[64], new_ref[64];
};

struct id_plan {
	struct id_change *v;
	size_t n;
	/* --vg-name: the volume group's name and its new one ("" for no rename) */
	char vg_old[128], vg_new[128];
};

int ids_plan(const struct golden *g, const bool ops[OP_COUNT], struct id_plan *out, struct report *r);
void ids_free(struct id_plan *p);
/* Replace every old reference in TEXT (LEN bytes) by the new one, case
 * kept; returns the number of replacements (the length never changes). */
size_t ids_rewrite(const struct id_plan *p, char *text, size_t len);
/* Does P change anything that text files may name (an id, the VG name)? */
bool ids_any(const struct id_plan *p);

/* ---- --vg-name (vgname.c) ---- */

struct clone_opts;

/* LVM2's rule for a volume group name. */
bool vg_name_valid(const char *s);
/* vg%02d -> vg01 ...: the name for target INDEX; -1 with a message. */
int vg_name_format(const char *fmt, size_t index, char *out, size_t size, char *err, size_t errlen);
/* The name of the golden disk's volume group; NULL when it has none. */
const char *golden_vg_name(const struct golden *g);
/* Can the golden disk's VG be renamed (one VG, read, no volume rawkit
 * cannot edit, disk-ids on)?  -1 with the reason printed. */
int golden_vg(const struct golden *g, const struct clone_opts *o);
/* DATA with every reference to volume group OLD (/dev/mapper/OLD-LV with
 * '-' doubled, lvm/OLD-LV, /dev/OLD/LV, rd.lvm.lv=OLD/LV, rd.lvm.vg=OLD)
 * naming NEW_NAME instead; NULL when there is none. */
char *vg_rewrite(const char *old, const char *new_name, const char *data, size_t len, size_t *outlen);

/* ---- guest file access (lib/guestedit/guest.c), reporting to a report ---- */

/* A guest handle on FS whose changes go to REP. */
static inline struct guest guest_for(imgfmt_fs *fs, bool dry, struct report *rep)
{
	return guest_reporting(fs, dry, &rep->changes);
}

/* ---- ssh host keys (keys.c) ---- */

struct keyset;
/* Start generating keys of TYPES for one target (runs in the background). */
struct keyset *keys_start(const char (*types)[16], size_t ntypes, const char *comment, char *err, size_t errlen);
/* Wait for them; the private and public key of type I. */
int keys_wait(struct keyset *k, char *err, size_t errlen);
int keys_get(struct keyset *k, size_t i, char **priv, size_t *privlen, char **pub, size_t *publen);
void keys_free(struct keyset *k);
/* Stop every key generator and remove every key file and key directory of
 * the sets not yet freed.  Async-signal-safe: for a signal handler. */
void keys_remove_all(void);

/* ---- one target's personalization (personalize.c) ---- */

struct target_plan {
	const char *path;      /* what the user named */
	char hostname[256];    /* "" for no change */
	struct id_plan ids;
	struct keyset *keys;
	struct report rep;
	bool failed;
	char error[512];
	const char *method;
	double personalize_seconds, keys_wait_seconds;
};

struct clone_opts {
	bool ops[OP_COUNT];
	const char *ssh_key;   /* authorized key file for root, or NULL */
	const char *vg_name;   /* --vg-name's pattern, or NULL */
	char *ssh_key_data;
	bool dry_run, json, progress, quiet, overwrite, in_place;
	int jobs;
};

/* linux.c: the operations on a Linux root filesystem, and the rewriting of
 * references (ROOT: paths of a root filesystem; else of a separate /boot). */
int linux_personalize(struct guest *gu, const struct golden *g, const struct clone_opts *o, struct target_plan *t);
int linux_rewrite_refs(struct guest *gu, const struct id_plan *ids, bool root);

/* edits.c: the text editors (fuzzed): new text or NULL for no change.  ARG
 * is a struct hostnames for the host name editors, an id_plan for refs_edit
 * (whose result has the length of DATA unless the VG is renamed), a struct
 * grubenv_refs for grubenv_edit (a GRUB environment block stays 1024
 * bytes: *UNFIT is set, and nothing changed, when the new text is longer). */
struct hostnames {
	const char *old, *new_name;
};
char *hosts_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *sysconfig_network_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *word_edit(const char *data, size_t len, size_t *outlen, const void *arg);
char *refs_edit(const char *data, size_t len, size_t *outlen, const void *arg);
struct grubenv_refs {
	const struct id_plan *ids;
	bool *unfit;
};
char *grubenv_edit(const char *data, size_t len, size_t *outlen, const void *arg);

/* vfat.c: rewrite references on the FAT volume V of the disk image PATH
 * (EFI/<distro>/grub.cfg, loader entries) through mtools. */
int vfat_rewrite_refs(const char *path, const struct imgfmt_volume *v, const struct id_plan *ids, bool dry,
		      struct report *rep, char *err, size_t errlen);

/* ---- Windows system volumes (windows.c, hive.c) ---- */

/* PATH resolved in FS with names matched as Windows matches them (ASCII
 * case ignored; an exact match wins): the path as the filesystem spells it
 * into OUT, its stat into *ST.  -ENOENT, or another negative errno. */
int windows_find(imgfmt_fs *fs, const char *path, char *out, size_t size, struct imgfmt_stat *st);
/* Can NAME's first label be a Windows computer name (at most 15
 * characters, not only digits)?  -1 with the --hostname message. */
int windows_check_hostname(const char *name, char *err, size_t errlen);
/* The computer name of the Windows volume open as FS (named VOLUME in
 * messages) made HOSTNAME's first label: its SYSTEM hive edited, written
 * back unless DRY, the change reported in REP.  A hive that is missing,
 * unreadable or lacks a key is reported as not done (returns 0); -errno
 * with ERR when writing fails (the target is then not to be used). */
int windows_set_computer_name(imgfmt_fs *fs, const char *volume, const char *hostname, bool dry, struct report *rep,
			      char *err, size_t errlen);

/* What hive_set_computer_name() made. */
struct hive_edit {
	char *data;            /* the edited hive, malloc'd (hive_edit_free()) */
	size_t len;
	char control_set[16];  /* the one Select\Current names: "ControlSet001" */
	bool active;           /* its ComputerName\ActiveComputerName was set too */
};
/* In the SYSTEM hive DATA (LEN bytes, untrusted), the control set that
 * Select\Current names gets NETBIOS as Control\ComputerName\ComputerName
 * (and ActiveComputerName where that key exists) and HOST as Tcpip's
 * Hostname and NV Hostname (REG_SZ).  0 with *OUT; 1 when the hive cannot
 * be edited (not a hive hivex opens, a key missing, changes left in its
 * logs), WHY saying why; -errno when this host fails (a temporary file,
 * memory), WHY saying how. */
int hive_set_computer_name(const void *data, size_t len, const char *netbios, const char *host, struct hive_edit *out,
			   char *why, size_t whylen);
void hive_edit_free(struct hive_edit *e);

/* personalize.c: does T want Linux file operations (beyond references)?
 * Does XFS volume I need its files edited (a kernel mount, root only)? */
bool linux_ops_wanted(const struct clone_opts *o, const struct target_plan *t);
bool xfs_needs_mount(const struct golden *g, size_t i, const struct clone_opts *o, const struct target_plan *t);

/* Personalize the disk at PATH (open for writing) following T. */
int personalize(const struct golden *g, const struct clone_opts *o, struct target_plan *t, const char *path,
		bool dry, char *err, size_t errlen);

/* ---- the run (clone.c) and its output (output.c) ---- */

int clone_run(const char *golden, char **targets, size_t ntargets, const char *hostname_fmt,
	      struct clone_opts *o);
/* FMT with its one printf-style number (%d, %02d...) made INDEX + 1 (for
 * OPTION's messages): the number of numbers (0 or 1), -1 with a message. */
int name_format(const char *option, const char *fmt, size_t index, char *out, size_t size, char *err,
		size_t errlen);
/* web%02d -> web01 ...: check FMT for NTARGETS targets; -1 with message. */
int hostname_format(const char *fmt, size_t index, size_t ntargets, char *out, size_t size, char *err,
		    size_t errlen);
void output_text(const struct golden *g, struct target_plan *t, size_t n, const struct clone_opts *o);
/* --json: the object for the run (STATUS: its exit status, returned). */
int output_json(const char *golden, struct target_plan *t, size_t n, const struct clone_opts *o, double seconds,
		int status);

#endif
