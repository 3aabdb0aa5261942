/* run.c --- one deployment: plan, refuse or write, report */
#include "json.h"
#include "v2p.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static json_t *resized_json(const struct v2p_plan *p)
{
	json_t *o = json_object();

	json_put(o, "partition", json_text(p->last_name));
	json_put(o, "start_bytes", json_count(p->last_start));
	json_put(o, "old_size_bytes", json_count(p->last_size));
	json_put(o, "new_size_bytes", json_count(p->new_size));
	json_put(o, "fstype", json_text(p->fstype));
	return o;
}

static json_t *moved_json(const struct v2p_plan *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->nmoves; i++) {
		json_t *o = json_object();
		json_put(o, "partition", json_text(p->moves[i].name));
		json_put(o, "content", json_text(p->moves[i].what));
		json_put(o, "old_start_bytes", json_count(p->moves[i].from));
		json_put(o, "new_start_bytes", json_count(p->moves[i].to));
		json_put(o, "size_bytes", json_count(p->moves[i].size));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *plan_json(const char *image, const char *target, const struct v2p_opts *o, const struct v2p_plan *p,
			 const struct v2p_result *r)
{
	json_t *obj = json_object();

	json_put(obj, "disk", json_text(image));
	json_put(obj, "target", json_text(target));
	json_put(obj, "dry_run", json_boolean(o->dry_run));
	json_put(obj, "action", json_text(p->action));
	json_put(obj, "disk_bytes", json_count(p->image_size));
	json_put(obj, "target_bytes", json_count(p->target_size));
	json_put(obj, "used_bytes", json_count(p->used_bytes));
	json_put(obj, "written_bytes", json_count(r->written));
	json_put(obj, "resized", p->last != SIZE_MAX && strcmp(p->action, "copy") ? resized_json(p) : json_null());
	json_put(obj, "moved", moved_json(p));
	json_put(obj, "not_grown", p->not_grown[0] ? json_text(p->not_grown) : json_null());
	json_put(obj, "destroyed", p->destroys[0] ? json_text(p->destroys) : json_null());
	json_put_seconds(obj, "copy_ns", r->copy_seconds);
	json_put_seconds(obj, "resize_ns", r->resize_seconds);
	json_put_seconds(obj, "convert_ns", r->convert_seconds);
	json_put(obj, "verified", json_boolean(r->verified));
	json_put_seconds(obj, "verify_ns", r->verify_seconds);
	json_put(obj, "converted", json_boolean(r->converted));
	convert_report_put(obj, &r->rep);
	return obj;
}

static void report(const char *image, const char *target, const struct v2p_opts *o, const struct v2p_plan *p,
		   struct v2p_result *r, int status)
{
	char a[16], b[16], c[16];

	for (size_t i = 0; i < r->rep.not_done.n; i++)
		cli_warning(target, "not done: %s", r->rep.not_done.v[i].text);
	if (p->not_grown[0])
		cli_warning(target, "not grown: %s", p->not_grown);
	if (o->json) {
		json_print(plan_json(image, target, o, p, r), status);
		return;
	}
	if (o->quiet)
		return;
	printf("%s: %s %s onto %s (%s)%s\n", target, o->dry_run ? "would" : "did", p->action, cli_human(p->target_size, a, sizeof(a)),
	       cli_human(p->used_bytes, b, sizeof(b)), o->dry_run ? "" : "");
	if (p->last != SIZE_MAX && strcmp(p->action, "copy"))
		printf("%s: %s (%s) %s -> %s\n", target, p->last_name, p->fstype, cli_human(p->last_size, b, sizeof(b)),
		       cli_human(p->new_size, c, sizeof(c)));
	for (size_t i = 0; i < p->nmoves; i++)
		if (p->moves[i].from != p->moves[i].to)
			printf("%s: %s (%s, %s) moved from %s to %s%s\n", target, p->moves[i].name, p->moves[i].what,
			       cli_human(p->moves[i].size, a, sizeof(a)), cli_human(p->moves[i].from, b, sizeof(b)),
			       cli_human(p->moves[i].to, c, sizeof(c)),
			       strcmp(p->moves[i].what, "swap") ? "" : " (its UUID and label kept)");
	if (p->destroys[0])
		printf("%s: %s: %s\n", target, o->dry_run ? "would destroy" : "overwrote", p->destroys);
	convert_report_text(stdout, target, &r->rep);
	if (r->verified)
		printf("%s: verified against the image in %.1f s\n", target, r->verify_seconds);
}

int v2p_run(const char *image_path, const char *target, struct v2p_opts *o)
{
	imgfmt_disk *image = imgfmt_disk_new();
	struct v2p_plan p;
	struct v2p_result r = { 0 };
	char err[1024] = "";
	int status = RAWKIT_EXIT_FAILED;

	if (!image || imgfmt_disk_open(image, image_path, 0) < 0) {
		cli_error(image_path, "cannot open the image: %s", image ? imgfmt_disk_error(image) : "out of memory");
		goto out;
	}
	if (v2p_plan(image, target, o, &p, &status, err, sizeof(err)) < 0) {
		cli_error(target, "%s", err);
		goto out;
	}
	if (o->dry_run) {
		struct convert_opts co = { .to = CONVERT_TO_PHYSICAL, .dry_run = true, .drivers = o->drivers,
					   .ndrivers = o->ndrivers, .rebuild = (enum convert_rebuild)o->rebuild };
		if (convert_guest(image_path, &co, &r.rep, err, sizeof(err)) < 0) {
			cli_error(image_path, "%s", err);
			goto out;
		}
	} else if (convert_check_privileges(image, &(struct convert_opts){ .to = CONVERT_TO_PHYSICAL }, err,
					    sizeof(err)) < 0) {
		cli_error(image_path, "%s", err);
		goto out;
	} else if (v2p_deploy(image, target, o, &p, &r, err, sizeof(err)) < 0) {
		struct stat st;
		bool dev = stat(target, &st) == 0 && S_ISBLK(st.st_mode);
		cli_error(target, "%s%s", err, dev ? " (the disk holds an incomplete copy)" : "");
		goto out;
	}
	status = r.rep.not_done.n || p.not_grown[0] ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
	report(image_path, target, o, &p, &r, status);
out:
	convert_report_free(&r.rep);
	imgfmt_disk_free(image);
	return status;
}
