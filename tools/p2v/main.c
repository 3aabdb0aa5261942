/* main.c --- rawkit-p2v: its commands' option tables, and dispatch */
#include "cliopt.h"
#include "json.h"
#include "mount.h"
#include "p2v.h"

#include <string.h>

/* What the options set (the tables below point here). */
static struct p2v_opts o = { .convert = true, .compress = P2V_ZSTD };
static bool no_convert;

static int parse_compress(const char *arg, void *value)
{
	if (!strcmp(arg, "zstd"))
		*(int *)value = P2V_ZSTD;
	else if (!strcmp(arg, "zlib"))
		*(int *)value = P2V_ZLIB;
	else
		return cli_command_usage_error("--compress: \"%s\": zstd or zlib", arg);
	return 0;
}

static void common(const struct cli_common *c)
{
	o.convert = !no_convert;
	o.dry_run = c->dry_run, o.json = c->json, o.progress = c->progress, o.quiet = c->quiet;
}

static int run_capture(char **args, int nargs, const struct cli_common *c)
{
	common(c);
	if (o.in_place) {
		if (json_mode())
			json_mode_begin("in-place"); /* the same options, another command in --json */
		if (nargs != 1)
			return cli_usage_error("--in-place takes one disk");
		if (!o.convert)
			return cli_usage_error("--in-place --no-convert would do nothing");
		return p2v_in_place(args[0], &o);
	}
	if (nargs != 2)
		return cli_usage_error(nargs < 2 ? "SOURCE and TARGET needed" : "one SOURCE and one TARGET");
	return p2v_capture(args[0], args[1], &o);
}

static int run_send(char **args, int nargs, const struct cli_common *c)
{
	common(c);
	return p2v_send_cmd(args[0], &o);
}

static int run_receive(char **args, int nargs, const struct cli_common *c)
{
	common(c);
	return p2v_receive_cmd(args[0], &o);
}

#define NO_CONVERT CLI_BOOL(0, "no-convert", &no_convert, "capture (or receive) only")
#define NO_REBUILD \
	CLI_CALL("rebuild", &o.rebuild, "HOW", convert_parse_rebuild, CONVERT_REBUILD_HELP), \
	CLI_SET("no-rebuild", &o.rebuild, CONVERT_REBUILD_NONE, "the same as --rebuild=none")
#define OVERWRITE CLI_BOOL(0, "overwrite", &o.overwrite, "replace a TARGET file that exists")

static const struct cli_option capture_options[] = {
	CLI_BOOL(0, "in-place", &o.in_place, "convert DISK itself (the LUN given to the VM), copy nothing"),
	NO_CONVERT, NO_REBUILD, OVERWRITE, CLI_END,
};
static const struct cli_option send_options[] = {
	CLI_CALL("compress", &o.compress, "METHOD", parse_compress, "zstd (default) or zlib"),
	CLI_END,
};
static const struct cli_option receive_options[] = { NO_CONVERT, NO_REBUILD, OVERWRITE, CLI_END };
static const char *const exclusive[] = { "in-place overwrite", NULL };

static const struct cli_command commands[] = {
	{ .name = NULL, .args = "[OPTIONS] SOURCE TARGET\n--in-place [OPTIONS] DISK", .min_args = 0,
	  .max_args = -1, .common = CLI_DRY_RUN | CLI_JSON | CLI_PROGRESS | CLI_QUIET,
	  .options = capture_options, .exclusive = exclusive,
	  .summary = "capture a physical disk as a raw guest disk and convert it", .run = run_capture },
	{ .name = "send", .args = "[OPTIONS] SOURCE", .min_args = 1, .max_args = 1,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = send_options,
	  .summary = "write SOURCE's used blocks as a stream on stdout (the summary on stderr)",
	  .run = run_send },
	{ .name = "receive", .args = "[OPTIONS] TARGET", .min_args = 1, .max_args = 1,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = receive_options,
	  .summary = "write the stream on stdin to TARGET and convert it", .run = run_receive },
	{ .run = NULL },
};

static const struct cli_tool tool = {
	.name = "rawkit-p2v",
	.description = "Capture a physical server's disk as a raw guest disk (only the blocks its\n"
		"filesystems use; partition table, boot areas and unknown partitions whole)\n"
		"and convert the Linux on it to boot on virtual hardware: device names\n"
		"become UUID= references, MAC pinning goes, and the guest's own virtio\n"
		"modules are added to an initramfs that lacks them (no VM; or it is\n"
		"rebuilt with the guest's own tool in a libguestfs appliance).\n"
		"SOURCE is only read.\n",
	.footer = "Exit status: 0 done, 1 failed (no target created), 2 usage, 3 done but not\n"
		"everything could be converted (said on stderr).\n",
	.commands = commands,
	.command_name = "capture",
};

int main(int argc, char **argv)
{
	cli_clean_up_on_signals(guest_mount_abort_all); /* no mount of an XFS guest left behind */
	return cli_run(&tool, argc, argv);
}
