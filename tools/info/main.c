/* main.c --- rawkit-info: show what rawkit sees on a raw disk */
#include "cliopt.h"
#include "info.h"

static int run_info(char **args, int nargs, const struct cli_common *c)
{
	return info_run(args[0], c->json);
}

static const struct cli_command commands[] = {
	{ NULL, "DISK", 1, 1, CLI_JSON, NULL, NULL, "show what rawkit sees on a raw disk", run_info },
	{ NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct cli_tool tool = {
	"rawkit-info",
	"Show the partition table, filesystems and used space of a raw disk\n"
	"(image file, block device, partition or LVM volume), read-only.\n",
	NULL,
	commands,
};

int main(int argc, char **argv)
{
	return cli_run(&tool, argc, argv);
}
