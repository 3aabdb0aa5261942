/* entry.c --- one version of a generation, as restore and export read it from the catalog */
#include "lanfree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void entry_free(struct entry *e)
{
	free(e->volume);
	free(e->dir);
	free(e->name);
	free(e->symlink);
	free(e->xattrs);
	free(e->archive);
}

/* Column I as bytes with a NUL after them (names are bytes, not text). */
static void *col_dup(struct db_stmt *st, int i, size_t *len)
{
	size_t n = (size_t)db_column_bytes(st, i);
	const void *p = db_column_blob(st, i);
	char *d = malloc(n + 1);

	if (d) {
		if (n)
			memcpy(d, p, n);
		d[n] = '\0';
	}
	if (len)
		*len = n;
	return d;
}

int entry_from_row(struct db_stmt *st, struct entry *e)
{
	memset(e, 0, sizeof(*e));
	e->volume = col_dup(st, 0, NULL);
	e->dir = col_dup(st, 1, &e->dir_len);
	e->name = col_dup(st, 2, &e->name_len);
	e->mode = (uint32_t)db_column_int64(st, 3);
	e->uid = (uint32_t)db_column_int64(st, 4);
	e->gid = (uint32_t)db_column_int64(st, 5);
	e->size = (uint64_t)db_column_int64(st, 6);
	e->atime = db_column_int64(st, 7);
	e->mtime = db_column_int64(st, 8);
	e->ino = (uint64_t)db_column_int64(st, 9);
	e->nlink = (uint32_t)db_column_int64(st, 10);
	e->rdev_major = (uint32_t)db_column_int64(st, 11);
	e->rdev_minor = (uint32_t)db_column_int64(st, 12);
	e->flags = (uint32_t)db_column_int64(st, 13);
	if (!db_column_is_null(st, 14) && !(e->symlink = col_dup(st, 14, &e->symlink_len)))
		return -1;
	if (!db_column_is_null(st, 15) && !(e->xattrs = col_dup(st, 15, &e->xattrs_len)))
		return -1;
	e->had_error = !db_column_is_null(st, 16);
	if (!db_column_is_null(st, 17) && db_column_bytes(st, 17) == 32) {
		e->has_content = true;
		memcpy(e->sha, db_column_blob(st, 17), 32);
		e->entry_off = (uint64_t)db_column_int64(st, 18);
		if (!(e->archive = col_dup(st, 19, NULL)))
			return -1;
		if (db_column_text(st, 20))
			snprintf(e->compression, sizeof(e->compression), "%s", db_column_text(st, 20));
		e->frame_off = (uint64_t)db_column_int64(st, 21);
		e->content_size = db_column_int64(st, 22);
		e->frame_upos = (uint64_t)db_column_int64(st, 24);
	} else {
		e->content_missing = !db_column_is_null(st, 23);
	}
	e->ctime = db_column_int64(st, 25);
	e->btime = db_column_int64(st, 26);
	return e->volume && e->dir && e->name ? 0 : -1;
}
