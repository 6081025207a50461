/* SPDX-License-Identifier: MIT */
/*
** conn.c - the state eventmd keeps per database connection (see conn.h).
*/
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cachefile.h"
#include "foldersums.h"
#include "warm.h"

/* The out-of-memory test's fault hook for the cache (NULL: none). */
int (*emd_cache_fault_hook)(void);

emd_conn *emd_conn_ref(emd_conn *c) {
  c->refs++;
  return c;
}

static void free_list(char **list, int n) {
  int i;
  for (i = 0; i < n; i++) sqlite3_free(list[i]);
  sqlite3_free(list);
}

void emd_conn_release(void *p) {
  emd_conn *c = p;
  if (c && --c->refs == 0) {
    emd_warm_free(c->warm); /* its thread uses the cache and the file */
    emd_cache_free(c->cache);
    emd_foldersums_free(c->sums);
    free_list(c->roots, c->nroots);
    free_list(c->env_roots, c->nenv_roots);
    emd_cachefile_close(c->cf);
    sqlite3_free(c->cf_error);
    sqlite3_free(c);
  }
}

/* Is real (a realpath) inside folder base (a realpath)? */
static int path_inside(const char *real, const char *base) {
  size_t n = strlen(base);
  if (n == 1 && base[0] == '/') return 1;
  return strncmp(real, base, n) == 0 && (real[n] == 0 || real[n] == '/');
}

static int inside_any(const char *real, char **list, int n) {
  int i;
  for (i = 0; i < n; i++)
    if (path_inside(real, list[i])) return 1;
  return 0;
}

/* Resolve a ':'-separated list into realpaths.  SQLITE_OK, or an error
** with *msg. */
static int parse_roots(const char *list, char ***out, int *nout, char **msg) {
  char **v = NULL;
  int n = 0;
  const char *p = list;
  *out = NULL;
  *nout = 0;
  while (p && *p) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    if (len) {
      char *one = sqlite3_mprintf("%.*s", (int)len, p), *real, **nv;
      if (!one) goto nomem;
      real = realpath(one, NULL);
      if (!real) {
        *msg = sqlite3_mprintf(
            "eventmd: allowed root '%s' is not a readable directory (%s)", one,
            strerror(errno));
        sqlite3_free(one);
        free_list(v, n);
        return SQLITE_ERROR;
      }
      sqlite3_free(one);
      nv = sqlite3_realloc64(v, (sqlite3_uint64)(n + 1) * sizeof(char *));
      if (!nv || !(nv[n] = sqlite3_mprintf("%s", real))) {
        free(real);
        if (nv) v = nv;
        goto nomem;
      }
      free(real); /* realpath()'s: the C library's */
      v = nv;
      n++;
    }
    p = colon ? colon + 1 : NULL;
  }
  *out = v;
  *nout = n;
  return SQLITE_OK;
nomem:
  free_list(v, n);
  return SQLITE_NOMEM;
}

int emd_conn_set_roots(emd_conn *c, const char *list, char **msg) {
  char **v;
  int n, i, rc;
  *msg = NULL;
  if (c->locked) {
    *msg = sqlite3_mprintf("%s", EMD_LOCKED_MSG);
    return SQLITE_ERROR;
  }
  rc = parse_roots(list, &v, &n, msg);
  if (rc != SQLITE_OK) return rc;
  /* Roots from the environment can be narrowed from SQL, never widened. */
  for (i = 0; i < n && c->env_confined; i++) {
    if (!inside_any(v[i], c->env_roots, c->nenv_roots)) {
      *msg = sqlite3_mprintf(
          "eventmd: root '%s' is outside the roots EVENTMD_ROOTS allows", v[i]);
      free_list(v, n);
      return SQLITE_ERROR;
    }
  }
  if (n == 0 && c->env_confined) {
    /* Clearing the list goes back to the environment's. */
    free_list(v, n);
    v = NULL;
    n = 0;
    for (i = 0; i < c->nenv_roots; i++) {
      char **nv =
          sqlite3_realloc64(v, (sqlite3_uint64)(n + 1) * sizeof(char *));
      if (!nv || !(nv[n] = sqlite3_mprintf("%s", c->env_roots[i]))) {
        if (nv) v = nv;
        free_list(v, n);
        return SQLITE_NOMEM;
      }
      v = nv;
      n++;
    }
  }
  free_list(c->roots, c->nroots);
  c->roots = v;
  c->nroots = n;
  c->confined = n > 0 || c->env_confined;
  c->roots_gen++;
  return SQLITE_OK;
}

int emd_conn_set_cache_file(emd_conn *c, const char *path, char **msg) {
  emd_cachefile *cf = NULL;
  int rc;
  *msg = NULL;
  if (c->locked) {
    *msg = sqlite3_mprintf("%s", EMD_LOCKED_MSG);
    return SQLITE_ERROR;
  }
  if (c->confined) {
    *msg = sqlite3_mprintf(
        "eventmd: the cache file cannot be set from SQL while roots are "
        "limited (use EVENTMD_CACHE_FILE)");
    return SQLITE_ERROR;
  }
  if (path && *path) {
    rc = emd_cachefile_open(&cf, path, msg);
    if (rc != SQLITE_OK) return rc;
  }
  emd_foldersums_set_cachefile(c->sums, cf);
  emd_warm_free(c->warm);
  emd_cachefile_close(c->cf);
  c->cf = cf;
  c->warm = cf ? emd_warm_new(cf, c->cache) : NULL;
  return SQLITE_OK;
}

