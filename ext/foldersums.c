/* SPDX-License-Identifier: MIT */
/*
** foldersums.c - folder listings and summaries (see foldersums.h): a hash
** table of folders by identity.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "foldersums.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cachefile.h"
#include "emd.h"
#include "text.h"

#define SUMS_MAX 65536   /* folders kept at most */
#define SLOTS_FIRST 1024 /* hash chains (a power of two) */

typedef struct fsum {
  uint64_t dev, ino;          /* the folder */
  int64_t mtime_ns, ctime_ns; /* the listed version */
  int racy;                   /* changed within EMD_RACY_NS of the listing */
  const emd_wdir *wdir;       /* its watch, or NULL */
  uint64_t moment;            /* when it was listed (watch clock) */
  int date_only;              /* nothing but date folders inside */
  int from_file;              /* 1: taken from the cache file, not yet met
                                 by this process; 2: met once since */
  char *months;       /* year folders: month names, NUL-separated, ending with
                      an empty name */
  char *listing;      /* the sorted entries: a type byte (high bit: the name is
                      not valid UTF-8), two length bytes, the
                      name, a NUL, for each of nlisting */
  size_t listing_len; /* bytes of listing */
  size_t nlisting;    /* entries */
  struct kid *kids;   /* per entry: the folder it names, when learnt */
  uint64_t kids_moment; /* watch clock before the first of them was learnt */
  struct fsum *next;    /* hash chain */
} fsum;

/* What a listing's entry names: a folder's identity, learnt by a stat()
** (ino 0: not learnt), with the name's hash to make sure of the entry. */
typedef struct kid {
  uint64_t dev, ino, name_hash;
} kid;

struct emd_foldersums {
  fsum **slots;
  size_t nslots;     /* power of two */
  size_t count;      /* folders kept */
  size_t bytes;      /* listing bytes held */
  size_t max_bytes;  /* bound on bytes; when reached all are dropped */
  emd_cachefile *cf; /* the persistent cache, or NULL (borrowed) */
  int cf_loaded;     /* its listings were taken in (once) */
};

static int64_t ts_ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

emd_foldersums *emd_foldersums_new(void) {
  emd_foldersums *s = emd_malloc(sizeof(*s));
  if (!s) return NULL;
  memset(s, 0, sizeof(*s));
  return s;
}

static void clear(emd_foldersums *s) {
  size_t i;
  for (i = 0; i < s->nslots; i++) {
    fsum *f = s->slots[i];
    while (f) {
      fsum *n = f->next;
      emd_free(f->months);
      emd_free(f->listing);
      emd_free(f->kids);
      emd_free(f);
      f = n;
    }
    s->slots[i] = NULL;
  }
  s->count = 0;
  s->bytes = 0;
}

void emd_foldersums_set_limit(emd_foldersums *s, size_t max_bytes) {
  s->max_bytes = max_bytes;
  if (s->bytes > max_bytes || max_bytes == 0) clear(s);
}

size_t emd_foldersums_bytes(const emd_foldersums *s) {
  return s->bytes + s->count * sizeof(fsum);
}

void emd_foldersums_free(emd_foldersums *s) {
  if (!s) return;
  clear(s);
  emd_free(s->slots);
  emd_free(s);
}

static size_t slot_of(const emd_foldersums *s, uint64_t dev, uint64_t ino) {
  uint64_t h = ino * 0x9E3779B97F4A7C15ULL ^ dev;
  return (size_t)(h >> 17) & (s->nslots - 1);
}

/* Double the hash chains once there are more folders than chains, so that
** a lookup stays one or two steps whatever the archive's size. */
static void grow(emd_foldersums *s) {
  size_t n = s->nslots * 2, i;
  fsum **slots = emd_malloc(n * sizeof(fsum *));
  if (!slots) return; /* keep the old chains: only slower */
  memset(slots, 0, n * sizeof(fsum *));
  for (i = 0; i < s->nslots; i++) {
    fsum *f = s->slots[i];
    while (f) {
      fsum *next = f->next;
      uint64_t h = f->ino * 0x9E3779B97F4A7C15ULL ^ f->dev;
      size_t k = (size_t)(h >> 17) & (n - 1);
      f->next = slots[k];
      slots[k] = f;
      f = next;
    }
  }
  emd_free(s->slots);
  s->slots = slots;
  s->nslots = n;
}

