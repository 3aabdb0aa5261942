/* textedit.h --- edits of guest text files (see textedit.c) */
#ifndef RAWKIT_TEXTEDIT_H
#define RAWKIT_TEXTEDIT_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>

/* A growing NUL-terminated string; OOM sticks and is checked at the end. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

void text_add(struct text *t, const char *s, size_t len);
/* The edited text (NUL-terminated, *OUTLEN bytes) when CHANGED, else NULL
 * (and T's memory is freed). */
char *text_result(struct text *t, bool changed, size_t *outlen);
/* DATA with every whole-word OLD replaced by NEW_WORD; NULL when none. */
char *replace_word(const char *data, size_t len, const char *old, const char *new_word, size_t *outlen);
/* DATA without the lines REJECT accepts; NULL when nothing was dropped. */
char *drop_lines(const char *data, size_t len, bool (*reject)(const char *line, size_t len), size_t *outlen);
/* Leading blanks of a line; does the line (after them) start with KEY? */
size_t indent_of(const char *line, size_t len);
bool starts_key(const char *line, size_t len, const char *key);

/* An editor: the new text, or NULL for "no change". */
typedef char *(*text_edit_fn)(const char *data, size_t len, size_t *outlen, const void *arg);
/* Rewrite guest file PATH through FN (a missing file is no change). */
int guest_edit_file(struct guest *gu, int tag, const char *path, text_edit_fn fn, const void *arg);
/* Each regular file of directory DIR whose name passes MATCH, through FN. */
int guest_edit_dir(struct guest *gu, int tag, const char *dir, bool (*match)(const char *name), text_edit_fn fn,
		   const void *arg);

/* File name matchers for guest_edit_dir(): "*.conf" (BLS entries),
 * "*.cfg" (/etc/default/grub.d). */
bool name_is_conf(const char *name);
bool name_is_cfg(const char *name);

#endif
