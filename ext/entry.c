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
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parser.h"
#include "text.h"

/* ------------------------------------------------------------------------
** Scratch.
*/
void emd_scratch_free(emd_scratch *s) {
  eventmd_parser_free(s->parser);
  s->parser = NULL;
  emd_buf_free(&s->rbuf);
  emd_buf_free(&s->key);
}

/* ------------------------------------------------------------------------
** Entries.
*/
int emd_entry_set(emd_entry *e, int kind, const char *relpath, size_t len,
                  size_t name_off, emd_dir *dir, int follow, int err) {
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
  if (!emd_relpath_date(e->path_date, d, (size_t)e->disp_len))
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
  emd_parsed_release(e->parsed);
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

/* stat() a file entry; sets e->gone when it vanished. */
static void entry_stat(const emd_scan_ctx *sc, emd_entry *e) {
  int flags = e->follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (e->kind == EMD_ITEM_FOLDER || e->have_stat) return;
  EMD_COUNT(&sc->conn->stats, files_stated, 1);
  if (fstatat(e->dir->fd, e->name, &e->st, flags) != 0) {
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

/* Cache key: root, a NUL, relpath; built in s->key. */
static const char *cache_key(const emd_scan_ctx *sc, const emd_entry *e,
                             emd_scratch *s, size_t *len) {
  size_t n = sc->rootlen + 1 + e->relpath_len;
  if (n > s->key.cap) {
    char *p = emd_realloc(s->key.p, n);
    if (!p) return NULL;
    s->key.p = p;
    s->key.cap = n;
  }
  memcpy(s->key.p, sc->root, sc->rootlen + 1);
  memcpy(s->key.p + sc->rootlen + 1, e->relpath, e->relpath_len);
  *len = n;
  return s->key.p;
}

/* Parse the bytes read into a new emd_parsed. */
static int parse_bytes(const emd_scan_ctx *sc, const emd_entry *e,
                       emd_scratch *s, const emd_read *rd, const char *key,
                       size_t keylen, emd_parsed **out) {
  const emd_rec *rec;
  if (!s->parser) {
    s->parser = eventmd_parser_new(NULL); /* the C library's malloc */
    if (!s->parser) return SQLITE_NOMEM;
  }
  EMD_COUNT(&sc->conn->stats, files_parsed, 1);
  if (emd_parse_record(s->parser, rd->data, rd->len,
                       e->daypage ? EMD_REC_DAYPAGE : EMD_REC_EVENT, 1,
                       &rec) != EVENTMD_OK)
    return SQLITE_NOMEM;
  *out = emd_parsed_new(rec, &rd->st, (off_t)rd->len, key, keylen);
  return *out ? SQLITE_OK : SQLITE_NOMEM;
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

/* Read e, then parse the bytes unless e->parsed (a racy cache entry) or
** the cache already holds this exact version.  Sets e->st from the
** descriptor the bytes came from. */
static int read_and_parse(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                          const char *key, size_t keylen, int want_markdown) {
  emd_conn *conn = sc->conn;
  emd_read rd;
  int rc = SQLITE_OK;
  if (emd_read_file(&rd, &s->rbuf, e->dir->fd, e->name, e->follow,
                    sc->root_real, sc->max_size, &conn->stats))
    return SQLITE_NOMEM;
  if (rd.status == EMD_READ_OK || rd.status == EMD_READ_TOO_LARGE) {
    /* The version read is the one shown: size and times from its fstat. */
    e->st = rd.st;
    if (rd.status == EMD_READ_OK) e->st.st_size = (off_t)rd.len;
    e->have_stat = 1;
  }
  if (e->parsed && !want_markdown) {
    /* A racy cache entry: the same bytes are the same parse. */
    emd_parsed *p = e->parsed;
    if (rd.status == EMD_READ_OK && emd_parsed_matches(p, &rd.st) &&
        emd_hash64(rd.data, rd.len) == p->content_hash) {
      EMD_COUNT(&conn->stats, cache_hits, 1);
      if (!emd_stat_racy(&rd.st))
        __atomic_store_n(&p->racy, 0, __ATOMIC_RELAXED);
      return SQLITE_OK;
    }
    EMD_COUNT(&conn->stats, cache_misses, 1);
    emd_parsed_release(p);
    e->parsed = NULL;
  }
  if (rd.status == EMD_READ_GONE) {
    e->gone = 1;
    return SQLITE_OK;
  }
  if (rd.status != EMD_READ_OK) {
    e->read_status = rd.status;
    e->read_err = rd.err;
    if (rd.status == EMD_READ_SPECIAL) e->kind = EMD_ITEM_SPECIAL;
    if (rd.status == EMD_READ_LINK) e->kind = EMD_ITEM_LINK;
    return SQLITE_OK;
  }
  if (want_markdown) {
    rc = keep_markdown(e, &rd);
    if (rc == SQLITE_OK && e->parsed &&
        !emd_parsed_matches(e->parsed, &rd.st)) {
      emd_parsed_release(e->parsed); /* another version: parse this one */
      e->parsed = NULL;
    }
    if (rc == SQLITE_OK && !e->parsed) {
      e->parsed = emd_cache_get(conn->cache, key, keylen, &rd.st);
      if (e->parsed && e->parsed->racy &&
          emd_hash64(rd.data, rd.len) != e->parsed->content_hash) {
        emd_parsed_release(e->parsed); /* same stamps, other bytes */
        e->parsed = NULL;
      }
      if (e->parsed) EMD_COUNT(&conn->stats, cache_hits, 1);
    }
  }
  if (rc == SQLITE_OK && !e->parsed) {
    rc = parse_bytes(sc, e, s, &rd, key, keylen, &e->parsed);
    if (rc == SQLITE_OK && e->parsed) {
      if (emd_stat_racy(&rd.st)) {
        e->parsed->racy = 1;
        e->parsed->content_hash = emd_hash64(rd.data, rd.len);
      }
      emd_cache_put(conn->cache, key, keylen, e->parsed);
    }
  }
  return rc;
}

int emd_entry_prepare(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                      int want_markdown) {
  emd_conn *conn = sc->conn;
  const char *key;
  size_t keylen = 0;
  if (e->prepared && (!want_markdown || e->markdown)) return SQLITE_OK;
  e->prepared = 1;
  if (e->kind != EMD_ITEM_FILE || !e->have_stat) return SQLITE_OK;
  if ((size_t)e->st.st_size > sc->max_size) {
    e->read_status = EMD_READ_TOO_LARGE;
    return SQLITE_OK;
  }
  key = cache_key(sc, e, s, &keylen);
  if (!key) return SQLITE_NOMEM;
  if (!want_markdown && !e->parsed) {
    e->parsed = emd_cache_get(conn->cache, key, keylen, &e->st);
    if (e->parsed && !__atomic_load_n(&e->parsed->racy, __ATOMIC_RELAXED)) {
      EMD_COUNT(&conn->stats, cache_hits, 1);
      return SQLITE_OK;
    }
    if (!e->parsed) EMD_COUNT(&conn->stats, cache_misses, 1);
  }
  return read_and_parse(sc, e, s, key, keylen, want_markdown);
}

void emd_entry_process(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s) {
  if (e->kind == EMD_ITEM_FILE && sc->want_parse && !sc->want_markdown) {
    /* One cache lookup by path: nothing there means a cold file, opened at
    ** once (its fstat is the stat, saving a stat() per file); an entry is
    ** checked against the file's stat(). */
    size_t keylen = 0;
    const char *key = cache_key(sc, e, s, &keylen);
    emd_parsed *p;
    if (!key) {
      e->rc = SQLITE_NOMEM;
      return;
    }
    p = emd_cache_peek(sc->conn->cache, key, keylen);
    if (p) {
      entry_stat(sc, e);
      if (e->gone || !e->have_stat || e->kind != EMD_ITEM_FILE) {
        emd_parsed_release(p);
        if (!e->gone) e->rc = emd_entry_prepare(sc, e, s, 0);
        return;
      }
      e->prepared = 1;
      if (emd_parsed_matches(p, &e->st) &&
          (size_t)e->st.st_size <= sc->max_size) {
        e->parsed = p; /* racy entries are re-checked by read_and_parse */
        if (!__atomic_load_n(&p->racy, __ATOMIC_RELAXED)) {
          EMD_COUNT(&sc->conn->stats, cache_hits, 1);
          return;
        }
      } else {
        emd_parsed_release(p);
        if ((size_t)e->st.st_size > sc->max_size) {
          e->read_status = EMD_READ_TOO_LARGE;
          return;
        }
        EMD_COUNT(&sc->conn->stats, cache_misses, 1);
      }
      e->rc = read_and_parse(sc, e, s, key, keylen, 0);
      return;
    }
    EMD_COUNT(&sc->conn->stats, cache_misses, 1);
    e->prepared = 1;
    e->rc = read_and_parse(sc, e, s, key, keylen, 0);
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
  entry_stat(sc, e);
  if (e->gone || !(sc->want_parse || sc->want_markdown)) return;
  e->rc = emd_entry_prepare(sc, e, s, sc->want_markdown);
}

/* ------------------------------------------------------------------------
** Looking paths up directly.
*/
int emd_lookup_path_ok(const char *p, size_t n) {
  size_t i = 1, start;
  if (n < 2 || p[0] != '/' || memchr(p, 0, n)) return -1;
  while (i < n) {
    start = i;
    while (i < n && p[i] != '/') i++;
    if (i == start) return -1;      /* "//" */
    if (p[start] == '.') return -1; /* ".", "..", hidden */
    if (i - start > NAME_MAX) return -1;
    if (i < n) i++; /* the slash */
  }
  return (int)(n - 1);
}

/* Open the folders rel[0..len) ("a/b/c", no trailing '/') beneath rootfd
** without following any symbolic link (follow: following them).  -1 when
** any is missing, not a folder, or a link not to follow. */
static int open_folders(int rootfd, const char *rel, size_t len, int follow) {
  char comp[NAME_MAX + 1];
  int oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  size_t i = 0;
  int fd;
#ifdef SYS_openat2
  if (!follow && len > 0 && len < 4096) {
    /* One call checks every component: no symlink anywhere, nothing
    ** escaping the root.  Old kernels or filters: fall back below. */
    char path[4096];
    struct open_how how;
    memcpy(path, rel, len);
    path[len] = 0;
    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd >= 0) return fd;
    if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG)
      return -1;
  }
#endif
  fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  while (fd >= 0 && i < len) {
    const char *slash = memchr(rel + i, '/', len - i);
    size_t n = slash ? (size_t)(slash - (rel + i)) : len - i;
    int nfd;
    memcpy(comp, rel + i, n);
    comp[n] = 0;
    nfd = openat(fd, comp, oflags);
    close(fd);
    fd = nfd;
    i += n + 1;
  }
  return fd;
}

int emd_entry_lookup(emd_entry *e, int rootfd, int follow,
                     const char *root_real, const char *rel) {
  size_t len = strlen(rel), last;
  int folder = len > 0 && rel[len - 1] == '/';
  int fd, kind, err = 0, lfollow = 0, rc, have_st = 0;
  int oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  char comp[NAME_MAX + 1];
  struct stat st;
  emd_dir *dir;

  if (len == 0) return SQLITE_DONE;
  /* Folders: every component but the last. */
  last = folder ? len - 1 : len;
  while (last > 0 && rel[last - 1] != '/') last--;
  fd = open_folders(rootfd, rel, last ? last - 1 : 0, follow);
  if (fd < 0) return SQLITE_DONE;
  memcpy(comp, rel + last, len - last - (size_t)folder);
  comp[len - last - (size_t)folder] = 0;
  if (follow && !emd_fd_inside(fd, root_real)) {
    close(fd);
    return SQLITE_DONE;
  }
  if (folder) {
    /* A folder has a row only when it cannot be opened. */
    int sub = openat(fd, comp, oflags);
    err = sub < 0 ? errno : 0;
    if (sub >= 0) {
      if (follow && !emd_fd_inside(sub, root_real)) err = EXDEV;
      close(sub);
    }
    if (!err || err == ENOENT || err == ENOTDIR || (!follow && err == ELOOP)) {
      close(fd);
      return SQLITE_DONE;
    }
    kind = EMD_ITEM_FOLDER;
  } else {
    if (!emd_is_event_name(comp, strlen(comp)) ||
        fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        S_ISDIR(st.st_mode)) {
      close(fd);
      return SQLITE_DONE;
    }
    if (S_ISLNK(st.st_mode)) {
      struct stat tst;
      if (!follow || fstatat(fd, comp, &tst, 0) != 0) {
        kind = EMD_ITEM_LINK;
      } else if (S_ISDIR(tst.st_mode)) {
        close(fd);
        return SQLITE_DONE;
      } else {
        kind = S_ISREG(tst.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
        lfollow = 1;
      }
    } else {
      kind = S_ISREG(st.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
      have_st = 1;
    }
  }
  dir = emd_dir_new(fd);
  if (!dir) return SQLITE_NOMEM;
  rc = emd_entry_set(e, kind, rel, len, last, dir, lfollow, err);
  emd_dir_release(dir); /* the entry holds its own reference */
  if (rc == SQLITE_OK && have_st) {
    /* The stat just made is the entry's: no second one. */
    e->st = st;
    e->have_stat = 1;
  }
  return rc;
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
      if (e->parsed &&
          emd_rec_problem(e->parsed->rec, e->path_date, pbuf, sizeof(pbuf)))
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
