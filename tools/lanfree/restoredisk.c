/* restoredisk.c --- rawkit-lanfree restore-disk: a generation made into a whole disk again
 *
 * From the disk shape the generation recorded (shape.c): the partition
 * table is written through libfdisk with the same ids, types, names and
 * attributes; each ext2/3/4 is made by mke2fs with its recorded UUID, label
 * and parameters, then filled by the restore code itself (restore.c) on
 * the new filesystem loop-mounted, so that every attribute comes back
 * exactly as `restore` brings it back (owners, modes, ns times, xattrs,
 * ACLs, inode flags, hard links, holes, devices); each NTFS is made by
 * mkntfs with its cluster size, label and serial, its hidden sectors the
 * partition's start, its recorded boot code around the new BPB, and
 * filled the same way through ntfs-3g (rdntfs.c); swap is made by mkswap
 * with its UUID and label; XFS by mkfs.xfs the same way as ext; the boot
 * areas no file holds are written back last, an LVM PV's label and
 * metadata among them, after which each logical volume is made and filled
 * where that metadata puts it.  A smaller target sizes ext2/3/4 to their
 * files (rdfit.c); --volume makes one volume on a partition; --new-ids
 * hands the finished disk to rawkit-clone --in-place.  (mke2fs -d from a
 * staging tree was the other way: it needs the data's room twice, drops
 * inode flags, and the staging tree's immutable files cannot be removed
 * without chattr; filling through libext2fs without a mount is left for
 * later.)
 *
 * Everything that can refuse does so before the first write: the target in
 * use or holding something (without --force), too small for the files,
 * --grow naming a partition that cannot grow.  An image file is
 * written as a temp file beside it, renamed into place once complete
 * (imgfmt_output); a block device is written in place.
 */
#include "lanfree.h"
#include "rdntfs.h"
#include "rdrun.h"
#include "rdvfat.h"
#include "target_info.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024ull * 1024)
#define GPT_TAIL_SECTORS 33 /* backup entries and header at the end */
#define BIOS_BOOT_GUID "21686148-6449-6E6F-744E-656564454649"

enum action { ACT_NONE, ACT_MKFS, ACT_MKSWAP, ACT_BOOT, ACT_SKIP, ACT_LVM };
static const char *const action_names[] = { "none", "mkfs", "mkswap", "boot", "skip", "lvm" };

/* One partition (or the whole disk) of the recorded shape, and what
 * becomes of it. */
struct part {
	json_t *v; /* the shape's object (borrowed) */
	const char *name, *fstype, *uuid, *label, *type;
	unsigned partno;
	bool container;
	bool lv; /* an LVM logical volume: where its PV's metadata puts it */
	uint64_t old_start, old_size, start, size;
	enum action action;
	uint64_t inodes; /* shrunk: the inodes made (0: as recorded) */
	char note[300];  /* why skipped, or made empty */
	uint64_t files, bytes;
};

struct plan {
	const char *label, *target;
	uint64_t disk_bytes, target_bytes, sector, need_bytes;
	bool blockdev, exists;
	struct part *parts;
	size_t n;
	struct part *grown;   /* NULL: nothing grows */
	bool shrunk;          /* a smaller target: ext filesystems sized to their files */
	bool one_volume;      /* --volume: one filesystem on the whole target */
	json_t *ids;          /* --new-ids: what rawkit-clone changed ({kind, volume, old, new}) */
	uint64_t grown_from;  /* its recorded size */
	char not_grown[300];  /* a larger target, nothing grown: why */
	char destroys[512];   /* what the target holds now */
	uint64_t boot_bytes;  /* boot area bytes written (stored and zeros) */
};

/* The catalog is input: a volume's name becomes a directory name and its
 * place a write's; "p1".."p999" or "disk", inside the recorded disk. */
static bool part_sane(const struct plan *p, const struct part *q)
{
	size_t n = strspn(q->name + 1, "0123456789");

	if (strcmp(q->name, "disk") && !(q->name[0] == 'p' && n >= 1 && n <= 3 && !q->name[1 + n]))
		return false;
	return q->start % p->sector == 0 && q->size % p->sector == 0 && q->size && q->start <= p->disk_bytes &&
	       q->size <= p->disk_bytes - q->start && q->partno < 1000;
}

static bool is_ext(const char *t)
{
	return !strcmp(t, "ext2") || !strcmp(t, "ext3") || !strcmp(t, "ext4");
}

/* The target's size and kind; refused when it cannot be written (a block
 * device in use, another sector size). */
static int inspect_target(const char *target, struct plan *p)
{
	struct stat st;
	unsigned ssz = 512;
	char why[300];

	if (stat(target, &st) < 0) {
		if (errno != ENOENT) {
			cli_error(target, "%s", strerror(errno));
			return -1;
		}
		p->target_bytes = p->disk_bytes;
		return 0;
	}
	p->exists = true;
	if (S_ISREG(st.st_mode)) {
		p->target_bytes = st.st_size ? (uint64_t)st.st_size : p->disk_bytes;
	} else if (S_ISBLK(st.st_mode)) {
		p->blockdev = true;
		if (target_blockdev_size(target, &p->target_bytes, &ssz, why, sizeof(why)) < 0) {
			cli_error(target, "%s", why);
			return -1;
		}
	} else {
		cli_error(target, "neither a block device nor an image file");
		return -1;
	}
	if (ssz != p->sector) {
		cli_error(target, "its sectors are %u bytes, the recorded disk's %llu", ssz, (unsigned long long)p->sector);
		return -1;
	}
	if (st.st_size || p->blockdev)
		target_holds(target, p->destroys, sizeof(p->destroys));
	return 0;
}

/* What becomes of partition P (its volume row in the generation tells
 * whether its files were backed up). */
static void choose_action(struct db *db, int64_t gen_id, struct part *p)
{
	struct db_stmt *st;

	if (p->container || (!p->fstype[0] && strcasecmp(p->type, BIOS_BOOT_GUID))) {
		p->action = ACT_NONE;
	} else if (!strcasecmp(p->type, BIOS_BOOT_GUID)) {
		p->action = ACT_BOOT;
	} else if (!strcmp(p->fstype, "swap")) {
		p->action = ACT_MKSWAP;
	} else if (!strcmp(p->fstype, "ntfs") && json_is_object(json_object_get(p->v, "params")) &&
		   rdntfs_check(json_object_get(p->v, "params"), p->note, sizeof(p->note)) < 0) {
		p->action = ACT_SKIP; /* the note says why */
	} else if ((is_ext(p->fstype) || !strcmp(p->fstype, "vfat") || !strcmp(p->fstype, "xfs") || !strcmp(p->fstype, "ntfs")) &&
		   json_is_object(json_object_get(p->v, "params"))) {
		p->action = ACT_MKFS;
		st = catalog_prepare(db, "SELECT skipped FROM volumes WHERE gen_id = ? AND name = ?");
		if (st) {
			db_bind_int64(st, 1, gen_id);
			db_bind_text(st, 2, p->name, -1);
			if (db_step(st) == DB_ROW && !db_column_is_null(st, 0))
				snprintf(p->note, sizeof(p->note), "its files were not backed up (%s): made empty",
					 db_column_text(st, 0));
		}
		db_finalize(st);
		/* an ESP's files go in with mtools: without it, made empty */
		if (!strcmp(p->fstype, "vfat") && !p->note[0] && (!rd_on_path("mcopy") || !rd_on_path("mattrib")))
			snprintf(p->note, sizeof(p->note), "mtools (mcopy, mattrib) is not installed: made empty (its files: "
				 "rawkit-lanfree restore)");
	} else if (!strcmp(p->fstype, "LVM2_member")) {
		p->action = ACT_SKIP;
		snprintf(p->note, sizeof(p->note), "an LVM physical volume: restore-disk does not remake LVM yet (the "
			 "logical volumes' files: rawkit-lanfree restore)");
	} else {
		p->action = ACT_SKIP;
		snprintf(p->note, sizeof(p->note), "restore-disk does not make %s filesystems yet: left empty (its files: "
			 "rawkit-lanfree restore)", p->fstype);
	}
}

