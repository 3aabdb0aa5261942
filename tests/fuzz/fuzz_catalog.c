/* fuzz_catalog.c --- libFuzzer: verify, restore, prune, list, ls and the mount's view driven by a mutated catalog
 *
 * Once, a base repository is built in a temporary directory with the real
 * writers (catalog_create, pack_open/pack_write): one guest, two
 * generations, two zstd archives of several frames, and a regular file,
 * a sparse file, hard links, xattrs, a symlink, a fifo, an unreadable and
 * an empty file.  The base is built by the fuzzer itself, not read from the
 * corpus, so that a crash input reproduces on its own.
 *
 * Each input is a list of edits to a fresh copy of that catalog:
 *   byte 0      keep-last for prune (1 + b % 3), and which generation to restore;
 *               bits 3-5: prune's --keep-daily 2, --keep-within 1d, --all
 *   then records of [column][row][kind][value...]:
 *     column    (table, column) from the list below
 *     row       the row's rank in rowid order (modulo the row count)
 *     kind      0 int64 (8 bytes LE), 1 add a signed byte, 2 an interesting
 *               integer, 3 an interesting text, 4 text (length byte + bytes),
 *               5 blob (length byte + bytes), 6 NULL, 7 delete the row,
 *               8 copy the row (INSERT OR IGNORE ... SELECT)
 * Edits that break a constraint are simply not applied.  Then every
 * command that reads the catalog runs on the copy, as functions; all of it
 * happens under the temporary directory, which is removed at exit.
 */
#include "lanfree.h"
#include "fusemount.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char root[256], base[300], work[300], out_dir[320];
static char *archive_names[2]; /* data/g/N-TAG.tar.zst */

/* ------------------------------------------------------------ the base */

struct file {
	const char *dir, *name;
	uint32_t mode;
	uint64_t size, ino;
	uint32_t nlink;
	const char *symlink, *error;
	int content;       /* index in contents[], -1 for none */
	int64_t first, last;
	bool xattr;
};

struct content {
	unsigned char sha[32];
	uint64_t size;
	uint32_t frame;
	uint64_t offset;
	int archive;
	unsigned char *data;
	bool sparse;
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_catalog: cannot build the base repository: %s: %s\n", what, strerror(errno));
	abort();
}

static void exec_sql(struct db *db, const char *sql)
{
	if (db_exec(db, sql) < 0) {
		fprintf(stderr, "fuzz_catalog: %s: %s\n", sql, db_errmsg(db));
		abort();
	}
}

