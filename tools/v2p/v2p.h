/* v2p.h --- rawkit-v2p: a guest disk deployed onto a physical disk of any size */
#ifndef RAWKIT_V2P_H
#define RAWKIT_V2P_H

#include "cli.h"
#include "convert.h"
#include "convert_out.h"
#include "imgfmt.h"

#include <stdbool.h>
#include <stdint.h>

enum v2p_resize { V2P_FIT, V2P_GROW, V2P_NO_RESIZE };

#define V2P_MAX_DRIVERS 32

struct v2p_opts {
	enum v2p_resize resize;
	bool force, dry_run, json, progress, quiet, verify;
	int rebuild; /* enum convert_rebuild */
	const char *drivers[V2P_MAX_DRIVERS];
	size_t ndrivers;
};

/* A partition that moves as it is: a swap after the last filesystem, and
 * the extended partition holding it (its header page is all a swap keeps). */
struct v2p_move {
	size_t index;
	char name[256], what[16]; /* "p5"; "swap" or "extended" */
	uint64_t from, to, size;
};

/* What a deployment will do, decided before the first write. */
struct v2p_plan {
	uint64_t image_size, target_size;
	bool target_blockdev;
	const char *action;      /* "copy", "grow", "shrink" */
	size_t last;             /* the partition resized, SIZE_MAX when none */
	uint64_t last_start, last_size, new_size;
	uint64_t used_bytes;
	char last_name[256];
	char fstype[32];
	struct v2p_move moves[2];
	size_t nmoves;           /* moves[nmoves - 1] is the swap */
	size_t swap_page;        /* bytes of the moved swap's header */
	char not_grown[512];     /* what keeps its size on a larger disk, and why; "" when nothing */
	char destroys[512];      /* what the target holds now, "" when nothing */
};

/* plan.c: look at IMAGE and TARGET, decide, refuse (message in ERR, exit
 * status in *STATUS) before anything is written. */
int v2p_plan(imgfmt_disk *image, const char *target, const struct v2p_opts *o, struct v2p_plan *p, int *status,
	     char *err, size_t errlen);

/* fsresize.c: a filesystem's smallest size; resize one to SIZE bytes (FILE
 * may be "path?offset=N" for ext). */
int fs_min_size(const char *image, const struct imgfmt_volume *v, uint64_t *min, char *err, size_t errlen);
int fs_resize(const char *fstype, const char *file, uint64_t offset, uint64_t size, bool shrinking, char *err,
	      size_t errlen);

/* swap.c: a trailing swap (alone, or in an extended partition of its
 * own) after the filesystem FS, planned to end at USABLE: fills P's moves
 * and returns where FS may end now, or 0 with the reason in WHY when that
 * layout is not one rawkit moves. */
uint64_t v2p_plan_swap(imgfmt_disk *image, const struct imgfmt_volume *swap, uint64_t usable, struct v2p_plan *p,
		       struct imgfmt_volume *fs, char *why, size_t whylen);
/* The moved swap's header page (p->swap_page bytes, UUID and label in
 * it) read from IMAGE into *PAGE (the caller frees it). */
int v2p_swap_header(imgfmt_disk *image, const struct v2p_plan *p, unsigned char **page, char *err, size_t errlen);
/* The image's partition table onto DST with the plan's sizes and places. */
int v2p_write_table(imgfmt_disk *image, imgfmt_disk *dst, const struct v2p_plan *p, char *err, size_t errlen);

/* deploy.c: carry a plan out; verify.c: compare the target with the image. */
struct v2p_result {
	struct convert_report rep;
	double copy_seconds, resize_seconds, convert_seconds, verify_seconds;
	uint64_t written;
	bool converted, verified;
};
int v2p_deploy(imgfmt_disk *image, const char *target, const struct v2p_opts *o, const struct v2p_plan *p,
	       struct v2p_result *res, char *err, size_t errlen);
int v2p_verify(imgfmt_disk *image, const char *target, const struct v2p_plan *p, char *err, size_t errlen);

/* run.c: the whole command; returns the exit status. */
int v2p_run(const char *image, const char *target, struct v2p_opts *o);

/* ranges.c: FN for each chunk (at most CHUNK bytes) of the bytes DISK
 * uses inside [FROM, TO); a non-zero return stops the walk and is returned
 * (imgfmt_disk_used()'s own failure too). */
typedef int (*v2p_chunk_fn)(uint64_t offset, size_t length, void *arg);
int v2p_each_used(imgfmt_disk *disk, uint64_t from, uint64_t to, size_t chunk, v2p_chunk_fn fn, void *arg);

/* drivers.c: the default storage drivers: ahci, nvme, sd_mod and those
 * this host's disks use. */
void v2p_default_drivers(struct v2p_opts *o);

#endif
