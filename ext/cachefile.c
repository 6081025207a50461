/* SPDX-License-Identifier: MIT */
/*
** cachefile.c - the persistent parse cache: a SQLite database of compact
** records and folder listings shared by processes (contract: cachefile.h).
**
** The file.  A SQLite database, page size CF_PAGE_SIZE (64 KiB), application_id
** EMD_CACHEFILE_APP_ID, user_version EMD_CACHEFILE_FORMAT, WAL mode,
** synchronous=NORMAL:
**
**   CREATE TABLE rec(                       -- one parsed file
**     fdev INTEGER, fino INTEGER,           -- its folder's device, inode
**     name BLOB,                            -- its name (bytes, not text)
**     dev, ino, size, mtime_ns, ctime_ns,   -- the version it describes
**     content_hash INTEGER, racy INTEGER,   -- see cache.h
**     rec BLOB,                             -- the record (record.h)
**     PRIMARY KEY(fdev, fino, name));
**   CREATE TABLE dir(                       -- one folder listing
**     dev INTEGER, ino INTEGER, mtime_ns, ctime_ns, count INTEGER,
**     listing BLOB,                         -- foldersums.h's encoding
**     PRIMARY KEY(dev, ino));
**
** (every column NOT NULL, integers as SQLite's signed 64 bits).  Both are
** rowid tables: INSERT OR REPLACE gives a row the next rowid, so rows sit
** in the order they were written, which is the order a scan reads them, and
** one leaf page holds the next twenty or so records a scan asks for.  With
** 64 KiB pages a record of up to about 65,000 bytes lies in its leaf page,
** with no overflow chain (the archive averages 3.3 KB).  A get is
** two B-tree descents (the primary key's index, then the row), whose
** interior pages stay in the reader's page cache.  A walk asks for a
** folder's records at once (emd_cachefile_folder): one range of the
** primary key, then rows that sit side by side.  Its SELECT leaves the
** record out: each is copied from its page straight into the batch by the
** reader's blob handle, moved from row to row (a selected blob would be
** copied into a register first, in memory from SQLite's allocator, whose
** lock the connection's own thread takes for every value it shows).
**
** Whose file it is.  Before anything is opened with SQLite, the path is
** looked at with lstat(): absent is fine (made), an empty regular file is
** taken over, a regular file is read (100 bytes, by this code) and must
** start with "SQLite format 3\0" and carry EMD_CACHEFILE_APP_ID at byte 68;
** anything else -- a folder, a device, a FIFO, a socket, a symbolic link,
** another database, any other bytes -- is refused and never opened by
** SQLite, so neither it nor its -wal/-shm is touched.  The application_id
** is written in the file's first transaction, in rollback mode, before WAL
** is switched on: so the main file's header carries it from the start
** (with WAL, a header change could sit in the -wal for a long time, and
** another process looking at the main file would see a foreign database).
** After opening, SQLite's own view (application_id, user_version, the two
** tables) is checked again.
**
** Symbolic links.  A path whose last component is a symbolic link is
** refused (lstat() before, and SQLITE_OPEN_NOFOLLOW and O_NOFOLLOW at every
** open): SQLite would put the -wal and -shm next to the link's target, and
** a link can be switched between the check and the open.  Links among the
** folders above it are followed.  A relative path is made absolute once, at
** open, so connections opened later (the reader pool) name the same file
** whatever the process's working folder is by then.
**
** Rebuilding.  A file of ours (by its header) that SQLite reports as
** corrupt (SQLITE_CORRUPT, SQLITE_NOTADB: e.g. truncated), whose
** user_version is another format, or that lacks our tables, is removed --
** with its -wal, -shm and -journal -- and made again (stats.rebuilt).
** Before removing, the path is looked at once more: it must still name the
** same inode and still say it is ours (or be empty); a path that names
** another file by then is opened as that file (with every check above),
** one that says something else is left alone and the cache file is
** switched off for this process (state DEAD: gets miss, puts are dropped).
** Two eventmd versions sharing one path therefore take turns rebuilding.
**
** Readers.  A pool of at most CF_MAX_READERS read-only connections, each
** with its prepared SELECTs, handed out under cf->mu (one get holds one
** connection, so they are opened SQLITE_OPEN_NOMUTEX; the pool's mutex
** orders their use by different threads).  A get takes an idle one, or
** opens one when none is idle and fewer than the bound exist, or else waits
** on cf->cv (a get holds its connection for microseconds).  Each reader
** checks application_id and user_version when it opens, and has a 2 MiB
** page cache: the interior pages of the index and the table, and the leaf
** pages its thread is working through (measured: a larger one is slower,
** since the leaf pages a scan reads once push the index out anyway).  When
** a reader fails to open (the path names another file by now, or another
** eventmd's format), gets miss without trying again until the next flush
** has looked at the path.
**
** Snapshots.  Starting and ending a read transaction costs about 2 us of
** locking system calls (fcntl on the file and the -shm, fstat), as much as
** the lookup itself, so a reader keeps one open across gets: it is ended
** and a new one taken when it is older than CF_SNAPSHOT_MS or than this
** handle's last commit (cf->epoch: a get sees whatever a flush that
** returned before it wrote), and every flush ends the snapshots of idle
** readers, so none outlives its statement by more than CF_SNAPSHOT_MS (an
** old snapshot keeps checkpoints from passing it, and the -wal grows).  A
** stale snapshot costs at most a miss: what it shows is checked like any
** other row.  Readers do not use mmap: measured, the page faults cost more
** than the copy, and a file truncated by another program under a mapping
** would kill the process with SIGBUS.
**
** Corruption met by a reader (or the writer) while others read: the state
** becomes BROKEN at once, so every later get answers SQLITE_DONE without
** touching the file; the next flush (or close) waits a few milliseconds for
** the gets in flight to hand their connections back, closes every
** connection of this process to the file (so no connection of ours has the
** old file open when it is removed), rebuilds, and sets the state back to
** OK.  When gets are still in flight after the wait, it tries again at the
** following flush.  Other processes go on with the removed file until
** their next flush sees that the path names another inode (one lstat() per
** flush) and reopens it.
**
** Writes.  put, forget and put_folder copy into a FIFO queue (cf->qmu),
** bounded at CF_QUEUE_MAX bytes: beyond it a write is dropped and counted.
** flush() runs on the caller's thread under cf->wmu (a flush already under
** way elsewhere makes it return at once): it takes the whole queue and
** writes it in transactions of at most CF_BATCH_ROWS rows or
** CF_BATCH_BYTES bytes, each BEGIN IMMEDIATE with a busy timeout of
** CF_WRITE_BUSY_MS; when the file is busy, what is left goes back to the
** front of the queue (bounded) for the next flush.  A statement-sized scan
** may queue more than the bound: emd_cachefile_queued() lets the caller
** flush part-way.  Commits are not synced (synchronous=NORMAL in WAL):
** a crash may lose the last writes of a cache, never its consistency.
**
** Memory: the C library's malloc for everything (records handed out, the
** queue, the pool); SQLite's for the message of a failed open.  Out of
** memory degrades: a get answers SQLITE_DONE (a miss), a put is dropped.
** Nothing here is global; the handle must not be used across fork().
*/
#include "cachefile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emd.h"

/* 64 KiB pages: 15-20 records a page, so a scan in the order they were
** written reads each page once, and a record needs no overflow page. */
#define CF_PAGE_SIZE 65536
#define CF_MAX_READERS 16         /* reader connections, at most */
#define CF_QUEUE_MAX (64u << 20)  /* bytes queued for writing, at most */
#define CF_MAX_BLOB CF_QUEUE_MAX  /* larger blobs are never used */
#define CF_BATCH_ROWS 256         /* rows per write transaction, at most */
#define CF_BATCH_BYTES (4u << 20) /* bytes per write transaction, about */
#define CF_WRITE_BUSY_MS 5        /* a flush waits this long for the file */
#define CF_READ_BUSY_MS 2         /* a get waits this long (WAL recovery) */
#define CF_SETUP_BUSY_MS 250      /* open waits this long for a creator */
#define CF_OPEN_MS 2000           /* and retries contention this long */
#define CF_REOPEN_MS 20           /* the same, in a flush */
#define CF_QUIESCE_MS 5           /* a rebuild waits for gets in flight */
#define CF_SNAPSHOT_MS 100        /* a reader's snapshot lives this long */
/* journal_size_limit: 64 MiB (written out in cf_setup) */

#define CF_HDR_MAGIC "SQLite format 3"
#define CF_HDR_LEN 100

/* cf->state */
enum {
  CF_OK,     /* in use */
  CF_BROKEN, /* found corrupt: gets miss; the next flush rebuilds */
  CF_PAUSED, /* a flush is reopening the file: gets miss */
  CF_DEAD    /* no file we may use: gets miss, puts are dropped */
};

/* What the path holds (cf_look). */
enum { CF_ABSENT, CF_EMPTY, CF_OURS };