/* Deterministic bytes: the same base every run. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* Write CONTENTS of archive A (0 or 1) as backup does; frames into the catalog. */
static void write_archive(struct db *db, int a, struct content *c, size_t nc)
{
	char tmp[400], dest[400], err[300];
	struct pack *p;
	const struct frame_info *frames;
	size_t nframes;
	struct db_stmt *st;
	int64_t archive_id;

	snprintf(tmp, sizeof(tmp), "%s/tmp/a%d", base, a);
	if (asprintf(&archive_names[a], "data/g/%d-%08x.tar.zst", a + 1, 0x1234abcd + a) < 0)
		die("asprintf");
	p = pack_open(tmp, COMP_ZSTD, 0, 1, err, sizeof(err));
	if (!p)
		die(err);
	for (size_t i = 0; i < nc; i++) {
		struct archive_entry *e;
		char name[32];
		if (c[i].archive != a)
			continue;
		e = archive_entry_new();
		if (!e)
			die("archive_entry_new");
		snprintf(name, sizeof(name), "p1/content%zu", i);
		archive_entry_copy_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)c[i].size);
		archive_entry_xattr_add_entry(e, "user.note", "x", 1);
		if (c[i].sparse) { /* data at 0 and at the middle, as store.c maps it */
			archive_entry_sparse_add_entry(e, 0, 4096);
			archive_entry_sparse_add_entry(e, (la_int64_t)(c[i].size / 2), 4096);
			archive_entry_sparse_add_entry(e, (la_int64_t)c[i].size, 0); /* ends in a hole */
		}
		if (pack_begin_entry(p, e, &c[i].frame, &c[i].offset) < 0 || pack_write(p, c[i].data, c[i].size) < 0 ||
		    pack_end_entry(p) < 0)
			die(pack_error(p));
		archive_entry_free(e);
	}
	if (pack_close(p) < 0)
		die(pack_error(p));
	snprintf(dest, sizeof(dest), "%s/%s", base, archive_names[a]);
	if (rename(tmp, dest) < 0)
		die("rename");
	if (db_prepare(db, "INSERT INTO archives(path, compression, size) VALUES(?, 'zstd', ?) RETURNING id", &st) < 0)
		die("prepare");
	db_bind_text(st, 1, archive_names[a], -1);
	db_bind_int64(st, 2, (int64_t)pack_size(p));
	if (db_step(st) != DB_ROW)
		die("insert archive");
	archive_id = db_column_int64(st, 0);
	db_finalize(st);
	frames = pack_frames(p, &nframes);
	db_prepare(db, "INSERT INTO frames VALUES(?,?,?,?,?,?)", &st);
	for (size_t i = 0; i < nframes; i++) {
		db_bind_int64(st, 1, archive_id);
		db_bind_int64(st, 2, (int64_t)i);
		db_bind_int64(st, 3, (int64_t)frames[i].offset);
		db_bind_int64(st, 4, (int64_t)frames[i].csize);
		db_bind_int64(st, 5, (int64_t)frames[i].usize);
		db_bind_blob(st, 6, frames[i].sha256, 32);
		if (db_step(st) != DB_DONE)
			die("insert frame");
		db_reset(st);
	}
	db_finalize(st);
	db_prepare(db, "INSERT INTO contents(sha256, size, archive_id, frame_idx, entry_offset) VALUES(?,?,?,?,?)", &st);
	for (size_t i = 0; i < nc; i++) {
		if (c[i].archive != a)
			continue;
		db_bind_blob(st, 1, c[i].sha, 32);
		db_bind_int64(st, 2, (int64_t)c[i].size);
		db_bind_int64(st, 3, archive_id);
		db_bind_int64(st, 4, c[i].frame);
		db_bind_int64(st, 5, (int64_t)c[i].offset);
		if (db_step(st) != DB_DONE)
			die("insert content");
		db_reset(st);
	}
	db_finalize(st);
	pack_free(p);
}

static void insert_version(struct db *db, const struct file *f)
{
	static const unsigned char xattrs[] = { 9, 0, 'u', 's', 'e', 'r', '.', 'n', 'o', 't', 'e', 1, 0, 0, 0, 'x' };
	struct db_stmt *st;
	int i = 1;

	db_prepare(db, "INSERT INTO versions(guest_id, volume, dir, name, first_seq, last_seq, mode, uid, gid,"
			       " size, atime, mtime, ctime, btime, ino, igen, nlink, rdev_major, rdev_minor, flags,"
			       " symlink, xattrs, content_id, error) VALUES(1, 'p1', ?, ?, ?, ?, ?, 1000, 1000, ?,"
			       " 1700000000000000000, 1700000000000000000, 1700000000000000000, 0, ?, 0, ?, 0, 0, 0,"
			       " ?, ?, ?, ?)",
		   &st);
	if (!st)
		die("prepare version");
	db_bind_blob(st, i++, f->dir, (int)strlen(f->dir));
	db_bind_blob(st, i++, f->name, (int)strlen(f->name));
	db_bind_int64(st, i++, f->first);
	db_bind_int64(st, i++, f->last);
	db_bind_int64(st, i++, f->mode);
	db_bind_int64(st, i++, (int64_t)f->size);
	db_bind_int64(st, i++, (int64_t)f->ino);
	db_bind_int64(st, i++, f->nlink);
	if (f->symlink)
		db_bind_blob(st, i++, f->symlink, (int)strlen(f->symlink));
	else
		db_bind_null(st, i++);
	if (f->xattr)
		db_bind_blob(st, i++, xattrs, sizeof(xattrs));
	else
		db_bind_null(st, i++);
	if (f->content >= 0)
		db_bind_int64(st, i++, f->content + 1); /* contents are inserted in order: id = index + 1 */
	else
		db_bind_null(st, i++);
	if (f->error)
		db_bind_text(st, i++, f->error, -1);
	else
		db_bind_null(st, i++);
	if (db_step(st) != DB_DONE)
		die("insert version");
	db_finalize(st);
}

