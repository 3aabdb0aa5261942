/* run.c --- one deployment: plan, refuse or write, report */
#include "v2p.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void report(const char *image, const char *target, const struct v2p_opts *o, const struct v2p_plan *p,
		   struct v2p_result *r)
{
	char a[16], b[16], c[16];

	for (size_t i = 0; i < r->rep.not_done.n; i++)
		cli_warning(target, "not done: %s", r->rep.not_done.v[i].text);
	if (p->not_grown[0])
		cli_warning(target, "not grown: %s", p->not_grown);
	if (o->json) {
		printf("{\"image\":");
		cli_json_cstr(stdout, image);
		printf(",\"target\":");
		cli_json_cstr(stdout, target);
		printf(",\"dry_run\":%s,\"action\":\"%s\",\"image_bytes\":%llu,\"target_bytes\":%llu,\"used_bytes\":%llu,"
		       "\"written_bytes\":%llu,\"resized\":", o->dry_run ? "true" : "false", p->action,
		       (unsigned long long)p->image_size, (unsigned long long)p->target_size,
		       (unsigned long long)p->used_bytes, (unsigned long long)r->written);
		if (p->last != SIZE_MAX && strcmp(p->action, "copy"))
			printf("{\"partition\":\"%s\",\"partition_start\":%llu,\"old_size\":%llu,\"new_size\":%llu,"
			       "\"fstype\":\"%s\"}", p->last_name, (unsigned long long)p->last_start,
			       (unsigned long long)p->last_size, (unsigned long long)p->new_size, p->fstype);
		else
			printf("null");
		printf(",\"moved\":[");
		for (size_t i = 0; i < p->nmoves; i++)
			printf("%s{\"partition\":\"%s\",\"content\":\"%s\",\"old_start\":%llu,\"new_start\":%llu,"
			       "\"size\":%llu}", i ? "," : "", p->moves[i].name, p->moves[i].what,
			       (unsigned long long)p->moves[i].from, (unsigned long long)p->moves[i].to,
			       (unsigned long long)p->moves[i].size);
		printf("],\"not_grown\":");
		if (p->not_grown[0])
			cli_json_cstr(stdout, p->not_grown);
		else
			printf("null");
		printf(",\"destroyed\":");
		if (p->destroys[0])
			cli_json_cstr(stdout, p->destroys);
		else
			printf("null");
		printf(",\"copy_seconds\":%.3f,\"resize_seconds\":%.3f,\"convert_seconds\":%.3f,\"verified\":%s,"
		       "\"verify_seconds\":%.3f,\"converted\":%s,", r->copy_seconds, r->resize_seconds, r->convert_seconds,
		       r->verified ? "true" : "false", r->verify_seconds, r->converted ? "true" : "false");
		convert_report_json(stdout, &r->rep);
		printf("}\n");
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
					   .ndrivers = o->ndrivers };
		if (convert_guest(image_path, &co, &r.rep, err, sizeof(err)) < 0) {
			cli_error(image_path, "%s", err);
			goto out;
		}
	} else if (v2p_deploy(image, target, o, &p, &r, err, sizeof(err)) < 0) {
		struct stat st;
		bool dev = stat(target, &st) == 0 && S_ISBLK(st.st_mode);
		cli_error(target, "%s%s", err, dev ? " (the disk holds an incomplete copy)" : "");
		goto out;
	}
	report(image_path, target, o, &p, &r);
	status = r.rep.not_done.n || p.not_grown[0] ? RAWKIT_EXIT_WARNINGS : RAWKIT_EXIT_DONE;
out:
	convert_report_free(&r.rep);
	imgfmt_disk_free(image);
	return status;
}
