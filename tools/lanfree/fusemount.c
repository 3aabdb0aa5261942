/* fusemount.c --- rawkit-lanfree mount: every generation as a read-only FUSE filesystem
 *
 * The kernel enforces the recorded modes, owners and ACLs (default_permissions,
 * POSIX ACLs on); the mount is read-only, nosuid and nodev, and every call
 * that would change it fails with EROFS.  One thread serves it (fuse_loop),
 * with one catalog connection: simple, and SQLite is never shared between
 * threads.  The repository's shared lock is held while it is mounted, so no
 * prune can take what it shows away.
 *
 * Unless --foreground, the process forks once the repository is open and
 * locked; the child mounts, opens the catalog and serves, and the parent
 * waits until it does (exit 0) or has failed (exit 1, the child printed
 * why), so that `rawkit-lanfree mount R D && ls D` works.
 * fusermount3 -u ends it.
 */
#define FUSE_USE_VERSION 35
#include "fusemount.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* How long the kernel keeps what it was told: a generation never changes,
 * but a backup may add one (the guests' and generations' listings). */
#define ATTR_TIMEOUT_S 60.0
#define NEGATIVE_TIMEOUT_S 1.0

static struct view *view(void)
{
	return fuse_get_context()->private_data;
}

static void *mount_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;     /* hard links keep one inode number */
	cfg->kernel_cache = 1; /* contents never change: keep the page cache */
	cfg->entry_timeout = cfg->attr_timeout = ATTR_TIMEOUT_S;
	cfg->negative_timeout = NEGATIVE_TIMEOUT_S;
	/* the kernel checks recorded ACLs too, not just the modes */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	return view();
}

static int mount_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node n;
	int rc = view_lookup(view(), path, &n);

	if (rc == 0)
		*st = n.st;
	return rc;
}

static int mount_readlink(const char *path, char *buf, size_t size)
{
	struct node n;
	int rc = view_lookup(view(), path, &n);

	return rc < 0 ? rc : view_readlink(view(), &n, buf, size);
}

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
	enum fuse_fill_dir_flags flags;
};

static int fill_one(const char *name, const struct stat *st, void *arg)
{
	struct fill *f = arg;

	return f->filler(f->buf, name, st, 0, f->flags);
}

static int mount_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	struct fill f = { buf, filler, (flags & FUSE_READDIR_PLUS) ? FUSE_FILL_DIR_PLUS : 0 };
	struct node n;
	int rc = view_lookup(view(), path, &n);

	if (rc < 0)
		return rc;
	if (!S_ISDIR(n.st.st_mode))
		return -ENOTDIR;
	filler(buf, ".", &n.st, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	return view_list(view(), path, &n, fill_one, &f);
}

static int mount_open(const char *path, struct fuse_file_info *fi)
{
	struct mfile *f;
	struct node n;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	if ((rc = view_lookup(view(), path, &n)) < 0)
		return rc;
	if (n.kind != NODE_ENTRY || !S_ISREG(n.st.st_mode))
		return -EINVAL;
	if ((rc = mfile_open(view(), n.version_id, path, &f)) < 0)
		return rc;
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1;
	return 0;
}

static int mount_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	if (off < 0)
		return -EINVAL;
	return mfile_read(view(), (struct mfile *)(uintptr_t)fi->fh, buf, size, (uint64_t)off);
}

static int mount_release(const char *path, struct fuse_file_info *fi)
{
	mfile_close(view(), (struct mfile *)(uintptr_t)fi->fh);
	return 0;
}

static off_t mount_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	if (!fi || off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE))
		return -EINVAL;
	return (off_t)mfile_seek(view(), (struct mfile *)(uintptr_t)fi->fh, (uint64_t)off, whence);
}

static int mount_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct node n;
	int rc = view_lookup(view(), path, &n);

	return rc < 0 ? rc : view_getxattr(view(), &n, name, value, size, fuse_get_context()->uid == 0);
}

static int mount_listxattr(const char *path, char *list, size_t size)
{
	struct node n;
	int rc = view_lookup(view(), path, &n);

	return rc < 0 ? rc : view_listxattr(view(), &n, list, size, fuse_get_context()->uid == 0);
}

static int mount_statfs(const char *path, struct statvfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = 4096;
	st->f_namemax = 255;
	return 0;
}

