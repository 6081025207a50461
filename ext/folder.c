/* SPDX-License-Identifier: MIT */
/*
** folder.c - what a row needs from its folder (see folder.h).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "versions.h"

/* ------------------------------------------------------------------------
** Links.
*/
void emd_links_init(emd_links *l, int rootfd, uint64_t rdev, uint64_t rino,
                    int watch, emd_foldermemo *memo) {
  memset(l, 0, sizeof(*l));
  l->rootfd = rootfd;
  l->rdev = rdev;
  l->rino = rino;
  /* The root's watch vouches for the language folders links were checked
  ** against (a lookup by path lists no folder, so it may have none yet). */
  l->rwdir = watch && rootfd >= 0
                 ? emd_watch_dir(rootfd, (dev_t)rdev, (ino_t)rino)
                 : NULL;
  l->memo = memo;
  l->scan = ++memo->scans;
}

static int is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

emd_str emd_links_norm(emd_links *l, emd_str h) {
  int k;
  if (!h.p || h.n < 9 || h.p[0] != '/' || !is_lower(h.p[1]) ||
      !is_lower(h.p[2]) || h.p[3] != '/' || memcmp(h.p + 4, "news/", 5) != 0)
    return h;
  k = (h.p[1] - 'a') * 26 + (h.p[2] - 'a');
  if (!l->known[k]) {
    char name[3];
    struct stat st;
    name[0] = h.p[1];
    name[1] = h.p[2];
    name[2] = 0;
    l->known[k] =
        l->rootfd >= 0 &&
                fstatat(l->rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(st.st_mode)
            ? 1
            : 2;
  }
  if (l->known[k] == 2) {
    h.p += 3;
    h.n -= 3;
  }
  return h;
}

static emd_str norm_cb(void *ctx, emd_str href) {
  return emd_links_norm(ctx, href);
}

/* ------------------------------------------------------------------------
** A folder's information, kept on its emd_dir.
*/
typedef struct folderinfo {
  int refs;             /* holders: emd_dirs of the folder, the memo */
  uint64_t scan;        /* the scan that learnt it (emd_links.scan) */
  uint64_t moment;      /* emd_watch_now() before it was learnt */
  const emd_wdir *wdir; /* the folder's watch then, or NULL */
  uint64_t rdev, rino;  /* the root it was learnt under */
  int unwatchable;      /* some file of it the watch cannot vouch for */
  int have_daypage;     /* the day page was looked for */
  emd_centry *daypage;  /* its parse (a reference), or NULL */
  int have_versions;    /* files[] is computed */
  emd_vfile *files;     /* the event files, by path */
  emd_centry **parsed;  /* their parses (references; NULL for none) */
  size_t n;             /* number of files */
  char **paths;         /* their shown paths (owned) */
} folderinfo;

static void info_free(void *p) {
  folderinfo *fi = p;
  size_t i;
  if (!fi || --fi->refs > 0) return;
  emd_centry_release(fi->daypage);
  for (i = 0; i < fi->n; i++) {
    emd_centry_release(fi->parsed[i]);
    emd_free(fi->paths[i]);
  }
  emd_free(fi->files);
  emd_free(fi->parsed);
  emd_free(fi->paths);
  emd_free(fi);
}

/* A name found in the folder's listing. */
typedef struct fname {
  char *name;
  unsigned char type; /* DT_* */
} fname;

typedef struct listing {
  fname *a;
  size_t n, cap;
  char *daypage;      /* README.md (any case), else index.md; owned */
  int daypage_readme; /* daypage is a README */
} listing;

static void listing_free(listing *l) {
  size_t i;
  for (i = 0; i < l->n; i++) emd_free(l->a[i].name);
  emd_free(l->a);
  emd_free(l->daypage);
  memset(l, 0, sizeof(*l));
}

/* Keep name as the day page when it beats the one found so far. */
static int consider_daypage(listing *l, const char *name, size_t len) {
  int readme = emd_ascii_ieq(name, len, "readme.md");
  if (l->daypage &&
      (l->daypage_readme > readme ||
       (l->daypage_readme == readme && strcmp(l->daypage, name) <= 0)))
    return SQLITE_OK;
  emd_free(l->daypage);
  l->daypage = emd_strndup(name, len);
  l->daypage_readme = readme;
  return l->daypage ? SQLITE_OK : SQLITE_NOMEM;
}

/* List folder dirfd: its event file names and its day page. */
static int list(int dirfd, listing *l, emd_stats *stats) {
  char buf[16384];
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
      rc = SQLITE_OK;
  memset(l, 0, sizeof(*l));
  if (fd < 0) return SQLITE_OK; /* nothing to go by: no day page, no files */
  EMD_COUNT(stats, folders_opened, 1);
  for (;;) {
    ssize_t got = getdents64(fd, buf, sizeof(buf)), at = 0;
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    while (at < got && rc == SQLITE_OK) {
      struct dirent64 *de = (struct dirent64 *)(buf + at);
      size_t len = strlen(de->d_name);
      unsigned char type = de->d_type;
      at += de->d_reclen;
      if (de->d_name[0] == '.' || type == DT_DIR) continue;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISDIR(st.st_mode)   ? DT_DIR
               : S_ISLNK(st.st_mode) ? DT_LNK
               : S_ISREG(st.st_mode) ? DT_REG
                                     : DT_FIFO;
        if (type == DT_DIR) continue;
      }
      if (emd_is_day_page_name(de->d_name, len)) {
        if (type == DT_REG || type == DT_LNK)
          rc = consider_daypage(l, de->d_name, len);
        continue;
      }
      if (!emd_is_event_name(de->d_name, len)) continue;
      if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        fname *p = emd_realloc(l->a, cap * sizeof(fname));
        if (!p) {
          rc = SQLITE_NOMEM;
          break;
        }
        l->a = p;
        l->cap = cap;
      }
      l->a[l->n].name = emd_strndup(de->d_name, len);
      if (!l->a[l->n].name) {
        rc = SQLITE_NOMEM;
        break;
      }
      l->a[l->n++].type = type;
    }
    if (rc != SQLITE_OK) break;
  }
  close(fd);
  if (rc != SQLITE_OK) listing_free(l);
  return rc;
}

