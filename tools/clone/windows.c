/* windows.c --- Windows system volumes: names looked up as Windows does, and
 * the computer name set offline in the SYSTEM hive (hive.c edits it)
 */
#include "clone.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SYSTEM_HIVE "/Windows/System32/config/SYSTEM"
#define HIVE_MAX (512u << 20) /* a large server's SYSTEM hive is a few hundred MiB at most */
#define NETBIOS_MAX 15

/* NTFS DOS attributes (imgfmt_stat.flags) that make a file one rawkit does
 * not write (imgfmt_fs_write_file() refuses it) */
#define ATTR_READONLY 0x0001
#define ATTR_REPARSE_POINT 0x0400
#define ATTR_COMPRESSED 0x0800
#define ATTR_ENCRYPTED 0x4000

struct find_ctx {
	const char *name;
	size_t len;
	uint64_t ino;
	char found[256];
	bool exact;
};

/* The entry whose name is NAME but for ASCII case; an exact match wins. */
static int find_one(const char *name, size_t len, uint64_t ino, unsigned type, void *arg)
{
	struct find_ctx *f = arg;
	(void)type;

	if (len != f->len || len >= sizeof(f->found) || strncasecmp(name, f->name, len))
		return 0;
	if (f->found[0] && memcmp(name, f->name, len))
		return 0;
	memcpy(f->found, name, len);
	f->found[len] = '\0';
	f->ino = ino;
	f->exact = !memcmp(name, f->name, len);
	return f->exact;
}

int windows_find(imgfmt_fs *fs, const char *path, char *out, size_t size, struct imgfmt_stat *st)
{
	uint64_t dir = imgfmt_fs_root(fs);
	size_t used = 0;
	int rc;

	while (*path) {
		struct find_ctx f = { 0 };
		while (*path == '/')
			path++;
		f.name = path;
		f.len = strcspn(path, "/");
		if (!f.len)
			break;
		path += f.len;
		rc = imgfmt_fs_readdir(fs, dir, find_one, &f);
		if (rc < 0)
			return rc;
		if (!f.found[0])
			return -ENOENT;
		if (used + 1 + strlen(f.found) >= size)
			return -ENAMETOOLONG;
		used += (size_t)snprintf(out + used, size - used, "/%s", f.found);
		dir = f.ino;
	}
	if (!used && size > 1)
		snprintf(out, size, "/");
	return imgfmt_fs_stat(fs, dir, st);
}

int windows_check_hostname(const char *name, char *err, size_t errlen)
{
	size_t label = strcspn(name, ".");
	bool digits = true;

	for (size_t i = 0; i < label; i++)
		digits = digits && isdigit((unsigned char)name[i]);
	if (label > NETBIOS_MAX) {
		snprintf(err, errlen, "--hostname: \"%.*s\" is longer than the %d characters a Windows computer name may "
			 "have", (int)label, name, NETBIOS_MAX);
		return -1;
	}
	if (digits) {
		snprintf(err, errlen, "--hostname: \"%.*s\" is only digits, which a Windows computer name may not be",
			 (int)label, name);
		return -1;
	}
	return 0;
}

static void not_changed(struct report *rep, const char *volume, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void not_changed(struct report *rep, const char *volume, const char *fmt, ...)
{
	char why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	report_not_done(rep, "%s: Windows: the computer name is not changed: %s", volume, why);
}

/* The SYSTEM hive's bytes (found at PATH, ST) into *DATA; 1 with the reason
 * reported when it cannot be read or written, -ENOMEM. */
static int read_hive(imgfmt_fs *fs, const char *volume, const char *path, const struct imgfmt_stat *st,
		     struct report *rep, char **data)
{
	uint64_t done = 0;

	if (!S_ISREG(st->mode) || (st->flags & ATTR_REPARSE_POINT)) {
		not_changed(rep, volume, "%s is not a regular file", path);
		return 1;
	}
	if (st->flags & (ATTR_READONLY | ATTR_COMPRESSED | ATTR_ENCRYPTED)) {
		not_changed(rep, volume, "%s is %s", path, (st->flags & ATTR_READONLY) ? "read-only" :
			    (st->flags & ATTR_COMPRESSED) ? "NTFS-compressed" : "encrypted");
		return 1;
	}
	if (st->size > HIVE_MAX) {
		not_changed(rep, volume, "%s is larger than %u MiB", path, HIVE_MAX >> 20);
		return 1;
	}
	if (!(*data = malloc(st->size ? (size_t)st->size : 1)))
		return -ENOMEM;
	while (done < st->size) {
		ssize_t n = imgfmt_fs_pread(fs, st->ino, NULL, *data + done, (size_t)(st->size - done), done);
		if (n <= 0) {
			not_changed(rep, volume, "cannot read %s: %s", path, n < 0 ? imgfmt_fs_error(fs) : "short read");
			free(*data);
			*data = NULL;
			return 1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

int windows_set_computer_name(imgfmt_fs *fs, const char *volume, const char *hostname, bool dry, struct report *rep,
			      char *err, size_t errlen)
{
	size_t label = strcspn(hostname, ".");
	char path[1024], netbios[NETBIOS_MAX + 1], host[64], why[512];
	struct hive_edit e;
	struct imgfmt_stat st;
	char *data = NULL;
	int rc;

	if (label > NETBIOS_MAX || label >= sizeof(host)) { /* (checked before the run) */
		snprintf(err, errlen, "%s: the computer name is too long", volume);
		return -EINVAL;
	}
	memcpy(host, hostname, label);
	host[label] = '\0';
	for (size_t i = 0; i <= label; i++)
		netbios[i] = (char)toupper((unsigned char)host[i]);
	if (windows_find(fs, SYSTEM_HIVE, path, sizeof(path), &st) < 0) {
		not_changed(rep, volume, "no SYSTEM hive (%s)", SYSTEM_HIVE);
		return 0;
	}
	if ((rc = read_hive(fs, volume, path, &st, rep, &data)) != 0) {
		if (rc < 0)
			snprintf(err, errlen, "%s: out of memory", volume);
		return rc < 0 ? rc : 0;
	}
	rc = hive_set_computer_name(data, (size_t)st.size, netbios, host, &e, why, sizeof(why));
	free(data);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s: %s", volume, path, why);
		return rc;
	}
	if (rc > 0) {
		not_changed(rep, volume, "%s", why);
		return 0;
	}
	if (!dry && (rc = imgfmt_fs_write_file(fs, path, e.data, e.len, NULL)) < 0)
		snprintf(err, errlen, "%s: %s", volume, imgfmt_fs_error(fs));
	else
		report_change(rep, OP_HOSTNAME, "%s: computer name set to %s in the SYSTEM hive (%s: ComputerName%s; "
			      "Tcpip Hostname and NV Hostname %s)", volume, netbios, e.control_set,
			      e.active ? ", ActiveComputerName" : "", host);
	hive_edit_free(&e);
	return rc;
}
