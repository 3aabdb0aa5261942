/* imgfmt-tool.c --- drive libimgfmt from test scripts and benchmarks
 *
 *   imgfmt-tool copy SRC DST [--volume NAME] [--overwrite] [--no-reflink] [--checksum] [--verify]
 *   imgfmt-tool verify SRC DST [--volume NAME]   compare DST's copied ranges with SRC
 *   imgfmt-tool used DISK [VOLUME]          used ranges, then "total N"
 *   imgfmt-tool ls|stat|cat|readlink|xattrs|streams|runs|physruns DISK VOLUME PATH [STREAM]
 *   imgfmt-tool extract DISK VOLUME DIR      files, directories and symlinks into DIR
 *   imgfmt-tool scan DISK VOLUME             one line per file in use (imgfmt_fs_scan)
 *   imgfmt-tool fsinfo DISK VOLUME           type, sizes, dirty, consistency and its note
 *   imgfmt-tool set-uuid DISK VOLUME UUID    imgfmt_fs_set_uuid on a writable open
 *   imgfmt-tool write DISK VOLUME PATH FILE [--read-only]
 *                                            imgfmt_fs_write_file (NULL newfile) with FILE's
 *                                            bytes, committed and synced; --read-only: the
 *                                            filesystem opened without IMGFMT_FS_WRITE
 *   imgfmt-tool lvm-set-ids DISK VG [NEWNAME]   imgfmt_disk_lvm_set_ids (read-only open with --read-only)
 *   imgfmt-tool lvm-resize-pv DISK VOLUME    imgfmt_disk_lvm_resize_pv
 *
 * Not installed: results are checked against independent tools by tests/.
 */
#include "cli.h"
#include "imgfmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_disk(const char *path, imgfmt_disk **out)
{
	*out = imgfmt_disk_new();
	if (imgfmt_disk_open(*out, path, 0) < 0) {
		cli_error(path, "%s", imgfmt_disk_error(*out));
		imgfmt_disk_free(*out);
		return -1;
	}
	return 0;
}

static int volume_index(imgfmt_disk *disk, const char *name)
{
	int i = imgfmt_disk_find_volume(disk, name);

	if (i < 0)
		cli_error(imgfmt_disk_path(disk), "%s: no such volume", name);
	return i;
}

static int cmd_copy(int argc, char **argv)
{
	const char *src = NULL, *dst = NULL, *volname = NULL;
	unsigned flags = 0;
	int checksum = 0, verify = 0, only_verify = 0, vol = -1, rc;
	imgfmt_disk *disk;
	imgfmt_copy *copy;
	struct imgfmt_copy_stats st;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--volume") && i + 1 < argc)
			volname = argv[++i];
		else if (!strcmp(argv[i], "--overwrite"))
			flags |= IMGFMT_TARGET_OVERWRITE;
		else if (!strcmp(argv[i], "--no-reflink"))
			flags |= IMGFMT_TARGET_NO_REFLINK;
		else if (!strcmp(argv[i], "--checksum"))
			checksum = 1;
		else if (!strcmp(argv[i], "--verify"))
			checksum = verify = 1;
		else if (!strcmp(argv[i], "--verify-only"))
			only_verify = 1;
		else if (!src)
			src = argv[i];
		else if (!dst)
			dst = argv[i];
		else
			return cli_usage_error("copy: too many arguments");
	}
	if (!src || !dst)
		return cli_usage_error("copy: SRC and DST needed");
	if (open_disk(src, &disk) < 0)
		return RAWKIT_EXIT_FAILED;
	if (volname && (vol = volume_index(disk, volname)) < 0) {
		imgfmt_disk_free(disk);
		return RAWKIT_EXIT_FAILED;
	}
	copy = imgfmt_copy_new();
	rc = imgfmt_copy_set_source(copy, disk, vol);
	if (!rc)
		rc = imgfmt_copy_set_target(copy, dst, flags);
	imgfmt_copy_set_checksum(copy, checksum);
	if (!rc && only_verify) {
		rc = imgfmt_copy_verify(copy, dst);
		if (rc < 0)
			cli_error(dst, "%s", imgfmt_copy_error(copy));
		imgfmt_copy_free(copy);
		imgfmt_disk_free(disk);
		return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
	}
	if (!rc)
		rc = imgfmt_copy_run(copy);
	if (!rc && verify)
		rc = imgfmt_copy_verify(copy, dst);
	if (rc < 0) {
		cli_error(dst, "%s", imgfmt_copy_error(copy));
	} else {
		imgfmt_copy_get_stats(copy, &st);
		printf("method %s\nsource_bytes %llu\nused_bytes %llu\nread_bytes %llu\nwritten_bytes %llu\n"
		       "cloned_bytes %llu\nzero_bytes %llu\nseconds %.3f\n",
		       st.method, (unsigned long long)st.source_bytes, (unsigned long long)st.used_bytes,
		       (unsigned long long)st.read_bytes, (unsigned long long)st.written_bytes,
		       (unsigned long long)st.cloned_bytes, (unsigned long long)st.zero_bytes, st.seconds);
		if (checksum)
			printf("sha256 %s\n", imgfmt_copy_checksum(copy));
	}
	imgfmt_copy_free(copy);
	imgfmt_disk_free(disk);
	return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}

