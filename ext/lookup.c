/* SPDX-License-Identifier: MIT */
/*
** lookup.c - reaching named paths directly, without walking (see walk.h):
** path = and IN lookups, and shown paths (U+FFFD for bytes that are not
** UTF-8) back to the names on disk.  The same containment as the walk:
** every step is opened from the root descriptor without following links
** (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), or, when the table
** follows links, checked with emd_fd_inside() after each one.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "walk.h"

#include <dirent.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emd.h"
#include "foldersums.h"
#include "text.h"

/* ------------------------------------------------------------------------
** Looking paths up directly.
*/
int emd_walk_path_ok(const char *p, size_t n) {
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

/* Identities of the folders a lookup went through (link loops). */
typedef struct chainv {
  dev_t dev[64];
  ino_t ino[64];
  int n;
} chainv;

static int chain_push(chainv *cv, int fd) {
  struct stat st;
  int i;
  if (fstat(fd, &st) != 0) return errno;
  for (i = 0; i < cv->n; i++)
    if (cv->dev[i] == st.st_dev && cv->ino[i] == st.st_ino) return ELOOP;
  if (cv->n < 64) {
    cv->dev[cv->n] = st.st_dev;
    cv->ino[cv->n++] = st.st_ino;
  }
  return 0;
}

/* Open component comp of folder fd as the walk would enter it: readable
** (the walk lists it), a link followed only when following, and then only
** inside the root and not back into a folder on the way (cv).  The new
** descriptor, or -1 with errno (EXDEV: outside, ELOOP: a loop). */
static int open_step(int fd, const char *comp, const emd_walk_opts *o,
                     chainv *cv) {
  struct stat lst;
  int is_link = 0, nfd, err;
  if (o->follow_symlinks && fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0)
    is_link = S_ISLNK(lst.st_mode);
  nfd = openat(fd, comp,
               O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                   (o->follow_symlinks ? 0 : O_NOFOLLOW));
  if (nfd < 0 || !is_link) {
    if (nfd >= 0) chain_push(cv, nfd);
    return nfd;
  }
  err = emd_fd_inside(nfd, o->root_real) ? chain_push(cv, nfd) : EXDEV;
  if (err) {
    close(nfd);
    errno = err;
    return -1;
  }
  return nfd;
}

/* Open the folders rel[0..len) ("a/b/c", no trailing '/') beneath rootfd
** as the walk reaches them.  -1 with errno when any is missing, not a
** folder, not readable, or a link not to follow or leading out. */
static int open_folders(int rootfd, const char *rel, size_t len,
                        const emd_walk_opts *o, chainv *cv) {
  char comp[NAME_MAX + 1];
  size_t i = 0;
  int fd;
  cv->n = 0;
#ifdef SYS_openat2
  if (!o->follow_symlinks && geteuid() == 0 && len > 0 && len < PATH_MAX) {
    /* One call checks every component: no symlink anywhere, nothing
    ** escaping the root.  For root, every folder is readable, as the walk
    ** finds it; others need each folder checked (below).  Old kernels or
    ** filters: fall back below too. */
    char path[PATH_MAX];
    struct open_how how;
    memcpy(path, rel, len);
    path[len] = 0;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd >= 0) return fd;
    if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG)
      return -1;
  }
#endif
  fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0) chain_push(cv, fd);
  while (fd >= 0 && i < len) {
    const char *slash = memchr(rel + i, '/', len - i);
    size_t n = slash ? (size_t)(slash - (rel + i)) : len - i;
    int nfd, err;
    if (n > NAME_MAX) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(comp, rel + i, n);
    comp[n] = 0;
    nfd = open_step(fd, comp, o, cv);
    err = errno;
    close(fd);
    errno = err;
    fd = nfd;
    i += n + 1;
  }
  return fd;
}

/* Does folder fd list a name equal to name?  (Used when the name cannot
** be stat()ed: the walk would still list it.) */
static int lists_name(int dirfd, const char *name) {
  char buf[16384];
  int found = 0;
  /* The folder's own descriptor (read, not searched: "." would need
  ** search permission), from its start. */
  if (lseek(dirfd, 0, SEEK_SET) != 0) return 0;
  while (!found) {
    ssize_t got = getdents64(dirfd, buf, sizeof(buf)), at = 0;
    if (got <= 0) break;
    while (at < got && !found) {
      struct dirent64 *de = (struct dirent64 *)(buf + at);
      found = !strcmp(de->d_name, name);
      at += de->d_reclen;
    }
  }
  return found;
}

