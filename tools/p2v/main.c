/* main.c --- rawkit-p2v: parse the command line, dispatch */
#include "json.h"
#include "p2v.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: rawkit-p2v [OPTIONS] SOURCE TARGET\n"
	"       rawkit-p2v --in-place [OPTIONS] DISK\n"
	"       rawkit-p2v send [OPTIONS] SOURCE | ssh HOST rawkit-p2v receive [OPTIONS] TARGET\n"
	"Capture a physical server's disk as a raw guest disk (only the blocks its\n"
	"filesystems use; partition table, boot areas and unknown partitions whole)\n"
	"and convert the Linux on it to boot on virtual hardware: device names\n"
	"become UUID= references, MAC pinning goes, and an initramfs without the\n"
	"virtio drivers is rebuilt with the guest's own tool in a libguestfs\n"
	"appliance.  SOURCE is only read.\n"
	"\n"
	"  --in-place          convert DISK itself (the LUN given to the VM), copy nothing\n"
	"  --no-convert        capture (or receive) only\n"
	"  --no-rebuild        report an initramfs without the drivers, do not rebuild it\n"
	"  --compress METHOD   send: zstd (default) or zlib\n"
	"  --overwrite         replace a TARGET file that exists\n"
	"  --dry-run           say what would be copied and converted, write nothing\n"
	"  --json              machine-readable summary (send: on stderr)\n"
	"  --progress          progress on stderr (default when stderr is a terminal)\n"
	"  -q, --quiet         no summary, only warnings and errors\n"
	"  --help              show this help and exit\n"
	"  --version           show the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 failed (no target created), 2 usage, 3 done but not\n"
	"everything could be converted (said on stderr).\n";

enum { O_IN_PLACE = 256, O_NO_CONVERT, O_NO_REBUILD, O_COMPRESS, O_OVERWRITE, O_DRY_RUN, O_JSON, O_PROGRESS,
       O_QUIET, O_HELP, O_VERSION };

static const struct option options[] = {
	{ "in-place", no_argument, NULL, O_IN_PLACE },
	{ "no-convert", no_argument, NULL, O_NO_CONVERT },
	{ "no-rebuild", no_argument, NULL, O_NO_REBUILD },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "overwrite", no_argument, NULL, O_OVERWRITE },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "json", no_argument, NULL, O_JSON },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct p2v_opts o = { .convert = true, .progress = isatty(2), .compress = P2V_ZSTD };
	const char *cmd = NULL;
	int c, n;

	cli_set_program("rawkit-p2v");
	cli_clean_up_on_signals(NULL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "q", options, NULL)) != -1) {
		switch (c) {
		case O_IN_PLACE: o.in_place = true; break;
		case O_NO_CONVERT: o.convert = false; break;
		case O_NO_REBUILD: o.no_rebuild = true; break;
		case O_COMPRESS:
			if (!strcmp(optarg, "zstd"))
				o.compress = P2V_ZSTD;
			else if (!strcmp(optarg, "zlib"))
				o.compress = P2V_ZLIB;
			else
				return cli_usage_error("--compress: \"%s\": zstd or zlib", optarg);
			break;
		case O_OVERWRITE: o.overwrite = true; break;
		case O_DRY_RUN: o.dry_run = true; break;
		case O_JSON: o.json = true; break;
		case O_PROGRESS: o.progress = true; break;
		case 'q':
		case O_QUIET: o.quiet = true, o.progress = false; break;
		case O_HELP: fputs(usage, stdout); return RAWKIT_EXIT_DONE;
		case O_VERSION: puts("rawkit-p2v " RAWKIT_VERSION); return RAWKIT_EXIT_DONE;
		default: return cli_usage_error("%s: unknown option or missing argument", argv[optind - 1]);
		}
	}
	n = argc - optind;
	if (n >= 1 && (!strcmp(argv[optind], "send") || !strcmp(argv[optind], "receive")))
		cmd = argv[optind++], n--;
	if (o.json)
		o.progress = false;
	if (o.json)
		json_mode_begin(cmd ? cmd : o.in_place ? "in-place" : "capture");
	if (cmd && o.in_place)
		return cli_usage_error("--in-place does not go with %s", cmd);
	if (cmd && o.dry_run)
		return cli_usage_error("--dry-run does not go with %s", cmd);
	if (cmd && n != 1)
		return cli_usage_error("%s takes one %s", cmd, !strcmp(cmd, "send") ? "source disk" : "target");
	if (cmd && !strcmp(cmd, "send"))
		return json_mode_end(p2v_send_cmd(argv[optind], &o));
	if (cmd)
		return json_mode_end(p2v_receive_cmd(argv[optind], &o));
	if (o.in_place) {
		if (n != 1)
			return cli_usage_error("--in-place takes one disk");
		if (!o.convert)
			return cli_usage_error("--in-place --no-convert would do nothing");
		return json_mode_end(p2v_in_place(argv[optind], &o));
	}
	if (n != 2)
		return cli_usage_error(n < 2 ? "SOURCE and TARGET needed" : "one SOURCE and one TARGET");
	return json_mode_end(p2v_capture(argv[optind], argv[optind + 1], &o));
}
