/* vfat.c --- references kept on a FAT volume (the EFI system partition)
 *
 * On UEFI guests the boot loader's first stage lives on the ESP: GRUB's
 * EFI/<distro>/grub.cfg finds /boot by filesystem UUID, systemd-boot's
 * loader entries name the root.  FAT is read and written with
 * mtools (mtype, mcopy) at the volume's offset in the disk image.
 */
#include "clone.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define VFAT_FILE_MAX (4u << 20)

/* mtools without its geometry checks (an image file is no floppy); its
 * messages on stderr stay out of the file contents. */
static int run_mtools(char *const argv[], char **out, size_t *len)
{
	int st;

	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	st = run_program(argv, out, false);
	if (out && len)
		*len = *out ? strlen(*out) : 0;
	return st;
}

/* The files of DIR on the volume whose names end in SUFFIX ("" for any),
 * as "::/DIR/NAME" lines appended to LIST. */
static void list_files(const char *image, const char *dir, const char *suffix, char ***list, size_t *n)
{
	char *argv[] = { "mdir", "-b", "-i", (char *)image, (char *)dir, NULL };
	char *out = NULL, *line, *save = NULL;
	size_t len;

	if (run_mtools(argv, &out, &len) != 0 || !out) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line), sl = strlen(suffix);
		char **grown;
		if (l < sl || strcmp(line + l - sl, suffix) || line[l - 1] == '/' || strncmp(line, "::/", 3))
			continue;
		if (!(grown = realloc(*list, (*n + 1) * sizeof(*grown))))
			break;
		*list = grown;
		if (((*list)[*n] = strdup(line)))
			(*n)++;
	}
	free(out);
}

static int write_back(const char *image, const char *file, const char *data, size_t len, char *err, size_t errlen)
{
	char tmp[256];
	int fd, rc;

	run_temp_template(tmp, sizeof(tmp), "rawkit-vfat", "/tmp");
	fd = mkstemp(tmp);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0) {
		snprintf(err, errlen, "%s: cannot stage the new file: %s", file, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return -1;
	}
	char *argv[] = { "mcopy", "-o", "-i", (char *)image, tmp, (char *)file, NULL };
	rc = run_mtools(argv, NULL, NULL);
	unlink(tmp);
	if (rc != 0) {
		snprintf(err, errlen, "%s: mcopy failed (status %d)", file, rc);
		return -1;
	}
	return 0;
}

int vfat_rewrite_refs(const char *path, const struct imgfmt_volume *v, const struct id_plan *ids, bool dry,
		      struct report *rep, char *err, size_t errlen)
{
	char image[4200], **files = NULL, **dirs = NULL;
	size_t nfiles = 0, ndirs = 0;
	int rc = 0;

	if (!ids_any(ids))
		return 0;
	snprintf(image, sizeof(image), "%s@@%llu", path, (unsigned long long)v->offset);
	{
		char *argv[] = { "mdir", "-b", "-i", image, "::/", NULL };
		int st = run_mtools(argv, NULL, NULL);
		if (st < 0) {
			report_not_done(rep, "%s: vfat: mtools is not installed: references in EFI/*/grub.cfg not checked",
					v->name);
			return 0;
		}
		if (st != 0) {
			report_not_done(rep, "%s: vfat: mtools cannot read it: references on it not checked", v->name);
			return 0;
		}
	}
	/* EFI/<distro>/grub.cfg, and the loader files that may sit on an ESP */
	{
		char *argv[] = { "mdir", "-b", "-i", image, "::/EFI", NULL };
		char *out = NULL, *line, *save = NULL;
		size_t len;
		if (run_mtools(argv, &out, &len) == 0 && out)
			for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
				size_t l = strlen(line);
				char **grown;
				if (l < 2 || line[l - 1] != '/' || !(grown = realloc(dirs, (ndirs + 1) * sizeof(*grown))))
					continue;
				dirs = grown;
				line[l - 1] = '\0';
				if ((dirs[ndirs] = strdup(line)))
					ndirs++;
			}
		free(out);
	}
	for (size_t i = 0; i < ndirs; i++)
		list_files(image, dirs[i], "grub.cfg", &files, &nfiles);
	list_files(image, "::/grub", "grub.cfg", &files, &nfiles);
	list_files(image, "::/boot/grub", "grub.cfg", &files, &nfiles);
	list_files(image, "::/loader/entries", ".conf", &files, &nfiles);
	for (size_t i = 0; i < nfiles && rc == 0; i++) {
		char *argv[] = { "mtype", "-i", image, files[i], NULL };
		char *data = NULL, *edited = NULL;
		size_t len = 0, newlen = 0;
		if (run_mtools(argv, &data, &len) == 0 && data && len < VFAT_FILE_MAX &&
		    (edited = refs_edit(data, len, &newlen, ids))) {
			if (!dry)
				rc = write_back(image, files[i], edited, newlen, err, errlen);
			if (rc == 0)
				report_change(rep, OP_FS_UUIDS, "%s: %s", v->name, files[i] + 2);
		}
		free(edited);
		free(data);
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(files);
	free(dirs);
	return rc;
}