/* What grows: an ext2/3/4 or XFS (made at the larger size), or an LVM PV
 * (its partition, label and metadata; the logical volumes stay). */
static bool growable(const struct part *q)
{
	return !q->lv && ((q->action == ACT_MKFS && (is_ext(q->fstype) || !strcmp(q->fstype, "xfs") || !strcmp(q->fstype, "ntfs"))) ||
			  q->action == ACT_LVM);
}

/* The partition a larger target grows: --grow's, or the last that can. */
static struct part *grow_candidate(struct plan *p, const char *grow)
{
	struct part *best = NULL;

	for (size_t i = 0; i < p->n; i++) {
		struct part *q = &p->parts[i];
		if (q->lv)
			continue;
		if (grow && !strcmp(q->name, grow))
			return q;
		if (!grow && growable(q) && (!best || q->old_start > best->old_start))
			best = q;
	}
	return best;
}

/* Grow G by DELTA: the partitions after it move along. */
static int grow_by(struct plan *p, struct part *g, uint64_t delta, char *why, size_t whylen)
{
	for (size_t i = 0; i < p->n; i++) {
		struct part *q = &p->parts[i];
		if (q == g || q->old_start < g->old_start || q->lv)
			continue;
		if (q->container || (!strcmp(p->label, "dos") && q->partno > 4) ||
		    (!strcmp(p->label, "dos") && g->partno > 4)) {
			snprintf(why, whylen, "%s would move %s, and rawkit does not move logical or extended partitions yet",
				 g->name, q->name);
			return -1;
		}
		if (q->action == ACT_BOOT || q->action == ACT_SKIP || q->action == ACT_NONE || q->action == ACT_LVM) {
			snprintf(why, whylen, "%s would move %s (%s), which rawkit remakes only in place", g->name, q->name,
				 q->fstype[0] ? q->fstype : "no filesystem");
			return -1;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (&p->parts[i] != g && p->parts[i].old_start > g->old_start && !p->parts[i].lv)
			p->parts[i].start += delta;
	p->grown = g;
	p->grown_from = g->size;
	g->size += delta;
	return 0;
}

/* Has the shape the label and metadata of PV Q (its boot area)? */
static bool pv_header_recorded(json_t *shape, const struct part *q)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(shape, "boot_areas"), i, a)
		if (!strcmp(rd_jstr(a, "what"), "lvm_pv_header") && !strcmp(rd_jstr(a, "volume"), q->name) &&
		    rd_jnum(a, "stored_bytes") && rd_jnum(a, "size_bytes"))
			return true;
	return false;
}

/* LVM: each PV partition whose label and metadata were recorded is
 * written back in place (ACT_LVM); then the logical volumes are made
 * and filled where that metadata puts them, when every PV is. */
static int add_lvs(struct db *db, const struct generation *g, json_t *shape, struct plan *p)
{
	json_t *v;
	size_t i, pvs = 0, remade = 0;

	for (size_t k = 0; k < p->n; k++)
		if (!strcmp(p->parts[k].fstype, "LVM2_member")) {
			pvs++;
			if (pv_header_recorded(shape, &p->parts[k])) {
				p->parts[k].action = ACT_LVM;
				p->parts[k].note[0] = '\0';
				remade++;
			} else {
				snprintf(p->parts[k].note, sizeof(p->parts[k].note), "its LVM label and metadata were not "
					 "recorded (an older rawkit, or a PV rawkit could not read): left empty");
			}
		}
	json_array_foreach(json_object_get(shape, "volumes"), i, v) {
		struct part *q = &p->parts[p->n];
		if (!rd_jstr(v, "lv_name")[0])
			continue;
		q->v = v;
		q->lv = true;
		q->name = rd_jstr(v, "name");
		q->fstype = rd_jstr(v, "fstype");
		q->uuid = rd_jstr(v, "fs_uuid");
		q->label = rd_jstr(v, "fs_label");
		q->type = "";
		q->old_start = q->start = rd_jnum(v, "offset_bytes");
		q->old_size = q->size = rd_jnum(v, "size_bytes");
		if (!q->name[0] || strchr(q->name, '/') || !strcmp(q->name, ".") || !strcmp(q->name, "..") ||
		    strlen(q->name) > 255) {
			cli_error("catalog", "the generation's disk shape is damaged (volume %zu)", i);
			return -1;
		}
		if (!pvs || remade < pvs) {
			q->action = ACT_SKIP;
			snprintf(q->note, sizeof(q->note), "its LVM physical volume is not remade (its files: rawkit-lanfree "
				 "restore, or --volume %s onto a logical volume made by hand)", q->name);
		} else {
			choose_action(db, g->id, q);
			if (q->action == ACT_BOOT || q->action == ACT_NONE || !strcmp(q->fstype, "LVM2_member") ||
			    !strcmp(q->fstype, "ntfs")) {
				q->action = ACT_SKIP;
				snprintf(q->note, sizeof(q->note), "restore-disk does not make %s logical volumes: left empty",
					 q->fstype[0] ? q->fstype : "unrecognised");
			}
		}
		p->n++;
	}
	return 0;
}

/* Can Q move when a partition before it shrinks?  What is remade can; a
 * partition left as it is, an extended one and its logical ones cannot. */
static bool movable(const struct plan *p, const struct part *q)
{
	return !q->container && !(!strcmp(p->label, "dos") && q->partno > 4) &&
	       (q->action == ACT_MKFS || q->action == ACT_MKSWAP || q->action == ACT_BOOT);
}

/* A target smaller than the recorded partitions: every ext2/3/4 after the
 * last partition that cannot move is sized to its files plus v2p's slack,
 * what is left over goes to GROW, the rest moves up.  Refused (nothing
 * written yet) when even that does not fit, with the size it would need. */
