/* fleet.c --- rawkit-lanfree run: every guest of rawkit-lanfree.conf(5), JOBS at a time
 *
 * Each guest runs in a process of its own: its before hooks, its backup
 * (this program's own backup command, so that a guest that crashes a
 * backup takes nothing else with it), the retention of its generations,
 * its after hooks (always, with the outcome in their environment).  The
 * process writes one JSON object, its result, into a pipe; the parent
 * starts the next guest as one ends, prints the guest's line as it comes
 * (and to syslog), and at the end sweeps what the forgotten generations
 * held, under the exclusive lock no backup holds any more.
 */
#include "lanfree.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

/* ------------------------------------------------------------ children */

/* The exit status of a child as words: "exited with status 5". */
static void describe_wait(int ws, char *buf, size_t size)
{
	if (WIFEXITED(ws))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
	else
		snprintf(buf, size, "ended abnormally");
}

static int wait_child(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return ws;
}

/* In a child: stdin from /dev/null, stdout to OUT (-1: to stderr). */
static void child_stdio(int out)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0)
		dup2(null, 0);
	dup2(out >= 0 ? out : 2, 1);
}

/* A hook through /bin/sh -c, its output on our stderr: the wait status, or -1. */
static int run_hook(const char *cmd)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		child_stdio(-1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return wait_child(pid);
}

/* The guest's backup: this program's backup command with --json; its
 * JSON object into *OUT (caller frees), the wait status returned (-1: it
 * could not be started). */
