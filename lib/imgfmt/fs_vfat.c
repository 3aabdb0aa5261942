/* fs_vfat.c --- FAT12/16/32 back end (an EFI system partition), read-only
 *
 * Written from Microsoft's FAT specification: no FAT library exists to
 * link (mtools and dosfstools are programs).  The volume is a guest's and
 * may be hostile: every cluster number is checked against the volume, every
 * chain walk is bounded by the clusters there are and marks what it has
 * seen (a loop is an error), and a directory met twice in the scan (an
 * entry pointing at an ancestor or at itself) is left out.
 *
 * Inode numbers: a file's is the byte offset of its short directory entry
 * in the volume (a multiple of 32, never 1); the root's is VFAT_ROOT.  So
 * stat needs nothing but the number.  FAT has no ctime: ctime is mtime.
 * Times are read as UTC.  The attribute byte is the stat's flags (as NTFS
 * gives its DOS attributes) and, when read-only, hidden or system is set,
 * the xattr "user.fat_attrib" (4 bytes little-endian).
 */
#include "imgfmt_private.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VFAT_ROOT 1
#define ATTR_RO 0x01
#define ATTR_HIDDEN 0x02
#define ATTR_SYSTEM 0x04
#define ATTR_LABEL 0x08
#define ATTR_DIR 0x10
#define ATTR_ARCHIVE 0x20
#define ATTR_LFN 0x0f
#define FAT_MAX_BYTES (256u << 20) /* a FAT held in memory: 64 Mi clusters of FAT32 */
#define LFN_MAX 20                 /* entries: 260 UTF-16 units */

struct vfat_state {
	unsigned bits;              /* 12, 16, 32 */
	unsigned sector, cluster;   /* bytes */
	uint32_t nclusters;         /* data clusters, numbered 2 .. nclusters + 1 */
	uint64_t data_off;          /* byte offset of cluster 2 */
	uint64_t root_off;          /* FAT12/16: the fixed root directory */
	uint32_t root_entries;
	uint32_t root_cluster;      /* FAT32 */
	unsigned char *fat;         /* the FAT in use */
	size_t fat_len;
	unsigned char *mark;        /* a bit per cluster: chain walks */
	/* the chain pread and data_runs use last */
	uint64_t chain_ino;
	uint32_t *chain;
	size_t nchain;
};

#define VS(fs) ((struct vfat_state *)(fs)->priv)

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool vfat_match(const char *fstype)
{
	return !strcmp(fstype, "vfat");
}

/* ---- the FAT ---- */

static uint32_t fat_get(const struct vfat_state *vs, uint32_t c)
{
	if (vs->bits == 12) {
		size_t off = c + c / 2;
		uint16_t v = le16(vs->fat + off);
		return c & 1 ? v >> 4 : v & 0xfff;
	}
	if (vs->bits == 16)
		return le16(vs->fat + 2 * (size_t)c);
	return le32(vs->fat + 4 * (size_t)c) & 0x0fffffff;
}

static bool fat_end(const struct vfat_state *vs, uint32_t v)
{
	return v >= (vs->bits == 12 ? 0xff8u : vs->bits == 16 ? 0xfff8u : 0x0ffffff8u);
}

static bool cluster_ok(const struct vfat_state *vs, uint32_t c)
{
	return c >= 2 && c - 2 < vs->nclusters;
}

static uint64_t cluster_off(const struct vfat_state *vs, uint32_t c)
{
	return vs->data_off + (uint64_t)(c - 2) * vs->cluster;
}

/* The chain from START, at most MAX clusters (fewer when it ends first),
 * into a malloc'd *OUT.  A cluster outside the volume, a free or bad one in
 * the chain, or a loop is -EUCLEAN. */
