/* mount.c --- a guest filesystem mounted by the kernel (loop device, mount)
 *
 * For the filesystems libimgfmt cannot write (XFS: no userspace writer
 * exists), edits go through the kernel's own driver on the copy being
 * edited, never on the golden disk.  The mount point is a fresh mkdtemp()
 * directory; callers only ever get an O_PATH fd of its root (see
 * guestroot.c).  The loop device is auto-cleared: it goes when the
 * filesystem is unmounted, or when this process dies before mounting.
 */
#include "mount.h"
#include "volfile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define LOOP_TRIES 16        /* free loop devices taken by someone else first */
#define BUSY_WAIT_MS 10000   /* umount while the kernel still holds the fs; loop release */

struct guest_mount {
	char dir[256];   /* the mount point, "" once removed */
	char dev[32];    /* /dev/loopN */
	int loop;        /* held open until the unmount; -1 after */
	int root;        /* O_PATH of the mounted root */
	bool mounted;
	struct volfile *vf;
};

/* Mount points for guest_mount_abort_all(): fixed slots, no allocation. */
#define REGISTRY_SLOTS 16
static char registry[REGISTRY_SLOTS][256];
static volatile sig_atomic_t registry_used[REGISTRY_SLOTS];

void guest_mount_register(const char *dir)
{
	for (int i = 0; i < REGISTRY_SLOTS; i++)
		if (!registry_used[i]) {
			snprintf(registry[i], sizeof(registry[i]), "%s", dir);
			registry_used[i] = 1;
			return;
		}
}

void guest_mount_unregister(const char *dir)
{
	for (int i = 0; i < REGISTRY_SLOTS; i++)
		if (registry_used[i] && !strcmp(registry[i], dir))
			registry_used[i] = 0;
}

