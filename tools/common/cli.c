/* cli.c --- messages, exit codes and progress for the rawkit tools */
#include "cli.h"
#include "imgfmt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *program = "rawkit";

void cli_set_program(const char *name)
{
	program = name;
}

const char *cli_program(void)
{
	return program;
}

/* Control bytes (from a guest's file names, say) never reach the terminal:
 * a newline becomes a space (one line, always), the others '?'. */
void cli_sanitize(char *s)
{
	for (unsigned char *c = (unsigned char *)s; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
		else if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static void (*message_hook)(bool warning, const char *object, const char *message);

void cli_set_message_hook(void (*hook)(bool warning, const char *object, const char *message))
{
	message_hook = hook;
}

static void say_kind(bool warning, const char *object, const char *fmt, va_list ap)
{
	char msg[1024], obj[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	cli_sanitize(msg);
	if (object) {
		snprintf(obj, sizeof(obj), "%s", object);
		cli_sanitize(obj);
	}
	if (message_hook)
		message_hook(warning, object ? obj : NULL, msg);
	fprintf(stderr, "%s: %s%s%s%s\n", program, object ? obj : "", object ? ": " : "", warning ? "warning: " : "",
		msg);
}

static void say(const char *object, const char *fmt, va_list ap)
{
	say_kind(false, object, fmt, ap);
}

void cli_verror(const char *object, const char *fmt, va_list ap)
{
	say(object, fmt, ap);
}

void cli_error(const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(object, fmt, ap);
	va_end(ap);
}

void cli_vwarning(const char *object, const char *fmt, va_list ap)
{
	say_kind(true, object, fmt, ap);
}

void cli_warning(const char *object, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarning(object, fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(NULL, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", program);
	return RAWKIT_EXIT_USAGE;
}

const char *cli_human(uint64_t bytes, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_start(struct cli_progress *p, const char *what, bool enabled)
{
	p->enabled = enabled;
	p->drawn = false;
	p->start = p->last = cli_now();
	p->what = what;
}

void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total)
{
	char d[16], t[16], r[16];
	double now = cli_now(), elapsed = now - p->start, rate;
	long eta;

	if (!p->enabled || (now - p->last < 0.2 && done < total))
		return;
	p->last = now;
	p->drawn = true;
	rate = elapsed > 0 ? (double)done / elapsed : 0;
	if (total == 0) { /* nothing to measure against: no percentage, no ETA */
		fprintf(stderr, "\r%s: %s  %s/s   ", p->what, cli_human(done, d, sizeof(d)),
			cli_human((uint64_t)rate, r, sizeof(r)));
		fflush(stderr);
		return;
	}
	eta = total > done && rate > 0 ? (long)((double)(total - done) / rate) : 0;
	fprintf(stderr, "\r%s: %s / %s  %3.0f%%  %s/s  ETA %ld:%02ld   ", p->what, cli_human(done, d, sizeof(d)),
		cli_human(total, t, sizeof(t)), total ? 100.0 * (double)done / (double)total : 100.0,
		cli_human((uint64_t)rate, r, sizeof(r)), eta / 60, eta % 60);
	fflush(stderr);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->enabled && p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}

int cli_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static void (*signal_extra)(void);

/* Killed half-way, a tool leaves no temp target behind (async-signal-safe
 * calls only). */
static void clean_up(void)
{
	imgfmt_remove_temp_files();
	if (signal_extra)
		signal_extra();
}

/* Then the default action (all signals are blocked in here, so the raised
 * one is delivered as the handler returns). */
static void on_fatal_signal(int sig)
{
	clean_up();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGTERM, SIGINT and SIGHUP into SET, but for one ignored from the start
 * (nohup, a background job): it stays ignored. */
static void stop_signals(sigset_t *set)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaddset(set, sigs[i]);
	}
}

static void (*signal_slow)(void);
static sigset_t waited_signals;

static void *wait_for_signals(void *arg)
{
	int sig = 0;

	(void)arg;
	while (sigwait(&waited_signals, &sig) != 0)
		;
	/* the slow part first (it stops the writers and waits for them), so
	 * that the temp files swept next include any opened meanwhile */
	if (signal_slow)
		signal_slow();
	clean_up();
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &waited_signals, NULL);
	raise(sig); /* the default action: the process ends here */
	return NULL;
}

int cli_clean_up_on_signals_in_thread(void (*extra)(void), void (*slow)(void))
{
	pthread_t thread;

	signal_extra = extra;
	signal_slow = slow;
	stop_signals(&waited_signals);
	pthread_sigmask(SIG_BLOCK, &waited_signals, NULL);
	if (pthread_create(&thread, NULL, wait_for_signals, NULL) != 0) {
		pthread_sigmask(SIG_UNBLOCK, &waited_signals, NULL);
		cli_clean_up_on_signals(extra);
		return -1;
	}
	pthread_detach(thread);
	return 0;
}

void cli_clean_up_on_signals(void (*extra)(void))
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	sigset_t set;

	signal_extra = extra;
	sigfillset(&sa.sa_mask);
	stop_signals(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &sa, NULL);
}