/* A disk's shape as shape.c records it (a gpt disk: a BIOS boot
 * partition, ext4, swap), for restore-disk's plan. */
static const char base_shape[] =
	"{\"disk_bytes\":104857600,\"sector_bytes\":512,\"label\":\"gpt\",\"id\":\"7E57D15C-0000-4000-8000-00"
	"0000000001\",\"ptable\":\"label: gpt\\nlabel-id: 7E57D15C-0000-4000-8000-000000000001\\ndevice: disk"
	"\\nunit: sectors\\nfirst-lba: 2048\\nsector-size: 512\\n\\ndisk1 : start=2048, size=2048, type=21686"
	"148-6449-6E6F-744E-656564454649\\ndisk2 : start=4096, size=122880, type=0FC63DAF-8483-4772-8E79-3D69"
	"D8477DE4, name=\\\"root\\\"\\ndisk3 : start=126976, size=32768, type=0657FD6D-A4AB-43C4-84E5-0933C84"
	"B4F4F\\n\",\"partitions\":[{\"name\":\"p1\",\"partno\":1,\"offset_bytes\":1048576,\"size_bytes\":104"
	"8576,\"container\":false,\"type\":\"21686148-6449-6E6F-744E-656564454649\",\"part_uuid\":\"\",\"part"
	"_name\":\"\",\"lv_vg\":\"\",\"lv_name\":\"\",\"fstype\":\"\",\"fs_uuid\":\"\",\"fs_label\":\"\",\"pa"
	"rams\":null},{\"name\":\"p2\",\"partno\":2,\"offset_bytes\":2097152,\"size_bytes\":62914560,\"contai"
	"ner\":false,\"type\":\"0FC63DAF-8483-4772-8E79-3D69D8477DE4\",\"part_uuid\":\"\",\"part_name\":\"roo"
	"t\",\"lv_vg\":\"\",\"lv_name\":\"\",\"fstype\":\"ext4\",\"fs_uuid\":\"6b6b6b6b-1111-4222-8333-444455"
	"556666\",\"fs_label\":\"r\",\"params\":{\"block_bytes\":4096,\"inode_bytes\":256,\"inodes\":16384,\""
	"blocks\":15360,\"reserved_blocks\":768,\"blocks_per_group\":32768,\"flex_bg_size\":16,\"journal_byte"
	"s\":4194304,\"features\":[\"has_journal\",\"extent\"],\"revision\":1,\"hash_seed\":\"5716c825-6312-4"
	"8f1-a910-4b3d4ee613b3\",\"hash_alg\":\"half_md4\",\"errors_behavior\":1,\"creator_os\":0}},{\"name\""
	":\"p3\",\"partno\":3,\"offset_bytes\":65011712,\"size_bytes\":16777216,\"container\":false,\"type\":"
	"\"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\",\"part_uuid\":\"\",\"part_name\":\"\",\"lv_vg\":\"\",\"lv_n"
	"ame\":\"\",\"fstype\":\"swap\",\"fs_uuid\":\"7c7c7c7c-1111-4222-8333-444455556666\",\"fs_label\":\"s"
	"\",\"params\":null}],\"volumes\":[],\"boot_areas\":[{\"what\":\"mbr_boot_code\",\"volume\":null,\"of"
	"fset_bytes\":0,\"size_bytes\":440,\"stored_bytes\":4,\"blob_offset_bytes\":0},{\"what\":\"bios_boot"
	"\",\"volume\":\"p1\",\"offset_bytes\":1048576,\"size_bytes\":1048576,\"stored_bytes\":4,\"blob_offse"
	"t_bytes\":4}]}";

