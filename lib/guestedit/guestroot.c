/* guestroot.c --- file operations under a mounted guest root
 *
 * The mounted tree is the guest's: untrusted.  No string path under the
 * mount point is ever used.  Every path is resolved by openat2() relative
 * to the O_PATH fd of the mount's root with RESOLVE_IN_ROOT (".." stops at
 * the root), RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS (a symlink in
 * any component fails with ELOOP; a final one is only described, never
 * followed) and RESOLVE_NO_XDEV; creations and removals are done by one
 * name relative to the directory fd so resolved.  A symlink in the guest
 * can thus never make an edit land on the host.
 */
#include "guestroot.h"
#include "guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SELINUX_XATTR "security.selinux"
#define LABEL_MAX 1024         /* an SELinux context */
#define SIBLINGS_TRIED 4096    /* entries looked at for a label to copy */
#define TREE_ENTRIES_MAX (1u << 20) /* entries of one directory a removal takes */

static int resolve(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd;
	int tries = 0;

	if (path[0] != '/')
		return -EINVAL;
	do /* EAGAIN: a concurrent rename seen by RESOLVE_IN_ROOT; nothing else edits here */
		fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 16);
	return fd < 0 ? -errno : (int)fd;
}

/* The directory holding PATH (an O_PATH fd) and the last component in
 * NAME; "." , ".." and "" are not names to edit. */
static int parent(int root, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t len;

	if (!slash || path[0] != '/')
		return -EINVAL;
	*name = slash + 1;
	if (!**name || !strcmp(*name, ".") || !strcmp(*name, ".."))
		return -EINVAL;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return resolve(root, dir, O_PATH | O_DIRECTORY);
}

static void to_imgfmt(const struct stat *s, struct imgfmt_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = s->st_ino;
	st->mode = s->st_mode;
	st->uid = s->st_uid;
	st->gid = s->st_gid;
	st->nlink = (uint32_t)s->st_nlink;
	st->size = (uint64_t)s->st_size;
	st->allocated = (uint64_t)s->st_blocks * 512;
	st->atime = s->st_atim;
	st->mtime = s->st_mtim;
	st->ctime = s->st_ctim;
	st->rdev_major = major(s->st_rdev);
	st->rdev_minor = minor(s->st_rdev);
}

