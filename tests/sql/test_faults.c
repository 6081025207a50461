/* SPDX-License-Identifier: MIT */
/*
** test_faults.c - system call failures, injected.
**
** This program is linked with -Wl,--wrap for openat, open, fstatat, fstat,
** stat, read and getdents64: each wrapper consults a fault plan before
** calling the real function, so a test can make one folder or file fail in
** one way (EACCES, ENOENT, EIO, EINTR, EMFILE, short reads, a file deleted
** or grown between the walk and the read).  The affected file or folder must
** get its row with a problem, every other row must be there, and a failing
** root must be an error naming it.  Permission tests run for real, as an
** unprivileged user (root ignores permissions).
*/
#include <grp.h>
#include <sys/wait.h>

#include "testutil.h"

/* ------------------------------------------------------------------------
** The fault plan.
*/
enum { F_NONE, F_FAIL, F_EINTR_ONCE, F_SHORT, F_UNLINK, F_GROW, F_SHRINK };

static struct {
  const char *fn;   /* "openat", "fstat", "read", ... */
  const char *name; /* the path (or its last part) to hit */
  int mode;         /* F_* */
  int err;          /* errno for F_FAIL */
  int hits;         /* times it fired */
  char dir[4096];   /* the archive, for F_UNLINK/F_GROW paths */
} plan;

/* fd -> name of what was opened, for read/fstat/getdents64 faults. */
static char fdname[1024][4096];
static int intr_done;

static void plan_set(const char *fn, const char *name, int mode, int err) {
  plan.fn = fn;
  plan.name = name;
  plan.mode = mode;
  plan.err = err;
  plan.hits = 0;
  intr_done = 0;
}

/* Names are matched exactly: what eventmd passes is one path component
** (or the root as given). */
static int hit(const char *fn, const char *name) {
  return plan.fn && name && !strcmp(plan.fn, fn) && !strcmp(name, plan.name);
}

static void remember(int fd, const char *name) {
  if (fd >= 0 && fd < 1024)
    snprintf(fdname[fd], sizeof(fdname[fd]), "%.4000s", name);
}
static const char *name_of(int fd) {
  return fd >= 0 && fd < 1024 ? fdname[fd] : "";
}

int __real_openat(int dirfd, const char *path, int flags, ...);
int __real_open(const char *path, int flags, ...);
int __real_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int __real_fstat(int fd, struct stat *st);
int __real_stat(const char *path, struct stat *st);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_getdents64(int fd, void *buf, size_t n);

static void full_path(char *out, size_t n, const char *rel) {
  if ((size_t)snprintf(out, n, "%.3000s/%.200s", plan.dir, rel) >= n)
    out[0] = 0;
}

int __wrap_openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  mode_t mode;
  int fd;
  va_start(ap, flags);
  mode = (mode_t)va_arg(ap, int);
  va_end(ap);
  if (hit("openat", path)) {
    plan.hits++;
    if (plan.mode == F_FAIL) {
      errno = plan.err;
      return -1;
    }
    if (plan.mode == F_UNLINK) {
      char p[4096];
      full_path(p, sizeof(p), plan.name);
      unlink(p); /* gone between the walk and the read */
    }
  }
  fd = __real_openat(dirfd, path, flags, mode);
  remember(fd, path);
  return fd;
}

int __wrap_open(const char *path, int flags, ...) {
  va_list ap;
  mode_t mode;
  int fd;
  va_start(ap, flags);
  mode = (mode_t)va_arg(ap, int);
  va_end(ap);
  if (hit("open", path) && plan.mode == F_FAIL) {
    plan.hits++;
    errno = plan.err;
    return -1;
  }
  fd = __real_open(path, flags, mode);
  remember(fd, path);
  return fd;
}

int __wrap_fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  if (hit("fstatat", path) && plan.mode == F_FAIL) {
    plan.hits++;
    errno = plan.err;
    return -1;
  }
  return __real_fstatat(dirfd, path, st, flags);
}

int __wrap_fstat(int fd, struct stat *st) {
  if (hit("fstat", name_of(fd)) && plan.mode == F_FAIL) {
    plan.hits++;
    errno = plan.err;
    return -1;
  }
  return __real_fstat(fd, st);
}