static void insert_shape(struct db *db)
{
	struct db_stmt *st;

	if (db_prepare(db, "INSERT INTO shapes(id, sha256, json, boot) VALUES(1, x'00', ?, x'eb63901112345678')", &st) < 0)
		die("prepare the shape");
	db_bind_text(st, 1, base_shape, -1);
	if (db_step(st) != DB_DONE)
		die("insert the shape");
	db_finalize(st);
	exec_sql(db, "UPDATE generations SET shape_id = 1;");
}

static void build_base(void)
{
	/* contents 0..2 in archive 1 (generation 1), 3 in archive 2 (generation 2) */
	static struct content c[] = {
		{ .size = 9, .archive = 0 },
		{ .size = 1200000, .archive = 0, .sparse = true },
		{ .size = 1100000, .archive = 0 }, /* spans two frames */
		{ .size = 12, .archive = 1 },
	};
	const int64_t O = SEQ_OPEN;
	const struct file files[] = {
		{ "", "", 040755, 4096, 2, 3, NULL, NULL, -1, 1, O, false },
		{ "", "etc", 040755, 4096, 12, 2, NULL, NULL, -1, 1, O, false },
		{ "etc", "hostname", 0100644, 9, 13, 1, NULL, NULL, 0, 1, 1, true },
		{ "etc", "hostname", 0100644, 12, 13, 1, NULL, NULL, 3, 2, O, true },
		{ "", "sparse", 0100600, 1200000, 14, 1, NULL, NULL, 1, 1, 1, false },
		{ "", "a", 0100644, 1100000, 15, 2, NULL, NULL, 2, 1, 1, false },
		{ "etc", "b", 0100644, 1100000, 15, 2, NULL, NULL, 2, 1, 1, false },
		{ "", "link", 0120777, 12, 16, 1, "etc/hostname", NULL, -1, 1, O, false },
		{ "", "fifo", 010644, 0, 17, 1, NULL, NULL, -1, 1, O, false },
		{ "", "bad", 0100644, 5000, 18, 1, NULL, "unreadable", -1, 1, 1, false },
		{ "", "empty", 0100644, 0, 19, 1, NULL, NULL, -1, 1, O, true },
	};
	char path[400];
	struct db *db;

	c[0].data = (unsigned char *)strdup("guest01\n\n");
	c[3].data = (unsigned char *)strdup("guest01-new\n");
	c[1].data = calloc(1, c[1].size);
	c[2].data = malloc(c[2].size);
	if (!c[0].data || !c[1].data || !c[2].data || !c[3].data)
		die("malloc");
	fill(c[1].data, 4096, 1);
	fill(c[1].data + c[1].size / 2, 4096, 2);
	fill(c[2].data, c[2].size, 3);
	for (size_t i = 0; i < 4; i++) { /* the content id as content.c makes it */
		struct content_hash h;
		if (content_hash_init(&h, c[i].sparse, c[i].size) < 0)
			die("content_hash_init");
		if (c[i].sparse) {
			content_hash_data(&h, c[i].data, 4096, 0);
			content_hash_data(&h, c[i].data + c[i].size / 2, 4096, c[i].size / 2);
		} else {
			content_hash_data(&h, c[i].data, c[i].size, 0);
		}
		if (content_hash_final(&h, c[i].sha) < 0)
			die("content_hash_final");
		content_hash_free(&h);
	}
	if (repo_init(base) < 0)
		die("repo_init");
	if (mkdir(strcat(strcpy(path, base), "/data/g"), 0700) < 0)
		die("mkdir data/g");
	snprintf(path, sizeof(path), "%s/catalog.db", base);
	if (db_open(path, DB_CREATE, &db) < 0)
		die("db_open");
	exec_sql(db, "BEGIN; INSERT INTO guests(id, name) VALUES(1, 'g');"
		     "INSERT INTO generations(guest_id, seq, level, base_seq, started, finished, status, dirty, disk,"
		     " files, bytes_total, bytes_new, bytes_stored) VALUES"
		     " (1, 1, 'full', NULL, 1600000000000000000, 1600000000000000000, 'complete', 0, 'd.img', 10, 2300021, 2300021, 0),"
		     " (1, 2, 'incr', 1, 1700000000000000000, 1700000000000000000, 'partial', 1, 'd.img', 6, 12, 12, 0);"
		     "INSERT INTO volumes(gen_id, name, fstype, uuid, label, skipped) VALUES(1, 'p1', 'ext4', 'u', 'l', NULL), (2, 'p1', 'ext4', 'u', 'l', NULL),"
		     " (2, 'p2', 'swap', '', '', 'swap');");
	insert_shape(db);
	write_archive(db, 0, c, 4);
	write_archive(db, 1, c, 4);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		insert_version(db, &files[i]);
	exec_sql(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
	db_close(db);
	for (size_t i = 0; i < 4; i++)
		free(c[i].data);
	snprintf(path, sizeof(path), "%s/catalog.db-wal", base);
	unlink(path);
}

/* ------------------------------------------------------- per input */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (type == FTW_DP ? rmdir(path) : unlink(path))
		return 0; /* keep going; what is left is removed at exit or next time */
	return 0;
}

