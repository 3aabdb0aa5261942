/* rbd_api.h --- librados and librbd, loaded when the first rbd: disk is
 * opened (private)
 *
 * Linked in, the two libraries (and the C++ runtime, Boost and the rest
 * they bring) cost every tool 16 MiB of memory and a start-up's worth of
 * time, rbd: disk or not.  They are loaded with dlopen() instead, once;
 * the headers give the types.
 */
#ifndef IMGFMT_RBD_API_H
#define IMGFMT_RBD_API_H

#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stddef.h>

#define RBD_API_FN(name) __typeof__(name) *name
struct imgfmt_rbd_api {
	RBD_API_FN(rados_create);
	RBD_API_FN(rados_conf_set);
	RBD_API_FN(rados_conf_read_file);
	RBD_API_FN(rados_conf_parse_env);
	RBD_API_FN(rados_connect);
	RBD_API_FN(rados_shutdown);
	RBD_API_FN(rados_ioctx_create);
	RBD_API_FN(rados_ioctx_set_namespace);
	RBD_API_FN(rados_ioctx_destroy);
	/* RADOS objects (rados.c) */
	RBD_API_FN(rados_write_full);
	RBD_API_FN(rados_aio_create_completion2);
	RBD_API_FN(rados_aio_write_full);
	RBD_API_FN(rados_aio_wait_for_complete);
	RBD_API_FN(rados_aio_get_return_value);
	RBD_API_FN(rados_aio_release);
	RBD_API_FN(rados_read);
	RBD_API_FN(rados_stat);
	RBD_API_FN(rados_remove);
	RBD_API_FN(rados_create_write_op);
	RBD_API_FN(rados_write_op_create);
	RBD_API_FN(rados_write_op_write_full);
	RBD_API_FN(rados_write_op_operate);
	RBD_API_FN(rados_release_write_op);
	RBD_API_FN(rados_nobjects_list_open);
	RBD_API_FN(rados_nobjects_list_next);
	RBD_API_FN(rados_nobjects_list_close);
	RBD_API_FN(rados_lock_exclusive);
	RBD_API_FN(rados_lock_shared);
	RBD_API_FN(rados_unlock);
	RBD_API_FN(rbd_open_read_only);
	RBD_API_FN(rbd_close);
	RBD_API_FN(rbd_read2);
	RBD_API_FN(rbd_get_size);
	RBD_API_FN(rbd_diff_iterate2);
	/* backup --snapshot, and new images (copy targets) */
	RBD_API_FN(rbd_open);
	RBD_API_FN(rbd_snap_create);
	RBD_API_FN(rbd_snap_remove);
	RBD_API_FN(rbd_create2);
	RBD_API_FN(rbd_write2);
	RBD_API_FN(rbd_flush);
	RBD_API_FN(rbd_remove);
	RBD_API_FN(rbd_rename);
};
#undef RBD_API_FN

/* The functions, loaded on the first call (any thread); NULL when the
 * libraries are not installed, with the reason in WHY. */
const struct imgfmt_rbd_api *imgfmt_rbd_api(char *why, size_t len);

#endif
