/* cliopt.h --- a tool's commands as tables, parsed in one place (getopt_long) */
#ifndef RAWKIT_CLIOPT_H
#define RAWKIT_CLIOPT_H

#include "cli.h"

#include <stdbool.h>
#include <stddef.h>

/* What an option does with its value (git's parse_options types). */
enum cli_option_type {
	CLI_OPT_END,
	CLI_OPT_BOOL,   /* bool *value = true */
	CLI_OPT_SET,    /* int *value = min (one of several choices: --fit, --grow) */
	CLI_OPT_STRING, /* const char **value = the argument (the last one given) */
	CLI_OPT_LIST,   /* struct cli_list *value gets each argument (repeatable) */
	CLI_OPT_INT,    /* int *value = the argument, a number in min..max */
	CLI_OPT_CALL,   /* call(argument, value): 0, or the exit status after a message */
};

struct cli_option {
	enum cli_option_type type;
	int short_name;        /* 'l', or 0 */
	const char *long_name; /* "keep-daily", or NULL for a short one only */
	void *value;
	const char *arg;       /* the value's name in --help ("N"); NULL: takes no value */
	const char *help;      /* what it does; '\n' starts a continuation line */
	long min, max;
	int (*call)(const char *arg, void *value);
	bool required;         /* the command refuses to run without it */
};

#define CLI_BOOL(s, l, v, h) { CLI_OPT_BOOL, s, l, v, NULL, h, 0, 0, NULL, false }
#define CLI_SET(l, v, n, h) { CLI_OPT_SET, 0, l, v, NULL, h, n, n, NULL, false }
#define CLI_STRING(l, v, a, h) { CLI_OPT_STRING, 0, l, v, a, h, 0, 0, NULL, false }
#define CLI_STRING_REQUIRED(l, v, a, h) { CLI_OPT_STRING, 0, l, v, a, h, 0, 0, NULL, true }
#define CLI_LIST(l, v, a, h) { CLI_OPT_LIST, 0, l, v, a, h, 0, 0, NULL, false }
#define CLI_INT(l, v, a, lo, hi, h) { CLI_OPT_INT, 0, l, v, a, h, lo, hi, NULL, false }
#define CLI_INT_REQUIRED(l, v, a, lo, hi, h) { CLI_OPT_INT, 0, l, v, a, h, lo, hi, NULL, true }
#define CLI_CALL(l, v, a, fn, h) { CLI_OPT_CALL, 0, l, v, a, h, 0, 0, fn, false }
#define CLI_END { CLI_OPT_END, 0, NULL, NULL, NULL, NULL, 0, 0, NULL, false }

/* The one range of --jobs in every tool. */
#define CLI_JOBS_MAX 1024

/* The arguments of a repeatable option (CLI_OPT_LIST); cli_run frees them. */
struct cli_list {
	const char **items;
	size_t n;
};

/* The options every tool parses the same way; a command says which it takes.
 * -h/--help and --version are always taken. */
enum {
	CLI_JSON = 1 << 0,     /* --json (turns the default progress off) */
	CLI_PROGRESS = 1 << 1, /* --progress (default: stderr is a terminal) */
	CLI_QUIET = 1 << 2,    /* -q, --quiet (no summary; turns progress off) */
	CLI_DRY_RUN = 1 << 3,  /* --dry-run */
};

struct cli_common {
	bool json, progress, quiet, dry_run;
};

/* One command: a subcommand ("backup"), or the tool's own (name NULL). */
struct cli_command {
	const char *name;
	const char *args;     /* its arguments as the man page's SYNOPSIS writes them */
	int min_args, max_args; /* max_args -1: any number */
	unsigned common;      /* CLI_JSON | ... */
	const struct cli_option *options;
	const char *const *exclusive; /* groups of long names, "fit grow no-resize"; NULL-ended */
	const char *summary;  /* one line */
	int (*run)(char **args, int nargs, const struct cli_common *common);
};

struct cli_tool {
	const char *name;        /* "rawkit-lanfree" */
	const char *description; /* --help's paragraph after the usage lines */
	const char *footer;      /* the exit status line(s) */
	const struct cli_command *commands; /* ended by an entry with run NULL */
	const char *command_name; /* its own command in --json's "command" (NULL: name without "rawkit-") */
	/* An environment variable that stands for the first argument of the
	 * commands whose arguments start with REPO (RAWKIT_REPOSITORY), as
	 * RESTIC_REPOSITORY does; the command line's wins: the variable is put
	 * in front when an argument is missing, and not when the arguments are
	 * as many as the command takes; in between, unless REPO_GIVEN says the
	 * first argument is a repository. */
	const char *repo_env;
	bool (*repo_given)(const char *arg);
};

/* Parse ARGV for TOOL's commands and run the chosen one: the whole of a
 * tool's main().  A usage error is one line plus a pointer to --help, exit
 * RAWKIT_EXIT_USAGE; --help and --version print to stdout and exit 0.  The
 * exit status goes through cli_finish(). */
int cli_run(const struct cli_tool *tool, int argc, char **argv);

/* The end of every run: a failed write or close of stdout (a full disk) is
 * "PROG: write error: WHY" and RAWKIT_EXIT_FAILED; else RC. */
int cli_finish(int rc);

/* The message a handler gives for its own usage checks: "PROG: CMD: ..." and
 * the pointer to --help (CMD: the command being run, if a subcommand). */
int cli_command_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* clihelp.c: --help of the whole tool (usage lines, commands, its own
 * command's options), and of one command; both return RAWKIT_EXIT_DONE. */
int cli_tool_help(const struct cli_tool *tool);
int cli_command_help(const struct cli_tool *tool, const struct cli_command *cmd);

/* The common options (cliopt.c), in --help's order; FLAG 0: every command. */
struct cli_common_option {
	unsigned flag;
	const char *name;
	int short_name, id;
	const char *help;
};
extern const struct cli_common_option cli_common_options[];
extern const size_t cli_ncommon;

#endif