static int chain_read(imgfmt_fs *fs, uint32_t start, size_t max, uint32_t **out, size_t *n)
{
	struct vfat_state *vs = VS(fs);
	uint32_t *c = NULL, cur = start;
	size_t len = 0, cap = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (max > vs->nclusters)
		max = vs->nclusters;
	while (len < max) {
		uint32_t next;
		if (!cluster_ok(vs, cur)) {
			rc = fs_fail(fs, -EUCLEAN, "damaged FAT: cluster %u is outside the volume", cur);
			break;
		}
		if (vs->mark[cur / 8] & (1u << (cur % 8))) {
			rc = fs_fail(fs, -EUCLEAN, "damaged FAT: the chain from cluster %u loops at cluster %u", start, cur);
			break;
		}
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint32_t *grown = realloc(c, ncap * sizeof(*c));
			if (!grown) {
				rc = fs_fail(fs, -ENOMEM, "out of memory");
				break;
			}
			c = grown;
			cap = ncap;
		}
		vs->mark[cur / 8] |= (uint8_t)(1u << (cur % 8));
		c[len++] = cur;
		next = fat_get(vs, cur);
		if (fat_end(vs, next))
			break;
		if (next < 2 || next == (vs->bits == 12 ? 0xff7u : vs->bits == 16 ? 0xfff7u : 0x0ffffff7u)) {
			rc = fs_fail(fs, -EUCLEAN, "damaged FAT: the chain from cluster %u reaches a %s cluster", start,
				     next < 2 ? "free" : "bad");
			break;
		}
		cur = next;
	}
	for (size_t i = 0; i < len; i++)
		vs->mark[c[i] / 8] &= (uint8_t)~(1u << (c[i] % 8));
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	*n = len;
	return 0;
}

/* ---- directory entries ---- */

/* Seconds since the epoch of a FAT date and time, read as UTC (0: none). */
static int64_t fat_time(uint16_t date, uint16_t time)
{
	int64_t y = 1980 + (date >> 9), m = (date >> 5) & 15, d = date & 31;
	int64_t era, yoe, doy, doe, days;

	if (date == 0 || m < 1 || m > 12 || d < 1)
		return 0;
	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return days * 86400 + (time >> 11) * 3600 + ((time >> 5) & 63) * 60 + (time & 31) * 2;
}

static uint32_t entry_cluster(const struct vfat_state *vs, const unsigned char *e)
{
	return (vs->bits == 32 ? (uint32_t)le16(e + 20) << 16 : 0) | le16(e + 26);
}

static void root_stat(imgfmt_fs *fs, struct imgfmt_stat *st, uint64_t bytes)
{
	memset(st, 0, sizeof(*st));
	st->ino = VFAT_ROOT;
	st->mode = S_IFDIR | 0755;
	st->nlink = 1;
	st->size = st->allocated = bytes;
	st->flags = ATTR_DIR;
	(void)fs;
}

/* Stat of the short entry E at byte INO; DIR_BYTES: a directory's size. */
static void entry_stat(const struct vfat_state *vs, const unsigned char *e, uint64_t ino, uint64_t dir_bytes,
		       struct imgfmt_stat *st)
{
	uint8_t attr = e[11];
	unsigned tenth = e[13] < 200 ? e[13] : 0;

	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->generation = entry_cluster(vs, e);
	st->nlink = 1;
	st->flags = attr;
	if (attr & ATTR_DIR) {
		st->mode = S_IFDIR | 0755;
		st->size = st->allocated = dir_bytes;
	} else {
		st->mode = S_IFREG | (attr & ATTR_RO ? 0444 : 0644);
		st->size = le32(e + 28);
		st->allocated = (st->size + vs->cluster - 1) / vs->cluster * vs->cluster;
	}
	st->mtime.tv_sec = fat_time(le16(e + 24), le16(e + 22));
	st->ctime = st->mtime;
	st->atime.tv_sec = fat_time(le16(e + 18), 0);
	st->btime.tv_sec = fat_time(le16(e + 16), le16(e + 14));
	if (st->btime.tv_sec) {
		st->btime.tv_sec += tenth / 100;
		st->btime.tv_nsec = (long)(tenth % 100) * 10000000L;
	}
}

static bool entry_is_dot(const unsigned char *e)
{
	return !memcmp(e, ".          ", 11) || !memcmp(e, "..         ", 11);
}

