/* lvm_text.c --- a parser of LVM2's config text syntax (the VG metadata) into a tree
 *
 * The grammar, as libdm's config parser reads it:
 *   section := key '{' member* '}'      member := section | key '=' value
 *   value   := scalar | '[' (scalar ','?)* ']'
 *   scalar  := integer | float | "string" (\" and \\ escaped) | 'string' | bare word
 * '#' starts a comment to the end of the line; a NUL ends the text.  A key
 * is a word (anything but space, '#', '=', '{', '}') or a quoted string.
 * No recursion: open sections are a stack of at most LVM_TEXT_MAX_DEPTH.
 */
#include "imgfmt_private.h"
#include "lvm_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint32_t lvm_crc(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return crc;
}

struct lexer {
	const char *text, *p, *end;
	unsigned line;
	struct lvm_tree *t;
	char *err;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int syntax(struct lexer *lx, const char *what)
{
	return imgfmt_fail(lx->err, -EINVAL, "metadata text line %u: %s", lx->line, what);
}

static void skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (is_space(*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		} else {
			break;
		}
	}
}

/* Copy LEN bytes (unescaping \" and \\ when ESCAPED) into the arena; its offset into *OFF. */
static int arena_add(struct lexer *lx, const char *s, size_t len, int escaped, uint32_t *off)
{
	struct lvm_tree *t = lx->t;

	if (len > LVM_TEXT_MAX_LEN || t->arena_len + len + 1 > (size_t)UINT32_MAX)
		return syntax(lx, "too much text");
	if (t->arena_len + len + 1 > t->arena_cap) {
		size_t cap = t->arena_cap ? t->arena_cap : 4096;
		while (cap < t->arena_len + len + 1)
			cap *= 2;
		char *grown = realloc(t->arena, cap);
		if (!grown)
			return imgfmt_fail(lx->err, -ENOMEM, "metadata text: out of memory");
		t->arena = grown;
		t->arena_cap = cap;
	}
	*off = (uint32_t)t->arena_len;
	char *out = t->arena + t->arena_len;
	for (size_t i = 0; i < len; i++) {
		if (escaped && s[i] == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		*out++ = s[i];
	}
	*out++ = '\0';
	t->arena_len = (size_t)(out - t->arena);
	return 0;
}

static int node_new(struct lexer *lx, enum lvm_kind kind, uint32_t *out)
{
	struct lvm_tree *t = lx->t;

	if (t->nnodes >= LVM_TEXT_MAX_NODES)
		return syntax(lx, "too many entries");
	if (t->nnodes == t->nodes_cap) {
		size_t cap = t->nodes_cap ? t->nodes_cap * 2 : 256;
		struct lvm_node *grown = realloc(t->nodes, cap * sizeof(*grown));
		if (!grown)
			return imgfmt_fail(lx->err, -ENOMEM, "metadata text: out of memory");
		t->nodes = grown;
		t->nodes_cap = cap;
	}
	*out = (uint32_t)t->nnodes++;
	memset(&t->nodes[*out], 0, sizeof(t->nodes[*out]));
	t->nodes[*out].kind = (uint8_t)kind;
	return 0;
}

/* A quoted string at lx->p (opening quote Q): its contents into the arena. */
static int quoted(struct lexer *lx, uint32_t *off)
{
	char q = *lx->p++;
	const char *s = lx->p;

	while (lx->p < lx->end && *lx->p != q) {
		if (*lx->p == '\n')
			lx->line++;
		if (q == '"' && *lx->p == '\\' && lx->p + 1 < lx->end)
			lx->p++;
		lx->p++;
	}
	if (lx->p >= lx->end)
		return syntax(lx, "unterminated string");
	size_t len = (size_t)(lx->p - s);
	lx->p++;
	return arena_add(lx, s, len, q == '"', off);
}

static int word_char(char c)
{
	return !is_space(c) && c != '#' && c != '=' && c != '{' && c != '}';
}

/* A key: a word or a quoted string. */
static int key(struct lexer *lx, uint32_t *off)
{
	if (*lx->p == '"' || *lx->p == '\'')
		return quoted(lx, off);
	const char *s = lx->p;
	while (lx->p < lx->end && word_char(*lx->p))
		lx->p++;
	if (lx->p == s)
		return syntax(lx, "expected a name");
	return arena_add(lx, s, (size_t)(lx->p - s), 0, off);
}

/* An integer: [+-]digits, decimal; anything that does not fit in int64 is refused. */
static int integer(struct lexer *lx, const char *s, const char *e, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s == e)
		return syntax(lx, "expected a number");
	if (*s == '0' && e - s > 1)
		return syntax(lx, "number with a leading zero");
	for (; s < e; s++) {
		if (v > (UINT64_C(1) << 63) / 10)
			return syntax(lx, "number too large");
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > (UINT64_C(1) << 63))
			return syntax(lx, "number too large");
	}
	if (!neg && v == (UINT64_C(1) << 63))
		return syntax(lx, "number too large");
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* One scalar value at lx->p into node *OUT (allocated here). */
static int scalar_value(struct lexer *lx, uint32_t *out)
{
	char c = *lx->p;
	uint32_t off;
	int rc;

	if (c == '"' || c == '\'') {
		if ((rc = quoted(lx, &off)) < 0 || (rc = node_new(lx, LVM_STRING, out)) < 0)
			return rc;
		lx->t->nodes[*out].str = off;
		return 0;
	}
	if (is_digit(c) || c == '+' || c == '-' || c == '.') {
		const char *s = lx->p;
		int dots = 0;
		lx->p++;
		while (lx->p < lx->end && (is_digit(*lx->p) || (*lx->p == '.' && !dots))) {
			dots += *lx->p == '.';
			lx->p++;
		}
		if (c == '.' || dots)
			return node_new(lx, LVM_FLOAT, out);
		int64_t v = 0;
		if ((rc = integer(lx, s, lx->p, &v)) < 0 || (rc = node_new(lx, LVM_INT, out)) < 0)
			return rc;
		lx->t->nodes[*out].num = v;
		return 0;
	}
	if (c == '[' || c == ']' || c == ',' || !word_char(c))
		return syntax(lx, "expected a value");
	/* a bare word: up to a space, '#', '=', '{', '}' (and ',' or ']' in arrays, kept simple here) */
	const char *s = lx->p;
	while (lx->p < lx->end && word_char(*lx->p) && *lx->p != ',' && *lx->p != ']')
		lx->p++;
	if ((rc = arena_add(lx, s, (size_t)(lx->p - s), 0, &off)) < 0 || (rc = node_new(lx, LVM_STRING, out)) < 0)
		return rc;
	lx->t->nodes[*out].str = off;
	return 0;
}

