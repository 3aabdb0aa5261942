/* clihelp.c --- --help of a tool and of each command, from their tables */
#include "cliopt.h"

#include <stdio.h>
#include <string.h>

#define WIDTH 100 /* usage lines wrap here */
#define COLUMN 22 /* where an option's help starts */

static bool takes(const struct cli_command *cmd, unsigned flag)
{
	return flag == 0 || (cmd->common & flag);
}

/* One word of a usage line, wrapped under the first argument. */
static void word(const char *w, size_t indent, size_t *col)
{
	if (*col + 1 + strlen(w) > WIDTH) {
		printf("\n%*s", (int)indent, "");
		*col = indent;
	} else {
		putchar(' ');
		(*col)++;
	}
	fputs(w, stdout);
	*col += strlen(w);
}

/* "[--name GUEST]", "[-l]", "--to DIR", "[--exclude GLOB]..." */
static void option_word(const struct cli_option *o, char *buf, size_t size)
{
	char name[64];

	if (o->long_name)
		snprintf(name, sizeof(name), "--%s%s%s", o->long_name, o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(name, sizeof(name), "-%c%s%s", o->short_name, o->arg ? " " : "", o->arg ? o->arg : "");
	snprintf(buf, size, o->required ? "%s" : "[%s]%s", name, o->type == CLI_OPT_LIST ? "..." : "");
}

/* Every option of CMD as a word of its usage line. */
static void option_words(const struct cli_command *cmd, size_t indent, size_t *col)
{
	char buf[128];

	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++) {
		option_word(o, buf, sizeof(buf));
		word(buf, indent, col);
	}
	if (cmd->common & CLI_DRY_RUN)
		word("[--dry-run]", indent, col);
	if (cmd->common & CLI_JSON)
		word("[--json]", indent, col);
	if ((cmd->common & CLI_PROGRESS) && (cmd->common & CLI_QUIET))
		word("[--progress|--quiet]", indent, col);
	else if (cmd->common & (CLI_PROGRESS | CLI_QUIET))
		word(cmd->common & CLI_QUIET ? "[--quiet]" : "[--progress]", indent, col);
}

/* The usage lines of CMD, one per line of its args, as the man page's
 * SYNOPSIS writes them: a subcommand's options after its arguments, a
 * tool's own before them, none where the args say [OPTIONS]. */
static void usage_lines(const struct cli_tool *tool, const struct cli_command *cmd, const char *lead)
{
	const char *line = cmd->args;

	do {
		size_t len = strcspn(line, "\n"), col, indent;
		bool options = !memmem(line, len, "[OPTIONS]", 9) && !memmem(line, len, "--", 2);
		col = (size_t)printf("%s%s%s%s", lead, tool->name, cmd->name ? " " : "", cmd->name ? cmd->name : "");
		indent = col + 1;
		if (options && !cmd->name)
			option_words(cmd, indent, &col);
		if (len)
			word(strndupa(line, len), indent, &col);
		if (options && cmd->name)
			option_words(cmd, indent, &col);
		putchar('\n');
		lead = "       ";
		line += len + (line[len] == '\n');
	} while (*line);
}

/* "  --name GUEST        guest name ...", continuation lines indented. */
static void option_line(const char *left, const char *help)
{
	int n = printf("  %s", left);

	for (;;) {
		size_t len = strcspn(help, "\n");
		printf("%*s%.*s\n", n < COLUMN ? COLUMN - n : 1, "", (int)len, help);
		if (!help[len])
			break;
		help += len + 1;
		n = 0;
	}
}

static void option_list(const struct cli_command *cmd)
{
	char left[96];

	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++) {
		int n = 0;
		if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c%s", o->short_name, o->long_name ? ", " : "");
		if (o->long_name)
			n += snprintf(left + n, sizeof(left) - (size_t)n, "--%s", o->long_name);
		if (o->arg)
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->arg);
		option_line(left, o->help);
	}
	for (size_t i = 0; i < cli_ncommon; i++) {
		const struct cli_common_option *c = &cli_common_options[i];
		if (!takes(cmd, c->flag))
			continue;
		if (c->short_name)
			snprintf(left, sizeof(left), "-%c, --%s", c->short_name, c->name);
		else
			snprintf(left, sizeof(left), "--%s", c->name);
		option_line(left, c->help);
	}
}

int cli_command_help(const struct cli_tool *tool, const struct cli_command *cmd)
{
	if (!cmd->name)
		return cli_tool_help(tool);
	usage_lines(tool, cmd, "Usage: ");
	printf("%s\n\n", cmd->summary);
	option_list(cmd);
	return RAWKIT_EXIT_DONE;
}

int cli_tool_help(const struct cli_tool *tool)
{
	const struct cli_command *own = NULL;
	const char *lead = "Usage: ";
	bool subcommands = false;

	for (const struct cli_command *c = tool->commands; c->run; c++, lead = "       ") {
		usage_lines(tool, c, lead);
		if (!c->name)
			own = c;
		subcommands |= c->name != NULL;
	}
	fputs(tool->description, stdout);
	if (subcommands) {
		int width = 10; /* the names in one column, two blanks after the longest at least */
		for (const struct cli_command *c = tool->commands; c->run; c++)
			if (c->name && (int)strlen(c->name) + 1 > width)
				width = (int)strlen(c->name) + 1;
		puts("\nCommands:");
		for (const struct cli_command *c = tool->commands; c->run; c++)
			if (c->name)
				printf("  %-*s %s\n", width, c->name, c->summary);
		printf("Run '%s COMMAND --help' for the options of one command.\n", tool->name);
	}
	putchar('\n');
	if (own)
		option_list(own);
	else {
		option_line("-h, --help", "show this help and exit");
		option_line("--version", "show the version and exit");
	}
	if (tool->footer)
		printf("\n%s", tool->footer);
	return RAWKIT_EXIT_DONE;
}
