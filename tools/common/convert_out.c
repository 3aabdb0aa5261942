/* convert_out.c --- a conversion's report as text lines or JSON members */
#include "convert_out.h"
#include "cli.h"

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

static void json_list(FILE *out, const char *key, const struct report_list *l, bool comma)
{
	fprintf(out, "%s\"%s\":[", comma ? "," : "", key);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			fputc(',', out);
		cli_json_cstr(out, l->v[i].text);
	}
	fputc(']', out);
}

void convert_report_json(FILE *out, const struct convert_report *r)
{
	fprintf(out, "\"linux\":%s", r->linux_found ? "true" : "false");
	json_list(out, "changes", &r->changes, true);
	json_list(out, "checks", &r->checks, true);
	json_list(out, "not_done", &r->not_done, true);
}
