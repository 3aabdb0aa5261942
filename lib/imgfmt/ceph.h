/* ceph.h --- a connection to a Ceph cluster's pool (private; see ceph.c) */
#ifndef IMGFMT_CEPH_H
#define IMGFMT_CEPH_H

#include "rbd_api.h"

enum { CEPH_MAX_OPTS = 32 };

/* A spec's ":KEY=VALUE" options, pointing into the caller's copy of it. */
struct ceph_opts {
	char *id, *conf;
	char *key[CEPH_MAX_OPTS], *value[CEPH_MAX_OPTS];
	int n;
};

struct ceph_conn {
	const struct imgfmt_rbd_api *api;
	rados_t cluster;
	rados_ioctx_t io;
};

/* Cut OPTS ("K=V:K=V...", cut in place; NULL: none) into O (zeroed by the
 * caller); 0 or -EINVAL with the message in ERR. */
int imgfmt_ceph_options(char *err, struct ceph_opts *o, char *opts);
/* Load librados, connect as O says and open POOL (NS: its namespace, or
 * NULL); WHO names what needs it in the message when librados is missing
 * ("rbd: disks").  0, or a negative errno with the message in ERR; C is
 * then closed with imgfmt_ceph_close() either way. */
int imgfmt_ceph_pool(char *err, struct ceph_conn *c, const struct ceph_opts *o, const char *pool, const char *ns,
		     const char *who);
void imgfmt_ceph_close(struct ceph_conn *c);

#endif