int __wrap_stat(const char *path, struct stat *st) {
  if (hit("stat", path) && plan.mode == F_FAIL) {
    plan.hits++;
    errno = plan.err;
    return -1;
  }
  return __real_stat(path, st);
}

ssize_t __wrap_read(int fd, void *buf, size_t n) {
  if (hit("read", name_of(fd))) {
    char p[4096];
    int w;
    plan.hits++;
    switch (plan.mode) {
      case F_FAIL: errno = plan.err; return -1;
      case F_EINTR_ONCE:
        if (!intr_done) {
          intr_done = 1;
          errno = EINTR;
          return -1;
        }
        break;
      case F_SHORT:
        if (n > 7) n = 7;
        break;
      case F_GROW:
      case F_SHRINK:
        if (plan.hits == 1) {
          /* The file changes after fstat, before its bytes are read. */
          full_path(p, sizeof(p), plan.name);
          w = __real_open(
              p, O_WRONLY | (plan.mode == F_GROW ? O_APPEND : O_TRUNC));
          if (w >= 0) {
            const char *more =
                plan.mode == F_GROW ? "\nGrown paragraph.\n" : "# Shrunk\n";
            if (write(w, more, strlen(more)) < 0) fail_msg("write");
            close(w);
          }
        }
        break;
      default: break;
    }
  }
  return __real_read(fd, buf, n);
}

ssize_t __wrap_getdents64(int fd, void *buf, size_t n) {
  if (hit("getdents64", name_of(fd)) && plan.mode == F_FAIL) {
    plan.hits++;
    errno = plan.err;
    return -1;
  }
  return __real_getdents64(fd, buf, n);
}

/* ------------------------------------------------------------------------
** The archive under test.
*/
static const char *EV =
    "### [2015-01-02](/news/2015/1/2/index.md)\n\n# Title %s\n\nSummary %s\n\n"
    "### Source:\n\n1. [S](http://s.com/%s)\n";

static char *archive(void) {
  char *d = tu_tmpdir_shared(), buf[512];
  const char *names[] = {"a", "b", "c", "victim"};
  int i;
  for (i = 0; i < 4; i++) {
    char rel[64];
    snprintf(buf, sizeof(buf), EV, names[i], names[i], names[i]);
    snprintf(rel, sizeof(rel), "news/2015/1/2/%s.md", names[i]);
    tu_writes(d, rel, buf);
  }
  tu_writes(d, "news/2015/1/3/d.md", "### 2015-01-03\n# Title d\n");
  tu_writes(d, "news/2015/1/4/e.md", "### 2015-01-04\n# Title e\n");
  snprintf(plan.dir, sizeof(plan.dir), "%s", d);
  return d;
}

/* Rows as "path|problem" lines, all of them. */
static char *rows(sqlite3 *db, const char *d) {
  return tu_query(
      db, "SELECT path, problem FROM eventmd_events('%q') ORDER BY path", d);
}

static const char *ALL_CLEAN =
    "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
    "/news/2015/1/2/victim.md|~\n/news/2015/1/3/d.md|~\n/news/2015/1/4/"
    "e.md|~\n";

/* Run the scan with one fault planned; compare all rows with want. */
static void expect_rows(const char *fn, const char *name, int mode, int err,
                        const char *want) {
  char *d = archive();
  sqlite3 *db = tu_open();
  char *got;
  int hits;
  tu_exec(db, "SELECT eventmd_config('threads', 1)");
  plan_set(fn, name, mode, err);
  got = rows(db, d);
  hits = plan.hits;
  plan_set(NULL, NULL, F_NONE, 0);
  if (strcmp(got, want) != 0)
    fail_msg("fault %s(%s) mode %d errno %d:\nwant:\n%s\ngot:\n%s", fn, name,
             mode, err, want, got);
  if (hits == 0) fail_msg("fault %s(%s) never fired", fn, name);
  free(got);
  sqlite3_close(db);
  tu_rmrf(d);
  free(d);
}