/* cf_setup's verdict besides SQLite codes: the file must be made again. */
#define CF_REBUILD (-1)

typedef struct cf_reader {
  sqlite3 *db;           /* read-only connection */
  sqlite3_stmt *get_rec; /* SELECT ... FROM rec WHERE key */
  sqlite3_stmt *get_dir; /* SELECT ... FROM dir WHERE key */
  sqlite3_stmt *folder;  /* SELECT ... FROM rec WHERE fdev, fino (a folder's) */
  sqlite3_stmt *span;    /* SELECT ... FROM rec WHERE rowid BETWEEN */
  sqlite3_stmt *each;    /* SELECT ... FROM rec in rowid order (warming) */
  sqlite3_stmt *begin;   /* BEGIN: a snapshot held across gets */
  sqlite3_stmt *commit;  /* COMMIT: its end */
  sqlite3_blob *blob;    /* rec.rec of some row, while a snapshot is held:
                            moved from row to row, it copies a record from
                            its page straight into a batch */
  unsigned gen;          /* cf->gen when opened */
  pthread_t user;        /* the thread that used it last */
  int in_txn;            /* a snapshot is held */
  uint64_t epoch;        /* cf->epoch when it was taken */
  int64_t since_ns;      /* CLOCK_MONOTONIC when it was taken */
} cf_reader;

enum { OP_PUT, OP_FORGET, OP_DIR };

/* One queued write; name and blob follow in the same block. */
typedef struct cf_op {
  struct cf_op *next; /* FIFO */
  int kind;           /* OP_* */
  int racy;           /* PUT */
  uint64_t k1, k2;    /* fdev, fino (PUT, FORGET) or dev, ino (DIR) */
  emd_ident id;       /* PUT: the version; DIR: mtime_ns, ctime_ns */
  uint64_t hash;      /* PUT: content hash */
  uint64_t count;     /* DIR: entries */
  uint32_t namelen;   /* bytes of the name at data[0] */
  size_t len;         /* bytes of the blob at data[namelen] */
  unsigned char data[];
} cf_op;

struct emd_cachefile {
  char *path;    /* as given */
  char *abspath; /* absolute: what every connection opens */

  pthread_mutex_t mu;              /* the pool and the state */
  pthread_cond_t cv;               /* a reader came back; state moved */
  cf_reader *idle[CF_MAX_READERS]; /* idle readers */
  int nidle;                       /* entries of idle[] */
  int nopen;                       /* readers in existence */
  int nbusy;                       /* readers handed out */
  unsigned gen;                    /* moved on at every reopen */
  int state;                       /* CF_* (atomic loads outside mu) */
  int rfail; /* a reader failed to open: none is tried again before the
             ** next flush has looked at the path (atomic loads outside mu) */

  pthread_mutex_t qmu; /* the queue */
  cf_op *qhead, *qtail;
  size_t qbytes; /* cost of what is queued (atomic loads outside qmu) */

  pthread_mutex_t wmu;   /* the writer: flush, close */
  sqlite3 *w;            /* read-write connection, or NULL */
  sqlite3_stmt *ins_rec; /* INSERT OR REPLACE INTO rec */
  sqlite3_stmt *del_rec; /* DELETE FROM rec WHERE key */
  sqlite3_stmt *ins_dir; /* INSERT OR REPLACE INTO dir */
  dev_t dev;             /* the file w has open */
  ino_t ino;

  uint64_t epoch; /* moved on after each commit of ours (atomic) */

  uint64_t hits, misses, written, dropped, rebuilt, warmed; /* atomic */

  int spans_state;       /* 0 not read, 1 being read, 2 ready, 3 none; atomic */
  struct cf_span *spans; /* where each folder's records lie, by folder */
  size_t nspans;
};

static const char kSchema[] =
    "CREATE TABLE rec("
    "fdev INTEGER NOT NULL, fino INTEGER NOT NULL, name BLOB NOT NULL,"
    "dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,"
    "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
    "content_hash INTEGER NOT NULL, racy INTEGER NOT NULL,"
    "rec BLOB NOT NULL,"
    "PRIMARY KEY(fdev, fino, name));"
    "CREATE TABLE dir("
    "dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
    "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
    "count INTEGER NOT NULL, listing BLOB NOT NULL,"
    "PRIMARY KEY(dev, ino));";

static const char kGetRec[] =
    "SELECT dev, ino, size, mtime_ns, ctime_ns, content_hash, racy, rec "
    "FROM rec WHERE fdev = ?1 AND fino = ?2 AND name = ?3";
static const char kEach[] =
    "SELECT rowid, fdev, fino, name, dev, ino, size, mtime_ns, ctime_ns, rec "
    "FROM rec WHERE rowid > ?1 AND racy = 0 ORDER BY rowid LIMIT ?2";
/* A folder's rows without their records, which are read into the batch
** with the reader's blob handle (a column of the SELECT is copied into a
** register first, then out of it). */
static const char kFolder[] =
    "SELECT name, dev, ino, size, mtime_ns, ctime_ns, content_hash, racy,"
    " rowid, fdev, fino FROM rec WHERE fdev = ?1 AND fino = ?2 ORDER BY name";
static const char kFolderSpan[] =
    "SELECT name, dev, ino, size, mtime_ns, ctime_ns, content_hash, racy,"
    " rowid, fdev, fino FROM rec WHERE rowid BETWEEN ?1 AND ?2";
/* Each record's folder and rowid in the primary key's order (its index
** covers them): spans_read() groups them itself, in half the time SQLite's
** GROUP BY with min(), max() and count() takes. */
static const char kSpans[] =
    "SELECT fdev, fino, rowid FROM rec ORDER BY fdev, fino";
static const char kGetDir[] =
    "SELECT mtime_ns, ctime_ns, count, listing FROM dir "
    "WHERE dev = ?1 AND ino = ?2";
static const char kInsRec[] =
    "INSERT OR REPLACE INTO rec(fdev, fino, name, dev, ino, size, mtime_ns,"
    " ctime_ns, content_hash, racy, rec) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char kDelRec[] =
    "DELETE FROM rec WHERE fdev = ?1 AND fino = ?2 AND name = ?3";
static const char kInsDir[] =
    "INSERT OR REPLACE INTO dir(dev, ino, mtime_ns, ctime_ns, count, listing)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

/* ------------------------------------------------------------------------
** Small helpers.
*/

static void count(uint64_t *c) {
  __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int get_state(emd_cachefile *cf) {
  return __atomic_load_n(&cf->state, __ATOMIC_ACQUIRE);
}

/* Under cf->mu. */
static void set_state(emd_cachefile *cf, int s) {
  __atomic_store_n(&cf->state, s, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&cf->cv);
}

/* Does rc (an SQLite code, extended or not) say the file is damaged? */
static int is_corrupt(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* A message for the user (sqlite3_malloc'd), or NULL when out of memory. */
static char *cf_msg(const char *fmt, ...) {
  va_list ap;
  char *m;
  va_start(ap, fmt);
  m = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return m;
}

static void set_msg(char **errmsg, char *m) {
  if (!errmsg) {
    sqlite3_free(m);
    return;
  }
  sqlite3_free(*errmsg);
  *errmsg = m;
}

/* The integer the one-row query sql answers, into *out. */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

/* Is the text the one-row query sql answers equal to want (any case)? */
static int query_is(sqlite3 *db, const char *sql, const char *want, int *yes) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  *yes = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const unsigned char *t = sqlite3_column_text(st, 0);
      *yes = t && sqlite3_stricmp((const char *)t, want) == 0;
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n) {
  /* A NULL pointer would bind SQL NULL: an empty name is an empty blob. */
  return sqlite3_bind_blob64(st, i, n ? p : (const void *)"", n, SQLITE_STATIC);
}

static char *str_cat(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  char *p = malloc(la + lb + lc + 1);
  if (p) {
    memcpy(p, a, la);
    memcpy(p + la, b, lb);
    memcpy(p + la + lb, c, lc + 1);
  }
  return p;
}

/* path made absolute against the working folder (not resolved: links in
** the folders above stay links), malloc'd; NULL with errno set. */
static char *make_abs(const char *path) {
  char *cwd, *p;
  if (path[0] == '/') return str_cat(path, "", "");
  cwd = getcwd(NULL, 0);
  if (!cwd) return NULL;
  p = str_cat(cwd, strcmp(cwd, "/") ? "/" : "", path);
  free(cwd);
  if (!p) errno = ENOMEM;
  return p;
}

/* ------------------------------------------------------------------------
** Whose file is it.
*/

/* Look at path (shown to the user as shown) without SQLite: *what is
** CF_ABSENT, CF_EMPTY or CF_OURS, and *st its lstat() (when not absent).
** Anything else is refused: SQLITE_ERROR (or SQLITE_CANTOPEN when it could
** not be looked at) with *errmsg set. */
static int cf_look(const char *path, const char *shown, int *what,
                   struct stat *st, char **errmsg) {
  unsigned char hdr[CF_HDR_LEN];
  struct stat fst;
  size_t got = 0;
  uint32_t app;
  int fd;
  if (lstat(path, st) != 0) {
    if (errno == ENOENT) {
      *what = CF_ABSENT;
      return SQLITE_OK;
    }
    set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be used (%s)",
                           shown, strerror(errno)));
    return SQLITE_CANTOPEN;
  }
  if (S_ISLNK(st->st_mode)) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' is a symbolic link: not used "
                   "(name the file itself)",
                   shown));
    return SQLITE_ERROR;
  }
  if (S_ISDIR(st->st_mode)) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' is a folder: not used", shown));
    return SQLITE_ERROR;
  }
  if (!S_ISREG(st->st_mode)) {
    set_msg(errmsg, cf_msg("eventmd: cache file '%s' is not a regular file: "
                           "not used",
                           shown));
    return SQLITE_ERROR;
  }
  if (st->st_size == 0) {
    *what = CF_EMPTY;
    return SQLITE_OK;
  }
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be read (%s)",
                           shown, strerror(errno)));
    return SQLITE_CANTOPEN;
  }
  if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) ||
      fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
    close(fd);
    set_msg(errmsg, cf_msg("eventmd: cache file '%s' changed while it was "
                           "looked at: not used",
                           shown));
    return SQLITE_ERROR;
  }
  while (got < sizeof(hdr)) {
    ssize_t n = pread(fd, hdr + got, sizeof(hdr) - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be read (%s)",
                             shown, strerror(e)));
      return SQLITE_CANTOPEN;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got == 0) {
    *what = CF_EMPTY;
    return SQLITE_OK;
  }
  if (got < sizeof(hdr) || memcmp(hdr, CF_HDR_MAGIC, 16) != 0) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' holds something else (not a "
                   "SQLite database): not used",
                   shown));
    return SQLITE_ERROR;
  }
  app = (uint32_t)hdr[68] << 24 | (uint32_t)hdr[69] << 16 |
        (uint32_t)hdr[70] << 8 | hdr[71];
  if (app != EMD_CACHEFILE_APP_ID) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' holds something else (another "
                   "SQLite database): not used",
                   shown));
    return SQLITE_ERROR;
  }
  *what = CF_OURS;
  return SQLITE_OK;
}