static int run_backup(const char *repo, const struct guest_conf *g, int jobs, json_t **out)
{
	const char **argv = calloc(20 + 2 * g->nexcludes, sizeof(char *));
	char jobs_arg[16], wait_arg[16];
	size_t n = 0;
	int pipefd[2], ws;
	pid_t pid;
	char *text = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	if (!argv)
		return -1;
	snprintf(jobs_arg, sizeof(jobs_arg), "%d", jobs);
	argv[n++] = "rawkit-lanfree";
	argv[n++] = "backup";
	argv[n++] = "--name";
	argv[n++] = g->name;
	argv[n++] = "--jobs";
	argv[n++] = jobs_arg;
	argv[n++] = "--json";
	if (g->level)
		argv[n++] = "--level", argv[n++] = g->level;
	if (g->compress)
		argv[n++] = "--compress", argv[n++] = g->compress;
	if (g->allow_dirty > 0)
		argv[n++] = "--allow-dirty";
	if (repo_lock_wait) {
		snprintf(wait_arg, sizeof(wait_arg), "%d", repo_lock_wait);
		argv[n++] = "--wait-lock", argv[n++] = wait_arg;
	}
	for (size_t i = 0; i < g->nexcludes; i++)
		argv[n++] = "--exclude", argv[n++] = g->excludes[i];
	argv[n++] = "--"; /* a disk named "-x" is a disk */
	argv[n++] = repo;
	argv[n++] = g->disk;
	argv[n] = NULL;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(argv);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		free(argv);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		child_stdio(pipefd[1]);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	free(argv);
	close(pipefd[1]);
	for (;;) {
		ssize_t got;
		if (len + 4096 > cap) {
			char *grown = realloc(text, cap = cap ? 2 * cap : 65536);
			if (!grown)
				break;
			text = grown;
		}
		got = read(pipefd[0], text + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(pipefd[0]);
	ws = wait_child(pid);
	if (text) {
		text[len] = '\0';
		*out = json_loads(text, 0, NULL);
	}
	free(text);
	return ws;
}

/* Environment for the hooks: who, what, and (after the backup) how it went. */
static void hook_env(const char *repo, const struct guest_conf *g)
{
	setenv("RAWKIT_REPOSITORY", repo, 1);
	setenv("RAWKIT_GUEST", g->name, 1);
	setenv("RAWKIT_DISK", g->disk, 1);
	setenv("RAWKIT_LEVEL", g->level ? g->level : "incr", 1);
}

struct outcome {
	json_t *obj;
	int rank; /* 0 done, 1 warnings, 2 failed */
	char message[600];
};

static void worse(struct outcome *o, int rank, const char *fmt, ...) CLI_PRINTF(3, 4);
static void worse(struct outcome *o, int rank, const char *fmt, ...)
{
	va_list ap;

	if (rank < o->rank || (rank == o->rank && o->message[0]))
		return; /* the first, worst reason stands */
	o->rank = rank;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	cli_sanitize(o->message);
}

/* A signal to the guest's process group (passed on by the run): the hook
 * or backup it reached dies of it; the guest records that and goes
 * straight to its after hooks. */
static volatile sig_atomic_t guest_stopped;

static void on_guest_stop(int sig)
{
	guest_stopped = sig;
}

static bool interrupted(struct outcome *o)
{
	if (guest_stopped)
		worse(o, 2, "interrupted by signal %d (%s)", (int)guest_stopped, strsignal((int)guest_stopped));
	return guest_stopped != 0;
}

/* Run CMDS in order; RANK: what a failure makes of the guest.  STOP: the
 * first failure ends the list (before hooks; after hooks all run). */
static void run_hooks(struct outcome *o, char *const *cmds, size_t n, const char *which, int rank, bool stop)
{
	for (size_t i = 0; i < n; i++) {
		char why[128];
		int ws = run_hook(cmds[i]);
		if (ws == 0)
			continue;
		if (interrupted(o)) { /* it died of the signal: that is the reason */
			if (stop)
				return;
			continue;
		}
		if (ws < 0)
			snprintf(why, sizeof(why), "could not be started: %s", strerror(errno));
		else
			describe_wait(ws, why, sizeof(why));
		worse(o, rank, "%s hook \"%s\" %s", which, cmds[i], why);
		if (stop)
			return;
	}
}

static const char *const copied[] = { "generation", "level", "generation_status", "files", "total_bytes",
				      "new_bytes", "stored_bytes" };

/* The backup's result into O: its numbers, and a failure's reason. */
static void take_backup(struct outcome *o, int ws, json_t *b)
{
	const json_t *err = b ? json_object_get(b, "error") : NULL;
	const char *msg = err ? json_string_value(json_object_get(err, "message")) : NULL;
	const char *obj = err ? json_string_value(json_object_get(err, "object")) : NULL;
	char why[128];

	for (size_t i = 0; b && i < sizeof(copied) / sizeof(copied[0]); i++) {
		json_t *v = json_object_get(b, copied[i]);
		if (v && !json_is_null(v))
			json_put(o->obj, copied[i], json_incref(v));
	}
	json_put(o->obj, "backup_warnings", json_integer((json_int_t)json_array_size(b ? json_object_get(b, "warnings") : NULL)));
	if (ws < 0) {
		worse(o, 2, "backup could not be started: %s", strerror(errno));
		return;
	}
	json_put(o->obj, "exit_status", WIFEXITED(ws) ? json_integer(WEXITSTATUS(ws)) : json_null());
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == RAWKIT_EXIT_WARNINGS)
		worse(o, 1, "backup done with %zu warnings", json_array_size(json_object_get(b, "warnings")));
	else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		describe_wait(ws, why, sizeof(why));
		if (msg)
			worse(o, 2, "backup %s: %s%s%s", why, obj ? obj : "", obj ? ": " : "", msg);
		else
			worse(o, 2, "backup %s", why);
	}
}

/* Retention of the guest's generations after a backup that recorded one. */
static void forget(struct outcome *o, const char *repo, const struct guest_conf *g)
{
	struct repo r;
	json_t *gens = NULL;
	size_t removed = 0;

	if (repo_open(&r, repo, REPO_SHARED) != 0 || repo_lock_guest(&r, g->name) != 0 ||
	    prune_forget(&r, g->name, &g->keep, &gens, &removed) < 0)
		worse(o, 1, "retention not applied (see the message above)");
	json_put(o->obj, "generations_removed", json_count(removed));
	json_decref(gens);
	repo_close(&r);
}