/* An entry that names a file or directory (not free, deleted, a long
 * name's part, the volume label, "." or ".."). */
static bool entry_is_file(const unsigned char *e)
{
	return e[0] != 0 && e[0] != 0xe5 && e[11] != ATTR_LFN && !(e[11] & ATTR_LABEL) && !entry_is_dot(e);
}

/* The short entry at byte INO, checked to be one: 0 or -ENOENT. */
static int read_entry(imgfmt_fs *fs, uint64_t ino, unsigned char e[32])
{
	struct vfat_state *vs = VS(fs);
	bool in_root = vs->bits != 32 && ino >= vs->root_off && ino < vs->root_off + (uint64_t)vs->root_entries * 32;
	bool in_data = ino >= vs->data_off && ino < vs->data_off + (uint64_t)vs->nclusters * vs->cluster;
	int rc;

	if (ino % 32 || !(in_root || in_data))
		return fs_fail(fs, -ENOENT, "no file has inode %llu", (unsigned long long)ino);
	if ((rc = imgfmt_fs_volume_pread(fs, e, 32, ino)) < 0)
		return rc;
	if (!entry_is_file(e))
		return fs_fail(fs, -ENOENT, "no file has inode %llu", (unsigned long long)ino);
	return 0;
}

/* Directory INO's clusters (none for the root of FAT12/16). */
static int dir_chain(imgfmt_fs *fs, uint64_t ino, uint32_t **chain, size_t *n)
{
	struct vfat_state *vs = VS(fs);
	unsigned char e[32];
	uint32_t start;
	int rc;

	*chain = NULL;
	*n = 0;
	if (ino == VFAT_ROOT) {
		if (vs->bits != 32)
			return 0;
		start = vs->root_cluster;
	} else {
		if ((rc = read_entry(fs, ino, e)) < 0)
			return rc;
		if (!(e[11] & ATTR_DIR))
			return fs_fail(fs, -ENOTDIR, "inode %llu is not a directory", (unsigned long long)ino);
		start = entry_cluster(vs, e);
		if (start == 0)
			return fs_fail(fs, -EUCLEAN, "damaged FAT: directory (inode %llu) has no cluster",
				       (unsigned long long)ino);
	}
	return chain_read(fs, start, SIZE_MAX, chain, n);
}

static int vfat_stat(imgfmt_fs *fs, uint64_t ino, struct imgfmt_stat *st)
{
	struct vfat_state *vs = VS(fs);
	unsigned char e[32];
	uint32_t *chain = NULL;
	size_t n = 0;
	int rc;

	if (ino != VFAT_ROOT && (rc = read_entry(fs, ino, e)) < 0)
		return rc;
	if (ino == VFAT_ROOT || (e[11] & ATTR_DIR)) {
		if ((rc = dir_chain(fs, ino, &chain, &n)) < 0)
			return rc;
		free(chain);
	}
	if (ino == VFAT_ROOT)
		root_stat(fs, st, vs->bits == 32 ? n * vs->cluster : (uint64_t)vs->root_entries * 32);
	else
		entry_stat(vs, e, ino, (uint64_t)n * vs->cluster, st);
	return 0;
}