/* Remove a file of ours and what SQLite keeps beside it.  0, or -1 when
** the main file could not be removed. */
static int cf_unlink_all(const char *path) {
  static const char *const sfx[] = {"-wal", "-shm", "-journal"};
  size_t i;
  int ok = unlink(path) == 0 || errno == ENOENT;
  for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
    char *p = str_cat(path, sfx[i], "");
    if (p) {
      (void)unlink(p);
      free(p);
    }
  }
  return ok ? 0 : -1;
}

/* ------------------------------------------------------------------------
** The writer connection: open, set up, close.
*/

static void writer_close(emd_cachefile *cf) {
  sqlite3_finalize(cf->ins_rec);
  sqlite3_finalize(cf->del_rec);
  sqlite3_finalize(cf->ins_dir);
  cf->ins_rec = cf->del_rec = cf->ins_dir = NULL;
  sqlite3_close_v2(cf->w);
  cf->w = NULL;
}

/* Make the empty database w ours: page size, tables, application_id and
** user_version, in one transaction in rollback mode. */
static int cf_init(sqlite3 *w) {
  sqlite3_int64 app = 0, objects = 0;
  char sql[64];
  int rc;
  sqlite3_snprintf(sizeof(sql), sql, "PRAGMA page_size=%d", CF_PAGE_SIZE);
  rc = sqlite3_exec(w, sql, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(w, "BEGIN IMMEDIATE", 0, 0, 0);
  if (rc != SQLITE_OK) return rc;
  /* Another process may have made it meanwhile (page_count is no test
  ** here: the transaction has made page 1 already). */
  rc = query_int(w, "PRAGMA application_id", &app);
  if (rc == SQLITE_OK)
    rc = query_int(w, "SELECT count(*) FROM sqlite_schema", &objects);
  if (rc == SQLITE_OK && app == 0 && objects == 0) {
    rc = sqlite3_exec(w, kSchema, NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_snprintf(sizeof(sql), sql, "PRAGMA application_id=%d",
                       (int)EMD_CACHEFILE_APP_ID);
      rc = sqlite3_exec(w, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
      sqlite3_snprintf(sizeof(sql), sql, "PRAGMA user_version=%d",
                       EMD_CACHEFILE_FORMAT);
      rc = sqlite3_exec(w, sql, NULL, NULL, NULL);
    }
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* application_id, user_version and page_count of w's database, read in
** one transaction (another process may be making it meanwhile). */
static int read_head(sqlite3 *w, sqlite3_int64 *app, sqlite3_int64 *ver,
                     sqlite3_int64 *pages) {
  int rc = sqlite3_exec(w, "BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = query_int(w, "PRAGMA application_id", app);
  if (rc == SQLITE_OK) rc = query_int(w, "PRAGMA user_version", ver);
  if (rc == SQLITE_OK) rc = query_int(w, "PRAGMA page_count", pages);
  if (!sqlite3_get_autocommit(w))
    sqlite3_exec(w, "COMMIT", NULL, NULL, NULL); /* a read: cannot fail */
  return rc;
}

/* Check (and when empty, make) the database cf->w has open.  SQLITE_OK;
** CF_REBUILD when it is ours but unusable; else an error with *errmsg. */
static int cf_setup(emd_cachefile *cf, int busy_ms, char **errmsg) {
  sqlite3 *w = cf->w;
  sqlite3_int64 app = 0, ver = 0, pages = 0, tables = 0;
  int rc, wal = 0;
  sqlite3_busy_timeout(w, busy_ms);
  rc = read_head(w, &app, &ver, &pages);
  if (rc == SQLITE_OK && app == 0 && pages == 0) {
    rc = cf_init(w);
    if (rc == SQLITE_OK) rc = read_head(w, &app, &ver, &pages);
  }
  if (is_corrupt(rc)) return CF_REBUILD;
  if (rc != SQLITE_OK) goto failed;
  if (app != EMD_CACHEFILE_APP_ID) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' holds something else (another "
                   "SQLite database): not used",
                   cf->path));
    return SQLITE_ERROR;
  }
  if (ver != EMD_CACHEFILE_FORMAT) return CF_REBUILD;
  rc = query_is(w, "PRAGMA journal_mode", "wal", &wal);
  if (rc == SQLITE_OK && !wal) {
    rc = query_is(w, "PRAGMA journal_mode=WAL", "wal", &wal);
    if (rc == SQLITE_OK && !wal) {
      set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be used: its "
                             "file system does not allow WAL mode",
                             cf->path));
      return SQLITE_ERROR;
    }
  }
  if (rc == SQLITE_OK)
    rc = query_int(w,
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                   "AND name IN ('rec', 'dir')",
                   &tables);
  if (is_corrupt(rc)) return CF_REBUILD;
  if (rc != SQLITE_OK) goto failed;
  if (tables != 2) return CF_REBUILD;
  rc = sqlite3_exec(w,
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA journal_size_limit=67108864", /* CF_WAL_LIMIT */
                    NULL, NULL, NULL);
  if (rc != SQLITE_OK) goto failed;
  sqlite3_busy_timeout(w, CF_WRITE_BUSY_MS);
  return SQLITE_OK;
failed:
  set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be used (%s)",
                         cf->path, sqlite3_errmsg(w)));
  return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}

