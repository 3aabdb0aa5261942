/* run.c --- rawkit-p2v's commands: capture, in place, send, receive */
#include "json.h"
#include "p2v.h"
#include "recover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const virtual_drivers[] = { "virtio_blk", "virtio_scsi", "virtio_pci" };
static const char *const virtual_extras[] = { "virtio_net" }; /* injected along, not required */

struct run {
	struct p2v_opts *o;
	struct convert_report rep;
	struct p2v_stats st;
	struct cli_progress progress;
	bool converted;
};

static struct convert_opts convert_opts(const struct p2v_opts *o, bool dry)
{
	return (struct convert_opts){ .to = CONVERT_TO_VIRTUAL, .dry_run = dry, .drivers = virtual_drivers,
				      .ndrivers = sizeof(virtual_drivers) / sizeof(virtual_drivers[0]),
				      .extras = virtual_extras, .nextras = 1, .rebuild = (enum convert_rebuild)o->rebuild };
}

static int do_convert(struct run *r, const char *path, bool dry, char *err, size_t errlen)
{
	struct convert_opts co = convert_opts(r->o, dry);
	double t0 = cli_now();
	int rc = convert_guest(path, &co, &r->rep, err, errlen);

	r->st.convert_seconds = cli_now() - t0;
	r->converted = rc == 0 && r->rep.linux_found;
	return rc;
}

static int finish(size_t index, const char *path, char *err, size_t errlen, void *arg)
{
	struct run *r = arg;
	(void)index;

	cli_progress_end(&r->progress);
	return r->o->convert ? do_convert(r, path, false, err, errlen) : 0;
}

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	cli_progress_update(&((struct run *)arg)->progress, done, total);
}

static json_t *run_json(const struct run *r, const char *source, const char *target)
{
	const struct p2v_stats *st = &r->st;
	json_t *o = json_object();

	json_put(o, "disk", json_text(source));
	json_put(o, "target", json_text(target));
	json_put(o, "dry_run", json_boolean(r->o->dry_run));
	json_put(o, "disk_bytes", json_count(st->disk_bytes));
	json_put(o, "used_bytes", json_count(st->used_bytes));
	json_put(o, "written_bytes", json_count(st->written_bytes));
	json_put(o, "stream_bytes", json_count(st->stream_bytes));
	json_put(o, "method", json_text(st->method));
	json_put_seconds(o, "copy_ns", st->copy_seconds);
	json_put_seconds(o, "convert_ns", st->convert_seconds);
	json_put(o, "converted", json_boolean(r->converted));
	convert_report_put(o, &r->rep);
	return o;
}

/* The summary: JSON (json_mode_output(): stdout; stderr for send), or text on OUT (stdout; stderr for send). */
static void report(struct run *r, const char *source, const char *target, FILE *out)
{
	struct p2v_stats *st = &r->st;
	char a[16], b[16];

	for (size_t i = 0; i < r->rep.not_done.n; i++)
		cli_warning(target ? target : source, "not done: %s", r->rep.not_done.v[i].text);
	if (r->o->json) {
		json_print(run_json(r, source, target), r->rep.not_done.n ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE);
		return;
	}
	if (r->o->quiet)
		return;
	if (st->used_bytes || st->written_bytes)
		fprintf(out, "%s: %s of %s %s in %.1f s%s\n", target ? target : source, cli_human(st->written_bytes, a, sizeof(a)),
			cli_human(st->disk_bytes, b, sizeof(b)), r->o->dry_run ? "would be copied" : "copied",
			st->copy_seconds, st->stream_bytes ? " (stream)" : "");
	convert_report_text(out, target ? target : source, &r->rep);
	if (r->converted || r->o->dry_run)
		fprintf(out, "%s: %s in %.2f s\n", target ? target : source,
			r->o->dry_run ? "conversion planned" : r->o->convert ? "converted" : "not converted (--no-convert)",
			st->convert_seconds);
}

/* The exit status; the report is freed. */
static int finish_status(struct run *r, int rc)
{
	int st = rc < 0 ? RAWKIT_EXIT_FAILED : r->rep.not_done.n ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;

	convert_report_free(&r->rep);
	return st;
}

static int open_source(const char *path, imgfmt_disk **disk)
{
	*disk = imgfmt_disk_new();
	if (!*disk || imgfmt_disk_open(*disk, path, 0) < 0) {
		cli_error(path, "cannot open disk: %s", *disk ? imgfmt_disk_error(*disk) : "out of memory");
		imgfmt_disk_free(*disk);
		*disk = NULL;
		return -1;
	}
	return 0;
}

