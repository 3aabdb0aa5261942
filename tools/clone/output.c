/* output.c --- what rawkit-clone says: text for people, JSON for scripts */
#include "clone.h"

#include <stdio.h>
#include <string.h>

void output_text(const struct golden *g, struct target_plan *t, size_t n, const struct clone_opts *o)
{
	(void)g;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < t[i].rep.not_done.n; k++)
			cli_warning(t[i].path, "not done: %s", t[i].rep.not_done.v[k].text);
		if (o->quiet)
			continue;
		if (t[i].failed) {
			printf("%s: failed\n", t[i].path);
			continue;
		}
		printf("%s: %s%s%s, %zu change%s%s\n", t[i].path,
		       o->dry_run ? "would be personalized" : t[i].method ? t[i].method : "done",
		       t[i].hostname[0] ? ", host name " : "", t[i].hostname, t[i].rep.changes.n, t[i].rep.changes.n == 1 ? "" : "s",
		       o->dry_run ? " planned" : "");
		for (size_t k = 0; k < t[i].rep.changes.n; k++)
			printf("  %-20s %s\n", op_name(t[i].rep.changes.v[k].tag), t[i].rep.changes.v[k].text);
		for (size_t k = 0; k < t[i].rep.notes.n; k++)
			printf("  note: %s\n", t[i].rep.notes.v[k].text);
	}
}

static void json_list(const char *key, const struct report_list *l)
{
	printf(",\"%s\":[", key);
	for (size_t k = 0; k < l->n; k++) {
		if (k)
			putchar(',');
		cli_json_cstr(stdout, l->v[k].text);
	}
	putchar(']');
}

void output_json(const char *golden, struct target_plan *t, size_t n, const struct clone_opts *o, double seconds)
{
	printf("{\"golden\":");
	cli_json_cstr(stdout, golden);
	printf(",\"dry_run\":%s,\"seconds\":%.3f,\"targets\":[", o->dry_run ? "true" : "false", seconds);
	for (size_t i = 0; i < n; i++) {
		const struct target_plan *p = &t[i];
		printf("%s{\"path\":", i ? "," : "");
		cli_json_cstr(stdout, p->path);
		printf(",\"status\":\"%s\"", p->failed ? "failed" : p->rep.not_done.n ? "warnings" : o->dry_run ? "planned" : "done");
		if (p->failed) {
			printf(",\"error\":");
			cli_json_cstr(stdout, p->error);
		}
		printf(",\"method\":");
		if (p->method)
			cli_json_cstr(stdout, p->method);
		else
			printf("null");
		printf(",\"hostname\":");
		if (p->hostname[0])
			cli_json_cstr(stdout, p->hostname);
		else
			printf("null");
		printf(",\"personalize_seconds\":%.4f,\"keys_wait_seconds\":%.4f", p->personalize_seconds,
		       p->keys_wait_seconds);
		printf(",\"ids\":[");
		for (size_t k = 0; k < p->ids.n; k++) {
			const struct id_change *c = &p->ids.v[k];
			printf("%s{\"kind\":\"%s\",\"volume\":\"%s\"", k ? "," : "", c->kind, c->volume);
			printf(",\"old\":");
			cli_json_cstr(stdout, c->old_ref);
			printf(",\"new\":");
			cli_json_cstr(stdout, c->new_ref);
			putchar('}');
		}
		printf("],\"changes\":[");
		for (size_t k = 0; k < p->rep.changes.n; k++) {
			printf("%s{\"operation\":\"%s\",\"what\":", k ? "," : "", op_name(p->rep.changes.v[k].tag));
			cli_json_cstr(stdout, p->rep.changes.v[k].text);
			putchar('}');
		}
		putchar(']');
		json_list("not_done", &p->rep.not_done);
		json_list("notes", &p->rep.notes);
		putchar('}');
	}
	printf("]}\n");
}
