/* keys.c --- new SSH host keys, made with this host's ssh-keygen
 *
 * Key generation (RSA above all) takes longer than all the rest of a
 * personalization, so it starts before the copy and runs beside it; the
 * keys are picked up when the target is personalized.
 */
#include "clone.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct key {
	char type[16];
	pid_t pid;
	int status;
	char *priv, *pub;
	size_t privlen, publen;
};

struct keyset {
	char dir[64];
	struct key *k;
	size_t n;
	bool waited;
};

static int spawn_keygen(struct keyset *ks, struct key *k, const char *comment, char *err, size_t errlen)
{
	char path[128];
	char *argv[] = { "ssh-keygen", "-q", "-t", k->type, "-N", "", "-C", (char *)comment, "-f", path, NULL };
	posix_spawn_file_actions_t fa;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", ks->dir, k->type);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&k->pid, "ssh-keygen", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		k->pid = 0;
		snprintf(err, errlen, "cannot run ssh-keygen: %s", strerror(rc));
		return -1;
	}
	return 0;
}

struct keyset *keys_start(const char (*types)[16], size_t ntypes, const char *comment, char *err, size_t errlen)
{
	struct keyset *ks = calloc(1, sizeof(*ks));
	const char *tmp = getenv("TMPDIR");

	if (!ks || !(ks->k = calloc(ntypes ? ntypes : 1, sizeof(*ks->k)))) {
		free(ks);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(ks->dir, sizeof(ks->dir), "%s/rawkit-keys-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(ks->dir)) {
		snprintf(err, errlen, "cannot make a private directory for the new keys: %s", strerror(errno));
		free(ks->k);
		free(ks);
		return NULL;
	}
	for (size_t i = 0; i < ntypes; i++) {
		snprintf(ks->k[i].type, sizeof(ks->k[i].type), "%s", types[i]);
		ks->n++;
		if (spawn_keygen(ks, &ks->k[i], comment, err, errlen) < 0) {
			keys_free(ks);
			return NULL;
		}
	}
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
		char path[128];
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
		snprintf(path, sizeof(path), "%s/%s", ks->dir, k->type);
		if (slurp(path, &k->priv, &k->privlen) < 0) {
			snprintf(err, errlen, "cannot read the new %s key", k->type);
			rc = -1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.pub", ks->dir, k->type);
		if (slurp(path, &k->pub, &k->publen) < 0) {
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
	char path[128];

	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++) {
		struct key *k = &ks->k[i];
		if (k->pid > 0) {
			kill(k->pid, SIGTERM);
			waitpid(k->pid, NULL, 0);
		}
		snprintf(path, sizeof(path), "%s/%s", ks->dir, k->type);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.pub", ks->dir, k->type);
		unlink(path);
		if (k->priv)
			memset(k->priv, 0, k->privlen);
		free(k->priv);
		free(k->pub);
	}
	rmdir(ks->dir);
	free(ks->k);
	free(ks);
}
