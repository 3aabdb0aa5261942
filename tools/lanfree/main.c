/* main.c --- rawkit-lanfree: its commands' option tables, and dispatch */
#include "cliopt.h"
#include "lanfree.h"

#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef RUN_CONFIG
#define RUN_CONFIG "/etc/rawkit/lanfree.conf"
#endif

struct compress_choice {
	enum compression method;
	int level; /* 0: the default */
};

/* What the options set (the tables below point here). */
static struct {
	const char *name, *level, *to, *against, *config;
	struct cli_list excludes;
	struct compress_choice comp;
	int jobs;
	struct retention keep;
	const char *grow, *volume, *catalog;
	bool new_ids;
	bool snapshot, allow_dirty, overwrite, read_data, long_format, all, syslog, allow_other, foreground, force;
	size_t block_size;
} a = { .level = "incr", .comp = { COMP_ZSTD, 0 }, .block_size = EXPORT_BLOCK_DEFAULT };

static int parse_level(const char *arg, void *value)
{
	if (strcmp(arg, "full") && strcmp(arg, "incr") && strcmp(arg, "diff"))
		return cli_command_usage_error("--level: full, incr or diff, not %s", arg);
	*(const char **)value = arg;
	return 0;
}

/* METHOD or METHOD:LEVEL */
static int parse_compress(const char *arg, void *value)
{
	struct compress_choice *c = value;
	char method[16], *end;
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	long level = 0;

	snprintf(method, sizeof(method), "%.*s", (int)(len < sizeof(method) ? len : sizeof(method) - 1), arg);
	if (len >= sizeof(method) || compression_parse(method, &c->method) < 0)
		return cli_command_usage_error("--compress: zstd, gzip or none (zstd:LEVEL, gzip:LEVEL), not %s", arg);
	if (colon) {
		int max = compression_max_level(c->method);
		errno = 0;
		level = strtol(colon + 1, &end, 10);
		if (!max)
			return cli_command_usage_error("--compress: %s takes no level", method);
		if (errno || end == colon + 1 || *end || level < 1 || level > max)
			return cli_command_usage_error("--compress: %s's level must be 1..%d, not \"%s\"", method, max, colon + 1);
	}
	c->level = (int)level;
	return 0;
}

static int parse_within(const char *arg, void *value)
{
	if (retention_parse_within(arg, value) < 0)
		return cli_command_usage_error("--keep-within: a span such as 7d, 2w, 6m, 1y6m or 36h "
					       "(y, m, w, d, h in that order, not all zero), not \"%s\"", arg);
	return 0;
}

/* BYTES, or a number of KiB (20K) or MiB (1M): a multiple of 512, as tar's records are */
static int parse_block_size(const char *arg, void *value)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (*end == 'K' || *end == 'k')
		n = n > EXPORT_BLOCK_MAX ? 0 : n << 10, end++;
	else if (*end == 'M')
		n = n > EXPORT_BLOCK_MAX ? 0 : n << 20, end++;
	if (errno || arg[0] < '0' || arg[0] > '9' || *end || n < 512 || n > EXPORT_BLOCK_MAX || n % 512)
		return cli_command_usage_error("--block-size: a multiple of 512 from 512 to 1M (10K, 20480), not \"%s\"", arg);
	*(size_t *)value = (size_t)n;
	return 0;
}

static int run_init(char **p, int n, const struct cli_common *c)
{
	/* a repository in RADOS also takes the path of an SQLite file */
	if (a.catalog && !db_is_dsn(a.catalog) && !(imgfmt_rados_is_spec(p[0]) && a.catalog[0] == '/'))
		return cli_command_usage_error("--catalog: a PostgreSQL connection string (postgresql://..., postgres://... "
					       "or host=... dbname=...)%s, not \"%s\"",
					       imgfmt_rados_is_spec(p[0]) ? " or the absolute path of an SQLite file" : "",
					       a.catalog);
	return cmd_init(p[0], a.catalog);
}