/* The whole of one guest, in its own process: the result written to OUT. */
static void guest_process(const char *repo, const struct guest_conf *g, int jobs, int out)
{
	struct outcome o = { .obj = json_object() };
	double t0 = cli_now();
	char number[32];
	json_t *b = NULL;
	char *text;

	json_put(o.obj, "guest", json_text(g->name));
	json_put(o.obj, "disk", json_text(g->disk));
	hook_env(repo, g);
	if (!interrupted(&o))
		run_hooks(&o, g->before, g->nbefore, "before", 2, true);
	if (o.rank < 2 && !interrupted(&o)) {
		int ws = run_backup(repo, g, jobs, &b);
		if (!interrupted(&o))
			take_backup(&o, ws, b);
		if (o.rank < 2 && retention_any(&g->keep))
			forget(&o, repo, g);
	}
	setenv("RAWKIT_STATUS", o.rank == 0 ? "done" : o.rank == 1 ? "warnings" : "failed", 1);
	setenv("RAWKIT_MESSAGE", o.message, 1);
	snprintf(number, sizeof(number), "%lld",
		 (long long)json_integer_value(json_object_get(o.obj, "generation")));
	setenv("RAWKIT_GENERATION", json_object_get(o.obj, "generation") ? number : "", 1);
	run_hooks(&o, g->after, g->nafter, "after", o.rank == 2 ? 2 : 1, false);
	json_put(o.obj, "status", json_string(o.rank == 0 ? "done" : o.rank == 1 ? "warnings" : "failed"));
	json_put(o.obj, "message", o.message[0] ? json_text(o.message) : json_null());
	json_put_seconds(o.obj, "elapsed_ns", cli_now() - t0);
	text = json_dumps(o.obj, JSON_COMPACT);
	if (text) {
		size_t len = strlen(text);
		for (size_t done = 0; done < len;) {
			ssize_t w = write(out, text + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			done += (size_t)w;
		}
	}
	free(text);
	json_decref(b);
	json_decref(o.obj);
}

/* ----------------------------------------------------------- the parent */

/* Each guest runs in a session of its own (its hooks and backup with it):
 * no controlling terminal for a hook to stop on, and a terminal's ^C or
 * cron's SIGTERM goes to the run alone, which passes SIGTERM on to every
 * guest, lets each run its after hooks, reports, then dies of the signal. */
#define MAX_GUESTS_AT_ONCE 64
static volatile pid_t guest_groups[MAX_GUESTS_AT_ONCE];
static volatile sig_atomic_t stop_signal;
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

static void on_stop(int sig) /* async-signal-safe */
{
	if (!stop_signal)
		stop_signal = sig;
	for (int i = 0; i < MAX_GUESTS_AT_ONCE; i++)
		if (guest_groups[i] > 0 && kill(-guest_groups[i], SIGTERM) < 0)
			kill(guest_groups[i], SIGTERM); /* before its setsid() */
}

/* HANDLER for the stop signals not ignored from the start (nohup). */
static void catch_stop_signals(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler }, old;

	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigaction(stop_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
}

static void block_stop_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(how, &set, NULL);
}

struct slot {
	const struct guest_conf *g;
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
};

struct fleet {
	const struct run_opts *o;
	const struct fleet_conf *c;
	const char *repo;
	bool to_syslog;
	int backup_jobs;
	struct slot *slots; /* JOBS of them */
	json_t *results;
	unsigned done, warnings, failed;
	bool unswept; /* the sweep could not run: a warning */
	uint64_t new_bytes;
};

static void report(struct fleet *f, json_t *r, const char *name)
{
	const char *status = json_string_value(json_object_get(r, "status"));
	const char *message = json_string_value(json_object_get(r, "message"));
	json_int_t gen = json_integer_value(json_object_get(r, "generation"));
	char line[1024], a[16];

	if (!status)
		status = "failed";
	if (!strcmp(status, "done"))
		f->done++;
	else if (!strcmp(status, "warnings"))
		f->warnings++;
	else
		f->failed++;
	f->new_bytes += (uint64_t)json_integer_value(json_object_get(r, "new_bytes"));
	if (json_object_get(r, "generation"))
		snprintf(line, sizeof(line), "%s: %s: generation %lld (%s), %lld files, %s new, %lld generations removed, %.1f s%s%s",
			 name, status, (long long)gen, json_string_value(json_object_get(r, "level")),
			 (long long)json_integer_value(json_object_get(r, "files")),
			 cli_human((uint64_t)json_integer_value(json_object_get(r, "new_bytes")), a, sizeof(a)),
			 (long long)json_integer_value(json_object_get(r, "generations_removed")),
			 (double)json_integer_value(json_object_get(r, "elapsed_ns")) / 1e9, message ? "; " : "",
			 message ? message : "");
	else
		snprintf(line, sizeof(line), "%s: %s: %s", name, status, message ? message : "no result");
	cli_sanitize(line);
	if (!strcmp(status, "failed"))
		cli_error(name, "%s", message ? message : "no result");
	if (!f->o->json && !f->o->quiet) {
		printf("%s\n", line);
		fflush(stdout);
	}
	if (f->to_syslog)
		syslog(!strcmp(status, "done") ? LOG_INFO : !strcmp(status, "warnings") ? LOG_WARNING : LOG_ERR, "%s", line);
	json_array_append(f->results, r);
}

