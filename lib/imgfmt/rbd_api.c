/* rbd_api.c --- librados and librbd loaded on first use (see rbd_api.h) */
#include "rbd_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

static struct imgfmt_rbd_api api;
static char failed[200]; /* why they could not be loaded, or "" */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* SYM from LIB (the file NAME) into *FN; false (FAILED says so) if absent. */
static bool find(void *lib, const char *name, const char *sym, void **fn)
{
	if ((*fn = dlsym(lib, sym)))
		return true;
	if (!failed[0])
		snprintf(failed, sizeof(failed), "%s has no %s()", name, sym);
	return false;
}

#define FIND(lib, name, fn) find(lib, name, #fn, (void **)&api.fn)

static void load(void)
{
	/* (RTLD_NODELETE: their threads and atexit handlers outlive any close) */
	void *rados = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	void *rbd = rados ? dlopen("librbd.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) : NULL;

	if (!rados || !rbd) {
		snprintf(failed, sizeof(failed), "%s (install Debian's librbd1)", dlerror());
		return;
	}
	FIND(rados, "librados.so.2", rados_create);
	FIND(rados, "librados.so.2", rados_conf_set);
	FIND(rados, "librados.so.2", rados_conf_read_file);
	FIND(rados, "librados.so.2", rados_conf_parse_env);
	FIND(rados, "librados.so.2", rados_connect);
	FIND(rados, "librados.so.2", rados_shutdown);
	FIND(rados, "librados.so.2", rados_ioctx_create);
	FIND(rados, "librados.so.2", rados_ioctx_set_namespace);
	FIND(rados, "librados.so.2", rados_ioctx_destroy);
	FIND(rados, "librados.so.2", rados_write_full);
	FIND(rados, "librados.so.2", rados_aio_create_completion2);
	FIND(rados, "librados.so.2", rados_aio_write_full);
	FIND(rados, "librados.so.2", rados_aio_wait_for_complete);
	FIND(rados, "librados.so.2", rados_aio_get_return_value);
	FIND(rados, "librados.so.2", rados_aio_release);
	FIND(rados, "librados.so.2", rados_read);
	FIND(rados, "librados.so.2", rados_stat);
	FIND(rados, "librados.so.2", rados_remove);
	FIND(rados, "librados.so.2", rados_create_write_op);
	FIND(rados, "librados.so.2", rados_write_op_create);
	FIND(rados, "librados.so.2", rados_write_op_write_full);
	FIND(rados, "librados.so.2", rados_write_op_operate);
	FIND(rados, "librados.so.2", rados_release_write_op);
	FIND(rados, "librados.so.2", rados_nobjects_list_open);
	FIND(rados, "librados.so.2", rados_nobjects_list_next);
	FIND(rados, "librados.so.2", rados_nobjects_list_close);
	FIND(rados, "librados.so.2", rados_lock_exclusive);
	FIND(rados, "librados.so.2", rados_lock_shared);
	FIND(rados, "librados.so.2", rados_unlock);
	FIND(rbd, "librbd.so.1", rbd_open_read_only);
	FIND(rbd, "librbd.so.1", rbd_close);
	FIND(rbd, "librbd.so.1", rbd_read2);
	FIND(rbd, "librbd.so.1", rbd_get_size);
	FIND(rbd, "librbd.so.1", rbd_diff_iterate2);
	FIND(rbd, "librbd.so.1", rbd_open);
	FIND(rbd, "librbd.so.1", rbd_snap_create);
	FIND(rbd, "librbd.so.1", rbd_snap_remove);
	FIND(rbd, "librbd.so.1", rbd_create2);
	FIND(rbd, "librbd.so.1", rbd_write2);
	FIND(rbd, "librbd.so.1", rbd_flush);
	FIND(rbd, "librbd.so.1", rbd_remove);
	FIND(rbd, "librbd.so.1", rbd_rename);
}

const struct imgfmt_rbd_api *imgfmt_rbd_api(char *why, size_t len)
{
	pthread_once(&once, load);
	if (failed[0]) {
		snprintf(why, len, "%s", failed);
		return NULL;
	}
	return &api;
}