static int run_backup(char **p, int n, const struct cli_common *c)
{
	struct backup_opts o = { .repo = p[0], .disk = p[1], .guest = a.name, .level = a.level,
				 .excludes = a.excludes.items, .nexcludes = a.excludes.n, .comp = a.comp.method,
				 .comp_level = a.comp.level,
				 .jobs = a.jobs, .allow_dirty = a.allow_dirty, .json = c->json,
				 .progress = c->progress, .quiet = c->quiet, .snapshot = a.snapshot };
	const char *why;

	if (a.snapshot && !snapshot_spec_ok(o.disk, &why))
		return cli_command_usage_error("--snapshot: %s, not %s", why, o.disk);
	if (!o.jobs) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		o.jobs = cpus < 1 ? 1 : cpus > CLI_JOBS_MAX ? CLI_JOBS_MAX : (int)cpus;
	}
	return cmd_backup(&o);
}

static int run_list(char **p, int n, const struct cli_common *c)
{
	return cmd_list(p[0], n == 2 ? p[1] : NULL, c->json);
}

static int run_ls(char **p, int n, const struct cli_common *c)
{
	return cmd_ls(p[0], p[1], n == 3 ? p[2] : "", a.long_format, c->json);
}

static int run_find(char **p, int n, const struct cli_common *c)
{
	return cmd_find(p[0], p[1], p[2], c->json);
}

static int run_diff(char **p, int n, const struct cli_common *c)
{
	size_t la = strcspn(p[1], "@");

	if (n == 3 && (la != strcspn(p[2], "@") || memcmp(p[1], p[2], la)))
		return cli_command_usage_error("%s and %s: not generations of one guest", p[1], p[2]);
	return cmd_diff(p[0], p[1], n == 3 ? p[2] : NULL, c->json, c->quiet);
}

static int run_restore(char **p, int n, const struct cli_common *c)
{
	struct restore_opts o = { .repo = p[0], .spec = p[1], .to = a.to, .paths = (const char **)p + 2,
				  .npaths = (size_t)(n - 2), .overwrite = a.overwrite, .json = c->json,
				  .progress = c->progress, .quiet = c->quiet };

	return cmd_restore(&o);
}

/* pN: a partition's volume name */
static int parse_grow(const char *arg, void *value)
{
	size_t n = strspn(arg + (arg[0] == 'p'), "0123456789");

	if (arg[0] != 'p' || n == 0 || n > 3 || arg[1 + n] || arg[1] == '0')
		return cli_command_usage_error("--grow: a partition such as p2, not \"%s\"", arg);
	*(const char **)value = arg;
	return 0;
}

static int run_restore_disk(char **p, int n, const struct cli_common *c)
{
	struct restore_disk_opts o = { .repo = p[0], .spec = p[1], .target = p[2], .grow = a.grow, .force = a.force,
				       .volume = a.volume, .new_ids = a.new_ids,
				       .dry_run = c->dry_run, .json = c->json, .progress = c->progress,
				       .quiet = c->quiet };

	if (a.volume && (a.grow || a.new_ids))
		return cli_command_usage_error("--volume and %s are mutually exclusive", a.grow ? "--grow" : "--new-ids");
	return cmd_restore_disk(&o);
}

static int run_export(char **p, int n, const struct cli_common *c)
{
	struct export_opts o = { .repo = p[0], .spec = p[1], .to = a.to, .block_size = a.block_size,
				 .json = c->json, .progress = c->progress, .quiet = c->quiet };

	return cmd_export(&o);
}

static int run_mount(char **p, int n, const struct cli_common *c)
{
	struct mount_opts o = { .repo = p[0], .dir = p[1], .allow_other = a.allow_other, .foreground = a.foreground };

	return cmd_mount(&o);
}

static int run_verify(char **p, int n, const struct cli_common *c)
{
	if (a.against && n != 2)
		return cli_command_usage_error("--against DISK needs GUEST[@GEN]");
	return cmd_verify(p[0], n == 2 ? p[1] : NULL, a.read_data, a.against, c->json, c->quiet);
}

