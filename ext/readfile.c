/* SPDX-License-Identifier: MIT */
/*
** readfile.c - reading one event file, safely (see readfile.h).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "emd.h"
#include "walk.h"

/* Same version of the file before and after reading? */
static int same_version(const struct stat *a, const struct stat *b) {
  return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Make buf hold at least n bytes.  SQLITE_OK or SQLITE_NOMEM. */
static int buf_reserve(emd_buf *buf, size_t n) {
  char *p;
  if (n <= buf->cap) return SQLITE_OK;
  p = emd_realloc(buf->p, n);
  if (!p) return SQLITE_NOMEM;
  buf->p = p;
  buf->cap = n;
  return SQLITE_OK;
}

void emd_buf_free(emd_buf *b) {
  emd_free(b->p);
  b->p = NULL;
  b->cap = 0;
}

/* Read fd to EOF into buf (at most max_size bytes; more is
** EMD_READ_TOO_LARGE).  SQLITE_OK or SQLITE_NOMEM. */
static int read_all(emd_read *out, emd_buf *buf, int fd, size_t hint,
                    size_t max_size) {
  size_t cap = hint + 1, len = 0;
  if (cap > max_size + 1) cap = max_size + 1;
  if (cap < 4096) cap = 4096;
  if (buf_reserve(buf, cap + 1)) return SQLITE_NOMEM;
  cap = buf->cap - 1;
  for (;;) {
    ssize_t got;
    if (len == cap) {
      /* The file grew past what fstat said: grow, up to the limit. */
      size_t ncap = cap * 2;
      if (len > max_size) break;
      if (ncap > max_size + 1) ncap = max_size + 1;
      if (buf_reserve(buf, ncap + 1)) return SQLITE_NOMEM;
      cap = ncap;
    }
    got = read(fd, buf->p + len, cap - len);
    if (got < 0) {
      if (errno == EINTR) continue;
      out->status = EMD_READ_ERROR;
      out->err = errno;
      return SQLITE_OK;
    }
    if (got == 0) break;
    len += (size_t)got;
    /* A short read of a regular file is its end: when it stops exactly at
    ** the size fstat gave, skip the read that would return 0 (the fstat
    ** after reading still catches a file that changed meanwhile). */
    if (len == hint && len < cap) break;
  }
  if (len > max_size) {
    out->status = EMD_READ_TOO_LARGE;
    return SQLITE_OK;
  }
  buf->p[len] = 0;
  out->data = buf->p;
  out->len = len;
  out->status = EMD_READ_OK;
  return SQLITE_OK;
}

int emd_read_file(emd_read *out, emd_buf *buf, int dirfd, const char *name,
                  int follow, const char *root_real, size_t max_size,
                  emd_stats *stats) {
  int fd, attempt, rc = SQLITE_OK;
  memset(out, 0, sizeof(*out));
  do {
    fd = openat(dirfd, name,
                O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                    (follow ? 0 : O_NOFOLLOW));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) {
      out->status = EMD_READ_GONE;
    } else if (errno == ELOOP && !follow) {
      out->status = EMD_READ_LINK;
    } else {
      out->status = EMD_READ_ERROR;
      out->err = errno;
    }
    return SQLITE_OK;
  }
  if (fstat(fd, &out->st) != 0) {
    out->status = EMD_READ_ERROR;
    out->err = errno;
    goto done;
  }
  if (!S_ISREG(out->st.st_mode)) {
    out->status = EMD_READ_SPECIAL;
    goto done;
  }
  if (follow && !emd_fd_inside(fd, root_real)) {
    out->status = EMD_READ_OUTSIDE;
    goto done;
  }
  for (attempt = 0;; attempt++) {
    struct stat after;
    if ((size_t)out->st.st_size > max_size) {
      out->status = EMD_READ_TOO_LARGE;
      goto done;
    }
    EMD_COUNT(stats, files_read, 1);
    rc = read_all(out, buf, fd, (size_t)out->st.st_size, max_size);
    if (rc || out->status != EMD_READ_OK) goto done;
    if (fstat(fd, &after) != 0) {
      out->status = EMD_READ_ERROR;
      out->err = errno;
      out->data = NULL;
      goto done;
    }
    if (same_version(&out->st, &after) && (size_t)after.st_size == out->len)
      break;
    /* Changed while being read: try again from the start. */
    out->st = after;
    if (attempt == 3) {
      /* Keep this last read; its fstat describes the bytes best we can. */
      out->st.st_size = (off_t)out->len;
      break;
    }
    out->data = NULL;
    if (lseek(fd, 0, SEEK_SET) != 0) {
      out->status = EMD_READ_ERROR;
      out->err = errno;
      goto done;
    }
  }
done:
  close(fd);
  return rc;
}

const char *emd_read_problem(int status, int err, char *buf, size_t bufsz) {
  switch (status) {
    case EMD_READ_TOO_LARGE: return "too large";
    case EMD_READ_ERROR:
      snprintf(buf, bufsz, "unreadable: %s", strerror(err));
      return buf;
    case EMD_READ_SPECIAL: return "not a regular file";
    case EMD_READ_LINK: return "symbolic link not followed";
    case EMD_READ_OUTSIDE: return "symbolic link leads outside the root";
    default: return NULL;
  }
}
