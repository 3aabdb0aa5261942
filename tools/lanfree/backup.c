/* backup.c --- rawkit-lanfree backup: one generation of one guest
 *
 * Order of work, for crash safety:
 *  1. everything that can refuse does so before anything is written
 *     (locks, the disk, dirty filesystems);
 *  2. the walk writes new contents to REPO/tmp/ and stages catalog rows in a
 *     private temporary database, holding no lock on the catalog;
 *  3. the archive is fsynced and renamed into REPO/data/GUEST/ (directories
 *     fsynced);
 *  4. one catalog transaction adds the generation.
 * A crash before 4 leaves the catalog as it was; the files of 2-3 are
 * unreferenced and removed by the next prune.
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char stage_schema[] =
	"ATTACH DATABASE '' AS stage;"
	"PRAGMA stage.journal_mode=OFF; PRAGMA stage.synchronous=OFF;"
	"CREATE TABLE stage.newv(id INTEGER PRIMARY KEY, volume TEXT, dir BLOB, name BLOB, mode INTEGER, uid INTEGER,"
	" gid INTEGER, size INTEGER, atime INTEGER, mtime INTEGER, ctime INTEGER, btime INTEGER, ino INTEGER, igen INTEGER,"
	" nlink INTEGER, rdev_major INTEGER, rdev_minor INTEGER, flags INTEGER, symlink BLOB, xattrs BLOB,"
	" sha BLOB, error TEXT, pending INTEGER, physical INTEGER);"
	"CREATE INDEX stage.newv_pending ON newv(ino) WHERE pending = 1;"
	"CREATE INDEX stage.newv_queued ON newv(ino) WHERE physical IS NOT NULL;"
	/* open versions of a compared volume that end; the open versions of
	 * a volume not compared with the base all end */
	"CREATE TABLE stage.ended(id INTEGER PRIMARY KEY);"
	"CREATE TABLE stage.compared(volume TEXT PRIMARY KEY);"
	"CREATE TABLE stage.copyv(id INTEGER PRIMARY KEY);"
	"CREATE TABLE stage.dirsum(id INTEGER PRIMARY KEY, sum BLOB);" /* newv id -> checksum */
	"CREATE TABLE stage.newc(sha BLOB PRIMARY KEY, size INTEGER, frame INTEGER, off INTEGER);"
	"CREATE INDEX stage.newc_size ON newc(size);";

#define VCOLS                                                                                         \
	"mode, uid, gid, size, atime, mtime, ctime, btime, ino, igen, nlink, rdev_major, rdev_minor, flags, " \
	"symlink, xattrs"

static int stage_open(struct backup *bk)
{
	if (catalog_exec(bk->db, stage_schema) < 0)
		return -1;
	bk->ins_newv = catalog_prepare(bk->db, "INSERT INTO stage.newv(volume, dir, name, " VCOLS ", sha, error, pending,"
					       " physical) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id");
	bk->q_pending = catalog_prepare(bk->db, "SELECT dir, name, xattrs FROM stage.newv WHERE id = ?");
	bk->upd_done = catalog_prepare(bk->db, "UPDATE stage.newv SET sha = ?1, error = ?2, pending = 0 WHERE id = ?3");
	bk->ins_ended = catalog_prepare(bk->db, "INSERT INTO stage.ended VALUES(?) ON CONFLICT DO NOTHING");
	bk->ins_copyv = catalog_prepare(bk->db, "INSERT INTO stage.copyv VALUES(?) ON CONFLICT DO NOTHING");
	bk->ins_newc = catalog_prepare(bk->db, "INSERT INTO stage.newc VALUES(?,?,?,?) ON CONFLICT DO NOTHING");
	bk->q_size = catalog_prepare(bk->db, "SELECT 1 FROM main.contents WHERE size = ?1 "
					"UNION ALL SELECT 1 FROM stage.newc WHERE size = ?1 LIMIT 1");
	bk->q_sha = catalog_prepare(bk->db, "SELECT 1 FROM main.contents WHERE sha256 = ?1 "
				       "UNION ALL SELECT 1 FROM stage.newc WHERE sha = ?1 LIMIT 1");
	bk->q_cid = catalog_prepare(bk->db, "SELECT sha256 FROM main.contents WHERE id = ?1");
	if (!bk->ins_newv || !bk->ins_ended || !bk->ins_copyv || !bk->ins_newc || !bk->q_size || !bk->q_sha ||
	    !bk->q_cid || !bk->q_pending || !bk->upd_done)
		return -1;
	return catalog_exec(bk->db, "BEGIN");
}

