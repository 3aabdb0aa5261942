/* p2v.h --- rawkit-p2v: a physical disk captured as a raw guest disk */
#ifndef RAWKIT_P2V_H
#define RAWKIT_P2V_H

#include "cli.h"
#include "convert.h"
#include "convert_out.h"
#include "imgfmt.h"

#include <stdbool.h>
#include <stdint.h>

enum { P2V_ZSTD = 1, P2V_ZLIB = 2 };

struct p2v_opts {
	bool convert, dry_run, json, progress, quiet, overwrite, in_place;
	int rebuild; /* enum convert_rebuild */
	int compress; /* P2V_ZSTD or P2V_ZLIB */
};

struct p2v_stats {
	uint64_t disk_bytes, used_bytes, written_bytes, stream_bytes, frames;
	double copy_seconds, convert_seconds;
	const char *method;
};

struct p2v_header {
	uint32_t version, frame_max;
	int method;
	uint64_t disk_size, used_bytes;
};

/* stream.c: the send/receive format (see there and rawkit-p2v(1)). */
int p2v_send(imgfmt_disk *disk, int fd, int method, struct p2v_stats *st, struct cli_progress *progress, char *err,
	     size_t errlen);
int p2v_receive_header(int fd, struct p2v_header *h, char *err, size_t errlen);
int p2v_receive_data(int fd, const struct p2v_header *h, imgfmt_output *out, struct p2v_stats *st,
		     struct cli_progress *progress, char *err, size_t errlen);

/* run.c: the four commands; each returns the exit status. */
int p2v_capture(const char *source, const char *target, struct p2v_opts *o);
int p2v_in_place(const char *disk, struct p2v_opts *o);
int p2v_send_cmd(const char *source, struct p2v_opts *o);
int p2v_receive_cmd(const char *target, struct p2v_opts *o);

#endif
