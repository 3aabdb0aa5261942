/* clone.c --- the run: inspect the golden disk, plan each target, copy them
 * all from one read, personalize each before it is committed
 */
#include "clone.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run {
	struct golden *g;
	struct clone_opts *o;
	struct target_plan *t; /* this batch */
	struct cli_progress progress;
};

/* What cannot be done on this disk, said once per target. */
static void plan_limits(const struct golden *g, const struct clone_opts *o, struct target_plan *t)
{
	bool linux_ops = linux_ops_wanted(o, t);

	for (size_t i = 0; i < g->nvol; i++)
		if (g->info[i].kind == VOL_FOREIGN)
			report_not_done(&t->rep, "%s: %s: not edited", g->vols[i].name, g->info[i].why);
	if (g->foreign && (o->ops[OP_FS_UUIDS] || o->ops[OP_DISK_IDS]))
		report_not_done(&t->rep, "fs-uuids, disk-ids: identities kept, since a volume rawkit cannot edit may "
			       "name them");
	if (g->roots == 0 && linux_ops && !g->windows)
		report_not_done(&t->rep, "no Linux root filesystem rawkit can edit: hostname, machine-id, SSH keys, "
			       "network and log operations not done");
	if (g->windows && strchr(t->hostname, '.') && o->ops[OP_HOSTNAME])
		report_note(&t->rep, "Windows: the computer name and host name are the first label of %s; the DNS "
			    "domain is not changed", t->hostname);
	if (g->windows && o->ops[OP_DISK_IDS])
		report_note(&t->rep, "Windows: disk signature and partition GUIDs kept (the boot configuration "
			    "names the disk by them)");
	if (g->roots && !t->hostname[0] && o->ops[OP_HOSTNAME])
		report_note(&t->rep, "host name kept: no --hostname given");
	for (size_t i = 0; i < g->nvol; i++)
		if (g->info[i].kind == VOL_KEPT)
			report_note(&t->rep, "%s: %s: identity kept", g->vols[i].name, g->vols[i].fstype);
}

/* XFS files are edited through a kernel mount: refused before the first
 * write (and before any key is made) when not root. */
static int check_privileges(const struct golden *g, const struct clone_opts *o, const struct target_plan *t)
{
	if (o->dry_run || geteuid() == 0)
		return 0;
	for (size_t i = 0; i < g->nvol; i++)
		if (xfs_needs_mount(g, i, o, t)) {
			cli_error(imgfmt_disk_path(g->disk), "%s: XFS files are edited through a kernel mount, which needs "
				  "root (run as root, or leave out the operations that edit files: --operations)",
				  g->vols[i].name);
			return -1;
		}
	return 0;
}

/* --vg-name: the new name of the golden disk's volume group on target
 * INDEX (checked for every target before anything is written). */
static int plan_vg_name(const struct golden *g, const struct clone_opts *o, struct target_plan *t, size_t index)
{
	char err[256];

	if (vg_name_format(o->vg_name, index, t->ids.vg_new, sizeof(t->ids.vg_new), err, sizeof(err)) < 0) {
		cli_error(NULL, "%s", err);
		return -1;
	}
	snprintf(t->ids.vg_old, sizeof(t->ids.vg_old), "%s", golden_vg_name(g));
	if (strcmp(t->ids.vg_old, t->ids.vg_new) && g->roots)
		report_note(&t->rep, "volume group %s renamed %s: initramfs images are not rebuilt; one made by a "
			    "host-only dracut may name %s (the kernel command line's rd.lvm.lv names the new one): run "
			    "dracut -f in the guest", t->ids.vg_old, t->ids.vg_new, t->ids.vg_old);
	return 0;
}

/* A Windows computer name is at most 15 characters and not only digits:
 * checked for every target before anything is written (exit 2). */
