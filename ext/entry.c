/* SPDX-License-Identifier: MIT */
/*
** entry.c - turning one entry of a scan into a row (see entry.h).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "entry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cachefile.h"
#include "parser.h"
#include "text.h"

/* ------------------------------------------------------------------------
** Scratch.
*/
void emd_scratch_free(emd_scratch *s) {
  eventmd_parser_free(s->parser);
  s->parser = NULL;
  emd_buf_free(&s->rbuf);
}

/* ------------------------------------------------------------------------
** Entries.
*/
int emd_entry_set(emd_entry *e, int kind, const char *relpath, size_t len,
                  size_t name_off, emd_dir *dir, int follow, int err,
                  const char *day) {
  emd_utf8_info u;
  size_t need;
  char *d;
  emd_utf8_scan(&u, relpath, len);
  need = len + 1 + 1 + u.repaired_len + 1;
  if (need > e->bufcap) {
    char *p = emd_realloc(e->buf, need);
    if (!p) return SQLITE_NOMEM;
    e->buf = p;
    e->bufcap = need;
  }
  memcpy(e->buf, relpath, len);
  e->buf[len] = 0;
  e->relpath = e->buf;
  e->relpath_len = len;
  e->name = e->buf + name_off;
  d = e->buf + len + 1;
  d[0] = '/';
  if (u.valid && !u.has_nul) {
    memcpy(d + 1, relpath, len);
    e->disp_len = (int)len + 1;
  } else {
    e->disp_len = 1 + (int)emd_utf8_repair(d + 1, relpath, len);
  }
  d[e->disp_len] = 0;
  e->disp = d;
  e->name_bad = !u.valid || u.has_nul;
  if (day)
    memcpy(e->path_date, day, day[0] ? EMD_DATE_BUF : 1);
  else if (!emd_relpath_date(e->path_date, d, (size_t)e->disp_len))
    e->path_date[0] = 0;
  e->kind = kind;
  e->dir = emd_dir_ref(dir);
  e->follow = follow;
  e->err = err;
  return SQLITE_OK;
}

void emd_entry_reset(emd_entry *e) {
  char *buf = e->buf;
  size_t cap = e->bufcap;
  emd_dir_release(e->dir);
  emd_centry_release(e->ce);
  emd_free(e->markdown);
  memset(e, 0, sizeof(*e));
  e->buf = buf;
  e->bufcap = cap;
}

void emd_entry_free(emd_entry *e) {
  emd_entry_reset(e);
  emd_free(e->buf);
  e->buf = NULL;
  e->bufcap = 0;
}

/* The cache's question about e: its folder, its name, the watch. */
static void check_of(emd_check *q, const emd_entry *e) {
  memset(q, 0, sizeof(*q));
  q->key.fdev = e->dir->dev;
  q->key.fino = e->dir->ino;
  q->key.name = e->name;
  q->key.namelen = (uint32_t)strlen(e->name);
  q->key.hash = e->khash;
  /* A followed link's target may sit in another folder, whose changes this
  ** folder's watch does not see: only a stat() vouches for it. */
  q->wdir = e->follow ? NULL : e->dir->wdir;
}

/* stat() a file entry; sets e->gone when it vanished. */
static void entry_stat(const emd_scan_ctx *sc, emd_entry *e) {
  int flags = e->follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (e->kind == EMD_ITEM_FOLDER || e->have_stat) return;
  EMD_COUNT(&sc->conn->stats, files_stated, 1);
  if (fstatat(emd_dir_fd(e->dir), e->name, &e->st, flags) != 0) {
    if (errno == ENOENT) {
      e->gone = 1;
      return;
    }
    e->read_status = EMD_READ_ERROR;
    e->read_err = errno;
    e->prepared = 1;
    return;
  }
  e->have_stat = 1;
  if (e->kind == EMD_ITEM_FILE && !S_ISREG(e->st.st_mode))
    e->kind = S_ISLNK(e->st.st_mode) ? EMD_ITEM_LINK : EMD_ITEM_SPECIAL;
}

