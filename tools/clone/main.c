/* main.c --- rawkit-clone: its option table, and dispatch */
#include "clone.h"
#include "cliopt.h"
#include "mount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the options set (the table below points here). */
static struct clone_opts o;
static const char *hostname;
static bool list_ops;

static int parse_operations(const char *arg, void *value)
{
	char err[256];

	if (ops_parse(arg, value, err, sizeof(err)) < 0)
		return cli_command_usage_error("%s", err);
	return 0;
}

static void list_operations(void)
{
	for (int i = 0; i < OP_COUNT; i++)
		printf("%-20s %s\n", op_name(i), op_meaning(i));
}

/* One public key line from FILE. */
static int read_ssh_key(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		cli_error(path, "cannot read the SSH key: %s", strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0 && line[0] != '#' && strncmp(line, "-----", 5) != 0 && strchr(line, ' '))
			break;
	}
	fclose(f);
	if (n < 0 || strlen(line) > 16384 || memchr(line, '\0', (size_t)n) != NULL) {
		free(line);
		cli_error(path, "no public key line (\"TYPE BASE64 [COMMENT]\") in the file");
		return -1;
	}
	*out = line;
	return 0;
}

/* The directory's real path and the base name: one name per file, even for
 * files that do not exist yet. */
static char *canonical(const char *path)
{
	char *dup = strdup(path), *slash, *dir, *out = NULL;
	const char *base;

	if (!dup)
		return NULL;
	slash = strrchr(dup, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		dir = realpath(slash == dup ? "/" : dup, NULL);
	} else {
		base = dup;
		dir = realpath(".", NULL);
	}
	if (dir && asprintf(&out, "%s/%s", dir, base) < 0)
		out = NULL;
	free(dir);
	free(dup);
	return out;
}

static int check_targets(char **targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			struct stat a, b;
			char *ci = canonical(targets[i]), *cj = canonical(targets[j]);
			bool same = !strcmp(targets[i], targets[j]) || (ci && cj && !strcmp(ci, cj)) ||
				    (stat(targets[i], &a) == 0 && stat(targets[j], &b) == 0 && a.st_dev == b.st_dev &&
				     a.st_ino == b.st_ino);
			free(ci);
			free(cj);
			if (same)
				return cli_usage_error("%s: named twice as a target", targets[j]);
		}
	return 0;
}

/* On SIGTERM/SIGINT/SIGHUP: no XFS or FUSE mount of a removed target left
 * behind, no key generator running. */
static void clean_up_on_signal(void)
{
	guest_mount_abort_all();
	keys_remove_all();
}

static bool rbd_target(char **targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(targets[i], "rbd:", 4))
			return true;
	return false;
}

static int run_clone(char **args, int nargs, const struct cli_common *c)
{
	char err[256], name[256];
	size_t ntargets = o.in_place ? 1 : (size_t)(nargs - 1);
	int rc;

	if (list_ops) {
		list_operations();
		return RAWKIT_EXIT_DONE;
	}
	if (o.in_place && nargs != 1)
		return cli_usage_error("--in-place takes one disk");
	if (!o.in_place && nargs < 2)
		return cli_usage_error(nargs == 0 ? "no golden disk given" : "no target given");
	if (!o.in_place && check_targets(args + 1, ntargets))
		return RAWKIT_EXIT_USAGE;
	if (hostname && hostname_format(hostname, 0, ntargets, name, sizeof(name), err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	for (size_t i = 0; o.vg_name && i < ntargets; i++)
		if (vg_name_format(o.vg_name, i, name, sizeof(name), err, sizeof(err)) < 0)
			return cli_usage_error("%s", err);
	o.dry_run = c->dry_run, o.json = c->json, o.progress = c->progress, o.quiet = c->quiet;
	if (o.ssh_key && read_ssh_key(o.ssh_key, &o.ssh_key_data) < 0)
		return RAWKIT_EXIT_FAILED;
	/* a new RBD image's temp image is removed through librbd: from a thread */
	if (rbd_target(args + 1, o.in_place ? 0 : ntargets))
		cli_clean_up_on_signals_in_thread(clean_up_on_signal, imgfmt_remove_temp_images);
	else
		cli_clean_up_on_signals(clean_up_on_signal);
	rc = clone_run(args[0], o.in_place ? args : args + 1, ntargets, hostname, &o);
	free(o.ssh_key_data);
	return rc;
}

static const struct cli_option options[] = {
	CLI_STRING("hostname", &hostname, "NAME",
		   "host name; with several targets a printf-style\nnumber: web%02d gives web01, web02, ..."),
	CLI_STRING("vg-name", &o.vg_name, "NAME",
		   "rename the disk's LVM volume group (new UUIDs too)\nand every reference to it; may hold a number\nas --hostname does: vg%02d"),
	CLI_CALL("operations", o.ops, "LIST", parse_operations,
		 "operations to run, comma separated: names, -name,\ndefaults, none (default: all of them)"),
	CLI_BOOL(0, "list-operations", &list_ops, "show the operations and what each one does"),
	CLI_STRING("ssh-key", &o.ssh_key, "FILE", "add the public key in FILE to root's authorized_keys"),
	CLI_BOOL(0, "in-place", &o.in_place, "personalize DISK itself, copy nothing"),
	CLI_BOOL(0, "overwrite", &o.overwrite, "replace TARGET files or RBD images that exist"),
	CLI_INT("jobs", &o.jobs, "N", 1, CLI_JOBS_MAX,
		"targets written from each read of the golden disk\n(default: all of them)"),
	CLI_END,
};

static const char *const exclusive[] = { "in-place overwrite", NULL };

static const struct cli_command commands[] = {
	{ .name = NULL, .args = "[OPTIONS] GOLDEN TARGET...\n--in-place [OPTIONS] DISK\n--list-operations",
	  .min_args = 0, .max_args = -1, .common = CLI_DRY_RUN | CLI_JSON | CLI_PROGRESS | CLI_QUIET,
	  .options = options, .exclusive = exclusive,
	  .summary = "turn one golden guest disk into many personalized guest disks", .run = run_clone },
	{ .run = NULL },
};

static const struct cli_tool tool = {
	.name = "rawkit-clone",
	.description = "Copy a golden raw guest disk to new guest disks and personalize each one\n"
		"by editing its filesystems directly (no helper VM): host name, machine-id,\n"
		"SSH host keys, MAC pinning, logs, and new filesystem and partition\n"
		"identities with every reference to them updated.  The golden disk is only\n"
		"read.  A TARGET is a new file (created sparse, reflinked where the\n"
		"filesystem allows), an existing block device at least as large, or a\n"
		"new RBD image rbd:POOL/IMAGE (created sparse through librbd).\n",
	.footer = "Exit status: 0 done, 1 failed (failed targets are not created), 2 usage,\n"
		"3 done with warnings (something could not be personalized).\n",
	.commands = commands,
};

int main(int argc, char **argv)
{
	ops_defaults(o.ops);
	return cli_run(&tool, argc, argv);
}