void emd_conn_statement_done(emd_conn *c) {
  if (c->cf) emd_cachefile_flush(c->cf);
  emd_warm_statement_done(c->warm);
}

int emd_conn_check_root(emd_conn *c, const char *root, char **msg) {
  char *real;
  int fd;
  *msg = NULL;
  if (c->confined) {
    /* Resolved first: a link cannot lead out, and nothing outside is even
    ** opened. */
    real = realpath(root, NULL);
    if (!real && errno == ENOMEM) return SQLITE_NOMEM;
    if (real && !inside_any(real, c->roots, c->nroots)) {
      *msg = sqlite3_mprintf("eventmd: root '%s' is outside the allowed roots",
                             root);
      free(real);
      return *msg ? SQLITE_ERROR : SQLITE_NOMEM;
    }
    free(real);
  }
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *msg =
        sqlite3_mprintf("eventmd: root '%s' is not a readable directory (%s)",
                        root, strerror(errno));
    return *msg ? SQLITE_ERROR : SQLITE_NOMEM;
  }
  close(fd);
  return SQLITE_OK;
}

size_t emd_conn_default_cache_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  size_t share = pages > 0 && size > 0
                     ? (size_t)pages / EMD_CACHE_SHARE * (size_t)size
                     : EMD_CACHE_MIN;
  if (share < EMD_CACHE_MIN) share = EMD_CACHE_MIN;
  if (share > EMD_CACHE_MAX) share = EMD_CACHE_MAX;
  return share;
}

/* Folder listings are part of the cache: a quarter of its bound, at most
** 32 MiB (the listings of a 150,000-file archive take about 22 MB; at the
** bound all are dropped and relearnt); none when the cache is off. */
static size_t sums_limit(size_t cache_bytes) {
  size_t q = cache_bytes / 4;
  return q > ((size_t)32 << 20) ? (size_t)32 << 20 : q;
}

void emd_conn_set_cache_bytes(emd_conn *c, size_t bytes) {
  emd_cache_set_limit(c->cache, bytes);
  emd_foldersums_set_limit(c->sums, sums_limit(bytes));
}

/* Read-ahead threads by default: one per online CPU (at most 8). */
static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

emd_conn *emd_conn_new(sqlite3 *db) {
  emd_conn *c = sqlite3_malloc64(sizeof(*c));
  size_t bytes = emd_conn_default_cache_bytes();
  if (!c) return NULL;
  memset(c, 0, sizeof(*c));
  c->db = db;
  c->threads = default_threads();
  c->refs = 1;
  c->cache = emd_cache_new(bytes, emd_cache_fault_hook);
  c->sums = emd_foldersums_new();
  if (!c->cache || !c->sums) {
    emd_cache_free(c->cache);
    emd_foldersums_free(c->sums);
    sqlite3_free(c);
    return NULL;
  }
  emd_foldersums_set_limit(c->sums, sums_limit(bytes));
  {
    /* A cache file named by the environment (not an error when unusable:
    ** the extension still loads; eventmd_stats() says why). */
    const char *path = getenv("EVENTMD_CACHE_FILE");
    char *msg = NULL;
    if (path && *path && emd_cachefile_open(&c->cf, path, &msg) != SQLITE_OK)
      c->cf_error = msg ? msg : sqlite3_mprintf("out of memory");
    emd_foldersums_set_cachefile(c->sums, c->cf);
    if (c->cf) c->warm = emd_warm_new(c->cf, c->cache);
  }
  {
    /* Roots the environment allows: fixed for the connection. */
    const char *env = getenv("EVENTMD_ROOTS");
    char *msg = NULL;
    if (env) {
      /* Set, even empty or unusable: confined (an EVENTMD_ROOTS that
      ** names nothing usable allows nothing, rather than everything). */
      c->env_confined = c->confined = 1;
      if (parse_roots(env, &c->env_roots, &c->nenv_roots, &msg) != SQLITE_OK ||
          parse_roots(env, &c->roots, &c->nroots, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        free_list(c->env_roots, c->nenv_roots);
        free_list(c->roots, c->nroots);
        c->env_roots = c->roots = NULL;
        c->nenv_roots = c->nroots = 0;
      }
    }
  }
  {
    /* EVENTMD_LOCK set (not empty, not 0): every connection starts locked, for hosts that cannot
    ** run eventmd_config('lock') on each connection they open (a web UI's
    ** pool): a visitor cannot change a setting shared with other visitors. */
    const char *env = getenv("EVENTMD_LOCK");
    if (env && *env && strcmp(env, "0") != 0) c->locked = 1;
  }
  return c;
}
