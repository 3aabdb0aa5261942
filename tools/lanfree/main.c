/* main.c --- rawkit-lanfree: parse the command line, dispatch */
#include "lanfree.h"

#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: rawkit-lanfree init    REPO\n"
	"       rawkit-lanfree backup  REPO DISK [--name GUEST] [--level full|incr|diff] [--exclude GLOB]...\n"
	"                              [--compress zstd|gzip|none] [--jobs N] [--allow-dirty] [--json]\n"
	"                              [--progress|--quiet]\n"
	"       rawkit-lanfree list    REPO [GUEST] [--json]\n"
	"       rawkit-lanfree ls      REPO GUEST[@GEN] [PATH] [-l] [--json]\n"
	"       rawkit-lanfree find    REPO GUEST PATTERN [--json]\n"
	"       rawkit-lanfree restore REPO GUEST[@GEN] [PATH...] --to DIR [--overwrite] [--json] [--progress|--quiet]\n"
	"       rawkit-lanfree verify  REPO [GUEST[@GEN]] [--read-data] [--against DISK] [--json]\n"
	"       rawkit-lanfree prune   REPO GUEST --keep-last N [--keep-daily N] [--keep-weekly N]\n"
	"                              [--keep-monthly N] [--dry-run] [--json]\n"
	"File-level backup of the filesystems on a raw guest disk, read directly\n"
	"(no mount, no agent in the guest), into a deduplicating repository.\n"
	"\n"
	"  --name GUEST        guest name (default: the disk's file name)\n"
	"  --level LEVEL       full, incr (default: against the newest generation)\n"
	"                      or diff (against the newest full)\n"
	"  --exclude GLOB      leave out matching paths (p1/var/tmp, *.o); repeatable\n"
	"  --compress METHOD   zstd (default), gzip or none\n"
	"  --jobs N            compression threads (default: the number of CPUs)\n"
	"  --allow-dirty       back up a filesystem that needs journal recovery\n"
	"  --to DIR            where restore writes (created if missing)\n"
	"  --overwrite         let restore replace existing files\n"
	"  --read-data         verify: decompress every file and check its checksum\n"
	"  --against DISK      verify: compare the generation with what DISK holds now\n"
	"  --keep-last N       prune: keep the N newest generations (and the ones\n"
	"  --keep-daily N        the newest of each of the last N days,\n"
	"  --keep-weekly N       weeks,\n"
	"  --keep-monthly N      months)\n"
	"  --dry-run           prune: say what would go, change nothing\n"
	"  -l                  ls: long listing\n"
	"  --json              machine-readable output\n"
	"  --progress          progress on stderr (default when stderr is a terminal)\n"
	"  -q, --quiet         no summary, only warnings and errors\n"
	"  --help              show this help and exit\n"
	"  --version           show the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 failed (repository as before), 2 usage, 3 done with warnings.\n";

enum { O_NAME = 256, O_LEVEL, O_EXCLUDE, O_COMPRESS, O_JOBS, O_ALLOW_DIRTY, O_JSON, O_PROGRESS, O_QUIET, O_TO,
       O_OVERWRITE, O_READ_DATA, O_AGAINST, O_KEEP_LAST, O_KEEP_DAILY, O_KEEP_WEEKLY, O_KEEP_MONTHLY, O_DRY_RUN,
       O_HELP, O_VERSION };

static const struct option options[] = {
	{ "name", required_argument, NULL, O_NAME },
	{ "level", required_argument, NULL, O_LEVEL },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "allow-dirty", no_argument, NULL, O_ALLOW_DIRTY },
	{ "json", no_argument, NULL, O_JSON },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "to", required_argument, NULL, O_TO },
	{ "overwrite", no_argument, NULL, O_OVERWRITE },
	{ "read-data", no_argument, NULL, O_READ_DATA },
	{ "against", required_argument, NULL, O_AGAINST },
	{ "keep-last", required_argument, NULL, O_KEEP_LAST },
	{ "keep-daily", required_argument, NULL, O_KEEP_DAILY },
	{ "keep-weekly", required_argument, NULL, O_KEEP_WEEKLY },
	{ "keep-monthly", required_argument, NULL, O_KEEP_MONTHLY },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *name, *level, *compress, *to, *against;
	const char **excludes;
	size_t nexcludes;
	int jobs, keep_last, keep_daily, keep_weekly, keep_monthly;
	bool allow_dirty, json, progress, quiet, overwrite, read_data, dry_run, long_format;
	char **pos;
	int npos;
};

