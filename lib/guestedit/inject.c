/* inject.c --- add kernel modules to a guest's initramfs without running it
 *
 * The kernel unpacks an initramfs's archives in turn, later files replacing
 * earlier ones; so one archive appended to the file adds modules, replaces
 * the module indexes and the list of modules loaded at boot, and leaves the
 * rest as the guest's own tool built it.  What goes in:
 * - the modules asked for and their dependencies, from the guest's own
 *   /lib/modules/VERSION (its modules.dep), compressed as the guest has
 *   them;
 * - the indexes for the combined set (the initramfs's modules, staged from
 *   the initramfs itself, and the new ones), made by this host's depmod -b
 *   in a private directory: a real tool, run on copies;
 * - initramfs-tools: conf/modules with the new names added (its init
 *   modprobes each); dracut: rd.driver.pre in etc/cmdline.d (read by its
 *   cmdline parsing) and etc/modules-load.d (systemd in the initrd).
 * The archive is compressed like the initramfs (zstd, gzip, or none), so
 * that lsinitramfs still reads the file.  Anything uncertain refuses with
 * -ENOTSUP before the first write.
 */
#include "inject.h"
#include "guestroot.h"
#include "initrd.h"
#include "moddep.h"
#include "run.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INITRD_FILE_MAX (1ull << 30)  /* an initramfs read to be appended to */
#define STAGED_MAX (768ull << 20)     /* modules staged from one initramfs */
#define CONF_MAX (64u << 10)          /* conf/modules */

