/* output.c --- what rawkit-clone says: text for people, JSON for scripts */
#include "clone.h"
#include "json.h"

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

static json_t *ids_json(const struct id_plan *ids)
{
	json_t *a = json_array();

	for (size_t k = 0; k < ids->n; k++) {
		const struct id_change *c = &ids->v[k];
		json_t *o = json_object();
		json_put(o, "kind", json_text(c->kind));
		json_put(o, "volume", json_text(c->volume));
		json_put(o, "old", json_text(c->old_ref));
		json_put(o, "new", json_text(c->new_ref));
		json_array_append_new(a, o);
	}
	if (ids->vg_new[0]) {
		json_t *o = json_object();
		json_put(o, "kind", json_string("vg"));
		json_put(o, "volume", json_text(ids->vg_old));
		json_put(o, "old", json_text(ids->vg_old));
		json_put(o, "new", json_text(ids->vg_new));
		json_array_append_new(a, o);
	}
	return a;
}

/* A report list's lines as a JSON array of strings. */
static json_t *list_json(const struct report_list *l)
{
	json_t *a = json_array();

	for (size_t k = 0; k < l->n; k++)
		json_array_append_new(a, json_text(l->v[k].text));
	return a;
}

static json_t *target_json(const struct target_plan *p, const struct clone_opts *o)
{
	json_t *t = json_object(), *changes = json_array();

	json_put(t, "target", json_text(p->path));
	json_put(t, "status", json_string(p->failed ? "failed" : p->rep.not_done.n ? "warnings" : o->dry_run ? "planned" : "done"));
	if (p->failed) {
		json_t *e = json_object();
		json_put(e, "object", json_text(p->path));
		json_put(e, "message", json_text(p->error));
		json_put(t, "error", e);
	}
	json_put(t, "method", json_text(p->method));
	json_put(t, "hostname", p->hostname[0] ? json_text(p->hostname) : json_null());
	json_put_seconds(t, "personalize_ns", p->personalize_seconds);
	json_put_seconds(t, "keys_wait_ns", p->keys_wait_seconds);
	json_put(t, "ids", ids_json(&p->ids));
	for (size_t k = 0; k < p->rep.changes.n; k++) {
		json_t *c = json_object();
		json_put(c, "operation", json_string(op_name(p->rep.changes.v[k].tag)));
		json_put(c, "what", json_text(p->rep.changes.v[k].text));
		json_array_append_new(changes, c);
	}
	json_put(t, "changes", changes);
	json_put(t, "not_done", list_json(&p->rep.not_done));
	json_put(t, "notes", list_json(&p->rep.notes));
	return t;
}

int output_json(const char *golden, struct target_plan *t, size_t n, const struct clone_opts *o, double seconds,
		int status)
{
	json_t *obj = json_object(), *targets = json_array();

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < t[i].rep.not_done.n; k++) {
			char msg[1024];
			snprintf(msg, sizeof(msg), "not done: %s", t[i].rep.not_done.v[k].text);
			json_warning(t[i].path, msg);
		}
	json_put(obj, "disk", json_text(golden));
	json_put(obj, "dry_run", json_boolean(o->dry_run));
	json_put_seconds(obj, "elapsed_ns", seconds);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(targets, target_json(&t[i], o));
	json_put(obj, "targets", targets);
	return json_print(obj, status);
}
