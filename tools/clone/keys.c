/* keys.c --- new SSH host keys, made with this host's ssh-keygen
 *
 * Key generation (RSA above all) takes longer than all the rest of a
 * personalization, so it starts before the copy and runs beside it; the
 * keys are picked up when the target is personalized.
 *
 * The keys are secrets from their first byte on: the directory is made by
 * mkdtemp (0700) and ssh-keygen runs under umask 077.  Every key set alive
 * is on a list that keys_remove_all() (a signal handler's clean-up) walks,
 * so that a clone killed by SIGTERM, SIGINT or SIGHUP leaves no key behind.
 */
#include "clone.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct key {
	char type[16];
	char priv_path[128], pub_path[128]; /* made in advance: a signal handler unlinks them */
	volatile pid_t pid;
	int status;
	char *priv, *pub;
	size_t privlen, publen;
};

struct keyset {
	char dir[64];
	struct key *k;
	size_t n;
	bool waited;
	struct keyset *_Atomic next; /* on the list of key sets alive */
};

/* The key sets alive.  Only the main thread adds or removes one, and never
 * while another thread runs, so a signal handler sees the list either
 * before or after a change: a set is linked in complete, and unlinked
 * before it is freed. */
static struct keyset *_Atomic alive;

static void alive_add(struct keyset *ks)
{
	atomic_store(&ks->next, atomic_load(&alive));
	atomic_store(&alive, ks);
}

static void alive_remove(struct keyset *ks)
{
	struct keyset *_Atomic *p = &alive;

	for (struct keyset *cur; (cur = atomic_load(p)) != NULL; p = &cur->next)
		if (cur == ks) {
			atomic_store(p, atomic_load(&ks->next));
			return;
		}
}

/* Stop the key generators, remove the key files and directory of one set.
 * Async-signal-safe (kill, waitpid, unlink, rmdir only). */
static void keyset_wipe(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		pid_t pid = ks->k[i].pid;
		if (pid > 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			ks->k[i].pid = 0;
		}
		unlink(ks->k[i].priv_path);
		unlink(ks->k[i].pub_path);
	}
	rmdir(ks->dir);
}

void keys_remove_all(void)
{
	int saved = errno;

	for (struct keyset *ks = atomic_load(&alive); ks; ks = atomic_load(&ks->next))
		keyset_wipe(ks);
	errno = saved;
}

static int spawn_keygen(struct key *k, const char *comment, char *err, size_t errlen)
{
	char *argv[] = { "ssh-keygen", "-q", "-t", k->type, "-N", "", "-C", (char *)comment, "-f", k->priv_path, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	run_spawn_attr(&sa);
	rc = posix_spawnp(&pid, "ssh-keygen", &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	k->pid = rc == 0 ? pid : 0;
	if (rc != 0) {
		snprintf(err, errlen, "cannot run ssh-keygen: %s", strerror(rc));
		return -1;
	}
	return 0;
}

struct keyset *keys_start(const char (*types)[16], size_t ntypes, const char *comment, char *err, size_t errlen)
{
	struct keyset *ks = calloc(1, sizeof(*ks));

	if (!ks || !(ks->k = calloc(ntypes ? ntypes : 1, sizeof(*ks->k)))) {
		free(ks);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	run_temp_template(ks->dir, sizeof(ks->dir), "rawkit-keys", "/tmp");
	if (!mkdtemp(ks->dir)) {
		snprintf(err, errlen, "cannot make a private directory for the new keys: %s", strerror(errno));
		free(ks->k);
		free(ks);
		return NULL;
	}
	alive_add(ks);
	/* the public keys too: nothing of a new key is readable by others */
	mode_t old_umask = umask(077);
	for (size_t i = 0; i < ntypes; i++) {
		struct key *k = &ks->k[i];
		snprintf(k->type, sizeof(k->type), "%s", types[i]);
		snprintf(k->priv_path, sizeof(k->priv_path), "%s/%s", ks->dir, k->type);
		snprintf(k->pub_path, sizeof(k->pub_path), "%s/%s.pub", ks->dir, k->type);
		ks->n++;
		if (spawn_keygen(k, comment, err, errlen) < 0) {
			umask(old_umask);
			keys_free(ks);
			return NULL;
		}
	}
	umask(old_umask);
	return ks;
}

static int slurp(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = '\0';
		*data = buf;
		*len = (size_t)size;
		fclose(f);
		return 0;
	}
	free(buf);
	fclose(f);
	return -1;
}

int keys_wait(struct keyset *ks, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < ks->n; i++) {
		struct key *k = &ks->k[i];
		if (k->pid > 0) {
			while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
				;
			k->pid = 0;
		}
		if (k->priv || rc)
			continue;
		if (!WIFEXITED(k->status) || WEXITSTATUS(k->status) != 0) {
			snprintf(err, errlen, "ssh-keygen -t %s failed (status %d)", k->type, WEXITSTATUS(k->status));
			rc = -1;
			continue;
		}
		if (slurp(k->priv_path, &k->priv, &k->privlen) < 0) {
			snprintf(err, errlen, "cannot read the new %s key", k->type);
			rc = -1;
			continue;
		}
		if (slurp(k->pub_path, &k->pub, &k->publen) < 0) {
			snprintf(err, errlen, "cannot read the new %s public key", k->type);
			rc = -1;
		}
	}
	ks->waited = true;
	return rc;
}

int keys_get(struct keyset *ks, size_t i, char **priv, size_t *privlen, char **pub, size_t *publen)
{
	if (i >= ks->n || !ks->k[i].priv || !ks->k[i].pub)
		return -1;
	*priv = ks->k[i].priv;
	*privlen = ks->k[i].privlen;
	*pub = ks->k[i].pub;
	*publen = ks->k[i].publen;
	return 0;
}

void keys_free(struct keyset *ks)
{
	if (!ks)
		return;
	keyset_wipe(ks);
	alive_remove(ks);
	for (size_t i = 0; i < ks->n; i++) {
		struct key *k = &ks->k[i];
		if (k->priv)
			memset(k->priv, 0, k->privlen);
		free(k->priv);
		free(k->pub);
	}
	free(ks->k);
	free(ks);
}