/* What the walk of the initramfs found. */
struct seen {
	const struct inject_request *rq;
	int stage;            /* O_PATH fd of the private directory's lib/modules/VERSION */
	char prefix[320];     /* where the initramfs keeps its modules: "usr/lib/modules/V/" */
	bool tools, dracut;   /* layout markers */
	char *conf_modules;   /* initramfs-tools' conf/modules, the last one met */
	char **dirs;          /* every directory entry, sorted once the walk ends */
	size_t ndirs, capdirs;
	uint64_t staged;
	bool gz;              /* a .ko.gz met: this host's depmod cannot read it */
	char err[400];
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* The files of the private directory (its lib/modules/VERSION, as an
 * O_PATH fd) go through guestroot.c's confined calls: openat2() under it,
 * no symlink followed.  RELs are relative paths checked by the caller. */
static int stage_path(const char *rel, char *path, size_t size)
{
	int n = snprintf(path, size, "/%s", rel);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* REL with the directories it needs, owned by whoever runs rawkit. */
static int write_file(int stage, const char *rel, const void *data, size_t len)
{
	const struct imgfmt_newfile file = { 0644, getuid(), getgid() }, dir = { 0755, getuid(), getgid() };
	char path[600];
	int rc = stage_path(rel, path, sizeof(path));

	for (char *p = path + 1; rc == 0 && (p = strchr(p, '/')); p++) {
		*p = '\0';
		if ((rc = root_mkdir(stage, path, &dir)) == -EEXIST)
			rc = 0;
		*p = '/';
	}
	return rc < 0 ? rc : root_write(stage, path, data, len, &file);
}

/* The whole of REL into *DATA (malloc'd). */
static int read_file(int stage, const char *rel, char **data, size_t *len)
{
	char path[600];
	int rc = stage_path(rel, path, sizeof(path));

	return rc < 0 ? rc : root_read(stage, path, data, len, STAGED_MAX);
}

static bool exists(int stage, const char *rel)
{
	struct imgfmt_stat st;
	char path[600];

	return stage_path(rel, path, sizeof(path)) == 0 && root_stat(stage, path, &st) == 0;
}

/* The part of PATH under "lib/modules/VERSION/" or "usr/lib/modules/VERSION/";
 * NULL when elsewhere.  *PREFIX_LEN: the length before it. */
static const char *under_modules(const char *path, const char *version, size_t *prefix_len)
{
	const char *p = path;
	size_t vl = strlen(version);

	if (!strncmp(p, "usr/", 4))
		p += 4;
	if (strncmp(p, "lib/modules/", 12) || strncmp(p + 12, version, vl) || p[12 + vl] != '/')
		return NULL;
	*prefix_len = (size_t)(p + 12 + vl + 1 - path);
	return p + 12 + vl + 1;
}

/* Files of the module directory staged for depmod: the modules and the
 * lists it reads; the indexes it writes are not. */
static bool staged_kind(const char *rel)
{
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;

	if (strstr(base, ".ko"))
		return true;
	return !strcmp(rel, "modules.order") || !strcmp(rel, "modules.builtin") ||
	       !strcmp(rel, "modules.builtin.modinfo");
}

static int add_dir(struct seen *s, const char *path)
{
	if (s->ndirs == s->capdirs) {
		size_t cap = s->capdirs ? s->capdirs * 2 : 256;
		char **v = realloc(s->dirs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->dirs = v;
		s->capdirs = cap;
	}
	if (!(s->dirs[s->ndirs] = strdup(path)))
		return -ENOMEM;
	s->ndirs++;
	return 0;
}

/* An entry's data into *DATA (at most MAX bytes). */
static int entry_data(struct archive *a, uint64_t size, uint64_t max, char **data, size_t *len)
{
	size_t done = 0;

	*data = NULL;
	if (size > max)
		return -EFBIG;
	if (!(*data = malloc((size_t)size + 1)))
		return -ENOMEM;
	while (done < size) {
		la_ssize_t n = archive_read_data(a, *data + done, (size_t)size - done);
		if (n <= 0) {
			free(*data);
			*data = NULL;
			return -EILSEQ;
		}
		done += (size_t)n;
	}
	(*data)[done] = '\0';
	*len = done;
	return 0;
}

static int seen_entry(void *arg, struct archive *a, const struct initrd_entry *e)
{
	struct seen *s = arg;
	const char *rel;
	size_t plen, len;
	char *data;
	int rc;

	if (S_ISDIR(e->mode))
		return add_dir(s, e->path);
	if (!strcmp(e->path, "conf/initramfs.conf") || !strcmp(e->path, "scripts/functions"))
		s->tools = true;
	if (!strcmp(e->path, "usr/lib/dracut-lib.sh") || !strcmp(e->path, "lib/dracut-lib.sh") ||
	    !strncmp(e->path, "usr/lib/dracut/", 15))
		s->dracut = true;
	if (!strcmp(e->path, "conf/modules") && S_ISREG(e->mode)) {
		if ((rc = entry_data(a, e->size, CONF_MAX, &data, &len)) < 0)
			return snprintf(s->err, sizeof(s->err), "conf/modules: %s", rc == -EFBIG ? "too large" :
					"cannot read it"), rc;
		free(s->conf_modules);
		s->conf_modules = data;
		return 0;
	}
	if (!(rel = under_modules(e->path, s->rq->version, &plen)) || !S_ISREG(e->mode))
		return 0;
	if (!strcmp(rel, "modules.dep"))
		snprintf(s->prefix, sizeof(s->prefix), "%.*s", (int)plen, e->path);
	if (!staged_kind(rel))
		return 0;
	if (!moddep_safe_path(rel))
		return snprintf(s->err, sizeof(s->err), "%s: a module path rawkit does not stage", e->path), -EILSEQ;
	s->gz |= strstr(rel, ".ko.gz") != NULL;
	if ((s->staged += e->size) > STAGED_MAX)
		return snprintf(s->err, sizeof(s->err), "more than %llu MiB of modules",
				(unsigned long long)(STAGED_MAX >> 20)), -EFBIG;
	if ((rc = entry_data(a, e->size, STAGED_MAX, &data, &len)) < 0)
		return snprintf(s->err, sizeof(s->err), "%s: cannot read it", e->path), rc;
	rc = write_file(s->stage, rel, data, len);
	free(data);
	if (rc < 0)
		snprintf(s->err, sizeof(s->err), "staging %s: %s", rel, strerror(-rc));
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool had_dir(const struct seen *s, const char *path)
{
	return bsearch(&path, s->dirs, s->ndirs, sizeof(*s->dirs), cmp_str) != NULL;
}

/* "CONFIG_MODULE_SIG_FORCE=y" in the kernel's config (in /boot). */
static bool signatures_enforced(const struct inject_request *rq)
{
	char path[300], *data = NULL;
	size_t len;
	bool yes = false;

	snprintf(path, sizeof(path), "%s/config-%s", rq->boot_is_root ? "/boot" : "", rq->version);
	if (guest_read(rq->boot, path, &data, &len) == 0)
		yes = strstr(data, "\nCONFIG_MODULE_SIG_FORCE=y") != NULL;
	free(data);
	return yes;
}

/* The archive built in memory. */
struct out {
	char *data;
	size_t len, cap;
};

static la_ssize_t out_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct out *o = arg;

	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 1 << 20;
		char *d;
		while (cap < o->len + n)
			cap *= 2;
		if (!(d = realloc(o->data, cap))) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		o->data = d;
		o->cap = cap;
	}
	memcpy(o->data + o->len, buf, n);
	o->len += n;
	return (la_ssize_t)n;
}

static int put(struct archive *a, const char *path, unsigned mode, const void *data, size_t len, time_t when)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, mode);
	archive_entry_set_size(e, S_ISREG(mode) ? (la_int64_t)len : 0);
	archive_entry_set_mtime(e, when, 0);
	archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (S_ISREG(mode) && len && archive_write_data(a, data, len) != (la_ssize_t)len))
		rc = -EIO;
	archive_entry_free(e);
	return rc;
}

