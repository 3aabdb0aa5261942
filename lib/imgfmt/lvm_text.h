/* lvm_text.h --- LVM2's config text as a tree (lvm_text.c), for lvm_label.c and lvm_vg.c */
#ifndef IMGFMT_LVM_TEXT_H
#define IMGFMT_LVM_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define LVM_TEXT_MAX_DEPTH 32        /* sections inside sections */
#define LVM_TEXT_MAX_NODES (1u << 21) /* keys, sections and array elements in all */
#define LVM_TEXT_MAX_LEN (64u << 20) /* bytes of text (the largest metadata area we read) */

enum lvm_kind { LVM_SECTION, LVM_INT, LVM_FLOAT, LVM_STRING, LVM_ARRAY };

/* Nodes live in one array and refer to each other by index; 0 is the root
 * (a section with no key) and never anyone's child or sibling, so 0 also
 * means "none".  Strings (keys and string values) are copies in one arena. */
struct lvm_node {
	uint32_t key;   /* offset of the key in the arena (array elements: 0, "") */
	uint32_t next;  /* next sibling */
	uint32_t child; /* first member (sections) or first element (arrays) */
	uint32_t str;   /* LVM_STRING: offset of the value in the arena */
	int64_t num;    /* LVM_INT */
	/* Where the key and the value are in the parsed text (byte offset and
	 * length; quotes included): what lvm_rewrite.c splices.  A section's
	 * value span is empty, an array's runs from '[' to ']'. */
	uint32_t key_at, key_len, val_at, val_len;
	uint8_t kind;
};

struct lvm_tree {
	struct lvm_node *nodes;
	size_t nnodes, nodes_cap;
	char *arena;
	size_t arena_len, arena_cap;
};

/* Parse LEN bytes of TEXT (a NUL ends it early, as in LVM2) into TREE.
 * 0, or -EINVAL (syntax, depth, limits; message with the line in ERR) or
 * -ENOMEM.  TREE is empty on failure; free it with lvm_tree_free either way. */
int lvm_text_parse(const char *text, size_t len, struct lvm_tree *tree, char *err);
void lvm_tree_free(struct lvm_tree *tree);

static inline const char *lvm_key(const struct lvm_tree *t, uint32_t n)
{
	return t->arena + t->nodes[n].key;
}

static inline const char *lvm_str(const struct lvm_tree *t, uint32_t n)
{
	return t->arena + t->nodes[n].str;
}

/* The last member of section SEC called KEY (libdm keeps the last of
 * duplicates), or 0. */
uint32_t lvm_find(const struct lvm_tree *t, uint32_t sec, const char *key);
/* The string value of KEY in SEC, or NULL when missing or not a string. */
const char *lvm_find_str(const struct lvm_tree *t, uint32_t sec, const char *key);
/* The integer value of KEY in SEC into *OUT when it is in [0, MAX]: 0,
 * -ENOENT when missing, -EINVAL when not an integer or out of range. */
int lvm_find_uint(const struct lvm_tree *t, uint32_t sec, const char *key, uint64_t max, uint64_t *out);
/* Whether the array KEY in SEC holds the string WORD. */
int lvm_array_has(const struct lvm_tree *t, uint32_t sec, const char *key, const char *word);

/* LVM2's CRC-32 (lib/misc/crc.c: reflected 0xedb88320, initial value
 * LVM_INITIAL_CRC, no final xor); chain calls to checksum pieces. */
#define LVM_INITIAL_CRC 0xf597a6cfu
uint32_t lvm_crc(uint32_t crc, const void *buf, size_t len);

#endif