static int open_up(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, 0700);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, open_up, 16, FTW_PHYS);
	nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (in < 0 || outfd < 0)
		die(from);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(outfd, buf, (size_t)n) != n)
			die(to);
	close(in);
	close(outfd);
}

/* A fresh copy of the base in WORK: the catalog copied, the archives linked. */
static void fresh_work(void)
{
	static const char *const dirs[] = { "", "/data", "/data/g", "/tmp", "/locks" };
	char from[400], to[400];

	remove_tree(work);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(to, sizeof(to), "%s%s", work, dirs[i]);
		if (mkdir(to, 0700) < 0)
			die(to);
	}
	snprintf(from, sizeof(from), "%s/catalog.db", base);
	snprintf(to, sizeof(to), "%s/catalog.db", work);
	copy_file(from, to);
	snprintf(from, sizeof(from), "%s/lock", base);
	snprintf(to, sizeof(to), "%s/lock", work);
	copy_file(from, to);
	for (int a = 0; a < 2; a++) {
		snprintf(from, sizeof(from), "%s/%s", base, archive_names[a]);
		snprintf(to, sizeof(to), "%s/%s", work, archive_names[a]);
		if (link(from, to) < 0)
			copy_file(from, to);
	}
}

/* The column a copied row changes to stay unique, per table. */
static const char *copy_key(const char *table)
{
	static const char *const keys[][2] = { { "archives", "id" },     { "frames", "idx" },   { "contents", "id" },
					       { "versions", "id" },     { "generations", "id" }, { "guests", "id" },
					       { "volumes", "gen_id" }, { "meta", "key" } };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i][0], table))
			return keys[i][1];
	return "rowid";
}