static int shrink_to_fit(struct db *db, const struct generation *g, struct plan *p, struct part *grow)
{
	uint64_t align = p->label[0] ? MiB : 4096, fixed_end = 0, saved = 0, need, left;
	char sizes[300] = "";

	for (size_t i = 0; i < p->n; i++)
		if (!movable(p, &p->parts[i]) && p->parts[i].old_start + p->parts[i].old_size > fixed_end)
			fixed_end = p->parts[i].old_start + p->parts[i].old_size;
	for (size_t i = 0; i < p->n; i++) {
		struct part *q = &p->parts[i];
		struct restore_disk_fit fit;
		json_t *pa = json_object_get(q->v, "params");
		uint64_t size;
		if (q->action != ACT_MKFS || !is_ext(q->fstype) || q->old_start < fixed_end || q->lv)
			continue;
		if (restore_disk_fit(db, g->guest_id, g->seq, q->name, pa, &fit) < 0) {
			cli_error("catalog", "cannot count the files of %s: %s", q->name, db_errmsg(db));
			return -1;
		}
		size = (fit.min_bytes + align - 1) / align * align;
		if (size >= q->old_size)
			continue;
		q->size = size;
		q->inodes = restore_disk_fit_inodes(&fit, size, rd_jnum(pa, "inodes"));
		saved += q->old_size - size;
		snprintf(sizes + strlen(sizes), sizeof(sizes) - strlen(sizes), "%s%s %llu", sizes[0] ? ", " : "",
			 q->name, (unsigned long long)size);
	}
	need = p->need_bytes - saved;
	if (!saved || need > p->target_bytes) {
		if (saved)
			cli_error(p->target, "too small: %llu bytes; the generation's files need %llu (each ext filesystem "
					     "sized to its files plus slack: %s)", (unsigned long long)p->target_bytes,
				  (unsigned long long)need, sizes);
		else
			cli_error(p->target, "too small: %llu bytes; the generation's partitions need %llu, and none can "
					     "shrink (rawkit sizes ext2/3/4 to their files when no partition it cannot "
					     "move follows)", (unsigned long long)p->target_bytes,
				  (unsigned long long)p->need_bytes);
		return -1;
	}
	/* what is left over goes to the grown filesystem, if it shrank */
	left = p->target_bytes - need;
	left -= left % align;
	if (grow && grow->size != grow->old_size) {
		grow->size += left;
		if (grow->size > grow->old_size)
			grow->size = grow->old_size; /* it never outgrows its recorded size */
		p->grown = grow;
		p->grown_from = grow->old_size;
		json_t *pa = json_object_get(grow->v, "params");
		struct restore_disk_fit fit;
		if (restore_disk_fit(db, g->guest_id, g->seq, grow->name, pa, &fit) == 0)
			grow->inodes = restore_disk_fit_inodes(&fit, grow->size, rd_jnum(pa, "inodes"));
	}
	/* every partition moves up by what shrank before it */
	for (size_t i = 0; i < p->n; i++) {
		struct part *q = &p->parts[i];
		uint64_t shift = 0;
		if (q->lv)
			continue;
		for (size_t k = 0; k < p->n; k++)
			if (p->parts[k].old_start < q->old_start && p->parts[k].size < p->parts[k].old_size)
				shift += p->parts[k].old_size - p->parts[k].size;
		q->start = q->old_start - shift;
	}
	p->shrunk = true;
	return 0;
}

/* --volume NAME: that volume alone, made on the whole of TARGET (an
 * existing partition, or an image of one) at TARGET's size; smaller than
 * recorded when its files fit. */
static int make_volume_plan(struct repo *repo, const struct generation *g, json_t *shape,
			    const struct restore_disk_opts *o, struct plan *p)
{
	json_t *lists[2] = { json_object_get(shape, "partitions"), json_object_get(shape, "volumes") }, *v, *found = NULL;
	struct restore_disk_fit fit;
	struct part *q;
	uint64_t size;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->label = "";
	p->target = o->target;
	p->one_volume = true;
	p->sector = rd_jnum(shape, "sector_bytes");
	for (int l = 0; l < 2 && !found; l++)
		json_array_foreach(lists[l], i, v)
			if (!strcmp(rd_jstr(v, "name"), o->volume) && rd_jstr(v, "fstype")[0] &&
			    !json_is_true(json_object_get(v, "container"))) {
				found = v;
				break;
			}
	if (!found || !p->sector) {
		cli_error(o->volume, "no filesystem of that name in the disk %s recorded (rawkit-lanfree ls lists its "
				     "volumes)", o->spec);
		return -1;
	}
	p->parts = q = calloc(1, sizeof(*q));
	if (!q) {
		cli_error(o->volume, "out of memory");
		return -1;
	}
	p->n = 1;
	q->v = found;
	q->name = rd_jstr(found, "name");
	if (strchr(q->name, '/') || !strcmp(q->name, ".") || !strcmp(q->name, "..") || strlen(q->name) > 255) {
		cli_error("catalog", "the generation's disk shape is damaged (volume name)");
		return -1;
	}
	q->fstype = rd_jstr(found, "fstype");
	q->uuid = rd_jstr(found, "fs_uuid");
	q->label = rd_jstr(found, "fs_label");
	q->type = rd_jstr(found, "type");
	q->old_size = q->size = rd_jnum(found, "size_bytes");
	choose_action(repo->db, g->id, q);
	if ((q->action != ACT_MKFS && q->action != ACT_MKSWAP) || !strcmp(q->fstype, "ntfs") || !q->old_size) {
		cli_error(o->volume, "holds %s: restore-disk --volume makes ext2/3/4, xfs, vfat and swap%s%s",
			  q->fstype, q->note[0] ? "; " : "", q->note);
		return -1;
	}
	p->disk_bytes = q->old_size; /* a new image: the recorded size */
	if (inspect_target(o->target, p) < 0)
		return -1;
	p->disk_bytes = rd_jnum(shape, "disk_bytes");
	size = p->target_bytes - p->target_bytes % 4096;
	if (size < q->old_size && is_ext(q->fstype)) {
		if (restore_disk_fit(repo->db, g->guest_id, g->seq, q->name, json_object_get(q->v, "params"), &fit) < 0) {
			cli_error("catalog", "cannot count the files of %s: %s", q->name, db_errmsg(repo->db));
			return -1;
		}
		if (size < fit.min_bytes) {
			cli_error(o->target, "too small: %llu bytes; %s's files need %llu", (unsigned long long)p->target_bytes,
				  q->name, (unsigned long long)fit.min_bytes);
			return -1;
		}
		q->inodes = restore_disk_fit_inodes(&fit, size, rd_jnum(json_object_get(q->v, "params"), "inodes"));
		p->shrunk = true;
	} else if (size < q->old_size && q->action == ACT_MKFS) {
		cli_error(o->target, "too small: %llu bytes; %s's %s was %llu and rawkit sizes only ext2/3/4 to their files",
			  (unsigned long long)p->target_bytes, q->name, q->fstype, (unsigned long long)q->old_size);
		return -1;
	}
	q->size = size;
	if (p->destroys[0] && !o->force && !o->dry_run) {
		cli_error(o->target, "holds %s: --force to overwrite it (all of it is lost)", p->destroys);
		return -1;
	}
	return 0;
}

static int make_plan(struct repo *repo, const struct generation *g, json_t *shape, const struct restore_disk_opts *o,
		     struct plan *p)
{
	json_t *parts = json_object_get(shape, "partitions"), *vols = json_object_get(shape, "volumes");
	uint64_t end = 0, tail, delta;
	struct part *grow;
	char why[300];
	size_t i;
	json_t *v;

