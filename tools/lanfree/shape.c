/* shape.c --- a disk's shape, recorded with each generation: its partition
 * table, each filesystem's identity and creation parameters, and the boot
 * areas no file holds (what restore-disk needs to remake the disk)
 *
 * The shape is a JSON object (keys in doc/json.md's words) and a blob of
 * boot bytes it points into; the catalog keeps one row per distinct shape
 * (shapes, keyed by the SHA-256 of both), which the generations share.
 */
#include "lanfree.h"

#include <endian.h>
#include <ext2fs/ext2_fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A boot area is kept up to this many bytes (GRUB's core image is some
 * 30-200 KiB; a BIOS boot partition is usually 1 MiB). */
#define BOOT_AREA_MAX (4u << 20)
#define BIOS_BOOT_GUID "21686148-6449-6E6F-744E-656564454649"
#define NTFS_BOOT_BYTES 8192 /* $Boot: the boot sector and its boot loader */

static const struct {
	int where; /* 0 compat, 1 incompat, 2 ro_compat */
	uint32_t bit;
	const char *name;
} ext_features[] = {
	{ 0, 0x0001, "dir_prealloc" },   { 0, 0x0002, "imagic_inodes" },   { 0, 0x0004, "has_journal" },
	{ 0, 0x0008, "ext_attr" },       { 0, 0x0010, "resize_inode" },    { 0, 0x0020, "dir_index" },
	{ 0, 0x0200, "sparse_super2" },  { 0, 0x0400, "fast_commit" },     { 0, 0x0800, "stable_inodes" },
	{ 0, 0x1000, "orphan_file" },    { 1, 0x0002, "filetype" },        { 1, 0x0010, "meta_bg" },
	{ 1, 0x0040, "extent" },         { 1, 0x0080, "64bit" },           { 1, 0x0100, "mmp" },
	{ 1, 0x0200, "flex_bg" },        { 1, 0x0400, "ea_inode" },        { 1, 0x2000, "metadata_csum_seed" },
	{ 1, 0x4000, "large_dir" },      { 1, 0x8000, "inline_data" },     { 1, 0x10000, "encrypt" },
	{ 1, 0x20000, "casefold" },      { 2, 0x0001, "sparse_super" },    { 2, 0x0002, "large_file" },
	{ 2, 0x0008, "huge_file" },      { 2, 0x0010, "uninit_bg" },       { 2, 0x0020, "dir_nlink" },
	{ 2, 0x0040, "extra_isize" },    { 2, 0x0100, "quota" },           { 2, 0x0200, "bigalloc" },
	{ 2, 0x0400, "metadata_csum" },  { 2, 0x2000, "project" },         { 2, 0x8000, "verity" },
};

static const char *const hash_names[] = { "legacy", "half_md4", "tea" };

