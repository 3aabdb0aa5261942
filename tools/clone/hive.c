/* hive.c --- the computer name in the bytes of a Windows SYSTEM hive, through hivex
 *
 * No filesystem here: bytes in, bytes out (windows.c reads and writes the
 * file), so that a test or a fuzzer can drive it.  The hive is untrusted:
 * whatever hivex cannot open, and every key that is missing, is a reason
 * given back, never a crash.
 *
 * hivex opens and commits files only.  Its file is a temporary one that is
 * unlinked as soon as it is made and reached through /proc/self/fd: a copy
 * of the hive (which holds the key that decrypts the SAM's hashes) is
 * never left behind, not even by a process killed half-way.
 */
#include "clone.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A reason for WHY, and the return value of a hive that cannot be edited. */
static int cannot(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cannot(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 1;
}

/* A file of LEN bytes of DATA, unlinked already: its descriptor, or
 * -errno with WHY. */
static int temp_copy(const void *data, size_t len, char *why, size_t whylen)
{
	char tmp[4096];
	size_t done = 0;
	int fd, err;

	run_temp_template(tmp, sizeof(tmp), "rawkit-hive", "/tmp");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, whylen, "cannot make a temporary file (%s): %s", tmp, strerror(err));
		return -err;
	}
	unlink(tmp);
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)data + done, len - done, (off_t)done);
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			snprintf(why, whylen, "cannot write a temporary copy of the hive: %s", strerror(err));
			close(fd);
			return -err;
		}
		done += (size_t)n;
	}
	return fd;
}

/* The whole file open on FD into *OUT (malloc'd); 0 or -errno with WHY. */
static int read_back(int fd, char **out, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	size_t done = 0;
	char *buf;

	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		snprintf(why, whylen, "cannot read the edited hive back: %s", strerror(errno ? errno : EIO));
		return -EIO;
	}
	if (!(buf = malloc((size_t)st.st_size))) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (n <= 0) {
			snprintf(why, whylen, "cannot read the edited hive back: %s", n < 0 ? strerror(errno) : "short read");
			free(buf);
			return -EIO;
		}
		done += (size_t)n;
	}
	*out = buf;
	*len = done;
	return 0;
}

/* The key at PATH ("Control\\ComputerName\\ComputerName") under NODE, 0
 * when a part of it is missing (hivex matches names as Windows does,
 * case-insensitively). */
static hive_node_h subkey(hive_h *h, hive_node_h node, const char *path)
{
	char part[64];

	while (node && *path) {
		size_t len = strcspn(path, "\\");
		if (len >= sizeof(part))
			return 0;
		memcpy(part, path, len);
		part[len] = '\0';
		node = hivex_node_get_child(h, node, part);
		path += len + (path[len] == '\\');
	}
	return node;
}

/* REG_SZ value NAME of NODE set to TEXT (ASCII: a checked host name) as
 * Windows stores it, UTF-16LE with its terminating NUL. */
static int set_string(hive_h *h, hive_node_h node, const char *name, const char *text)
{
	size_t n = strlen(text);
	char utf16[2 * 64 + 2] = { 0 }, key[32];
	hive_set_value v = { .key = key, .t = hive_t_REG_SZ, .len = 2 * n + 2, .value = utf16 };

	if (n >= 64 || strlen(name) >= sizeof(key))
		return -1;
	snprintf(key, sizeof(key), "%s", name);
	for (size_t i = 0; i < n; i++)
		utf16[2 * i] = text[i];
	return hivex_node_set_value(h, node, &v, 0);
}

/* The control set Select\Current names ("ControlSet002") into CS. */
static int current_control_set(hive_h *h, char cs[16], char *why, size_t whylen)
{
	hive_node_h select = hivex_node_get_child(h, hivex_root(h), "Select");
	hive_value_h current = select ? hivex_node_get_value(h, select, "Current") : 0;
	hive_type type;
	size_t len;
	int32_t n;

	if (!current)
		return cannot(why, whylen, "the SYSTEM hive has no Select\\Current");
	if (hivex_value_type(h, current, &type, &len) < 0 || type != hive_t_REG_DWORD || len != 4)
		return cannot(why, whylen, "Select\\Current in the SYSTEM hive is not a DWORD");
	n = hivex_value_dword(h, current);
	if (n < 1 || n > 999)
		return cannot(why, whylen, "Select\\Current in the SYSTEM hive is %d, which names no control set", (int)n);
	snprintf(cs, 16, "ControlSet%03d", (int)n);
	return 0;
}

/* The edit itself, on the open hive H. */
static int edit(hive_h *h, const char *netbios, const char *host, struct hive_edit *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "Control\\ComputerName\\ComputerName", "Services\\Tcpip\\Parameters" };
	hive_node_h set, found[2], active;
	int rc = current_control_set(h, out->control_set, why, whylen);

	if (rc)
		return rc;
	if (!(set = hivex_node_get_child(h, hivex_root(h), out->control_set)))
		return cannot(why, whylen, "the SYSTEM hive has no %s (the one Select\\Current names)", out->control_set);
	for (size_t k = 0; k < 2; k++)
		if (!(found[k] = subkey(h, set, keys[k])))
			return cannot(why, whylen, "the SYSTEM hive has no %s\\%s", out->control_set, keys[k]);
	active = subkey(h, set, "Control\\ComputerName\\ActiveComputerName");
	if (set_string(h, found[0], "ComputerName", netbios) < 0 || set_string(h, found[1], "Hostname", host) < 0 ||
	    set_string(h, found[1], "NV Hostname", host) < 0 ||
	    (active && set_string(h, active, "ComputerName", netbios) < 0))
		return cannot(why, whylen, "hivex cannot set the value in the SYSTEM hive: %s", strerror(errno ? errno : EINVAL));
	out->active = active != 0;
	return 0;
}

int hive_set_computer_name(const void *data, size_t len, const char *netbios, const char *host, struct hive_edit *out,
			   char *why, size_t whylen)
{
	const unsigned char *b = data;
	char path[64];
	hive_h *h;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	/* A hive whose newest changes are still in SYSTEM.LOG1/LOG2 (its two
	 * sequence numbers differ): Windows would replay the logs over an edit,
	 * and hivex does not read them. */
	if (len >= 12 && !memcmp(b, "regf", 4) && memcmp(b + 4, b + 8, 4))
		return cannot(why, whylen, "the SYSTEM hive has changes still in its transaction logs (SYSTEM.LOG1, "
			      "SYSTEM.LOG2): start the golden guest and shut it down cleanly");
	if ((fd = temp_copy(data, len, why, whylen)) < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	errno = 0;
	if (!(h = hivex_open(path, HIVEX_OPEN_WRITE))) {
		int err = errno ? errno : EINVAL;
		close(fd);
		if (err == ENOENT || err == ENOMEM) {
			snprintf(why, whylen, "hivex cannot open the hive's temporary copy (%s): %s", path, strerror(err));
			return -err;
		}
		return cannot(why, whylen, "hivex cannot open the SYSTEM hive: %s", strerror(err));
	}
	rc = edit(h, netbios, host, out, why, whylen);
	if (rc == 0 && hivex_commit(h, path, 0) < 0) {
		snprintf(why, whylen, "hivex cannot write the edited hive: %s", strerror(errno ? errno : EIO));
		rc = -EIO;
	}
	hivex_close(h);
	if (rc == 0)
		rc = read_back(fd, &out->data, &out->len, why, whylen);
	close(fd);
	return rc;
}

void hive_edit_free(struct hive_edit *e)
{
	free(e->data);
	e->data = NULL;
	e->len = 0;
}
