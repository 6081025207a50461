/* SPDX-License-Identifier: MIT */
/*
** readfile.h - reading one event file, safely.
**
** A file is opened relative to its folder's descriptor with O_NOFOLLOW (unless
** the table follows links), never blocks (O_NONBLOCK: a FIFO that slipped in
** is refused, not waited on), is checked with fstat() against the size limit
** before a byte is read, and is read through the descriptor to EOF, counting
** the bytes actually read.  A file that changes while it is read is read
** again (a few times), so the bytes returned belong to one version.
*/
#ifndef EVENTMD_READFILE_H
#define EVENTMD_READFILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "stats.h"

enum {
  EMD_READ_OK = 0,    /* data/len hold the file */
  EMD_READ_GONE,      /* it vanished since the walk: skip it */
  EMD_READ_TOO_LARGE, /* over the size limit: not read */
  EMD_READ_ERROR,     /* err says why */
  EMD_READ_SPECIAL,   /* not a regular file: not read */
  EMD_READ_LINK,      /* became a symbolic link: not followed */
  EMD_READ_OUTSIDE    /* a followed link leads outside the root */
};

/* A buffer reused from one read to the next (emd_malloc memory). */
typedef struct emd_buf {
  char *p;    /* bytes */
  size_t cap; /* bytes allocated */
} emd_buf;

typedef struct emd_read {
  int status;     /* EMD_READ_* */
  int err;        /* errno for EMD_READ_ERROR */
  char *data;     /* the bytes plus a NUL, inside the caller's emd_buf */
  size_t len;     /* bytes read */
  struct stat st; /* fstat() of the descriptor the bytes came from */
} emd_read;

/* Read dirfd/name into buf.  follow: the name may be a symbolic link, which
** must stay inside root_real.  SQLITE_OK (out->status says what was
** found), or SQLITE_NOMEM (out->status is then unset). */
int emd_read_file(emd_read *out, emd_buf *buf, int dirfd, const char *name,
                  int follow, const char *root_real, size_t max_size,
                  emd_stats *stats);

void emd_buf_free(emd_buf *b);

/* The text of a read problem ("too large", "unreadable: ..."), or NULL for
** EMD_READ_OK and EMD_READ_GONE.  Writes into buf when it needs to. */
const char *emd_read_problem(int status, int err, char *buf, size_t bufsz);

#endif /* EVENTMD_READFILE_H */