/* Process name (in e's folder) as a scan would, to get its parse.
** *gone: it is not there (no row). */
static int fetch(const emd_scan_ctx *sc, const emd_entry *e, emd_scratch *s,
                 const char *name, unsigned char type, int daypage,
                 emd_entry *out, int *gone) {
  emd_scan_ctx one = *sc;
  size_t dirlen = (size_t)(e->name - e->relpath), nlen = strlen(name);
  char *rel = emd_malloc(dirlen + nlen + 1);
  int kind = EMD_ITEM_FILE, follow = 0, rc;
  *gone = 0;
  memset(out, 0, sizeof(*out));
  if (!rel) return SQLITE_NOMEM;
  memcpy(rel, e->relpath, dirlen);
  memcpy(rel + dirlen, name, nlen + 1);
  if (type == DT_LNK) {
    if (sc->follow_symlinks)
      follow = 1;
    else
      kind = EMD_ITEM_LINK;
  } else if (type != DT_REG) {
    kind = EMD_ITEM_SPECIAL;
  }
  rc = emd_entry_set(out, kind, rel, dirlen + nlen, dirlen, e->dir, follow, 0,
                     NULL);
  emd_free(rel);
  if (rc != SQLITE_OK) return rc;
  out->daypage = daypage;
  one.want_parse = 1;
  one.want_markdown = 0;
  emd_entry_process(&one, out, s);
  *gone = out->gone;
  return out->rc;
}

void emd_links_clear(emd_links *l) {
  l->memo = NULL;
}

void emd_foldermemo_clear(emd_foldermemo *m) {
  int i;
  for (i = 0; i < EMD_FOLDER_MEMO; i++) {
    info_free(m->slot[i].info);
    m->slot[i].info = NULL;
  }
}

