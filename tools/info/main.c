/* main.c --- rawkit-info: show what rawkit sees on a raw disk */
#include "cli.h"
#include "info.h"
#include "json.h"

#include <getopt.h>
#include <stdio.h>

static const char usage[] =
	"Usage: rawkit-info [--json] DISK\n"
	"Show the partition table, filesystems and used space of a raw disk\n"
	"(image file, block device, partition or LVM volume), read-only.\n"
	"\n"
	"  --json      machine-readable output\n"
	"  --help      show this help and exit\n"
	"  --version   show the version and exit\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;

	cli_set_program("rawkit-info");
	opterr = 0; /* one message of our own */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return RAWKIT_EXIT_DONE;
		case 'V': puts("rawkit-info " RAWKIT_VERSION); return RAWKIT_EXIT_DONE;
		default: return cli_usage_error("%s: unknown option", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(argc == optind ? "no disk given" : "one disk at a time");
	if (json)
		json_mode_begin("info");
	return json_mode_end(info_run(argv[optind], json));
}
