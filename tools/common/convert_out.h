/* convert_out.h --- a conversion's report, printed by rawkit-p2v and rawkit-v2p */
#ifndef RAWKIT_CONVERT_OUT_H
#define RAWKIT_CONVERT_OUT_H

#include "convert.h"
#include "json.h"

#include <stdio.h>

/* "OBJECT: changed: ..." and "OBJECT: check: ..." lines. */
void convert_report_text(FILE *out, const char *object, const struct convert_report *r);
/* The report's members of a JSON object: linux, changes, checks, not_done. */
void convert_report_put(json_t *obj, const struct convert_report *r);

/* --rebuild=HOW (a CLI_CALL parser): inject, appliance or none into the
 * int VALUE (enum convert_rebuild). */
int convert_parse_rebuild(const char *arg, void *value);

#define CONVERT_REBUILD_HELP "what to do with an initramfs that lacks the drivers:\ninject (default): add them without a VM (the\nappliance when that is refused); appliance: rebuild\nit with the guest's own tool in a libguestfs\nappliance; none: only report it"

#endif