/* The same, with where it is in the text. */
static int scalar(struct lexer *lx, uint32_t *out)
{
	const char *s = lx->p;
	int rc = scalar_value(lx, out);

	if (rc == 0) {
		lx->t->nodes[*out].val_at = (uint32_t)(s - lx->text);
		lx->t->nodes[*out].val_len = (uint32_t)(lx->p - s);
	}
	return rc;
}

/* '[' scalar* ']' (commas optional, as in libdm) into array node A. */
static int array(struct lexer *lx, uint32_t a)
{
	uint32_t last = 0, el;
	int rc;

	lx->p++;
	for (;;) {
		skip_space(lx);
		if (lx->p >= lx->end)
			return syntax(lx, "unterminated array");
		if (*lx->p == ']') {
			lx->p++;
			return 0;
		}
		if ((rc = scalar(lx, &el)) < 0)
			return rc;
		if (last)
			lx->t->nodes[last].next = el;
		else
			lx->t->nodes[a].child = el;
		last = el;
		skip_space(lx);
		if (lx->p < lx->end && *lx->p == ',')
			lx->p++;
	}
}

struct open_section {
	uint32_t node, last; /* the section and its last member so far */
};

static void link_member(struct lvm_tree *t, struct open_section *sec, uint32_t n)
{
	if (sec->last)
		t->nodes[sec->last].next = n;
	else
		t->nodes[sec->node].child = n;
	sec->last = n;
}