/* Open the writer on the file the path names: look, open, set up; a file of
** ours that is unusable is removed and made again.  Lock contention while
** processes make the file at once (SQLite answers SQLITE_BUSY without
** waiting where waiting could deadlock) is retried for patience_ms.  On
** success cf->w, cf->dev and cf->ino are set. */
static int cf_attach(emd_cachefile *cf, int patience_ms, char **errmsg) {
  int64_t deadline = mono_ns() + patience_ms * INT64_C(1000000);
  int rebuilds = 0, rc;
  for (;;) {
    struct stat st, opened;
    int what, have;
    rc = cf_look(cf->abspath, cf->path, &what, &st, errmsg);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_open_v2(cf->abspath, &cf->w,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                         NULL);
    if (rc != SQLITE_OK) {
      if (rc == SQLITE_NOMEM || !cf->w)
        set_msg(errmsg, NULL);
      else
        set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be opened "
                               "(%s)",
                               cf->path, sqlite3_errmsg(cf->w)));
      writer_close(cf);
      return rc;
    }
    if (sqlite3_db_readonly(cf->w, "main") == 1) {
      /* SQLite falls back to reading when it may not write. */
      set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be written: "
                             "not used",
                             cf->path));
      writer_close(cf);
      return SQLITE_READONLY;
    }
    /* The file SQLite opened (it opens at once; the path could change
    ** between, which the next flush notices). */
    have = lstat(cf->abspath, &opened) == 0;
    sqlite3_extended_result_codes(cf->w, 1);
    rc = cf_setup(
        cf, patience_ms < CF_SETUP_BUSY_MS ? patience_ms : CF_SETUP_BUSY_MS,
        errmsg);
    if (rc == SQLITE_OK) {
      if (have) {
        cf->dev = opened.st_dev;
        cf->ino = opened.st_ino;
      }
      set_msg(errmsg, NULL);
      return SQLITE_OK;
    }
    writer_close(cf);
    if (rc != CF_REBUILD && (rc & 0xff) == SQLITE_BUSY &&
        mono_ns() < deadline) {
      usleep(500 + (unsigned)(mono_ns() / 1000 % 2000));
      continue;
    }
    if (rc != CF_REBUILD || !have || rebuilds == 2) break;
    rebuilds++;
    /* Ours but unusable.  Look again: it must still be ours (or empty),
    ** and the same file (another process may have made it again). */
    rc = cf_look(cf->abspath, cf->path, &what, &st, errmsg);
    if (rc != SQLITE_OK) return rc;
    if (what == CF_ABSENT || st.st_dev != opened.st_dev ||
        st.st_ino != opened.st_ino)
      continue;
    if (cf_unlink_all(cf->abspath) != 0) {
      set_msg(errmsg, cf_msg("eventmd: cache file '%s' is unusable and "
                             "cannot be removed (%s)",
                             cf->path, strerror(errno)));
      return SQLITE_CANTOPEN;
    }
    count(&cf->rebuilt);
  }
  if (rc == CF_REBUILD) {
    set_msg(errmsg,
            cf_msg("eventmd: cache file '%s' cannot be made", cf->path));
    rc = SQLITE_ERROR;
  }
  return rc;
}

/* ------------------------------------------------------------------------
** Readers.
*/

/* End r's snapshot, if it holds one. */
static void reader_end(cf_reader *r) {
  if (r->blob) sqlite3_blob_close(r->blob); /* it holds the snapshot too */
  r->blob = NULL;
  if (r->db && !sqlite3_get_autocommit(r->db)) {
    if (r->commit && sqlite3_step(r->commit) != SQLITE_DONE &&
        !sqlite3_get_autocommit(r->db))
      sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    if (r->commit) sqlite3_reset(r->commit);
  }
  r->in_txn = 0;
}

/* Make r hold a snapshot no older than CF_SNAPSHOT_MS and than our last
** commit, so a get sees what a flush that returned before it wrote. */
static void reader_fresh(emd_cachefile *cf, cf_reader *r) {
  uint64_t epoch = __atomic_load_n(&cf->epoch, __ATOMIC_ACQUIRE);
  int64_t now = mono_ns();
  if (r->in_txn && (r->epoch != epoch ||
                    now - r->since_ns > CF_SNAPSHOT_MS * INT64_C(1000000)))
    reader_end(r);
  if (!r->in_txn) {
    /* BEGIN is deferred: the snapshot is taken by the get's SELECT, after
    ** epoch was read, so it holds every commit that epoch counts. */
    if (sqlite3_step(r->begin) == SQLITE_DONE) {
      r->in_txn = 1;
      r->epoch = epoch;
      r->since_ns = now;
    }
    sqlite3_reset(r->begin);
  }
}

static void reader_close(cf_reader *r) {
  if (!r) return;
  reader_end(r);
  sqlite3_finalize(r->get_rec);
  sqlite3_finalize(r->folder);
  sqlite3_finalize(r->span);
  sqlite3_finalize(r->get_dir);
  sqlite3_finalize(r->each);
  sqlite3_finalize(r->begin);
  sqlite3_finalize(r->commit);
  sqlite3_close_v2(r->db);
  free(r);
}

