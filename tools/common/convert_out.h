/* convert_out.h --- a conversion's report, printed by rawkit-p2v and rawkit-v2p */
#ifndef RAWKIT_CONVERT_OUT_H
#define RAWKIT_CONVERT_OUT_H

#include "convert.h"

#include <stdio.h>

/* "OBJECT: changed: ..." and "OBJECT: check: ..." lines. */
void convert_report_text(FILE *out, const char *object, const struct convert_report *r);
/* The report as JSON members (no braces): "changes":[..],"checks":[..],... */
void convert_report_json(FILE *out, const struct convert_report *r);

#endif
