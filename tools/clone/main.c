/* main.c --- rawkit-clone: parse the command line, dispatch */
#include "clone.h"
#include "json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"Usage: rawkit-clone [OPTIONS] GOLDEN TARGET...\n"
	"       rawkit-clone --in-place [OPTIONS] DISK\n"
	"       rawkit-clone --list-operations\n"
	"Copy a golden raw guest disk to new guest disks and personalize each one\n"
	"by editing its filesystems directly (no helper VM): host name, machine-id,\n"
	"SSH host keys, MAC pinning, logs, and new filesystem and partition\n"
	"identities with every reference to them updated.  The golden disk is only\n"
	"read.  A TARGET is a new file (created sparse, reflinked where the\n"
	"filesystem allows) or an existing block device at least as large.\n"
	"\n"
	"  --hostname NAME       host name; with several targets a printf-style\n"
	"                        number: web%02d gives web01, web02, ...\n"
	"  --operations LIST     operations to run, comma separated: names, -name,\n"
	"                        defaults, none (default: all of them)\n"
	"  --list-operations     show the operations and what each one does\n"
	"  --ssh-key FILE        add the public key in FILE to root's authorized_keys\n"
	"  --in-place            personalize DISK itself, copy nothing\n"
	"  --overwrite           replace TARGET files that exist\n"
	"  --jobs N              targets written from each read of the golden disk\n"
	"                        (default: all of them)\n"
	"  --dry-run             say what would be done, write nothing\n"
	"  --json                machine-readable output\n"
	"  --progress            progress on stderr (default when stderr is a terminal)\n"
	"  -q, --quiet           no summary, only warnings and errors\n"
	"  --help                show this help and exit\n"
	"  --version             show the version and exit\n"
	"\n"
	"Exit status: 0 done, 1 failed (failed targets are not created), 2 usage,\n"
	"3 done with warnings (something could not be personalized).\n";

enum { O_HOSTNAME = 256, O_OPERATIONS, O_LIST_OPS, O_SSH_KEY, O_IN_PLACE, O_OVERWRITE, O_JOBS, O_DRY_RUN, O_JSON,
       O_PROGRESS, O_QUIET, O_HELP, O_VERSION };

static const struct option options[] = {
	{ "hostname", required_argument, NULL, O_HOSTNAME },
	{ "operations", required_argument, NULL, O_OPERATIONS },
	{ "list-operations", no_argument, NULL, O_LIST_OPS },
	{ "ssh-key", required_argument, NULL, O_SSH_KEY },
	{ "in-place", no_argument, NULL, O_IN_PLACE },
	{ "overwrite", no_argument, NULL, O_OVERWRITE },
	{ "jobs", required_argument, NULL, O_JOBS },
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "json", no_argument, NULL, O_JSON },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

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

int main(int argc, char **argv)
{
	struct clone_opts o = { .progress = isatty(2) };
	const char *hostname = NULL;
	char err[256], name[256];
	int c, rc;

	cli_set_program("rawkit-clone");
	ops_defaults(o.ops);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "q", options, NULL)) != -1) {
		switch (c) {
		case O_HOSTNAME: hostname = optarg; break;
		case O_OPERATIONS:
			if (ops_parse(optarg, o.ops, err, sizeof(err)) < 0)
				return cli_usage_error("%s", err);
			break;
		case O_LIST_OPS: list_operations(); return RAWKIT_EXIT_DONE;
		case O_SSH_KEY: o.ssh_key = optarg; break;
		case O_IN_PLACE: o.in_place = true; break;
		case O_OVERWRITE: o.overwrite = true; break;
		case O_JOBS: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1024)
				return cli_usage_error("--jobs: \"%s\" is not a number from 1 to 1024", optarg);
			o.jobs = (int)v;
			break;
		}
		case O_DRY_RUN: o.dry_run = true; break;
		case O_JSON: o.json = true; break;
		case O_PROGRESS: o.progress = true; break;
		case 'q':
		case O_QUIET: o.quiet = true, o.progress = false; break;
		case O_HELP: fputs(usage, stdout); return RAWKIT_EXIT_DONE;
		case O_VERSION: puts("rawkit-clone " RAWKIT_VERSION); return RAWKIT_EXIT_DONE;
		default: return cli_usage_error("%s: unknown option or missing argument", argv[optind - 1]);
		}
	}
	if (o.in_place && argc - optind != 1)
		return cli_usage_error("--in-place takes one disk");
	if (!o.in_place && argc - optind < 2)
		return cli_usage_error(argc == optind ? "no golden disk given" : "no target given");
	if (!o.in_place && check_targets(argv + optind + 1, (size_t)(argc - optind - 1)))
		return RAWKIT_EXIT_USAGE;
	if (o.in_place && o.overwrite)
		return cli_usage_error("--overwrite has no meaning with --in-place");
	if (hostname && hostname_format(hostname, 0, o.in_place ? 1 : (size_t)(argc - optind - 1), name, sizeof(name),
					err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	if (o.json)
		o.progress = false;
	if (o.json)
		json_mode_begin("clone");
	if (o.ssh_key && read_ssh_key(o.ssh_key, &o.ssh_key_data) < 0)
		return RAWKIT_EXIT_FAILED;
	cli_clean_up_on_signals(keys_remove_all);
	if (o.in_place)
		rc = clone_run(argv[optind], argv + optind, 1, hostname, &o);
	else
		rc = clone_run(argv[optind], argv + optind + 1, (size_t)(argc - optind - 1), hostname, &o);
	free(o.ssh_key_data);
	return json_mode_end(rc);
}