	memset(p, 0, sizeof(*p));
	p->label = rd_jstr(shape, "label");
	p->disk_bytes = rd_jnum(shape, "disk_bytes");
	p->sector = rd_jnum(shape, "sector_bytes");
	if ((strcmp(p->label, "dos") && strcmp(p->label, "gpt") && p->label[0]) || !p->disk_bytes || !p->sector ||
	    p->disk_bytes % p->sector || !json_is_array(parts) || !json_is_array(vols)) {
		cli_error(o->spec, "restore-disk knows dos and gpt partition tables, and a filesystem on the whole disk; "
				   "this generation's disk has %s", p->label[0] ? p->label : "a damaged shape");
		return -1;
	}
	p->parts = calloc(json_array_size(parts) + json_array_size(vols) + 1, sizeof(*p->parts));
	if (!p->parts) {
		cli_error(o->spec, "out of memory");
		return -1;
	}
	/* the partitions, or the whole disk; LVM logical volumes are not remade yet */
	json_array_foreach(p->label[0] ? parts : vols, i, v) {
		struct part *q = &p->parts[p->n];
		q->v = v;
		q->name = rd_jstr(v, "name");
		q->fstype = rd_jstr(v, "fstype");
		q->uuid = rd_jstr(v, "fs_uuid");
		q->label = rd_jstr(v, "fs_label");
		q->type = rd_jstr(v, "type");
		q->partno = (unsigned)rd_jnum(v, "partno");
		q->container = json_is_true(json_object_get(v, "container"));
		q->old_start = q->start = rd_jnum(v, "offset_bytes");
		q->old_size = q->size = rd_jnum(v, "size_bytes");
		if (!p->label[0] && strcmp(q->name, "disk"))
			continue;
		if (!part_sane(p, q)) {
			cli_error("catalog", "the generation's disk shape is damaged (volume %zu)", i);
			return -1;
		}
		choose_action(repo->db, g->id, q);
		if (!q->container && q->start + q->size > end)
			end = q->start + q->size;
		p->n++;
	}
	if (p->label[0] && add_lvs(repo->db, g, shape, p) < 0)
		return -1;
	tail = !strcmp(p->label, "gpt") ? GPT_TAIL_SECTORS * p->sector : 0;
	p->need_bytes = end + tail;
	if (inspect_target(o->target, p) < 0)
		return -1;
	grow = grow_candidate(p, o->grow);
	if (o->grow && (!grow || !growable(grow))) {
		cli_error(o->grow, grow ? "holds %s: only an ext2/3/4, xfs, ntfs or LVM partition grows" : "no such partition%s",
			  grow ? (grow->fstype[0] ? grow->fstype : "no filesystem") : "");
		return -1;
	}
	if (p->target_bytes < p->need_bytes) {
		p->target = o->target;
		if (shrink_to_fit(repo->db, g, p, grow) < 0)
			return -1;
		goto checked;
	}
	/* what the target has more than the recorded disk (the free space the
	 * disk had at its end stays free) */
	delta = p->target_bytes > p->disk_bytes ? p->target_bytes - p->disk_bytes : 0;
	if (p->label[0])
		delta -= delta % MiB; /* partitions keep their MiB alignment */
	else
		delta -= delta % 4096;
	if (delta) {
		if (!grow)
			snprintf(p->not_grown, sizeof(p->not_grown), "no ext2/3/4, xfs, ntfs or LVM partition to grow");
		else if (grow_by(p, grow, delta, why, sizeof(why)) < 0) {
			if (o->grow) {
				cli_error(o->grow, "%s", why);
				return -1;
			}
			snprintf(p->not_grown, sizeof(p->not_grown), "%s", why);
		} else if (grow->action == ACT_LVM) {
			char more[16];
			snprintf(p->not_grown, sizeof(p->not_grown), "%.32s: the LVM physical volume grows by %s, its logical "
				 "volumes do not: the free extents are in its volume group (lvextend -r in the guest)",
				 grow->name, cli_human(delta, more, sizeof(more)));
		}
	}
checked:
	if (p->destroys[0] && !o->force && !o->dry_run) {
		cli_error(o->target, "holds %s: --force to overwrite it (all of it is lost)", p->destroys);
		return -1;
	}
	return 0;
}

/* ---- carrying the plan out ---- */

static int write_table(const char *path, json_t *shape, struct plan *p)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct imgfmt_part_place *places = calloc(p->n + 1, sizeof(*places));
	size_t n = 0;
	int rc = -1;

	for (size_t i = 0; places && i < p->n; i++)
		if (p->parts[i].partno && !p->parts[i].container &&
		    (p->parts[i].start != p->parts[i].old_start || p->parts[i].size != p->parts[i].old_size))
			places[n++] = (struct imgfmt_part_place){ p->parts[i].partno, p->parts[i].start, p->parts[i].size };
	if (!d || !places)
		cli_error(path, "out of memory");
	else if (imgfmt_disk_open(d, path, IMGFMT_OPEN_WRITE | IMGFMT_OPEN_NO_TABLE) < 0 ||
		 imgfmt_disk_apply_ptable_dump(d, rd_jstr(shape, "ptable"), places, n) < 0 || imgfmt_disk_sync(d) < 0)
		cli_error(path, "%s", imgfmt_disk_error(d));
	else
		rc = 0;
	imgfmt_disk_free(d);
	free(places);
	return rc;
}

static int make_ext(const char *path, struct part *q, const char *object)
{
	json_t *pa = json_object_get(q->v, "params"), *f;
	uint64_t bs = rd_jnum(pa, "block_bytes"), blocks = rd_jnum(pa, "blocks"), inodes = rd_jnum(pa, "inodes");
	char features[600] = "none", b[24], ino[24], inodes_arg[32], m[32], grp[24], flex[24], journal[32], ext[200],
	     size[32], errs[16];
	const char *errnames[] = { "continue", "continue", "remount-ro", "panic" };
	size_t i;
	int a = 0;
	char *argv[48];

	if (!bs || !blocks || !inodes) {
		cli_error(object, "the recorded parameters of its %s are damaged", q->fstype);
		return -1;
	}
	json_array_foreach(json_object_get(pa, "features"), i, f)
		if (strlen(features) + strlen(json_string_value(f) ? json_string_value(f) : "") + 2 < sizeof(features))
			snprintf(features + strlen(features), sizeof(features) - strlen(features), ",%s",
				 json_string_value(f) ? json_string_value(f) : "");
	snprintf(b, sizeof(b), "%llu", (unsigned long long)bs);
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)rd_jnum(pa, "inode_bytes"));
	/* the same inode count, or (grown) the same bytes per inode */
	if (q->inodes)
		snprintf(inodes_arg, sizeof(inodes_arg), "-N%llu", (unsigned long long)q->inodes);
	else if (q->size == q->old_size)
		snprintf(inodes_arg, sizeof(inodes_arg), "-N%llu", (unsigned long long)inodes);
	else
		snprintf(inodes_arg, sizeof(inodes_arg), "-i%llu", (unsigned long long)(blocks * bs / inodes));
	snprintf(m, sizeof(m), "%.4f", 100.0 * (double)rd_jnum(pa, "reserved_blocks") / (double)blocks);
	snprintf(grp, sizeof(grp), "%llu", (unsigned long long)rd_jnum(pa, "blocks_per_group"));
	snprintf(ext, sizeof(ext), "offset=%llu,hash_seed=%s", (unsigned long long)q->start, rd_jstr(pa, "hash_seed"));
	snprintf(size, sizeof(size), "%lluk", (unsigned long long)(q->size / 1024));
	snprintf(errs, sizeof(errs), "%s", errnames[rd_jnum(pa, "errors_behavior") < 4 ? rd_jnum(pa, "errors_behavior") : 0]);
	argv[a++] = "mke2fs";
	argv[a++] = "-q";
	argv[a++] = "-F";
	argv[a++] = "-t";
	argv[a++] = (char *)q->fstype;
	argv[a++] = "-O";
	argv[a++] = features;
	argv[a++] = "-b";
	argv[a++] = b;
	argv[a++] = "-I";
	argv[a++] = ino;
	argv[a++] = inodes_arg;
	argv[a++] = "-m";
	argv[a++] = m;
	argv[a++] = "-g";
	argv[a++] = grp;
	if (rd_jnum(pa, "flex_bg_size")) {
		snprintf(flex, sizeof(flex), "%llu", (unsigned long long)rd_jnum(pa, "flex_bg_size"));
		argv[a++] = "-G";
		argv[a++] = flex;
	}
	if (rd_jnum(pa, "journal_bytes") >= MiB) {
		snprintf(journal, sizeof(journal), "size=%llu", (unsigned long long)(rd_jnum(pa, "journal_bytes") / MiB));
		argv[a++] = "-J";
		argv[a++] = journal;
	}
	argv[a++] = "-e";
	argv[a++] = errs;
	argv[a++] = "-E";
	argv[a++] = ext;
	if (q->uuid[0]) {
		argv[a++] = "-U";
		argv[a++] = (char *)q->uuid;
	}
	argv[a++] = "-L";
	argv[a++] = (char *)q->label;
	argv[a++] = (char *)path;
	argv[a++] = size;
	argv[a] = NULL;
	return rd_run(argv, object);
}