static fsum *find(emd_foldersums *s, uint64_t dev, uint64_t ino) {
  fsum *f;
  if (!s->nslots) return NULL;
  for (f = s->slots[slot_of(s, dev, ino)]; f; f = f->next)
    if (f->dev == dev && f->ino == ino) return f;
  return NULL;
}

/* Is a listing from outside (the cache file) well formed: count entries,
** each a type byte, two length bytes, that many name bytes and a NUL? */
static int listing_ok(const char *p, size_t len, size_t count) {
  size_t i, at = 0;
  for (i = 0; i < count; i++) {
    size_t n;
    if (len - at < 4) return 0;
    n = (unsigned char)p[at + 1] | (size_t)(unsigned char)p[at + 2] << 8;
    if (n == 0 || n > 255 || len - at < n + 4 || p[at + 3 + n] != 0 ||
        memchr(p + at + 3, 0, n))
      return 0;
    at += n + 4;
  }
  return at == len;
}

void emd_foldersums_set_cachefile(emd_foldersums *s, emd_cachefile *cf) {
  s->cf = cf;
  s->cf_loaded = 0;
}

/* Is what was kept of folder x still the folder id describes now? */
static int still_valid(const fsum *x, const emd_folderid *id) {
  if (x->wdir && emd_watch_unchanged(x->wdir, x->moment)) return 1;
  return !x->racy && x->mtime_ns == id->mtime_ns && x->ctime_ns == id->ctime_ns;
}

/* Keep folder id's listing (the encoded bytes `listing`, llen bytes, n
** entries) and its date-only flag. */
static fsum *store(emd_foldersums *s, const emd_folderid *id,
                   const char *listing, size_t llen, size_t n, int date_only,
                   int is_year) {
  int64_t now = emd_cache_now_ns();
  size_t i;
  fsum *x;
  if (!s->nslots) {
    s->slots = emd_malloc(SLOTS_FIRST * sizeof(fsum *));
    if (!s->slots) return NULL;
    memset(s->slots, 0, SLOTS_FIRST * sizeof(fsum *));
    s->nslots = SLOTS_FIRST;
  }
  if (s->count >= SUMS_MAX || s->bytes + llen > s->max_bytes) clear(s);
  if (s->count >= s->nslots) grow(s);
  x = find(s, id->dev, id->ino);
  if (!x) {
    size_t k = slot_of(s, id->dev, id->ino);
    x = emd_malloc(sizeof(*x));
    if (!x) return NULL;
    memset(x, 0, sizeof(*x));
    x->dev = id->dev;
    x->ino = id->ino;
    x->next = s->slots[k];
    s->slots[k] = x;
    s->count++;
  }
  emd_free(x->months);
  x->months = NULL;
  if (x->kids) s->bytes -= x->nlisting * sizeof(kid);
  emd_free(x->kids);
  x->kids = NULL;
  s->bytes -= x->listing_len;
  emd_free(x->listing);
  x->listing = NULL;
  x->listing_len = x->nlisting = 0;
  x->mtime_ns = id->mtime_ns;
  x->ctime_ns = id->ctime_ns;
  x->racy =
      id->mtime_ns > now - EMD_RACY_NS || id->ctime_ns > now - EMD_RACY_NS;
  x->wdir = id->wdir;
  x->moment = id->moment;
  x->date_only = date_only;
  x->from_file = 0;
  x->listing = emd_malloc(llen ? llen : 1);
  if (!x->listing) {
    x->date_only = 0;
    return x;
  }
  memcpy(x->listing, listing, llen);
  x->listing_len = llen;
  x->nlisting = n;
  s->bytes += llen;
  if (date_only && is_year) {
    /* The month names, from the listing. */
    char *m = emd_malloc(llen + 1), *o = m;
    const char *p = x->listing;
    if (!m) {
      x->date_only = 0;
      return x;
    }
    for (i = 0; i < n; i++) {
      size_t len = (unsigned char)p[1] | (size_t)(unsigned char)p[2] << 8;
      memcpy(o, p + 3, len + 1);
      o += len + 1;
      p += len + 4;
    }
    *o = 0;
    x->months = m;
  }
  return x;
}