/* May this scan use fi?  What this scan learnt, yes; what an earlier one
** learnt, while nothing in the folder or the root changed since, and only
** when the watch could vouch for every file of it (none read within the
** timestamps' grain of a change, none with other names elsewhere). */
static int info_current(const emd_links *l, const folderinfo *fi) {
  if (fi->scan == l->scan) return 1;
  return !fi->unwatchable && fi->rdev == l->rdev && fi->rino == l->rino &&
         fi->wdir && l->rwdir && emd_watch_unchanged(fi->wdir, fi->moment) &&
         emd_watch_unchanged(l->rwdir, fi->moment);
}

/* What is known of e's folder: kept on e->dir, else found in the memo by
** the folder's identity, else new (and remembered). */
static folderinfo *info_of(emd_links *l, emd_entry *e) {
  emd_foldermemo *m = l->memo;
  folderinfo *fi = e->dir->info;
  int i, slot = 0;
  if (fi) return fi;
  for (i = 0; i < EMD_FOLDER_MEMO; i++) {
    if (m->slot[i].info && m->slot[i].dev == e->dir->dev &&
        m->slot[i].ino == e->dir->ino) {
      fi = m->slot[i].info;
      if (!info_current(l, fi)) {
        /* Out of date: learnt again, in this slot. */
        info_free(fi);
        m->slot[i].info = NULL;
        slot = i;
        break;
      }
      m->slot[i].used = ++m->clock;
      fi->refs++;
      e->dir->info = fi;
      e->dir->info_free = info_free;
      return fi;
    }
    if (m->slot[i].used < m->slot[slot].used) slot = i;
  }
  fi = emd_malloc(sizeof(*fi));
  if (!fi) return NULL;
  memset(fi, 0, sizeof(*fi));
  fi->refs = 2; /* e->dir's and the memo's */
  fi->scan = l->scan;
  fi->moment = emd_watch_now(); /* before anything of it is read */
  fi->wdir = e->dir->wdir;
  fi->rdev = l->rdev;
  fi->rino = l->rino;
  e->dir->info = fi;
  e->dir->info_free = info_free;
  info_free(m->slot[slot].info);
  m->slot[slot].dev = e->dir->dev;
  m->slot[slot].ino = e->dir->ino;
  m->slot[slot].info = fi;
  m->slot[slot].used = ++m->clock;
  return fi;
}

static int load_daypage(folderinfo *fi, const emd_scan_ctx *sc, emd_entry *e,
                        emd_scratch *s, const listing *l) {
  emd_entry d;
  int gone, rc;
  fi->have_daypage = 1;
  if (!l->daypage) return SQLITE_OK;
  rc = fetch(sc, e, s, l->daypage, DT_REG, 1, &d, &gone);
  if (rc == SQLITE_OK && emd_entry_rec(&d) &&
      emd_entry_rec(&d)->kind == EMD_REC_DAYPAGE) {
    fi->daypage = emd_entry_take_parse(sc, &d);
    if (!fi->daypage)
      rc = SQLITE_NOMEM;
    else if (!emd_centry_watchable(fi->daypage))
      fi->unwatchable = 1;
  }
  emd_entry_free(&d);
  return rc;
}

/* Sort order of the folder's files: by shown path. */
static int by_path(const void *pa, const void *pb) {
  const emd_vfile *a = pa, *b = pb;
  size_t n = a->path.n < b->path.n ? a->path.n : b->path.n;
  int c = memcmp(a->path.p, b->path.p, n);
  if (c) return c;
  return a->path.n < b->path.n ? -1 : a->path.n > b->path.n;
}