/* A new reader, or NULL (*corrupt set when the file said it is damaged). */
static cf_reader *reader_open(emd_cachefile *cf, unsigned gen, int *corrupt) {
  sqlite3_int64 app = 0, ver = 0;
  cf_reader *r = calloc(1, sizeof(*r));
  int rc;
  if (!r) return NULL;
  r->gen = gen;
  rc = sqlite3_open_v2(
      cf->abspath, &r->db,
      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, CF_READ_BUSY_MS);
    /* 2 MiB: the interior pages of the index and the table, and the leaf
    ** pages this reader's thread is working through (the pool hands a
    ** thread the reader it used last).  More costs fresh memory per
    ** reader for pages read once. */
    sqlite3_exec(r->db, "PRAGMA cache_size=-2048", NULL, NULL, NULL);
    rc = query_int(r->db, "PRAGMA application_id", &app);
  }
  if (rc == SQLITE_OK) rc = query_int(r->db, "PRAGMA user_version", &ver);
  if (rc == SQLITE_OK &&
      (app != EMD_CACHEFILE_APP_ID || ver != EMD_CACHEFILE_FORMAT))
    rc = SQLITE_ERROR; /* not the file we set up: the next flush looks */
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(r->db, kGetRec, -1, SQLITE_PREPARE_PERSISTENT,
                            &r->get_rec, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(r->db, kGetDir, -1, SQLITE_PREPARE_PERSISTENT,
                            &r->get_dir, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(r->db, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT,
                            &r->begin, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(r->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT,
                            &r->commit, NULL);
  if (rc != SQLITE_OK) {
    *corrupt = is_corrupt(rc);
    reader_close(r);
    return NULL;
  }
  return r;
}

/* An idle reader, a new one, or NULL when the file is not in use (or no
** reader can be opened). */
static cf_reader *checkout(emd_cachefile *cf) {
  cf_reader *r;
  unsigned gen;
  int corrupt = 0;
  pthread_mutex_lock(&cf->mu);
  for (;;) {
    if (cf->state != CF_OK) {
      pthread_mutex_unlock(&cf->mu);
      return NULL;
    }
    if (cf->nidle > 0) {
      /* The one this thread used last, when idle: its page cache holds
      ** the pages near the records this thread asked for lately. */
      pthread_t self = pthread_self();
      int i = cf->nidle - 1, k;
      for (k = 0; k < cf->nidle; k++)
        if (pthread_equal(cf->idle[k]->user, self)) i = k;
      r = cf->idle[i];
      cf->idle[i] = cf->idle[--cf->nidle];
      r->user = self;
      cf->nbusy++;
      pthread_mutex_unlock(&cf->mu);
      return r;
    }
    if (cf->rfail) { /* each get would pay for a failing open */
      pthread_mutex_unlock(&cf->mu);
      return NULL;
    }
    if (cf->nopen < CF_MAX_READERS) break;
    pthread_cond_wait(&cf->cv, &cf->mu);
  }
  cf->nopen++;
  cf->nbusy++;
  gen = cf->gen;
  pthread_mutex_unlock(&cf->mu);
  r = reader_open(cf, gen, &corrupt);
  if (r) r->user = pthread_self();
  if (!r) {
    pthread_mutex_lock(&cf->mu);
    cf->nopen--;
    cf->nbusy--;
    __atomic_store_n(&cf->rfail, 1, __ATOMIC_RELAXED);
    set_state(cf, corrupt && cf->state == CF_OK ? CF_BROKEN : cf->state);
    pthread_mutex_unlock(&cf->mu);
  }
  return r;
}

/* Hand r back; rc is what its last step said. */
static void checkin(emd_cachefile *cf, cf_reader *r, int rc) {
  int keep = rc == SQLITE_ROW || rc == SQLITE_DONE || rc == SQLITE_OK ||
             (rc & 0xff) == SQLITE_BUSY;
  if (!keep || (rc & 0xff) == SQLITE_BUSY) reader_end(r);
  pthread_mutex_lock(&cf->mu);
  cf->nbusy--;
  if (is_corrupt(rc) && cf->state == CF_OK) set_state(cf, CF_BROKEN);
  if (keep && r->gen == cf->gen && cf->state == CF_OK &&
      cf->nidle < CF_MAX_READERS) {
    cf->idle[cf->nidle++] = r;
    r = NULL;
  } else {
    cf->nopen--;
  }
  set_state(cf, cf->state); /* wakes waiters */
  pthread_mutex_unlock(&cf->mu);
  reader_close(r);
}

/* ------------------------------------------------------------------------
** The queue.
*/

static size_t op_cost(const cf_op *op) {
  return sizeof(*op) + op->namelen + op->len;
}

static cf_op *op_new(int kind, uint32_t namelen, size_t len) {
  cf_op *op = malloc(sizeof(*op) + namelen + len);
  if (op) {
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->namelen = namelen;
    op->len = len;
  }
  return op;
}

static void ops_free(cf_op *op) {
  while (op) {
    cf_op *next = op->next;
    free(op);
    op = next;
  }
}

/* Append op, or drop it when the queue is full or the file is not used. */
static void enqueue(emd_cachefile *cf, cf_op *op) {
  size_t cost = op_cost(op);
  pthread_mutex_lock(&cf->qmu);
  if (get_state(cf) == CF_DEAD || cf->qbytes + cost > CF_QUEUE_MAX) {
    pthread_mutex_unlock(&cf->qmu);
    free(op);
    count(&cf->dropped);
    return;
  }
  op->next = NULL;
  if (cf->qtail)
    cf->qtail->next = op;
  else
    cf->qhead = op;
  cf->qtail = op;
  __atomic_store_n(&cf->qbytes, cf->qbytes + cost, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&cf->qmu);
}

/* Take everything queued. */
static cf_op *dequeue_all(emd_cachefile *cf) {
  cf_op *list;
  pthread_mutex_lock(&cf->qmu);
  list = cf->qhead;
  cf->qhead = cf->qtail = NULL;
  __atomic_store_n(&cf->qbytes, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&cf->qmu);
  return list;
}

/* Put list (older than what is queued) back in front; what does not fit
** in the bound is dropped, oldest first. */
static void requeue(emd_cachefile *cf, cf_op *list) {
  cf_op *last;
  size_t cost = 0;
  if (!list) return;
  pthread_mutex_lock(&cf->qmu);
  for (last = list; last; last = last->next) cost += op_cost(last);
  while (list && cf->qbytes + cost > CF_QUEUE_MAX) {
    cf_op *next = list->next;
    cost -= op_cost(list);
    free(list);
    count(&cf->dropped);
    list = next;
  }
  if (list) {
    for (last = list; last->next; last = last->next) {
    }
    last->next = cf->qhead;
    if (!cf->qhead) cf->qtail = last;
    cf->qhead = list;
    __atomic_store_n(&cf->qbytes, cf->qbytes + cost, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&cf->qmu);
}

/* ------------------------------------------------------------------------
** Writing.
*/

static int write_op(emd_cachefile *cf, const cf_op *op) {
  sqlite3_stmt *st;
  int rc;
  switch (op->kind) {
    case OP_PUT:
      st = cf->ins_rec;
      sqlite3_bind_int64(st, 1, (sqlite3_int64)op->k1);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)op->k2);
      bind_blob(st, 3, op->data, op->namelen);
      sqlite3_bind_int64(st, 4, (sqlite3_int64)op->id.dev);
      sqlite3_bind_int64(st, 5, (sqlite3_int64)op->id.ino);
      sqlite3_bind_int64(st, 6, op->id.size);
      sqlite3_bind_int64(st, 7, op->id.mtime_ns);
      sqlite3_bind_int64(st, 8, op->id.ctime_ns);
      sqlite3_bind_int64(st, 9, (sqlite3_int64)op->hash);
      sqlite3_bind_int(st, 10, op->racy != 0);
      bind_blob(st, 11, op->data + op->namelen, op->len);
      break;
    case OP_FORGET:
      st = cf->del_rec;
      sqlite3_bind_int64(st, 1, (sqlite3_int64)op->k1);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)op->k2);
      bind_blob(st, 3, op->data, op->namelen);
      break;
    default:
      st = cf->ins_dir;
      sqlite3_bind_int64(st, 1, (sqlite3_int64)op->k1);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)op->k2);
      sqlite3_bind_int64(st, 3, op->id.mtime_ns);
      sqlite3_bind_int64(st, 4, op->id.ctime_ns);
      sqlite3_bind_int64(st, 5, (sqlite3_int64)op->count);
      bind_blob(st, 6, op->data, op->len);
      break;
  }
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st); /* they point into op */
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Write the queue in short transactions.  SQLITE_OK when done (or when
** the file was busy: the rest is queued again); the error that stopped it
** otherwise (a corrupt file: the rest is queued again; any other error:
** what was taken is dropped, as a cache may lose writes). */
static int write_queue(emd_cachefile *cf) {
  cf_op *list;
  int rc = SQLITE_OK;
  if (!cf->ins_rec) {
    rc = sqlite3_prepare_v3(cf->w, kInsRec, -1, SQLITE_PREPARE_PERSISTENT,
                            &cf->ins_rec, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_prepare_v3(cf->w, kDelRec, -1, SQLITE_PREPARE_PERSISTENT,
                              &cf->del_rec, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_prepare_v3(cf->w, kInsDir, -1, SQLITE_PREPARE_PERSISTENT,
                              &cf->ins_dir, NULL);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(cf->ins_rec);
      sqlite3_finalize(cf->del_rec);
      sqlite3_finalize(cf->ins_dir);
      cf->ins_rec = cf->del_rec = cf->ins_dir = NULL;
      return rc;
    }
  }
  list = dequeue_all(cf);
  while (list) {
    cf_op *cur = list;
    size_t rows = 0, bytes = 0;
    uint64_t puts = 0;
    rc = sqlite3_exec(cf->w, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
      while (cur && rows < CF_BATCH_ROWS && bytes < CF_BATCH_BYTES) {
        rc = write_op(cf, cur);
        if (rc != SQLITE_OK) break;
        rows++;
        bytes += op_cost(cur);
        puts += cur->kind == OP_PUT;
        cur = cur->next;
      }
      if (rc == SQLITE_OK) rc = sqlite3_exec(cf->w, "COMMIT", NULL, NULL, NULL);
      if (rc != SQLITE_OK && !sqlite3_get_autocommit(cf->w))
        sqlite3_exec(cf->w, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
      if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
          rc == SQLITE_READONLY_DBMOVED || is_corrupt(rc)) {
        /* Busy: next time.  Moved (another process rebuilt it, someone
        ** removed it): the next flush's lstat() reopens it. */
        requeue(cf, list);
      } else {
        uint64_t n = 0;
        for (cur = list; cur; cur = cur->next) n++;
        __atomic_fetch_add(&cf->dropped, n, __ATOMIC_RELAXED);
        ops_free(list);
      }
      return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
                     rc == SQLITE_READONLY_DBMOVED
                 ? SQLITE_OK
                 : rc;
    }
    /* Committed: list .. cur (excluded) is written. */
    while (list != cur) {
      cf_op *next = list->next;
      free(list);
      list = next;
    }
    __atomic_fetch_add(&cf->written, puts, __ATOMIC_RELAXED);
    __atomic_fetch_add(&cf->epoch, 1, __ATOMIC_RELEASE);
  }
  return SQLITE_OK;
}

/* Close every connection of ours to the file and open it again (removing
** it first when it is ours and broken).  Under cf->wmu.  0 when gets in
** flight did not finish within CF_QUIESCE_MS (nothing done). */
static int cf_reopen(emd_cachefile *cf, int broken) {
  cf_reader *closing[CF_MAX_READERS];
  struct timespec dl;
  struct stat st;
  int prev, n, i, what, rc;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_nsec += CF_QUIESCE_MS * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&cf->mu);
  prev = cf->state;
  set_state(cf, CF_PAUSED);
  while (cf->nbusy > 0)
    if (pthread_cond_timedwait(&cf->cv, &cf->mu, &dl) == ETIMEDOUT) break;
  if (cf->nbusy > 0) {
    set_state(cf, prev);
    pthread_mutex_unlock(&cf->mu);
    return 0;
  }
  n = cf->nidle;
  memcpy(closing, cf->idle, (size_t)n * sizeof(closing[0]));
  cf->nopen -= n;
  cf->nidle = 0;
  cf->gen++;
  __atomic_store_n(&cf->rfail, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&cf->mu);
  for (i = 0; i < n; i++) reader_close(closing[i]);
  writer_close(cf);

  rc = cf_look(cf->abspath, cf->path, &what, &st, NULL);
  if (rc == SQLITE_OK && what == CF_ABSENT) {
    count(&cf->rebuilt); /* removed by someone: made again */
  } else if (rc == SQLITE_OK && broken && st.st_dev == cf->dev &&
             st.st_ino == cf->ino) {
    /* Still the file we found broken, and still ours (or empty). */
    if (cf_unlink_all(cf->abspath) != 0)
      rc = SQLITE_CANTOPEN;
    else
      count(&cf->rebuilt);
  }
  if (rc == SQLITE_OK) rc = cf_attach(cf, CF_REOPEN_MS, NULL);
  /* Busy (processes making it at once): try again at the next flush; the
  ** path names a new inode by now, so that is no second removal. */
  pthread_mutex_lock(&cf->mu);
  set_state(cf, rc == SQLITE_OK              ? CF_OK
                : (rc & 0xff) == SQLITE_BUSY ? CF_BROKEN
                                             : CF_DEAD);
  pthread_mutex_unlock(&cf->mu);
  if (get_state(cf) == CF_DEAD) ops_free(dequeue_all(cf)); /* nowhere */
  return 1;
}

