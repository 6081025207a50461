/* SPDX-License-Identifier: MIT */
/*
** parser.h - the parser's internal interface: bytes of one file in, a
** record (record.h) out.  The public eventmd_parse() (eventmd.h) is built
** on it.
*/
#ifndef EVENTMD_PARSER_H
#define EVENTMD_PARSER_H

#include <stddef.h>

#include "eventmd.h"
#include "record.h"

/*
** Parse one file with parser p.
**
**   kind     EMD_REC_EVENT (an event file) or EMD_REC_DAYPAGE (README.md,
**            index.md: only its links to event files and their topics)
**   guarded  1: run the structural guard first (always, but in tests that
**            check what cmark itself does)
**   out      the record, owned by p and valid until p's next parse
**
** Returns EVENTMD_OK or EVENTMD_NOMEM.  Bad input is never an error: it is
** reported in the record's problems.
*/
int emd_parse_record(eventmd_parser *p, const char *bytes, size_t len, int kind,
                     int guarded, const emd_rec **out);

/* The structural guard (eventmd_guard), telling also where the refused
** part begins: *at is a line start such that bytes[0..*at) alone may be
** handed to cmark, as far as this rule goes (check the prefix again: the
** rules' bounds depend on the length).  NULL when the whole is safe. */
const char *emd_guard_at(const char *bytes, size_t len, size_t *at);

#endif /* EVENTMD_PARSER_H */