static int load_versions(folderinfo *fi, const emd_scan_ctx *sc, emd_links *lk,
                         emd_entry *e, emd_scratch *s, const listing *l) {
  size_t i, k = 0;
  int rc = SQLITE_OK;
  fi->have_versions = 1;
  if (!l->n) return SQLITE_OK;
  fi->files = emd_malloc(l->n * sizeof(emd_vfile));
  fi->parsed = emd_malloc(l->n * sizeof(emd_centry *));
  fi->paths = emd_malloc(l->n * sizeof(char *));
  if (!fi->files || !fi->parsed || !fi->paths) return SQLITE_NOMEM;
  for (i = 0; i < l->n && rc == SQLITE_OK; i++) {
    emd_entry x;
    int gone;
    rc = fetch(sc, e, s, l->a[i].name, l->a[i].type, 0, &x, &gone);
    if (rc == SQLITE_OK && !gone) {
      char *p = emd_strndup(x.disp, (size_t)x.disp_len);
      if (!p) {
        rc = SQLITE_NOMEM;
      } else {
        memset(&fi->files[k], 0, sizeof(emd_vfile));
        fi->paths[k] = p;
        fi->files[k].path.p = p;
        fi->files[k].path.n = (uint32_t)x.disp_len;
        const emd_rec *had = emd_entry_rec(&x), *r;
        emd_centry *ce = had ? emd_entry_take_parse(sc, &x) : NULL;
        if (had && !ce) rc = SQLITE_NOMEM;
        r = ce ? emd_centry_rec(ce) : NULL;
        if (ce && !emd_centry_watchable(ce)) fi->unwatchable = 1;
        fi->parsed[k] = ce;
        fi->files[k].rec = r && r->kind == EMD_REC_EVENT ? r : NULL;
        k++;
      }
    }
    emd_entry_free(&x);
  }
  fi->n = k;
  if (rc != SQLITE_OK) return rc;
  /* Sorted by path; parsed[] and paths[] stay as they are (they are only
  ** freed). */
  if (k > 1) qsort(fi->files, k, sizeof(emd_vfile), by_path);
  emd_versions_compute(fi->files, k,
                       fi->daypage ? emd_centry_rec(fi->daypage) : NULL,
                       norm_cb, lk);
  return SQLITE_OK;
}

int emd_folder_row(emd_rowfolder *out, const emd_scan_ctx *sc, emd_links *lk,
                   emd_entry *e, emd_scratch *s, int versions) {
  folderinfo *fi;
  listing l;
  emd_str me;
  int rc = SQLITE_OK;
  memset(out, 0, sizeof(*out));
  me.p = e->disp;
  me.n = (uint32_t)e->disp_len;
  out->is_current = 1;
  out->current_path = me;
  fi = info_of(lk, e);
  if (!fi) return SQLITE_NOMEM;
  if (!fi->have_daypage || (versions && !fi->have_versions)) {
    rc = list(emd_dir_fd(e->dir), &l, &sc->conn->stats);
    if (rc != SQLITE_OK) return rc;
    if (!fi->have_daypage) rc = load_daypage(fi, sc, e, s, &l);
    if (rc == SQLITE_OK && versions && !fi->have_versions)
      rc = load_versions(fi, sc, lk, e, s, &l);
    listing_free(&l);
    if (rc != SQLITE_OK) return rc;
  }
  if (fi->have_versions && fi->n) {
    emd_vfile key, *hit;
    memset(&key, 0, sizeof(key));
    key.path = me;
    hit = bsearch(&key, fi->files, fi->n, sizeof(emd_vfile), by_path);
    if (hit) {
      out->is_current = hit->is_current;
      out->current_path = hit->current_path;
      out->day_topic = hit->day_topic;
      return SQLITE_OK;
    }
  }
  if (fi->daypage) {
    const emd_rec *r = emd_centry_rec(fi->daypage);
    uint32_t k, nk = emd_rec_count(r, EMD_T_DAYLINKS);
    for (k = 0; k < nk; k++) {
      emd_str row[EMD_ROW_MAXFIELDS];
      emd_rec_row(r, EMD_T_DAYLINKS, k, row);
      if (emd_str_eq(emd_links_norm(lk, row[0]), me)) {
        out->day_topic = row[1];
        break;
      }
    }
  }
  return SQLITE_OK;
}
