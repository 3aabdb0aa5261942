/* run.h --- run a program of this host, without a shell, and collect its output */
#ifndef RAWKIT_RUN_H
#define RAWKIT_RUN_H

#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>

/* Run ARGV (argv[0] looked up in PATH) with stdin from /dev/null; its
 * stdout (and stderr WITH_STDERR, else discarded) into *OUT (NUL-terminated,
 * at most 1 MiB; OUT may be NULL).  Returns the exit status, or -1 when it
 * could not run (or was killed). */
int run_program(char *const argv[], char **out, bool with_stderr);

/* Spawn attributes that start a program with no signal blocked: a tool
 * that waits for SIGTERM, SIGINT and SIGHUP on a thread
 * (cli_clean_up_on_signals_in_thread()) has them blocked, and a child
 * would inherit that.  posix_spawnattr_destroy() it after use. */
void run_spawn_attr(posix_spawnattr_t *sa);

/* OUT's lines joined by spaces, trimmed to SIZE, for a one-line message. */
void run_one_line(const char *out, char *buf, size_t size);

/* The template "DIR/NAME-XXXXXX" for mkstemp()/mkdtemp() into BUF (SIZE
 * bytes): DIR is $TMPDIR when it is set, not empty and leaves the template
 * room in BUF, else FALLBACK ("/tmp"; "/var/tmp" for disk-sized files). */
void run_temp_template(char *buf, size_t size, const char *name, const char *fallback);

#endif