/* Code page 437 (what mkfs.fat and mtools write by default), 0x80-0xff. */
static const uint16_t cp437[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee,
	0x00ec, 0x00c4, 0x00c5, 0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9, 0x00ff, 0x00d6,
	0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa,
	0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb, 0x2591, 0x2592, 0x2593, 0x2502,
	0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510, 0x2514,
	0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f, 0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
	0x256c, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518, 0x250c,
	0x2588, 0x2584, 0x258c, 0x2590, 0x2580, 0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1, 0x2265, 0x2264, 0x2320,
	0x2321, 0x00f7, 0x2248, 0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The 8.3 name of E, lower-cased as the NT case bits say, into OUT (at
 * least 8 + 1 + 3 characters of up to 3 bytes each). */
static size_t short_name(const unsigned char *e, char *out)
{
	size_t len = 0, base = 8, ext = 3;

	while (base && e[base - 1] == ' ')
		base--;
	while (ext && e[8 + ext - 1] == ' ')
		ext--;
	for (size_t i = 0; i < base + ext; i++) {
		size_t at = i < base ? i : 8 + i - base;
		unsigned char c = at == 0 && e[0] == 0x05 ? 0xe5 : e[at];
		bool lower = at < 8 ? e[12] & 0x08 : e[12] & 0x10;
		if (i == base)
			out[len++] = '.';
		if (c >= 'A' && c <= 'Z' && lower)
			c = (unsigned char)(c - 'A' + 'a');
		len += put_utf8(out + len, c < 0x80 ? c : cp437[c - 0x80]);
	}
	return len;
}

static uint8_t lfn_checksum(const unsigned char *e)
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + e[i]);
	return sum;
}

/* A long name being gathered from its entries (last part first). */
struct lfn {
	uint16_t units[LFN_MAX * 13];
	unsigned parts;  /* how many it has, 0: none */
	unsigned next;   /* the sequence number expected next */
	uint8_t sum;
};

static void lfn_add(struct lfn *l, const unsigned char *e)
{
	static const unsigned char at[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	unsigned seq = e[0] & 0x1f;

	if (e[0] & 0x40) {
		l->parts = seq;
		l->next = seq;
		l->sum = e[13];
	}
	if (seq == 0 || seq > LFN_MAX || seq != l->next || l->sum != e[13] || e[12] != 0 || le16(e + 26) != 0) {
		l->parts = 0;
		return;
	}
	for (int i = 0; i < 13; i++)
		l->units[(seq - 1) * 13 + i] = le16(e + at[i]);
	l->next--;
}

/* The long name for the short entry E into OUT (up to 255 bytes): its
 * length, or 0 when there is none that holds (parts missing, checksum,
 * not valid UTF-16, too long). */
static size_t lfn_name(const struct lfn *l, const unsigned char *e, char *out)
{
	size_t len = 0, n = (size_t)l->parts * 13;

	if (!l->parts || l->next != 0 || l->sum != lfn_checksum(e))
		return 0;
	for (size_t i = 0; i < n && l->units[i]; i++) {
		uint32_t cp = l->units[i];
		char buf[4];
		size_t k;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < n && l->units[i + 1] >= 0xdc00 && l->units[i + 1] < 0xe000)
			cp = 0x10000 + ((cp - 0xd800) << 10) + (l->units[++i] - 0xdc00);
		else if (cp >= 0xd800 && cp < 0xe000)
			return 0;
		k = put_utf8(buf, cp);
		if (len + k > 255)
			return 0;
		memcpy(out + len, buf, k);
		len += k;
	}
	return len;
}

/* Call CB for each file of directory DIR: its name (long, else short),
 * inode and short entry.  A non-zero return from CB stops and is returned. */
typedef int (*entry_fn)(imgfmt_fs *fs, const char *name, size_t len, uint64_t ino, const unsigned char *e,
			void *arg);

static int dir_each(imgfmt_fs *fs, uint64_t dir, entry_fn cb, void *arg)
{
	struct vfat_state *vs = VS(fs);
	uint32_t *chain = NULL;
	size_t n = 0, runs;
	unsigned char *buf = NULL;
	struct lfn *l = calloc(1, sizeof(*l));
	int rc = dir_chain(fs, dir, &chain, &n);
	bool fixed_root = dir == VFAT_ROOT && vs->bits != 32;
	size_t bytes = fixed_root ? (size_t)vs->root_entries * 32 : vs->cluster;

	if (rc == 0 && (!l || !(buf = malloc(bytes ? bytes : 1))))
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	runs = fixed_root ? 1 : n;
	for (size_t r = 0; r < runs && rc == 0; r++) {
		uint64_t base = fixed_root ? vs->root_off : cluster_off(vs, chain[r]);
		if ((rc = imgfmt_fs_volume_pread(fs, buf, bytes, base)) < 0)
			break;
		for (size_t i = 0; i + 32 <= bytes && rc == 0; i += 32) {
			const unsigned char *e = buf + i;
			char name[256 * 3];
			size_t len;
			if (e[0] == 0) {
				r = runs; /* the end of the directory */
				break;
			}
			if (e[0] == 0xe5) {
				l->parts = 0;
				continue;
			}
			if (e[11] == ATTR_LFN) {
				lfn_add(l, e);
				continue;
			}
			if (entry_is_file(e)) {
				len = lfn_name(l, e, name);
				if (len == 0)
					len = short_name(e, name);
				rc = cb(fs, name, len, base + i, e, arg);
			}
			l->parts = 0;
		}
	}
	free(buf);
	free(l);
	free(chain);
	return rc;
}