static void test_folder_faults(void **state) {
  (void)state;
  expect_rows("openat", "2", F_FAIL, EACCES,
              "/news/2015/1/2/|unreadable folder: Permission denied\n"
              "/news/2015/1/3/d.md|~\n/news/2015/1/4/e.md|~\n");
  expect_rows(
      "openat", "3", F_FAIL, EMFILE,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|~\n"
      "/news/2015/1/3/|unreadable folder: Too many open files\n"
      "/news/2015/1/4/e.md|~\n");
  expect_rows(
      "openat", "4", F_FAIL, EIO,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|~\n/news/2015/1/3/d.md|~\n"
      "/news/2015/1/4/|unreadable folder: Input/output error\n");
  expect_rows(
      "getdents64", "3", F_FAIL, EIO,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|~\n"
      "/news/2015/1/3/|unreadable folder: Input/output error\n"
      "/news/2015/1/4/e.md|~\n");
}

static void test_file_faults(void **state) {
  (void)state;
  expect_rows(
      "openat", "victim.md", F_FAIL, EACCES,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|unreadable: Permission denied\n"
      "/news/2015/1/3/d.md|~\n/news/2015/1/4/e.md|~\n");
  expect_rows(
      "fstat", "victim.md", F_FAIL, EIO,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|unreadable: Input/output error\n"
      "/news/2015/1/3/d.md|~\n/news/2015/1/4/e.md|~\n");
  expect_rows(
      "read", "victim.md", F_FAIL, EIO,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|unreadable: Input/output error\n"
      "/news/2015/1/3/d.md|~\n/news/2015/1/4/e.md|~\n");
  /* Transient: EINTR is retried, short reads are read to the end. */
  expect_rows("read", "victim.md", F_EINTR_ONCE, 0, ALL_CLEAN);
  expect_rows("read", "victim.md", F_SHORT, 0, ALL_CLEAN);
}

/* A failing stat() of a cached file (a warm scan stats before reading). */
static void test_stat_fault_warm(void **state) {
  char *d = archive(), *got;
  sqlite3 *db = tu_open();
  (void)state;
  tu_exec(db, "SELECT eventmd_config('threads', 1)");
  free(rows(db, d)); /* cache everything */
  plan_set("fstatat", "victim.md", F_FAIL, EIO);
  got = rows(db, d);
  assert_true(plan.hits > 0);
  plan_set(NULL, NULL, F_NONE, 0);
  assert_string_equal(
      got,
      "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
      "/news/2015/1/2/victim.md|unreadable: Input/output error\n"
      "/news/2015/1/3/d.md|~\n/news/2015/1/4/e.md|~\n");
  free(got);
  sqlite3_close(db);
  tu_rmrf(d);
  free(d);
}

/* Deleted between the walk and the read: skipped, no error. */
static void test_deleted_between_walk_and_read(void **state) {
  (void)state;
  plan.dir[0] = 0;
  {
    char *d = archive(), *got;
    sqlite3 *db = tu_open();
    tu_exec(db, "SELECT eventmd_config('threads', 1)");
    plan_set("openat", "victim.md", F_UNLINK, 0);
    /* full_path() needs the relative path: keep it in dir. */
    snprintf(plan.dir, sizeof(plan.dir), "%s/news/2015/1/2", d);
    got = tu_query(
        db,
        "SELECT path, title, problem FROM eventmd_events('%q') ORDER BY path",
        d);
    assert_int_equal(plan.hits, 1);
    plan_set(NULL, NULL, F_NONE, 0);
    assert_string_equal(
        got,
        "/news/2015/1/2/a.md|Title a|~\n/news/2015/1/2/b.md|Title b|~\n"
        "/news/2015/1/2/c.md|Title c|~\n/news/2015/1/3/d.md|Title d|~\n"
        "/news/2015/1/4/e.md|Title e|~\n");
    free(got);
    sqlite3_close(db);
    tu_rmrf(d);
    free(d);
  }
}