static int number(const char *opt, const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 1000000)
		return cli_usage_error("%s: not a number: %s", opt, s);
	*out = (int)v;
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	int c, rc = 0;

	a->level = "incr";
	a->compress = "zstd";
	a->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	a->keep_last = -1;
	a->progress = isatty(2);
	a->excludes = calloc((size_t)argc, sizeof(char *));
	if (!a->excludes)
		return RAWKIT_EXIT_FAILED;
	opterr = 0; /* one message of our own */
	while (rc == 0 && (c = getopt_long(argc, argv, ":lq", options, NULL)) != -1) {
		switch (c) {
		case O_NAME: a->name = optarg; break;
		case O_LEVEL: a->level = optarg; break;
		case O_EXCLUDE: a->excludes[a->nexcludes++] = optarg; break;
		case O_COMPRESS: a->compress = optarg; break;
		case O_JOBS: rc = number("--jobs", optarg, &a->jobs); break;
		case O_ALLOW_DIRTY: a->allow_dirty = true; break;
		case O_JSON: a->json = true; break;
		case O_PROGRESS: a->progress = true; break;
		case 'q':
		case O_QUIET: a->quiet = true; a->progress = false; break;
		case O_TO: a->to = optarg; break;
		case O_OVERWRITE: a->overwrite = true; break;
		case O_READ_DATA: a->read_data = true; break;
		case O_AGAINST: a->against = optarg; break;
		case O_KEEP_LAST: rc = number("--keep-last", optarg, &a->keep_last); break;
		case O_KEEP_DAILY: rc = number("--keep-daily", optarg, &a->keep_daily); break;
		case O_KEEP_WEEKLY: rc = number("--keep-weekly", optarg, &a->keep_weekly); break;
		case O_KEEP_MONTHLY: rc = number("--keep-monthly", optarg, &a->keep_monthly); break;
		case O_DRY_RUN: a->dry_run = true; break;
		case 'l': a->long_format = true; break;
		case O_HELP: fputs(usage, stdout); exit(RAWKIT_EXIT_DONE);
		case O_VERSION: puts("rawkit-lanfree " RAWKIT_VERSION); exit(RAWKIT_EXIT_DONE);
		case ':': rc = cli_usage_error("%s: needs a value", argv[optind - 1]); break;
		default: rc = cli_usage_error("%s: unknown option", argv[optind - 1]); break;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	if (a->json)
		a->progress = false;
	return rc;
}

static int dispatch(struct args *a)
{
	const char *cmd = a->npos ? a->pos[0] : NULL;
	int n = a->npos - 1;
	char **p = a->pos + 1;

	if (!cmd)
		return cli_usage_error("no command");
	if (!strcmp(cmd, "init"))
		return n == 1 ? cmd_init(p[0]) : cli_usage_error("init: REPO");
	if (!strcmp(cmd, "backup")) {
		struct backup_opts o = { .repo = p[0], .disk = n > 1 ? p[1] : NULL, .guest = a->name,
					 .level = a->level, .excludes = a->excludes, .nexcludes = a->nexcludes,
					 .jobs = a->jobs < 1 ? 1 : a->jobs, .allow_dirty = a->allow_dirty,
					 .json = a->json, .progress = a->progress, .quiet = a->quiet };
		if (n != 2)
			return cli_usage_error("backup: REPO DISK");
		if (strcmp(a->level, "full") && strcmp(a->level, "incr") && strcmp(a->level, "diff"))
			return cli_usage_error("--level: full, incr or diff, not %s", a->level);
		if (compression_parse(a->compress, &o.comp) < 0)
			return cli_usage_error("--compress: zstd, gzip or none, not %s", a->compress);
		return cmd_backup(&o);
	}
	if (!strcmp(cmd, "list"))
		return n == 1 || n == 2 ? cmd_list(p[0], n == 2 ? p[1] : NULL, a->json)
					: cli_usage_error("list: REPO [GUEST]");
	if (!strcmp(cmd, "ls"))
		return n == 2 || n == 3 ? cmd_ls(p[0], p[1], n == 3 ? p[2] : "", a->long_format, a->json)
					: cli_usage_error("ls: REPO GUEST[@GEN] [PATH]");
	if (!strcmp(cmd, "find"))
		return n == 3 ? cmd_find(p[0], p[1], p[2], a->json) : cli_usage_error("find: REPO GUEST PATTERN");
	if (!strcmp(cmd, "restore")) {
		struct restore_opts o = { .repo = p[0], .spec = n > 1 ? p[1] : NULL, .to = a->to,
					  .paths = (const char **)p + 2, .npaths = n > 2 ? (size_t)(n - 2) : 0,
					  .overwrite = a->overwrite, .json = a->json, .progress = a->progress,
					  .quiet = a->quiet };
		if (n < 2)
			return cli_usage_error("restore: REPO GUEST[@GEN] [PATH...] --to DIR");
		if (!a->to)
			return cli_usage_error("restore: --to DIR is required");
		return cmd_restore(&o);
	}
	if (!strcmp(cmd, "verify")) {
		if (n != 1 && n != 2)
			return cli_usage_error("verify: REPO [GUEST[@GEN]]");
		if (a->against && n != 2)
			return cli_usage_error("verify --against DISK needs GUEST[@GEN]");
		return cmd_verify(p[0], n == 2 ? p[1] : NULL, a->read_data, a->against, a->json);
	}
	if (!strcmp(cmd, "prune")) {
		struct prune_opts o = { .repo = p[0], .guest = n > 1 ? p[1] : NULL, .keep_last = a->keep_last,
					.keep_daily = a->keep_daily, .keep_weekly = a->keep_weekly,
					.keep_monthly = a->keep_monthly, .dry_run = a->dry_run, .json = a->json };
		if (n != 2)
			return cli_usage_error("prune: REPO GUEST --keep-last N");
		if (a->keep_last < 1)
			return cli_usage_error("prune: --keep-last N (at least 1) is required");
		return cmd_prune(&o);
	}
	return cli_usage_error("%s: unknown command", cmd);
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int rc;

	cli_set_program("rawkit-lanfree");
	/* Names are bytes; UTF-8 ones go into the archives as UTF-8. */
	setlocale(LC_CTYPE, "C.UTF-8");
	rc = parse(argc, argv, &a);
	if (rc == 0 && a.json)
		json_mode_begin(a.npos ? a.pos[0] : NULL);
	if (rc == 0)
		rc = dispatch(&a);
	free(a.excludes);
	return json_mode_end(rc);
}