struct readdir_ctx {
	imgfmt_dirent_fn cb;
	void *arg;
};

static int readdir_one(imgfmt_fs *fs, const char *name, size_t len, uint64_t ino, const unsigned char *e, void *arg)
{
	struct readdir_ctx *c = arg;
	(void)fs;

	return c->cb(name, len, ino, e[11] & ATTR_DIR ? DT_DIR : DT_REG, c->arg);
}

static int vfat_readdir(imgfmt_fs *fs, uint64_t dir, imgfmt_dirent_fn cb, void *arg)
{
	struct readdir_ctx c = { cb, arg };

	return dir_each(fs, dir, readdir_one, &c);
}

static int vfat_lookup_child(imgfmt_fs *fs, uint64_t dir, const char *name, uint64_t *ino)
{
	return imgfmt_fs_lookup_scan(fs, dir, name, vfat_readdir, ino);
}

/* ---- scan: the tree from the root, each directory once ---- */

struct scan_ctx {
	imgfmt_scan_fn cb;
	void *arg;
	unsigned char *seen;   /* a bit per cluster: directories met */
	uint64_t *stack;       /* directories to read */
	size_t n, cap;
	int cb_rc;
};

static int scan_one(imgfmt_fs *fs, const char *name, size_t len, uint64_t ino, const unsigned char *e, void *arg)
{
	struct vfat_state *vs = VS(fs);
	struct scan_ctx *s = arg;
	struct imgfmt_stat st;
	uint32_t c = entry_cluster(vs, e);
	(void)name, (void)len;

	if (e[11] & ATTR_DIR) {
		/* damaged, or met before (an ancestor, itself): left out */
		if (!cluster_ok(vs, c) || (s->seen[c / 8] & (1u << (c % 8))))
			return 0;
		s->seen[c / 8] |= (uint8_t)(1u << (c % 8));
		if (vfat_stat(fs, ino, &st) < 0)
			return 0;
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			uint64_t *grown = realloc(s->stack, cap * sizeof(*grown));
			if (!grown)
				return fs_fail(fs, -ENOMEM, "out of memory");
			s->stack = grown;
			s->cap = cap;
		}
		s->stack[s->n++] = ino;
	} else {
		entry_stat(vs, e, ino, 0, &st);
	}
	s->cb_rc = s->cb(&st, s->arg);
	return s->cb_rc;
}

static int vfat_scan(imgfmt_fs *fs, imgfmt_scan_fn cb, void *arg)
{
	struct vfat_state *vs = VS(fs);
	struct scan_ctx s = { cb, arg, calloc(vs->nclusters / 8 + 2, 1), NULL, 0, 0, 0 };
	struct imgfmt_stat st;
	int rc;

	if (!s.seen)
		return fs_fail(fs, -ENOMEM, "out of memory");
	if (vs->bits == 32)
		s.seen[vs->root_cluster / 8] |= (uint8_t)(1u << (vs->root_cluster % 8));
	rc = vfat_stat(fs, VFAT_ROOT, &st);
	if (rc == 0 && !(s.cb_rc = cb(&st, arg))) {
		/* a damaged directory's files are left out, as the scan promises */
		rc = dir_each(fs, VFAT_ROOT, scan_one, &s);
		while (s.n > 0 && !s.cb_rc && rc != -ENOMEM)
			rc = dir_each(fs, s.stack[--s.n], scan_one, &s);
		if (rc != -ENOMEM)
			rc = 0;
	}
	free(s.seen);
	free(s.stack);
	return s.cb_rc ? s.cb_rc : rc;
}

