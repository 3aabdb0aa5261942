/* output.c --- what rawkit-clone says: text for people, JSON for scripts */
#include "clone.h"

#include <stdio.h>
#include <string.h>

void output_text(const struct golden *g, struct target_plan *t, size_t n, const struct clone_opts *o)
{
	(void)g;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < t[i].rep.nnot; k++)
			cli_warning(t[i].path, "not done: %s", t[i].rep.not_done[k]);
		if (o->quiet)
			continue;
		if (t[i].failed) {
			printf("%s: failed\n", t[i].path);
			continue;
		}
		printf("%s: %s%s%s, %zu change%s%s\n", t[i].path,
		       o->dry_run ? "would be personalized" : t[i].method ? t[i].method : "done",
		       t[i].hostname[0] ? ", host name " : "", t[i].hostname, t[i].rep.n, t[i].rep.n == 1 ? "" : "s",
		       o->dry_run ? " planned" : "");
		for (size_t k = 0; k < t[i].rep.n; k++)
			printf("  %-20s %s\n", op_name(t[i].rep.changes[k].op), t[i].rep.changes[k].what);
		for (size_t k = 0; k < t[i].rep.nnotes; k++)
			printf("  note: %s\n", t[i].rep.notes[k]);
	}
}

static void json_list(const char *key, char **v, size_t n)
{
	printf(",\"%s\":[", key);
	for (size_t k = 0; k < n; k++) {
		if (k)
			putchar(',');
		cli_json_cstr(stdout, v[k]);
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
		printf(",\"status\":\"%s\"", p->failed ? "failed" : p->rep.nnot ? "warnings" : o->dry_run ? "planned" : "done");
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
		for (size_t k = 0; k < p->rep.n; k++) {
			printf("%s{\"operation\":\"%s\",\"what\":", k ? "," : "", op_name(p->rep.changes[k].op));
			cli_json_cstr(stdout, p->rep.changes[k].what);
			putchar('}');
		}
		putchar(']');
		json_list("not_done", p->rep.not_done, p->rep.nnot);
		json_list("notes", p->rep.notes, p->rep.nnotes);
		putchar('}');
	}
	printf("]}\n");
}