/* The stat a cached version stands for (size and times are what rows
** show). */
static void stat_from_ident(struct stat *st, const emd_ident *id) {
  memset(st, 0, sizeof(*st));
  st->st_mode = S_IFREG;
  st->st_dev = (dev_t)id->dev;
  st->st_ino = (ino_t)id->ino;
  st->st_size = (off_t)id->size;
  st->st_mtim.tv_sec = (time_t)(id->mtime_ns / 1000000000);
  st->st_mtim.tv_nsec = (long)(id->mtime_ns % 1000000000);
  st->st_ctim.tv_sec = (time_t)(id->ctime_ns / 1000000000);
  st->st_ctim.tv_nsec = (long)(id->ctime_ns % 1000000000);
}

static void batch_free(void *p) {
  emd_cfdir_free(p);
}

/* Fetch the cache file's records of folder d into d->batch, unless another
** thread has started to: 1 when this call fetched them. */
static int batch_fetch(emd_cachefile *cf, emd_dir *d) {
  int expect = 0;
  emd_cfdir *b;
  if (__atomic_load_n(&d->batch_state, __ATOMIC_ACQUIRE) != 0 ||
      !__atomic_compare_exchange_n(&d->batch_state, &expect, 1, 0,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  b = emd_cachefile_folder(cf, d->dev, d->ino);
  d->batch = b;
  d->batch_free = batch_free;
  __atomic_store_n(&d->batch_state, b ? 2 : 3, __ATOMIC_RELEASE);
  return 1;
}

/* The cache file's records of folder d, fetched once by the first thread
** that asks.  Another asking meanwhile waits for them: a fetch takes tens
** of microseconds, asking one by one costs more (B-tree descents and a
** copy per file), and with the folder fetched ahead (emd_entry_batch_ahead)
** waits are rare. */
static const emd_cfdir *folder_batch(emd_cachefile *cf, emd_dir *d) {
  int state;
  batch_fetch(cf, d);
  while ((state = __atomic_load_n(&d->batch_state, __ATOMIC_ACQUIRE)) == 1)
    sched_yield();
  return state == 2 ? d->batch : NULL;
}

int emd_entry_used_batch(const emd_entry *e) {
  return e->brec != NULL;
}

void emd_entry_batch_ahead(const emd_scan_ctx *sc, emd_dir *d) {
  if (d && sc->folder_batches && sc->conn->cf && sc->want_parse &&
      !sc->want_markdown)
    batch_fetch(sc->conn->cf, d);
}

/* The persistent cache's record for e, when it is of the version e->st
** describes: into the memory cache, as e->ce.  1 when found. */
static int from_cachefile(const emd_scan_ctx *sc, emd_entry *e,
                          const emd_check *q) {
  emd_cachefile *cf = sc->conn->cf;
  const emd_cfdir *batch = sc->folder_batches ? folder_batch(cf, e->dir) : NULL;
  emd_ident id, now;
  emd_rec *rec = NULL; /* the cache file's copy: the C library's */
  const emd_rec *r;
  uint64_t hash;
  int racy;
  int got = batch ? emd_cfdir_get(cf, batch, &q->key, &id, &hash, &racy, &r)
                  : SQLITE_NOTFOUND;
  if (got == SQLITE_NOTFOUND) { /* no batch, or one that cannot tell */
    got = emd_cachefile_get(cf, &q->key, &id, &hash, &racy, &rec);
    r = rec;
  }
  if (got != SQLITE_ROW) return 0;
  emd_ident_of(&now, &e->st);
  if (racy || !emd_ident_eq(&id, &now)) {
    free(rec);
    return 0;
  }
  if (!rec) {
    /* In the batch, which e->dir keeps as long as e holds it: no copy, no
    ** allocation (a scan's worker fetches, its main thread lets go). */
    e->brec = r;
    return 1;
  }
  e->ce = emd_cache_entry(sc->conn->cache, q, &id, r);
  free(rec);
  return e->ce != NULL;
}

emd_centry *emd_entry_take_parse(const emd_scan_ctx *sc, emd_entry *e) {
  emd_centry *ce = e->ce;
  emd_check q;
  emd_ident id;
  if (ce || !e->brec) {
    e->ce = NULL;
    return ce;
  }
  check_of(&q, e);
  q.moment = emd_watch_now();
  q.st = &e->st;
  emd_ident_of(&id, &e->st);
  return emd_cache_entry(sc->conn->cache, &q, &id, e->brec);
}

/* Parse the bytes read and hand the record to the cache (it keeps it or
** not); e->ce is the result. */
static int parse_and_put(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                         const emd_check *q, const emd_read *rd) {
  const emd_rec *rec;
  emd_ident id;
  if (!s->parser) {
    s->parser = eventmd_parser_new(NULL); /* the C library's malloc */
    if (!s->parser) return SQLITE_NOMEM;
  }
  EMD_COUNT(&sc->conn->stats, files_parsed, 1);
  if (emd_parse_record(s->parser, rd->data, rd->len,
                       e->daypage ? EMD_REC_DAYPAGE : EMD_REC_EVENT, 1,
                       &rec) != EVENTMD_OK)
    return SQLITE_NOMEM;
  emd_ident_of(&id, &rd->st);
  id.size = (int64_t)rd->len;
  e->ce = emd_cache_put(sc->conn->cache, q, &id, rec);
  /* A new process will find it there (not a version read within the
  ** timestamps' grain: that one is checked by its bytes, in memory only). */
  if (e->ce && sc->conn->cf && !emd_stat_racy(&rd->st))
    emd_cachefile_put(sc->conn->cf, &q->key, &id, 0, 0, rec);
  return e->ce ? SQLITE_OK : SQLITE_NOMEM;
}

/* Keep the file's text for the markdown column (valid UTF-8). */
static int keep_markdown(emd_entry *e, const emd_read *rd) {
  emd_utf8_info u;
  emd_utf8_scan(&u, rd->data, rd->len);
  e->markdown = emd_malloc(u.repaired_len + 1);
  if (!e->markdown) return SQLITE_NOMEM;
  if (u.valid) {
    memcpy(e->markdown, rd->data, rd->len);
    e->markdown_len = rd->len;
  } else {
    e->markdown_len = emd_utf8_repair(e->markdown, rd->data, rd->len);
  }
  e->markdown[e->markdown_len] = 0;
  return SQLITE_OK;
}

/* Read e (its bytes, and the fstat of the descriptor they came from). */
static int read_entry(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                      emd_read *rd) {
  int dfd = emd_dir_fd(e->dir);
  if (dfd < 0) {
    /* Its folder cannot be opened now: gone, or unreadable. */
    memset(rd, 0, sizeof(*rd));
    rd->status = errno == ENOENT ? EMD_READ_GONE : EMD_READ_ERROR;
    rd->err = errno;
  } else if (emd_read_file(rd, &s->rbuf, dfd, e->name, e->follow, sc->root_real,
                           sc->max_size, &sc->conn->stats)) {
    return SQLITE_NOMEM;
  }
  if (rd->status == EMD_READ_OK || rd->status == EMD_READ_TOO_LARGE) {
    /* The version read is the one shown: size and times from its fstat. */
    e->st = rd->st;
    if (rd->status == EMD_READ_OK) e->st.st_size = (off_t)rd->len;
    e->have_stat = 1;
  }
  if (rd->status == EMD_READ_GONE) {
    e->gone = 1;
  } else if (rd->status != EMD_READ_OK) {
    e->read_status = rd->status;
    e->read_err = rd->err;
    if (rd->status == EMD_READ_SPECIAL) e->kind = EMD_ITEM_SPECIAL;
    if (rd->status == EMD_READ_LINK) e->kind = EMD_ITEM_LINK;
  }
  return SQLITE_OK;
}

/* Get e's parse (and its text when want_markdown): ask the cache, stat when
** it asks for that, read and parse when it has nothing valid.  Each of
** stat, read and parse happens at most once. */
static int obtain(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                  int want_markdown) {
  emd_check q;
  emd_read rd;
  int answer = EMD_CACHE_MISS, rc, read_done = 0;
  e->prepared = 1;
  if (e->kind != EMD_ITEM_FILE) return SQLITE_OK;
  check_of(&q, e);
  q.moment = emd_watch_now();
  if (want_markdown) {
    /* The text is needed anyway: read first, then ask with the bytes. */
    rc = read_entry(sc, e, s, &rd);
    if (rc != SQLITE_OK || rd.status != EMD_READ_OK) return rc;
    rc = keep_markdown(e, &rd);
    if (rc != SQLITE_OK) return rc;
    read_done = 1;
    q.st = &rd.st;
    q.bytes = rd.data;
    q.len = rd.len;
  } else if (e->have_stat) {
    q.st = &e->st;
  }
  if (!e->ce) answer = emd_cache_get(sc->conn->cache, &q, &e->ce);
  if (answer == EMD_CACHE_STAT) {
    q.moment = emd_watch_now();
    entry_stat(sc, e);
    if (e->gone || !e->have_stat || e->kind != EMD_ITEM_FILE) return SQLITE_OK;
    q.st = &e->st;
    answer = emd_cache_get(sc->conn->cache, &q, &e->ce);
  }
  if (answer == EMD_CACHE_HIT) {
    if (!e->have_stat) {
      stat_from_ident(&e->st, emd_centry_ident(e->ce));
      e->have_stat = 1;
    }
    return SQLITE_OK;
  }
  if (answer == EMD_CACHE_MISS && sc->conn->cf && !read_done) {
    /* Not in memory: perhaps in the cache file, which needs the stat. */
    if (!e->have_stat) {
      q.moment = emd_watch_now();
      entry_stat(sc, e);
      if (e->gone || !e->have_stat || e->kind != EMD_ITEM_FILE)
        return SQLITE_OK;
    }
    q.st = &e->st;
    if (from_cachefile(sc, e, &q)) return SQLITE_OK;
  }
  if (e->have_stat && (size_t)e->st.st_size > sc->max_size) {
    e->read_status = EMD_READ_TOO_LARGE;
    return SQLITE_OK;
  }
  if (!read_done) {
    q.moment = emd_watch_now();
    rc = read_entry(sc, e, s, &rd);
    if (rc != SQLITE_OK || rd.status != EMD_READ_OK) return rc;
    q.st = &rd.st;
    q.bytes = rd.data;
    q.len = rd.len;
    if (answer == EMD_CACHE_BYTES) {
      answer = emd_cache_get(sc->conn->cache, &q, &e->ce);
      if (answer == EMD_CACHE_HIT) return SQLITE_OK;
    }
  }
  return parse_and_put(sc, e, s, &q, &rd);
}

int emd_entry_prepare(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                      int want_markdown) {
  if (e->prepared && (!want_markdown || e->markdown)) return SQLITE_OK;
  if (want_markdown && emd_entry_rec(e)) {
    /* The text is read now: the parse shown must be of the same bytes. */
    emd_centry_release(e->ce);
    e->ce = NULL;
    e->brec = NULL;
  }
  return obtain(sc, e, s, want_markdown);
}

int emd_entry_process_fast(const emd_scan_ctx *sc, emd_entry *e) {
  emd_check q;
  if (e->kind == EMD_ITEM_FOLDER) return 1;
  if (e->kind != EMD_ITEM_FILE || !sc->want_parse || sc->want_markdown ||
      e->have_stat || emd_entry_rec(e) || !e->dir->wdir)
    return 0;
  check_of(&q, e);
  q.moment = emd_watch_now();
  if (emd_cache_get_vouched(sc->conn->cache, &q, &e->ce) != EMD_CACHE_HIT)
    return 0;
  stat_from_ident(&e->st, emd_centry_ident(e->ce));
  e->have_stat = 1;
  e->prepared = 1;
  return 1;
}

int emd_entry_known_file(void *cache, const emd_dir *folder, const char *name) {
  emd_check q;
  memset(&q, 0, sizeof(q));
  q.key.fdev = folder->dev;
  q.key.fino = folder->ino;
  q.key.name = name;
  q.key.namelen = (uint32_t)strlen(name);
  q.wdir = folder->wdir;
  return emd_cache_vouches(cache, &q);
}

void emd_entries_prefetch(const emd_scan_ctx *sc, emd_entry *const *es,
                          size_t n) {
  emd_fkey keys[EMD_PREFETCH_MAX];
  emd_entry *of[EMD_PREFETCH_MAX];
  size_t i, k = 0;
  if (!sc->want_parse || sc->want_markdown) return;
  for (i = 0; i < n && k < EMD_PREFETCH_MAX; i++) {
    emd_entry *e = es[i];
    if (e->kind != EMD_ITEM_FILE || emd_entry_rec(e)) continue;
    memset(&keys[k], 0, sizeof(keys[k]));
    keys[k].fdev = e->dir->dev;
    keys[k].fino = e->dir->ino;
    keys[k].name = e->name;
    keys[k].namelen = (uint32_t)strlen(e->name);
    of[k++] = e;
  }
  if (k < 2) return;
  emd_cache_prefetch(sc->conn->cache, keys, k);
  for (i = 0; i < k; i++) of[i]->khash = keys[i].hash;
}

void emd_entry_process(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s) {
  if (e->kind == EMD_ITEM_FOLDER) return;
  if (e->kind == EMD_ITEM_FILE && (sc->want_parse || sc->want_markdown)) {
    e->rc = obtain(sc, e, s, sc->want_markdown);
    /* Links, special files and errors: stat() for size and time. */
    if (!e->gone && !e->have_stat && e->rc == SQLITE_OK) {
      int status = e->read_status, err = e->read_err;
      entry_stat(sc, e);
      if (!e->have_stat && status != EMD_READ_OK) {
        e->read_status = status;
        e->read_err = err;
      }
    }
    return;
  }
  if (sc->want_stat || e->kind != EMD_ITEM_FILE) entry_stat(sc, e);
}

/* ------------------------------------------------------------------------
** Problems.
*/
char *emd_entry_problem(const emd_entry *e, int *nomem) {
  const char *parts[4];
  char buf[256], pbuf[1024];
  int n = 0, i;
  sqlite3_str *s;
  char *out;
  *nomem = 0;
  if (e->name_bad) parts[n++] = "file name is not valid UTF-8";
  switch (e->kind) {
    case EMD_ITEM_SPECIAL: parts[n++] = "not a regular file"; break;
    case EMD_ITEM_LINK: parts[n++] = "symbolic link not followed"; break;
    case EMD_ITEM_FOLDER:
      if (e->err == ELOOP) {
        parts[n++] = "symbolic link loop";
      } else if (e->err == EXDEV) {
        parts[n++] = "symbolic link leads outside the root";
      } else {
        snprintf(buf, sizeof(buf), "unreadable folder: %s", strerror(e->err));
        parts[n++] = buf;
      }
      break;
    default:
      if (e->read_status != EMD_READ_OK) {
        const char *p =
            emd_read_problem(e->read_status, e->read_err, buf, sizeof(buf));
        if (p) parts[n++] = p;
      }
      if (emd_entry_rec(e) &&
          emd_rec_problem(emd_entry_rec(e), e->path_date, pbuf, sizeof(pbuf)))
        parts[n++] = pbuf;
  }
  if (n == 0) return NULL;
  s = sqlite3_str_new(NULL);
  for (i = 0; i < n; i++) {
    if (i) sqlite3_str_appendall(s, "; ");
    sqlite3_str_appendall(s, parts[i]);
  }
  out = sqlite3_str_finish(s);
  if (!out) *nomem = 1;
  return out;
}
