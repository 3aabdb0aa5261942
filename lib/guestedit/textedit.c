/* textedit.c --- line and word edits of guest text files, and applying an
 * edit to a file or to the files of a directory inside a guest
 */
#include "textedit.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void text_add(struct text *t, const char *s, size_t len)
{
	if (t->oom)
		return;
	if (t->len + len + 1 > t->cap) {
		size_t cap = (t->len + len + 1) * 2;
		char *grown = realloc(t->s, cap);
		if (!grown) {
			t->oom = true;
			return;
		}
		t->s = grown;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, len);
	t->len += len;
	t->s[t->len] = '\0';
}

/* The edited text (NUL-terminated, *OUTLEN bytes) when CHANGED, else NULL. */
char *text_result(struct text *t, bool changed, size_t *outlen)
{
	if (!changed || t->oom) {
		free(t->s);
		return NULL;
	}
	if (!t->s && !(t->s = calloc(1, 1)))
		return NULL;
	*outlen = t->len;
	return t->s;
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* DATA with every whole-word OLD replaced by NEW_WORD; NULL when none. */
char *replace_word(const char *data, size_t len, const char *old, const char *new_word, size_t *outlen)
{
	size_t olen = strlen(old), count = 0;
	struct text t = { 0 };

	if (!olen)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (i + olen <= len && !memcmp(data + i, old, olen) && (i == 0 || !word_char(data[i - 1])) &&
		    (i + olen == len || !word_char(data[i + olen]))) {
			text_add(&t, new_word, strlen(new_word));
			i += olen;
			count++;
		} else {
			text_add(&t, data + i, 1);
			i++;
		}
	}
	return text_result(&t, count > 0, outlen);
}

/* Lines of DATA without those KEEP rejects; NULL when nothing was dropped. */
char *drop_lines(const char *data, size_t len, bool (*reject)(const char *line, size_t len), size_t *outlen)
{
	struct text t = { 0 };
	size_t dropped = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
		if (reject(data + i, l))
			dropped++;
		else
			text_add(&t, data + i, l);
		i += l;
	}
	return text_result(&t, dropped > 0, outlen);
}

size_t indent_of(const char *line, size_t len)
{
	size_t n = 0;

	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	return n;
}

bool starts_key(const char *line, size_t len, const char *key)
{
	size_t n = indent_of(line, len), k = strlen(key);

	return len - n >= k && !strncmp(line + n, key, k);
}

/* Rewrite PATH through FN (returns new text or NULL for no change). */
int guest_edit_file(struct guest *gu, int tag, const char *path,
		     char *(*fn)(const char *data, size_t len, size_t *outlen, const void *arg), const void *arg)
{
	char *data, *out;
	size_t len, outlen = 0;
	int rc = guest_read(gu, path, &data, &len);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	out = fn(data, len, &outlen, arg);
	free(data);
	if (!out)
		return 0;
	rc = guest_write(gu, tag, path, out, outlen, NULL);
	free(out);
	return rc;
}

/* Each regular file of directory DIR whose name passes MATCH, through FN. */
int guest_edit_dir(struct guest *gu, int tag, const char *dir, bool (*match)(const char *name),
		    char *(*fn)(const char *, size_t, size_t *, const void *), const void *arg)
{
	char **names = guest_list(gu, dir);
	int rc = 0;

	for (char **p = names; p && *p && rc == 0; p++) {
		char path[512];
		if (!match(*p) || snprintf(path, sizeof(path), "%s/%s", dir, *p) >= (int)sizeof(path))
			continue;
		rc = guest_edit_file(gu, tag, path, fn, arg);
	}
	guest_names_free(names);
	return gu->err[0] && rc == 0 ? -EIO : rc;
}

static bool ends_with(const char *name, const char *suffix)
{
	size_t l = strlen(name), sl = strlen(suffix);

	return l > sl && !strcmp(name + l - sl, suffix);
}

bool name_is_conf(const char *name)
{
	return ends_with(name, ".conf");
}

bool name_is_cfg(const char *name)
{
	return ends_with(name, ".cfg");
}