/* lsattr: the inode flags recorded (chattr's, as FS_IOC_GETFLAGS has them). */
static int mount_ioctl(const char *path, unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned int flags,
		       void *data)
{
	struct node n;
	uint32_t recorded;
	int rc, out;

	if (cmd == FS_IOC_SETFLAGS || cmd == FS_IOC32_SETFLAGS)
		return -EROFS;
	if (cmd != FS_IOC_GETFLAGS && cmd != FS_IOC32_GETFLAGS)
		return -ENOTTY;
	if ((rc = view_lookup(view(), path, &n)) < 0 || (rc = view_flags(view(), &n, &recorded)) < 0)
		return rc;
	out = (int)(recorded & FS_FL_USER_VISIBLE);
	memcpy(data, &out, sizeof(out));
	return 0;
}

/* ---- everything that would change it ---- */

static int ro_path(const char *path)
{
	return -EROFS;
}
static int ro_path_mode(const char *path, mode_t mode)
{
	return -EROFS;
}
static int ro_mknod(const char *path, mode_t mode, dev_t dev)
{
	return -EROFS;
}
static int ro_two_paths(const char *from, const char *to)
{
	return -EROFS;
}
static int ro_rename(const char *from, const char *to, unsigned int flags)
{
	return -EROFS;
}
static int ro_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	return -EROFS;
}
static int ro_removexattr(const char *path, const char *name)
{
	return -EROFS;
}
static int ro_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	return -EROFS;
}
static int ro_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	return -EROFS;
}

static const struct fuse_operations ops = {
	.init = mount_init,
	.getattr = mount_getattr,
	.readlink = mount_readlink,
	.readdir = mount_readdir,
	.open = mount_open,
	.read = mount_read,
	.release = mount_release,
	.lseek = mount_lseek,
	.getxattr = mount_getxattr,
	.listxattr = mount_listxattr,
	.statfs = mount_statfs,
	.ioctl = mount_ioctl,
	.mknod = ro_mknod,
	.mkdir = ro_path_mode,
	.unlink = ro_path,
	.rmdir = ro_path,
	.symlink = ro_two_paths,
	.rename = ro_rename,
	.link = ro_two_paths,
	.chmod = ro_chmod,
	.chown = ro_chown,
	.truncate = ro_truncate,
	.write = ro_write,
	.setxattr = ro_setxattr,
	.removexattr = ro_removexattr,
	.create = ro_create,
	.utimens = ro_utimens,
	.fallocate = ro_fallocate,
};

/* ---- starting ---- */

/* libfuse's messages: while mounting, the first error is kept for our own
 * one-line message; afterwards they are warnings. */
static char fuse_said[256];
static bool fuse_quiet;

static void fuse_message(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level > FUSE_LOG_WARNING || !n)
		return;
	if (fuse_quiet) {
		if (!fuse_said[0])
			snprintf(fuse_said, sizeof(fuse_said), "%s", strncmp(line, "fuse: ", 6) ? line : line + 6);
		return;
	}
	cli_warning(NULL, "%s", line);
}

/* A FUSE filesystem of V mounted on DIR; NULL (printed) if not. */
static struct fuse *fuse_start(struct view *v, const char *dir, const char *shown_dir, bool allow_other)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *fuse = NULL;
	char *opts = NULL, *fsname = NULL;

	fuse_said[0] = '\0';
	fuse_quiet = true;
	if (asprintf(&fsname, "fsname=%s", v->repo) < 0)
		fsname = NULL;
	if (!fsname || fuse_opt_add_opt(&opts, "ro,nosuid,nodev,default_permissions,subtype=rawkit-lanfree") < 0 ||
	    (allow_other && fuse_opt_add_opt(&opts, "allow_other") < 0) || fuse_opt_add_opt_escaped(&opts, fsname) < 0 ||
	    fuse_opt_add_arg(&args, cli_program()) < 0 || fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, opts) < 0) {
		cli_error(shown_dir, "cannot mount: out of memory");
	} else if (!(fuse = fuse_new(&args, &ops, sizeof(ops), v))) {
		cli_error(shown_dir, "cannot start a FUSE filesystem: %s", fuse_said[0] ? fuse_said : "libfuse failed");
	} else if (fuse_mount(fuse, dir) < 0) {
		cli_error(shown_dir, "cannot mount: %s", fuse_said[0] ? fuse_said : "the FUSE mount failed");
		fuse_destroy(fuse);
		fuse = NULL;
	}
	fuse_quiet = false;
	fuse_opt_free_args(&args);
	free(opts);
	free(fsname);
	return fuse;
}