/* ---- file data ---- */

/* File INO's chain, as far as its size needs, in vs->chain (kept for the
 * next call on the same file); its short entry into E. */
static int file_chain(imgfmt_fs *fs, uint64_t ino, unsigned char e[32])
{
	struct vfat_state *vs = VS(fs);
	uint64_t size, need;
	uint32_t start;
	int rc;

	if ((rc = read_entry(fs, ino, e)) < 0)
		return rc;
	if (e[11] & ATTR_DIR)
		return fs_fail(fs, -EISDIR, "inode %llu is a directory", (unsigned long long)ino);
	if (vs->chain_ino == ino)
		return 0;
	free(vs->chain);
	vs->chain = NULL;
	vs->nchain = 0;
	vs->chain_ino = 0;
	size = le32(e + 28);
	start = entry_cluster(vs, e);
	need = (size + vs->cluster - 1) / vs->cluster;
	if (need > vs->nclusters)
		return fs_fail(fs, -EUCLEAN, "damaged FAT: a file of %llu bytes is larger than the volume",
			       (unsigned long long)size);
	if (need && (rc = chain_read(fs, start, (size_t)need, &vs->chain, &vs->nchain)) < 0)
		return rc;
	vs->chain_ino = ino;
	return 0;
}

static ssize_t vfat_pread(imgfmt_fs *fs, uint64_t ino, const char *stream, void *buf, size_t len, uint64_t off)
{
	struct vfat_state *vs = VS(fs);
	unsigned char e[32];
	uint64_t size;
	size_t done = 0;
	int rc;

	if (stream)
		return fs_fail(fs, -ENOENT, "FAT files have no named streams");
	if ((rc = file_chain(fs, ino, e)) < 0)
		return rc;
	size = le32(e + 28);
	if (off >= size)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	while (done < len) {
		uint64_t at = off + done, ci = at / vs->cluster, in = at % vs->cluster;
		size_t n, k = 1;
		if (ci >= vs->nchain)
			return fs_fail(fs, -EUCLEAN, "damaged FAT: the file (inode %llu) is larger than its cluster chain",
				       (unsigned long long)ino);
		while (ci + k < vs->nchain && vs->chain[ci + k] == vs->chain[ci] + k)
			k++;
		n = (uint64_t)k * vs->cluster - in < len - done ? (size_t)((uint64_t)k * vs->cluster - in) : len - done;
		if ((rc = imgfmt_fs_volume_pread(fs, (char *)buf + done, n, cluster_off(vs, vs->chain[ci]) + in)) < 0)
			return rc;
		done += n;
	}
	return (ssize_t)done;
}

static int vfat_data_runs(imgfmt_fs *fs, uint64_t ino, imgfmt_run_fn cb, void *arg)
{
	struct vfat_state *vs = VS(fs);
	unsigned char e[32];
	int rc;

	if (ino == VFAT_ROOT || ((rc = read_entry(fs, ino, e)) == 0 && (e[11] & ATTR_DIR))) {
		uint32_t *chain;
		size_t n;
		if ((rc = dir_chain(fs, ino, &chain, &n)) < 0)
			return rc;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = cb((uint64_t)i * vs->cluster, vs->cluster, cluster_off(vs, chain[i]), arg);
		free(chain);
		return rc;
	}
	if (rc < 0 || (rc = file_chain(fs, ino, e)) < 0)
		return rc;
	for (size_t i = 0; i < vs->nchain && rc == 0;) {
		size_t k = 1;
		while (i + k < vs->nchain && vs->chain[i + k] == vs->chain[i] + k)
			k++;
		rc = cb((uint64_t)i * vs->cluster, (uint64_t)k * vs->cluster, cluster_off(vs, vs->chain[i]), arg);
		i += k;
	}
	return rc;
}

