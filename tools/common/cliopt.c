/* cliopt.c --- parse a command's option table with getopt_long, run it */
#include "cliopt.h"
#include "json.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ID_HELP = 256, ID_VERSION, ID_JSON, ID_PROGRESS, ID_QUIET, ID_DRY_RUN, ID_TABLE = 512 };

/* The common options, in --help's order. */
const struct cli_common_option cli_common_options[] = {
	{ CLI_DRY_RUN, "dry-run", 0, ID_DRY_RUN, "say what would be done, change nothing" },
	{ CLI_JSON, "json", 0, ID_JSON, "machine-readable output" },
	{ CLI_PROGRESS, "progress", 0, ID_PROGRESS, "progress on stderr (default when stderr is a terminal)" },
	{ CLI_QUIET, "quiet", 'q', ID_QUIET, "no summary, only warnings and errors" },
	{ 0, "help", 'h', ID_HELP, "show this help and exit" },
	{ 0, "version", 0, ID_VERSION, "show the version and exit" },
};
const size_t cli_ncommon = sizeof(cli_common_options) / sizeof(cli_common_options[0]);
#define NCOMMON cli_ncommon

/* The command being parsed, for messages ("backup: --name needs a value"). */
static const struct cli_command *current;

static int vusage(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!current || !current->name)
		return cli_usage_error("%s", msg);
	cli_error(current->name, "%s", msg);
	fprintf(stderr, "Try '%s %s --help' for more information.\n", cli_program(), current->name);
	return RAWKIT_EXIT_USAGE;
}

int cli_command_usage_error(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vusage(fmt, ap);
	va_end(ap);
	return rc;
}

int cli_finish(int rc)
{
	int err = 0;

	errno = 0;
	if (fflush(stdout) != 0)
		err = errno ? errno : EIO;
	else if (ferror(stdout)) /* an earlier write failed; its errno is gone */
		err = EIO;
	if (fclose(stdout) != 0 && !err && errno != EBADF) /* stdout closed from the start: no output */
		err = errno;
	if (!err)
		return rc;
	cli_error(NULL, "write error: %s", strerror(err));
	return rc == RAWKIT_EXIT_USAGE ? rc : RAWKIT_EXIT_FAILED;
}

static size_t count_options(const struct cli_option *o)
{
	size_t n = 0;

	while (o && o[n].type != CLI_OPT_END)
		n++;
	return n;
}

static bool takes(const struct cli_command *cmd, unsigned flag)
{
	return flag == 0 || (cmd->common & flag);
}

/* getopt_long's table and short string for CMD: its own options, then the
 * common ones it takes. */
static struct option *getopt_table(const struct cli_command *cmd, char *shorts)
{
	size_t n = count_options(cmd->options), k = 0, s = 0;
	struct option *lo = calloc(n + NCOMMON + 1, sizeof(*lo));

	if (!lo)
		return NULL;
	shorts[s++] = ':';
	for (size_t i = 0; i < n; i++) {
		const struct cli_option *o = &cmd->options[i];
		if (o->long_name)
			lo[k++] = (struct option){ o->long_name, o->arg ? required_argument : no_argument, NULL,
						   ID_TABLE + (int)i };
		if (o->short_name) {
			shorts[s++] = (char)o->short_name;
			if (o->arg)
				shorts[s++] = ':';
		}
	}
	for (size_t i = 0; i < NCOMMON; i++)
		if (takes(cmd, cli_common_options[i].flag)) {
			lo[k++] = (struct option){ cli_common_options[i].name, no_argument, NULL, cli_common_options[i].id };
			if (cli_common_options[i].short_name)
				shorts[s++] = (char)cli_common_options[i].short_name;
		}
	shorts[s] = '\0';
	return lo;
}

/* "--name" of what getopt refused at argv[optind - 1] ("-x" for a short one). */
static void offending(char **argv, char *out, size_t size)
{
	const char *a = argv[optind - 1];

	if (optopt && optopt < 256 && !(a[0] == '-' && a[1] == '-'))
		snprintf(out, size, "-%c", optopt);
	else
		snprintf(out, size, "%.*s", (int)strcspn(a, "="), a);
}