/* Fill *item for rel (len bytes, last component at rel + last) in dir
** (the caller's reference moves to the item). */
static void item_set(emd_walk_item *item, int kind, const char *rel, size_t len,
                     size_t last, emd_dir *dir, int err, int follow) {
  memset(item, 0, sizeof(*item));
  item->kind = kind;
  item->relpath = rel;
  item->relpath_len = len;
  item->name = rel + last;
  item->dir = dir;
  item->err = err;
  item->follow = follow;
}

int emd_walk_lookup_in(emd_walk_item *item, emd_dir *dir,
                       const emd_walk_opts *opts, const char *rel,
                       size_t name_off, struct stat *st, int *have_st) {
  const char *comp = rel + name_off;
  int fd = emd_dir_fd(dir), kind, lfollow = 0;
  *have_st = 0;
  if (fd < 0) return SQLITE_DONE;
  if (!emd_is_event_name(comp, strlen(comp))) return SQLITE_DONE;
  if (fstatat(fd, comp, st, AT_SYMLINK_NOFOLLOW) != 0) {
    /* Not stat()able (a folder readable but not searchable): a row, as in
    ** the walk, when the folder lists it. */
    if (errno == ENOENT || !lists_name(fd, comp)) return SQLITE_DONE;
    kind = EMD_ITEM_FILE;
  } else if (S_ISDIR(st->st_mode)) {
    return SQLITE_DONE;
  } else if (S_ISLNK(st->st_mode)) {
    struct stat tst;
    if (!opts->follow_symlinks || fstatat(fd, comp, &tst, 0) != 0) {
      kind = EMD_ITEM_LINK;
    } else if (S_ISDIR(tst.st_mode)) {
      return SQLITE_DONE;
    } else {
      kind = S_ISREG(tst.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
      lfollow = 1;
    }
  } else {
    kind = S_ISREG(st->st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
    *have_st = 1;
  }
  item_set(item, kind, rel, strlen(rel), name_off, emd_dir_ref(dir), 0,
           lfollow);
  return SQLITE_ROW;
}

/* A file the archive is known to hold, reached without a system call: each
** folder on the way is one its parent's kept listing names, as its
** parent's watch vouches (foldersums.h), and the cache holds the file as
** it is now, as the folder's watch vouches.  The folders come as shared
** folders not opened yet: opened, beneath the root and without following
** links, only if the file has to be read.  SQLITE_ROW with *item set, or
** SQLITE_DONE when anything on the way is not known so (then the path is
** looked up on disk), or SQLITE_NOMEM. */
static int lookup_known(emd_walk_item *item, const emd_walk_opts *opts,
                        const char *rel, size_t len, size_t last) {
  emd_dir *dir = emd_dir_ref(opts->rootdir);
  size_t i = 0;
  while (i < last) {
    const char *slash = memchr(rel + i, '/', last - i);
    size_t n = (size_t)(slash - (rel + i));
    uint64_t dev, ino;
    emd_wdir *wdir;
    emd_dir *sub;
    if (!slash ||
        !emd_foldersums_kid_named(opts->sums, dir->dev, dir->ino, dir->wdir,
                                  rel + i, n, &dev, &ino) ||
        !(wdir = emd_watch_find((dev_t)dev, (ino_t)ino))) {
      emd_dir_release(dir);
      return SQLITE_DONE;
    }
    sub = emd_dir_lazy(dir, rel + i, n, dev, ino, wdir);
    emd_dir_release(dir);
    if (!sub) return SQLITE_NOMEM;
    dir = sub;
    i += n + 1;
  }
  if (!opts->known_file(opts->known_ctx, dir, rel + last)) {
    emd_dir_release(dir);
    return SQLITE_DONE;
  }
  item_set(item, EMD_ITEM_FILE, rel, len, last, dir, 0, 0);
  return SQLITE_ROW;
}

int emd_walk_lookup(emd_walk_item *item, int rootfd, const emd_walk_opts *opts,
                    const char *rel, struct stat *st, int *have_st) {
  size_t len = strlen(rel), last;
  int folder = len > 0 && rel[len - 1] == '/', follow = opts->follow_symlinks;
  int fd, rc, err;
  char comp[NAME_MAX + 1];
  chainv cv;
  emd_dir *dir;

  *have_st = 0;
  if (len == 0) return SQLITE_DONE;
  /* Folders: every component but the last. */
  last = folder ? len - 1 : len;
  while (last > 0 && rel[last - 1] != '/') last--;
  if (len - last - (size_t)folder > NAME_MAX) return SQLITE_DONE;
  if (!folder && !emd_is_event_name(rel + last, len - last)) return SQLITE_DONE;
  if (!folder && !follow && opts->rootdir && opts->known_file && opts->sums &&
      !opts->no_watch) {
    rc = lookup_known(item, opts, rel, len, last);
    if (rc != SQLITE_DONE) return rc;
  }
  fd = open_folders(rootfd, rel, last ? last - 1 : 0, opts, &cv);
  if (fd < 0) return errno == ENOMEM ? SQLITE_NOMEM : SQLITE_DONE;
  if (!folder) {
    dir = emd_dir_new(fd, NULL, !opts->no_watch);
    if (!dir) return SQLITE_NOMEM;
    rc = emd_walk_lookup_in(item, dir, opts, rel, last, st, have_st);
    emd_dir_release(dir);
    return rc;
  }
  /* A folder has a row only when the walk could not enter it. */
  memcpy(comp, rel + last, len - last - 1);
  comp[len - last - 1] = 0;
  {
    int sub = open_step(fd, comp, opts, &cv);
    err = sub < 0 ? errno : 0;
    if (sub >= 0) close(sub);
  }
  if (!err || err == ENOENT || err == ENOTDIR || (!follow && err == ELOOP)) {
    close(fd);
    return SQLITE_DONE;
  }
  dir = emd_dir_new(fd, NULL, !opts->no_watch);
  if (!dir) return SQLITE_NOMEM;
  item_set(item, EMD_ITEM_FOLDER, rel, len, last, dir, err, 0);
  return SQLITE_ROW;
}

/* ------------------------------------------------------------------------
** Shown paths back to the names on disk.
*/

/* Does the component hold U+FFFD (so that names not valid UTF-8 may be
** shown as it)? */
static int shows_fffd(const char *s, size_t n) {
  return memmem(s, n, "\xEF\xBF\xBD", 3) != NULL;
}

/* Append prefix (plen bytes) + component (n bytes) + '/' when tail to the
** list *v of *nv paths.  SQLITE_OK or SQLITE_NOMEM. */
static int add_path(char ***v, int *nv, const char *prefix, size_t plen,
                    const char *comp, size_t n, int tail) {
  char *np = emd_malloc(plen + n + 2), **grown;
  if (!np) return SQLITE_NOMEM;
  memcpy(np, prefix, plen);
  memcpy(np + plen, comp, n);
  np[plen + n] = '/';
  np[plen + n + (tail ? 1 : 0)] = 0;
  grown = emd_realloc(*v, (size_t)(*nv + 1) * sizeof(char *));
  if (!grown) {
    emd_free(np);
    return SQLITE_NOMEM;
  }
  *v = grown;
  (*v)[(*nv)++] = np;
  return SQLITE_OK;
}

int emd_walk_expand_shown(int rootfd, const emd_walk_opts *opts,
                          const char *rel, char ***out, int *nout) {
  char **cur = NULL, **next;
  int ncur = 1, nnext, rc = SQLITE_OK, k;
  const char *p = rel;
  *out = NULL;
  *nout = 0;
  cur = emd_malloc(sizeof(char *));
  if (!cur || !(cur[0] = emd_strndup("", 0))) {
    emd_free(cur);
    return SQLITE_NOMEM;
  }
  while (*p && rc == SQLITE_OK) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    int tail = slash != NULL; /* followed by '/' */
    next = NULL;
    nnext = 0;
    for (k = 0; k < ncur && rc == SQLITE_OK; k++) {
      size_t plen = strlen(cur[k]);
      if (!shows_fffd(p, n)) {
        rc = add_path(&next, &nnext, cur[k], plen, p, n, tail);
      } else {
        /* List the folder and keep every name shown as this component. */
        chainv cv;
        char buf[16384];
        int fd = plen ? open_folders(rootfd, cur[k], plen - 1, opts, &cv)
                      : fcntl(rootfd, F_DUPFD_CLOEXEC, 3),
            lfd;
        if (fd < 0) continue;
        lfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        if (lfd < 0) continue;
        while (rc == SQLITE_OK) {
          ssize_t got = getdents64(lfd, buf, sizeof(buf)), at = 0;
          if (got <= 0) break;
          while (at < got && rc == SQLITE_OK) {
            struct dirent64 *de = (struct dirent64 *)(buf + at);
            size_t len = strlen(de->d_name);
            char shown[3 * NAME_MAX + 3];
            size_t sl = emd_utf8_repair(shown, de->d_name, len);
            at += de->d_reclen;
            if (sl == n && !memcmp(shown, p, n) && nnext < EMD_EXPAND_MAX)
              rc = add_path(&next, &nnext, cur[k], plen, de->d_name, len, tail);
          }
        }
        close(lfd);
      }
    }
    for (k = 0; k < ncur; k++) emd_free(cur[k]);
    emd_free(cur);
    cur = next;
    ncur = nnext;
    p = slash ? slash + 1 : p + n;
  }
  if (rc != SQLITE_OK) {
    for (k = 0; k < ncur; k++) emd_free(cur[k]);
    emd_free(cur);
    return rc;
  }
  *out = cur;
  *nout = ncur;
  return SQLITE_OK;
}
