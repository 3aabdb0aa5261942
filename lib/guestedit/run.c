/* run.c --- run a program of this host and collect its output; temp file names */
#include "run.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define RUN_OUT_MAX (1u << 20)

void run_spawn_attr(posix_spawnattr_t *sa)
{
	sigset_t none;

	sigemptyset(&none);
	posix_spawnattr_init(sa);
	posix_spawnattr_setsigmask(sa, &none);
	posix_spawnattr_setflags(sa, POSIX_SPAWN_SETSIGMASK);
}

int run_program(char *const argv[], char **out, bool with_stderr)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	int pipefd[2], status = -1, rc;
	size_t cap = 0, n = 0;
	char *buf = NULL;
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (with_stderr)
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	run_spawn_attr(&sa);
	rc = posix_spawnp(&pid, argv[0], &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (;;) {
		char chunk[8192];
		ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + (size_t)r + 1 > cap && cap < RUN_OUT_MAX) {
			char *grown = realloc(buf, cap + 65536);
			if (grown)
				buf = grown, cap += 65536;
		}
		if (buf && n + (size_t)r + 1 <= cap) {
			memcpy(buf + n, chunk, (size_t)r);
			n += (size_t)r;
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (buf)
		buf[n] = '\0';
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void run_one_line(const char *out, char *buf, size_t size)
{
	size_t o = 0;
	bool space = false;

	for (const char *p = out ? out : ""; *p && o + 1 < size; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < size)
			buf[o++] = ' ';
		space = false;
		buf[o++] = *p;
	}
	buf[o] = '\0';
}

void run_temp_template(char *buf, size_t size, const char *name, const char *fallback)
{
	const char *dir = getenv("TMPDIR");

	if (!dir || !*dir || strlen(dir) + strlen(name) + sizeof("/-XXXXXX") > size)
		dir = fallback;
	snprintf(buf, size, "%s/%s-XXXXXX", dir, name);
}