/* The cache file's copy of a listing: a flags byte (bit 0: date-only, bit
** 1: a year folder), then the listing's bytes. */
#define CF_DATE_ONLY 1
#define CF_YEAR 2

void emd_foldersums_record(emd_foldersums *s, const emd_folderid *id,
                           const emd_listent *ents, size_t n, int kind,
                           int year, int month) {
  int date_only = kind != EMD_FOLDER_OTHER;
  size_t i, llen = 0;
  char *buf, *o;
  fsum *x;
  if (id->mtime_ns < 0 || s->max_bytes == 0) return;
  for (i = 0; i < n; i++) {
    const emd_listent *e = &ents[i];
    int v = emd_seg_number(e->name, e->len, 1, 2);
    if (e->type != DT_DIR)
      date_only = 0;
    else if (kind == EMD_FOLDER_YEAR && (v < 1 || v > 12))
      date_only = 0;
    else if (kind == EMD_FOLDER_MONTH &&
             (v < 1 || !emd_valid_date(year, month, v)))
      date_only = 0;
    llen += e->len + 4;
  }
  buf = emd_malloc(llen + 1);
  if (!buf) return;
  buf[0] = (char)((date_only ? CF_DATE_ONLY : 0) |
                  (kind == EMD_FOLDER_YEAR ? CF_YEAR : 0));
  for (o = buf + 1, i = 0; i < n; i++) {
    *o++ = (char)(ents[i].type | (ents[i].bad ? 0x80 : 0));
    *o++ = (char)(ents[i].len & 0xff);
    *o++ = (char)(ents[i].len >> 8); /* names are at most 255 bytes */
    memcpy(o, ents[i].name, ents[i].len + 1);
    o += ents[i].len + 1;
  }
  x = store(s, id, buf + 1, llen, n, date_only, kind == EMD_FOLDER_YEAR);
  /* A new process finds it in the cache file (not a folder changed within
  ** the timestamps' grain: its times cannot vouch for it). */
  if (x && !x->racy && s->cf)
    emd_cachefile_put_folder(s->cf, id->dev, id->ino, id->mtime_ns,
                             id->ctime_ns, buf, llen + 1, n);
  emd_free(buf);
}

/* One listing of the cache file, taken in when there is room and nothing
** is known of the folder yet. */
static int load_one(void *ctx, uint64_t dev, uint64_t ino, int64_t mtime_ns,
                    int64_t ctime_ns, const void *listing, size_t len,
                    size_t count) {
  emd_foldersums *s = ctx;
  const char *blob = listing;
  emd_folderid id;
  fsum *x;
  /* A quarter of the bound stays free for what this process learns. */
  if (s->bytes + len > s->max_bytes / 4 * 3) return 1;
  if (len < 1 || find(s, dev, ino) || !listing_ok(blob + 1, len - 1, count))
    return 0;
  memset(&id, 0, sizeof(id));
  id.dev = dev;
  id.ino = ino;
  id.mtime_ns = mtime_ns;
  id.ctime_ns = ctime_ns;
  x = store(s, &id, blob + 1, len - 1, count, (blob[0] & CF_DATE_ONLY) != 0,
            (blob[0] & CF_YEAR) != 0);
  if (x) x->from_file = 1;
  return 0;
}

/* What is kept of folder id, still valid: from memory, else from the cache
** file (then kept in memory too), else NULL.  The first ask of the cache
** file takes in all its listings in one pass (a new process's first scan
** would otherwise ask for each folder in turn). */
static fsum *valid(emd_foldersums *s, const emd_folderid *id) {
  fsum *x = find(s, id->dev, id->ino);
  char *blob = NULL;
  size_t len = 0, count = 0;
  if (x && still_valid(x, id)) return x;
  if (!x && s->cf && !s->cf_loaded && id->mtime_ns >= 0) {
    s->cf_loaded = 1;
    emd_cachefile_each_listing(s->cf, load_one, s);
    x = find(s, id->dev, id->ino);
    if (x) return still_valid(x, id) ? x : NULL;
  }
  if (!s->cf || id->mtime_ns < 0 ||
      emd_cachefile_get_folder(s->cf, id->dev, id->ino, id->mtime_ns,
                               id->ctime_ns, &blob, &len, &count) != SQLITE_ROW)
    return NULL;
  x = NULL;
  if (len >= 1 && listing_ok(blob + 1, len - 1, count)) {
    emd_folderid loaded = *id;
    loaded.wdir = NULL; /* only the times vouch for what another process saw */
    x = store(s, &loaded, blob + 1, len - 1, count,
              (blob[0] & CF_DATE_ONLY) != 0, (blob[0] & CF_YEAR) != 0);
    if (x) x->from_file = 1;
    if (x && !still_valid(x, id)) x = NULL;
  }
  free(blob); /* the cache file's: the C library's */
  return x;
}

