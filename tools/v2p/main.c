/* main.c --- rawkit-v2p: its option table, and dispatch */
#include "cliopt.h"
#include "mount.h"
#include "v2p.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the options set (the table below points here). */
static struct v2p_opts opts = { .resize = V2P_FIT };

/* "ahci,nvme": module names only (they reach a shell in the appliance). */
static int parse_drivers(const char *list, void *value)
{
	struct v2p_opts *o = value;
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return RAWKIT_EXIT_FAILED;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (const char *c = t; *c; c++)
			if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_' && *c != '-') {
				int rc = cli_command_usage_error("--drivers: \"%s\" is not a module name", t);
				free(copy);
				return rc;
			}
		if (*t && o->ndrivers < V2P_MAX_DRIVERS && !(o->drivers[o->ndrivers++] = strdup(t))) {
			free(copy);
			return RAWKIT_EXIT_FAILED;
		}
	}
	free(copy);
	if (!o->ndrivers)
		return cli_command_usage_error("--drivers: no driver named");
	return 0;
}

static int run_v2p(char **args, int nargs, const struct cli_common *c)
{
	opts.dry_run = c->dry_run, opts.json = c->json, opts.progress = c->progress, opts.quiet = c->quiet;
	if (!opts.ndrivers)
		v2p_default_drivers(&opts);
	return v2p_run(args[0], args[1], &opts);
}

static const struct cli_option options[] = {
	CLI_SET("fit", &opts.resize, V2P_FIT,
		"grow or shrink the last partition and its filesystem\nto the target (the default); a swap partition last\n"
		"moves to the end, the filesystem before it resized"),
	CLI_SET("grow", &opts.resize, V2P_GROW, "grow only: refuse a smaller target"),
	CLI_SET("no-resize", &opts.resize, V2P_NO_RESIZE, "keep every size: the target must be at least as large"),
	CLI_CALL("drivers", &opts, "LIST", parse_drivers,
		 "storage drivers the initramfs must hold (default:\nahci,nvme,sd_mod and what this host's disks use)"),
	CLI_CALL("rebuild", &opts.rebuild, "HOW", convert_parse_rebuild, CONVERT_REBUILD_HELP),
	CLI_SET("no-rebuild", &opts.rebuild, CONVERT_REBUILD_NONE, "the same as --rebuild=none"),
	CLI_BOOL(0, "force", &opts.force,
		 "overwrite a target that holds a partition table or\na filesystem (the message names what it holds)"),
	CLI_BOOL(0, "verify", &opts.verify, "read the target back and compare it with the image"),
	CLI_END,
};

static const char *const exclusive[] = { "fit grow no-resize", NULL };

static const struct cli_command commands[] = {
	{ .name = NULL, .args = "[OPTIONS] IMAGE TARGET_DISK", .min_args = 2, .max_args = 2,
	  .common = CLI_DRY_RUN | CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = options,
	  .exclusive = exclusive,
	  .summary = "deploy a raw guest disk onto a physical disk and make it boot on bare metal",
	  .run = run_v2p },
	{ .run = NULL },
};

static const struct cli_tool tool = {
	.name = "rawkit-v2p",
	.description = "Deploy a raw guest disk onto a physical disk (a block device, or an image\n"
		"file standing for one) of any size, and convert the Linux on it to boot\n"
		"on bare metal.  Only the blocks the image's filesystems use are written;\n"
		"the image is only read.\n",
	.footer = "Exit status: 0 done, 1 failed (refused before writing, or the target is\n"
		"incomplete: said on stderr), 2 usage, 3 done but not everything could be\n"
		"converted or grown.\n",
	.commands = commands,
};

int main(int argc, char **argv)
{
	int rc;

	cli_clean_up_on_signals(guest_mount_abort_all); /* no mount of an XFS guest left behind */
	rc = cli_run(&tool, argc, argv);

	for (size_t i = 0; i < opts.ndrivers; i++)
		free((char *)opts.drivers[i]);
	return rc;
}