static int run_prune(char **p, int n, const struct cli_common *c)
{
	struct prune_opts o = { .repo = p[0], .guest = n == 2 ? p[1] : NULL, .keep = a.keep,
				.dry_run = c->dry_run, .json = c->json, .quiet = c->quiet };

	if ((n == 2) == a.all)
		return cli_command_usage_error(a.all ? "GUEST and --all are mutually exclusive"
						     : "which guest? (GUEST, or --all for every guest)");
	if (!retention_any(&a.keep))
		return cli_command_usage_error("no retention rule: give --keep-last, --keep-hourly, --keep-daily, "
					       "--keep-weekly, --keep-monthly, --keep-yearly or --keep-within");
	return cmd_prune(&o);
}

/* Every command that opens the repository takes it. */
#define WAIT_LOCK_OPTION                                                                               \
	CLI_INT("wait-lock", &repo_lock_wait, "SECONDS", 0, 86400,                                     \
		"wait up to SECONDS for a lock another run holds\n(default: 0, exit 4 at once)")

static const struct cli_option lock_options[] = {
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option run_options[] = {
	CLI_STRING("config", &a.config, "FILE", "the fleet's file (default: " RUN_CONFIG ")"),
	CLI_BOOL(0, "syslog", &a.syslog, "each result to syslog also on a terminal"),
	WAIT_LOCK_OPTION,
	CLI_END,
};

static const struct cli_option init_options[] = {
	CLI_STRING("catalog", &a.catalog, "DSN", "keep the catalog in this PostgreSQL database\n(postgresql://..., or host=... dbname=...)\ninstead of REPO/catalog.db; for a rados: REPO,\nthis or the absolute path of a new SQLite file"),
	CLI_END,
};

static const struct cli_option backup_options[] = {
	CLI_STRING("name", &a.name, "GUEST", "guest name (default: the disk's file name, or an RBD image's name)"),
	CLI_CALL("level", &a.level, "LEVEL", parse_level,
		 "full, incr (default: against the newest generation)\nor diff (against the newest full)"),
	CLI_LIST("exclude", &a.excludes, "GLOB", "leave out matching paths (p1/var/tmp, *.o); repeatable"),
	CLI_CALL("compress", &a.comp, "METHOD", parse_compress, "zstd (default), gzip or none; METHOD:LEVEL sets\nthe level: zstd 1-19 (default 1, 3 with --jobs 4\nor more), gzip 1-9 (default 6)"),
	CLI_INT("jobs", &a.jobs, "N", 1, CLI_JOBS_MAX, "compression threads (default: the number of CPUs)"),
	CLI_BOOL(0, "allow-dirty", &a.allow_dirty, "back up a filesystem that needs journal recovery"),
	CLI_BOOL(0, "snapshot", &a.snapshot, "DISK is rbd:POOL/IMAGE: snapshot it (rawkit-<UTC time>),\nback up the snapshot, then remove it"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option ls_options[] = {
	CLI_BOOL('l', NULL, &a.long_format, "long listing: mode, uid, gid, size, mtime, name, link target"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option restore_options[] = {
	CLI_STRING_REQUIRED("to", &a.to, "DIR", "where to write (created if missing)"),
	CLI_BOOL(0, "overwrite", &a.overwrite, "replace existing files"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option restore_disk_options[] = {
	CLI_CALL("grow", &a.grow, "pN", parse_grow, "the partition a larger TARGET grows (default:\nthe last ext2/3/4, xfs, ntfs or LVM PV); the\nones after it move"),
	CLI_STRING("volume", &a.volume, "NAME", "remake and fill one volume (p1, or a logical\nvolume's name) on TARGET, a partition or an image\nof one; no table, no boot areas"),
	CLI_BOOL(0, "new-ids", &a.new_ids, "new filesystem, swap, disk and partition ids, and\nevery reference to them rewritten (rawkit-clone's\nfs-uuids and disk-ids): a copy beside the original"),
	CLI_BOOL(0, "force", &a.force, "overwrite a TARGET that holds a partition table\nor a filesystem (all of it is lost)"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option export_options[] = {
	CLI_STRING_REQUIRED("to", &a.to, "FILE|-", "the tar file (replaced once complete), a tape\nor other device, or - for stdout"),
	CLI_CALL("block-size", &a.block_size, "BYTES", parse_block_size,
		 "bytes per record, a multiple of 512 up to 1M\n(default 10K, as tar's; 20K: tar -b 40)"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option mount_options[] = {
	CLI_BOOL(0, "allow-other", &a.allow_other, "let other users in, as the recorded modes allow\n(not root: user_allow_other in /etc/fuse.conf)"),
	CLI_BOOL(0, "foreground", &a.foreground, "serve in the foreground until unmounted or interrupted"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option verify_options[] = {
	CLI_BOOL(0, "read-data", &a.read_data, "decompress every file and check its checksum"),
	CLI_STRING("against", &a.against, "DISK", "compare the generation with what DISK holds now"),
	WAIT_LOCK_OPTION,
	CLI_END,
};
static const struct cli_option prune_options[] = {
	CLI_BOOL(0, "all", &a.all, "every guest in the repository, each by itself"),
	CLI_INT("keep-last", &a.keep.last, "N", 1, 1000000, "keep the N newest generations,"),
	CLI_INT("keep-hourly", &a.keep.hourly, "N", 1, 1000000, "  the newest of each of the last N hours,"),
	CLI_INT("keep-daily", &a.keep.daily, "N", 1, 1000000, "  days,"),
	CLI_INT("keep-weekly", &a.keep.weekly, "N", 1, 1000000, "  ISO weeks,"),
	CLI_INT("keep-monthly", &a.keep.monthly, "N", 1, 1000000, "  months,"),
	CLI_INT("keep-yearly", &a.keep.yearly, "N", 1, 1000000, "  years (that have one, local time),"),
	CLI_CALL("keep-within", &a.keep, "SPAN", parse_within, "  and all less than SPAN older than the newest\n  (SPAN: 1y6m2w3d12h, 7d, 36h...)"),
	WAIT_LOCK_OPTION,
	CLI_END,
};

static int run_run(char **p, int n, const struct cli_common *c)
{
	struct run_opts o = { .config = a.config ? a.config : RUN_CONFIG, .guests = p, .nguests = (size_t)n,
			      .dry_run = c->dry_run, .json = c->json, .quiet = c->quiet, .syslog = a.syslog };

	return cmd_run(&o);
}

static const struct cli_command commands[] = {
	{ .name = "init", .args = "REPO", .min_args = 1, .max_args = 1, .common = CLI_JSON, .options = init_options,
	  .summary = "create an empty repository", .run = run_init },
	{ .name = "backup", .args = "REPO DISK", .min_args = 2, .max_args = 2,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = backup_options,
	  .summary = "back up the filesystems on DISK as a new generation", .run = run_backup },
	{ .name = "list", .args = "REPO [GUEST]", .min_args = 1, .max_args = 2, .common = CLI_JSON,
	  .options = lock_options, .summary = "list the guests, or a guest's generations", .run = run_list },
	{ .name = "ls", .args = "REPO GUEST[@GEN] [PATH]", .min_args = 2, .max_args = 3, .common = CLI_JSON,
	  .options = ls_options, .summary = "list a directory of a generation", .run = run_ls },
	{ .name = "find", .args = "REPO GUEST PATTERN", .min_args = 3, .max_args = 3, .common = CLI_JSON,
	  .options = lock_options, .summary = "find files by name in every generation", .run = run_find },
	{ .name = "diff", .args = "REPO GUEST[@GEN] [GUEST@GEN]", .min_args = 2, .max_args = 3,
	  .common = CLI_JSON | CLI_QUIET, .options = lock_options,
	  .summary = "what changed between two generations of a guest", .run = run_diff },
	{ .name = "restore", .args = "REPO GUEST[@GEN] [PATH...]", .min_args = 2, .max_args = -1,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = restore_options,
	  .summary = "restore a generation, or some of its files, into a directory", .run = run_restore },
	{ .name = "restore-disk", .args = "REPO GUEST[@GEN] TARGET", .min_args = 3, .max_args = 3,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET | CLI_DRY_RUN, .options = restore_disk_options,
	  .summary = "make a generation a whole disk again: partitions, filesystems, boot areas",
	  .run = run_restore_disk },
	{ .name = "export", .args = "REPO GUEST[@GEN]", .min_args = 2, .max_args = 2,
	  .common = CLI_JSON | CLI_PROGRESS | CLI_QUIET, .options = export_options,
	  .summary = "write a generation as one tar stream (a file, a tape)", .run = run_export },
	{ .name = "mount", .args = "REPO DIR", .min_args = 2, .max_args = 2, .options = mount_options,
	  .summary = "every generation as a read-only filesystem on DIR (fusermount3 -u DIR)", .run = run_mount },
	{ .name = "verify", .args = "REPO [GUEST[@GEN]]", .min_args = 1, .max_args = 2,
	  .common = CLI_JSON | CLI_QUIET, .options = verify_options,
	  .summary = "check the repository (and a generation against its disk)", .run = run_verify },
	{ .name = "prune", .args = "REPO [GUEST]", .min_args = 1, .max_args = 2,
	  .common = CLI_JSON | CLI_QUIET | CLI_DRY_RUN, .options = prune_options,
	  .summary = "remove the generations the retention policy does not keep", .run = run_prune },
	{ .name = "run", .args = "[GUEST...]", .min_args = 0, .max_args = -1,
	  .common = CLI_JSON | CLI_QUIET | CLI_DRY_RUN, .options = run_options,
	  .summary = "back up the guests of the fleet's file, with hooks and retention",
	  .run = run_run },
	{ .run = NULL },
};

/* The first argument names a repository rather than a guest: a guest name
 * has no '/', and a directory holding a catalog is one. */
static bool is_repository(const char *arg)
{
	char path[4096];

	if (strchr(arg, '/'))
		return true;
	snprintf(path, sizeof(path), "%s/catalog.db", arg);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/catalog", arg);
	return access(path, F_OK) == 0;
}

static const struct cli_tool tool = {
	.name = "rawkit-lanfree",
	.description = "File-level backup of the filesystems on a raw guest disk, read directly\n"
		"(no mount, no agent in the guest), into a deduplicating repository.\n",
	.footer = "Exit status: 0 done, 1 failed (repository as before), 2 usage, 3 done with warnings,\n"
		  "4 busy (a lock another run holds; nothing done).\n",
	.commands = commands,
	.repo_env = "RAWKIT_REPOSITORY",
	.repo_given = is_repository,
};

int main(int argc, char **argv)
{
	/* Names are bytes; UTF-8 ones go into the archives as UTF-8. */
	setlocale(LC_CTYPE, "C.UTF-8");
	/* The archive's 1 MiB frames and their compressed copies come and go by
	 * the thousand: from the heap, kept for reuse, rather than each its own
	 * mmap whose pages are faulted in and zeroed anew (2 s of CPU in a
	 * 1.7 GB backup). */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	int status = cli_run(&tool, argc, argv);
	const char *why = db_read_failure();

	/* a catalog read that failed half-way (the database gone, a damaged
	 * page) ended some listing early: not "done", whatever it printed */
	if (why && (status == RAWKIT_EXIT_DONE || status == RAWKIT_EXIT_WARNINGS)) {
		cli_error("catalog", "a read failed, so what was listed or done may be incomplete: %s", why);
		status = RAWKIT_EXIT_FAILED;
	}
	return status;
}
