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

#endif /* EVENTMD_PARSER_H */