/* Directory entries for the parents of PATH the initramfs lacks (each
 * once: ADDED remembers them). */
static int put_parents(struct archive *a, const struct seen *s, const char *path, char ***added, size_t *nadded,
		       time_t when)
{
	char dir[700];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir; (p = strchr(p, '/')); p++) {
		bool known;
		*p = '\0';
		known = had_dir(s, dir);
		for (size_t i = 0; i < *nadded && !known; i++)
			known = !strcmp((*added)[i], dir);
		if (!known) {
			char **v = realloc(*added, (*nadded + 1) * sizeof(**added));
			if (!v || !(v[*nadded] = strdup(dir))) {
				if (v)
					*added = v;
				return -ENOMEM;
			}
			*added = v;
			(*nadded)++;
			if (put(a, dir, S_IFDIR | 0755, NULL, 0, when) < 0)
				return -EIO;
		}
		*p = '/';
	}
	return 0;
}

struct job {
	const struct inject_request *rq;
	struct seen s;
	const char **files;      /* the closure of the drivers */
	const char **extra_files;
	const char *added[256];  /* files not in the initramfs yet */
	size_t nadded;
	struct moddep *dep;
	struct initrd_layout lay;
	char topdir[300];        /* the private directory */
};

/* Module names the initramfs must load at boot: the drivers, and the
 * extras found. */
static void boot_names(const struct job *j, const char **names, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < j->rq->ndrivers && *n < 64; i++)
		names[(*n)++] = j->rq->drivers[i];
	for (size_t i = 0; i < j->rq->nextras && *n < 64; i++) {
		const char **files = NULL;
		char ignored[8];
		if (moddep_closure(j->dep, &j->rq->extras[i], 1, &files, ignored, sizeof(ignored)) == 0)
			names[(*n)++] = j->rq->extras[i];
		free(files);
	}
}