static int number(const struct cli_option *o, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (!*arg || *end || errno || v < o->min || v > o->max)
		return cli_command_usage_error("--%s: must be %ld..%ld, not \"%s\"", o->long_name, o->min, o->max,
					       arg);
	*(int *)o->value = (int)v;
	return 0;
}

static int table_option(const struct cli_option *o, const char *arg)
{
	struct cli_list *l;

	switch (o->type) {
	case CLI_OPT_BOOL: *(bool *)o->value = true; return 0;
	case CLI_OPT_SET: *(int *)o->value = (int)o->min; return 0;
	case CLI_OPT_STRING: *(const char **)o->value = arg; return 0;
	case CLI_OPT_INT: return number(o, arg);
	case CLI_OPT_CALL: return o->call(arg, o->value);
	case CLI_OPT_LIST:
		l = o->value;
		l->items[l->n++] = arg; /* room for every argument: see run_command */
		return 0;
	default: return RAWKIT_EXIT_FAILED;
	}
}

struct parsed {
	struct cli_common common;
	bool help, version, explicit_progress;
	bool *seen; /* per table option */
};

static void common_option(int id, struct parsed *p)
{
	for (size_t i = 0; i < NCOMMON; i++)
		if (id == cli_common_options[i].short_name)
			id = cli_common_options[i].id;
	switch (id) {
	case ID_HELP: p->help = true; break;
	case ID_VERSION: p->version = true; break;
	case ID_JSON: p->common.json = true; break;
	case ID_DRY_RUN: p->common.dry_run = true; break;
	/* -q and --progress as they always were: the last one given wins */
	case ID_PROGRESS: p->common.progress = p->explicit_progress = true; break;
	case ID_QUIET: p->common.quiet = true, p->common.progress = p->explicit_progress = false; break;
	}
}

/* The table option getopt returned C for (a long one's id or a short letter). */
static const struct cli_option *find_option(const struct cli_command *cmd, int c, size_t *index)
{
	size_t n = count_options(cmd->options);

	for (size_t i = 0; i < n; i++)
		if ((c >= ID_TABLE && (size_t)(c - ID_TABLE) == i) || (c < 256 && cmd->options[i].short_name == c)) {
			*index = i;
			return &cmd->options[i];
		}
	return NULL;
}

/* The long option getopt_long just matched was written out in full: the
 * word it came from (before a value joined with '=') is its name.  If not,
 * that word (up to '=') into BAD. */
static bool whole_name(char **argv, const struct option *o, char *bad, size_t size)
{
	const char *word = argv[optind - 1];

	if (o->has_arg == required_argument && optarg == argv[optind - 1] && optind >= 2)
		word = argv[optind - 2]; /* --name VALUE: the value came last */
	if (strncmp(word, "--", 2))
		return true; /* not a long option's word (cannot happen) */
	if (strlen(o->name) == strcspn(word + 2, "=") && !strncmp(word + 2, o->name, strlen(o->name)))
		return true;
	snprintf(bad, size, "%.*s", (int)strcspn(word, "="), word);
	return false;
}

static int parse_options(const struct cli_command *cmd, int argc, char **argv, struct parsed *p)
{
	char shorts[128], bad[128];
	struct option *lo = getopt_table(cmd, shorts);
	int c, rc = 0, longindex = -1;

	if (!lo)
		return RAWKIT_EXIT_FAILED;
	opterr = 0; /* one message of our own */
	optind = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, shorts, lo, &longindex)) != -1) {
		const struct cli_option *o;
		size_t i;
		if (c != ':' && c != '?' && longindex >= 0 && !whole_name(argv, &lo[longindex], bad, sizeof(bad))) {
			/* getopt takes "--all" for --allow-dirty: a surprise, not a shorthand */
			rc = cli_command_usage_error("%s: not an option of this command",
						     bad);
			break;
		}
		longindex = -1;
		if (c == ':' || c == '?') {
			offending(argv, bad, sizeof(bad));
			if (c == ':')
				rc = cli_command_usage_error("%s needs a value", bad);
			else if (optopt >= 256) /* --json=yes */
				rc = cli_command_usage_error("%s takes no value", bad);
			else
				rc = cli_command_usage_error("%s: not an option of this command", bad);
		} else if ((o = find_option(cmd, c, &i))) {
			p->seen[i] = true;
			rc = table_option(o, optarg);
		} else
			common_option(c, p);
	}
	free(lo);
	return rc;
}