/* Under cf->wmu: rebuild a broken file, follow a path that names another
** file now, then write the queue. */
static void flush_locked(emd_cachefile *cf) {
  int pass;
  for (pass = 0; pass < 2; pass++) {
    int s = get_state(cf);
    if (s == CF_DEAD) {
      ops_free(dequeue_all(cf));
      return;
    }
    if (s == CF_BROKEN) {
      if (!cf_reopen(cf, 1)) return; /* gets in flight: next time */
    } else if (pass == 0) {
      /* Another process may have rebuilt it, or someone removed it. */
      struct stat st;
      int gone = lstat(cf->abspath, &st) != 0
                     ? errno == ENOENT
                     : st.st_dev != cf->dev || st.st_ino != cf->ino;
      if (gone && !cf_reopen(cf, 0)) return;
      if (!gone && __atomic_load_n(&cf->rfail, __ATOMIC_RELAXED)) {
        pthread_mutex_lock(&cf->mu); /* the same file: let readers retry */
        __atomic_store_n(&cf->rfail, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&cf->mu);
      }
    }
    if (get_state(cf) != CF_OK || !cf->w) return;
    if (!is_corrupt(write_queue(cf))) return;
    pthread_mutex_lock(&cf->mu);
    if (cf->state == CF_OK) set_state(cf, CF_BROKEN);
    pthread_mutex_unlock(&cf->mu);
  }
}

/* ------------------------------------------------------------------------
** The interface.
*/

int emd_cachefile_open(emd_cachefile **out, const char *path, char **errmsg) {
  emd_cachefile *cf;
  pthread_condattr_t ca;
  int rc;
  *out = NULL;
  if (errmsg) *errmsg = NULL;
  if (!path || !*path) {
    set_msg(errmsg, cf_msg("eventmd: cache file '': no path given"));
    return SQLITE_ERROR;
  }
  cf = calloc(1, sizeof(*cf));
  if (!cf) return SQLITE_NOMEM;
  cf->path = str_cat(path, "", "");
  cf->abspath = cf->path ? make_abs(path) : NULL;
  if (!cf->abspath) {
    rc = errno == ENOMEM || !cf->path ? SQLITE_NOMEM : SQLITE_CANTOPEN;
    if (rc == SQLITE_CANTOPEN)
      set_msg(errmsg, cf_msg("eventmd: cache file '%s' cannot be used (%s)",
                             path, strerror(errno)));
    free(cf->path);
    free(cf);
    return rc;
  }
  pthread_mutex_init(&cf->mu, NULL);
  pthread_mutex_init(&cf->qmu, NULL);
  pthread_mutex_init(&cf->wmu, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cf->cv, &ca);
  pthread_condattr_destroy(&ca);
  cf->state = CF_OK;
  rc = cf_attach(cf, CF_OPEN_MS, errmsg);
  if (rc != SQLITE_OK) {
    cf->state = CF_DEAD;
    emd_cachefile_close(cf);
    return rc;
  }
  *out = cf;
  return SQLITE_OK;
}

void emd_cachefile_close(emd_cachefile *cf) {
  int i;
  if (!cf) return;
  pthread_mutex_lock(&cf->wmu);
  flush_locked(cf);
  /* Nothing is in flight (the caller's promise): every reader is idle.
  ** Readers go first, so that the writer, when it is the file's last
  ** connection, checkpoints it and removes the -wal and -shm. */
  for (i = 0; i < cf->nidle; i++) reader_close(cf->idle[i]);
  cf->nidle = 0;
  writer_close(cf);
  pthread_mutex_unlock(&cf->wmu);
  ops_free(cf->qhead);
  free(cf->spans);
  pthread_cond_destroy(&cf->cv);
  pthread_mutex_destroy(&cf->mu);
  pthread_mutex_destroy(&cf->qmu);
  pthread_mutex_destroy(&cf->wmu);
  free(cf->path);
  free(cf->abspath);
  free(cf);
}

const char *emd_cachefile_path(const emd_cachefile *cf) {
  return cf->path;
}

/* copy_rec's verdicts. */
enum { CF_COPY_OK, CF_COPY_BAD, CF_COPY_NOMEM };

/* A checked copy of the record blob of column i of st into *out. */
static int copy_rec(sqlite3_stmt *st, int i, emd_rec **out) {
  const void *p;
  void *copy;
  int n;
  if (sqlite3_column_type(st, i) != SQLITE_BLOB) return CF_COPY_BAD;
  p = sqlite3_column_blob(st, i);
  n = sqlite3_column_bytes(st, i);
  if (n < (int)sizeof(emd_rec) || (size_t)n > CF_MAX_BLOB) return CF_COPY_BAD;
  if (!p) return CF_COPY_NOMEM; /* a blob of n > 0 bytes: SQLite's memory */
  copy = malloc((size_t)n);     /* malloc's alignment: 8 at least */
  if (!copy) return CF_COPY_NOMEM;
  memcpy(copy, p, (size_t)n);
  if (!emd_rec_check(copy, (size_t)n)) {
    free(copy);
    return CF_COPY_BAD;
  }
  *out = copy;
  return CF_COPY_OK;
}

int emd_cachefile_each_listing(emd_cachefile *cf, emd_cachefile_listing_fn *fn,
                               void *ctx) {
  cf_reader *r;
  sqlite3_stmt *st = NULL;
  int rc;
  if (!cf || (r = checkout(cf)) == NULL) return SQLITE_DONE;
  reader_fresh(cf, r);
  rc = sqlite3_prepare_v2(r->db,
                          "SELECT dev, ino, mtime_ns, ctime_ns, count, listing "
                          "FROM dir",
                          -1, &st, NULL);
  while (rc == SQLITE_OK) {
    sqlite3_int64 n;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) break; /* SQLITE_DONE at the end */
    rc = SQLITE_OK;
    n = sqlite3_column_int64(st, 4);
    if (n < 0 || sqlite3_column_type(st, 5) != SQLITE_BLOB) continue;
    if (fn(ctx, (uint64_t)sqlite3_column_int64(st, 0),
           (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
           sqlite3_column_int64(st, 3), sqlite3_column_blob(st, 5),
           (size_t)sqlite3_column_bytes(st, 5), (size_t)n))
      break; /* stopped: SQLITE_OK */
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK) rc = SQLITE_DONE;
  checkin(cf, r, rc);
  return rc;
}

/* ------------------------------------------------------------------------
** A folder's records at once.
*/
#define CF_FOLDER_MAX_BYTES ((size_t)16 << 20) /* larger: asked one by one */

typedef struct cf_row {
  const unsigned char *name; /* its name (not NUL-terminated) */
  size_t namelen;
  emd_ident id;
  uint64_t hash;
  int racy;
  const unsigned char *rec; /* the record's bytes, unchecked */
  size_t n;
} cf_row;

struct emd_cfdir {
  cf_row *rows; /* by name, as the primary key orders blobs */
  size_t n;
  int partial;         /* a file missing here may still have a row */
  unsigned char *data; /* the names and records */
};

void emd_cfdir_free(emd_cfdir *d) {
  if (!d) return;
  free(d->rows);
  free(d->data);
  free(d);
}

static const unsigned char kZeros[8];

/* Append n bytes to the growing block (p NULL: room for them, left for the
** caller to fill): their offset, or (size_t)-1. */
static size_t grow_append(unsigned char **data, size_t *used, size_t *cap,
                          const void *p, size_t n) {
  size_t at = *used;
  if (*used + n > *cap) {
    size_t cap2 = *cap ? *cap : 65536;
    unsigned char *q;
    while (*used + n > cap2) cap2 *= 2;
    q = realloc(*data, cap2);
    if (!q) return (size_t)-1;
    *data = q;
    *cap = cap2;
  }
  if (n && p) memcpy(*data + at, p, n);
  *used += n;
  return at;
}

/* Where one folder's records lie in rowid order: rows are written in the
** order a scan read the files, so a folder's usually sit side by side. */
typedef struct cf_span {
  sqlite3_int64 fdev, fino; /* as stored (signed) */
  sqlite3_int64 lo, hi;     /* rowids of its first and last record */
  sqlite3_int64 count;      /* its records */
} cf_span;

/* Read every folder's span once (one pass over the primary key's index,
** which holds the rowids): a walk then reads a folder's records as a run of
** the table instead of searching the index for each folder (whose pages
** lie in inode order, not in the order of the walk). */
static void spans_read(emd_cachefile *cf, cf_reader *r) {
  sqlite3_stmt *st = NULL;
  cf_span *a = NULL;
  size_t n = 0, cap = 0;
  int rc = sqlite3_prepare_v2(r->db, kSpans, -1, &st, NULL), ok = 1;
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_int64 fdev = sqlite3_column_int64(st, 0),
                  fino = sqlite3_column_int64(st, 1),
                  rowid = sqlite3_column_int64(st, 2);
    rc = SQLITE_OK;
    if (n && a[n - 1].fdev == fdev && a[n - 1].fino == fino) {
      cf_span *x = &a[n - 1];
      if (rowid < x->lo) x->lo = rowid;
      if (rowid > x->hi) x->hi = rowid;
      x->count++;
      continue;
    }
    if (n == cap) {
      size_t c2 = cap ? cap * 2 : 1024;
      cf_span *p = realloc(a, c2 * sizeof(cf_span));
      if (!p) {
        ok = 0;
        break;
      }
      a = p;
      cap = c2;
    }
    a[n].fdev = fdev;
    a[n].fino = fino;
    a[n].lo = a[n].hi = rowid;
    a[n].count = 1;
    n++;
  }
  sqlite3_finalize(st);
  if (!ok || rc != SQLITE_DONE) {
    free(a);
    __atomic_store_n(&cf->spans_state, 3, __ATOMIC_RELEASE);
    return;
  }
  cf->spans = a; /* in (fdev, fino) order (signed), as span_of() searches */
  cf->nspans = n;
  __atomic_store_n(&cf->spans_state, 2, __ATOMIC_RELEASE);
}