static int check_windows_names(const struct golden *g, const struct clone_opts *o, const char *fmt, size_t n)
{
	char name[256], err[256];

	if (!g->windows || !fmt || !o->ops[OP_HOSTNAME])
		return 0;
	for (size_t i = 0; i < n; i++)
		if (hostname_format(fmt, i, n, name, sizeof(name), err, sizeof(err)) < 0 ||
		    windows_check_hostname(name, err, sizeof(err)) < 0) {
			cli_error(imgfmt_disk_path(g->disk), "%s", err);
			return -1;
		}
	return 0;
}

static int plan_target(struct run *r, struct target_plan *t, size_t index, size_t n, const char *fmt)
{
	struct golden *g = r->g;
	struct clone_opts *o = r->o;
	bool ops[OP_COUNT];
	char err[256];

	memcpy(ops, o->ops, sizeof(ops));
	if (g->foreign)
		ops[OP_FS_UUIDS] = ops[OP_DISK_IDS] = false;
	if (g->windows)
		ops[OP_DISK_IDS] = false;
	if (fmt && hostname_format(fmt, index, n, t->hostname, sizeof(t->hostname), err, sizeof(err)) < 0) {
		cli_error(NULL, "%s", err);
		return -1;
	}
	plan_limits(g, o, t);
	if (ids_plan(g, ops, &t->ids, &t->rep) < 0) {
		cli_error(t->path, "cannot plan new identities: out of memory or no randomness");
		return -1;
	}
	if (o->vg_name && plan_vg_name(g, o, t, index) < 0)
		return -1;
	if (check_privileges(g, o, t) < 0)
		return -1;
	for (size_t i = 0; i < t->ids.n; i++)
		if (t->ids.v[i].vol < g->nvol && g->info[t->ids.v[i].vol].kind == VOL_SWAP) {
			report_note(&t->rep, "initramfs images may still name the old swap UUID for resume: run "
				    "update-initramfs -u (or dracut -f) in the guest");
			break;
		}
	if (!o->dry_run && g->roots && o->ops[OP_SSH_HOSTKEYS] && (g->nkeys || g->sshd)) {
		static const char defaults[3][16] = { "rsa", "ecdsa", "ed25519" };
		char comment[300];
		snprintf(comment, sizeof(comment), "root@%s", t->hostname[0] ? t->hostname : g->old_hostname);
		t->keys = keys_start(g->nkeys ? (const char(*)[16])g->key_types : defaults, g->nkeys ? g->nkeys : 3,
				     comment, err, sizeof(err));
		if (!t->keys) {
			cli_error(t->path, "%s", err);
			return -1;
		}
	}
	return 0;
}

static int finish(size_t index, const char *path, char *err, size_t errlen, void *arg)
{
	struct run *r = arg;
	struct target_plan *t = &r->t[index];
	int rc;

	double start = cli_now();

	cli_progress_end(&r->progress);
	rc = personalize(r->g, r->o, t, path, false, err, errlen);
	t->personalize_seconds = cli_now() - start;
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "personalization failed");
	return rc;
}

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	cli_progress_update(&((struct run *)arg)->progress, done, total);
}