/* Is NAME a line of conf/modules already? */
static bool listed(const char *conf, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = conf; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if ((ll == l || (ll > l && (p[l] == ' ' || p[l] == '\t'))) && !strncmp(p, name, l))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* Append entry PATH (in the initramfs) from the staged file REL. */
static int put_staged(struct archive *a, const struct job *j, const char *path, const char *rel, time_t when)
{
	char *data;
	size_t len;
	int rc = read_file(j->s.stage, rel, &data, &len);

	if (rc < 0)
		return rc;
	rc = put(a, path, S_IFREG | 0644, data, len, when);
	free(data);
	return rc;
}

/* The entries of the appended archive, into A. */
static int put_entries(struct archive *a, struct job *j, char ***dirs, size_t *ndirs, char *err, size_t errlen)
{
	static const char *const indexes[] = { "modules.dep", "modules.dep.bin", "modules.alias",
		"modules.alias.bin", "modules.softdep", "modules.symbols", "modules.symbols.bin",
		"modules.builtin.bin", "modules.builtin.alias.bin", "modules.devname", "modules.order" };
	const char *names[64];
	char path[700];
	size_t nnames;
	time_t now = time(NULL);
	int rc = 0;

	for (size_t i = 0; i < j->nadded && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s%s", j->s.prefix, j->added[i]);
		if ((rc = put_parents(a, &j->s, path, dirs, ndirs, now)) == 0)
			rc = put_staged(a, j, path, j->added[i], now);
	}
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]) && rc == 0; i++)
		if (exists(j->s.stage, indexes[i])) {
			snprintf(path, sizeof(path), "%s%s", j->s.prefix, indexes[i]);
			rc = put_staged(a, j, path, indexes[i], now);
		}
	if (rc < 0)
		return fail(err, errlen, rc, "cannot write the archive: %s", archive_error_string(a) ?
			    archive_error_string(a) : strerror(-rc));
	boot_names(j, names, &nnames);
	if (j->s.tools) {
		/* conf/modules: the initramfs's own lines, then the new names */
		size_t cap = (j->s.conf_modules ? strlen(j->s.conf_modules) : 0) + 64 * 72 + 2, used = 0;
		char *conf = malloc(cap);
		if (!conf)
			return fail(err, errlen, -ENOMEM, "out of memory");
		used = (size_t)snprintf(conf, cap, "%s", j->s.conf_modules ? j->s.conf_modules : "");
		if (used && conf[used - 1] != '\n')
			conf[used++] = '\n', conf[used] = '\0';
		for (size_t i = 0; i < nnames; i++)
			if (!listed(j->s.conf_modules, names[i]))
				used += (size_t)snprintf(conf + used, cap - used, "%s\n", names[i]);
		rc = put(a, "conf/modules", S_IFREG | 0644, conf, used, now);
		free(conf);
	} else {
		/* dracut: rd.driver.pre, read from etc/cmdline.d as from the
		 * kernel's command line; modules-load.d for systemd in the initrd */
		char pre[64 * 72 + 32], list[64 * 72];
		size_t pu = (size_t)snprintf(pre, sizeof(pre), "rd.driver.pre="), lu = 0;
		for (size_t i = 0; i < nnames; i++) {
			pu += (size_t)snprintf(pre + pu, sizeof(pre) - pu, "%s%s", i ? "," : "", names[i]);
			lu += (size_t)snprintf(list + lu, sizeof(list) - lu, "%s\n", names[i]);
		}
		pu += (size_t)snprintf(pre + pu, sizeof(pre) - pu, "\n");
		if ((rc = put_parents(a, &j->s, "etc/cmdline.d/x", dirs, ndirs, now)) == 0)
			rc = put(a, "etc/cmdline.d/50-rawkit-drivers.conf", S_IFREG | 0644, pre, pu, now);
		if (rc == 0 && (rc = put_parents(a, &j->s, "etc/modules-load.d/x", dirs, ndirs, now)) == 0)
			rc = put(a, "etc/modules-load.d/rawkit-drivers.conf", S_IFREG | 0644, list, lu, now);
	}
	if (rc < 0)
		return fail(err, errlen, rc, "cannot write the archive: %s", archive_error_string(a) ?
			    archive_error_string(a) : strerror(-rc));
	return 0;
}

static int build_archive(struct job *j, struct out *o, char *err, size_t errlen)
{
	struct archive *a = archive_write_new();
	char **dirs = NULL;
	size_t ndirs = 0;
	int rc;

	if (!a)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
	    (j->lay.compression != ARCHIVE_FILTER_NONE && archive_write_add_filter(a, j->lay.compression) != ARCHIVE_OK) ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, o, NULL, out_write, NULL) != ARCHIVE_OK) {
		rc = fail(err, errlen, -ENOTSUP, "cannot write a %s cpio archive: %s", j->lay.compression_name,
			  archive_error_string(a) ? archive_error_string(a) : "libarchive refused");
		archive_write_free(a);
		return rc;
	}
	rc = put_entries(a, j, &dirs, &ndirs, err, errlen);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = fail(err, errlen, -EIO, "cannot write the archive: %s", archive_error_string(a));
	archive_write_free(a);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	return rc;
}

