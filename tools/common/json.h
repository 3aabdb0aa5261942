/* json.h --- rawkit's --json output: one object per command, in doc/json.md's words, written by jansson
 *
 * Every command run with --json prints exactly one JSON object, on one line:
 *   {"command":..., <the command's keys>, "status":..., "warnings":[...], "error":{...}}
 * "status" is "done", "warnings" or "failed" (the exit status 0, 3, other);
 * "warnings" holds every warning the tool printed on stderr, as
 * {"object":..., "message":...}; "error" (only when failed) is the first
 * error printed, in the same shape.  The trailer keys come last so that a
 * long listing can be streamed: json_stream_*() write the array elements
 * one jansson object at a time, never the whole tree.
 *
 * Strings are bytes made text by one lossless rule (json_text_n()).
 */
#ifndef RAWKIT_JSON_H
#define RAWKIT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* --json was given for COMMAND ("info", "backup", "capture", ...): from now on
 * errors and warnings are remembered for the object. */
void json_mode_begin(const char *command);
/* --json is on. */
bool json_mode(void);
/* The command's name as json_mode_begin() got it (changeable before output:
 * p2v learns "send" or "receive" late). */
void json_mode_command(const char *command);
/* Where the object goes (default stdout; p2v send: stderr, its stdout is the stream). */
void json_mode_output(FILE *out);
/* At exit: when RC is a failure and nothing was printed yet, print
 * {"command":...,"status":"failed","warnings":[...],"error":{...}}.  Returns RC. */
int json_mode_end(int rc);

/* A warning for "warnings" that is not printed on stderr (the text output
 * shows it elsewhere, as rawkit-info's partition-table warnings). */
void json_warning(const char *object, const char *message);

/* Values.  LEN bytes (or a C string; NULL gives null) as a JSON string:
 * valid UTF-8 stays as it is; every other byte B (0x80-0xff), and each byte
 * of a character in U+EF80..U+EFFF, becomes the character U+EF00+B, so the
 * bytes come back exactly: map U+EF80..U+EFFF to bytes, encode the rest as UTF-8. */
json_t *json_text_n(const char *s, size_t len);
json_t *json_text(const char *s);
/* An array of C strings. */
json_t *json_texts(char *const *v, size_t n);
/* An unsigned count (bytes, files) as a JSON integer. */
json_t *json_count(uint64_t n);
/* OBJ[KEY] = VALUE, VALUE's reference taken (KEY is a literal from doc/json.md). */
void json_put(json_t *obj, const char *key, json_t *value);
/* A point in time: OBJ[NAME_ns] (integer) and OBJ[NAME_iso] ("2026-01-31T12:00:00Z"). */
void json_put_time(json_t *obj, const char *name, int64_t ns);
/* A duration in seconds as OBJ[KEY] in integer nanoseconds (KEY ends in _ns). */
void json_put_seconds(json_t *obj, const char *key, double seconds);

/* The command's object: the trailer is added, the line printed and OBJ
 * freed.  Returns RC. */
int json_print(json_t *obj, int rc);

/* A listing: HEAD's keys, then "KEY":[ and the elements one by one, then
 * ], TAIL's keys (NULL: none) and the trailer.  HEAD, ITEM and TAIL are
 * freed.  json_stream_end() returns RC. */
struct json_stream;
struct json_stream *json_stream_begin(json_t *head, const char *key);
void json_stream_item(struct json_stream *s, json_t *item);
int json_stream_end(struct json_stream *s, json_t *tail, int rc);

#endif