int p2v_capture(const char *source, const char *target, struct p2v_opts *o)
{
	struct run r = { .o = o };
	imgfmt_disk *disk;
	imgfmt_copy *c = NULL;
	struct imgfmt_copy_stats cs;
	char err[1024] = "";
	int rc;

	if (open_source(source, &disk) < 0)
		return RAWKIT_EXIT_FAILED;
	r.st.disk_bytes = imgfmt_disk_size(disk);
	if (o->convert && !o->dry_run) {
		struct convert_opts co = convert_opts(o, false);
		if ((rc = convert_check_privileges(disk, &co, err, sizeof(err))) < 0) {
			cli_error(source, "%s", err);
			goto out;
		}
	}
	if (o->dry_run) {
		imgfmt_extents *map = NULL;
		if ((rc = imgfmt_disk_used(disk, -1, &map)) == 0)
			r.st.used_bytes = r.st.written_bytes = imgfmt_extents_bytes(map);
		imgfmt_extents_free(map);
		if (rc == 0 && o->convert)
			rc = do_convert(&r, source, true, err, sizeof(err));
		if (rc < 0)
			cli_error(source, "%s", err[0] ? err : imgfmt_disk_error(disk));
		goto out;
	}
	if (!(c = imgfmt_copy_new())) {
		cli_error(NULL, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	imgfmt_copy_set_source(c, disk, -1);
	imgfmt_copy_set_target(c, target, o->overwrite ? IMGFMT_TARGET_OVERWRITE : 0);
	imgfmt_copy_set_finish(c, finish, &r);
	imgfmt_copy_set_progress(c, on_progress, &r);
	cli_progress_start(&r.progress, "capturing", o->progress);
	rc = imgfmt_copy_run(c);
	cli_progress_end(&r.progress);
	imgfmt_copy_get_stats(c, &cs);
	guest_recover_note(&r.rep.changes, cs.replayed);
	r.st.used_bytes = cs.used_bytes;
	r.st.written_bytes = cs.read_bytes;
	r.st.method = cs.method;
	r.st.copy_seconds = cs.seconds - r.st.convert_seconds;
	if (rc < 0)
		cli_error(target, "%s", imgfmt_copy_target_error(c, 0)[0] ? imgfmt_copy_target_error(c, 0)
									 : imgfmt_copy_error(c));
out:
	if (rc == 0)
		report(&r, source, o->dry_run ? target : target, stdout);
	imgfmt_copy_free(c);
	imgfmt_disk_free(disk);
	return finish_status(&r, rc);
}

int p2v_in_place(const char *path, struct p2v_opts *o)
{
	struct run r = { .o = o };
	char err[1024] = "";
	int rc = do_convert(&r, path, o->dry_run, err, sizeof(err));

	if (rc < 0)
		cli_error(path, "%s", err);
	else
		report(&r, path, NULL, stdout);
	return finish_status(&r, rc);
}

int p2v_send_cmd(const char *source, struct p2v_opts *o)
{
	struct run r = { .o = o };
	imgfmt_disk *disk;
	char err[1024] = "";
	double t0 = cli_now();
	int rc;

	json_mode_output(stderr); /* stdout is the stream */
	if (isatty(1)) {
		cli_error(NULL, "stdout is a terminal: send writes a binary stream (pipe it: ... | ssh HOST rawkit-p2v "
			  "receive TARGET)");
		return RAWKIT_EXIT_USAGE;
	}
	if (open_source(source, &disk) < 0)
		return RAWKIT_EXIT_FAILED;
	r.st.disk_bytes = imgfmt_disk_size(disk);
	cli_progress_start(&r.progress, "sending", o->progress);
	rc = p2v_send(disk, 1, o->compress, &r.st, &r.progress, err, sizeof(err));
	cli_progress_end(&r.progress);
	r.st.copy_seconds = cli_now() - t0;
	r.st.method = "stream";
	if (rc < 0)
		cli_error(source, "%s", err);
	else
		report(&r, source, NULL, stderr);
	imgfmt_disk_free(disk);
	return finish_status(&r, rc);
}

int p2v_receive_cmd(const char *target, struct p2v_opts *o)
{
	struct run r = { .o = o };
	struct p2v_header h;
	imgfmt_output *out = NULL;
	char err[1024] = "";
	double t0 = cli_now();
	int rc;

	if ((rc = p2v_receive_header(0, &h, err, sizeof(err))) < 0) {
		cli_error("stdin", "%s", err);
		return RAWKIT_EXIT_FAILED;
	}
	r.st.disk_bytes = h.disk_size;
	out = imgfmt_output_new();
	if (!out || imgfmt_output_open(out, target, h.disk_size, o->overwrite ? IMGFMT_TARGET_OVERWRITE : 0) < 0) {
		cli_error(target, "%s", out ? imgfmt_output_error(out) : strerror(ENOMEM));
		imgfmt_output_free(out);
		return RAWKIT_EXIT_FAILED;
	}
	cli_progress_start(&r.progress, "receiving", o->progress);
	rc = p2v_receive_data(0, &h, out, &r.st, &r.progress, err, sizeof(err));
	cli_progress_end(&r.progress);
	r.st.copy_seconds = cli_now() - t0;
	r.st.method = "stream";
	if (rc == 0 && (rc = imgfmt_output_release(out)) < 0)
		snprintf(err, sizeof(err), "%s", imgfmt_output_error(out));
	/* a crash-consistent source: the stream holds its journals, replayed here */
	if (rc == 0 && guest_recover_disk(imgfmt_output_path(out), &r.rep.changes, err, sizeof(err)) < 0)
		rc = -1;
	if (rc == 0 && o->convert)
		rc = do_convert(&r, imgfmt_output_path(out), false, err, sizeof(err));
	if (rc == 0 && (rc = imgfmt_output_commit(out)) < 0)
		snprintf(err, sizeof(err), "%s", imgfmt_output_error(out));
	if (rc < 0) {
		struct stat tst;
		bool dev = stat(target, &tst) == 0 && S_ISBLK(tst.st_mode);
		cli_error(target, "%s: %s", err, dev ? "the device holds an incomplete copy" : "the target was not created");
	}
	else
		report(&r, NULL, target, stdout);
	imgfmt_output_free(out);
	return finish_status(&r, rc);
}