static const struct {
	const char *table, *column;
} columns[] = {
	{ "archives", "path" }, { "archives", "compression" }, { "archives", "size" }, { "archives", "id" },
	{ "frames", "archive_id" }, { "frames", "idx" }, { "frames", "offset" }, { "frames", "csize" },
	{ "frames", "usize" }, { "frames", "sha256" },
	{ "contents", "sha256" }, { "contents", "size" }, { "contents", "archive_id" }, { "contents", "frame_idx" },
	{ "contents", "entry_offset" }, { "contents", "id" },
	{ "versions", "volume" }, { "versions", "dir" }, { "versions", "name" }, { "versions", "first_seq" },
	{ "versions", "last_seq" }, { "versions", "mode" }, { "versions", "size" }, { "versions", "nlink" },
	{ "versions", "ino" }, { "versions", "flags" }, { "versions", "symlink" }, { "versions", "xattrs" },
	{ "versions", "content_id" }, { "versions", "error" }, { "versions", "uid" }, { "versions", "rdev_major" },
	{ "versions", "atime" }, { "versions", "mtime" }, { "versions", "guest_id" },
	{ "generations", "seq" }, { "generations", "level" }, { "generations", "status" },
	{ "generations", "finished" }, { "generations", "base_seq" }, { "generations", "bytes_total" },
	{ "generations", "guest_id" },
	{ "guests", "name" }, { "guests", "id" }, { "volumes", "name" }, { "volumes", "skipped" },
	{ "meta", "value" }, { "shapes", "json" }, { "shapes", "boot" }, { "generations", "shape_id" },
};

static const int64_t interesting_ints[] = {
	-1, 0, 1, 2, 3, INT64_MAX, INT64_MIN, INT64_MAX - 1, -4096, 4095, 4096, 65536, 1048575, 1048576, 1048577,
	1114112, 1114113, 1LL << 31, 1LL << 32, 1LL << 40, 1LL << 62, 0100644, 040755, 0120777, 020644, 060644,
	0140644, 0104755, 0x10, 0x20,
};

static const char *const interesting_texts[] = {
	"../outside/x", "/etc/passwd", "data/g/../../x", "data/g/1-1234abcd.tar.zst", "data/g/2-1234abce.tar.zst",
	"data/g/1-1234abcd.tar.gz", "data/g/1-1234abcd.tar", "data/x/1-1234abcd.tar.zst", "catalog.db", "data",
	"data/g", "data//1-1234abcd.tar.zst", "zstd", "gzip", "none", "lz4", "", ".", "..", "etc", "etc/hostname",
	"p1", "p2", "/", "a/../..", "complete", "partial", "full", "incr", "g", "1", "unreadable",
};

struct reader {
	const uint8_t *p, *end;
};

static bool take(struct reader *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	memcpy(out, r->p, n);
	r->p += n;
	return true;
}

/* Apply one edit; false at the end of the input. */
static bool apply_edit(struct db *db, struct reader *r)
{
	uint8_t col, row, kind, len;
	char sql[400], where[160];
	struct db_stmt *st = NULL;
	unsigned char bytes[256];
	int64_t v;
	int8_t delta;

	if (!take(r, &col, 1) || !take(r, &row, 1) || !take(r, &kind, 1))
		return false;
	col %= sizeof(columns) / sizeof(columns[0]);
	snprintf(where, sizeof(where), "rowid = (SELECT rowid FROM %s ORDER BY rowid LIMIT 1 OFFSET %u %% "
		 "max(1, (SELECT count(*) FROM %s)))", columns[col].table, row, columns[col].table);
	switch (kind % 9) {
	case 7:
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s", columns[col].table, where);
		db_exec(db, sql);
		return true;
	case 8:
		/* the row again under a new key: a second version, frame, archive... */
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS temp.dup; CREATE TEMP TABLE dup AS SELECT * FROM %s WHERE %s;"
			 " UPDATE temp.dup SET %s = %s + 1000; INSERT OR IGNORE INTO %s SELECT * FROM temp.dup",
			 columns[col].table, where, copy_key(columns[col].table), copy_key(columns[col].table),
			 columns[col].table);
		db_exec(db, sql);
		return true;
	case 1:
		if (!take(r, &delta, 1))
			return false;
		snprintf(sql, sizeof(sql), "UPDATE %s SET %s = %s + %d WHERE %s", columns[col].table,
			 columns[col].column, columns[col].column, delta, where);
		db_exec(db, sql);
		return true;
	default:
		break;
	}
	snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ? WHERE %s", columns[col].table, columns[col].column, where);
	if (db_prepare(db, sql, &st) < 0)
		return true;
	switch (kind % 9) {
	case 0:
		if (!take(r, &v, 8))
			goto end;
		db_bind_int64(st, 1, v);
		break;
	case 2:
		if (!take(r, &len, 1))
			goto end;
		db_bind_int64(st, 1, interesting_ints[len % (sizeof(interesting_ints) / sizeof(interesting_ints[0]))]);
		break;
	case 3:
		if (!take(r, &len, 1))
			goto end;
		db_bind_text(st, 1, interesting_texts[len % (sizeof(interesting_texts) / sizeof(interesting_texts[0]))], -1);
		break;
	case 4:
	case 5:
		if (!take(r, &len, 1) || !take(r, bytes, len))
			goto end;
		if (kind % 9 == 4)
			db_bind_text(st, 1, (const char *)bytes, len); /* bytes lives until the step */
		else
			db_bind_blob_copy(st, 1, bytes, len);
		break;
	case 6:
		db_bind_null(st, 1);
		break;
	}
	db_step(st);
	db_finalize(st);
	return true;
