/* rdrun.c --- what restore-disk's makers share: running a tool, a partition
 * as a loop device, filling a new filesystem through a mount, and undoing
 * all of it when a signal comes
 *
 * mkswap, mkfs.xfs and mkntfs take no byte offset: they get the partition
 * alone as a loop device.  A new filesystem is filled by restore.c itself
 * on a mount under a scratch directory named like the volume, so every
 * file comes back as `restore` brings it back.  What is set up at a given
 * moment (one mount, one loop device, one temp file) is kept where a
 * signal handler can undo it without allocating.
 */
#include "rdrun.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char signal_mount[4200], signal_scratch[4096], signal_loop[64], signal_temp[4096];
static volatile sig_atomic_t signal_mounted, signal_looped, signal_temped;

void rd_undo_on_signal(void)
{
	int fd;

	if (signal_mounted) {
		umount2(signal_mount, MNT_DETACH | UMOUNT_NOFOLLOW);
		rmdir(signal_mount);
		rmdir(signal_scratch);
	}
	if (signal_looped && (fd = open(signal_loop, O_RDONLY | O_CLOEXEC)) >= 0) {
		ioctl(fd, LOOP_CLR_FD, 0); /* still held by a FUSE daemon: cleared when it lets go */
		close(fd);
	}
	if (signal_temped)
		unlink(signal_temp);
}

bool rd_on_path(const char *program)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		if (n && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, program) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

const char *rd_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

uint64_t rd_jnum(json_t *o, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(o, key));
	return n > 0 ? (uint64_t)n : 0;
}

int rd_run(char *const argv[], const char *object)
{
	char *out = NULL, line[400];
	int st = run_program(argv, &out, true);
	size_t k = 0;

	if (st != 0) {
		/* "env VAR=VALUE... PROGRAM": the program is what failed */
		if (!strcmp(argv[0], "env"))
			for (k = 1; argv[k] && strchr(argv[k], '=') && argv[k + 1]; k++)
				;
		run_one_line(out, line, sizeof(line));
		cli_error(object, "%s failed (%s %d): %s", argv[k], st < 0 ? "could not run, or killed:" : "status", st, line);
	}
	free(out);
	return st == 0 ? 0 : -1;
}

char *rd_loop_attach(const char *path, uint64_t start, uint64_t size, const char *object)
{
	char off[32], len[32], *dev = NULL, line[256];

	snprintf(off, sizeof(off), "%llu", (unsigned long long)start);
	snprintf(len, sizeof(len), "%llu", (unsigned long long)size);
	char *losetup[] = { "losetup", "-f", "--show", "-o", off, "--sizelimit", len, (char *)path, NULL };
	if (run_program(losetup, &dev, true) != 0 || !dev || strncmp(dev, "/dev/", 5) ||
	    strcspn(dev, "\n") >= sizeof(signal_loop)) {
		run_one_line(dev, line, sizeof(line));
		cli_error(object, "cannot set up a loop device: %s", line);
		free(dev);
		return NULL;
	}
	dev[strcspn(dev, "\n")] = '\0';
	snprintf(signal_loop, sizeof(signal_loop), "%s", dev);
	signal_looped = 1;
	return dev;
}

void rd_loop_detach(char *dev)
{
	char *detach[] = { "losetup", "-d", dev, NULL };

	if (!dev)
		return;
	run_program(detach, NULL, true);
	signal_looped = 0;
	free(dev);
}

int rd_temp_file(char *path, size_t size, const char *object)
{
	int fd;

	run_temp_template(signal_temp, sizeof(signal_temp), "rawkit-restore-disk-lv", "/var/tmp");
	if ((fd = mkstemp(signal_temp)) < 0) {
		cli_error(object, "cannot make a temp file: %s", strerror(errno));
		return -1;
	}
	signal_temped = 1;
	snprintf(path, size, "%s", signal_temp);
	return fd;
}

void rd_temp_remove(void)
{
	if (signal_temped)
		unlink(signal_temp);
	signal_temped = 0;
}

int rd_fill(char *const mount_argv[], const struct rd_fill_opts *f, const char *object, int *status)
{
	char tmpl[4096], mnt[4200], *argv[16];
	const char *paths[1] = { f->volume };
	struct restore_opts ro = { .repo = f->o->repo, .spec = f->spec, .paths = paths, .npaths = 1, .quiet = true,
				   .progress = f->o->progress, .ntfs = f->ntfs, .files_out = f->files,
				   .bytes_out = f->bytes };
	size_t n = 0;
	int rc = -1, st, fd;

	while (mount_argv[n] && n < sizeof(argv) / sizeof(argv[0]) - 2)
		argv[n] = mount_argv[n], n++;
	run_temp_template(tmpl, sizeof(tmpl), "rawkit-restore-disk", "/tmp");
	if (!mkdtemp(tmpl)) {
		cli_error(object, "cannot make a scratch directory: %s", strerror(errno));
		return -1;
	}
	snprintf(mnt, sizeof(mnt), "%s/%s", tmpl, f->volume);
	argv[n++] = mnt;
	argv[n] = NULL;
	if (mkdir(mnt, 0700) < 0) {
		cli_error(object, "cannot make a scratch directory: %s", strerror(errno));
	} else if ((snprintf(signal_mount, sizeof(signal_mount), "%s", mnt),
		    snprintf(signal_scratch, sizeof(signal_scratch), "%s", tmpl), signal_mounted = 1,
		    rd_run(argv, object) == 0)) {
		ro.to = tmpl;
		st = cmd_restore(&ro);
		if (st == RAWKIT_EXIT_WARNINGS)
			*status = RAWKIT_EXIT_WARNINGS;
		rc = st == RAWKIT_EXIT_DONE || st == RAWKIT_EXIT_WARNINGS ? 0 : -1;
		/* this filesystem's writes, not the whole machine's */
		if ((fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			if (syncfs(fd) < 0 && rc == 0) {
				cli_error(object, "cannot flush the new filesystem: %s", strerror(errno));
				rc = -1;
			}
			close(fd);
		}
		/* a FUSE block device (ntfs-3g): the unmount returns once the
		 * daemon has closed the volume */
		if (umount(mnt) < 0) {
			cli_error(object, "cannot unmount %s: %s", mnt, strerror(errno));
			return -1; /* the scratch directory stays with the mount */
		}
	}
	signal_mounted = 0;
	rmdir(mnt);
	rmdir(tmpl);
	return rc;
}