static int cmd_used(int argc, char **argv)
{
	imgfmt_disk *disk;
	imgfmt_extents *ext;
	int vol = -1, rc = RAWKIT_EXIT_FAILED;

	if (argc < 1 || argc > 2)
		return cli_usage_error("used: DISK [VOLUME]");
	if (open_disk(argv[0], &disk) < 0)
		return RAWKIT_EXIT_FAILED;
	if (argc == 2 && (vol = volume_index(disk, argv[1])) < 0)
		goto out;
	if (imgfmt_disk_used(disk, vol, &ext) < 0) {
		cli_error(argv[0], "%s", imgfmt_disk_error(disk));
		goto out;
	}
	for (size_t i = 0; i < imgfmt_extents_count(ext); i++) {
		uint64_t off, len;
		imgfmt_extents_get(ext, i, &off, &len);
		printf("%llu %llu\n", (unsigned long long)off, (unsigned long long)len);
	}
	printf("total %llu\n", (unsigned long long)imgfmt_extents_bytes(ext));
	for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++)
		if (imgfmt_disk_used_note(disk, i)[0])
			printf("note %zu %s\n", i, imgfmt_disk_used_note(disk, i));
	imgfmt_extents_free(ext);
	rc = RAWKIT_EXIT_DONE;
out:
	imgfmt_disk_free(disk);
	return rc;
}

static int print_dirent(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	(void)arg;
	printf("%.*s\t%llu\t%u\n", (int)len, name, (unsigned long long)ino, type);
	return 0;
}

static int print_xattr(const char *name, const void *value, size_t size, void *arg)
{
	(void)arg;
	printf("%s=", name);
	for (size_t i = 0; i < size; i++)
		printf("%02x", ((const unsigned char *)value)[i]);
	putchar('\n');
	return 0;
}

static int print_stream(const char *name, uint64_t size, void *arg)
{
	(void)arg;
	printf("%s\t%llu\n", name, (unsigned long long)size);
	return 0;
}

static int print_run(uint64_t logical, uint64_t length, uint64_t physical, void *arg)
{
	if (arg && physical != IMGFMT_NO_PHYSICAL) /* "physruns" */
		printf("%llu %llu %llu\n", (unsigned long long)logical, (unsigned long long)length,
		       (unsigned long long)physical);
	else
		printf("%llu %llu%s\n", (unsigned long long)logical, (unsigned long long)length,
		       arg ? " inode" : "");
	return 0;
}