static ssize_t vfat_readlink(imgfmt_fs *fs, uint64_t ino, char *buf, size_t size)
{
	(void)buf, (void)size;
	return fs_fail(fs, -EINVAL, "inode %llu is not a symbolic link (FAT has none)", (unsigned long long)ino);
}

static int vfat_xattrs(imgfmt_fs *fs, uint64_t ino, imgfmt_xattr_fn cb, void *arg)
{
	unsigned char e[32], value[4] = { 0 };
	int rc;

	if (ino == VFAT_ROOT)
		return 0;
	if ((rc = read_entry(fs, ino, e)) < 0)
		return rc;
	if (!(e[11] & (ATTR_RO | ATTR_HIDDEN | ATTR_SYSTEM)))
		return 0;
	value[0] = e[11] & (ATTR_RO | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_DIR | ATTR_ARCHIVE);
	return cb("user.fat_attrib", value, sizeof(value), arg);
}

static int vfat_streams(imgfmt_fs *fs, uint64_t ino, imgfmt_stream_fn cb, void *arg)
{
	(void)fs, (void)ino, (void)cb, (void)arg;
	return 0;
}

static int vfat_free_space(imgfmt_fs *fs, imgfmt_extents *free_ranges)
{
	struct vfat_state *vs = VS(fs);
	int rc = 0;

	for (uint32_t c = 2; c - 2 < vs->nclusters && rc == 0;) {
		uint32_t k = 0;
		while (c - 2 + k < vs->nclusters && fat_get(vs, c + k) == 0)
			k++;
		if (k)
			rc = imgfmt_extents_add(free_ranges, cluster_off(vs, c), (uint64_t)k * vs->cluster);
		c += k ? k : 1;
	}
	return rc < 0 ? fs_fail(fs, rc, "out of memory") : 0;
}

/* ---- open ---- */

/* The boot sector's BPB: the geometry, each value checked against the
 * others and the volume. */
static int vfat_read_bpb(imgfmt_fs *fs, const unsigned char *b)
{
	struct vfat_state *vs = VS(fs);
	unsigned spc = b[13], rsvd = le16(b + 14), nfats = b[16], active = 0;
	uint32_t root_entries = le16(b + 17), fatsz = le16(b + 22);
	uint64_t total = le16(b + 19) ? le16(b + 19) : le32(b + 32), root_secs, meta, fat_clusters;

	vs->sector = le16(b + 11);
	if (vs->sector != 512 && vs->sector != 1024 && vs->sector != 2048 && vs->sector != 4096)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: %u bytes per sector", vs->sector);
	if (spc == 0 || (spc & (spc - 1)))
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: %u sectors per cluster", spc);
	vs->cluster = vs->sector * spc;
	if (rsvd == 0 || nfats == 0 || total == 0)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: %u reserved sectors, %u FATs, %llu sectors", rsvd,
			       nfats, (unsigned long long)total);
	vs->bits = fatsz ? 16 : 32;
	if (vs->bits == 32) {
		uint16_t flags = le16(b + 40);
		fatsz = le32(b + 36);
		vs->root_cluster = le32(b + 44);
		root_entries = 0;
		if (flags & 0x80)
			active = flags & 15;
		if (active >= nfats)
			return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: active FAT %u of %u", active, nfats);
	}
	if (fatsz == 0)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: FATs of 0 sectors");
	if (total > fs->vol.size / vs->sector)
		return fs_fail(fs, -EUCLEAN, "FAT of %llu bytes is larger than its volume (%llu bytes)",
			       (unsigned long long)(total * vs->sector), (unsigned long long)fs->vol.size);
	root_secs = ((uint64_t)root_entries * 32 + vs->sector - 1) / vs->sector;
	meta = rsvd + (uint64_t)nfats * fatsz + root_secs;
	if (meta >= total)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: no room for data after its FATs");
	vs->nclusters = (uint32_t)((total - meta) / spc < 0x0ffffff5u ? (total - meta) / spc : 0x0ffffff5u);
	if (vs->bits == 16 && vs->nclusters < 4085)
		vs->bits = 12;
	if (vs->bits == 16 && vs->nclusters > 65524)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: %u clusters for a FAT16", vs->nclusters);
	/* a FAT too short for the clusters: those it has no entry for are not used */
	fat_clusters = (uint64_t)fatsz * vs->sector * 8 / vs->bits;
	if (fat_clusters < 3)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: FATs of %u sectors", fatsz);
	if (vs->nclusters > fat_clusters - 2)
		vs->nclusters = (uint32_t)(fat_clusters - 2);
	if (vs->nclusters == 0)
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: no data clusters");
	if (vs->bits == 32 && !cluster_ok(vs, vs->root_cluster))
		return fs_fail(fs, -EUCLEAN, "damaged FAT boot sector: the root directory at cluster %u",
			       vs->root_cluster);
	vs->root_entries = root_entries;
	vs->root_off = (rsvd + (uint64_t)nfats * fatsz) * vs->sector;
	vs->data_off = meta * vs->sector;
	vs->fat_len = ((uint64_t)(vs->nclusters + 2) * vs->bits + 7) / 8;
	if (vs->fat_len > FAT_MAX_BYTES)
		return fs_fail(fs, -EFBIG, "a FAT of %zu bytes: larger than rawkit reads", vs->fat_len);
	fs->block_size = vs->cluster;
	fs->total_bytes = (uint64_t)vs->nclusters * vs->cluster;
	if (!(vs->fat = malloc(vs->fat_len)))
		return fs_fail(fs, -ENOMEM, "out of memory");
	return imgfmt_fs_volume_pread(fs, vs->fat, vs->fat_len, (rsvd + (uint64_t)active * fatsz) * vs->sector);
}