int emd_foldersums_listing(emd_foldersums *s, const emd_folderid *id,
                           char **names, emd_listent **ents, size_t *n) {
  fsum *x = valid(s, id);
  size_t i;
  const char *p;
  *names = NULL;
  *ents = NULL;
  *n = 0;
  if (!x || !x->listing) return SQLITE_DONE;
  *names = emd_malloc(x->listing_len ? x->listing_len : 1);
  *ents = emd_malloc((x->nlisting ? x->nlisting : 1) * sizeof(emd_listent));
  if (!*names || !*ents) {
    emd_free(*names);
    emd_free(*ents);
    *names = NULL;
    *ents = NULL;
    return SQLITE_NOMEM;
  }
  memcpy(*names, x->listing, x->listing_len);
  for (p = *names, i = 0; i < x->nlisting; i++) {
    size_t len = (unsigned char)p[1] | (size_t)(unsigned char)p[2] << 8;
    (*ents)[i].type = (unsigned char)(p[0] & 0x7f);
    (*ents)[i].bad = (unsigned char)(((unsigned char)p[0] & 0x80) != 0);
    (*ents)[i].name = p + 3;
    (*ents)[i].len = (uint32_t)len;
    p += len + 4;
  }
  *n = x->nlisting;
  return SQLITE_ROW;
}

static void kid_learnt_named(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                             const emd_wdir *pwdir, const char *name,
                             uint64_t dev, uint64_t ino, uint64_t moment);

int emd_foldersums_date_only_vouched(emd_foldersums *s, uint64_t pdev,
                                     uint64_t pino, const emd_wdir *pwdir,
                                     const char *name, int year) {
  uint64_t dev, ino;
  const char *m;
  fsum *x;
  /* The folder the parent's listing names, as its watch vouches; what is
  ** kept of it, as its own watch vouches; for a year, each month alike. */
  if (!s ||
      !emd_foldersums_kid_named(s, pdev, pino, pwdir, name, strlen(name), &dev,
                                &ino) ||
      !(x = find(s, dev, ino)) || !x->date_only || !x->wdir ||
      !emd_watch_unchanged(x->wdir, x->moment))
    return -1;
  if (!year || !x->months) return 1;
  for (m = x->months; *m; m += strlen(m) + 1)
    if (emd_foldersums_date_only_vouched(s, x->dev, x->ino, x->wdir, m, 0) != 1)
      return -1;
  return 1;
}

/* The verdict looked up: stat() folder name of folder pdev/pino (open as
** dirfd), find what is kept of it, and for a year its months likewise;
** each identity found is remembered on the parent's listing (moment: read
** before any of this). */
static int date_only_look(emd_foldersums *s, int dirfd, uint64_t pdev,
                          uint64_t pino, const emd_wdir *pwdir,
                          const char *name, int year, uint64_t moment) {
  struct stat st;
  emd_folderid id;
  fsum *x;
  const char *m;
  int yfd, ok = 1;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISDIR(st.st_mode))
    return 0;
  kid_learnt_named(s, pdev, pino, pwdir, name, (uint64_t)st.st_dev,
                   (uint64_t)st.st_ino, moment);
  memset(&id, 0, sizeof(id));
  id.dev = (uint64_t)st.st_dev;
  id.ino = (uint64_t)st.st_ino;
  id.mtime_ns = ts_ns(&st.st_mtim);
  id.ctime_ns = ts_ns(&st.st_ctim);
  x = valid(s, &id);
  if (!x || !x->date_only) return 0;
  if (!year || !x->months || !*x->months) return 1;
  /* The months, each one stat() relative to the year itself (one path
  ** component to resolve, not two). */
  yfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (yfd < 0) return 0;
  if (fstat(yfd, &st) != 0 || (uint64_t)st.st_dev != x->dev ||
      (uint64_t)st.st_ino != x->ino)
    ok = 0;
  for (m = x->months; ok && *m; m += strlen(m) + 1)
    ok = date_only_look(s, yfd, x->dev, x->ino, x->wdir, m, 0, moment);
  close(yfd);
  return ok;
}

