/* moddep.h --- a guest kernel's module index: which file holds a module,
 * what it depends on, what is built in (modules.dep, modules.builtin,
 * modules.softdep of the guest's own /lib/modules/VERSION) */
#ifndef RAWKIT_MODDEP_H
#define RAWKIT_MODDEP_H

#include "guest.h"

#include <stdbool.h>
#include <stddef.h>

struct moddep;

/* Read kernel VERSION's index from the root filesystem GU (/usr/lib/modules
 * or /lib/modules).  0, -ENOENT when the guest has no modules.dep for it,
 * other < 0 with ERR. */
int moddep_load(struct guest *gu, const char *version, struct moddep **out, char *err, size_t errlen);
/* The same from the texts of modules.dep DEP and modules.builtin BUILTIN
 * (NUL-terminated, malloc'd, NULL for none: owned by the index from here
 * on, freed even on failure), read from directory DIR. */
int moddep_parse(char *dep, char *builtin, const char *dir, struct moddep **out);
void moddep_free(struct moddep *m);

/* The directory the index was read from ("/usr/lib/modules/VERSION"). */
const char *moddep_dir(const struct moddep *m);

/* Is module NAME ('-' and '_' alike) built into the kernel? */
bool moddep_builtin(const struct moddep *m, const char *name);

/* The module files (paths relative to moddep_dir(), as modules.dep names
 * them) that loading NAMES needs, dependencies first, each once, into
 * *FILES (a NULL-terminated malloc'd array of pointers into M; free() the
 * array only).  Built-in names need nothing.  -ENOENT with ERR naming the
 * first module the kernel has neither built in nor as a file. */
int moddep_closure(const struct moddep *m, const char *const *names, size_t n, const char ***files, char *err,
		   size_t errlen);

/* A module path as modules.dep may name it: relative, no "..", no empty
 * component, nothing but printable ASCII. */
bool moddep_safe_path(const char *path);

#endif