static int start(struct fleet *f, struct slot *s, const struct guest_conf *g)
{
	int pipefd[2];

	memset(s, 0, sizeof(*s));
	s->g = g;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	block_stop_signals(SIG_BLOCK); /* until the pid is where on_stop() looks */
	s->pid = fork();
	if (s->pid < 0) {
		block_stop_signals(SIG_UNBLOCK);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (s->pid == 0) {
		setsid();
		catch_stop_signals(on_guest_stop);
		block_stop_signals(SIG_UNBLOCK);
		close(pipefd[0]);
		guest_process(f->repo, g, f->backup_jobs, pipefd[1]);
		_exit(0);
	}
	guest_groups[s - f->slots] = s->pid;
	block_stop_signals(SIG_UNBLOCK);
	close(pipefd[1]);
	s->fd = pipefd[0];
	return 0;
}

/* S's pipe is readable: more of its result, or its end (1). */
static int drain(struct slot *s)
{
	ssize_t got;

	if (s->len + 4096 > s->cap) {
		char *grown = realloc(s->buf, s->cap = s->cap ? 2 * s->cap : 16384);
		if (!grown)
			return 1;
		s->buf = grown;
	}
	got = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (got > 0) {
		s->len += (size_t)got;
		return 0;
	}
	return 1;
}

static void finish(struct fleet *f, struct slot *s)
{
	int ws = wait_child(s->pid);
	json_t *r = NULL;

	close(s->fd);
	if (s->buf) {
		s->buf[s->len] = '\0';
		r = json_loads(s->buf, 0, NULL);
	}
	if (!r) {
		char why[128];
		describe_wait(ws, why, sizeof(why));
		r = json_object();
		json_put(r, "guest", json_text(s->g->name));
		json_put(r, "disk", json_text(s->g->disk));
		json_put(r, "status", json_string("failed"));
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s", " without a result");
		json_put(r, "message", json_text(why));
	}
	report(f, r, s->g->name);
	json_decref(r);
	free(s->buf);
	s->buf = NULL;
	s->pid = 0;
	guest_groups[s - f->slots] = 0;
}

static void run_all(struct fleet *f, const struct guest_conf **todo, size_t n)
{
	int jobs = f->c->jobs < (int)n ? f->c->jobs : (int)n;
	struct slot *slots = f->slots = calloc((size_t)jobs, sizeof(*slots));
	struct pollfd *pfd = calloc((size_t)jobs, sizeof(*pfd));
	size_t next = 0, running = 0;

	if (!slots || !pfd) {
		cli_error(NULL, "out of memory");
		f->failed += (unsigned)n;
		goto out;
	}
	while (next < n || running) {
		for (int i = 0; i < jobs && next < n; i++)
			if (!slots[i].pid) {
				if (stop_signal || start(f, &slots[i], todo[next]) < 0) {
					json_t *r = json_object();
					char msg[160];
					if (stop_signal)
						snprintf(msg, sizeof(msg), "not started: the run was interrupted by signal %d",
							 (int)stop_signal);
					else
						snprintf(msg, sizeof(msg), "cannot start: %s", strerror(errno));
					json_put(r, "guest", json_text(todo[next]->name));
					json_put(r, "disk", json_text(todo[next]->disk));
					json_put(r, "status", json_string("failed"));
					json_put(r, "message", json_string(msg));
					report(f, r, todo[next]->name);
					json_decref(r);
					slots[i].pid = 0;
				} else
					running++;
				next++;
			}
		if (!running)
			continue; /* every start failed: nothing to wait for */
		for (int i = 0; i < jobs; i++)
			pfd[i] = (struct pollfd){ .fd = slots[i].pid ? slots[i].fd : -1, .events = POLLIN };
		if (poll(pfd, (nfds_t)jobs, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < jobs; i++)
			if (slots[i].pid && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) && drain(&slots[i])) {
				finish(f, &slots[i]);
				running--;
			}
	}
out:
	free(slots);
	f->slots = NULL;
	free(pfd);
}

/* ------------------------------------------------------------ the plan */

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_text(v[i]));
	return a;
}

