/* rados.c --- objects in a Ceph RADOS pool ("rados:POOL[/NAMESPACE]"), through librados
 *
 * What a repository kept in RADOS needs: whole objects written (durable on
 * every replica when the call returns: librados acknowledges a write once
 * it is committed), read at an offset, sized, removed, listed, and
 * advisory locks (cls_lock) that end by themselves when their holder dies:
 * each is taken for a duration and renewed by a thread while it is held,
 * so a process killed with -9 leaves nothing that blocks the next run for
 * longer than one duration.
 */
#include "imgfmt_private.h"
#include "ceph.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME "rawkit"
#define LOCK_TAG "rawkit"

struct held_lock {
	char *object;
	bool exclusive;
	struct held_lock *next;
};

struct imgfmt_rados {
	struct ceph_conn c;
	char *spec_copy;
	char cookie[48];
	/* locks held, renewed every duration_s / 3 seconds by the renewer
	 * thread; LOST once a renewal failed (the lease may have lapsed, and
	 * another client may hold the lock since) */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct held_lock *locks;
	unsigned duration_s;
	bool renewer, stopping, lost;
	pthread_t renewer_thread;
	char error[IMGFMT_ERRLEN];
};

int imgfmt_rados_is_spec(const char *s)
{
	return s && strncmp(s, "rados:", 6) == 0;
}