static void uuid_string(const unsigned char *u, char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
		 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* What mke2fs needs to make an equivalent ext2/3/4: read from its
 * superblock (and the journal inode's size kept in it).  NULL when the
 * superblock cannot be read. */
static json_t *ext_params(imgfmt_disk *disk, size_t index)
{
	struct ext2_super_block sb;
	uint32_t masks[3];
	uint64_t blocks, reserved, journal = 0;
	unsigned block_size;
	json_t *o, *features;
	char seed[37];

	if (imgfmt_volume_pread(disk, index, &sb, sizeof(sb), 1024) < 0 || le16toh(sb.s_magic) != EXT2_SUPER_MAGIC ||
	    le32toh(sb.s_log_block_size) > 6)
		return NULL;
	block_size = 1024u << le32toh(sb.s_log_block_size);
	masks[0] = le32toh(sb.s_feature_compat);
	masks[1] = le32toh(sb.s_feature_incompat);
	masks[2] = le32toh(sb.s_feature_ro_compat);
	blocks = le32toh(sb.s_blocks_count);
	reserved = le32toh(sb.s_r_blocks_count);
	if (masks[1] & 0x80) { /* 64bit */
		blocks |= (uint64_t)le32toh(sb.s_blocks_count_hi) << 32;
		reserved |= (uint64_t)le32toh(sb.s_r_blocks_count_hi) << 32;
	}
	/* the journal inode's i_size_high and i_size, kept in s_jnl_blocks */
	if ((masks[0] & 0x4) && sb.s_jnl_backup_type == EXT3_JNL_BACKUP_BLOCKS)
		journal = (uint64_t)le32toh(sb.s_jnl_blocks[15]) << 32 | le32toh(sb.s_jnl_blocks[16]);
	o = json_object();
	features = json_array();
	for (size_t i = 0; i < sizeof(ext_features) / sizeof(ext_features[0]); i++)
		if (masks[ext_features[i].where] & ext_features[i].bit)
			json_array_append_new(features, json_string(ext_features[i].name));
	json_put(o, "block_bytes", json_integer(block_size));
	json_put(o, "inode_bytes", json_integer(le16toh(sb.s_inode_size) ? le16toh(sb.s_inode_size) : 128));
	json_put(o, "inodes", json_count(le32toh(sb.s_inodes_count)));
	json_put(o, "blocks", json_count(blocks));
	json_put(o, "reserved_blocks", json_count(reserved));
	json_put(o, "blocks_per_group", json_count(le32toh(sb.s_blocks_per_group)));
	json_put(o, "flex_bg_size", json_integer(masks[1] & 0x200 ? 1 << sb.s_log_groups_per_flex : 0));
	json_put(o, "journal_bytes", json_count(journal));
	json_put(o, "features", features);
	json_put(o, "revision", json_integer(le32toh(sb.s_rev_level)));
	uuid_string((const unsigned char *)sb.s_hash_seed, seed);
	json_put(o, "hash_seed", json_string(seed));
	json_put(o, "hash_alg", json_string(sb.s_def_hash_version < 3 ? hash_names[sb.s_def_hash_version] : "half_md4"));
	json_put(o, "errors_behavior", json_integer(le16toh(sb.s_errors)));
	json_put(o, "creator_os", json_integer(le32toh(sb.s_creator_os)));
	return o;
}

/* NTFS: cluster size and serial from the boot sector (remade by mkntfs -c). */
static json_t *ntfs_params(imgfmt_disk *disk, size_t index)
{
	unsigned char bs[512];
	unsigned sector, cluster;
	json_t *o;
	char serial[17];

	if (imgfmt_volume_pread(disk, index, bs, sizeof(bs), 0) < 0 || memcmp(bs + 3, "NTFS    ", 8))
		return NULL;
	sector = bs[11] | bs[12] << 8;
	cluster = bs[13] <= 0x80 ? sector * bs[13] : sector << (256 - bs[13]);
	for (int i = 0; i < 8; i++)
		snprintf(serial + 2 * i, 3, "%02X", bs[0x48 + 7 - i]);
	o = json_object();
	json_put(o, "sector_bytes", json_integer(sector));
	json_put(o, "cluster_bytes", json_integer(cluster));
	json_put(o, "serial", json_string(serial));
	return o;
}

static uint32_t be32_at(const unsigned char *b, size_t at)
{
	return (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 | b[at + 3];
}

/* XFS: what mkfs.xfs needs for an equivalent one, from the primary
 * superblock (big-endian; offsets of struct xfs_dsb). */
static json_t *xfs_params(imgfmt_disk *disk, size_t index)
{
	unsigned char sb[512];
	unsigned block, sector, inode, version;
	uint32_t features2, ro_compat = 0, incompat = 0;
	uint64_t dblocks;
	json_t *o;

	if (imgfmt_volume_pread(disk, index, sb, sizeof(sb), 0) < 0 || memcmp(sb, "XFSB", 4))
		return NULL;
	block = be32_at(sb, 4);
	dblocks = (uint64_t)be32_at(sb, 8) << 32 | be32_at(sb, 12);
	version = (sb[100] << 8 | sb[101]) & 0xf;
	sector = sb[102] << 8 | sb[103];
	inode = sb[104] << 8 | sb[105];
	features2 = be32_at(sb, 200);
	if (version == 5) {
		ro_compat = be32_at(sb, 212);
		incompat = be32_at(sb, 216);
	}
	if (block < 512 || block > 65536 || (block & (block - 1)) || sector < 512 || sector > block || inode < 256 ||
	    inode > 2048 || (version != 4 && version != 5))
		return NULL;
	o = json_object();
	json_put(o, "block_bytes", json_integer(block));
	json_put(o, "sector_bytes", json_integer(sector));
	json_put(o, "inode_bytes", json_integer(inode));
	json_put(o, "blocks", json_count(dblocks));
	json_put(o, "ag_count", json_integer(be32_at(sb, 88)));
	json_put(o, "log_bytes", json_count((uint64_t)be32_at(sb, 96) * block));
	json_put(o, "log_internal", json_boolean(sb[48] | sb[49] | sb[50] | sb[51] | sb[52] | sb[53] | sb[54] | sb[55]));
	json_put(o, "crc", json_boolean(version == 5));
	json_put(o, "ftype", json_boolean(version == 5 ? incompat & 0x1 : features2 & 0x200));
	json_put(o, "sparse_inodes", json_boolean(incompat & 0x2));
	json_put(o, "bigtime", json_boolean(incompat & 0x8));
	json_put(o, "finobt", json_boolean(ro_compat & 0x1));
	json_put(o, "rmapbt", json_boolean(ro_compat & 0x2));
	json_put(o, "reflink", json_boolean(ro_compat & 0x4));
	json_put(o, "inobtcount", json_boolean(ro_compat & 0x8));
	return o;
}

/* vfat (an EFI system partition): what mkfs.fat needs for an equivalent
 * one, from the boot sector. */
static json_t *vfat_params(imgfmt_disk *disk, size_t index)
{
	unsigned char bs[512];
	unsigned sector, spc, reserved, fats, root_entries, bits;
	uint64_t total, fat_size, data, clusters;
	json_t *o;
	char serial[9];

	if (imgfmt_volume_pread(disk, index, bs, sizeof(bs), 0) < 0 || bs[510] != 0x55 || bs[511] != 0xaa)
		return NULL;
	sector = bs[11] | bs[12] << 8;
	spc = bs[13];
	reserved = bs[14] | bs[15] << 8;
	fats = bs[16];
	root_entries = bs[17] | bs[18] << 8;
	total = (uint64_t)(bs[19] | bs[20] << 8);
	if (!total)
		total = (uint64_t)bs[32] | (uint64_t)bs[33] << 8 | (uint64_t)bs[34] << 16 | (uint64_t)bs[35] << 24;
	fat_size = (uint64_t)(bs[22] | bs[23] << 8);
	if (!fat_size)
		fat_size = (uint64_t)bs[36] | (uint64_t)bs[37] << 8 | (uint64_t)bs[38] << 16 | (uint64_t)bs[39] << 24;
	if (sector < 512 || sector > 4096 || (sector & (sector - 1)) || !spc || !fats || !fat_size)
		return NULL;
	data = reserved + fats * fat_size + ((uint64_t)root_entries * 32 + sector - 1) / sector;
	clusters = total > data ? (total - data) / spc : 0;
	bits = !root_entries && !(bs[22] | bs[23]) ? 32 : clusters < 4085 ? 12 : 16;
	snprintf(serial, sizeof(serial), "%02X%02X%02X%02X", bs[bits == 32 ? 0x46 : 0x2a], bs[bits == 32 ? 0x45 : 0x29],
		 bs[bits == 32 ? 0x44 : 0x28], bs[bits == 32 ? 0x43 : 0x27]);
	o = json_object();
	json_put(o, "fat_bits", json_integer(bits));
	json_put(o, "sector_bytes", json_integer(sector));
	json_put(o, "cluster_sectors", json_integer(spc));
	json_put(o, "reserved_sectors", json_integer(reserved));
	json_put(o, "fats", json_integer(fats));
	json_put(o, "serial", json_string(serial));
	return o;
}

static void boot_area(struct shape *s, json_t *areas, const char *what, const char *volume, uint64_t offset,
		      const unsigned char *data, size_t len, size_t stored_len)
{
	json_t *a = json_object();

	while (stored_len && !data[stored_len - 1])
		stored_len--; /* trailing zeros are written back as zeros, not kept */
	json_put(a, "what", json_string(what));
	json_put(a, "volume", volume ? json_string(volume) : json_null());
	json_put(a, "offset_bytes", json_count(offset));
	json_put(a, "size_bytes", json_count(len));
	json_put(a, "stored_bytes", json_count(stored_len));
	json_put(a, "blob_offset_bytes", json_count(s->boot_len));
	json_array_append_new(areas, a);
	if (stored_len) {
		memcpy(s->boot + s->boot_len, data, stored_len);
		s->boot_len += stored_len;
	}
}

/* Read LEN (capped) bytes at OFFSET of the disk as a boot area. */
static int boot_read(struct shape *s, imgfmt_disk *disk, json_t *areas, const char *what, const char *volume,
		     uint64_t offset, uint64_t len)
{
	size_t n = len > BOOT_AREA_MAX ? BOOT_AREA_MAX : (size_t)len;
	unsigned char *buf = malloc(n ? n : 1), *grown = realloc(s->boot, s->boot_len + n + 1);

	if (!buf || !grown) {
		free(buf);
		if (grown)
			s->boot = grown;
		cli_error(imgfmt_disk_path(disk), "out of memory");
		return -1;
	}
	s->boot = grown;
	if (imgfmt_disk_pread(disk, buf, n, offset) < 0) {
		cli_error(imgfmt_disk_path(disk), "%s", imgfmt_disk_error(disk));
		free(buf);
		return -1;
	}
	boot_area(s, areas, what, volume, offset, buf, n, n);
	free(buf);
	return 0;
}

/* Where the space between the table and the first partition starts:
 * after the MBR, or after a GPT's primary entries. */
static uint64_t table_end(imgfmt_disk *disk, unsigned sector)
{
	unsigned char h[92];
	uint64_t entries_lba, end;
	uint32_t n, size;

	if (strcmp(imgfmt_disk_label(disk), "gpt"))
		return 512;
	if (imgfmt_disk_pread(disk, h, sizeof(h), sector) < 0 || memcmp(h, "EFI PART", 8))
		return 0;
	memcpy(&entries_lba, h + 72, 8);
	memcpy(&n, h + 80, 4);
	memcpy(&size, h + 84, 4);
	entries_lba = le64toh(entries_lba);
	end = entries_lba * sector + (uint64_t)le32toh(n) * le32toh(size);
	return (end + sector - 1) / sector * sector;
}

static int describe_boot(struct shape *s, imgfmt_disk *disk, json_t *obj)
{
	json_t *areas = json_array();
	unsigned sector = imgfmt_disk_sector_size(disk);
	uint64_t first = UINT64_MAX, gap_start;
	int rc = 0;

	json_put(obj, "boot_areas", areas);
	if (!imgfmt_disk_label(disk)[0])
		return 0; /* a filesystem on the whole disk: its boot sector is its own */
	rc = boot_read(s, disk, areas, "mbr_boot_code", NULL, 0, 440);
	for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++) {
		struct imgfmt_volume v;
		imgfmt_disk_volume(disk, i, &v);
		if (v.partno && v.offset < first)
			first = v.offset;
		if (rc == 0 && v.partno && !strcasecmp(v.type, BIOS_BOOT_GUID))
			rc = boot_read(s, disk, areas, "bios_boot", v.name, v.offset, v.size);
		/* an LVM2 PV's label and metadata: its VG and LVs, as they were */
		uint64_t pe_start;
		if (rc == 0 && v.partno && !strcmp(v.fstype, "LVM2_member") &&
		    imgfmt_disk_lvm_pv_data_offset(disk, i, &pe_start) == 0 && pe_start <= BOOT_AREA_MAX)
			rc = boot_read(s, disk, areas, "lvm_pv_header", v.name, v.offset, pe_start);
		/* Windows' boot code in the NTFS boot sector and the 15 after
		 * it ($Boot): restore-disk puts it back around mkntfs's BPB */
		if (rc == 0 && v.partno && !strcmp(v.fstype, "ntfs") && v.size >= NTFS_BOOT_BYTES)
			rc = boot_read(s, disk, areas, "ntfs_boot_code", v.name, v.offset, NTFS_BOOT_BYTES);
	}
	gap_start = table_end(disk, sector);
	if (rc == 0 && gap_start && first != UINT64_MAX && first > gap_start)
		rc = boot_read(s, disk, areas, "table_gap", NULL, gap_start, first - gap_start);
	return rc;
}

int shape_describe(imgfmt_disk *disk, struct shape *s)
{
	json_t *obj = json_object(), *parts = json_array(), *vols = json_array();
	char *dump = NULL;

	memset(s, 0, sizeof(*s));
	s->json = obj;
	json_put(obj, "disk_bytes", json_count(imgfmt_disk_size(disk)));
	json_put(obj, "sector_bytes", json_integer(imgfmt_disk_sector_size(disk)));
	json_put(obj, "label", json_string(imgfmt_disk_label(disk)));
	json_put(obj, "id", json_string(imgfmt_disk_id(disk)));
	if (imgfmt_disk_ptable_dump(disk, &dump) < 0) {
		cli_error(imgfmt_disk_path(disk), "%s", imgfmt_disk_error(disk));
		return -1;
	}
	json_put(obj, "ptable", json_string(dump));
	free(dump);
	for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++) {
		struct imgfmt_volume v;
		json_t *o = json_object(), *params = NULL;
		imgfmt_disk_volume(disk, i, &v);
		json_put(o, "name", json_text(v.name));
		json_put(o, "partno", json_integer(v.partno));
		json_put(o, "offset_bytes", json_count(v.offset));
		json_put(o, "size_bytes", json_count(v.size));
		json_put(o, "container", json_boolean(v.container));
		json_put(o, "type", json_text(v.type));
		json_put(o, "part_uuid", json_text(v.part_uuid));
		json_put(o, "part_name", json_text(v.part_name));
		json_put(o, "lv_vg", json_text(v.partno ? "" : v.lv_vg));
		json_put(o, "lv_name", json_text(v.lv_name));
		json_put(o, "fstype", json_text(v.fstype));
		json_put(o, "fs_uuid", json_text(v.fs_uuid));
		json_put(o, "fs_label", json_text(v.fs_label));
		if (!strcmp(v.fstype, "ext2") || !strcmp(v.fstype, "ext3") || !strcmp(v.fstype, "ext4"))
			params = ext_params(disk, i);
		else if (!strcmp(v.fstype, "ntfs"))
			params = ntfs_params(disk, i);
		else if (!strcmp(v.fstype, "vfat"))
			params = vfat_params(disk, i);
		else if (!strcmp(v.fstype, "xfs"))
			params = xfs_params(disk, i);
		json_put(o, "params", params ? params : json_null());
		json_array_append_new(v.partno ? parts : vols, o);
	}
	json_put(obj, "partitions", parts);
	json_put(obj, "volumes", vols); /* the whole disk, or LVM logical volumes */
	return describe_boot(s, disk, obj);
}

void shape_free(struct shape *s)
{
	json_decref(s->json);
	free(s->boot);
	memset(s, 0, sizeof(*s));
}

int64_t shape_store(struct db *db, const struct shape *s)
{
	char *text = json_dumps(s->json, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char sha[32];
	unsigned len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct db_stmt *st = NULL;
	int64_t id = -1;

	if (!text || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(md, text, strlen(text) + 1) || !EVP_DigestUpdate(md, s->boot ? s->boot : (void *)"", s->boot_len) ||
	    !EVP_DigestFinal_ex(md, sha, &len)) {
		cli_error("catalog", "out of memory");
		goto out;
	}
	st = catalog_prepare(db, "INSERT INTO shapes(sha256, json, boot) VALUES(?1, ?2, ?3) ON CONFLICT(sha256) DO NOTHING");
	if (!st)
		goto out;
	db_bind_blob(st, 1, sha, 32);
	db_bind_text(st, 2, text, -1);
	db_bind_blob(st, 3, s->boot ? s->boot : (void *)"", (int)s->boot_len);
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = catalog_prepare(db, "SELECT id FROM shapes WHERE sha256 = ?");
	if (st && (db_bind_blob(st, 1, sha, 32), db_step(st) == DB_ROW))
		id = db_column_int64(st, 0);
out:
	db_finalize(st);
	EVP_MD_CTX_free(md);
	free(text);
	return id;
}

int shape_load(struct db *db, int64_t gen_id, struct shape *s)
{
	struct db_stmt *st;
	json_error_t jerr = { 0 };
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!catalog_has_column(db, "generations", "shape_id"))
		return 0;
	st = catalog_prepare(db, "SELECT s.json, s.boot FROM generations g JOIN shapes s ON s.id = g.shape_id WHERE g.id = ?");
	if (!st)
		return -1;
	db_bind_int64(st, 1, gen_id);
	if (db_step(st) == DB_ROW) {
		const char *text = db_column_text(st, 0);
		size_t n = (size_t)db_column_bytes(st, 1);
		s->json = text ? json_loads(text, 0, &jerr) : NULL;
		s->boot = malloc(n + 1);
		if (!s->json || !json_is_object(s->json) || !s->boot) {
			cli_error("catalog", "the generation's disk shape is damaged%s%s", s->json ? "" : ": ",
				  s->json ? "" : jerr.text);
			shape_free(s);
			rc = -1;
		} else {
			if (n)
				memcpy(s->boot, db_column_blob(st, 1), n);
			s->boot_len = n;
			rc = 1;
		}
	}
	db_finalize(st);
	return rc;
}