/* The span of folder fdev/fino when it is compact enough to read as a run
** (the spans are read by the first asker; others meanwhile get NULL). */
static const cf_span *span_of(emd_cachefile *cf, cf_reader *r, uint64_t fdev,
                              uint64_t fino) {
  int state = __atomic_load_n(&cf->spans_state, __ATOMIC_ACQUIRE), expect = 0;
  sqlite3_int64 d = (sqlite3_int64)fdev, i = (sqlite3_int64)fino;
  size_t lo = 0, hi;
  if (state == 0 &&
      __atomic_compare_exchange_n(&cf->spans_state, &expect, 1, 0,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    spans_read(cf, r);
    state = __atomic_load_n(&cf->spans_state, __ATOMIC_ACQUIRE);
  }
  if (state != 2) return NULL;
  hi = cf->nspans;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const cf_span *x = &cf->spans[mid];
    if (x->fdev == d && x->fino == i)
      return x->hi - x->lo < 2 * x->count + 16 ? x : NULL;
    if (x->fdev < d || (x->fdev == d && x->fino < i))
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int row_by_name(const void *pa, const void *pb);

/* Point r's blob handle (opened, or moved) at the record of row rowid: its
** size, or 0 when it cannot be read (a handle that failed is closed: it
** cannot be moved again; a record that is not a blob fails). */
static size_t blob_at(cf_reader *r, sqlite3_int64 rowid) {
  int rc = r->blob ? sqlite3_blob_reopen(r->blob, rowid)
                   : sqlite3_blob_open(r->db, "main", "rec", "rec", rowid, 0,
                                       &r->blob);
  if (rc == SQLITE_OK) return (size_t)sqlite3_blob_bytes(r->blob);
  sqlite3_blob_close(r->blob);
  r->blob = NULL;
  return 0;
}

emd_cfdir *emd_cachefile_folder(emd_cachefile *cf, uint64_t fdev,
                                uint64_t fino) {
  cf_reader *r;
  sqlite3_stmt *st;
  const cf_span *span;
  emd_cfdir *d = calloc(1, sizeof(*d));
  size_t used = 0, cap = 0, nrows = 0, caprows = 0, i;
  int rc = SQLITE_OK, ok = 1;
  if (!d || !cf || (r = checkout(cf)) == NULL) {
    free(d);
    return NULL;
  }
  reader_fresh(cf, r);
  span = span_of(cf, r, fdev, fino);
  if (span ? !r->span : !r->folder)
    rc = sqlite3_prepare_v3(r->db, span ? kFolderSpan : kFolder, -1,
                            SQLITE_PREPARE_PERSISTENT,
                            span ? &r->span : &r->folder, NULL);
  if (rc != SQLITE_OK) {
    checkin(cf, r, rc);
    free(d);
    return NULL;
  }
  st = span ? r->span : r->folder;
  if (span) {
    sqlite3_bind_int64(st, 1, span->lo);
    sqlite3_bind_int64(st, 2, span->hi);
    d->partial = 1; /* written since the spans were read: not in the run */
  } else {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)fdev);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)fino);
  }
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    cf_row *row;
    const void *name = sqlite3_column_blob(st, 0);
    size_t namelen = (size_t)sqlite3_column_bytes(st, 0), n, at;
    if (sqlite3_column_int64(st, 9) != (sqlite3_int64)fdev ||
        sqlite3_column_int64(st, 10) != (sqlite3_int64)fino)
      continue; /* another folder's, inside the run */
    n = name ? blob_at(r, sqlite3_column_int64(st, 8)) : 0;
    if (n < sizeof(emd_rec) || n > CF_MAX_BLOB)
      continue; /* asked for one by one, the row is checked (and forgotten) */
    if (used + namelen + n + 16 > CF_FOLDER_MAX_BYTES) {
      ok = 0;
      break;
    }
    if (nrows == caprows) {
      size_t c2 = caprows ? caprows * 2 : 32;
      cf_row *p = realloc(d->rows, c2 * sizeof(cf_row));
      if (!p) {
        ok = 0;
        break;
      }
      d->rows = p;
      caprows = c2;
    }
    row = &d->rows[nrows];
    /* Offsets now, pointers once the block stops moving; records start
    ** 8-aligned. */
    if (grow_append(&d->data, &used, &cap, kZeros, (8 - used % 8) % 8) ==
        (size_t)-1) {
      ok = 0;
      break;
    }
    at = grow_append(&d->data, &used, &cap, NULL, n);
    if (at == (size_t)-1) {
      ok = 0;
      break;
    }
    if (sqlite3_blob_read(r->blob, d->data + at, (int)n, 0) != SQLITE_OK) {
      sqlite3_blob_close(r->blob);
      r->blob = NULL;
      used = at; /* not in the batch: asked for one by one */
      continue;
    }
    row->rec = (const unsigned char *)(uintptr_t)at;
    row->name = (const unsigned char *)(uintptr_t)grow_append(
        &d->data, &used, &cap, name, namelen);
    if ((size_t)(uintptr_t)row->name == (size_t)-1) {
      ok = 0;
      break;
    }
    row->n = n;
    row->namelen = namelen;
    row->id.dev = (uint64_t)sqlite3_column_int64(st, 1);
    row->id.ino = (uint64_t)sqlite3_column_int64(st, 2);
    row->id.size = sqlite3_column_int64(st, 3);
    row->id.mtime_ns = sqlite3_column_int64(st, 4);
    row->id.ctime_ns = sqlite3_column_int64(st, 5);
    row->hash = (uint64_t)sqlite3_column_int64(st, 6);
    row->racy = sqlite3_column_int(st, 7) != 0;
    nrows++;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  checkin(cf, r, ok ? rc : SQLITE_DONE);
  if (!ok || rc != SQLITE_DONE) {
    free(d->data);
    free(d->rows);
    free(d);
    return NULL;
  }
  for (i = 0; i < nrows; i++) {
    d->rows[i].rec = d->data + (size_t)(uintptr_t)d->rows[i].rec;
    d->rows[i].name = d->data + (size_t)(uintptr_t)d->rows[i].name;
  }
  d->n = nrows;
  if (span && nrows > 1) qsort(d->rows, nrows, sizeof(cf_row), row_by_name);
  return d;
}

/* Blob order, as SQLite compares blobs: bytes, then the shorter first. */
static int name_cmp(const void *a, size_t an, const void *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

static int row_by_name(const void *pa, const void *pb) {
  const cf_row *a = pa, *b = pb;
  return name_cmp(a->name, a->namelen, b->name, b->namelen);
}

int emd_cfdir_get(emd_cachefile *cf, const emd_cfdir *d, const emd_fkey *key,
                  emd_ident *id, uint64_t *content_hash, int *racy,
                  const emd_rec **rec) {
  size_t lo = 0, hi = d->n;
  *rec = NULL;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const cf_row *row = &d->rows[mid];
    int c = name_cmp(key->name, key->namelen, row->name, row->namelen);
    if (c == 0) {
      /* Checked where it lies (8-aligned in the batch, which nobody
      ** writes once fetched). */
      if (!emd_rec_check(row->rec, row->n)) {
        emd_cachefile_forget(cf, key);
        break;
      }
      *id = row->id;
      *content_hash = row->hash;
      *racy = row->racy;
      *rec = (const emd_rec *)row->rec;
      count(&cf->hits);
      return SQLITE_ROW;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (d->partial) return SQLITE_NOTFOUND; /* ask one by one */
  count(&cf->misses);
  return SQLITE_DONE;
}

/* Never SQLITE_NOMEM: out of memory is a miss (SQLITE_DONE). */
int emd_cachefile_get(emd_cachefile *cf, const emd_fkey *key, emd_ident *id,
                      uint64_t *content_hash, int *racy, emd_rec **rec) {
  cf_reader *r;
  sqlite3_stmt *st;
  int rc, ans = SQLITE_DONE, copied = CF_COPY_NOMEM;
  *rec = NULL;
  if (!cf || !key || (r = checkout(cf)) == NULL) {
    if (cf) count(&cf->misses);
    return SQLITE_DONE;
  }
  reader_fresh(cf, r);
  st = r->get_rec;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)key->fdev);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)key->fino);
  bind_blob(st, 3, key->name, key->namelen);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    emd_rec *copy = NULL;
    copied = copy_rec(st, 7, &copy);
    if (copied == CF_COPY_OK) {
      id->dev = (uint64_t)sqlite3_column_int64(st, 0);
      id->ino = (uint64_t)sqlite3_column_int64(st, 1);
      id->size = sqlite3_column_int64(st, 2);
      id->mtime_ns = sqlite3_column_int64(st, 3);
      id->ctime_ns = sqlite3_column_int64(st, 4);
      *content_hash = (uint64_t)sqlite3_column_int64(st, 5);
      *racy = sqlite3_column_int(st, 6) != 0;
      *rec = copy;
      ans = SQLITE_ROW;
    }
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  checkin(cf, r, rc);
  count(ans == SQLITE_ROW ? &cf->hits : &cf->misses);
  /* A row that fails the check is removed (a put would replace it, but a
  ** file that is never parsed again would keep it). */
  if (copied == CF_COPY_BAD) emd_cachefile_forget(cf, key);
  return ans;
}