static int cat_file(imgfmt_fs *fs, uint64_t ino, const char *stream, FILE *out)
{
	static char buf[1 << 20];
	uint64_t off = 0;
	ssize_t n;

	while ((n = imgfmt_fs_pread(fs, ino, stream, buf, sizeof(buf), off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			return -EIO;
		off += (uint64_t)n;
	}
	return n < 0 ? (int)n : 0;
}

/* extract: a plain recursive copy of names, contents and link targets. */
struct extract_ctx {
	imgfmt_fs *fs;
	char path[4096];
	int rc;
	unsigned depth;
};

static int extract_entry(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct extract_ctx *x = arg;
	size_t base = strlen(x->path);
	struct imgfmt_stat st;
	char target[4096];
	FILE *f;

	if (base + len + 2 > sizeof(x->path) || memchr(name, '/', len))
		return 0;
	snprintf(x->path + base, sizeof(x->path) - base, "/%.*s", (int)len, name);
	if (imgfmt_fs_stat(x->fs, ino, &st) < 0) {
		x->rc = -1;
	} else if (S_ISDIR(st.mode)) {
		if (x->depth < 64 && mkdir(x->path, 0755) == 0) {
			x->depth++;
			if (imgfmt_fs_readdir(x->fs, ino, extract_entry, x) < 0)
				x->rc = -1;
			x->depth--;
		}
	} else if (S_ISREG(st.mode)) {
		f = fopen(x->path, "wbx");
		if (!f || cat_file(x->fs, ino, NULL, f) < 0)
			x->rc = -1;
		if (f)
			fclose(f);
	} else if (S_ISLNK(st.mode)) {
		if (imgfmt_fs_readlink(x->fs, ino, target, sizeof(target)) < 0 || symlink(target, x->path) < 0)
			x->rc = -1;
	}
	if (x->rc < 0 && !x->path[0])
		x->rc = -1;
	x->path[base] = '\0';
	(void)type;
	return 0;
}

static int cmd_fs(const char *cmd, int argc, char **argv)
{
	imgfmt_disk *disk;
	imgfmt_fs *fs = NULL;
	uint64_t ino;
	int vol, rc = -1;
	char buf[4096];
	struct imgfmt_stat st;

	if (argc < 3)
		return cli_usage_error("%s: DISK VOLUME PATH", cmd);
	if (open_disk(argv[0], &disk) < 0)
		return RAWKIT_EXIT_FAILED;
	if ((vol = volume_index(disk, argv[1])) < 0)
		goto out;
	if (!(fs = imgfmt_fs_new()) || imgfmt_fs_open(fs, disk, (size_t)vol, 0) < 0) {
		cli_error(argv[0], "%s", fs ? imgfmt_fs_error(fs) : strerror(ENOMEM));
		imgfmt_fs_free(fs);
		fs = NULL;
		goto out;
	}
	if (!strcmp(cmd, "extract")) {
		struct extract_ctx x = { .fs = fs };
		snprintf(x.path, sizeof(x.path), "%s", argv[2]);
		if (mkdir(x.path, 0755) < 0) {
			cli_error(x.path, "cannot create: %s", strerror(errno));
			goto out;
		}
		rc = imgfmt_fs_readdir(fs, imgfmt_fs_root(fs), extract_entry, &x);
		rc = rc < 0 ? rc : x.rc;
		goto out;
	}
	if (imgfmt_fs_lookup(fs, argv[2], &ino) < 0)
		goto out;
	if (!strcmp(cmd, "ls")) {
		rc = imgfmt_fs_readdir(fs, ino, print_dirent, NULL);
	} else if (!strcmp(cmd, "stat")) {
		rc = imgfmt_fs_stat(fs, ino, &st);
		if (rc == 0)
			printf("ino %llu\ngeneration %u\nmode %o\nuid %u\ngid %u\nnlink %u\nsize %llu\nallocated %llu\n"
			       "atime %lld.%09ld\nmtime %lld.%09ld\nctime %lld.%09ld\nbtime %lld.%09ld\nrdev %u:%u\nflags %x\n",
			       (unsigned long long)st.ino, st.generation, st.mode, st.uid, st.gid, st.nlink,
			       (unsigned long long)st.size, (unsigned long long)st.allocated, (long long)st.atime.tv_sec,
			       st.atime.tv_nsec, (long long)st.mtime.tv_sec, st.mtime.tv_nsec, (long long)st.ctime.tv_sec,
			       st.ctime.tv_nsec, (long long)st.btime.tv_sec, st.btime.tv_nsec, st.rdev_major, st.rdev_minor,
			       st.flags);
	} else if (!strcmp(cmd, "cat")) {
		rc = cat_file(fs, ino, argc > 3 ? argv[3] : NULL, stdout);
	} else if (!strcmp(cmd, "readlink")) {
		rc = (int)imgfmt_fs_readlink(fs, ino, buf, sizeof(buf));
		if (rc >= 0)
			puts(buf);
	} else if (!strcmp(cmd, "xattrs")) {
		rc = imgfmt_fs_xattrs(fs, ino, print_xattr, NULL);
	} else if (!strcmp(cmd, "streams")) {
		rc = imgfmt_fs_streams(fs, ino, print_stream, NULL);
	} else if (!strcmp(cmd, "runs") || !strcmp(cmd, "physruns")) {
		rc = imgfmt_fs_data_runs(fs, ino, print_run, cmd[0] == 'p' ? (void *)cmd : NULL);
	}
out:
	if (rc < 0 && fs)
		cli_error(argv[0], "%s: %s", argv[2], imgfmt_fs_error(fs));
	imgfmt_fs_free(fs);
	imgfmt_disk_free(disk);
	return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}

static int print_scanned(const struct imgfmt_stat *st, void *arg)
{
	(void)arg;
	printf("%llu %o %u %u %u %llu %lld.%09ld %lld.%09ld %lld.%09ld %u:%u %x\n", (unsigned long long)st->ino, st->mode,
	       st->uid, st->gid, st->nlink, (unsigned long long)st->size, (long long)st->mtime.tv_sec, st->mtime.tv_nsec,
	       (long long)st->atime.tv_sec, st->atime.tv_nsec, (long long)st->ctime.tv_sec, st->ctime.tv_nsec,
	       st->rdev_major, st->rdev_minor, st->flags);
	return 0;
}

/* scan, fsinfo, set-uuid: a whole volume. */
static int cmd_vol(const char *cmd, int argc, char **argv)
{
	bool set = !strcmp(cmd, "set-uuid");
	imgfmt_disk *disk = imgfmt_disk_new();
	imgfmt_fs *fs = imgfmt_fs_new();
	struct imgfmt_consistency_info c;
	uint64_t total, free_bytes;
	unsigned bs;
	int vol, rc = -1;

	if (argc != (set ? 3 : 2)) {
		imgfmt_disk_free(disk);
		imgfmt_fs_free(fs);
		return cli_usage_error("%s: DISK VOLUME%s", cmd, set ? " UUID" : "");
	}
	if (imgfmt_disk_open(disk, argv[0], set ? IMGFMT_OPEN_WRITE : 0) < 0) {
		cli_error(argv[0], "%s", imgfmt_disk_error(disk));
		goto out;
	}
	if ((vol = volume_index(disk, argv[1])) < 0)
		goto out;
	if (imgfmt_fs_open(fs, disk, (size_t)vol, set ? IMGFMT_FS_WRITE : 0) < 0)
		goto fail;
	if (!strcmp(cmd, "scan")) {
		rc = imgfmt_fs_scan(fs, print_scanned, NULL);
	} else if (set) {
		rc = imgfmt_fs_set_uuid(fs, argv[2]);
		if (rc == 0)
			rc = imgfmt_fs_commit(fs);
		if (rc == 0 && imgfmt_disk_sync(disk) < 0) {
			cli_error(argv[0], "%s", imgfmt_disk_error(disk));
			goto out;
		}
	} else {
		imgfmt_fs_sizes(fs, &bs, &total, &free_bytes);
		imgfmt_fs_consistency(fs, &c);
		printf("type %s\nblock_size %u\ntotal %llu\nfree %llu\nfiles %llu\nroot %llu\ndirty %d\n"
		       "consistency %s\nnote %s\n",
		       imgfmt_fs_type(fs), bs, (unsigned long long)total, (unsigned long long)free_bytes,
		       (unsigned long long)imgfmt_fs_files(fs), (unsigned long long)imgfmt_fs_root(fs), imgfmt_fs_dirty(fs),
		       imgfmt_consistency_name(c.state), c.note);
		rc = 0;
	}
fail:
	if (rc < 0)
		cli_error(argv[0], "%s", imgfmt_fs_error(fs));
out:
	imgfmt_fs_free(fs);
	imgfmt_disk_free(disk);
	return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}

/* lvm-set-ids, lvm-resize-pv: LVM2 metadata written on a writable open, then synced. */
static int cmd_lvm(const char *cmd, int argc, char **argv)
{
	bool set = !strcmp(cmd, "lvm-set-ids"), read_only = argc > 0 && !strcmp(argv[argc - 1], "--read-only");
	imgfmt_disk *disk;
	int vol, rc = -1;

	argc -= read_only;
	if (set ? argc < 2 || argc > 3 : argc != 2)
		return cli_usage_error("%s: DISK %s", cmd, set ? "VG [NEWNAME] [--read-only]" : "VOLUME");
	disk = imgfmt_disk_new();
	if (imgfmt_disk_open(disk, argv[0], read_only ? 0 : IMGFMT_OPEN_WRITE) < 0)
		goto out;
	if (set) {
		rc = imgfmt_disk_lvm_set_ids(disk, argv[1], argc == 3 ? argv[2] : NULL);
	} else {
		if ((vol = volume_index(disk, argv[1])) < 0) {
			imgfmt_disk_free(disk);
			return RAWKIT_EXIT_FAILED;
		}
		rc = imgfmt_disk_lvm_resize_pv(disk, (size_t)vol);
	}
	if (rc == 0)
		rc = imgfmt_disk_sync(disk);
out:
	if (rc < 0)
		cli_error(argv[0], "%s", imgfmt_disk_error(disk));
	imgfmt_disk_free(disk);
	return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}

/* write: one file's contents replaced through imgfmt_fs_write_file(). */
static int cmd_write(int argc, char **argv)
{
	bool read_only = argc == 5 && !strcmp(argv[4], "--read-only");
	imgfmt_disk *disk = NULL;
	imgfmt_fs *fs = NULL;
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int vol, rc = -1;

	if (argc != 4 && !read_only)
		return cli_usage_error("write: DISK VOLUME PATH FILE [--read-only]");
	if (!(f = fopen(argv[3], "rb"))) {
		cli_error(argv[3], "%s", strerror(errno));
		return RAWKIT_EXIT_FAILED;
	}
	for (size_t n; (data = realloc(data, len + 65536)) && (n = fread(data + len, 1, 65536, f)) > 0;)
		len += n;
	fclose(f);
	disk = imgfmt_disk_new();
	fs = imgfmt_fs_new();
	if (!data || !disk || !fs) {
		cli_error(NULL, "out of memory");
		goto out;
	}
	if (imgfmt_disk_open(disk, argv[0], IMGFMT_OPEN_WRITE) < 0) {
		cli_error(argv[0], "%s", imgfmt_disk_error(disk));
		goto out;
	}
	if ((vol = volume_index(disk, argv[1])) < 0)
		goto out;
	rc = imgfmt_fs_open(fs, disk, (size_t)vol, read_only ? 0 : IMGFMT_FS_WRITE);
	if (rc == 0)
		rc = imgfmt_fs_write_file(fs, argv[2], data, len, NULL);
	if (rc == 0)
		rc = imgfmt_fs_commit(fs);
	if (rc < 0)
		cli_error(argv[0], "%s: %s", argv[2], imgfmt_fs_error(fs));
	imgfmt_fs_free(fs);
	fs = NULL;
	if (rc == 0 && (rc = imgfmt_disk_sync(disk)) < 0)
		cli_error(argv[0], "%s", imgfmt_disk_error(disk));
out:
	imgfmt_fs_free(fs);
	imgfmt_disk_free(disk);
	free(data);
	return rc < 0 ? RAWKIT_EXIT_FAILED : RAWKIT_EXIT_DONE;
}

int main(int argc, char **argv)
{
	static const char *const fs_cmds[] = { "ls", "stat", "cat", "readlink", "xattrs", "streams", "runs", "physruns", "extract" };

	cli_set_program("imgfmt-tool");
	if (argc < 2)
		return cli_usage_error("no command");
	if (!strcmp(argv[1], "copy"))
		return cmd_copy(argc - 2, argv + 2);
	if (!strcmp(argv[1], "verify")) {
		argv[1] = "--verify-only";
		return cmd_copy(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "used"))
		return cmd_used(argc - 2, argv + 2);
	if (!strcmp(argv[1], "scan") || !strcmp(argv[1], "fsinfo") || !strcmp(argv[1], "set-uuid"))
		return cmd_vol(argv[1], argc - 2, argv + 2);
	if (!strcmp(argv[1], "lvm-set-ids") || !strcmp(argv[1], "lvm-resize-pv"))
		return cmd_lvm(argv[1], argc - 2, argv + 2);
	if (!strcmp(argv[1], "write"))
		return cmd_write(argc - 2, argv + 2);
	for (size_t i = 0; i < sizeof(fs_cmds) / sizeof(fs_cmds[0]); i++)
		if (!strcmp(argv[1], fs_cmds[i]))
			return cmd_fs(argv[1], argc - 2, argv + 2);
	return cli_usage_error("%s: unknown command", argv[1]);
}
