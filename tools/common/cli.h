/* cli.h --- what every rawkit tool shares: messages, exit codes, progress */
#ifndef RAWKIT_CLI_H
#define RAWKIT_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status, as documented in rawkit(7). */
enum {
	RAWKIT_EXIT_DONE = 0,     /* done */
	RAWKIT_EXIT_FAILED = 1,   /* failed; nothing was changed */
	RAWKIT_EXIT_USAGE = 2,    /* usage error */
	RAWKIT_EXIT_WARNINGS = 3, /* done, with warnings */
	RAWKIT_EXIT_BUSY = 4,     /* a lock is held by another run: nothing done */
};

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Name used in messages ("rawkit-info"). */
void cli_set_program(const char *name);
const char *cli_program(void);

/* "PROG: OBJECT: MESSAGE" on stderr, one line (OBJECT may be NULL). */
void cli_error(const char *object, const char *fmt, ...) CLI_PRINTF(2, 3);
void cli_warning(const char *object, const char *fmt, ...) CLI_PRINTF(2, 3);
/* The same from a va_list, for helpers that also count what they print. */
void cli_verror(const char *object, const char *fmt, va_list ap) CLI_PRINTF(2, 0);
void cli_vwarning(const char *object, const char *fmt, va_list ap) CLI_PRINTF(2, 0);
/* HOOK sees every error and warning as it is printed (sanitized; OBJECT may
 * be NULL): --json keeps them for its object (json.c).  NULL: none. */
void cli_set_message_hook(void (*hook)(bool warning, const char *object, const char *message));
/* "PROG: MESSAGE" and a pointer to --help; returns RAWKIT_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Control bytes in S made printable in place (newline/tab: space, others '?'). */
void cli_sanitize(char *s);

/* On SIGTERM, SIGINT and SIGHUP: remove the library's temp files (copy
 * targets, outputs not yet committed), call EXTRA (NULL: none; it must be
 * async-signal-safe), then die of the signal.  A signal ignored from the
 * start (nohup, a background job) stays ignored. */
void cli_clean_up_on_signals(void (*extra)(void));

/* The same for a clean-up that cannot run in a signal handler (SLOW talks
 * to a server: imgfmt_remove_temp_images()): SIGTERM, SIGINT and SIGHUP
 * are blocked in the process (call it before any thread starts: threads
 * inherit the mask; programs started through run_spawn_attr() do not) and
 * a thread waits for them with sigwait(), then runs SLOW, the clean-up and
 * EXTRA, and dies of the signal.  The other threads go on meanwhile: SLOW
 * must stop what it cleans up after.  Returns 0, or -1 when no thread can
 * be started (then the handler of cli_clean_up_on_signals() is installed
 * instead). */
int cli_clean_up_on_signals_in_thread(void (*extra)(void), void (*slow)(void));

/* All LEN bytes of BUF at OFF of FD (short writes and EINTR retried):
 * 0, or -1 with errno set (a write of nothing counts as an error). */
int cli_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* "1.5 GiB" style sizes into BUF (at least 16 bytes). */
const char *cli_human(uint64_t bytes, char *buf, size_t size);

/* Progress line on stderr, redrawn in place; only when enabled. */
struct cli_progress {
	bool enabled;
	bool drawn; /* a line is on the screen: end() finishes it */
	double start, last;
	const char *what;
};
void cli_progress_start(struct cli_progress *p, const char *what, bool enabled);
void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total);
void cli_progress_end(struct cli_progress *p);
double cli_now(void);

#endif