static int parse(struct lexer *lx)
{
	struct open_section stack[LVM_TEXT_MAX_DEPTH + 1];
	unsigned depth = 0;
	uint32_t n, k;
	int rc;

	if ((rc = node_new(lx, LVM_SECTION, &n)) < 0 || (rc = arena_add(lx, "", 0, 0, &k)) < 0)
		return rc;
	stack[0] = (struct open_section){ n, 0 };
	for (;;) {
		skip_space(lx);
		if (lx->p >= lx->end)
			return depth ? syntax(lx, "unterminated section") : 0;
		if (*lx->p == '}') {
			if (!depth)
				return syntax(lx, "'}' without a section");
			depth--;
			lx->p++;
			continue;
		}
		const char *key_start = lx->p;
		if ((rc = key(lx, &k)) < 0)
			return rc;
		uint32_t key_at = (uint32_t)(key_start - lx->text), key_len = (uint32_t)(lx->p - key_start);
		if (!lx->t->arena[k])
			return syntax(lx, "empty name");
		skip_space(lx);
		if (lx->p < lx->end && *lx->p == '{') {
			if (depth == LVM_TEXT_MAX_DEPTH)
				return syntax(lx, "sections nested too deep");
			lx->p++;
			if ((rc = node_new(lx, LVM_SECTION, &n)) < 0)
				return rc;
			lx->t->nodes[n].key = k;
			lx->t->nodes[n].key_at = key_at;
			lx->t->nodes[n].key_len = key_len;
			link_member(lx->t, &stack[depth], n);
			stack[++depth] = (struct open_section){ n, 0 };
			continue;
		}
		if (lx->p >= lx->end || *lx->p != '=')
			return syntax(lx, "expected '=' or '{'");
		lx->p++;
		skip_space(lx);
		if (lx->p >= lx->end)
			return syntax(lx, "expected a value");
		if (*lx->p == '[') {
			const char *open = lx->p;
			if ((rc = node_new(lx, LVM_ARRAY, &n)) < 0 || (rc = array(lx, n)) < 0)
				return rc;
			lx->t->nodes[n].val_at = (uint32_t)(open - lx->text);
			lx->t->nodes[n].val_len = (uint32_t)(lx->p - open);
		} else if ((rc = scalar(lx, &n)) < 0) {
			return rc;
		}
		lx->t->nodes[n].key = k;
		lx->t->nodes[n].key_at = key_at;
		lx->t->nodes[n].key_len = key_len;
		link_member(lx->t, &stack[depth], n);
	}
}

void lvm_tree_free(struct lvm_tree *tree)
{
	free(tree->nodes);
	free(tree->arena);
	memset(tree, 0, sizeof(*tree));
}

int lvm_text_parse(const char *text, size_t len, struct lvm_tree *tree, char *err)
{
	memset(tree, 0, sizeof(*tree));
	if (len > LVM_TEXT_MAX_LEN)
		return imgfmt_fail(err, -EINVAL, "metadata text: %zu bytes, more than %u", len, LVM_TEXT_MAX_LEN);
	const char *nul = memchr(text, '\0', len);
	struct lexer lx = { .text = text, .p = text, .end = nul ? nul : text + len, .line = 1, .t = tree, .err = err };
	int rc = parse(&lx);
	if (rc < 0)
		lvm_tree_free(tree);
	return rc;
}

/* The last one, as libdm keeps the last of duplicate values. */
uint32_t lvm_find(const struct lvm_tree *t, uint32_t sec, const char *key)
{
	uint32_t found = 0;

	if (t->nodes[sec].kind != LVM_SECTION)
		return 0;
	for (uint32_t n = t->nodes[sec].child; n; n = t->nodes[n].next)
		if (!strcmp(lvm_key(t, n), key))
			found = n;
	return found;
}

const char *lvm_find_str(const struct lvm_tree *t, uint32_t sec, const char *key)
{
	uint32_t n = lvm_find(t, sec, key);

	return n && t->nodes[n].kind == LVM_STRING ? lvm_str(t, n) : NULL;
}

int lvm_find_uint(const struct lvm_tree *t, uint32_t sec, const char *key, uint64_t max, uint64_t *out)
{
	uint32_t n = lvm_find(t, sec, key);

	if (!n)
		return -ENOENT;
	if (t->nodes[n].kind != LVM_INT || t->nodes[n].num < 0 || (uint64_t)t->nodes[n].num > max)
		return -EINVAL;
	*out = (uint64_t)t->nodes[n].num;
	return 0;
}

int lvm_array_has(const struct lvm_tree *t, uint32_t sec, const char *key, const char *word)
{
	uint32_t a = lvm_find(t, sec, key);

	if (!a || t->nodes[a].kind != LVM_ARRAY)
		return 0;
	for (uint32_t n = t->nodes[a].child; n; n = t->nodes[n].next)
		if (t->nodes[n].kind == LVM_STRING && !strcmp(lvm_str(t, n), word))
			return 1;
	return 0;
}