int emd_cachefile_each(emd_cachefile *cf, int64_t *after, int max,
                       emd_cachefile_fn *fn, void *ctx) {
  cf_reader *r;
  sqlite3_stmt *st;
  int rc, stop = 0, rows = 0;
  if (!cf || (r = checkout(cf)) == NULL) return SQLITE_DONE;
  reader_fresh(cf, r);
  rc = r->each ? SQLITE_OK
               : sqlite3_prepare_v3(r->db, kEach, -1, SQLITE_PREPARE_PERSISTENT,
                                    &r->each, NULL);
  if (rc != SQLITE_OK) {
    checkin(cf, r, rc);
    return rc;
  }
  st = r->each;
  sqlite3_bind_int64(st, 1, *after);
  sqlite3_bind_int(st, 2, max);
  while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    emd_fkey key;
    emd_ident id;
    const void *rec = sqlite3_column_blob(st, 9);
    int n = sqlite3_column_bytes(st, 9);
    rows++;
    *after = sqlite3_column_int64(st, 0);
    key.fdev = (uint64_t)sqlite3_column_int64(st, 1);
    key.fino = (uint64_t)sqlite3_column_int64(st, 2);
    key.name = sqlite3_column_blob(st, 3);
    key.namelen = (uint32_t)sqlite3_column_bytes(st, 3);
    key.hash = 0;
    id.dev = (uint64_t)sqlite3_column_int64(st, 4);
    id.ino = (uint64_t)sqlite3_column_int64(st, 5);
    id.size = sqlite3_column_int64(st, 6);
    id.mtime_ns = sqlite3_column_int64(st, 7);
    id.ctime_ns = sqlite3_column_int64(st, 8);
    if (!rec || !key.name || n < (int)sizeof(emd_rec) ||
        (size_t)n > CF_MAX_BLOB)
      continue; /* not a record: a get of that file removes it */
    stop = fn(ctx, &key, &id, rec, (size_t)n);
    if (!stop) count(&cf->warmed);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  checkin(cf, r, rc);
  if (stop) return SQLITE_DONE;
  if (rc != SQLITE_DONE) return rc;
  return rows == max ? SQLITE_ROW : SQLITE_DONE;
}

void emd_cachefile_put(emd_cachefile *cf, const emd_fkey *key,
                       const emd_ident *id, uint64_t content_hash, int racy,
                       const emd_rec *rec) {
  cf_op *op;
  size_t n;
  if (!cf || !key || !id || !rec) return;
  n = rec->size;
  if (n < sizeof(emd_rec) || n > CF_MAX_BLOB || get_state(cf) == CF_DEAD ||
      (op = op_new(OP_PUT, key->namelen, n)) == NULL) {
    count(&cf->dropped);
    return;
  }
  op->k1 = key->fdev;
  op->k2 = key->fino;
  op->id = *id;
  op->hash = content_hash;
  op->racy = racy != 0;
  if (key->namelen) memcpy(op->data, key->name, key->namelen);
  memcpy(op->data + key->namelen, rec, n);
  enqueue(cf, op);
}

void emd_cachefile_forget(emd_cachefile *cf, const emd_fkey *key) {
  cf_op *op;
  if (!cf || !key || get_state(cf) == CF_DEAD) return;
  op = op_new(OP_FORGET, key->namelen, 0);
  if (!op) {
    count(&cf->dropped);
    return;
  }
  op->k1 = key->fdev;
  op->k2 = key->fino;
  if (key->namelen) memcpy(op->data, key->name, key->namelen);
  enqueue(cf, op);
}

int emd_cachefile_get_folder(emd_cachefile *cf, uint64_t dev, uint64_t ino,
                             int64_t mtime_ns, int64_t ctime_ns, char **listing,
                             size_t *len, size_t *count_out) {
  cf_reader *r;
  sqlite3_stmt *st;
  int rc, ans = SQLITE_DONE;
  *listing = NULL;
  if (!cf || (r = checkout(cf)) == NULL) return SQLITE_DONE;
  reader_fresh(cf, r);
  st = r->get_dir;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)dev);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)ino);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == mtime_ns &&
      sqlite3_column_int64(st, 1) == ctime_ns &&
      sqlite3_column_int64(st, 2) >= 0 &&
      sqlite3_column_type(st, 3) == SQLITE_BLOB) {
    const void *p = sqlite3_column_blob(st, 3);
    int n = sqlite3_column_bytes(st, 3);
    char *copy = (size_t)n <= CF_MAX_BLOB ? malloc(n ? (size_t)n : 1) : NULL;
    if (copy) {
      if (n) memcpy(copy, p, (size_t)n);
      *listing = copy;
      *len = (size_t)n;
      *count_out = (size_t)sqlite3_column_int64(st, 2);
      ans = SQLITE_ROW;
    }
  }
  sqlite3_reset(st);
  checkin(cf, r, rc);
  return ans;
}

void emd_cachefile_put_folder(emd_cachefile *cf, uint64_t dev, uint64_t ino,
                              int64_t mtime_ns, int64_t ctime_ns,
                              const char *listing, size_t len,
                              size_t count_in) {
  cf_op *op;
  if (!cf || (!listing && len)) return;
  if (len > CF_MAX_BLOB || get_state(cf) == CF_DEAD ||
      (op = op_new(OP_DIR, 0, len)) == NULL) {
    count(&cf->dropped);
    return;
  }
  op->k1 = dev;
  op->k2 = ino;
  op->id.mtime_ns = mtime_ns;
  op->id.ctime_ns = ctime_ns;
  op->count = count_in;
  if (len) memcpy(op->data, listing, len);
  enqueue(cf, op);
}

/* End the snapshots idle readers hold, so that no snapshot outlives the
** statement that took it (a snapshot keeps checkpoints from passing it and
** the -wal file grows). */
static void end_idle_snapshots(emd_cachefile *cf) {
  cf_reader *held[CF_MAX_READERS];
  int n, i;
  pthread_mutex_lock(&cf->mu);
  n = cf->nidle;
  memcpy(held, cf->idle, (size_t)n * sizeof(held[0]));
  cf->nidle = 0;
  cf->nbusy += n;
  pthread_mutex_unlock(&cf->mu);
  for (i = 0; i < n; i++) {
    reader_end(held[i]);
    checkin(cf, held[i], SQLITE_OK);
  }
}

void emd_cachefile_flush(emd_cachefile *cf) {
  if (!cf) return;
  end_idle_snapshots(cf);
  if (__atomic_load_n(&cf->qbytes, __ATOMIC_RELAXED) == 0 &&
      get_state(cf) == CF_OK && !__atomic_load_n(&cf->rfail, __ATOMIC_RELAXED))
    return; /* nothing to write, nothing to mend: no lstat() either */
  if (pthread_mutex_trylock(&cf->wmu) != 0) return; /* a flush is under way */
  flush_locked(cf);
  pthread_mutex_unlock(&cf->wmu);
}

size_t emd_cachefile_queued(emd_cachefile *cf) {
  return cf ? __atomic_load_n(&cf->qbytes, __ATOMIC_RELAXED) : 0;
}

void emd_cachefile_get_stats(emd_cachefile *cf, emd_cachefile_stats *out) {
  out->hits = __atomic_load_n(&cf->hits, __ATOMIC_RELAXED);
  out->misses = __atomic_load_n(&cf->misses, __ATOMIC_RELAXED);
  out->written = __atomic_load_n(&cf->written, __ATOMIC_RELAXED);
  out->dropped = __atomic_load_n(&cf->dropped, __ATOMIC_RELAXED);
  out->rebuilt = __atomic_load_n(&cf->rebuilt, __ATOMIC_RELAXED);
  out->warmed = __atomic_load_n(&cf->warmed, __ATOMIC_RELAXED);
}