/* "--a and --b are mutually exclusive" for two options of one group
 * (util-linux's err_exclusive_options). */
static int check_exclusive(const struct cli_command *cmd, const struct parsed *p)
{
	size_t n = count_options(cmd->options);

	for (const char *const *g = cmd->exclusive; g && *g; g++) {
		const char *first = NULL;
		for (size_t i = 0; i < n; i++) {
			const char *name = cmd->options[i].long_name;
			size_t len = name ? strlen(name) : 0;
			const char *at = name ? strstr(*g, name) : NULL;
			if (!p->seen[i] || !at || (at > *g && at[-1] != ' ') || (at[len] && at[len] != ' '))
				continue;
			if (first)
				return cli_command_usage_error("--%s and --%s are mutually exclusive", first, name);
			first = name;
		}
	}
	if (p->common.json && p->explicit_progress) /* --json turns progress off: say so */
		return cli_command_usage_error("--json and --progress are mutually exclusive");
	return 0;
}

static int check_arguments(const struct cli_command *cmd, int nargs, const struct parsed *p)
{
	size_t n = count_options(cmd->options);
	const char *args = cmd->args;

	if (!strncmp(args, "[OPTIONS] ", 10))
		args += 10;
	for (size_t i = 0; i < n; i++)
		if (cmd->options[i].required && !p->seen[i])
			return cli_command_usage_error("--%s %s is required", cmd->options[i].long_name,
						       cmd->options[i].arg);
	if (nargs < cmd->min_args)
		return cli_command_usage_error(nargs ? "too few arguments (%s)" : "no arguments (%s)", args);
	if (cmd->max_args >= 0 && nargs > cmd->max_args)
		return cli_command_usage_error("too many arguments (%s)", args);
	return 0;
}

/* Room for every argument in each CLI_OPT_LIST (freed by free_lists). */
static int alloc_lists(const struct cli_command *cmd, int argc)
{
	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++)
		if (o->type == CLI_OPT_LIST) {
			struct cli_list *l = o->value;
			if (!(l->items = calloc((size_t)argc + 1, sizeof(char *))))
				return -1;
			l->n = 0;
		}
	return 0;
}

static void free_lists(const struct cli_command *cmd)
{
	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++)
		if (o->type == CLI_OPT_LIST) {
			free(((struct cli_list *)o->value)->items);
			((struct cli_list *)o->value)->items = NULL;
		}
}

static int print_version(const struct cli_tool *tool)
{
	printf("%s %s\n", tool->name, RAWKIT_VERSION);
	return RAWKIT_EXIT_DONE;
}

/* The repository from the environment in front of ARGS, when the command
 * takes one and the command line does not give it (cli_tool.repo_env);
 * NULL: ARGS as they are. */
static char **repo_from_env(const struct cli_tool *tool, const struct cli_command *cmd, int *nargs, char **args)
{
	const char *repo = tool->repo_env ? getenv(tool->repo_env) : NULL;
	char **v;

	if (!repo || !*repo || strncmp(cmd->args, "REPO", 4) || (cmd->max_args >= 0 && *nargs >= cmd->max_args))
		return NULL;
	/* with as many arguments as the command needs, the first may be REPO */
	if (*nargs >= cmd->min_args && *nargs > 0 && tool->repo_given && tool->repo_given(args[0]))
		return NULL;
	if (!(v = calloc((size_t)*nargs + 2, sizeof(char *))))
		return NULL;
	v[0] = (char *)repo;
	memcpy(v + 1, args, (size_t)*nargs * sizeof(char *));
	(*nargs)++;
	return v;
}

/* After the options: the checks, then the command.  With --json, everything
 * from here on is one JSON run (the hooks of the JSON writer go here). */
static int run_parsed(const struct cli_tool *tool, const struct cli_command *cmd, int nargs, char **args,
		      struct parsed *p)
{
	char **with_repo = repo_from_env(tool, cmd, &nargs, args);
	int rc;

	if (with_repo)
		args = with_repo;
	if (!(rc = check_exclusive(cmd, p)) && !(rc = check_arguments(cmd, nargs, p))) {
		if (p->common.json && !p->explicit_progress)
			p->common.progress = false;
		rc = cmd->run(args, nargs, &p->common);
	}
	free(with_repo);
	return rc;
}