/* DIR can be mounted on, and the kernel has FUSE. */
static int check_places(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		cli_error(dir, "cannot mount here: %s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error(dir, "cannot mount here: %s", strerror(ENOTDIR));
		return -1;
	}
	if (stat("/dev/fuse", &st) < 0) {
		cli_error("/dev/fuse", "cannot open: %s (is the fuse module loaded?)", strerror(errno));
		return -1;
	}
	return 0;
}

/* Fork: the parent returns 1 once the child says it serves (or has
 * failed: -1); the child returns 0 with *READY the pipe to say so (its
 * messages still go to the terminal until then). */
static int fork_daemon(int *ready)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		cli_error(NULL, "cannot start the daemon: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		*ready = p[1];
		return 0;
	}
	close(p[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	return n == 1 ? 1 : -1;
}

/* The daemon serves: tell the parent, leave the terminal. */
static void daemon_ready(int ready)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(ready, "k", 1) != 1) {
		/* the parent is gone: nobody to tell */
	}
	close(ready);
}

int cmd_mount(const struct mount_opts *o)
{
	struct view v = { .uid = getuid(), .gid = getgid(), .mounted = now_ns(), .foreground = o->foreground };
	struct fuse_session *se;
	struct repo repo;
	struct fuse *fuse = NULL;
	char *dir = NULL, *catalog = NULL;
	int status = RAWKIT_EXIT_FAILED, ready = -1, forked;

	if (check_places(o->dir) < 0)
		return RAWKIT_EXIT_FAILED;
	if ((status = repo_open(&repo, o->repo, REPO_READ)) != 0)
		return status;
	status = RAWKIT_EXIT_FAILED;
	/* A SQLite connection must not cross fork(): the server opens its
	 * own.  The lock stays, inherited by the server. */
	db_close(repo.db);
	repo.db = NULL;
	/* the server runs in / (it keeps no directory busy); a repository
	 * in RADOS is not a path, and its catalog not in it */
	v.repo = repo.rados ? strdup(o->repo) : realpath(o->repo, NULL);
	if (repo.rados && !(catalog = strdup(repo.catalog))) {
		cli_error(o->repo, "out of memory");
		goto out;
	}
	if (!v.repo || !(dir = realpath(o->dir, NULL))) {
		cli_error(v.repo ? o->dir : o->repo, "cannot resolve: %s", strerror(errno));
		goto out;
	}
	/* The server mounts: the parent never touches libfuse (a session
	 * that is not unmounted keeps its mount point's name allocated). */
	if (!o->foreground && (forked = fork_daemon(&ready)) != 0) {
		status = forked > 0 ? RAWKIT_EXIT_DONE : RAWKIT_EXIT_FAILED;
		goto out;
	}
	/* librados' threads do not cross fork() either: the server connects
	 * and locks anew (the parent keeps its lock until the server serves) */
	if (!o->foreground && repo.rados) {
		repo_forget(&repo);
		if ((status = repo_open(&repo, o->repo, REPO_READ)) != 0)
			goto out;
		status = RAWKIT_EXIT_FAILED;
		db_close(repo.db);
		repo.db = NULL;
	}
	fuse_set_log_func(fuse_message);
	if (!(fuse = fuse_start(&v, dir, o->dir, o->allow_other)))
		goto out;
	if (chdir("/") < 0 || view_open(&v, v.repo, catalog) < 0)
		goto unmount;
	if (ready >= 0)
		daemon_ready(ready);
	ready = -1;
	se = fuse_get_session(fuse);
	if (fuse_set_signal_handlers(se) < 0) {
		cli_error(o->dir, "cannot set up signal handlers");
		goto unmount;
	}
	status = fuse_loop(fuse) == 0 ? RAWKIT_EXIT_DONE : RAWKIT_EXIT_FAILED;
	fuse_remove_signal_handlers(se);
unmount:
	fuse_unmount(fuse);
	fuse_destroy(fuse);
	view_close(&v);
out:
	if (ready >= 0)
		close(ready); /* not serving: the parent fails */
	free(dir);
	free(catalog);
	free(v.repo);
	repo_close(&repo);
	return status;
}