static json_t *keep_json(const struct retention *k)
{
	json_t *o = json_object();
	char within[64] = "";

	json_put(o, "last", json_integer(k->last));
	json_put(o, "hourly", json_integer(k->hourly));
	json_put(o, "daily", json_integer(k->daily));
	json_put(o, "weekly", json_integer(k->weekly));
	json_put(o, "monthly", json_integer(k->monthly));
	json_put(o, "yearly", json_integer(k->yearly));
	if (k->has_within)
		snprintf(within, sizeof(within), "%dy%dm%dw%dd%dh", k->within.years, k->within.months,
			 k->within.weeks, k->within.days, k->within.hours);
	json_put(o, "within", k->has_within ? json_string(within) : json_null());
	return o;
}

static void print_list(const char *what, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *shown = strdup(v[i]);
		if (shown)
			cli_sanitize(shown);
		printf("  %s %s\n", what, shown ? shown : "?");
		free(shown);
	}
}

static int plan(const struct fleet *f, const struct guest_conf **todo, size_t n)
{
	json_t *guests = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct guest_conf *g = todo[i];
		json_t *o = json_object();
		json_put(o, "guest", json_text(g->name));
		json_put(o, "disk", json_text(g->disk));
		json_put(o, "level", json_string(g->level ? g->level : "incr"));
		json_put(o, "excludes", strings_json(g->excludes, g->nexcludes));
		json_put(o, "before", strings_json(g->before, g->nbefore));
		json_put(o, "after", strings_json(g->after, g->nafter));
		json_put(o, "keep", retention_any(&g->keep) ? keep_json(&g->keep) : json_null());
		json_array_append_new(guests, o);
		if (f->o->json)
			continue;
		printf("%s: back up %s (%s)\n", g->name, g->disk, g->level ? g->level : "incr");
		print_list("before:", g->before, g->nbefore);
		print_list("exclude:", g->excludes, g->nexcludes);
		if (retention_any(&g->keep)) {
			char *k = json_dumps(json_object_get(o, "keep"), JSON_COMPACT);
			printf("  keep: %s\n", k ? k : "?");
			free(k);
		}
		print_list("after:", g->after, g->nafter);
	}
	if (f->o->json) {
		json_t *obj = json_object();
		json_put(obj, "repo", json_text(f->repo));
		json_put(obj, "config", json_text(f->c->path));
		json_put(obj, "dry_run", json_true());
		json_put(obj, "jobs", json_integer(f->c->jobs));
		json_put(obj, "guests", guests);
		return json_print(obj, RAWKIT_EXIT_DONE);
	}
	printf("%zu guests into %s, %d at a time; nothing done (dry run)\n", n, f->repo, f->c->jobs);
	json_decref(guests);
	return RAWKIT_EXIT_DONE;
}

/* ------------------------------------------------------------- command */

/* The guests to run: those named on the command line (each must be in the
 * file), else all; NULL after a message. */