/* The command's name in --json's "command": a subcommand's own, else the
 * tool's (cli_tool.command_name, or its name without "rawkit-"). */
static const char *json_command(const struct cli_tool *tool, const struct cli_command *cmd)
{
	if (cmd->name)
		return cmd->name;
	if (tool->command_name)
		return tool->command_name;
	return strncmp(tool->name, "rawkit-", 7) ? tool->name : tool->name + 7;
}

/* --json among the options (before "--"): known before getopt runs, so that
 * a usage error in the options is a failed JSON object too. */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

static int run_command(const struct cli_tool *tool, const struct cli_command *cmd, int argc, char **argv)
{
	struct parsed p = { .common.progress = isatty(2) };
	int rc;

	current = cmd;
	if ((cmd->common & CLI_JSON) && wants_json(argc, argv))
		json_mode_begin(json_command(tool, cmd));
	p.seen = calloc(count_options(cmd->options) + 1, sizeof(bool));
	if (!p.seen || alloc_lists(cmd, argc) < 0) {
		cli_error(NULL, "%s", strerror(ENOMEM));
		rc = RAWKIT_EXIT_FAILED;
	} else if ((rc = parse_options(cmd, argc, argv, &p)) == 0)
		rc = p.help ? cli_command_help(tool, cmd)
		   : p.version ? print_version(tool)
			       : run_parsed(tool, cmd, argc - optind, argv + optind, &p);
	free_lists(cmd);
	free(p.seen);
	return rc;
}

static const struct cli_command *find_command(const struct cli_tool *tool, const char *name)
{
	for (const struct cli_command *c = tool->commands; c->run; c++)
		if (name ? c->name && !strcmp(c->name, name) : !c->name)
			return c;
	return NULL;
}

/* Leading arguments a tool takes before its command word: the common
 * options without a value (rawkit-p2v -q send ...).  Returns the index of
 * the first other argument; sets *help and *version. */
static int skip_leading(int argc, char **argv, bool *help, bool *version)
{
	static const char *const plain[] = { "-q", "--quiet", "--json", "--progress", "--dry-run" };
	int i = 1;

	for (; i < argc; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++)
			known |= !strcmp(argv[i], plain[k]);
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			*help = known = true;
		else if (!strcmp(argv[i], "--version"))
			*version = known = true;
		if (!known)
			break;
	}
	return i;
}

/* ARGV without its element AT (the command word), so getopt sees only options
 * and the command's arguments. */
static char **without(int argc, char **argv, int at)
{
	char **v = calloc((size_t)argc + 1, sizeof(char *));

	if (!v)
		return NULL;
	for (int i = 0, k = 0; i < argc; i++)
		if (i != at)
			v[k++] = argv[i];
	return v;
}

static int dispatch(const struct cli_tool *tool, int argc, char **argv)
{
	const struct cli_command *cmd, *own = find_command(tool, NULL);
	bool help = false, version = false;
	int at = skip_leading(argc, argv, &help, &version), rc;
	char **v;

	cmd = at < argc ? find_command(tool, argv[at]) : NULL;
	if (!cmd && own)
		return run_command(tool, own, argc, argv);
	if (!cmd && (help || version))
		return help ? cli_tool_help(tool) : print_version(tool);
	if (!cmd && at < argc && argv[at][0] == '-')
		return cli_usage_error("%s: not an option before a command", argv[at]);
	if (!cmd)
		return at < argc ? cli_usage_error("%s: unknown command", argv[at]) : cli_usage_error("no command");
	if (!(v = without(argc, argv, at))) {
		cli_error(NULL, "%s", strerror(ENOMEM));
		return RAWKIT_EXIT_FAILED;
	}
	rc = run_command(tool, cmd, argc - 1, v);
	free(v);
	return rc;
}

int cli_run(const struct cli_tool *tool, int argc, char **argv)
{
	int rc;

	cli_set_program(tool->name);
	rc = dispatch(tool, argc, argv);
	if (json_mode())
		rc = json_mode_end(rc); /* a failure with nothing printed: the failed object */
	return cli_finish(rc);
}