imgfmt_rados *imgfmt_rados_new(void)
{
	imgfmt_rados *r = calloc(1, sizeof(*r));
	unsigned char rnd[8];

	if (!r)
		return NULL;
	pthread_condattr_t ca;

	pthread_mutex_init(&r->mu, NULL);
	/* a wall clock set back does not delay a renewal */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(r->cookie, sizeof(r->cookie), "%d-%02x%02x%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	return r;
}

const char *imgfmt_rados_error(const imgfmt_rados *r)
{
	return r->error;
}

/* "rados:POOL[/NAMESPACE][:KEY=VALUE...]" */
int imgfmt_rados_open(imgfmt_rados *r, const char *spec)
{
	char *colon, *pool, *ns = NULL;
	struct ceph_opts o = { 0 };
	int rc;

	if (r->c.io)
		return imgfmt_fail(r->error, -EBUSY, "already open");
	if (!imgfmt_rados_is_spec(spec))
		return imgfmt_fail(r->error, -EINVAL, "not a RADOS spec: want rados:POOL[/NAMESPACE]");
	free(r->spec_copy);
	if (!(r->spec_copy = strdup(spec + 6)))
		return imgfmt_fail(r->error, -ENOMEM, "out of memory");
	pool = r->spec_copy;
	if ((colon = strchr(pool, ':')))
		*colon++ = '\0';
	if ((ns = strchr(pool, '/')))
		*ns++ = '\0';
	if (!pool[0] || (ns && (!ns[0] || strchr(ns, '/'))))
		return imgfmt_fail(r->error, -EINVAL, "not a RADOS spec: want rados:POOL[/NAMESPACE][:id=NAME][:conf=PATH]");
	if ((rc = imgfmt_ceph_options(r->error, &o, colon)) < 0)
		return rc;
	if ((rc = imgfmt_ceph_pool(r->error, &r->c, &o, pool, ns, "rados: repositories")) < 0)
		imgfmt_ceph_close(&r->c);
	return rc;
}

static int not_open(imgfmt_rados *r)
{
	return r->c.io ? 0 : imgfmt_fail(r->error, -EBADF, "not open");
}

int imgfmt_rados_write(imgfmt_rados *r, const char *name, const void *buf, size_t len)
{
	int rc = not_open(r);

	if (rc == 0 && (rc = r->c.api->rados_write_full(r->c.io, name, buf, len)) < 0)
		imgfmt_fail(r->error, rc, "cannot write object %s: %s", name, strerror(-rc));
	return rc;
}

int imgfmt_rados_write_many(imgfmt_rados *r, size_t n, const char *const *names, const void *const *bufs,
			    const size_t *lens)
{
	rados_completion_t *c;
	int rc = not_open(r), first = 0;
	size_t started = 0;

	if (rc < 0)
		return rc;
	if (!(c = calloc(n ? n : 1, sizeof(*c))))
		return imgfmt_fail(r->error, -ENOMEM, "out of memory");
	for (; started < n; started++) {
		if ((rc = r->c.api->rados_aio_create_completion2(NULL, NULL, &c[started])) < 0)
			break;
		if ((rc = r->c.api->rados_aio_write_full(r->c.io, names[started], c[started], bufs[started],
							 lens[started])) < 0) {
			r->c.api->rados_aio_release(c[started]);
			break;
		}
	}
	if (rc < 0)
		imgfmt_fail(r->error, rc, "cannot write object %s: %s", names[started], strerror(-rc));
	/* every write started is waited for, whatever became of the others */
	for (size_t i = 0; i < started; i++) {
		r->c.api->rados_aio_wait_for_complete(c[i]);
		int got = r->c.api->rados_aio_get_return_value(c[i]);
		r->c.api->rados_aio_release(c[i]);
		if (got < 0 && rc == 0 && !first) {
			first = 1;
			rc = imgfmt_fail(r->error, got, "cannot write object %s: %s", names[i], strerror(-got));
		}
	}
	free(c);
	return rc;
}

int imgfmt_rados_create(imgfmt_rados *r, const char *name, const void *buf, size_t len)
{
	rados_write_op_t op;
	int rc = not_open(r);

	if (rc < 0)
		return rc;
	if (!(op = r->c.api->rados_create_write_op()))
		return imgfmt_fail(r->error, -ENOMEM, "out of memory");
	r->c.api->rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	r->c.api->rados_write_op_write_full(op, buf, len);
	rc = r->c.api->rados_write_op_operate(op, r->c.io, name, NULL, 0);
	r->c.api->rados_release_write_op(op);
	if (rc == -EEXIST)
		imgfmt_fail(r->error, rc, "object %s exists", name);
	else if (rc < 0)
		imgfmt_fail(r->error, rc, "cannot create object %s: %s", name, strerror(-rc));
	return rc;
}

ssize_t imgfmt_rados_read(imgfmt_rados *r, const char *name, void *buf, size_t len, uint64_t off)
{
	int rc = not_open(r);
	size_t done = 0;

	if (rc < 0)
		return rc;
	/* librados reads at most INT_MAX bytes a call; rawkit reads far less */
	while (done < len) {
		size_t want = len - done > (1u << 30) ? (1u << 30) : len - done;
		rc = r->c.api->rados_read(r->c.io, name, (char *)buf + done, want, off + done);
		if (rc < 0)
			return rc == -ENOENT ? imgfmt_fail(r->error, rc, "no object %s", name)
					     : imgfmt_fail(r->error, rc, "cannot read object %s: %s", name, strerror(-rc));
		done += (size_t)rc;
		if ((size_t)rc < want)
			break; /* the object's end */
	}
	return (ssize_t)done;
}

int imgfmt_rados_size(imgfmt_rados *r, const char *name, uint64_t *size)
{
	time_t mtime;
	int rc = not_open(r);

	if (rc == 0 && (rc = r->c.api->rados_stat(r->c.io, name, size, &mtime)) < 0)
		imgfmt_fail(r->error, rc, rc == -ENOENT ? "no object %s" : "cannot stat object %s: %s", name,
			    strerror(-rc));
	return rc;
}

int imgfmt_rados_remove(imgfmt_rados *r, const char *name)
{
	int rc = not_open(r);

	if (rc == 0 && (rc = r->c.api->rados_remove(r->c.io, name)) < 0)
		imgfmt_fail(r->error, rc, rc == -ENOENT ? "no object %s" : "cannot remove object %s: %s", name,
			    strerror(-rc));
	return rc;
}

int imgfmt_rados_list(imgfmt_rados *r, int (*cb)(const char *name, void *arg), void *arg)
{
	rados_list_ctx_t ctx;
	const char *name;
	int rc = not_open(r), stop = 0;

	if (rc < 0)
		return rc;
	if ((rc = r->c.api->rados_nobjects_list_open(r->c.io, &ctx)) < 0)
		return imgfmt_fail(r->error, rc, "cannot list the pool's objects: %s", strerror(-rc));
	while (!stop && (rc = r->c.api->rados_nobjects_list_next(ctx, &name, NULL, NULL)) == 0)
		stop = cb(name, arg);
	r->c.api->rados_nobjects_list_close(ctx);
	if (rc < 0 && rc != -ENOENT)
		return imgfmt_fail(r->error, rc, "cannot list the pool's objects: %s", strerror(-rc));
	return stop;
}

/* ---- locks */

static int take(imgfmt_rados *r, const char *object, bool exclusive, uint8_t flags)
{
	struct timeval d = { (time_t)r->duration_s, 0 };

	return exclusive ? r->c.api->rados_lock_exclusive(r->c.io, object, LOCK_NAME, r->cookie, "rawkit", &d, flags)
			 : r->c.api->rados_lock_shared(r->c.io, object, LOCK_NAME, r->cookie, LOCK_TAG, "rawkit", &d,
						       flags);
}

/* Renew every lock held (R->mu held): MUST_RENEW, so that a lock whose
 * lease lapsed (the process stopped, the cluster unreachable for a whole
 * duration) is never silently taken again: it is LOST, for good. */
static int renew_all(imgfmt_rados *r)
{
	int rc = 0, one;

	for (struct held_lock *l = r->locks; l; l = l->next)
		if ((one = take(r, l->object, l->exclusive, LIBRADOS_LOCK_FLAG_MUST_RENEW)) < 0 && rc == 0)
			rc = one;
	if (rc < 0)
		r->lost = true;
	return rc;
}

/* Renew every lock held a third of the way through its duration. */
static void *renewer(void *arg)
{
	imgfmt_rados *r = arg;
	struct timespec at;

	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += r->duration_s / 3 ? r->duration_s / 3 : 1;
		pthread_cond_timedwait(&r->wake, &r->mu, &at);
		if (r->stopping)
			break;
		if (r->locks && !r->lost)
			renew_all(r);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int imgfmt_rados_locks_held(imgfmt_rados *r)
{
	int rc = not_open(r);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	if (!r->locks)
		rc = imgfmt_fail(r->error, -ENOLCK, "no lock is held");
	else if (r->lost || renew_all(r) < 0)
		rc = imgfmt_fail(r->error, -ENOLCK, "a lock was lost: its lease ran out before it was renewed");
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int imgfmt_rados_lock(imgfmt_rados *r, const char *object, int exclusive, unsigned seconds)
{
	struct held_lock *l;
	int rc = not_open(r);

	if (rc < 0)
		return rc;
	if (seconds == 0)
		return imgfmt_fail(r->error, -EINVAL, "a lock needs a duration");
	pthread_mutex_lock(&r->mu);
	if (r->locks && seconds != r->duration_s) {
		pthread_mutex_unlock(&r->mu);
		return imgfmt_fail(r->error, -EINVAL, "every lock of a handle has the same duration");
	}
	r->duration_s = seconds;
	rc = take(r, object, exclusive, 0);
	if (rc == -EBUSY || rc == -EEXIST) {
		pthread_mutex_unlock(&r->mu);
		return imgfmt_fail(r->error, -EBUSY, "object %s is locked by another client", object);
	}
	if (rc < 0) {
		pthread_mutex_unlock(&r->mu);
		return imgfmt_fail(r->error, rc, "cannot lock object %s: %s", object, strerror(-rc));
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->object = strdup(object))) {
		free(l);
		r->c.api->rados_unlock(r->c.io, object, LOCK_NAME, r->cookie);
		pthread_mutex_unlock(&r->mu);
		return imgfmt_fail(r->error, -ENOMEM, "out of memory");
	}
	l->exclusive = exclusive;
	if (!r->renewer && pthread_create(&r->renewer_thread, NULL, renewer, r) != 0) {
		/* a lock nobody renews would lapse under the holder */
		r->c.api->rados_unlock(r->c.io, object, LOCK_NAME, r->cookie);
		free(l->object);
		free(l);
		pthread_mutex_unlock(&r->mu);
		return imgfmt_fail(r->error, -EAGAIN, "cannot start the thread that renews locks");
	}
	r->renewer = true;
	l->next = r->locks;
	r->locks = l;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

int imgfmt_rados_unlock(imgfmt_rados *r, const char *object)
{
	struct held_lock **p, *l = NULL;
	int rc = not_open(r);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	for (p = &r->locks; *p; p = &(*p)->next)
		if (!strcmp((*p)->object, object)) {
			l = *p;
			*p = l->next;
			break;
		}
	pthread_mutex_unlock(&r->mu);
	if (!l)
		return imgfmt_fail(r->error, -ENOENT, "object %s is not locked here", object);
	rc = r->c.api->rados_unlock(r->c.io, object, LOCK_NAME, r->cookie);
	free(l->object);
	free(l);
	if (rc < 0 && rc != -ENOENT)
		return imgfmt_fail(r->error, rc, "cannot unlock object %s: %s", object, strerror(-rc));
	return 0;
}

void imgfmt_rados_free(imgfmt_rados *r)
{
	if (!r)
		return;
	if (r->renewer) {
		pthread_mutex_lock(&r->mu);
		r->stopping = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->renewer_thread, NULL);
	}
	while (r->locks) {
		struct held_lock *l = r->locks;
		r->locks = l->next;
		if (r->c.io)
			r->c.api->rados_unlock(r->c.io, l->object, LOCK_NAME, r->cookie);
		free(l->object);
		free(l);
	}
	imgfmt_ceph_close(&r->c);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->wake);
	free(r->spec_copy);
	free(r);
}