/* depmod -b TOPDIR VERSION: indexes for the staged set. */
static int depmod(struct job *j, char *err, size_t errlen)
{
	static const char *const paths[] = { "/usr/sbin/depmod", "/sbin/depmod" };
	const char *prog = "depmod";
	char *out = NULL, line[200];
	int status;

	for (size_t i = 0; i < 2; i++)
		if (access(paths[i], X_OK) == 0) {
			prog = paths[i];
			break;
		}
	char *argv[] = { (char *)prog, "-b", j->topdir, (char *)j->rq->version, NULL };
	status = run_program(argv, &out, true);
	run_one_line(out, line, sizeof(line));
	free(out);
	if (status != 0)
		return fail(err, errlen, -ENOTSUP, "depmod -b failed%s%s", line[0] ? ": " : "", line);
	if (!exists(j->s.stage, "modules.dep.bin"))
		return fail(err, errlen, -ENOTSUP, "depmod -b wrote no modules.dep.bin");
	return 0;
}

/* A module file's last bytes hold "~Module signature appended~\n" (an
 * uncompressed one; compressed ones are not opened: uncertain). */
static bool signed_module(const struct job *j, const char *rel)
{
	static const char magic[] = "~Module signature appended~\n";
	char *data;
	size_t len;
	bool yes;

	if (strlen(rel) < 3 || strcmp(rel + strlen(rel) - 3, ".ko"))
		return false;
	if (read_file(j->s.stage, rel, &data, &len) < 0)
		return false;
	yes = len >= sizeof(magic) - 1 && !memcmp(data + len - (sizeof(magic) - 1), magic, sizeof(magic) - 1);
	free(data);
	return yes;
}

/* The closure's files the initramfs lacks, copied from the guest. */
static int stage_new(struct job *j, bool dry, char *err, size_t errlen)
{
	for (const char **f = j->files; *f; f++) {
		char path[700], *data;
		size_t len;
		int rc;
		if (!dry && exists(j->s.stage, *f))
			continue;
		if (j->nadded == sizeof(j->added) / sizeof(j->added[0]))
			return fail(err, errlen, -ENOTSUP, "more than %zu modules to add", j->nadded);
		if (strstr(*f, ".ko.gz"))
			return fail(err, errlen, -ENOTSUP, "%s: gzip-compressed modules are not read by this host's "
				    "depmod", *f);
		j->added[j->nadded++] = *f;
		if (dry)
			continue;
		snprintf(path, sizeof(path), "%s/%s", moddep_dir(j->dep), *f);
		if ((rc = guest_read(j->rq->root, path, &data, &len)) < 0)
			return fail(err, errlen, -ENOTSUP, "%s: %s", path, rc == -ENOENT ? "missing from the guest" :
				    j->rq->root->err);
		rc = write_file(j->s.stage, *f, data, len);
		free(data);
		if (rc < 0)
			return fail(err, errlen, -ENOTSUP, "staging %s: %s", *f, strerror(-rc));
	}
	return 0;
}

/* modules.order: the initramfs's, then the new files; modules.builtin
 * from the guest when the initramfs has none. */