static const struct guest_conf **choose(const struct fleet_conf *c, char *const *names, size_t nnames, size_t *n)
{
	const struct guest_conf **v = calloc(c->nguests + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	if (!nnames) {
		for (size_t i = 0; i < c->nguests; i++)
			v[(*n)++] = &c->guests[i];
		return v;
	}
	for (size_t k = 0; k < nnames; k++) {
		size_t i = 0;
		while (i < c->nguests && strcmp(c->guests[i].name, names[k]))
			i++;
		if (i == c->nguests) {
			cli_error(names[k], "no [guest %s] in %s", names[k], c->path);
			free(v);
			return NULL;
		}
		bool dup = false;
		for (size_t j = 0; j < *n; j++)
			dup |= v[j] == &c->guests[i];
		if (!dup)
			v[(*n)++] = &c->guests[i];
	}
	return v;
}

/* The sweep after the guests: what forgotten generations held. */
static void sweep(struct fleet *f, json_t *obj)
{
	struct repo r;
	uint64_t archives = 0, freed = 0;
	bool forgot = false;
	size_t i;
	json_t *g;
	int rc;

	json_array_foreach(f->results, i, g)
		forgot |= json_integer_value(json_object_get(g, "generations_removed")) > 0;
	if (forgot) {
		if ((rc = repo_open(&r, f->repo, REPO_EXCLUSIVE)) != 0) {
			cli_warning(f->repo, "archives of removed generations not swept%s: a prune, or a run that "
				    "removes generations, will", rc == RAWKIT_EXIT_BUSY ? " (busy)" : "");
			f->unswept = true;
		} else {
			f->unswept = prune_sweep(&r, &archives, &freed) < 0;
			repo_close(&r);
		}
	}
	json_put(obj, "archives_removed", json_count(archives));
	json_put(obj, "freed_bytes", json_count(freed));
}

int cmd_run(const struct run_opts *o)
{
	struct fleet_conf c;
	struct fleet f = { .o = o, .c = &c };
	const struct guest_conf **todo = NULL;
	char err[1024];
	size_t n = 0;
	double t0 = cli_now();
	int status = RAWKIT_EXIT_FAILED, rc;
	struct repo probe;

	if ((rc = fleet_conf_load(o->config, &c, err, sizeof(err))) < 0) {
		cli_error(NULL, "%s", err);
		fleet_conf_free(&c);
		return rc == -1 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_USAGE;
	}
	f.repo = c.repo ? c.repo : getenv("RAWKIT_REPOSITORY");
	if (!f.repo || !*f.repo) {
		cli_error(c.path, "no repository: give [repository] path, or RAWKIT_REPOSITORY");
		status = RAWKIT_EXIT_USAGE;
		goto out;
	}
	if (!(todo = choose(&c, o->guests, o->nguests, &n))) {
		status = RAWKIT_EXIT_USAGE;
		goto out;
	}
	if (o->dry_run) {
		status = plan(&f, todo, n);
		goto out;
	}
	/* a repository that cannot be opened fails the run before any hook */
	if ((rc = repo_open(&probe, f.repo, REPO_READ)) != 0) {
		status = rc;
		goto out;
	}
	repo_close(&probe);
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		int at_once = c.jobs < (int)n ? c.jobs : (int)n;
		f.backup_jobs = cpus / (at_once ? at_once : 1) < 1 ? 1 : (int)(cpus / (at_once ? at_once : 1));
	}
	f.to_syslog = o->syslog || !isatty(2);
	if (f.to_syslog)
		openlog("rawkit-lanfree", LOG_PID, LOG_DAEMON);
	f.results = json_array();
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would leave no status to wait for */
	catch_stop_signals(on_stop);
	run_all(&f, todo, n);
	{
		json_t *obj = json_object();
		char a[16], line[512];
		json_put(obj, "repo", json_text(f.repo));
		json_put(obj, "config", json_text(c.path));
		json_put(obj, "dry_run", json_false());
		json_put(obj, "jobs", json_integer(c.jobs));
		json_put(obj, "guests", json_incref(f.results));
		if (stop_signal) {
			json_put(obj, "archives_removed", json_count(0));
			json_put(obj, "freed_bytes", json_count(0));
		} else
			sweep(&f, obj);
		json_put(obj, "guests_done", json_integer(f.done));
		json_put(obj, "guests_warnings", json_integer(f.warnings));
		json_put(obj, "guests_failed", json_integer(f.failed));
		json_put_seconds(obj, "elapsed_ns", cli_now() - t0);
		snprintf(line, sizeof(line), "%zu guests: %u done, %u with warnings, %u failed; %s new; %.1f s", n,
			 f.done, f.warnings, f.failed, cli_human(f.new_bytes, a, sizeof(a)), cli_now() - t0);
		status = f.failed ? RAWKIT_EXIT_FAILED
			 : f.warnings || f.unswept ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
		if (f.to_syslog)
			syslog(f.failed ? LOG_ERR : f.warnings ? LOG_WARNING : LOG_INFO, "%s", line);
		if (o->json)
			json_print(obj, status);
		else {
			if (!o->quiet)
				printf("%s\n", line);
			json_decref(obj);
		}
	}
	if (f.to_syslog)
		closelog();
	if (stop_signal) { /* reported: now die of it, as the caller expects */
		fflush(NULL);
		signal((int)stop_signal, SIG_DFL);
		block_stop_signals(SIG_UNBLOCK);
		raise((int)stop_signal);
	}
out:
	json_decref(f.results);
	free(todo);
	fleet_conf_free(&c);
	return status;
}
