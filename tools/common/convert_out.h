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

#endif
