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

/* The ids rewritten in place (same length), then the VG's references
 * into a new text. */
char *refs_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct id_plan *p = arg;
	char *copy = malloc(len + 1), *renamed;
	size_t count, newlen;

	if (!copy)
		return NULL;
	memcpy(copy, data, len);
	copy[len] = '\0';
	count = ids_rewrite(p, copy, len);
	if (p->vg_new[0] && (renamed = vg_rewrite(p->vg_old, p->vg_new, copy, len, &newlen))) {
		free(copy);
		copy = renamed;
		len = newlen;
		count++;
	}
	if (count == 0) {
		free(copy);
		return NULL;
	}
	*outlen = len;
	return copy;
}

#define GRUBENV_SIZE 1024
#define GRUBENV_HEADER "# GRUB Environment Block\n"

/* A GRUB environment block: its header, NAME=VALUE lines, then '#' to
 * 1024 bytes.  The lines are rewritten and padded again; anything else is
 * rewritten as any text. */
char *grubenv_edit(const char *data, size_t len, size_t *outlen, const void *arg)
{
	const struct grubenv_refs *g = arg;
	const char *end = data + len;
	char *out, *body;
	size_t body_len, newlen;

	if (len != GRUBENV_SIZE || strncmp(data, GRUBENV_HEADER, strlen(GRUBENV_HEADER)))
		return refs_edit(data, len, outlen, g->ids);
	while (end > data && end[-1] == '#')
		end--;
	body_len = (size_t)(end - data);
	body = refs_edit(data, body_len, &newlen, g->ids);
	if (!body)
		return NULL;
	if (newlen > GRUBENV_SIZE || !(out = malloc(GRUBENV_SIZE + 1))) {
		if (newlen > GRUBENV_SIZE)
			*g->unfit = true;
		free(body);
		return NULL;
	}
	memcpy(out, body, newlen);
	memset(out + newlen, '#', GRUBENV_SIZE - newlen);
	out[GRUBENV_SIZE] = '\0';
	free(body);
	*outlen = GRUBENV_SIZE;
	return out;
}
