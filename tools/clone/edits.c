/* edits.c --- rawkit-clone's editors of guest text: host names, identity references */
#include "clone.h"
#include "textedit.h"

#include <stdlib.h>
#include <string.h>

/* /etc/hosts: the 127.0.1.1 line names the new host (added when missing);
 * the old name as a word elsewhere becomes the new one. */
char *hosts_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct hostnames *h = arg;
	struct text t = { 0 };
	bool found = false, changed = false;

	for (size_t i = 0; i < len;) {
		const char *line = data + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) + 1 : len - i, ind = indent_of(line, l);
		if (l - ind >= 9 && !strncmp(line + ind, "127.0.1.1", 9) && (line[ind + 9] == ' ' || line[ind + 9] == '\t')) {
			/* Debian's line for the host's own name: NAME[.DOMAIN] NAME */
			size_t pos = ind + 9, nlen;
			char *rest, *repl = NULL;
			found = true;
			rest = strndup(line + pos, l - pos);
			if (rest && h->old[0])
				repl = replace_word(rest, strlen(rest), h->old, h->new_name, &nlen);
			text_add(&t, line, pos);
			if (repl) {
				text_add(&t, repl, nlen);
			} else {
				text_add(&t, "\t", 1);
				text_add(&t, h->new_name, strlen(h->new_name));
				text_add(&t, "\n", 1);
			}
			free(rest);
			free(repl);
			changed = true;
		} else {
			size_t nlen;
			char *repl = h->old[0] ? replace_word(line, l, h->old, h->new_name, &nlen) : NULL;
			if (repl && line[ind] != '#') {
				text_add(&t, repl, nlen);
				changed = true;
			} else {
				text_add(&t, line, l);
			}
			free(repl);
		}
		i += l;
	}
	if (!found) {
		if (t.len && t.s[t.len - 1] != '\n')
			text_add(&t, "\n", 1);
		text_add(&t, "127.0.1.1\t", 10);
		text_add(&t, h->new_name, strlen(h->new_name));
		text_add(&t, "\n", 1);
		changed = true;
	}
	return text_result(&t, changed, outlen);
}

char *sysconfig_network_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct hostnames *h = arg;
	struct text t = { 0 };
	bool changed = false;

	for (size_t i = 0; i < len;) {
		const char *line = data + i, *nl = memchr(line, '\n', len - i);
		size_t l = nl ? (size_t)(nl - line) + 1 : len - i;
		if (starts_key(line, l, "HOSTNAME=")) {
			text_add(&t, "HOSTNAME=", 9);
			text_add(&t, h->new_name, strlen(h->new_name));
			text_add(&t, "\n", 1);
			changed = true;
		} else {
			text_add(&t, line, l);
		}
		i += l;
	}
	return text_result(&t, changed, outlen);
}

char *word_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct hostnames *h = arg;

	return h->old[0] ? replace_word(data, len, h->old, h->new_name, outlen) : NULL;
}

char *refs_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return NULL;
	memcpy(copy, data, len + 1);
	if (ids_rewrite(arg, copy, len) == 0) {
		free(copy);
		return NULL;
	}
	*outlen = len;
	return copy;
}
