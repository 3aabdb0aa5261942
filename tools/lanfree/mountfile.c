/* mountfile.c --- rawkit-lanfree mount: reading a file's content from its archive
 *
 * A content is read by seeking to the frame its archive entry starts in
 * (unpack.c).  A file of up to WHOLE_MAX bytes is decoded whole into
 * memory at its first read and its content id checked before a byte of
 * it is returned; a damaged one gives EIO and nothing else.  A larger
 * file is streamed: its open file keeps an unpacker positioned in the
 * entry, so that reading it front to back (the kernel asks 128 KiB at a
 * time) costs one pass; a read behind the position starts the entry
 * again, a read ahead of it reads on.  Every pass hashes what it passes
 * from the entry's start, and the read that reaches the end fails with
 * EIO when the content id does not match.
 */
#include "fusemount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Files up to this size are decoded whole, while the files held so take
 * at most WHOLE_BUDGET bytes together; the others are streamed. */
#define WHOLE_MAX (16u << 20)
#define WHOLE_BUDGET (256u << 20)

struct mfile {
	char *shown;      /* its path in the mount, for messages */
	uint64_t size;
	bool bad;         /* damaged, or unreadable when backed up: EIO */
	bool has_content; /* (an empty file has none) */
	unsigned char sha[32];
	char *archive;    /* absolute path */
	enum compression comp;
	uint64_t frame_off, entry_off;
	/* once the entry's header has been read */
	bool started;
	struct unpack_info info;
	struct content_runs runs; /* where its data is: the sparse map, or all of it */
	unsigned char *whole;     /* decoded and checked, SIZE bytes; NULL: streamed */
	/* streamed: the block the unpacker gave last is [from, to); what lies
	 * before FROM has been passed (PASSED: the end of the block before) */
	struct unpacker *u;
	const unsigned char *block;
	uint64_t passed, from, to;
	bool at_end;
	struct content_hash hash;
	bool hashing;
};

static int damaged(struct view *v, struct mfile *f, const char *why)
{
	if (v->foreground && !f->bad)
		cli_warning(f->shown, "%s", why);
	f->bad = true;
	return -EIO;
}

/* Where version ID's content is, checked as restore and verify check it:
 * the catalog is input. */
static int locate(struct view *v, int64_t id, struct mfile *f)
{
	struct db_stmt *st = v->st[ST_CONTENT];
	const char *why = NULL, *path, *comp;
	int64_t size, csize, entry_off, frame_off, frame_csize, frame_usize;
	int rc;

	db_reset(st);
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) != DB_ROW) {
		db_reset(st);
		return damaged(v, f, rc == DB_DONE ? "not in the catalog any more" : db_errmsg(v->db));
	}
	size = db_column_int64(st, 0);
	f->size = size < 0 ? 0 : (uint64_t)size;
	f->has_content = !db_column_is_null(st, 2);
	csize = db_column_int64(st, 4);
	entry_off = db_column_int64(st, 5);
	path = db_column_text(st, 6);
	comp = db_column_text(st, 7);
	frame_off = db_column_int64(st, 8);
	frame_csize = db_column_int64(st, 9);
	frame_usize = db_column_int64(st, 10);
	if (db_column_int64(st, 1))
		why = "was not readable when backed up";
	else if (size < 0)
		why = "damaged catalog: negative size";
	else if (!f->has_content && size > 0)
		why = "damaged catalog: a file with data and no content";
	else if (!f->has_content)
		; /* empty */
	else if (db_column_bytes(st, 3) != 32)
		why = "damaged catalog: its content is not in the catalog";
	else if (csize != size)
		why = "damaged catalog: its size is not its content's";
	else if (!path || !archive_path_ok(path))
		why = "damaged catalog: its archive has a path rawkit does not write";
	else if (!comp || compression_parse(comp, &f->comp) < 0)
		why = "damaged catalog: unknown compression";
	else if (db_column_type(st, 8) != DB_INTEGER || frame_off < 0 || frame_csize <= 0 ||
		 frame_csize > (int64_t)FRAME_CSIZE_MAX || frame_usize < 0 || frame_usize > (int64_t)FRAME_USIZE_MAX)
		why = "damaged catalog: its frame is missing or has an impossible offset or size";
	else if (entry_off < 0 || entry_off > frame_usize)
		why = "damaged catalog: its entry starts outside its frame";
	if (!why && f->has_content) {
		memcpy(f->sha, db_column_blob(st, 3), 32);
		f->frame_off = (uint64_t)frame_off;
		f->entry_off = (uint64_t)entry_off;
		if (asprintf(&f->archive, "%s/%s", v->repo, path) < 0) {
			f->archive = NULL;
			why = "out of memory";
		}
	}
	db_reset(st);
	return why ? damaged(v, f, why) : 0;
}

int mfile_open(struct view *v, int64_t version_id, const char *shown, struct mfile **out)
{
	struct mfile *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f || !(f->shown = strdup(shown))) {
		free(f);
		return -ENOMEM;
	}
	if (locate(v, version_id, f) < 0) {
		/* unreadable when backed up, or damage the catalog shows: EIO
		 * at once (a size of 0 would never reach read) */
		mfile_close(v, f);
		return -EIO;
	}
	*out = f;
	return 0;
}

/* ---- streamed ---- */