/* A file that grows or shrinks while it is read: the bytes shown are one
** whole version, and size is what was read. */
static void test_changes_while_read(void **state) {
  int mode;
  (void)state;
  for (mode = F_GROW; mode <= F_SHRINK; mode++) {
    char *d = archive(), *got, *want;
    sqlite3 *db = tu_open();
    char p[4096];
    struct stat st;
    tu_exec(db, "SELECT eventmd_config('threads', 1)");
    snprintf(plan.dir, sizeof(plan.dir), "%s/news/2015/1/2", d);
    plan_set("read", "victim.md", mode, 0);
    got = tu_query(db,
                   "SELECT title, summary, size FROM eventmd_events('%q') "
                   "WHERE path = '/news/2015/1/2/victim.md'",
                   d);
    assert_true(plan.hits >= 2); /* read again after the change */
    plan_set(NULL, NULL, F_NONE, 0);
    snprintf(p, sizeof(p), "%s/news/2015/1/2/victim.md", d);
    assert_int_equal(stat(p, &st), 0);
    want = sqlite3_mprintf(mode == F_GROW ? "Title victim|Summary victim|%lld\n"
                                          : "Shrunk|~|%lld\n",
                           (long long)st.st_size);
    /* Grown: the new paragraph lies after the Source list, so it is not
    ** summary; the size is the new one.  Shrunk: the new text entirely. */
    assert_string_equal(got, want);
    sqlite3_free(want);
    free(got);
    sqlite3_close(db);
    tu_rmrf(d);
    free(d);
  }
}

/* The planned fault hits the root once, and the scan is an error naming the
** root and the reason. */
static void expect_root_error(sqlite3 *db, const char *d, const char *reason) {
  char *got = tu_query(db, "SELECT count(*) FROM eventmd_events('%q')", d);
  char *want = sqlite3_mprintf(
      "ERROR: eventmd: root '%s' is not a readable directory (%s)", d, reason);
  assert_int_equal(plan.hits, 1);
  assert_string_equal(got, want);
  free(got);
  sqlite3_free(want);
}

/* A failing root is an error that names it. */
static void test_root_faults(void **state) {
  char *d = archive();
  sqlite3 *db = tu_open();
  (void)state;
  plan_set("open", d, F_FAIL, EACCES);
  expect_root_error(db, d, "Permission denied");
  /* The root listing fails (the walk reopens the root as "."). */
  plan_set("getdents64", ".", F_FAIL, EIO);
  expect_root_error(db, d, "Input/output error");
  plan_set(NULL, NULL, F_NONE, 0);
  tu_expect(db, "6\n", "SELECT count(*) FROM eventmd_events('%q')", d);
  sqlite3_close(db);
  tu_rmrf(d);
  free(d);
}

/* Real permissions, as an unprivileged user (root would read anything). */
static void test_permissions_unprivileged(void **state) {
  char *d = archive(), path[4096];
  pid_t pid;
  int status;
  (void)state;
  chmod(d, 0755);
  snprintf(path, sizeof(path), "%s/news/2015/1/3", d);
  assert_int_equal(chmod(path, 0), 0);
  snprintf(path, sizeof(path), "%s/news/2015/1/2/victim.md", d);
  assert_int_equal(chmod(path, 0), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    sqlite3 *db;
    char *got;
    const char *want =
        "/news/2015/1/2/a.md|~\n/news/2015/1/2/b.md|~\n/news/2015/1/2/c.md|~\n"
        "/news/2015/1/2/victim.md|unreadable: Permission denied\n"
        "/news/2015/1/3/|unreadable folder: Permission denied\n"
        "/news/2015/1/4/e.md|~\n";
    if (geteuid() == 0 &&
        (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
      _exit(3);
    if (geteuid() == 0) _exit(4);
    db = tu_open();
    got = rows(db, d);
    sqlite3_close(db);
    if (strcmp(got, want) != 0) {
      fprintf(stderr, "as uid %d:\nwant:\n%s\ngot:\n%s\n", (int)geteuid(), want,
              got);
      free(got);
      free(d);
      _exit(1);
    }
    free(got);
    free(d); /* the child's copy: valgrind checks the child too */
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  tu_rmrf(d);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_folder_faults),
      cmocka_unit_test(test_file_faults),
      cmocka_unit_test(test_stat_fault_warm),
      cmocka_unit_test(test_deleted_between_walk_and_read),
      cmocka_unit_test(test_changes_while_read),
      cmocka_unit_test(test_root_faults),
      cmocka_unit_test(test_permissions_unprivileged),
  };
  return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