static void stage_close(struct backup *bk)
{
	struct db_stmt *all[] = { bk->ins_newv, bk->ins_ended, bk->ins_copyv, bk->ins_newc, bk->q_size,
				bk->q_sha,    bk->q_cid,    bk->q_pending, bk->upd_done };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		db_finalize(all[i]);
	if (db_in_transaction(bk->db))
		db_rollback(bk->db);
	db_exec(bk->db, "DETACH DATABASE stage");
}

/* The archive into REPO/data/GUEST/, durable. */
static int pack_publish(struct backup *bk)
{
	char dir[300], *dest = NULL;
	unsigned char rnd[4];
	char tag[9];

	if (pack_close(bk->pack) < 0) {
		cli_error(bk->repo->path, "%s", pack_error(bk->pack));
		return -1;
	}
	fault_point("archive-written");
	snprintf(dir, sizeof(dir), "data/%s", bk->guest);
	if (!bk->repo->rados && mkdirat(bk->repo->dirfd, dir, 0700) < 0 && errno != EEXIST) {
		cli_error(bk->repo->path, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	hex(rnd, sizeof(rnd), tag);
	if (asprintf(&bk->pack_rel, "%s/%lld-%s%s", dir, (long long)bk->new_seq, tag, compression_suffix(bk->o->comp)) < 0 ||
	    asprintf(&dest, "%s/%s", bk->repo->path, bk->pack_rel) < 0) {
		cli_error(bk->repo->path, "out of memory");
		free(dest);
		return -1;
	}
	if (bk->repo->rados) {
		free(dest);
		return rados_repo_publish(bk->repo, bk->pack, bk->pack_rel);
	}
	if (rename(bk->pack_tmp, dest) < 0) {
		cli_error(dest, "cannot move the archive into place: %s", strerror(errno));
		free(dest);
		return -1;
	}
	free(dest);
	if (repo_sync_dir(bk->repo, dir) < 0 || repo_sync_dir(bk->repo, "data") < 0 || repo_sync_dir(bk->repo, "tmp") < 0) {
		cli_error(bk->repo->path, "cannot flush the data directory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct vol_state {
	struct imgfmt_volume v;
	imgfmt_fs *fs;
	const char *skipped;            /* why not backed up, NULL when it is */
	bool warn;                      /* skipped for a reason the user must hear */
	char reason[600];
	struct imgfmt_consistency_info consistency; /* how its filesystem was read */
};

/* The catalog's word for how volume S was read ("" when it was not). */
static const char *consistency_word(const struct vol_state *s)
{
	return s->fs ? imgfmt_consistency_name(s->consistency.state) : "";
}

/* Run SQL (no result rows) with integer parameters ARGS[0..N); true if done. */
static bool exec_ints(struct db *db, const char *sql, const int64_t *args, int n)
{
	struct db_stmt *st = catalog_prepare(db, sql);
	bool done;

	for (int i = 0; st && i < n; i++)
		db_bind_int64(st, i + 1, args[i]);
	done = st && db_step(st) == DB_DONE;
	db_finalize(st);
	return done;
}

static int insert_generation(struct backup *bk, struct vol_state *vols, size_t nvols, int64_t started,
			     const struct shape *shape)
{
	struct db *db = bk->db;
	struct db_stmt *st;
	int64_t gen_id = 0, archive_id = 0, shape_id = 0;
	size_t nframes = 0;
	const struct frame_info *frames = bk->pack ? pack_frames(bk->pack, &nframes) : NULL;
	int ok = 1;

	if (catalog_exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (!bk->guest_id) {
		st = catalog_prepare(db, "INSERT INTO guests(name) VALUES(?) RETURNING id");
		ok = st && (db_bind_text(st, 1, bk->guest, -1), db_step(st) == DB_ROW);
		if (ok)
			bk->guest_id = db_column_int64(st, 0);
		db_finalize(st);
	}
	/* the disk's shape goes in with the generation, or neither does */
	if (ok && shape->json && (shape_id = shape_store(db, shape)) < 0)
		ok = 0;
	st = catalog_prepare(db, "INSERT INTO generations(guest_id, seq, level, base_seq, started, finished, status, dirty,"
			    " disk, files, bytes_total, bytes_new, bytes_stored, excludes, shape_id) "
			    "VALUES(?,?,?,NULLIF(?,0),?,?,?,?,?,?,?,?,?,?,NULLIF(?,0)) RETURNING id");
	if (ok && st) {
		int i = 1;
		db_bind_int64(st, i++, bk->guest_id);
		db_bind_int64(st, i++, bk->new_seq);
		db_bind_text(st, i++, bk->level, -1);
		db_bind_int64(st, i++, strcmp(bk->level, "full") ? bk->base_seq : 0);
		db_bind_int64(st, i++, started);
		db_bind_int64(st, i++, now_ns());
		db_bind_text(st, i++, bk->warnings ? "partial" : "complete", -1);
		db_bind_int64(st, i++, bk->dirty);
		db_bind_text(st, i++, bk->o->disk, -1);
		db_bind_int64(st, i++, bk->files);
		db_bind_int64(st, i++, bk->bytes_total);
		db_bind_int64(st, i++, bk->bytes_new);
		db_bind_int64(st, i++, bk->pack ? (int64_t)pack_size(bk->pack) : 0);
		db_bind_text(st, i++, bk->excludes_joined, -1);
		db_bind_int64(st, i++, shape_id);
		ok = db_step(st) == DB_ROW;
		gen_id = ok ? db_column_int64(st, 0) : 0;
	} else {
		ok = 0;
	}
	db_finalize(st);
	st = ok ? catalog_prepare(db, "INSERT INTO volumes(gen_id, name, fstype, uuid, label, skipped, consistency,"
				 " journal_transactions, journal_blocks, consistency_note) VALUES(?,?,?,?,?,?,?,?,?,?)") : NULL;
	for (size_t i = 0; ok && st && i < nvols; i++) {
		db_bind_int64(st, 1, gen_id);
		db_bind_text(st, 2, vols[i].v.name, -1);
		db_bind_text(st, 3, vols[i].v.fstype, -1);
		db_bind_text(st, 4, vols[i].v.fs_uuid, -1);
		db_bind_text(st, 5, vols[i].v.fs_label, -1);
		if (vols[i].skipped)
			db_bind_text(st, 6, vols[i].skipped, -1);
		else
			db_bind_null(st, 6);
		db_bind_text(st, 7, consistency_word(&vols[i]), -1);
		db_bind_int64(st, 8, vols[i].consistency.transactions);
		db_bind_int64(st, 9, (int64_t)vols[i].consistency.blocks);
		db_bind_text(st, 10, vols[i].consistency.note, -1);
		ok = db_step(st) == DB_DONE;
		db_reset(st);
	}
	db_finalize(st);
	if (ok && bk->pack) {
		st = catalog_prepare(db, "INSERT INTO archives(path, compression, size) VALUES(?,?,?) RETURNING id");
		ok = st && (db_bind_text(st, 1, bk->pack_rel, -1),
			    db_bind_text(st, 2, compression_name(bk->o->comp), -1),
			    db_bind_int64(st, 3, (int64_t)pack_size(bk->pack)), db_step(st) == DB_ROW);
		if (ok)
			archive_id = db_column_int64(st, 0);
		db_finalize(st);
		st = ok ? catalog_prepare(db, "INSERT INTO frames VALUES(?,?,?,?,?,?)") : NULL;
		for (size_t i = 0; ok && st && i < nframes; i++) {
			db_bind_int64(st, 1, archive_id);
			db_bind_int64(st, 2, (int64_t)i);
			db_bind_int64(st, 3, (int64_t)frames[i].offset);
			db_bind_int64(st, 4, (int64_t)frames[i].csize);
			db_bind_int64(st, 5, (int64_t)frames[i].usize);
			db_bind_blob(st, 6, frames[i].sha256, 32);
			ok = db_step(st) == DB_DONE;
			db_reset(st);
		}
		db_finalize(st);
		ok = ok && exec_ints(db, "INSERT INTO contents(sha256, size, archive_id, frame_idx, entry_offset)"
					 " SELECT sha, size, ?1, frame, off FROM stage.newc ORDER BY sha ON CONFLICT DO NOTHING",
				     &archive_id, 1);
	}
	/* Versions of the newest generation that do not go on end with it;
	 * first, before the new ones are added open. */
	{
		const int64_t close_args[] = { bk->newest_seq, bk->guest_id, SEQ_OPEN, bk->base_seq };
		const int64_t new_args[] = { bk->guest_id, bk->new_seq, SEQ_OPEN };
		const int64_t copy_args[] = { bk->new_seq, SEQ_OPEN };
		/* the walk compared every open version of a compared volume
		 * that the base holds; the rest of the open ones end here */
		ok = ok && exec_ints(db, "UPDATE main.versions SET last_seq = ?1 WHERE id IN (SELECT id FROM stage.ended)",
				     close_args, 1);
		ok = ok && exec_ints(db, "UPDATE main.versions SET last_seq = ?1 WHERE guest_id = ?2 AND last_seq = ?3"
					 " AND (first_seq > ?4 OR volume NOT IN (SELECT volume FROM stage.compared))",
				     close_args, 4);
		ok = ok && exec_ints(db, "INSERT INTO versions(guest_id, volume, dir, name, first_seq, last_seq, " VCOLS
					 ", content_id, error, dirsum) SELECT ?1, volume, dir, name, ?2, ?3, " VCOLS
					 /* every staged content must be in the catalog now: a
					  * missing one is content_id -1, which the foreign key
					  * refuses (and the generation is not added) */
					 ", COALESCE((SELECT id FROM main.contents c WHERE c.sha256 = n.sha),"
					 " CASE WHEN n.sha IS NOT NULL THEN -1 END), error,"
					 " (SELECT sum FROM stage.dirsum d WHERE d.id = n.id) FROM stage.newv n",
				     new_args, 3);
		ok = ok && exec_ints(db, "INSERT INTO versions(guest_id, volume, dir, name, first_seq, last_seq, " VCOLS
					 ", content_id, error, dirsum) SELECT guest_id, volume, dir, name, ?1, ?2, " VCOLS
					 ", content_id, error, dirsum FROM main.versions WHERE id IN (SELECT id FROM stage.copyv)",
				     copy_args, 2);
	}
	if (!ok) {
		cli_error("catalog", "cannot add the generation: %s", db_errmsg(db));
		db_rollback(db);
		return -1;
	}
	fault_point("before-commit");
	/* in RADOS: a prune may run once our lock's lease ran out, and take
	 * the archive just uploaded for an orphan */
	if (repo_locks_held(bk->repo) < 0) {
		db_rollback(db);
		return -1;
	}
	if (catalog_exec(db, "COMMIT") < 0)
		return -1;
	fault_point("after-commit");
	return 0;
}

/* Partitions that hold boot code or nothing, never files: skipped quietly. */
static bool fileless_partition(const struct imgfmt_volume *v)
{
	static const char *const types[] = {
		"21686148-6449-6E6F-744E-656564454649", /* BIOS boot (GRUB's core image) */
		"E3C9E316-0B5C-4DB8-817D-F92DF00215AE", /* Microsoft reserved */
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(v->type, types[i]))
			return true;
	return false;
}

/* No filesystem signature: blank (its first MiB all zeros), or something
 * damaged or unknown that a user must hear about. */
static bool volume_blank(struct backup *bk, const struct imgfmt_volume *v, size_t index)
{
	size_t len = v->size < BUF_SIZE ? (size_t)v->size : BUF_SIZE;

	if (imgfmt_volume_pread(bk->disk, index, bk->buf, len, 0) < 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (bk->buf[i])
			return false;
	return true;
}

/* Why volume S cannot be backed up (S->skipped, S->warn), or its open
 * filesystem in S->fs.  Only swap, blank and boot-code partitions are
 * skipped without a warning. */
static void open_volume(struct backup *bk, struct vol_state *s, size_t index)
{
	const struct imgfmt_volume *v = &s->v;
	struct imgfmt_stat st;
	int rc;

	s->skipped = s->reason;
	if (v->container) {
		s->skipped = "extended partition";
		return;
	}
	if (!strcmp(v->fstype, "swap")) {
		snprintf(s->reason, sizeof(s->reason), "swap");
		return;
	}
	if (!strcmp(v->fstype, "LVM2_member") && v->lv_vg[0]) {
		snprintf(s->reason, sizeof(s->reason), "LVM2 physical volume of volume group %s (its logical volumes are volumes)",
			 v->lv_vg);
		return;
	}
	if (v->unreadable) {
		snprintf(s->reason, sizeof(s->reason), "LVM2 logical volume: %s", v->probe_note);
		s->warn = true;
		return;
	}
	if (!v->fstype[0]) {
		bool quiet = fileless_partition(v) || volume_blank(bk, v, index);
		snprintf(s->reason, sizeof(s->reason), "%s%s", v->probe_note,
			 quiet ? "" : ", but not blank (a damaged or unknown filesystem?)");
		s->warn = !quiet;
		return;
	}
	s->warn = true;
	if (strcmp(v->fstype, "ext2") && strcmp(v->fstype, "ext3") && strcmp(v->fstype, "ext4") &&
	    strcmp(v->fstype, "ntfs") && strcmp(v->fstype, "xfs") && strcmp(v->fstype, "vfat")) {
		snprintf(s->reason, sizeof(s->reason), "%s: not a filesystem rawkit reads", v->fstype);
		return;
	}
	s->fs = imgfmt_fs_new();
	if (!s->fs || imgfmt_fs_open(s->fs, bk->disk, index, 0) < 0) {
		const char *why = s->fs ? imgfmt_fs_error(s->fs) : "out of memory";
		size_t n = strlen(v->name);
		/* the library's message starts with the volume's name */
		if (!strncmp(why, v->name, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
		snprintf(s->reason, sizeof(s->reason), "%s", why);
		imgfmt_fs_free(s->fs);
		s->fs = NULL;
		return;
	}
	rc = imgfmt_fs_stat(s->fs, imgfmt_fs_root(s->fs), &st);
	if (rc < 0 || !S_ISDIR(st.mode)) {
		snprintf(s->reason, sizeof(s->reason), "%s: the root directory (inode %llu) %s%s", v->fstype,
			 (unsigned long long)imgfmt_fs_root(s->fs), rc < 0 ? "cannot be read: " : "is not a directory",
			 rc < 0 ? imgfmt_fs_error(s->fs) : "");
		imgfmt_fs_free(s->fs);
		s->fs = NULL;
		return;
	}
	imgfmt_fs_consistency(s->fs, &s->consistency);
	s->skipped = NULL;
	s->warn = false;
}

/* Nothing could be backed up: one line saying why for each volume. */
static void nothing_to_back_up(struct backup *bk, const struct vol_state *vols, size_t n)
{
	char why[2048] = "";
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(why); i++)
		len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s: %s", i ? "; " : "", vols[i].v.name,
					vols[i].skipped ? vols[i].skipped : "?");
	cli_error(bk->o->disk, "nothing to back up: no volume holds a filesystem rawkit can read (%s)", why);
}

/* Open each volume's filesystem; refuse dirty ones unless allowed, and a
 * disk where no volume can be backed up (nothing is recorded: an empty
 * generation reported as complete would let a cron job prune the last
 * good ones). */
static int open_volumes(struct backup *bk, struct vol_state *vols, size_t n)
{
	size_t opened = 0;

	for (size_t i = 0; i < n; i++) {
		struct vol_state *s = &vols[i];
		imgfmt_disk_volume(bk->disk, i, &s->v);
		open_volume(bk, s, i);
		if (!s->fs)
			continue;
		opened++;
		/* an unclean NTFS, and an XFS whose log holds changes, are read
		 * as they are without being asked (there is no other way to
		 * read them) and said; an ext3/4 journal that cannot be
		 * replayed, or recorded errors, need --allow-dirty */
		if (imgfmt_fs_dirty(s->fs) && s->consistency.state != IMGFMT_NTFS_UNCLEAN &&
		    s->consistency.state != IMGFMT_XFS_LOG_DIRTY) {
			if (!bk->o->allow_dirty) {
				if (s->consistency.state == IMGFMT_UNREPLAYABLE)
					cli_error(bk->o->disk, "%s: %s was not cleanly unmounted and its journal cannot be "
							       "replayed: %s; back up a clean snapshot, or use --allow-dirty",
						  s->v.name, imgfmt_fs_type(s->fs), s->consistency.note);
				else
					cli_error(bk->o->disk, "%s: %s was not cleanly unmounted (or has errors recorded); "
							       "back up a clean snapshot, or use --allow-dirty",
						  s->v.name, imgfmt_fs_type(s->fs));
				return -1;
			}
		}
		if (imgfmt_fs_dirty(s->fs))
			bk->dirty = true;
	}
	if (opened == 0) {
		nothing_to_back_up(bk, vols, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (vols[i].warn)
			backup_warn(bk, bk->o->disk, "%s: not backed up: %s", vols[i].v.name, vols[i].skipped);
		if (vols[i].fs && vols[i].consistency.state == IMGFMT_NTFS_UNCLEAN)
			backup_warn(bk, bk->o->disk, "%s: ntfs was not cleanly shut down (Windows running, hibernated "
				    "or Fast Startup): backed up read-only as it is, without replaying its log",
				    vols[i].v.name);
		else if (vols[i].fs && vols[i].consistency.state == IMGFMT_XFS_LOG_DIRTY)
			backup_warn(bk, bk->o->disk, "%s: xfs log not replayed (a running or frozen guest's snapshot): "
				    "backed up as it is on disk; %s", vols[i].v.name, vols[i].consistency.note);
		else if (vols[i].fs && imgfmt_fs_dirty(vols[i].fs))
			backup_warn(bk, bk->o->disk, "%s: %s was not cleanly unmounted; backed up as it is (--allow-dirty)",
				    vols[i].v.name, imgfmt_fs_type(vols[i].fs));
	}
	return 0;
}

static char *join_excludes(const struct backup_opts *o)
{
	struct blob b = { 0 };

	for (size_t i = 0; i < o->nexcludes; i++)
		if (blob_append(&b, o->excludes[i], strlen(o->excludes[i]) + 1) < 0)
			return NULL;
	if (blob_append(&b, "", 1) < 0)
		return NULL;
	for (size_t i = 0; i + 1 < b.len; i++)
		if (b.data[i] == '\0')
			b.data[i] = '\n';
	return (char *)b.data;
}

static bool base_excludes_equal(struct backup *bk)
{
	struct db_stmt *st = catalog_prepare(bk->db, "SELECT excludes FROM generations WHERE guest_id = ? AND seq = ?");
	bool same = false;

	if (!st)
		return false;
	db_bind_int64(st, 1, bk->guest_id);
	db_bind_int64(st, 2, bk->base_seq);
	if (db_step(st) == DB_ROW)
		same = !strcmp(db_column_text(st, 0), bk->excludes_joined);
	db_finalize(st);
	return same;
}

static void summary(struct backup *bk, struct vol_state *vols, size_t n, double seconds)
{
	const struct backup_opts *o = bk->o;
	char a[16], b[16], c[16];
	int64_t stored = bk->pack ? (int64_t)pack_size(bk->pack) : 0;

	if (o->json) {
		json_t *obj = json_object(), *vj = json_array();
		json_put(obj, "guest", json_text(bk->guest));
		json_put(obj, "disk", json_text(o->disk));
		json_put(obj, "generation", json_integer(bk->new_seq));
		json_put(obj, "level", json_text(bk->level));
		json_put(obj, "generation_status", json_string(bk->warnings ? "partial" : "complete"));
		json_put(obj, "dirty", json_boolean(bk->dirty));
		json_put(obj, "files", json_integer(bk->files));
		json_put(obj, "total_bytes", json_integer(bk->bytes_total));
		json_put(obj, "new_bytes", json_integer(bk->bytes_new));
		json_put(obj, "stored_bytes", json_integer(stored));
		json_put_seconds(obj, "elapsed_ns", seconds);
		for (size_t i = 0; i < n; i++) {
			json_t *v = json_object();
			json_put(v, "name", json_text(vols[i].v.name));
			json_put(v, "fstype", json_text(vols[i].v.fstype));
			json_put(v, "skipped", json_text(vols[i].skipped));
			json_put(v, "consistency", json_string(consistency_word(&vols[i])));
			json_put(v, "journal_transactions", json_integer(vols[i].consistency.transactions));
			json_put(v, "journal_blocks", json_integer((json_int_t)vols[i].consistency.blocks));
			json_put(v, "consistency_note", json_text(vols[i].consistency.note));
			json_array_append_new(vj, v);
		}
		json_put(obj, "volumes", vj);
		json_print(obj, bk->warnings ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE);
		return;
	}
	if (o->quiet)
		return;
	for (size_t i = 0; i < n; i++) {
		if (vols[i].skipped && !vols[i].v.container)
			printf("%s: skipped: %s\n", vols[i].v.name, vols[i].skipped);
		if (vols[i].fs && vols[i].consistency.state == IMGFMT_REPLAYED)
			printf("%s: crash-consistent: journal replayed in memory (%u transaction%s, %llu block%s)%s%s\n",
			       vols[i].v.name, vols[i].consistency.transactions,
			       vols[i].consistency.transactions == 1 ? "" : "s",
			       (unsigned long long)vols[i].consistency.blocks, vols[i].consistency.blocks == 1 ? "" : "s",
			       vols[i].consistency.note[0] ? "; " : "", vols[i].consistency.note);
	}
	printf("%s@%lld %s%s: %lld files, %s total, %s new, %s stored, %.1f s\n", bk->guest, (long long)bk->new_seq,
	       bk->level, bk->warnings ? " (partial)" : "", (long long)bk->files,
	       cli_human((uint64_t)bk->bytes_total, a, sizeof(a)), cli_human((uint64_t)bk->bytes_new, b, sizeof(b)),
	       cli_human((uint64_t)stored, c, sizeof(c)), seconds);
}

/* The guest name a disk gives without --name: its file name, or an RBD
 * image's name (rbd:POOL/IMAGE@SNAP:OPTIONS gives IMAGE).  Cuts COPY. */
static char *default_guest(char *copy)
{
	char *name;

	if (!copy)
		return "";
	if (strncmp(copy, "rbd:", 4) != 0)
		return basename(copy);
	copy[4 + strcspn(copy + 4, ":")] = '\0';
	name = basename(copy + 4);
	name[strcspn(name, "@")] = '\0';
	return name;
}

static int backup_disk(const struct backup_opts *o)
{
	struct backup bk = { .o = o };
	struct repo repo;
	struct generation newest, base;
	struct vol_state *vols = NULL;
	struct shape shape = { 0 };
	size_t nvols = 0;
	char *name_copy = NULL;
	int64_t started = now_ns();
	double t0 = cli_now();
	int status = RAWKIT_EXIT_FAILED, rc;

	name_copy = strdup(o->disk);
	bk.guest = o->guest ? o->guest : default_guest(name_copy);
	if (!guest_name_ok(bk.guest)) {
		cli_error(bk.guest, "not a valid guest name (letters, digits, '.', '_', '-', '+'; use --name)");
		free(name_copy);
		return RAWKIT_EXIT_USAGE;
	}
	if ((rc = repo_open(&repo, o->repo, REPO_SHARED)) != 0) {
		free(name_copy);
		return rc;
	}
	bk.repo = &repo;
	bk.db = repo.db;
	/* aligned: a large file's chunks are read into them bypassing the page cache (feed()) */
	bk.buf = aligned_alloc(4096, BUF_SIZE);
	bk.buf2 = aligned_alloc(4096, BUF_SIZE);
	bk.excludes_joined = join_excludes(o);
	bk.disk = imgfmt_disk_new();
	if (!bk.buf || !bk.buf2 || !bk.excludes_joined || !bk.disk) {
		cli_error(o->disk, "out of memory");
		goto out;
	}
	if ((rc = repo_lock_guest(&repo, bk.guest)) != 0) {
		status = rc;
		goto out;
	}
	if (imgfmt_disk_open(bk.disk, o->disk, 0) < 0) {
		cli_error(o->disk, "%s", imgfmt_disk_error(bk.disk));
		goto out;
	}
	nvols = imgfmt_disk_volume_count(bk.disk);
	vols = calloc(nvols, sizeof(*vols));
	if (!vols || open_volumes(&bk, vols, nvols) < 0)
		goto out;
	/* what restore-disk needs besides the files: a disk that cannot be
	 * described is still backed up */
	if (shape_describe(bk.disk, &shape) < 0) {
		shape_free(&shape);
		backup_warn(&bk, o->disk, "its partition table and boot areas were not recorded (restore-disk cannot "
			    "remake it from this generation)");
	}
	bk.guest_id = catalog_guest_id(bk.db, bk.guest);
	if (bk.guest_id < 0)
		goto out;
	bk.level = o->level;
	rc = bk.guest_id ? catalog_newest(bk.db, bk.guest_id, NULL, &newest) : 1;
	if (rc < 0)
		goto out;
	if (rc == 1) {
		if (strcmp(bk.level, "full") && !o->quiet && !o->json)
			printf("%s: no earlier generation: this backup is a full one\n", bk.guest);
		bk.level = "full";
	} else {
		bk.newest_seq = newest.seq;
		bk.base_seq = newest.seq;
		bk.base_started = newest.started;
		if (!strcmp(bk.level, "diff")) {
			if (catalog_newest(bk.db, bk.guest_id, "full", &base) == 0) {
				bk.base_seq = base.seq;
				bk.base_started = base.started;
			} else {
				bk.level = "full";
			}
		}
	}
	bk.new_seq = bk.newest_seq + 1;
	bk.same_excludes = bk.base_seq && base_excludes_equal(&bk);
	if (stage_open(&bk) < 0)
		goto out;
	cli_progress_start(&bk.progress, "backup", o->progress);
	for (size_t i = 0; i < nvols; i++) {
		if (!vols[i].fs)
			continue;
		if (walk_volume(&bk, vols[i].fs, vols[i].v.name, vols[i].v.fs_uuid) < 0)
			goto out;
	}
	cli_progress_end(&bk.progress);
	if (catalog_exec(bk.db, "COMMIT") < 0)
		goto out;
	if (bk.pack && pack_publish(&bk) < 0)
		goto out;
	fault_point("archive-published");
	if (insert_generation(&bk, vols, nvols, started, &shape) < 0)
		goto out;
	summary(&bk, vols, nvols, cli_now() - t0);
	status = bk.warnings ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
out:
	if (bk.db)
		stage_close(&bk);
	pack_free(bk.pack); /* removes the temp archive unless published */
	if (status == RAWKIT_EXIT_FAILED && bk.pack_tmp)
		unlink(bk.pack_tmp);
	for (size_t i = 0; i < nvols; i++)
		imgfmt_fs_free(vols[i].fs);
	free(vols);
	shape_free(&shape);
	imgfmt_disk_free(bk.disk);
	free(bk.buf);
	free(bk.buf2);
	free(bk.excludes_joined);
	free(bk.pack_tmp);
	free(bk.pack_rel);
	free(name_copy);
	repo_close(&repo);
	return status;
}

/* --snapshot: the backup reads a snapshot made for it, and the snapshot
 * goes when the backup ends, however it ends.  The generation records
 * the disk with its snapshot (rbd:POOL/IMAGE@rawkit-...): what was read. */
int cmd_backup(const struct backup_opts *o)
{
	struct backup_opts from_snapshot = *o;
	char *spec;
	int status;

	if (!o->snapshot)
		return backup_disk(o);
	if (snapshot_begin(o->disk, &spec) < 0)
		return RAWKIT_EXIT_FAILED;
	from_snapshot.disk = spec;
	status = backup_disk(&from_snapshot);
	if (snapshot_end() < 0 && status != RAWKIT_EXIT_FAILED)
		status = RAWKIT_EXIT_WARNINGS;
	free(spec);
	return status;
}