void guest_mount_abort_all(void)
{
	/* the newest first: an XFS mount before the FUSE mount under it */
	for (int i = REGISTRY_SLOTS - 1; i >= 0; i--)
		if (registry_used[i])
			umount2(registry[i], MNT_DETACH | UMOUNT_NOFOLLOW);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int make_dir(struct guest_mount *m, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || tmp[0] != '/' || strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(m->dir, sizeof(m->dir), "%s/rawkit-mount.XXXXXX", tmp);
	if (!mkdtemp(m->dir)) {
		int rc = -errno;
		snprintf(err, errlen, "cannot make a mount point in %s: %s", tmp, strerror(errno));
		m->dir[0] = '\0';
		return rc;
	}
	return 0;
}

/* /dev/loopN, made when devtmpfs has not (a container's /dev). */
static int open_loop(int n, char *dev, size_t devlen)
{
	int fd;

	snprintf(dev, devlen, "/dev/loop%d", n);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mknod(dev, S_IFBLK | 0660, makedev(7, (unsigned)n)) == 0)
		fd = open(dev, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int configure(int loop, int backing, uint64_t offset, uint64_t size, const char *file)
{
	struct loop_config cfg = { .fd = (uint32_t)backing };

	cfg.info.lo_offset = offset;
	cfg.info.lo_sizelimit = size;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", file);
	if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	/* before Linux 5.8: attach, then set the range */
	if (ioctl(loop, LOOP_SET_FD, backing) < 0)
		return -errno;
	if (ioctl(loop, LOOP_SET_STATUS64, &cfg.info) < 0) {
		int rc = -errno;
		ioctl(loop, LOOP_CLR_FD, 0);
		return rc;
	}
	return 0;
}

static int loop_attach(struct guest_mount *m, const char *file, uint64_t offset, uint64_t size, char *err,
		       size_t errlen)
{
	int backing = open(file, O_RDWR | O_CLOEXEC), ctl = -1, rc = 0;

	if (backing < 0 || (ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", backing < 0 ? file : "/dev/loop-control", strerror(errno));
		goto out;
	}
	for (int tries = 0; tries < LOOP_TRIES; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = -errno;
			break;
		}
		if ((m->loop = open_loop(n, m->dev, sizeof(m->dev))) < 0) {
			rc = m->loop;
			break;
		}
		if ((rc = configure(m->loop, backing, offset, size, file)) == 0)
			break;
		close(m->loop);
		m->loop = -1;
		if (rc != -EBUSY)
			break;
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot set up a loop device over %s: %s", file, strerror(-rc));
out:
	if (ctl >= 0)
		close(ctl);
	if (backing >= 0)
		close(backing);
	return rc;
}

static int mount_it(struct guest_mount *m, const char *fstype, char *err, size_t errlen)
{
	const char *opts = !strcmp(fstype, "xfs") ? "nouuid" : NULL;
	int rc;

	if (mount(m->dev, m->dir, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, opts) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot mount %s (%s): %s", m->dev, fstype, strerror(errno));
		return rc;
	}
	m->mounted = true;
	guest_mount_register(m->dir);
	if ((m->root = open(m->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", m->dir, strerror(errno));
		return rc;
	}
	return 0;
}

static struct guest_mount *new_mount(void)
{
	struct guest_mount *m = calloc(1, sizeof(*m));

	if (m)
		m->loop = m->root = -1;
	return m;
}

/* Mount FILE's range on a fresh directory (M is closed on failure). */
static int mount_range(struct guest_mount *m, const char *file, uint64_t offset, uint64_t size, const char *fstype,
		       char *err, size_t errlen)
{
	char ignored[256];
	int rc = make_dir(m, err, errlen);

	if (rc == 0)
		rc = loop_attach(m, file, offset, size, err, errlen);
	if (rc == 0)
		rc = mount_it(m, fstype, err, errlen);
	if (rc < 0)
		guest_mount_close(m, ignored, sizeof(ignored));
	return rc;
}

int guest_mount_range(struct guest_mount **out, const char *file, uint64_t offset, uint64_t size,
		      const char *fstype, char *err, size_t errlen)
{
	struct guest_mount *m = new_mount();
	int rc;

	*out = NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = mount_range(m, file, offset, size, fstype, err, errlen)) == 0)
		*out = m;
	return rc;
}

int guest_mount_volume(struct guest_mount **out, imgfmt_disk *disk, size_t index, const char *fstype, char *err,
		       size_t errlen)
{
	struct guest_mount *m = new_mount();
	const char *file;
	int rc;

	*out = NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = volfile_start(&m->vf, disk, index, &file, err, errlen)) < 0) {
		free(m);
		return rc;
	}
	if ((rc = mount_range(m, file, 0, 0, fstype, err, errlen)) == 0)
		*out = m;
	return rc;
}

int guest_mount_root(const struct guest_mount *m)
{
	return m->root;
}

/* The loop device has let go of its file (auto-clear after the last
 * close): needed before its FUSE server stops. */
static int wait_loop_gone(const char *dev)
{
	for (unsigned waited = 0; waited < BUSY_WAIT_MS; waited += 20) {
		struct loop_info64 info;
		int fd = open(dev, O_RDONLY | O_CLOEXEC), rc;
		if (fd < 0)
			return 0;
		rc = ioctl(fd, LOOP_GET_STATUS64, &info);
		close(fd);
		if (rc < 0 && errno == ENXIO)
			return 0;
		sleep_ms(20);
	}
	return -EBUSY;
}

static int unmount(struct guest_mount *m, char *err, size_t errlen)
{
	unsigned waited = 0;

	while (umount2(m->dir, UMOUNT_NOFOLLOW) < 0) {
		if (errno != EBUSY || waited >= BUSY_WAIT_MS) {
			int rc = -errno;
			snprintf(err, errlen, "cannot unmount %s: %s", m->dir, strerror(errno));
			return rc;
		}
		sleep_ms(50);
		waited += 50;
	}
	m->mounted = false;
	guest_mount_unregister(m->dir);
	return 0;
}

int guest_mount_close(struct guest_mount *m, char *err, size_t errlen)
{
	int rc = 0, r;

	if (!m)
		return 0;
	err[0] = '\0';
	if (m->root >= 0)
		close(m->root);
	if (m->mounted && (r = unmount(m, err, errlen)) < 0)
		return r; /* still mounted: nothing below may go (M is leaked on purpose) */
	if (m->loop >= 0) {
		close(m->loop);
		if (wait_loop_gone(m->dev) < 0 && !err[0]) {
			rc = -EBUSY;
			snprintf(err, errlen, "%s: the loop device is still in use", m->dev);
		}
	}
	if (m->dir[0] && rmdir(m->dir) < 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot remove: %s", m->dir, strerror(errno));
	}
	if (m->vf) {
		char vferr[256];
		if ((r = volfile_stop(m->vf, vferr, sizeof(vferr))) < 0 && rc == 0) {
			rc = r;
			snprintf(err, errlen, "%s", vferr);
		}
	}
	free(m);
	return rc;
}
