/* convert_out.c --- a conversion's report as text lines or JSON members */
#include "convert_out.h"
#include "cli.h"
#include "cliopt.h"
#include "json.h"

#include <string.h>

static void text_list(FILE *out, const char *object, const char *what, const struct report_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s: %s: %s\n", object, what, l->v[i].text);
}

void convert_report_text(FILE *out, const char *object, const struct convert_report *r)
{
	text_list(out, object, "changed", &r->changes);
	text_list(out, object, "check", &r->checks);
}

static json_t *list_json(const struct report_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_text(l->v[i].text));
	return a;
}

void convert_report_put(json_t *obj, const struct convert_report *r)
{
	json_put(obj, "linux", json_boolean(r->linux_found));
	json_put(obj, "changes", list_json(&r->changes));
	json_put(obj, "checks", list_json(&r->checks));
	json_put(obj, "not_done", list_json(&r->not_done));
}

int convert_parse_rebuild(const char *arg, void *value)
{
	if (!strcmp(arg, "inject"))
		*(int *)value = CONVERT_REBUILD_INJECT;
	else if (!strcmp(arg, "appliance"))
		*(int *)value = CONVERT_REBUILD_APPLIANCE;
	else if (!strcmp(arg, "none"))
		*(int *)value = CONVERT_REBUILD_NONE;
	else
		return cli_command_usage_error("--rebuild: \"%s\": inject, appliance or none", arg);
	return 0;
}
