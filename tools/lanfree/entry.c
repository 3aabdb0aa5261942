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
static void *col_dup(sqlite3_stmt *st, int i, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	const void *p = sqlite3_column_blob(st, i);
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

int entry_from_row(sqlite3_stmt *st, struct entry *e)
{
	memset(e, 0, sizeof(*e));
	e->volume = col_dup(st, 0, NULL);
	e->dir = col_dup(st, 1, &e->dir_len);
	e->name = col_dup(st, 2, &e->name_len);
	e->mode = (uint32_t)sqlite3_column_int64(st, 3);
	e->uid = (uint32_t)sqlite3_column_int64(st, 4);
	e->gid = (uint32_t)sqlite3_column_int64(st, 5);
	e->size = (uint64_t)sqlite3_column_int64(st, 6);
	e->atime = sqlite3_column_int64(st, 7);
	e->mtime = sqlite3_column_int64(st, 8);
	e->ino = (uint64_t)sqlite3_column_int64(st, 9);
	e->nlink = (uint32_t)sqlite3_column_int64(st, 10);
	e->rdev_major = (uint32_t)sqlite3_column_int64(st, 11);
	e->rdev_minor = (uint32_t)sqlite3_column_int64(st, 12);
	e->flags = (uint32_t)sqlite3_column_int64(st, 13);
	if (sqlite3_column_type(st, 14) != SQLITE_NULL && !(e->symlink = col_dup(st, 14, &e->symlink_len)))
		return -1;
	if (sqlite3_column_type(st, 15) != SQLITE_NULL && !(e->xattrs = col_dup(st, 15, &e->xattrs_len)))
		return -1;
	e->had_error = sqlite3_column_type(st, 16) != SQLITE_NULL;
	if (sqlite3_column_type(st, 17) != SQLITE_NULL && sqlite3_column_bytes(st, 17) == 32) {
		e->has_content = true;
		memcpy(e->sha, sqlite3_column_blob(st, 17), 32);
		e->entry_off = (uint64_t)sqlite3_column_int64(st, 18);
		if (!(e->archive = col_dup(st, 19, NULL)))
			return -1;
		if (sqlite3_column_text(st, 20))
			snprintf(e->compression, sizeof(e->compression), "%s", (const char *)sqlite3_column_text(st, 20));
		e->frame_off = (uint64_t)sqlite3_column_int64(st, 21);
		e->content_size = sqlite3_column_int64(st, 22);
		e->frame_upos = (uint64_t)sqlite3_column_int64(st, 24);
	} else {
		e->content_missing = sqlite3_column_type(st, 23) != SQLITE_NULL;
	}
	e->ctime = sqlite3_column_int64(st, 25);
	e->btime = sqlite3_column_int64(st, 26);
	return e->volume && e->dir && e->name ? 0 : -1;
}