end:
	db_finalize(st);
	return false;
}

static void mutate(const uint8_t *data, size_t size)
{
	struct reader r = { data, data + size };
	char path[400];
	struct db *db;

	snprintf(path, sizeof(path), "%s/catalog.db", work);
	if (db_open(path, DB_WRITE, &db) < 0)
		die("open the copy");
	db_begin(db, false);
	for (int i = 0; i < 64 && apply_edit(db, &r); i++)
		;
	db_commit(db);
	db_close(db);
}

/* ------------------------------------------------------------- setup */

static void cleanup(void)
{
	if (root[0])
		remove_tree(root);
}

/* Without CAP_LINUX_IMMUTABLE and CAP_MKNOD a root restore cannot make
 * files the clean-up cannot remove, nor device nodes. */
static void drop_capabilities(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return;
	for (int i = 0; i < 2; i++) {
		if (CAP_LINUX_IMMUTABLE / 32 == i)
			d[i].effective &= ~(1u << (CAP_LINUX_IMMUTABLE % 32));
		if (CAP_MKNOD / 32 == i)
			d[i].effective &= ~(1u << (CAP_MKNOD % 32));
	}
	syscall(SYS_capset, &h, d);
}

/* Undefined behaviour is a finding, not a message. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	(void)argc, (void)argv;

	/* The commands fsync what they commit: on a disk that is most of the time */
	if (!tmp || !tmp[0])
		tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(root, sizeof(root), "%s/fuzz_catalog.XXXXXX", tmp);
	if (!mkdtemp(root))
		die("mkdtemp");
	atexit(cleanup);
	__sanitizer_set_death_callback(cleanup); /* a crash leaves nothing behind either */
	snprintf(base, sizeof(base), "%s/base", root);
	snprintf(work, sizeof(work), "%s/work", root);
	snprintf(out_dir, sizeof(out_dir), "%s/work/out", root);
	drop_capabilities();
	cli_set_program("fuzz_catalog");
	build_base();
	/* The commands' messages and listings are noise here; the sanitizers
	 * and libFuzzer write to the file descriptor, not through stdio. */
	if (getenv("RAWKIT_FUZZ_VERBOSE")) /* to see what the commands say about an input */
		return 0;
	if (!freopen("/dev/null", "w", stdout))
		die("/dev/null");
	stderr = fopen("/dev/null", "w");
	if (!stderr)
		abort();
	return 0;
}

/* Every path of the mount's view below PATH, as the FUSE calls would
 * visit them (mounttree.c, mountfile.c): look-ups, listings, link
 * targets, attributes, flags, and each file read whole and sought. */
struct view_walk {
	struct view *v;
	char path[4096];
	unsigned budget; /* paths left to visit */
};

static int view_walk_child(const char *name, const struct stat *st, void *arg);

