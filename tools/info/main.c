/* main.c --- rawkit-info: show what rawkit sees on a raw disk */
#include "cliopt.h"
#include "info.h"

static int run_info(char **args, int nargs, const struct cli_common *c)
{
	return info_run(args[0], c->json);
}

static const struct cli_command commands[] = {
	{ .name = NULL, .args = "DISK", .min_args = 1, .max_args = 1, .common = CLI_JSON,
	  .summary = "show what rawkit sees on a raw disk", .run = run_info },
	{ .run = NULL },
};

static const struct cli_tool tool = {
	.name = "rawkit-info",
	.description = "Show the partition table, filesystems and used space of a raw disk\n"
		"(image file, block device, partition, LVM volume, or Ceph RBD image\n"
		"rbd:POOL/IMAGE[@SNAP]), read-only.\n",
	.commands = commands,
};

int main(int argc, char **argv)
{
	return cli_run(&tool, argc, argv);
}