/* Read the entry's header, from its frame: the stream is at its start. */
static int stream_start(struct view *v, struct mfile *f)
{
	char err[400];
	struct unpack_info info;

	if (f->hashing)
		content_hash_free(&f->hash);
	f->hashing = false;
	f->block = NULL;
	f->passed = f->from = f->to = 0;
	f->at_end = false;
	if (!f->u && !(f->u = unpacker_new()))
		return -ENOMEM;
	/* the map once: a pass again finds the same header */
	if (unpacker_begin(f->u, f->archive, f->comp, f->frame_off, 0, f->entry_off, f->size, &info,
			   f->started ? NULL : &f->runs, err, sizeof(err)) < 0)
		return damaged(v, f, f->runs.oom ? "out of memory" : err);
	if (info.size != f->size)
		return damaged(v, f, "the archive entry's size is not the catalog's");
	if (f->started && info.sparse != f->info.sparse)
		return damaged(v, f, "the archive entry changed");
	f->info = info;
	if (!f->started && !info.sparse && f->size && content_runs_append(&f->runs, 0, f->size) < 0)
		return -ENOMEM;
	f->started = true;
	if (content_hash_init(&f->hash, info.sparse, info.size) < 0) {
		content_hash_free(&f->hash);
		return -ENOMEM;
	}
	f->hashing = true;
	return 0;
}

/* The next block of the stream; at the end, the content id is checked. */
static int stream_next(struct view *v, struct mfile *f)
{
	char err[400];
	const void *buf;
	size_t len;
	uint64_t off;
	unsigned char id[32];
	int r = unpacker_next(f->u, &buf, &len, &off, err, sizeof(err));

	if (r < 0)
		return damaged(v, f, err);
	f->passed = f->to;
	if (r == 0) {
		f->at_end = true;
		f->block = NULL;
		f->from = f->to = f->size;
		if (content_hash_final(&f->hash, id) < 0 || memcmp(id, f->sha, 32))
			return damaged(v, f, "content does not match its checksum (damaged archive?)");
		return 0;
	}
	/* in order and inside the file, or the archive is damaged */
	if (content_hash_data(&f->hash, buf, len, off) < 0)
		return damaged(v, f, "archive entry has data out of order or past its size");
	f->block = buf;
	f->from = off;
	f->to = off + len;
	return 0;
}

static int stream_read(struct view *v, struct mfile *f, char *buf, size_t len, uint64_t off)
{
	uint64_t at = off, end = off + len;
	int rc;

	while (at < end) {
		if (!f->started || !f->hashing || at < f->passed) {
			if ((rc = stream_start(v, f)) < 0) /* behind: from the start */
				return rc;
		} else if (at < f->from) { /* a hole */
			uint64_t n = (end < f->from ? end : f->from) - at;
			memset(buf + (at - off), 0, n);
			at += n;
		} else if (at < f->to) {
			uint64_t n = (end < f->to ? end : f->to) - at;
			memcpy(buf + (at - off), f->block + (at - f->from), n);
			at += n;
		} else if (f->at_end) { /* a hole to the end */
			memset(buf + (at - off), 0, end - at);
			at = end;
		} else if ((rc = stream_next(v, f)) < 0) {
			return rc;
		}
	}
	/* read to its end: go on to the entry's end, where the id is checked */
	while (end == f->size && !f->at_end)
		if ((rc = stream_next(v, f)) < 0)
			return rc;
	return (int)len;
}

/* ---- whole ---- */

/* Decode the file into memory and check its id; the unpacker is freed. */
static int decode_whole(struct view *v, struct mfile *f)
{
	int rc;

	if (!(f->whole = calloc(1, f->size ? f->size : 1)))
		return -ENOMEM;
	v->whole_bytes += f->size;
	rc = stream_start(v, f);
	while (rc == 0 && !f->at_end) {
		rc = stream_next(v, f);
		if (rc == 0 && f->block)
			memcpy(f->whole + f->from, f->block, f->to - f->from);
	}
	unpacker_free(f->u);
	f->u = NULL;
	if (rc < 0) {
		free(f->whole);
		f->whole = NULL;
		v->whole_bytes -= f->size;
	}
	return rc;
}

/* The header read, and for a file decoded whole its data. */
static int start(struct view *v, struct mfile *f)
{
	if (f->bad)
		return -EIO;
	if (f->started || !f->has_content)
		return 0;
	if (f->size <= WHOLE_MAX && v->whole_bytes + f->size <= WHOLE_BUDGET)
		return decode_whole(v, f);
	return stream_start(v, f);
}

int mfile_read(struct view *v, struct mfile *f, char *buf, size_t len, uint64_t off)
{
	int rc = start(v, f);

	if (rc < 0)
		return rc;
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	if (len > INT32_MAX)
		len = INT32_MAX;
	if (!f->has_content)
		return -EIO; /* (a size without content is refused by locate()) */
	if (f->whole) {
		memcpy(buf, f->whole + off, len);
		return (int)len;
	}
	return stream_read(v, f, buf, len, off);
}

int64_t mfile_seek(struct view *v, struct mfile *f, uint64_t off, int whence)
{
	int rc = start(v, f);

	if (rc < 0)
		return rc;
	if (off >= f->size)
		return -ENXIO;
	for (size_t i = 0; i < f->runs.n; i++) {
		const struct content_run *r = &f->runs.run[i];
		if (off >= r->offset + r->length)
			continue;
		if (whence == SEEK_DATA)
			return (int64_t)(off > r->offset ? off : r->offset);
		return (int64_t)(off >= r->offset ? r->offset + r->length : off); /* SEEK_HOLE */
	}
	return whence == SEEK_DATA ? -ENXIO : (int64_t)off; /* in the hole at the end */
}

void mfile_close(struct view *v, struct mfile *f)
{
	if (!f)
		return;
	if (f->whole)
		v->whole_bytes -= f->size;
	free(f->whole);
	if (f->hashing)
		content_hash_free(&f->hash);
	unpacker_free(f->u);
	content_runs_free(&f->runs);
	free(f->archive);
	free(f->shown);
	free(f);
}