/* An EFI system partition: made with its serial and label (then filled by
 * rdvfat_fill()).  No fake MBR: the table is written already. */
static int make_vfat(const char *path, struct part *q, uint64_t sector, const char *object)
{
	json_t *pa = json_object_get(q->v, "params");
	char bits[24], ssz[24], spc[24], res[24], fats[24], off[40], size[24];

	snprintf(bits, sizeof(bits), "%llu", (unsigned long long)rd_jnum(pa, "fat_bits"));
	snprintf(ssz, sizeof(ssz), "%llu", (unsigned long long)rd_jnum(pa, "sector_bytes"));
	snprintf(spc, sizeof(spc), "%llu", (unsigned long long)rd_jnum(pa, "cluster_sectors"));
	snprintf(res, sizeof(res), "%llu", (unsigned long long)rd_jnum(pa, "reserved_sectors"));
	snprintf(fats, sizeof(fats), "%llu", (unsigned long long)rd_jnum(pa, "fats"));
	snprintf(off, sizeof(off), "--offset=%llu", (unsigned long long)(q->start / sector));
	snprintf(size, sizeof(size), "%llu", (unsigned long long)(q->size / 1024));
	char *argv[] = { "mkfs.fat", "--mbr=n", "-F", bits, "-S", ssz, "-s", spc, "-R", res, "-f", fats,
			 "-i", (char *)rd_jstr(pa, "serial"), off, "-n", (char *)q->label, (char *)path, size, NULL };
	if (!q->label[0])
		argv[15] = (char *)path, argv[16] = size, argv[17] = NULL;
	return rd_run(argv, object);
}

/* Fill Q's new filesystem: loop-mounted, the generation's volume restored
 * into it (rdrun.c). */
static int fill_ext(const char *path, struct part *q, const char *spec, const struct restore_disk_opts *o,
		    const char *object, int *status)
{
	char opts[200];
	struct rd_fill_opts f = { .volume = q->name, .spec = spec, .o = o, .files = &q->files, .bytes = &q->bytes };

	snprintf(opts, sizeof(opts), "loop,offset=%llu,sizelimit=%llu%s", (unsigned long long)q->start,
		 (unsigned long long)q->size, strcmp(q->fstype, "xfs") ? "" : ",nouuid");
	char *mount_argv[] = { "mount", "-t", (char *)q->fstype, "-o", opts, (char *)path, NULL };
	return rd_fill(mount_argv, &f, object, status);
}

static int make_swap(const char *path, struct part *q, const char *object)
{
	char *dev = rd_loop_attach(path, q->start, q->size, object);
	int rc;

	if (!dev)
		return -1;
	char *mkswap[] = { "mkswap", "-q", "-U", (char *)(q->uuid[0] ? q->uuid : "random"), "-L", (char *)q->label, dev, NULL };
	if (!q->label[0])
		mkswap[4] = dev, mkswap[5] = NULL;
	rc = rd_run(mkswap, object);
	rd_loop_detach(dev);
	return rc;
}

/* XFS by mkfs.xfs with the recorded UUID, label, block, sector and inode
 * sizes and features; the allocation groups and log kept when the size
 * is (mkfs.xfs's own choice on a resized one). */
static int make_xfs(const char *path, struct part *q, const char *object)
{
	json_t *pa = json_object_get(q->v, "params");
	char b[32], sect[32], meta[300], ino[80], naming[32], data[40], log[40], *dev, *argv[32];
	bool same = q->size == q->old_size;
	int a = 0, rc;

	if (!rd_jnum(pa, "block_bytes") || !rd_jnum(pa, "inode_bytes") || !rd_jnum(pa, "sector_bytes")) {
		cli_error(object, "the recorded parameters of its xfs are damaged");
		return -1;
	}
	snprintf(b, sizeof(b), "size=%llu", (unsigned long long)rd_jnum(pa, "block_bytes"));
	snprintf(sect, sizeof(sect), "size=%llu", (unsigned long long)rd_jnum(pa, "sector_bytes"));
	snprintf(meta, sizeof(meta), "crc=%d%s%s", json_is_true(json_object_get(pa, "crc")), q->uuid[0] ? ",uuid=" : "", q->uuid);
	if (json_is_true(json_object_get(pa, "crc")))
		snprintf(meta + strlen(meta), sizeof(meta) - strlen(meta), ",finobt=%d,rmapbt=%d,reflink=%d,bigtime=%d,inobtcount=%d",
			 json_is_true(json_object_get(pa, "finobt")), json_is_true(json_object_get(pa, "rmapbt")),
			 json_is_true(json_object_get(pa, "reflink")), json_is_true(json_object_get(pa, "bigtime")),
			 json_is_true(json_object_get(pa, "inobtcount")));
	snprintf(ino, sizeof(ino), "size=%llu%s", (unsigned long long)rd_jnum(pa, "inode_bytes"),
		 json_is_true(json_object_get(pa, "crc")) ? (json_is_true(json_object_get(pa, "sparse_inodes")) ? ",sparse=1" : ",sparse=0") : "");
	snprintf(naming, sizeof(naming), "ftype=%d", json_is_true(json_object_get(pa, "ftype")));
	snprintf(data, sizeof(data), "agcount=%llu", (unsigned long long)rd_jnum(pa, "ag_count"));
	snprintf(log, sizeof(log), "size=%llu", (unsigned long long)rd_jnum(pa, "log_bytes"));
	argv[a++] = "mkfs.xfs";
	argv[a++] = "-q";
	argv[a++] = "-f";
	argv[a++] = "-b";
	argv[a++] = b;
	argv[a++] = "-s";
	argv[a++] = sect;
	argv[a++] = "-m";
	argv[a++] = meta;
	argv[a++] = "-i";
	argv[a++] = ino;
	argv[a++] = "-n";
	argv[a++] = naming;
	if (same && rd_jnum(pa, "ag_count")) {
		argv[a++] = "-d";
		argv[a++] = data;
	}
	if (same && json_is_true(json_object_get(pa, "log_internal")) && rd_jnum(pa, "log_bytes")) {
		argv[a++] = "-l";
		argv[a++] = log;
	}
	if (q->label[0]) {
		argv[a++] = "-L";
		argv[a++] = (char *)q->label;
	}
	if (!(dev = rd_loop_attach(path, q->start, q->size, object)))
		return -1;
	argv[a++] = dev;
	argv[a] = NULL;
	rc = rd_run(argv, object);
	rd_loop_detach(dev);
	return rc;
}