static int vfat_open(imgfmt_fs *fs)
{
	struct vfat_state *vs = calloc(1, sizeof(*vs));
	unsigned char boot[512];
	uint64_t free_clusters = 0;
	int rc;

	if (!vs)
		return fs_fail(fs, -ENOMEM, "out of memory");
	fs->priv = vs;
	snprintf(fs->type, sizeof(fs->type), "vfat");
	rc = imgfmt_fs_volume_pread(fs, boot, sizeof(boot), 0);
	if (rc == 0)
		rc = vfat_read_bpb(fs, boot);
	if (rc == 0 && !(vs->mark = calloc(vs->nclusters / 8 + 2, 1)))
		rc = fs_fail(fs, -ENOMEM, "out of memory");
	if (rc < 0) {
		free(vs->fat);
		free(vs->mark);
		free(vs);
		fs->priv = NULL;
		return rc;
	}
	for (uint32_t c = 2; c - 2 < vs->nclusters; c++)
		free_clusters += fat_get(vs, c) == 0;
	fs->free_bytes = free_clusters * vs->cluster;
	fs->root = VFAT_ROOT;
	fs->consistency.state = IMGFMT_CLEAN;
	return 0;
}

static void vfat_close(imgfmt_fs *fs)
{
	struct vfat_state *vs = fs->priv;

	if (!vs)
		return;
	free(vs->fat);
	free(vs->mark);
	free(vs->chain);
	free(vs);
	fs->priv = NULL;
}

const struct imgfmt_fs_ops imgfmt_fs_vfat_ops = {
	.name = "vfat",
	.match = vfat_match,
	.open = vfat_open,
	.close = vfat_close,
	.stat = vfat_stat,
	.scan = vfat_scan,
	.lookup_child = vfat_lookup_child,
	.readdir = vfat_readdir,
	.pread = vfat_pread,
	.readlink = vfat_readlink,
	.xattrs = vfat_xattrs,
	.streams = vfat_streams,
	.data_runs = vfat_data_runs,
	.free_space = vfat_free_space,
	/* read-only: no editing, no UUID (fs.c refuses IMGFMT_FS_WRITE) */
};
