/* ceph.c --- a connection to a Ceph cluster's pool, configured the standard way
 *
 * Shared by RBD disks (disk_rbd.c) and RADOS objects (rados.c): the spec's
 * ":KEY=VALUE" options (id= the client name, conf= the configuration file,
 * any other key a Ceph option), then the connection: the file (conf= or
 * the search: $CEPH_CONF, /etc/ceph/ceph.conf, ...), $CEPH_ARGS, the
 * spec's options, in that order.
 */
#include "imgfmt_private.h"
#include "ceph.h"

#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>

int imgfmt_ceph_options(char *err, struct ceph_opts *o, char *opts)
{
	while (opts) {
		char *next = strchr(opts, ':'), *eq;
		if (next)
			*next++ = '\0';
		eq = strchr(opts, '=');
		if (!eq || eq == opts || !eq[1])
			return imgfmt_fail(err, -EINVAL, "Ceph option '%s': want KEY=VALUE", opts);
		*eq++ = '\0';
		if (!strcmp(opts, "id"))
			o->id = eq;
		else if (!strcmp(opts, "conf"))
			o->conf = eq;
		else if (o->n == CEPH_MAX_OPTS)
			return imgfmt_fail(err, -EINVAL, "too many Ceph options");
		else {
			o->key[o->n] = opts;
			o->value[o->n++] = eq;
		}
		opts = next;
	}
	return 0;
}

/* librados logs to stderr by default; the library never prints. */
static void quiet(const struct ceph_conn *c)
{
	c->api->rados_conf_set(c->cluster, "log_to_stderr", "false");
	c->api->rados_conf_set(c->cluster, "err_to_stderr", "false");
}

static int connect_cluster(char *err, struct ceph_conn *c, const struct ceph_opts *o)
{
	int rc = c->api->rados_create(&c->cluster, o->id);

	if (rc < 0) {
		c->cluster = NULL;
		return imgfmt_fail(err, rc, "cannot set up a Ceph client: %s", strerror(-rc));
	}
	quiet(c);
	/* an OSD that never answers is an error after a minute, not a hang
	 * (the configuration and the spec may say otherwise) */
	c->api->rados_conf_set(c->cluster, "rados_osd_op_timeout", "60");
	if ((rc = c->api->rados_conf_read_file(c->cluster, o->conf)) < 0)
		return imgfmt_fail(err, rc, "cannot read the Ceph configuration %s: %s",
				   o->conf ? o->conf : "($CEPH_CONF, /etc/ceph/ceph.conf)", strerror(-rc));
	if ((rc = c->api->rados_conf_parse_env(c->cluster, NULL)) < 0)
		return imgfmt_fail(err, rc, "bad $CEPH_ARGS: %s", strerror(-rc));
	for (int i = 0; i < o->n; i++)
		if (c->api->rados_conf_set(c->cluster, o->key[i], o->value[i]) < 0)
			return imgfmt_fail(err, -EINVAL, "Ceph option '%s': not a Ceph option, or a bad value", o->key[i]);
	quiet(c);
	if ((rc = c->api->rados_connect(c->cluster)) < 0)
		return imgfmt_fail(err, rc, "cannot connect to the Ceph cluster: %s", strerror(-rc));
	return 0;
}

int imgfmt_ceph_pool(char *err, struct ceph_conn *c, const struct ceph_opts *o, const char *pool, const char *ns,
		     const char *who)
{
	sigset_t pipe, old;
	char why[200];
	int rc;

	memset(c, 0, sizeof(*c));
	if (!(c->api = imgfmt_rbd_api(why, sizeof(why))))
		return imgfmt_fail(err, -ENOSYS, "%s need librados and librbd: %s", who, why);
	/* librados' threads, started now, inherit SIGPIPE blocked: a socket
	 * the cluster closed under them (after the process was stopped a
	 * while) is an error to them, not the end of the calling program */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	rc = connect_cluster(err, c, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		return rc;
	if ((rc = c->api->rados_ioctx_create(c->cluster, pool, &c->io)) < 0) {
		c->io = NULL;
		return rc == -ENOENT ? imgfmt_fail(err, rc, "no pool '%s' in the Ceph cluster", pool)
				     : imgfmt_fail(err, rc, "cannot open pool '%s': %s", pool, strerror(-rc));
	}
	if (ns)
		c->api->rados_ioctx_set_namespace(c->io, ns);
	return 0;
}

void imgfmt_ceph_close(struct ceph_conn *c)
{
	if (c->io)
		c->api->rados_ioctx_destroy(c->io);
	if (c->cluster)
		c->api->rados_shutdown(c->cluster);
	c->io = NULL, c->cluster = NULL;
}