/* The boot areas back where they were (a BIOS boot partition: where it
 * is now); the unstored rest of each is zeros, written on a device (a new
 * file is zeros already). */
static int write_boot(const char *path, json_t *shape, const unsigned char *boot, size_t boot_len, struct plan *p)
{
	json_t *a;
	size_t i;
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;
	static const unsigned char zeros[65536];

	if (fd < 0) {
		cli_error(path, "cannot open: %s", strerror(errno));
		return -1;
	}
	json_array_foreach(json_object_get(shape, "boot_areas"), i, a) {
		uint64_t off = rd_jnum(a, "offset_bytes"), size = rd_jnum(a, "size_bytes"), stored = rd_jnum(a, "stored_bytes"),
			 at = rd_jnum(a, "blob_offset_bytes");
		const char *vol = rd_jstr(a, "volume");
		if (!strcmp(rd_jstr(a, "what"), "ntfs_boot_code"))
			continue; /* put around mkntfs's BPB by rdntfs.c, or not at all */
		for (size_t k = 0; vol[0] && k < p->n; k++)
			if (!strcmp(p->parts[k].name, vol))
				off = off - p->parts[k].old_start + p->parts[k].start;
		if (stored > size || at > boot_len || stored > boot_len - at || off > p->target_bytes ||
		    size > p->target_bytes - off) {
			cli_error("catalog", "a boot area of the recorded shape is damaged");
			rc = -1;
			break;
		}
		if (stored && cli_pwrite_all(fd, boot + at, stored, off) < 0)
			rc = -1;
		for (uint64_t z = stored; rc == 0 && p->blockdev && z < size; z += sizeof(zeros))
			if (cli_pwrite_all(fd, zeros, size - z < sizeof(zeros) ? size - z : sizeof(zeros), off + z) < 0)
				rc = -1;
		if (rc < 0) {
			cli_error(path, "cannot write the %s: %s", rd_jstr(a, "what"), strerror(errno));
			break;
		}
		p->boot_bytes += size;
	}
	if (rc == 0 && fsync(fd) < 0) {
		cli_error(path, "cannot flush: %s", strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/* Volume NAME of the disk in PATH as it reads now: index, place, runs. */
static int find_volume(imgfmt_disk *d, const char *name, size_t *index, struct imgfmt_volume *v)
{
	for (size_t i = 0; i < imgfmt_disk_volume_count(d); i++)
		if (imgfmt_disk_volume(d, i, v) == 0 && !strcmp(v->name, name)) {
			*index = i;
			return 0;
		}
	return -1;
}

/* A grown PV's label and metadata say its new size, as pvresize would. */
static int grow_pv(const char *path, struct part *q, const char *target)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct imgfmt_volume v;
	size_t index;
	int rc = -1;

	if (d && imgfmt_disk_open(d, path, IMGFMT_OPEN_WRITE) == 0 && find_volume(d, q->name, &index, &v) == 0 &&
	    imgfmt_disk_lvm_resize_pv(d, index) == 0 && imgfmt_disk_sync(d) == 0)
		rc = 0;
	else
		cli_error(target, "%s: cannot grow the LVM physical volume: %s", q->name, d ? imgfmt_disk_error(d) : "out of memory");
	imgfmt_disk_free(d);
	return rc;
}

/* Make Q at its place in PATH, and fill it. */
static int make_and_fill(const char *path, struct part *q, uint64_t sector, const char *spec,
			 const struct restore_disk_opts *o, int *status)
{
	char object[300];
	bool filled = is_ext(q->fstype) || !strcmp(q->fstype, "xfs");

	snprintf(object, sizeof(object), "%s: %s", o->target, q->name);
	if (q->action == ACT_MKSWAP)
		return make_swap(path, q, object);
	if (q->action != ACT_MKFS)
		return 0;
	if ((!strcmp(q->fstype, "vfat") && make_vfat(path, q, sector, object) < 0) ||
	    (is_ext(q->fstype) && make_ext(path, q, object) < 0) || (!strcmp(q->fstype, "xfs") && make_xfs(path, q, object) < 0))
		return -1;
	if (!strcmp(q->fstype, "vfat") && !q->note[0])
		return rdvfat_fill(path, q->name, q->start, spec, o, object, &q->files, &q->bytes, status);
	return filled && !q->note[0] ? fill_ext(path, q, spec, o, object, status) : 0;
}

/* A logical volume in several runs: made and filled in a sparse temp file,
 * then written through the LV's mapping (libimgfmt), its data runs only
 * (on a block device, the holes as zeros too). */
static int lv_through_temp(const char *path, struct part *q, bool blockdev, const char *spec,
			   const struct restore_disk_opts *o, int *status, const char *object)
{
	struct part t = *q;
	char temp[4096];
	imgfmt_disk *d = NULL;
	struct imgfmt_volume v;
	unsigned char *buf = malloc(MiB);
	size_t index;
	off_t at = 0, data, hole;
	int fd, rc = -1;

	if (!buf) {
		cli_error(object, "out of memory");
		return -1;
	}
	if ((fd = rd_temp_file(temp, sizeof(temp), object)) < 0) {
		free(buf);
		return -1;
	}
	t.start = 0;
	t.size = q->old_size;
	if (ftruncate(fd, (off_t)t.size) < 0) {
		cli_error(object, "cannot size the temp file %s: %s", temp, strerror(errno));
		goto out;
	}
	if (make_and_fill(temp, &t, 512, spec, o, status) < 0)
		goto out;
	q->files = t.files;
	q->bytes = t.bytes;
	if (!(d = imgfmt_disk_new()) || imgfmt_disk_open(d, path, IMGFMT_OPEN_WRITE) < 0 ||
	    find_volume(d, q->name, &index, &v) < 0) {
		cli_error(object, "the logical volume is not where its metadata puts it: %s",
			  d ? imgfmt_disk_error(d) : "out of memory");
		goto out;
	}
	while ((uint64_t)at < t.size) {
		data = lseek(fd, at, SEEK_DATA);
		if (data < 0)
			data = (off_t)t.size;
		hole = data < (off_t)t.size ? lseek(fd, data, SEEK_HOLE) : data;
		if (hole < 0)
			hole = (off_t)t.size;
		memset(buf, 0, MiB);
		for (off_t z = at; blockdev && z < data; z += MiB)
			if (imgfmt_volume_pwrite(d, index, buf, (size_t)(data - z < (off_t)MiB ? data - z : (off_t)MiB), (uint64_t)z) < 0)
				goto io;
		for (off_t c = data; c < hole; c += MiB) {
			size_t n = (size_t)(hole - c < (off_t)MiB ? hole - c : (off_t)MiB);
			if (pread(fd, buf, n, c) != (ssize_t)n || imgfmt_volume_pwrite(d, index, buf, n, (uint64_t)c) < 0)
				goto io;
		}
		at = hole;
	}
	if (imgfmt_disk_sync(d) < 0)
		goto io;
	rc = 0;
	goto out;
io:
	cli_error(object, "cannot write the logical volume: %s", imgfmt_disk_error(d));
out:
	imgfmt_disk_free(d);
	close(fd);
	rd_temp_remove();
	free(buf);
	return rc;
}

/* A logical volume: in one run, made and filled in place; else through a
 * temp file. */
static int make_lv(const char *path, struct part *q, bool blockdev, const char *spec, const struct restore_disk_opts *o,
		   int *status)
{
	imgfmt_disk *d = imgfmt_disk_new();
	struct imgfmt_volume v;
	char object[300];
	size_t index;

	snprintf(object, sizeof(object), "%s: %s", o->target, q->name);
	if (!d || imgfmt_disk_open(d, path, 0) < 0 || find_volume(d, q->name, &index, &v) < 0 || v.size != q->old_size ||
	    v.unreadable) {
		cli_error(object, "the logical volume is not where its metadata puts it%s%s", d ? ": " : "",
			  d ? imgfmt_disk_error(d) : "");
		imgfmt_disk_free(d);
		return -1;
	}
	imgfmt_disk_free(d);
	if (v.segments != 1)
		return lv_through_temp(path, q, blockdev, spec, o, status, object);
	q->start = v.offset;
	return make_and_fill(path, q, 512, spec, o, status);
}

/* --new-ids: rawkit-clone --in-place changes the ids and every reference
 * to them, exactly as it does for a clone (the tool beside this one). */
static int new_ids(const char *path, struct plan *p, const char *object)
{
	char self[4096], clone[4200], *out = NULL, *slash;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	json_t *report, *ids;
	json_error_t jerr;
	int st;

	if (len <= 0) {
		cli_error(object, "cannot find rawkit-clone: /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	self[len] = '\0';
	slash = strrchr(self, '/');
	snprintf(clone, sizeof(clone), "%.*s/rawkit-clone", slash ? (int)(slash - self) : 1, slash ? self : ".");
	char *argv[] = { clone, "--in-place", "--operations", "fs-uuids,disk-ids", "--json", (char *)path, NULL };
	st = run_program(argv, &out, false);
	report = out ? json_loads(out, 0, &jerr) : NULL;
	free(out);
	if (st != 0) {
		const char *why = json_string_value(json_object_get(json_object_get(report, "error"), "message"));
		cli_error(object, "new ids: rawkit-clone --in-place failed (%s %d): %s", st < 0 ? "not run, or killed:" : "status",
			  st, why ? why : "no report");
		json_decref(report);
		return -1;
	}
	ids = json_object_get(json_array_get(json_object_get(report, "targets"), 0), "ids");
	p->ids = json_is_array(ids) ? json_incref(ids) : json_array();
	json_decref(report);
	return 0;
}

static int carry_out(struct plan *p, json_t *shape, const unsigned char *boot, size_t boot_len, const char *spec,
		     const struct restore_disk_opts *o, int *status)
{
	imgfmt_output *out = imgfmt_output_new();
	const char *path;
	int rc = -1;

	if (!out || imgfmt_output_open(out, o->target, p->target_bytes, p->exists ? IMGFMT_TARGET_OVERWRITE : 0) < 0) {
		cli_error(o->target, "%s", out ? imgfmt_output_error(out) : "out of memory");
		goto out;
	}
	/* a device is opened again by each tool below */
	if (imgfmt_output_release(out) < 0) {
		cli_error(o->target, "%s", imgfmt_output_error(out));
		goto out;
	}
	path = imgfmt_output_path(out);
	if (p->label[0] && write_table(path, shape, p) < 0)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		struct part *q = &p->parts[i];
		char object[300];
		snprintf(object, sizeof(object), "%s: %s", o->target, q->name);
		if (q->lv)
			continue;
		if (q->action == ACT_MKFS && !strcmp(q->fstype, "ntfs")) {
			struct ntfs_part np = { q->name, q->label, json_object_get(q->v, "params"), q->start, q->size,
						json_object_get(shape, "boot_areas"), boot, boot_len, 0, 0 };
			if (rdntfs_make(path, &np, q->note[0] ? NULL : spec, o, object, status) < 0)
				goto out;
			q->files = np.files, q->bytes = np.bytes;
		} else if (make_and_fill(path, q, p->sector, spec, o, status) < 0) {
			goto out;
		}
	}
	if (!p->one_volume && write_boot(path, shape, boot, boot_len, p) < 0)
		goto out;
	if (p->grown && p->grown->action == ACT_LVM && grow_pv(path, p->grown, o->target) < 0)
		goto out;
	/* the logical volumes, where the PVs' metadata written back puts them */
	for (size_t i = 0; i < p->n; i++)
		if (p->parts[i].lv && (p->parts[i].action == ACT_MKFS || p->parts[i].action == ACT_MKSWAP) &&
		    make_lv(path, &p->parts[i], p->blockdev, spec, o, status) < 0)
			goto out;
	if (o->new_ids && new_ids(path, p, o->target) < 0)
		goto out;
	if (imgfmt_output_commit(out) < 0) {
		cli_error(o->target, "%s", imgfmt_output_error(out));
		goto out;
	}
	rc = 0;
out:
	imgfmt_output_free(out); /* a new file not committed is removed */
	return rc;
}

/* ---- output ---- */

static void print_plan(const char *guest, const struct generation *g, const struct plan *p,
		       const struct restore_disk_opts *o, double seconds, int status)
{
	uint64_t files = 0, bytes = 0;
	char a[16], b[16];

	for (size_t i = 0; i < p->n; i++)
		files += p->parts[i].files, bytes += p->parts[i].bytes;
	if (o->json) {
		json_t *obj = json_object(), *vols = json_array(), *resized = json_null();
		json_put(obj, "guest", json_text(guest));
		json_put(obj, "generation", json_integer(g->seq));
		json_put(obj, "target", json_text(o->target));
		json_put(obj, "dry_run", json_boolean(o->dry_run));
		json_put(obj, "block_device", json_boolean(p->blockdev));
		json_put(obj, "label", json_string(p->label));
		json_put(obj, "disk_bytes", json_count(p->disk_bytes));
		json_put(obj, "target_bytes", json_count(p->target_bytes));
		if (p->grown) {
			resized = json_object();
			json_put(resized, "partition", json_text(p->grown->name));
			json_put(resized, "start_bytes", json_count(p->grown->start));
			json_put(resized, "old_size_bytes", json_count(p->grown_from));
			json_put(resized, "new_size_bytes", json_count(p->grown->size));
			json_put(resized, "fstype", json_text(p->grown->fstype));
		}
		json_put(obj, "resized", resized);
		json_put(obj, "shrunk", json_boolean(p->shrunk));
		json_put(obj, "volume", p->one_volume ? json_text(p->parts[0].name) : json_null());
		json_put(obj, "ids", p->ids ? json_incref(p->ids) : json_array());
		json_put(obj, "not_grown", p->not_grown[0] ? json_string(p->not_grown) : json_null());
		json_put(obj, "destroyed", p->destroys[0] ? json_text(p->destroys) : json_null());
		for (size_t i = 0; i < p->n; i++) {
			const struct part *q = &p->parts[i];
			json_t *v = json_object();
			json_put(v, "name", json_text(q->name));
			json_put(v, "fstype", json_text(q->fstype));
			json_put(v, "fs_uuid", json_text(q->uuid));
			json_put(v, "fs_label", json_text(q->label));
			json_put(v, "offset_bytes", json_count(q->start));
			json_put(v, "size_bytes", json_count(q->size));
			json_put(v, "recorded_offset_bytes", json_count(q->old_start));
			json_put(v, "recorded_size_bytes", json_count(q->old_size));
			json_put(v, "action", json_string(action_names[q->action]));
			json_put(v, "note", json_text(q->note));
			json_put(v, "files", json_count(q->files));
			json_put(v, "restored_bytes", json_count(q->bytes));
			json_array_append_new(vols, v);
		}
		json_put(obj, "volumes", vols);
		json_put(obj, "boot_bytes", json_count(p->boot_bytes));
		json_put(obj, "files", json_count(files));
		json_put(obj, "restored_bytes", json_count(bytes));
		json_put_seconds(obj, "elapsed_ns", seconds);
		json_print(obj, status);
		return;
	}
	if (o->quiet)
		return;
	if (p->one_volume)
		printf("%s@%lld %s %s %s (%s%s, %s; the recorded volume: %s, %s)\n", guest, (long long)g->seq, p->parts[0].name,
		       o->dry_run ? "would be restored onto" : "restored onto", o->target, p->exists ? "" : "new ",
		       p->blockdev ? "block device" : "image file", cli_human(p->target_bytes, a, sizeof(a)),
		       p->parts[0].fstype, cli_human(p->parts[0].old_size, b, sizeof(b)));
	else
		printf("%s@%lld %s %s (%s%s, %s; the recorded disk: %s, %s)\n", guest, (long long)g->seq,
		       o->dry_run ? "would be restored onto" : "restored onto", o->target, p->exists ? "" : "new ",
		       p->blockdev ? "block device" : "image file", cli_human(p->target_bytes, a, sizeof(a)),
		       p->label[0] ? p->label : "no partition table", cli_human(p->disk_bytes, b, sizeof(b)));
	if (p->destroys[0])
		printf("  replacing what it held: %s\n", p->destroys);
	for (size_t i = 0; i < p->n; i++) {
		const struct part *q = &p->parts[i];
		printf("  %s: %s%s%s%s at %llu, %llu bytes: %s", q->name, q->fstype[0] ? q->fstype : "-",
		       q->label[0] ? " \"" : "", q->label, q->label[0] ? "\"" : "", (unsigned long long)q->start,
		       (unsigned long long)q->size, action_names[q->action]);
		if (q->size > q->old_size)
			printf(" (grown from %llu bytes)", (unsigned long long)q->old_size);
		else if (q->size < q->old_size)
			printf(" (shrunk from %llu bytes to fit its files)", (unsigned long long)q->old_size);
		if (q->action == ACT_MKFS && (is_ext(q->fstype) || !strcmp(q->fstype, "xfs") || !strcmp(q->fstype, "ntfs")) && !q->note[0] && !o->dry_run)
			printf(", %llu files, %s restored", (unsigned long long)q->files, cli_human(q->bytes, a, sizeof(a)));
		printf("%s%s\n", q->note[0] ? "; " : "", q->note);
	}
	if (p->not_grown[0])
		printf("  not grown: %s\n", p->not_grown);
	if (!p->one_volume)
		printf("  boot areas: %llu bytes%s\n", (unsigned long long)p->boot_bytes, o->dry_run ? " to write" : " written");
	for (size_t i = 0; p->ids && i < json_array_size(p->ids); i++) {
		json_t *c = json_array_get(p->ids, i);
		printf("  new id: %s %s: %s -> %s\n", rd_jstr(c, "volume"), rd_jstr(c, "kind"), rd_jstr(c, "old"), rd_jstr(c, "new"));
	}
	if (o->new_ids && o->dry_run)
		printf("  new ids: rawkit-clone --in-place --operations fs-uuids,disk-ids\n");
}

int cmd_restore_disk(const struct restore_disk_opts *o)
{
	struct repo repo;
	struct generation g;
	struct shape shape = { 0 };
	struct plan p = { 0 };
	char *guest = NULL, *spec = NULL;
	double t0 = cli_now();
	int status = RAWKIT_EXIT_FAILED, rc;
	bool needs_root = false;

	if ((rc = repo_open(&repo, o->repo, REPO_READ)) != 0)
		return rc;
	if (catalog_find_generation(repo.db, o->spec, &guest, &g) < 0)
		goto out;
	if ((rc = shape_load(repo.db, g.id, &shape)) <= 0) {
		if (rc == 0)
			cli_error(o->spec, "no disk shape recorded with this generation (backed up by an older rawkit): "
					   "restore its files with rawkit-lanfree restore");
		goto out;
	}
	if ((o->volume ? make_volume_plan(&repo, &g, shape.json, o, &p) : make_plan(&repo, &g, shape.json, o, &p)) < 0)
		goto out;
	if (asprintf(&spec, "%s@%lld", guest, (long long)g.seq) < 0) {
		spec = NULL;
		goto out;
	}
	for (size_t i = 0; i < p.n; i++)
		needs_root |= p.parts[i].action == ACT_MKFS || p.parts[i].action == ACT_MKSWAP;
	status = RAWKIT_EXIT_DONE;
	/* what is not remade, or remade empty, is said first */
	for (size_t k = 0; k < p.n; k++)
		if (p.parts[k].note[0]) {
			cli_warning(o->target, "%s: %s", p.parts[k].name, p.parts[k].note);
			status = RAWKIT_EXIT_WARNINGS;
		}
	if (o->dry_run) {
		json_t *a;
		size_t i;
		json_array_foreach(json_object_get(shape.json, "boot_areas"), i, a)
			if (!p.one_volume)
				p.boot_bytes += strcmp(rd_jstr(a, "what"), "ntfs_boot_code") ? rd_jnum(a, "size_bytes") : 0;
	} else if (needs_root && geteuid() != 0) {
		cli_error(o->target, "restore-disk needs root: it mounts each new filesystem to fill it");
		status = RAWKIT_EXIT_FAILED;
		goto out;
	} else {
		for (size_t i = 0; i < p.n; i++) {
			struct ntfs_part np = { p.parts[i].name, p.parts[i].label, NULL, 0, 0,
						json_object_get(shape.json, "boot_areas"), shape.boot, shape.boot_len, 0, 0 };
			if (p.parts[i].action == ACT_MKFS && !strcmp(p.parts[i].fstype, "ntfs") && rdntfs_check_boot(&np) < 0) {
				status = RAWKIT_EXIT_FAILED;
				goto out;
			}
		}
		cli_clean_up_on_signals(rd_undo_on_signal); /* a new image's temp file, a mount, a loop device */
		if (carry_out(&p, shape.json, shape.boot, shape.boot_len, spec, o, &status) < 0) {
			if (p.blockdev)
				cli_error(o->target, "left partly written");
			status = RAWKIT_EXIT_FAILED;
			goto out;
		}
	}
	print_plan(guest, &g, &p, o, cli_now() - t0, status);
out:
	free(p.parts);
	json_decref(p.ids);
	shape_free(&shape);
	free(spec);
	free(guest);
	repo_close(&repo);
	return status;
}