/* Copy one batch of targets from a single read of the golden disk. */
static int copy_batch(struct run *r, struct target_plan *t, size_t n)
{
	imgfmt_copy *c = imgfmt_copy_new();
	struct imgfmt_copy_stats st;
	/* an rbd: target is staged in a file: personalize() edits that file */
	unsigned flags = (r->o->overwrite ? IMGFMT_TARGET_OVERWRITE : 0) | IMGFMT_TARGET_RBD;
	int rc = 0;

	if (!c) {
		cli_error(NULL, "out of memory");
		return -1;
	}
	r->t = t;
	rc = imgfmt_copy_set_source(c, r->g->disk, -1);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = imgfmt_copy_add_target(c, t[i].path, flags);
	if (rc < 0) {
		cli_error(NULL, "%s", imgfmt_copy_error(c));
		imgfmt_copy_free(c);
		return -1;
	}
	imgfmt_copy_set_finish(c, finish, r);
	imgfmt_copy_set_progress(c, on_progress, r);
	cli_progress_start(&r->progress, "copying", r->o->progress);
	rc = imgfmt_copy_run(c);
	cli_progress_end(&r->progress);
	imgfmt_copy_get_stats(c, &st);
	for (size_t i = 0; i < n; i++) {
		if (st.replayed)
			report_note(&t[i].rep, "the golden disk is a crash-consistent snapshot: the journal replay of "
				    "%u volume%s was written into the copy (never into the golden disk)", st.replayed,
				    st.replayed == 1 ? "" : "s");
		const char *e = imgfmt_copy_target_error(c, i);
		const char *m = imgfmt_copy_target_method(c, i); /* a static string */
		t[i].method = m[0] ? m : NULL;
		if (e[0]) {
			t[i].failed = true;
			snprintf(t[i].error, sizeof(t[i].error), "%s", e);
		}
	}
	if (rc < 0 && !n)
		cli_error(NULL, "%s", imgfmt_copy_error(c));
	imgfmt_copy_free(c);
	return rc;
}

static int exit_status(struct target_plan *t, size_t n)
{
	int status = RAWKIT_EXIT_DONE;

	for (size_t i = 0; i < n; i++) {
		if (t[i].failed)
			return RAWKIT_EXIT_FAILED;
		if (t[i].rep.not_done.n)
			status = RAWKIT_EXIT_WARNINGS;
	}
	return status;
}

int clone_run(const char *golden, char **targets, size_t ntargets, const char *hostname_fmt, struct clone_opts *o)
{
	struct golden g;
	struct run r = { .g = &g, .o = o };
	struct target_plan *t = calloc(ntargets, sizeof(*t));
	double start = cli_now();
	int status = RAWKIT_EXIT_FAILED;

	if (!t) {
		cli_error(NULL, "out of memory");
		return RAWKIT_EXIT_FAILED;
	}
	if (golden_open(&g, golden, o->in_place && !o->dry_run) < 0)
		goto out;
	if ((o->vg_name && golden_vg(&g, o) < 0) || check_windows_names(&g, o, hostname_fmt, ntargets) < 0) {
		status = RAWKIT_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < ntargets; i++) {
		t[i].path = targets[i];
		if (plan_target(&r, &t[i], i, ntargets, hostname_fmt) < 0)
			goto out;
	}
	if (o->dry_run || o->in_place) {
		for (size_t i = 0; i < ntargets; i++) {
			char err[512] = "";
			double t0 = cli_now();
			int prc = personalize(&g, o, &t[i], golden, o->dry_run, err, sizeof(err));
			t[i].personalize_seconds = cli_now() - t0;
			if (prc < 0) {
				t[i].failed = true;
				snprintf(t[i].error, sizeof(t[i].error), "%s", err);
			}
			t[i].method = o->dry_run ? NULL : "in place";
		}
	} else {
		size_t batch = o->jobs > 0 ? (size_t)o->jobs : ntargets;
		for (size_t i = 0; i < ntargets; i += batch)
			copy_batch(&r, t + i, ntargets - i < batch ? ntargets - i : batch);
	}
	/* One line per failure; targets that were only held back by another's
	 * refusal say so in --json, not on stderr. */
	for (size_t i = 0; i < ntargets; i++)
		if (t[i].failed && strncmp(t[i].error, "not written: ", 13) != 0)
			cli_error(t[i].path, "%s", t[i].error);
	status = exit_status(t, ntargets);
	if (o->json)
		output_json(golden, t, ntargets, o, cli_now() - start, status);
	else
		output_text(&g, t, ntargets, o);
out:
	for (size_t i = 0; i < ntargets; i++) {
		keys_free(t[i].keys);
		ids_free(&t[i].ids);
		report_free(&t[i].rep);
	}
	free(t);
	golden_close(&g);
	return status;
}