int emd_foldersums_date_only(emd_foldersums *s, int dirfd, uint64_t pdev,
                             uint64_t pino, const emd_wdir *pwdir,
                             const char *name, int year) {
  /* The moment is read before anything is looked at (watch.h). */
  uint64_t moment = emd_watch_now();
  if (!s || dirfd < 0) return 0;
  return date_only_look(s, dirfd, pdev, pino, pwdir, name, year, moment);
}

/* ------------------------------------------------------------------------
** The folders a listing names.
*/
void emd_foldersums_kid_learnt(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                               const emd_wdir *pwdir, size_t idx,
                               const char *name, size_t len, uint64_t dev,
                               uint64_t ino, uint64_t moment) {
  fsum *x;
  if (!s || !pwdir || !ino) return;
  x = find(s, pdev, pino);
  if (!x || !x->listing || idx >= x->nlisting) return;
  if (!x->kids) {
    size_t bytes = x->nlisting * sizeof(kid);
    if (s->bytes + bytes > s->max_bytes) return;
    x->kids = emd_malloc(bytes);
    if (!x->kids) return;
    memset(x->kids, 0, bytes);
    s->bytes += bytes;
    x->kids_moment = moment;
  } else if (!emd_watch_unchanged(pwdir, x->kids_moment)) {
    /* The folder changed since: what was learnt of its names is void. */
    memset(x->kids, 0, x->nlisting * sizeof(kid));
    x->kids_moment = moment;
  }
  x->kids[idx].dev = dev;
  x->kids[idx].ino = ino;
  x->kids[idx].name_hash = emd_hash64(name, len);
}

int emd_foldersums_kid(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                       const emd_wdir *pwdir, size_t idx, const char *name,
                       size_t len, uint64_t *dev, uint64_t *ino) {
  fsum *x;
  if (!s || !pwdir) return 0;
  x = find(s, pdev, pino);
  if (!x || !x->kids || idx >= x->nlisting || !x->kids[idx].ino ||
      x->kids[idx].name_hash != emd_hash64(name, len) ||
      !emd_watch_unchanged(pwdir, x->kids_moment))
    return 0;
  *dev = x->kids[idx].dev;
  *ino = x->kids[idx].ino;
  return 1;
}

/* Where name (len bytes) is in x's listing, or -1. */
static long entry_index(const fsum *x, const char *name, size_t len) {
  const char *p;
  size_t i;
  if (!x->listing) return -1;
  for (p = x->listing, i = 0; i < x->nlisting; i++) {
    size_t n = (unsigned char)p[1] | (size_t)(unsigned char)p[2] << 8;
    if (n == len && !memcmp(p + 3, name, len)) return (long)i;
    p += n + 4;
  }
  return -1;
}

int emd_foldersums_kid_named(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                             const emd_wdir *pwdir, const char *name,
                             size_t len, uint64_t *dev, uint64_t *ino) {
  fsum *x = s && pwdir ? find(s, pdev, pino) : NULL;
  long i = x && x->kids ? entry_index(x, name, len) : -1;
  return i >= 0 && emd_foldersums_kid(s, pdev, pino, pwdir, (size_t)i, name,
                                      len, dev, ino);
}

static void kid_learnt_named(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                             const emd_wdir *pwdir, const char *name,
                             uint64_t dev, uint64_t ino, uint64_t moment) {
  size_t len = strlen(name);
  fsum *x = pwdir ? find(s, pdev, pino) : NULL;
  long i = x ? entry_index(x, name, len) : -1;
  if (i >= 0)
    emd_foldersums_kid_learnt(s, pdev, pino, pwdir, (size_t)i, name, len, dev,
                              ino, moment);
}

int emd_foldersums_defer_watch(emd_foldersums *s, uint64_t dev, uint64_t ino) {
  fsum *x = s ? find(s, dev, ino) : NULL;
  if (!x || x->from_file != 1) return 0;
  x->from_file = 2;
  return 1;
}
