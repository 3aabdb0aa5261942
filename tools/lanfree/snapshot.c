/* snapshot.c --- backup --snapshot: an RBD snapshot made for one backup, removed after it
 *
 * The snapshot must not outlive the backup: not when it fails, and not
 * when SIGTERM, SIGINT or SIGHUP ends it.  librbd cannot be called from a
 * signal handler, so those signals are waited for on a thread
 * (cli_clean_up_on_signals_in_thread(), set up before librados starts
 * threads of its own: they inherit the mask), which removes the snapshot
 * as ordinary code, then lets the signal kill the process as it would
 * have.  Only SIGKILL (or a crash) leaves the snapshot behind; its name,
 * rawkit-<UTC time>, says whose it is.
 */
#include "lanfree.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	pthread_mutex_t lock;
	char *image;       /* rbd:POOL/IMAGE[:options] */
	char name[40];     /* rawkit-20261130T211500Z */
	bool made, removed;
} snap = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Remove the snapshot once, whoever asks first; the lock is held. */
static int remove_locked(void)
{
	imgfmt_disk *handle;
	int rc = 0;

	if (!snap.made || snap.removed)
		return 0;
	snap.removed = true;
	handle = imgfmt_disk_new();
	if (!handle || imgfmt_rbd_snapshot_remove(handle, snap.image, snap.name) < 0) {
		cli_error(snap.image, "cannot remove snapshot %s (remove it with rbd snap rm): %s", snap.name,
			  handle ? imgfmt_disk_error(handle) : "out of memory");
		rc = -1;
	}
	imgfmt_disk_free(handle);
	return rc;
}

/* SIGTERM, SIGINT or SIGHUP (on the signal thread): the lock stays held,
 * the process ends right after. */
static void remove_on_signal(void)
{
	pthread_mutex_lock(&snap.lock);
	remove_locked();
}

/* "rbd:POOL/IMAGE:OPTS" with "@SNAP" after IMAGE; malloc'd. */
static char *with_snapshot(const char *spec, const char *name)
{
	size_t cut = 4 + strcspn(spec + 4, ":");
	char *s;

	if (asprintf(&s, "%.*s@%s%s", (int)cut, spec, name, spec + cut) < 0)
		return NULL;
	return s;
}

bool snapshot_spec_ok(const char *disk, const char **why)
{
	size_t cut;

	if (strncmp(disk, "rbd:", 4) != 0) {
		*why = "DISK must be an RBD image (rbd:POOL/IMAGE)";
		return false;
	}
	cut = 4 + strcspn(disk + 4, ":");
	if (memchr(disk + 4, '@', cut - 4)) {
		*why = "DISK already names a snapshot (rbd:POOL/IMAGE@SNAP): give the image alone";
		return false;
	}
	return true;
}

int snapshot_begin(const char *disk, char **spec)
{
	imgfmt_disk *handle = imgfmt_disk_new();
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	*spec = NULL;
	gmtime_r(&now, &tm);
	strftime(snap.name, sizeof(snap.name), "rawkit-%Y%m%dT%H%M%SZ", &tm);
	snap.image = strdup(disk);
	if (!handle || !snap.image || !(*spec = with_snapshot(disk, snap.name))) {
		cli_error(disk, "out of memory");
		goto out;
	}
	if (cli_clean_up_on_signals_in_thread(NULL, remove_on_signal) < 0) {
		cli_error(disk, "cannot start a thread to watch for signals");
		goto out;
	}
	pthread_mutex_lock(&snap.lock);
	if (imgfmt_rbd_snapshot_create(handle, disk, snap.name) < 0)
		cli_error(disk, "cannot snapshot: %s", imgfmt_disk_error(handle));
	else
		rc = 0, snap.made = true;
	pthread_mutex_unlock(&snap.lock);
out:
	imgfmt_disk_free(handle);
	if (rc < 0) {
		free(*spec);
		*spec = NULL;
	}
	return rc;
}

int snapshot_end(void)
{
	int rc;

	/* a signal being handled holds the lock until the process ends */
	pthread_mutex_lock(&snap.lock);
	rc = remove_locked();
	free(snap.image);
	snap.image = NULL;
	pthread_mutex_unlock(&snap.lock);
	return rc;
}