static int stat_fd(int fd, struct stat *s)
{
	return fstatat(fd, "", s, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int root_stat(int root, const char *path, struct imgfmt_stat *st)
{
	struct stat s;
	int fd = resolve(root, path, O_PATH), rc;

	if (fd < 0)
		return fd;
	rc = stat_fd(fd, &s);
	close(fd);
	if (rc == 0)
		to_imgfmt(&s, st);
	return rc;
}

/* PATH's type and identity, without opening it for I/O (a FIFO or a device
 * node is never opened). */
static int peek(int root, const char *path, struct stat *s)
{
	int fd = resolve(root, path, O_PATH), rc;

	if (fd < 0)
		return fd;
	rc = stat_fd(fd, s);
	close(fd);
	return rc;
}

/* Open regular file PATH with FLAGS, checked to be the inode PEEK saw. */
static int open_regular(int root, const char *path, int flags, const struct stat *seen)
{
	struct stat s;
	int fd = resolve(root, path, flags | O_NONBLOCK | O_NOCTTY), rc;

	if (fd < 0)
		return fd;
	if ((rc = stat_fd(fd, &s)) == 0 && (!S_ISREG(s.st_mode) || s.st_ino != seen->st_ino || s.st_dev != seen->st_dev))
		rc = -EEXIST;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static bool missing(int rc)
{
	return rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP;
}

int root_read(int root, const char *path, char **data, size_t *len, size_t max)
{
	struct stat s;
	size_t done = 0;
	char *buf;
	int fd, rc;

	*data = NULL;
	*len = 0;
	if ((rc = peek(root, path, &s)) < 0)
		return missing(rc) ? -ENOENT : rc;
	if (!S_ISREG(s.st_mode))
		return -ENOENT;
	if ((uint64_t)s.st_size > max)
		return -EFBIG;
	if ((fd = open_regular(root, path, O_RDONLY, &s)) < 0)
		return fd;
	if (!(buf = malloc((size_t)s.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)s.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)s.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break; /* at an early end: what there is */
		done += (size_t)n;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[done] = '\0';
	*data = buf;
	*len = done;
	return rc;
}

/* The SELinux label of a sibling of the same kind (regular file or
 * directory) in DIR, other than SKIP, given to FD; no label found, none
 * given (as the ext back end does). */
static int label_like_sibling(int dir, const char *skip, int fd, bool want_dir)
{
	char label[LABEL_MAX];
	ssize_t n = -1;
	unsigned tried = 0;
	int dfd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while (n <= 0 && (e = readdir(d)) && tried++ < SIBLINGS_TRIED) {
		struct stat s;
		int f;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, skip))
			continue;
		if (fstatat(dir, e->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0 || (want_dir ? !S_ISDIR(s.st_mode) : !S_ISREG(s.st_mode)))
			continue;
		f = openat(dir, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (want_dir ? O_DIRECTORY : 0));
		if (f < 0)
			continue;
		n = fgetxattr(f, SELINUX_XATTR, label, sizeof(label));
		close(f);
	}
	closedir(d);
	if (n <= 0)
		return 0;
	return fsetxattr(fd, SELINUX_XATTR, label, (size_t)n, 0) < 0 ? -errno : 0;
}

/* Owner and mode of a new file or directory FD, then its label. */
static int set_new(int dir, const char *name, int fd, const struct imgfmt_newfile *nf, bool is_dir)
{
	if (fchown(fd, nf->uid, nf->gid) < 0 || fchmod(fd, nf->mode & 07777) < 0)
		return -errno;
	return label_like_sibling(dir, name, fd, is_dir);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int root_write(int root, const char *path, const void *data, size_t len, const struct imgfmt_newfile *nf)
{
	struct stat s;
	const char *name;
	int fd, dir = -1, rc = peek(root, path, &s);

	if (rc == 0) {
		if (!S_ISREG(s.st_mode))
			return -EEXIST;
		if ((fd = open_regular(root, path, O_WRONLY, &s)) < 0)
			return fd;
		rc = ftruncate(fd, 0) < 0 ? -errno : 0;
	} else if (rc == -ENOENT && nf) {
		if ((dir = parent(root, path, &name)) < 0)
			return dir;
		fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = -errno;
			close(dir);
			return rc;
		}
		rc = set_new(dir, name, fd, nf, false);
	} else {
		return rc;
	}
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (dir >= 0)
		close(dir);
	return rc;
}

int root_append(int root, const char *path, const void *data, size_t len)
{
	struct stat s;
	int fd, rc = peek(root, path, &s);

	if (rc < 0)
		return rc;
	if (!S_ISREG(s.st_mode))
		return -EEXIST;
	if ((fd = open_regular(root, path, O_WRONLY | O_APPEND, &s)) < 0)
		return fd;
	rc = write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int root_mkdir(int root, const char *path, const struct imgfmt_newfile *nf)
{
	const char *name;
	int dir = parent(root, path, &name), fd, rc;

	if (dir < 0)
		return dir;
	if (mkdirat(dir, name, 0700) < 0) {
		rc = -errno;
	} else if ((fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
	} else {
		rc = set_new(dir, name, fd, nf, true);
		close(fd);
	}
	close(dir);
	return rc;
}

/* Names in directory FD but "." and ".." (NULL-terminated, malloc'd). */
static int names_of(int fd, char ***out)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;

	if (!d) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		return rc;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n + 2 > cap) {
			char **grown;
			if (cap >= TREE_ENTRIES_MAX) {
				rc = -E2BIG;
				break;
			}
			cap = cap ? 2 * cap : 32;
			if (!(grown = realloc(v, cap * sizeof(*v)))) {
				rc = -ENOMEM;
				break;
			}
			v = grown;
		}
		if (!(v[n] = strdup(e->d_name))) {
			rc = -ENOMEM;
			break;
		}
		v[++n] = NULL;
	}
	closedir(d);
	if (rc == 0 && !v && !(v = calloc(1, sizeof(*v))))
		rc = -ENOMEM;
	if (rc < 0) {
		guest_names_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Directory NAME of PARENT and everything in it, never leaving device DEV
 * nor going deeper than GUEST_WALK_DEPTH. */
static int remove_tree(int parent_fd, const char *name, dev_t dev, int depth)
{
	struct stat s;
	char **names = NULL;
	int fd, rc;

	if (depth > GUEST_WALK_DEPTH)
		return -ELOOP;
	if ((fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if ((rc = stat_fd(fd, &s)) == 0 && s.st_dev != dev)
		rc = -EXDEV;
	if (rc == 0)
		rc = names_of(fd, &names);
	for (char **p = names; p && *p && rc == 0; p++) {
		struct stat c;
		if (fstatat(fd, *p, &c, AT_SYMLINK_NOFOLLOW) < 0)
			rc = errno == ENOENT ? 0 : -errno;
		else if (S_ISDIR(c.st_mode))
			rc = remove_tree(fd, *p, dev, depth + 1);
		else if (unlinkat(fd, *p, 0) < 0 && errno != ENOENT)
			rc = -errno;
	}
	guest_names_free(names);
	close(fd);
	if (rc == 0 && unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

int root_remove(int root, const char *path, bool recursive)
{
	struct stat s;
	const char *name;
	int dir = parent(root, path, &name), rc;

	if (dir < 0)
		return dir;
	if (fstatat(dir, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	else if (!S_ISDIR(s.st_mode))
		rc = unlinkat(dir, name, 0) < 0 ? -errno : 0;
	else if (!recursive)
		rc = -EISDIR;
	else
		rc = remove_tree(dir, name, s.st_dev, 0);
	close(dir);
	return rc;
}

int root_list(int root, const char *dir, imgfmt_dirent_fn cb, void *arg)
{
	int fd = resolve(root, dir, O_PATH | O_DIRECTORY), rc;
	char **names = NULL;

	if (fd < 0)
		return fd;
	rc = names_of(fd, &names);
	for (char **p = names; p && *p && rc == 0; p++) {
		struct stat s;
		if (fstatat(fd, *p, &s, AT_SYMLINK_NOFOLLOW) == 0)
			rc = cb(*p, strlen(*p), s.st_ino, IFTODT(s.st_mode), arg);
	}
	guest_names_free(names);
	close(fd);
	return rc;
}
