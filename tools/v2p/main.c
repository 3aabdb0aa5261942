/* main.c --- rawkit-v2p: parse the command line, dispatch */
#include "json.h"
#include "v2p.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: rawkit-v2p [OPTIONS] IMAGE TARGET_DISK\n"
	"Deploy a raw guest disk onto a physical disk (a block device, or an image\n"
	"file standing for one) of any size, and convert the Linux on it to boot\n"
	"on bare metal.  Only the blocks the image's filesystems use are written;\n"
	"the image is only read.\n"
	"\n"
	"  --fit               grow or shrink the last partition and its filesystem\n"
	"                      to the target (the default); a swap partition last\n"
	"                      moves to the end, the filesystem before it resized\n"
	"  --grow              grow only: refuse a smaller target\n"
	"  --no-resize         keep every size: the target must be at least as large\n"
	"  --drivers LIST      storage drivers the initramfs must hold (default:\n"
	"                      ahci,nvme,sd_mod and what this host's disks use)\n"
	"  --no-rebuild        report an initramfs without them, do not rebuild it\n"
	"  --force             overwrite a target that holds a partition table or\n"
	"                      a filesystem (the message names what it holds)\n"
	"  --verify            read the target back and compare it with the image\n"
	"  --dry-run           say what would be done, write nothing\n"
	"  --json              machine-readable summary\n"
	"  --progress          progress on stderr (default when stderr is a terminal)\n"
	"  -q, --quiet         no summary, only warnings and errors\n"
	"  --help              show this help and exit\n"
	"  --version           show the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 failed (refused before writing, or the target is\n"
	"incomplete: said on stderr), 2 usage, 3 done but not everything could be\n"
	"converted or grown.\n";

enum { O_FIT = 256, O_GROW, O_NO_RESIZE, O_DRIVERS, O_NO_REBUILD, O_FORCE, O_VERIFY, O_DRY_RUN, O_JSON, O_PROGRESS,
       O_QUIET, O_HELP, O_VERSION };

static const struct option options[] = {
	{ "fit", no_argument, NULL, O_FIT },
	{ "grow", no_argument, NULL, O_GROW },
	{ "no-resize", no_argument, NULL, O_NO_RESIZE },
	{ "drivers", required_argument, NULL, O_DRIVERS },
	{ "no-rebuild", no_argument, NULL, O_NO_REBUILD },
	{ "force", no_argument, NULL, O_FORCE },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "json", no_argument, NULL, O_JSON },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* "ahci,nvme": module names only (they reach a shell in the appliance). */
static int parse_drivers(struct v2p_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (const char *c = t; *c; c++)
			if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_' && *c != '-') {
				int rc = cli_usage_error("--drivers: \"%s\" is not a module name", t);
				free(copy);
				return rc;
			}
		if (*t && o->ndrivers < V2P_MAX_DRIVERS && !(o->drivers[o->ndrivers++] = strdup(t))) {
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (!o->ndrivers)
		return cli_usage_error("--drivers: no driver named");
	return 0;
}

int main(int argc, char **argv)
{
	struct v2p_opts o = { .resize = V2P_FIT, .progress = isatty(2) };
	int c, rc;

	cli_set_program("rawkit-v2p");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "q", options, NULL)) != -1) {
		switch (c) {
		case O_FIT: o.resize = V2P_FIT; break;
		case O_GROW: o.resize = V2P_GROW; break;
		case O_NO_RESIZE: o.resize = V2P_NO_RESIZE; break;
		case O_DRIVERS:
			if ((rc = parse_drivers(&o, optarg)) != 0)
				return rc > 0 ? rc : RAWKIT_EXIT_FAILED;
			break;
		case O_NO_REBUILD: o.no_rebuild = true; break;
		case O_FORCE: o.force = true; break;
		case O_VERIFY: o.verify = true; break;
		case O_DRY_RUN: o.dry_run = true; break;
		case O_JSON: o.json = true; break;
		case O_PROGRESS: o.progress = true; break;
		case 'q':
		case O_QUIET: o.quiet = true, o.progress = false; break;
		case O_HELP: fputs(usage, stdout); return RAWKIT_EXIT_DONE;
		case O_VERSION: puts("rawkit-v2p " RAWKIT_VERSION); return RAWKIT_EXIT_DONE;
		default: return cli_usage_error("%s: unknown option or missing argument", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(argc - optind < 2 ? "IMAGE and TARGET_DISK needed" : "one IMAGE and one TARGET_DISK");
	if (o.json)
		o.progress = false;
	if (o.json)
		json_mode_begin("v2p");
	if (!o.ndrivers)
		v2p_default_drivers(&o);
	rc = v2p_run(argv[optind], argv[optind + 1], &o);
	for (size_t i = 0; i < o.ndrivers; i++)
		free((char *)o.drivers[i]);
	return json_mode_end(rc);
}