static int stage_lists(struct job *j, char *err, size_t errlen)
{
	char *order = NULL, *data = NULL, path[700];
	size_t len = 0, cap;
	int rc;

	if (read_file(j->s.stage, "modules.order", &order, &len) < 0)
		len = 0;
	cap = len + j->nadded * 260 + 2;
	if (!(data = malloc(cap))) {
		free(order);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(data, order ? order : "", len);
	if (len && data[len - 1] != '\n')
		data[len++] = '\n';
	for (size_t i = 0; i < j->nadded; i++)
		len += (size_t)snprintf(data + len, cap - len, "%s\n", j->added[i]);
	rc = write_file(j->s.stage, "modules.order", data, len);
	free(order);
	free(data);
	if (rc == 0 && !exists(j->s.stage, "modules.builtin")) {
		snprintf(path, sizeof(path), "%s/modules.builtin", moddep_dir(j->dep));
		if (guest_read(j->rq->root, path, &data, &len) == 0) {
			rc = write_file(j->s.stage, "modules.builtin", data, len);
			free(data);
		}
	}
	return rc < 0 ? fail(err, errlen, -ENOTSUP, "staging: %s", strerror(-rc)) : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void job_free(struct job *j)
{
	if (j->s.stage >= 0)
		close(j->s.stage);
	if (j->topdir[0])
		nftw(j->topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(j->s.conf_modules);
	for (size_t i = 0; i < j->s.ndirs; i++)
		free(j->s.dirs[i]);
	free(j->s.dirs);
	free(j->files);
	moddep_free(j->dep);
}

/* Read the initramfs, stage its modules, learn its layout. */
static int read_initrd(struct job *j, const char *data, size_t len, char *err, size_t errlen)
{
	char why[400], stage[500], lib[400];
	int rc;

	run_temp_template(j->topdir, sizeof(j->topdir), "rawkit-inject", "/tmp");
	if (!mkdtemp(j->topdir)) {
		j->topdir[0] = '\0';
		return fail(err, errlen, -ENOTSUP, "cannot make a private directory: %s", strerror(errno));
	}
	snprintf(stage, sizeof(stage), "%s/lib/modules/%s", j->topdir, j->rq->version);
	if (snprintf(lib, sizeof(lib), "%s/lib", j->topdir) >= (int)sizeof(lib) || mkdir(lib, 0755) < 0 ||
	    snprintf(lib, sizeof(lib), "%s/lib/modules", j->topdir) >= (int)sizeof(lib) || mkdir(lib, 0755) < 0 ||
	    mkdir(stage, 0755) < 0 || (j->s.stage = open(stage, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(err, errlen, -ENOTSUP, "cannot make a private directory: %s", strerror(errno));
	rc = initrd_walk_memory(data, len, seen_entry, &j->s, &j->lay, why, sizeof(why));
	if (rc < 0)
		return fail(err, errlen, -ENOTSUP, "%s", j->s.err[0] ? j->s.err : why);
	qsort(j->s.dirs, j->s.ndirs, sizeof(*j->s.dirs), cmp_str);
	if (j->s.tools == j->s.dracut)
		return fail(err, errlen, -ENOTSUP, "%s", j->s.tools ? "both initramfs-tools and dracut files in it" :
			    "neither an initramfs-tools nor a dracut initramfs");
	if (!j->s.prefix[0])
		return fail(err, errlen, -ENOTSUP, "it has no module index (lib/modules/%s/modules.dep)", j->rq->version);
	if (j->s.gz)
		return fail(err, errlen, -ENOTSUP, "gzip-compressed modules are not read by this host's depmod");
	if (j->lay.compression != ARCHIVE_FILTER_NONE && j->lay.compression != ARCHIVE_FILTER_GZIP &&
	    j->lay.compression != ARCHIVE_FILTER_ZSTD)
		return fail(err, errlen, -ENOTSUP, "%s-compressed: rawkit appends to zstd, gzip or uncompressed ones",
			    j->lay.compression_name);
	return 0;
}

struct verify {
	const struct job *j;
	bool *seen;
};

static int verify_entry(void *arg, struct archive *a, const struct initrd_entry *e)
{
	struct verify *v = arg;
	size_t plen = strlen(v->j->s.prefix);

	(void)a;
	if (S_ISREG(e->mode) && !strncmp(e->path, v->j->s.prefix, plen))
		for (size_t i = 0; i < v->j->nadded; i++)
			if (!strcmp(e->path + plen, v->j->added[i]))
				v->seen[i] = true;
	return 0;
}

/* The archive built reads back (as the kernel will read it, through the
 * same walk as every initramfs) with every module added in it. */
static int verify_archive(const struct job *j, const struct out *o, char *err, size_t errlen)
{
	bool seen[sizeof(j->added) / sizeof(j->added[0])] = { false };
	struct verify v = { j, seen };
	char why[400];

	if (initrd_walk_memory(o->data, o->len, verify_entry, &v, NULL, why, sizeof(why)) < 0)
		return fail(err, errlen, -ENOTSUP, "the archive built does not read back: %s", why);
	for (size_t i = 0; i < j->nadded; i++)
		if (!seen[i])
			return fail(err, errlen, -ENOTSUP, "the archive built lacks %s", j->added[i]);
	return 0;
}

static void describe(const struct job *j, struct inject_result *r)
{
	size_t used = 0;

	snprintf(r->layout, sizeof(r->layout), "%s", j->s.tools ? "initramfs-tools" : "dracut");
	snprintf(r->compression, sizeof(r->compression), "%s",
		 j->lay.compression == ARCHIVE_FILTER_NONE ? "none" : j->lay.compression_name);
	r->nmodules = j->nadded;
	for (size_t i = 0; i < j->nadded && used + 1 < sizeof(r->modules); i++) {
		char name[64];
		int n;
		if (!initrd_module_name(j->added[i], name, sizeof(name)))
			continue;
		n = snprintf(r->modules + used, sizeof(r->modules) - used, "%s%s", used ? ", " : "", name);
		used = n < 0 || (size_t)n >= sizeof(r->modules) - used ? sizeof(r->modules) : used + (size_t)n;
	}
}

int initrd_inject(const struct inject_request *rq, struct inject_result *r, char *err, size_t errlen)
{
	struct job j = { .rq = rq, .s = { .rq = rq, .stage = -1 } };
	struct out o = { 0 };
	char *data = NULL;
	size_t len = 0;
	bool dry = rq->boot->dry;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = guest_read_max(rq->boot, rq->initrd, INITRD_FILE_MAX, &data, &len)) < 0) {
		rc = fail(err, errlen, -ENOTSUP, "%s", rc == -ENOENT ? "missing" : rq->boot->err);
		goto out;
	}
	if ((rc = read_initrd(&j, data, len, err, errlen)) < 0)
		goto out;
	if ((rc = moddep_load(rq->root, rq->version, &j.dep, err, errlen)) < 0 ||
	    (rc = moddep_closure(j.dep, rq->drivers, rq->ndrivers, &j.files, err, errlen)) < 0) {
		rc = -ENOTSUP;
		goto out;
	}
	for (size_t i = 0; i < rq->nextras; i++) {
		const char **more = NULL;
		char ignored[8];
		if (moddep_closure(j.dep, &rq->extras[i], 1, &more, ignored, sizeof(ignored)) == 0) {
			size_t n = 0, m = 0;
			while (j.files[n])
				n++;
			while (more[m])
				m++;
			const char **v = realloc(j.files, (n + m + 1) * sizeof(*v));
			if (!v) {
				free(more);
				rc = fail(err, errlen, -ENOMEM, "out of memory");
				goto out;
			}
			for (size_t k = 0; k < m; k++) {
				bool dup = false;
				for (size_t q = 0; q < n && !dup; q++)
					dup = !strcmp(v[q], more[k]);
				if (!dup)
					v[n++] = more[k];
			}
			v[n] = NULL;
			j.files = v;
		}
		free(more);
	}
	if ((rc = stage_new(&j, dry, err, errlen)) < 0)
		goto out;
	describe(&j, r);
	if (dry)
		goto out;
	if (signatures_enforced(rq))
		for (size_t i = 0; i < j.nadded; i++)
			if (!signed_module(&j, j.added[i])) {
				rc = fail(err, errlen, -ENOTSUP, "the kernel enforces module signatures and %s %s",
					  j.added[i], strstr(j.added[i], ".ko.") ? "is compressed: its signature is not checked"
					  : "is not signed");
				goto out;
			}
	if ((rc = stage_lists(&j, err, errlen)) < 0 || (rc = depmod(&j, err, errlen)) < 0 ||
	    (rc = build_archive(&j, &o, err, errlen)) < 0) {
		rc = -ENOTSUP;
		goto out;
	}
	if ((rc = verify_archive(&j, &o, err, errlen)) < 0)
		goto out;
	/* an uncompressed archive starts on a 4-byte boundary; zero padding
	 * after a compressed one would upset lsinitramfs, so none there */
	size_t pad = j.lay.compression == ARCHIVE_FILTER_NONE ? (4 - len % 4) % 4 : 0;
	char *seg = malloc(pad + o.len);
	if (!seg) {
		rc = fail(err, errlen, -ENOTSUP, "out of memory");
		goto out;
	}
	memset(seg, 0, pad);
	memcpy(seg + pad, o.data, o.len);
	r->bytes = pad + o.len;
	/* appended in place: the file's own blocks are not rewritten, and a
	 * crash leaves it as it was or with the whole archive */
	if ((rc = guest_append(rq->boot, 0, rq->initrd, seg, pad + o.len)) < 0)
		snprintf(err, errlen, "%s", rq->boot->err);
	free(seg);
out:
	free(data);
	free(o.data);
	job_free(&j);
	return rc;
}
