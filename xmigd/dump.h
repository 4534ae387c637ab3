/* xmig dump: decoders of record fields shared by the dump files. */
#ifndef XMIG_DUMP_H
#define XMIG_DUMP_H

#include <stdio.h>

#include "xmig.h"

/* Print a transparent record's fields; 0 if rec is not one. */
int dump_transparent_text(FILE *o, const struct xmig_record *rec);
int dump_transparent_json(FILE *o, const struct xmig_record *rec);

#endif
