/* rdvfat.c --- restore-disk's EFI system partition: filled with mtools
 *
 * The files come back through restore.c into a scratch directory, then go
 * into the FAT that make_vfat() made with mcopy -s -m (long names where an
 * 8.3 name cannot hold them, lower-case 8.3 names through the NT case bits;
 * contents; modification times) and their FAT attributes (read-only,
 * hidden, system, archive: kept by the backup as user.fat_attrib) with
 * mattrib.  mtools reaches the filesystem at a byte offset (IMAGE@@OFFSET):
 * no vfat driver, loop device or mount is needed.  It runs with TZ=UTC0
 * (the backup reads FAT times as UTC) and a UTF-8 locale (names are UTF-8).
 */
#include "rdvfat.h"
#include "rdrun.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define MTOOLS_ENV "env", "TZ=UTC0", "LC_ALL=C.UTF-8", "MTOOLS_SKIP_CHECK=1"
#define FAT_RO 0x01
#define FAT_HIDDEN 0x02
#define FAT_SYSTEM 0x04
#define FAT_ARCHIVE 0x20

/* Every entry of DIR into the FAT's root, recursively. */
static int copy_in(const char *image, const char *dir, const char *object)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort), rc = -1;
	const char *head[] = { MTOOLS_ENV, "mcopy", "-i", image, "-s", "-m", "-Q", "-D", "o" };
	size_t nhead = sizeof(head) / sizeof(head[0]), a = nhead, end;
	char **argv = n >= 0 ? calloc(nhead + (size_t)n + 2, sizeof(*argv)) : NULL;

	if (n < 0) {
		cli_error(object, "cannot read the scratch directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!argv) {
		cli_error(object, "out of memory");
		goto out;
	}
	memcpy(argv, head, sizeof(head));
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i]->d_name, ".") || !strcmp(names[i]->d_name, ".."))
			continue;
		if (asprintf(&argv[a++], "%s/%s", dir, names[i]->d_name) < 0) {
			argv[--a] = NULL;
			cli_error(object, "out of memory");
			goto out;
		}
	}
	argv[a] = "::/";
	rc = a == nhead ? 0 : rd_run(argv, object); /* an empty ESP: nothing to copy */
out:
	end = a;
	for (size_t i = nhead; argv && i < end; i++)
		free(argv[i]);
	free(argv);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The files whose backup kept FAT attributes (nftw() takes no argument). */
static struct fat_attr {
	char *rel;
	unsigned attr;
} *attrs;
static size_t nattrs, capattrs, root_len;

static int attr_collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	unsigned char v[4];
	(void)sb, (void)type;

	if (ftw->level == 0 || lgetxattr(path, "user.fat_attrib", v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	if (nattrs == capattrs) {
		size_t cap = capattrs ? 2 * capattrs : 16;
		struct fat_attr *grown = realloc(attrs, cap * sizeof(*grown));
		if (!grown)
			return -1;
		attrs = grown;
		capattrs = cap;
	}
	if (!(attrs[nattrs].rel = strdup(path + root_len)))
		return -1;
	attrs[nattrs++].attr = v[0];
	return 0;
}

/* The kept attributes of the files under DIR put back with mattrib. */
static int put_attributes(const char *image, const char *dir, const char *object, int *status)
{
	int rc = 0;

	root_len = strlen(dir);
	nattrs = 0;
	if (nftw(dir, attr_collect, 64, FTW_PHYS) != 0) {
		cli_error(object, "cannot read the FAT attributes in %s: %s", dir, errno ? strerror(errno) : "out of memory");
		rc = -1;
	}
	for (size_t i = 0; i < nattrs && rc == 0; i++) {
		unsigned f = attrs[i].attr;
		char where[4200];
		snprintf(where, sizeof(where), "::%s", attrs[i].rel);
		char *argv[] = { MTOOLS_ENV, "mattrib", "-i", (char *)image, f & FAT_RO ? "+r" : "-r",
				 f & FAT_HIDDEN ? "+h" : "-h", f & FAT_SYSTEM ? "+s" : "-s",
				 f & FAT_ARCHIVE ? "+a" : "-a", where, NULL };
		if (rd_run(argv, object) < 0)
			*status = RAWKIT_EXIT_WARNINGS; /* said; the files are there */
	}
	for (size_t i = 0; i < nattrs; i++)
		free(attrs[i].rel);
	free(attrs);
	attrs = NULL;
	nattrs = capattrs = 0;
	return rc;
}

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)type, (void)ftw;
	remove(path);
	return 0;
}

int rdvfat_fill(const char *path, const char *name, uint64_t start, const char *spec,
		const struct restore_disk_opts *o, const char *object, uint64_t *files, uint64_t *bytes, int *status)
{
	char tmpl[4096], dir[4400], image[4200];
	const char *paths[1] = { name };
	struct restore_opts ro = { .repo = o->repo, .spec = spec, .paths = paths, .npaths = 1, .quiet = true,
				   .progress = o->progress, .files_out = files, .bytes_out = bytes };
	int rc = -1, st;

	run_temp_template(tmpl, sizeof(tmpl), "rawkit-restore-disk", "/tmp");
	if (!mkdtemp(tmpl)) {
		cli_error(object, "cannot make a scratch directory: %s", strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", tmpl, name);
	snprintf(image, sizeof(image), "%s@@%llu", path, (unsigned long long)start);
	ro.to = tmpl;
	st = cmd_restore(&ro);
	if (st == RAWKIT_EXIT_WARNINGS)
		*status = RAWKIT_EXIT_WARNINGS;
	if ((st == RAWKIT_EXIT_DONE || st == RAWKIT_EXIT_WARNINGS) && copy_in(image, dir, object) == 0 &&
	    put_attributes(image, dir, object, status) == 0)
		rc = 0;
	nftw(tmpl, remove_one, 64, FTW_DEPTH | FTW_PHYS);
	return rc;
}