static void view_walk_path(struct view_walk *w)
{
	struct node n;
	char buf[4096];
	uint32_t flags;
	struct mfile *f;

	if (!w->budget || view_lookup(w->v, w->path, &n) < 0)
		return;
	w->budget--;
	view_readlink(w->v, &n, buf, sizeof(buf));
	view_listxattr(w->v, &n, buf, sizeof(buf), true);
	view_listxattr(w->v, &n, NULL, 0, false);
	view_getxattr(w->v, &n, "user.comment", buf, sizeof(buf), true);
	view_getxattr(w->v, &n, "user.comment", buf, 1, true);
	view_flags(w->v, &n, &flags);
	if (n.kind == NODE_ENTRY && S_ISREG(n.st.st_mode) && mfile_open(w->v, n.version_id, w->path, &f) == 0) {
		uint64_t off = 0;
		int got;
		mfile_seek(w->v, f, 0, SEEK_DATA);
		while ((got = mfile_read(w->v, f, buf, sizeof(buf), off)) > 0)
			off += (uint64_t)got;
		mfile_read(w->v, f, buf, 100, 0); /* behind: from the start again */
		mfile_seek(w->v, f, 1, SEEK_HOLE);
		mfile_close(w->v, f);
	}
	if (S_ISDIR(n.st.st_mode))
		view_list(w->v, w->path, &n, view_walk_child, w);
}

static int view_walk_child(const char *name, const struct stat *st, void *arg)
{
	struct view_walk *w = arg;
	size_t len = strlen(w->path);
	int room = (int)(sizeof(w->path) - len);

	if (snprintf(w->path + len, (size_t)room, "%s%s", len > 1 ? "/" : "", name) < room)
		view_walk_path(w);
	w->path[len] = '\0';
	return 0;
}

static void walk_view(void)
{
	struct view v = { .uid = 0 };
	struct view_walk w = { .v = &v, .path = "/", .budget = 200 };

	if (!(v.repo = realpath(work, NULL)))
		return;
	if (view_open(&v, v.repo, NULL) == 0)
		view_walk_path(&w);
	view_close(&v);
	free(v.repo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = { "g", "g@1", "g@2", "g@latest" };
	const char *paths[] = { "p1/etc" };
	struct restore_opts ro = { .repo = work, .to = out_dir, .quiet = true };
	struct prune_opts po = { .repo = work, .guest = "g" };
	struct restore_disk_opts rdo = { .repo = work, .target = out_dir, .dry_run = true };
	char target[600];

	if (size == 0)
		return 0;
	fresh_work();
	mutate(data + 1, size - 1);
	cmd_list(work, NULL, data[0] & 1);
	cmd_ls(work, specs[data[0] % 4], "p1/etc", data[0] & 2, data[0] & 4);
	walk_view();
	cmd_verify(work, NULL, true, NULL, false, false);
	cmd_verify(work, specs[data[0] % 4], true, NULL, true, false);
	ro.spec = specs[data[0] % 4];
	cmd_restore(&ro);
	ro.overwrite = true; /* again, over what is there: the replace path */
	ro.paths = paths;
	ro.npaths = 1;
	cmd_restore(&ro);
	/* restore-disk's plan from the shape, nothing written (a target that is not there) */
	snprintf(target, sizeof(target), "%s/none.img", work);
	rdo.target = target;
	rdo.spec = specs[data[0] % 4];
	rdo.json = data[0] & 64;
	cmd_restore_disk(&rdo);
	po.keep.last = 1 + data[0] % 3;
	po.keep.daily = data[0] & 8 ? 2 : 0;
	po.keep.has_within = data[0] & 16;
	po.keep.within.days = 1;
	po.guest = data[0] & 32 ? NULL : "g"; /* --all */
	po.dry_run = true;
	cmd_prune(&po);
	po.dry_run = false;
	cmd_prune(&po);
	cmd_verify(work, NULL, false, NULL, false, false);
	return 0;
}
