/* json.c --- rawkit's --json output over jansson: the object, its trailer, streamed listings */
#include "json.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	bool on, printed;
	const char *command;
	FILE *out;
	json_t *warnings;  /* [{"object":...,"message":...}] */
	json_t *error;     /* the first error, or NULL */
} mode;

static json_t *problem(const char *object, const char *message)
{
	json_t *p = json_object();

	json_put(p, "object", json_text(object));
	json_put(p, "message", json_text(message));
	return p;
}

static void on_message(bool warning, const char *object, const char *message)
{
	if (warning)
		json_array_append_new(mode.warnings, problem(object, message));
	else if (!mode.error)
		mode.error = problem(object, message);
}

void json_mode_begin(const char *command)
{
	mode.on = true;
	mode.command = command;
	if (!mode.out)
		mode.out = stdout;
	if (!mode.warnings)
		mode.warnings = json_array();
	cli_set_message_hook(on_message);
}

bool json_mode(void)
{
	return mode.on;
}

void json_mode_command(const char *command)
{
	mode.command = command;
}

void json_mode_output(FILE *out)
{
	mode.out = out;
}

void json_warning(const char *object, const char *message)
{
	if (mode.warnings)
		json_array_append_new(mode.warnings, problem(object, message));
}

/* Length of the valid UTF-8 sequence at S (at most LEN bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0xef80 && cp <= 0xefff) /* the escape range itself: escaped byte by byte */
		return 0;
	return n;
}

/* Byte B as the character U+EF00+B (UTF-8: EE BC/BD/BE/BF xx). */
static size_t escape_byte(unsigned char b, char *out)
{
	unsigned cp = 0xef00u + b;

	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

json_t *json_text_n(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *buf;
	size_t o = 0;
	json_t *v;

	if (!s)
		return json_null();
	buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len(u + i, len - i);
		if (n == 0) {
			o += escape_byte(u[i++], buf + o);
			continue;
		}
		memcpy(buf + o, u + i, n);
		o += n;
		i += n;
	}
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

json_t *json_text(const char *s)
{
	return json_text_n(s, s ? strlen(s) : 0);
}

json_t *json_texts(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_text(v[i]));
	return a;
}

json_t *json_count(uint64_t n)
{
	return json_integer(n > INT64_MAX ? INT64_MAX : (json_int_t)n);
}

void json_put(json_t *obj, const char *key, json_t *value)
{
	if (!value) { /* out of memory: the key is still there, as null */
		fprintf(stderr, "%s: out of memory\n", cli_program());
		value = json_null();
	}
	json_object_set_new(obj, key, value);
}

void json_put_time(json_t *obj, const char *name, int64_t ns)
{
	char key[64], iso[32];
	time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;

	if (!gmtime_r(&t, &tm)) /* a time no calendar holds */
		memset(&tm, 0, sizeof(tm));
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(key, sizeof(key), "%s_ns", name);
	json_put(obj, key, json_integer(ns));
	snprintf(key, sizeof(key), "%s_iso", name);
	json_put(obj, key, json_string(iso));
}

void json_put_seconds(json_t *obj, const char *key, double seconds)
{
	json_put(obj, key, json_integer((json_int_t)(seconds * 1e9)));
}

/* The keys every object ends with: status, warnings, error when failed. */
static json_t *trailer(int rc)
{
	json_t *t = json_object();

	json_put(t, "status", json_string(rc == RAWKIT_EXIT_DONE       ? "done"
					  : rc == RAWKIT_EXIT_WARNINGS ? "warnings"
								       : "failed"));
	json_put(t, "warnings", mode.warnings ? json_incref(mode.warnings) : json_array());
	if (rc != RAWKIT_EXIT_DONE && rc != RAWKIT_EXIT_WARNINGS)
		json_put(t, "error", mode.error ? json_incref(mode.error) : problem(NULL, "failed"));
	return t;
}

/* OBJ's members without the braces ("" when it has none); freed by the caller. */
static char *members(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;

	if (n < 2) {
		free(s);
		return NULL;
	}
	memmove(s, s + 1, n - 2);
	s[n - 2] = '\0';
	return s;
}

static FILE *output(void)
{
	return mode.out ? mode.out : stdout;
}

/* "command" first, then OBJ's keys; OBJ is freed. */
static json_t *with_command(json_t *obj)
{
	json_t *o = json_object();

	json_put(o, "command", json_text(mode.command));
	if (obj)
		json_object_update(o, obj);
	json_decref(obj);
	return o;
}

int json_print(json_t *obj, int rc)
{
	json_t *o = with_command(obj), *t = trailer(rc);

	json_object_update(o, t);
	json_decref(t);
	json_dumpf(o, output(), JSON_COMPACT);
	fputc('\n', output());
	json_decref(o);
	mode.printed = true;
	return rc;
}

int json_mode_end(int rc)
{
	if (mode.on && !mode.printed && rc != RAWKIT_EXIT_DONE && rc != RAWKIT_EXIT_WARNINGS)
		json_print(NULL, rc);
	if (output() != stdout)
		fflush(output()); /* stdout: cli_finish() flushes it and reports a failure */
	return rc;
}

struct json_stream {
	bool any;
};

struct json_stream *json_stream_begin(json_t *head, const char *key)
{
	static struct json_stream s;
	json_t *o = with_command(head);
	char *m = members(o);

	fprintf(output(), "{%s%s\"%s\":[", m ? m : "", m && m[0] ? "," : "", key);
	free(m);
	json_decref(o);
	s.any = false;
	mode.printed = true;
	return &s;
}

void json_stream_item(struct json_stream *s, json_t *item)
{
	if (s->any)
		fputc(',', output());
	json_dumpf(item, output(), JSON_COMPACT);
	json_decref(item);
	s->any = true;
}

int json_stream_end(struct json_stream *s, json_t *tail, int rc)
{
	json_t *t = tail ? tail : json_object(), *tr = trailer(rc);
	char *m;

	(void)s;
	json_object_update(t, tr);
	json_decref(tr);
	m = members(t);
	fprintf(output(), "],%s}\n", m ? m : "");
	free(m);
	json_decref(t);
	return rc;
}
