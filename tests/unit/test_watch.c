/* SPDX-License-Identifier: MIT */
/*
** test_watch.c - the contract of watch.h with real files: a folder is
** vouched for while nothing in it changed, every kind of change is seen by
** the first drain after it (and never before one), a moment is never vouched
** for unless the watch was in place then, overflows, removed and moved
** folders, switching off, file systems refused, threads, fork, and the
** watch limit.
**
** Build (no SQLite: watch.c stands alone):
**   gcc -O1 -g -Wall -Wextra -Iinclude -Iext -D_GNU_SOURCE
**       -o /tmp/test_watch tests/unit/test_watch.c ext/watch.c -lcmocka -lpthread
** and the same with -fsanitize=address,undefined or -fsanitize=thread.
**
** The inotify instance is per process and is never closed, so the tests run
** in the order listed in main(): the first one needs a process that has not
** watched anything yet.  Folders live under one mkdtemp() folder in /tmp
** (removed at the end) and, for tmpfs, /dev/shm.
*/
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "watch.h"

static char g_base[] = "/tmp/test_watch.XXXXXX"; /* every folder is here */
static int g_seq;                                /* names new folders */

/* ------------------------------------------------------------------------
** Helpers.
*/

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A new empty folder under parent (g_base when NULL); the caller frees. */
static char *new_folder(const char *parent) {
  char *p = malloc(4096);
  assert_non_null(p);
  snprintf(p, 4096, "%s/d%d", parent ? parent : g_base, ++g_seq);
  assert_int_equal(mkdir(p, 0755), 0);
  return p;
}

/* path/name, in a static buffer (one of four, so two can be in use). */
static const char *at(const char *path, const char *name) {
  static char buf[4][4096];
  static int i;
  size_t pl = strlen(path), nl = strlen(name);
  i = (i + 1) % 4;
  assert_true(pl + 1 + nl < sizeof(buf[i]));
  memcpy(buf[i], path, pl);
  buf[i][pl] = '/';
  memcpy(buf[i] + pl + 1, name, nl + 1);
  return buf[i];
}

static void put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(close(fd), 0);
}

/* The watch of folder path (NULL when refused), as the walk asks for it. */
static emd_wdir *watch(const char *path) {
  struct stat st;
  emd_wdir *w;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  w = emd_watch_dir(fd, st.st_dev, st.st_ino);
  close(fd);
  return w;
}

static void identity(const char *path, dev_t *dev, ino_t *ino) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  *dev = st.st_dev;
  *ino = st.st_ino;
}

static emd_watch_stats stats(void) {
  emd_watch_stats s;
  emd_watch_get_stats(&s);
  return s;
}

/* A moment after a drain: the state a statement starts from. */
static uint64_t settled_moment(void) {
  emd_watch_drain();
  return emd_watch_now();
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *f) {
  (void)st;
  (void)f;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_tree(const char *p) {
  nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* In a forked child: exit with code unless cond holds (no cmocka there). */
#define CHILD_CHECK(cond, code) \
  do {                          \
    if (!(cond)) _exit(code);   \
  } while (0)

/* Run fn in a forked child and assert it exited 0 (its code otherwise). */
static void in_child(int (*fn)(void *), void *arg) {
  int status = 0;
  pid_t pid;
  fflush(stdout);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(fn(arg));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------------
** No instance yet.  Must run first.
*/

static void test_drain_without_instance_is_cheap(void **state) {
  const int n = 1000000;
  uint64_t before = emd_watch_now();
  double t0, t1;
  int i;
  (void)state;
  assert_int_equal(stats().watches, 0);
  t0 = now_s();
  for (i = 0; i < n; i++) emd_watch_drain();
  t1 = now_s();
  printf("  drain with no inotify instance: %.1f ns/call (%d calls)\n",
         (t1 - t0) * 1e9 / n, n);
  /* Nothing happened: no instance, so the clock did not move either. */
  assert_int_equal(emd_watch_now(), before);
  assert_int_equal(stats().events, 0);
}

/* ------------------------------------------------------------------------
** Which file systems are trusted.
*/

static void test_fs_decision(void **state) {
  static const long trusted[] = {0xEF53,          0x58465342, 0x9123683E,
                                 0x01021994,      0xF2F52010, 0x2FC12FC1,
                                 (long)0xCA451A4E};
  static const long refused[] = {
      0x6969,     /* nfs */
      0x65735546, /* fuse */
      0x794C7630, /* overlayfs */
      0xFF534D42, /* cifs */
      0xFE534D42, /* smb2 */
      0x01021997, /* 9p */
      0x9FA0,     /* proc */
      0x62656572, /* sysfs */
      0x858458F6, /* ramfs: not in the list */
      0x73717368, /* squashfs */
      0,
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(trusted) / sizeof(*trusted); i++)
    assert_int_equal(emd_watch_fs_trusted(trusted[i]), 1);
  for (i = 0; i < sizeof(refused) / sizeof(*refused); i++)
    assert_int_equal(emd_watch_fs_trusted(refused[i]), 0);
  /* statfs's f_type is a signed long: btrfs's magic sign-extended on a
  ** 32-bit system must still be trusted. */
  assert_int_equal(emd_watch_fs_trusted((long)(int32_t)0x9123683E), 1);
}

/* A real folder on a file system that must be refused: /proc. */
static void test_proc_is_refused(void **state) {
  struct statfs sf;
  emd_watch_stats s0, s1, s2;
  double t0, t1;
  int i;
  (void)state;
  if (statfs("/proc", &sf) != 0 || (uint32_t)sf.f_type != 0x9FA0u) {
    skip(); /* no procfs here */
  }
  s0 = stats();
  assert_null(watch("/proc"));
  s1 = stats();
  assert_int_equal(s1.refused, s0.refused + 1);
  assert_int_equal(s1.watches, s0.watches);
  /* The refusal is remembered: asking again is cheap and not recounted. */
  t0 = now_s();
  for (i = 0; i < 1000; i++) assert_null(watch("/proc"));
  t1 = now_s();
  s2 = stats();
  assert_int_equal(s2.refused, s1.refused);
  printf("  refused folder asked again (open+fstat+ask+close): %.0f ns\n",
         (t1 - t0) * 1e9 / 1000);
  if (statfs("/sys", &sf) == 0 && !emd_watch_fs_trusted((long)sf.f_type)) {
    assert_null(watch("/sys"));
    assert_int_equal(stats().refused, s2.refused + 1);
  }
}

/* ------------------------------------------------------------------------
** A quiet folder, and finding its watch.
*/

static void test_quiet_folder_is_unchanged(void **state) {
  char *a = new_folder(NULL), link_path[4096];
  emd_watch_stats s0 = stats(), s1;
  emd_wdir *w, *w2;
  dev_t dev;
  ino_t ino;
  uint64_t m;
  int fd;
  (void)state;
  put(at(a, "x.md"), "x\n");
  identity(a, &dev, &ino);
  assert_null(emd_watch_find(dev, ino));         /* not watched yet */
  assert_int_equal(stats().watches, s0.watches); /* find adds nothing */
  w = watch(a);
  assert_non_null(w);
  s1 = stats();
  assert_int_equal(s1.watches, s0.watches + 1);
  assert_ptr_equal(emd_watch_find(dev, ino), w);
  m = settled_moment();
  assert_true(emd_watch_unchanged(w, m));
  emd_watch_drain();
  emd_watch_drain();
  assert_true(emd_watch_unchanged(w, m));
  /* Reading the folder and its file is not a change. */
  fd = open(at(a, "x.md"), O_RDONLY);
  assert_true(fd >= 0);
  {
    char b[8];
    assert_int_equal(read(fd, b, sizeof(b)), 2);
  }
  close(fd);
  emd_watch_drain();
  assert_true(emd_watch_unchanged(w, m));
  /* NULL never vouches. */
  assert_false(emd_watch_unchanged(NULL, m));
  /* The same folder reached another way (a symlink): the same record, no
  ** new watch. */
  snprintf(link_path, sizeof(link_path), "%s-link", a);
  assert_int_equal(symlink(a, link_path), 0);
  w2 = watch(link_path);
  assert_ptr_equal(w2, w);
  assert_int_equal(stats().watches, s1.watches);
  assert_true(emd_watch_unchanged(w, m));
  unlink(link_path);
  /* An fd that is not the folder named by dev/ino: refused, not kept. */
  fd = open(a, O_RDONLY | O_DIRECTORY);
  assert_true(fd >= 0);
  assert_null(emd_watch_dir(fd, dev, ino + 1000000));
  assert_null(emd_watch_find(dev, ino + 1000000));
  close(fd);
  assert_null(emd_watch_dir(-1, dev, ino));
  free(a);
}

/* ------------------------------------------------------------------------
** Every kind of change.
*/

typedef struct change_ctx {
  const char *a; /* the folder watched */
  const char *b; /* another watched folder */
  int fd;        /* a file kept open across the change, or -1 */
} change_ctx;

typedef struct change_kind {
  const char *name;               /* for the message */
  void (*prepare)(change_ctx *c); /* before the moment (or NULL) */
  void (*change)(change_ctx *c);  /* after the moment */
  void (*finish)(change_ctx *c);  /* after it was seen (or NULL) */
  int b_changes;                  /* 1: b changes too */
} change_kind;

static void open_x_wronly(change_ctx *c) {
  c->fd = open(at(c->a, "x.md"), O_WRONLY);
  assert_true(c->fd >= 0);
}
static void write_and_return(change_ctx *c) {
  assert_int_equal(pwrite(c->fd, "y", 1, 0), 1); /* no close */
}
static void append_write(change_ctx *c) {
  assert_int_equal(write(c->fd, "more\n", 5), 5);
}
static void open_x_append(change_ctx *c) {
  c->fd = open(at(c->a, "x.md"), O_WRONLY | O_APPEND);
  assert_true(c->fd >= 0);
}
static void close_fd(change_ctx *c) {
  close(c->fd);
  c->fd = -1;
}
static void truncate_x(change_ctx *c) {
  assert_int_equal(truncate(at(c->a, "x.md"), 1), 0);
}
static void ftruncate_x(change_ctx *c) {
  assert_int_equal(ftruncate(c->fd, 0), 0);
}
static void create_y(change_ctx *c) {
  int fd = open(at(c->a, "y.md"), O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  close(fd);
}
static void create_y_keep_open(change_ctx *c) {
  c->fd = open(at(c->a, "y.md"), O_RDONLY | O_CREAT | O_EXCL, 0644);
  assert_true(c->fd >= 0);
}
static void unlink_x(change_ctx *c) {
  assert_int_equal(unlink(at(c->a, "x.md")), 0);
}
static void rename_within(change_ctx *c) {
  assert_int_equal(rename(at(c->a, "x.md"), at(c->a, "z.md")), 0);
}
static void make_tmp(change_ctx *c) {
  put(at(c->a, ".x.md.tmp"), "new content\n");
}
static void rename_over(change_ctx *c) { /* an editor's atomic save */
  assert_int_equal(rename(at(c->a, ".x.md.tmp"), at(c->a, "x.md")), 0);
}
static void rename_in(change_ctx *c) {
  assert_int_equal(rename(at(c->b, "b.md"), at(c->a, "b.md")), 0);
}
static void rename_out(change_ctx *c) {
  assert_int_equal(rename(at(c->a, "x.md"), at(c->b, "x.md")), 0);
}
static void chmod_x(change_ctx *c) {
  assert_int_equal(chmod(at(c->a, "x.md"), 0600), 0);
}
static void chmod_folder(change_ctx *c) {
  assert_int_equal(chmod(c->a, 0700), 0);
}
static void touch_x(change_ctx *c) {
  assert_int_equal(utimensat(AT_FDCWD, at(c->a, "x.md"), NULL, 0), 0);
}
static void set_times_x(change_ctx *c) {
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, at(c->a, "x.md"), ts, 0), 0);
}
static void mkdir_sub(change_ctx *c) {
  assert_int_equal(mkdir(at(c->a, "sub"), 0755), 0);
}
static void make_sub(change_ctx *c) {
  assert_int_equal(mkdir(at(c->a, "sub"), 0755), 0);
}
static void rmdir_sub(change_ctx *c) {
  assert_int_equal(rmdir(at(c->a, "sub")), 0);
}
static void hard_link(change_ctx *c) {
  assert_int_equal(link(at(c->a, "x.md"), at(c->a, "x2.md")), 0);
}
static void sym_link(change_ctx *c) {
  assert_int_equal(symlink("x.md", at(c->a, "s.md")), 0);
}
/* x.md gets a second name x2.md, is opened as x.md, and x.md is unlinked:
** a write through that fd changes x2.md's content (IN_EXCL_UNLINK would
** hide it). */
static void open_then_unlink_linked(change_ctx *c) {
  assert_int_equal(link(at(c->a, "x.md"), at(c->a, "x2.md")), 0);
  open_x_wronly(c);
  assert_int_equal(unlink(at(c->a, "x.md")), 0);
}
static void open_before_watch_write(change_ctx *c) {
  assert_int_equal(write(c->fd, "z", 1), 1);
}

static const change_kind kinds[] = {
    {"write through an O_WRONLY fd (not closed)", open_x_wronly,
     write_and_return, close_fd, 0},
    {"append through an O_APPEND fd (not closed)", open_x_append, append_write,
     close_fd, 0},
    {"close of a file opened for writing, no write", open_x_wronly, close_fd,
     NULL, 0},
    {"truncate", NULL, truncate_x, NULL, 0},
    {"ftruncate", open_x_wronly, ftruncate_x, close_fd, 0},
    {"create", NULL, create_y, NULL, 0},
    {"create, kept open read-only", NULL, create_y_keep_open, close_fd, 0},
    {"unlink", NULL, unlink_x, NULL, 0},
    {"rename within the folder", NULL, rename_within, NULL, 0},
    {"rename over an existing file", make_tmp, rename_over, NULL, 0},
    {"rename into it from another watched folder", NULL, rename_in, NULL, 1},
    {"rename out of it into another watched folder", NULL, rename_out, NULL, 1},
    {"chmod of a file", NULL, chmod_x, NULL, 0},
    {"chmod of the folder itself", NULL, chmod_folder, NULL, 0},
    {"utimensat (touch, now)", NULL, touch_x, NULL, 0},
    {"utimensat (set to a past time)", NULL, set_times_x, NULL, 0},
    {"mkdir of a subfolder", NULL, mkdir_sub, NULL, 0},
    {"rmdir of a subfolder", make_sub, rmdir_sub, NULL, 0},
    {"hard link", NULL, hard_link, NULL, 0},
    {"symlink", NULL, sym_link, NULL, 0},
    {"write through an fd whose name was unlinked, file linked as another",
     open_then_unlink_linked, write_and_return, close_fd, 0},
    {"write through an fd opened before the watch", NULL,
     open_before_watch_write, close_fd, 0},
};

static void test_every_change_is_seen_by_the_next_drain(void **state) {
  size_t k;
  (void)state;
  for (k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
    const change_kind *ck = &kinds[k];
    char *a = new_folder(NULL), *b = new_folder(NULL);
    change_ctx c = {a, b, -1};
    emd_wdir *wa, *wb;
    uint64_t m, m2;
    print_message("  change: %s\n", ck->name);
    put(at(a, "x.md"), "x\n");
    put(at(b, "b.md"), "b\n");
    if (ck->change == open_before_watch_write) {
      c.fd = open(at(a, "x.md"), O_WRONLY);
      assert_true(c.fd >= 0);
    }
    wa = watch(a);
    wb = watch(b);
    assert_non_null(wa);
    assert_non_null(wb);
    if (ck->prepare) ck->prepare(&c);
    m = settled_moment();
    assert_true(emd_watch_unchanged(wa, m));
    assert_true(emd_watch_unchanged(wb, m));

    ck->change(&c);
    /* The watch learns only at a drain: nothing is marked yet. */
    assert_true(emd_watch_unchanged(wa, m));
    emd_watch_drain();
    if (emd_watch_unchanged(wa, m))
      fail_msg("'%s' not seen by the drain after it", ck->name);
    assert_int_equal(emd_watch_unchanged(wb, m), !ck->b_changes);
    /* Later drains never make it unchanged again. */
    emd_watch_drain();
    emd_watch_drain();
    assert_false(emd_watch_unchanged(wa, m));
    assert_int_equal(emd_watch_unchanged(wb, m), !ck->b_changes);

    if (ck->finish) ck->finish(&c);
    /* A check after the drain that saw everything is trusted again. */
    m2 = settled_moment();
    assert_true(emd_watch_unchanged(wa, m2));
    assert_true(emd_watch_unchanged(wb, m2));
    emd_watch_drain();
    assert_true(emd_watch_unchanged(wa, m2));
    assert_false(emd_watch_unchanged(wa, m));
    free(a);
    free(b);
  }
}

/* Only the folder a change is in is marked: not its parent, not others. */
static void test_change_marks_only_its_folder(void **state) {
  char *a = new_folder(NULL), *sub, *other = new_folder(NULL);
  emd_wdir *wa, *ws, *wo;
  uint64_t m;
  (void)state;
  sub = new_folder(a);
  put(at(sub, "x.md"), "x\n");
  wa = watch(a);
  ws = watch(sub);
  wo = watch(other);
  assert_true(wa && ws && wo);
  m = settled_moment();
  put(at(sub, "x.md"), "changed\n");
  emd_watch_drain();
  assert_false(emd_watch_unchanged(ws, m));
  assert_true(emd_watch_unchanged(wa, m)); /* inotify is not recursive */
  assert_true(emd_watch_unchanged(wo, m));
  free(sub);
  free(a);
  free(other);
}

/* ------------------------------------------------------------------------
** Moments.
*/

static void test_change_before_moment_drained_after(void **state) {
  char *a = new_folder(NULL);
  emd_wdir *w;
  uint64_t m, m2;
  (void)state;
  put(at(a, "x.md"), "x\n");
  w = watch(a);
  assert_non_null(w);
  emd_watch_drain();
  put(at(a, "x.md"), "changed before the moment\n");
  m = emd_watch_now(); /* no drain between the change and the moment */
  emd_watch_drain();
  /* Conservative: the drain cannot tell it happened before m. */
  assert_false(emd_watch_unchanged(w, m));
  m2 = emd_watch_now(); /* after that drain: trusted again */
  assert_true(emd_watch_unchanged(w, m2));
  emd_watch_drain();
  assert_true(emd_watch_unchanged(w, m2));
  free(a);
}

/* A moment read while a drain has moved the clock on but not closed (the
** value it marks with) is never vouched for by a mark at that value.
** Simulated: the moment equals the mark. */
static void test_mark_at_the_moment_itself_is_a_change(void **state) {
  char *a = new_folder(NULL);
  emd_wdir *w;
  uint64_t m, before, s;
  (void)state;
  w = watch(a);
  assert_non_null(w);
  before = settled_moment();
  put(at(a, "x.md"), "x\n");
  emd_watch_drain(); /* marks at before + 1, closes at before + 2 */
  m = emd_watch_now();
  /* The drain took one value to mark with and one to close with. */
  assert_true(m >= before + 2);
  for (s = before; s < m; s++) assert_false(emd_watch_unchanged(w, s));
  assert_true(emd_watch_unchanged(w, m));
  free(a);
}

static void test_moment_before_watch_is_not_vouched(void **state) {
  char *a = new_folder(NULL);
  emd_wdir *w;
  uint64_t m, m1, m2;
  (void)state;
  put(at(a, "x.md"), "x\n");
  m = settled_moment(); /* the folder is not watched yet */
  w = watch(a);
  assert_non_null(w);
  /* No drain needed: adding the watch moved the clock past m. */
  assert_true(emd_watch_now() > m);
  assert_false(emd_watch_unchanged(w, m));
  /* The moment read right after the watch was added (what the walk does
  ** before listing) is vouched for: the watch was in place then. */
  m1 = emd_watch_now();
  assert_true(emd_watch_unchanged(w, m1));
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, m));
  assert_true(emd_watch_unchanged(w, m1));
  m2 = emd_watch_now();
  assert_true(emd_watch_unchanged(w, m2));
  free(a);
}

/* ------------------------------------------------------------------------
** Overflow.
*/

static void test_simulated_overflow_changes_everything(void **state) {
  char *a = new_folder(NULL), *b = new_folder(NULL);
  emd_wdir *wa = watch(a), *wb = watch(b);
  uint64_t m, m2, s, n0 = stats().overflows;
  (void)state;
  assert_true(wa && wb);
  m = settled_moment();
  assert_true(emd_watch_unchanged(wa, m) && emd_watch_unchanged(wb, m));
  emd_watch_simulate_overflow();
  assert_false(emd_watch_unchanged(wa, m));
  assert_false(emd_watch_unchanged(wb, m));
  assert_int_equal(stats().overflows, n0 + 1);
  m2 = emd_watch_now();
  /* No moment up to the overflow's own value is vouched for. */
  for (s = m; s < m2; s++) assert_false(emd_watch_unchanged(wa, s));
  assert_true(emd_watch_unchanged(wa, m2) && emd_watch_unchanged(wb, m2));
  emd_watch_drain();
  assert_false(emd_watch_unchanged(wa, m));
  free(a);
  free(b);
}

/* A real IN_Q_OVERFLOW: more events than the queue holds, then a drain.  A
** folder that saw no event at all counts as changed too. */
static void test_real_overflow_changes_everything(void **state) {
  char *a = new_folder(NULL), *quiet = new_folder(NULL);
  emd_wdir *wa = watch(a), *wq = watch(quiet);
  long max_events = 16384, i;
  uint64_t m, m2, n0;
  FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
  (void)state;
  if (f) {
    if (fscanf(f, "%ld", &max_events) != 1) max_events = 16384;
    fclose(f);
  }
  if (max_events > 200000) skip(); /* would take too long */
  assert_true(wa && wq);
  m = settled_moment();
  n0 = stats().overflows;
  /* Each create is IN_CREATE + IN_CLOSE_WRITE with its own name (no two
  ** alike, so the kernel merges none). */
  for (i = 0; i < max_events / 2 + 64; i++) {
    char name[32];
    int fd;
    snprintf(name, sizeof(name), "f%ld", i);
    fd = open(at(a, name), O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
  }
  assert_true(emd_watch_unchanged(wq, m));
  emd_watch_drain();
  assert_int_equal(stats().overflows, n0 + 1);
  assert_false(emd_watch_unchanged(wa, m));
  assert_false(emd_watch_unchanged(wq, m)); /* no event of its own */
  m2 = emd_watch_now();
  assert_true(emd_watch_unchanged(wq, m2));
  rm_tree(a);
  emd_watch_drain();
  free(a);
  free(quiet);
}

/* ------------------------------------------------------------------------
** Folders removed or moved.
*/

static void test_removed_folder_is_distrusted_for_good(void **state) {
  char *parent = new_folder(NULL), *a;
  emd_wdir *w, *wp;
  dev_t dev;
  ino_t ino;
  uint64_t m, m2, watches;
  int i;
  (void)state;
  a = new_folder(parent);
  put(at(a, "x.md"), "x\n");
  identity(a, &dev, &ino);
  w = watch(a);
  wp = watch(parent);
  assert_true(w && wp);
  watches = stats().watches;
  m = settled_moment();
  assert_int_equal(unlink(at(a, "x.md")), 0);
  assert_int_equal(rmdir(a), 0);
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, m));
  assert_false(emd_watch_unchanged(wp, m));       /* its parent lost a name */
  assert_int_equal(stats().watches, watches - 1); /* IN_IGNORED */
  assert_null(emd_watch_find(dev, ino));
  /* For good: no later moment is vouched for. */
  for (i = 0; i < 3; i++) {
    m2 = settled_moment();
    emd_watch_drain();
    assert_false(emd_watch_unchanged(w, m2));
  }
  assert_true(emd_watch_unchanged(wp, m2));
  free(a);
  free(parent);
}

static void test_moved_folder_is_distrusted_until_rearmed(void **state) {
  char *parent = new_folder(NULL), *a, moved[4096];
  emd_wdir *w, *w2, *wp;
  dev_t dev;
  ino_t ino;
  uint64_t m, m2, m3, watches;
  (void)state;
  a = new_folder(parent);
  put(at(a, "x.md"), "x\n");
  identity(a, &dev, &ino);
  w = watch(a);
  wp = watch(parent);
  assert_true(w && wp);
  watches = stats().watches;
  m = settled_moment();
  snprintf(moved, sizeof(moved), "%s-moved", a);
  assert_int_equal(rename(a, moved), 0);
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, m));  /* IN_MOVE_SELF */
  assert_false(emd_watch_unchanged(wp, m)); /* IN_MOVED_FROM/TO */
  assert_null(emd_watch_find(dev, ino));
  /* Its kernel watch survives the move and still reports; that must not
  ** make it trusted again before it is re-armed. */
  put(at(moved, "x.md"), "changed after the move\n");
  emd_watch_drain();
  m2 = settled_moment();
  assert_false(emd_watch_unchanged(w, m2)); /* still distrusted */
  /* The walk opens it at its new place: the same record, the same kernel
  ** watch, vouching only from now on. */
  w2 = watch(moved);
  assert_ptr_equal(w2, w);
  assert_int_equal(stats().watches, watches);
  assert_ptr_equal(emd_watch_find(dev, ino), w);
  assert_false(emd_watch_unchanged(w, m));
  assert_false(emd_watch_unchanged(w, m2)); /* taken before re-arming */
  m3 = settled_moment();
  assert_true(emd_watch_unchanged(w, m3));
  /* And it sees changes again. */
  put(at(moved, "x.md"), "changed\n");
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, m3));
  free(a);
  free(parent);
}

/* ------------------------------------------------------------------------
** Switching off.
*/

static void test_disabled_then_enabled(void **state) {
  char *a = new_folder(NULL), *b = new_folder(NULL);
  emd_wdir *w = watch(a);
  dev_t dev;
  ino_t ino;
  uint64_t m_before, m_off, m_after;
  (void)state;
  assert_non_null(w);
  assert_int_equal(emd_watch_enabled(), 1);
  identity(a, &dev, &ino);
  m_before = settled_moment();
  assert_true(emd_watch_unchanged(w, m_before));
  emd_watch_set_enabled(0);
  assert_int_equal(emd_watch_enabled(), 0);
  assert_false(emd_watch_unchanged(w, m_before));
  assert_null(watch(a));
  assert_null(watch(b)); /* not added either */
  assert_null(emd_watch_find(dev, ino));
  emd_watch_drain();
  m_off = emd_watch_now();
  assert_false(emd_watch_unchanged(w, m_off));
  emd_watch_set_enabled(0); /* twice is harmless */
  emd_watch_set_enabled(1);
  assert_int_equal(emd_watch_enabled(), 1);
  /* Like an overflow: nothing before now is vouched for. */
  assert_false(emd_watch_unchanged(w, m_before));
  assert_false(emd_watch_unchanged(w, m_off));
  assert_ptr_equal(watch(a), w);
  assert_non_null(watch(b));
  m_after = emd_watch_now();
  assert_true(emd_watch_unchanged(w, m_after));
  emd_watch_set_enabled(1); /* already on: no new overflow */
  assert_true(emd_watch_unchanged(w, m_after));
  free(a);
  free(b);
}

/* ------------------------------------------------------------------------
** tmpfs.
*/

static void test_tmpfs_folder_is_watched(void **state) {
  char shm[] = "/dev/shm/test_watch.XXXXXX";
  struct statfs sf;
  emd_wdir *w;
  uint64_t m;
  (void)state;
  if (statfs("/dev/shm", &sf) != 0 || (uint32_t)sf.f_type != 0x01021994u)
    skip();
  assert_non_null(mkdtemp(shm));
  put(at(shm, "x.md"), "x\n");
  w = watch(shm);
  assert_non_null(w);
  m = settled_moment();
  assert_true(emd_watch_unchanged(w, m));
  put(at(shm, "x.md"), "changed\n");
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, m));
  rm_tree(shm);
  emd_watch_drain();
  assert_false(emd_watch_unchanged(w, emd_watch_now())); /* removed */
}

/* ------------------------------------------------------------------------
** Threads: many askers, one drainer, one writer, one adder.
*/

#define WRITES 3000
#define READERS 8

static struct {
  const emd_wdir *w;      /* the folder written to */
  const char *file;       /* the file written */
  const char *other;      /* a folder the adder keeps asking for */
  uint64_t m[WRITES + 1]; /* m[i]: moment before write i */
  int done_write;         /* last write that returned (atomic) */
  int drained;            /* a drain started after that write (atomic) */
  int stop;               /* 1: stop (atomic) */
  int violations;         /* contract broken (atomic) */
  long asks;              /* emd_watch_unchanged calls (atomic) */
} T;

static void *writer_main(void *arg) {
  int fd = open(T.file, O_WRONLY), i;
  (void)arg;
  if (fd < 0) return NULL;
  for (i = 1; i <= WRITES; i++) {
    T.m[i] = emd_watch_now();
    if (pwrite(fd, "w", 1, i % 64) != 1) break;
    __atomic_store_n(&T.done_write, i, __ATOMIC_RELEASE);
    if (i % 16 == 0) sched_yield();
  }
  close(fd);
  return NULL;
}

static void *drainer_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&T.stop, __ATOMIC_ACQUIRE)) {
    int i = __atomic_load_n(&T.done_write, __ATOMIC_ACQUIRE);
    emd_watch_drain();
    __atomic_store_n(&T.drained, i, __ATOMIC_RELEASE);
  }
  return NULL;
}

static void *reader_main(void *arg) {
  uint64_t s0 = emd_watch_now();
  int was_changed = 0;
  long n = 0;
  (void)arg;
  while (!__atomic_load_n(&T.stop, __ATOMIC_ACQUIRE)) {
    int k = __atomic_load_n(&T.drained, __ATOMIC_ACQUIRE), j;
    /* Write k returned before a drain that has ended: seen for m[k]. */
    if (k > 0 && emd_watch_unchanged(T.w, T.m[k]))
      __atomic_add_fetch(&T.violations, 1, __ATOMIC_RELAXED);
    /* Once changed for a moment, changed for good. */
    if (emd_watch_unchanged(T.w, s0)) {
      if (was_changed) __atomic_add_fetch(&T.violations, 1, __ATOMIC_RELAXED);
    } else {
      was_changed = 1;
    }
    for (j = 0; j < 64; j++) n += emd_watch_unchanged(T.w, emd_watch_now());
    n += 66;
  }
  __atomic_add_fetch(&T.asks, n, __ATOMIC_RELAXED);
  return NULL;
}

static void *adder_main(void *arg) {
  dev_t dev;
  ino_t ino;
  emd_watch_stats s;
  (void)arg;
  identity(T.other, &dev, &ino);
  while (!__atomic_load_n(&T.stop, __ATOMIC_ACQUIRE)) {
    emd_wdir *w = watch(T.other);
    if (!w || emd_watch_find(dev, ino) != w)
      __atomic_add_fetch(&T.violations, 1, __ATOMIC_RELAXED);
    emd_watch_get_stats(&s);
  }
  return NULL;
}

static void test_threads(void **state) {
  char *a = new_folder(NULL), *other = new_folder(NULL), file[4096];
  pthread_t writer, drainer, adder, readers[READERS];
  double t0;
  uint64_t m;
  int i;
  (void)state;
  put(at(a, "x.md"), "x\n");
  T.w = watch(a);
  snprintf(file, sizeof(file), "%s/x.md", a);
  T.file = file;
  T.other = other;
  assert_non_null(T.w);
  assert_non_null(watch(other));
  emd_watch_drain();
  t0 = now_s();
  assert_int_equal(pthread_create(&drainer, NULL, drainer_main, NULL), 0);
  assert_int_equal(pthread_create(&adder, NULL, adder_main, NULL), 0);
  for (i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&readers[i], NULL, reader_main, NULL), 0);
  assert_int_equal(pthread_create(&writer, NULL, writer_main, NULL), 0);
  pthread_join(writer, NULL);
  assert_int_equal(__atomic_load_n(&T.done_write, __ATOMIC_ACQUIRE), WRITES);
  /* Let the drainer pass the last write and the readers see it. */
  while (__atomic_load_n(&T.drained, __ATOMIC_ACQUIRE) < WRITES) sched_yield();
  usleep(20000);
  __atomic_store_n(&T.stop, 1, __ATOMIC_RELEASE);
  pthread_join(drainer, NULL);
  pthread_join(adder, NULL);
  for (i = 0; i < READERS; i++) pthread_join(readers[i], NULL);
  printf("  threads: %d writes, %ld asks by %d threads in %.2f s\n", WRITES,
         T.asks, READERS, now_s() - t0);
  assert_int_equal(T.violations, 0);
  assert_false(emd_watch_unchanged(T.w, T.m[1]));
  /* Quiet again: trusted again. */
  m = settled_moment();
  assert_true(emd_watch_unchanged(T.w, m));
  free(a);
  free(other);
}

/* ------------------------------------------------------------------------
** Fork.
*/

typedef struct fork_arg {
  const char *a;     /* watched by the parent */
  const emd_wdir *w; /* its record */
  uint64_t m;        /* a moment the parent trusts */
} fork_arg;

static int fork_child_main(void *p) {
  const fork_arg *fa = p;
  emd_wdir *w;
  uint64_t m2;
  int fd;
  /* Nothing from before the fork is vouched for in the child. */
  CHILD_CHECK(!emd_watch_unchanged(fa->w, fa->m), 10);
  CHILD_CHECK(emd_watch_unchanged(fa->w, emd_watch_now()) == 0, 11);
  /* A change made here is queued on the parent's instance; the child must
  ** not read it away (the parent checks it still sees it). */
  fd = open(at(fa->a, "x.md"), O_WRONLY | O_APPEND);
  CHILD_CHECK(fd >= 0, 12);
  CHILD_CHECK(write(fd, "child\n", 6) == 6, 13);
  close(fd);
  emd_watch_drain();
  emd_watch_drain();
  /* The child watches on its own instance: the same record, re-armed. */
  w = watch(fa->a);
  CHILD_CHECK(w == fa->w, 14);
  CHILD_CHECK(stats().watches == 1, 15);
  CHILD_CHECK(!emd_watch_unchanged(w, fa->m), 16);
  m2 = settled_moment();
  CHILD_CHECK(emd_watch_unchanged(w, m2), 17);
  put(at(fa->a, "y.md"), "y\n");
  emd_watch_drain();
  CHILD_CHECK(!emd_watch_unchanged(w, m2), 18);
  return 0;
}

static void test_fork(void **state) {
  char *a = new_folder(NULL);
  fork_arg fa;
  (void)state;
  put(at(a, "x.md"), "x\n");
  fa.a = a;
  fa.w = watch(a);
  assert_non_null(fa.w);
  fa.m = settled_moment();
  assert_true(emd_watch_unchanged(fa.w, fa.m));
  in_child(fork_child_main, &fa);
  /* The parent still has its instance and sees the child's change. */
  assert_true(emd_watch_unchanged(fa.w, fa.m)); /* not drained yet */
  emd_watch_drain();
  assert_false(emd_watch_unchanged(fa.w, fa.m));
  assert_true(emd_watch_unchanged(fa.w, emd_watch_now()));
  free(a);
}

/* ------------------------------------------------------------------------
** Failures: no instance (EMFILE), no watch left (ENOSPC); the back-off.
*/

static int emfile_child_main(void *p) {
  const char *a = ((char *const *)p)[0], *b = ((char *const *)p)[1];
  struct rlimit old, low;
  struct stat st, stb;
  emd_watch_stats s0 = stats();
  emd_wdir *w;
  uint64_t m;
  int fd = open(a, O_RDONLY | O_DIRECTORY), fdb = open(b, O_RDONLY), probe;
  CHILD_CHECK(fd >= 0 && fstat(fd, &st) == 0, 20);
  CHILD_CHECK(fdb >= 0 && fstat(fdb, &stb) == 0, 20);
  CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0, 21);
  probe = dup(0);
  CHILD_CHECK(probe >= 0, 22);
  close(probe);
  low = old;
  low.rlim_cur = (rlim_t)probe; /* no new descriptor at all */
  CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, 23);
  /* The child has no instance yet (fork dropped the parent's) and cannot
  ** make one: cannot watch. */
  CHILD_CHECK(emd_watch_dir(fd, st.st_dev, st.st_ino) == NULL, 24);
  CHILD_CHECK(stats().refused == s0.refused + 1, 25);
  /* After the back-off it tries again, fails again: the same folder is
  ** not counted twice, and a new back-off starts. */
  usleep(1100000);
  CHILD_CHECK(emd_watch_dir(fd, st.st_dev, st.st_ino) == NULL, 26);
  CHILD_CHECK(stats().refused == s0.refused + 1, 27);
  CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0, 28);
  /* Backing off: refused without trying, for this folder and for one
  ** never asked for before. */
  CHILD_CHECK(emd_watch_dir(fd, st.st_dev, st.st_ino) == NULL, 29);
  CHILD_CHECK(emd_watch_dir(fdb, stb.st_dev, stb.st_ino) == NULL, 30);
  CHILD_CHECK(stats().refused == s0.refused + 2, 31);
  emd_watch_drain(); /* no instance: nothing */
  usleep(1100000);
  w = emd_watch_dir(fd, st.st_dev, st.st_ino);
  CHILD_CHECK(w != NULL, 32);
  CHILD_CHECK(emd_watch_dir(fdb, stb.st_dev, stb.st_ino) != NULL, 33);
  m = settled_moment();
  CHILD_CHECK(emd_watch_unchanged(w, m), 34);
  put(at(a, "x.md"), "changed\n");
  emd_watch_drain();
  CHILD_CHECK(!emd_watch_unchanged(w, m), 35);
  close(fd);
  close(fdb);
  return 0;
}

static void test_no_instance_then_retry(void **state) {
  char *ab[2];
  (void)state;
  ab[0] = new_folder(NULL);
  ab[1] = new_folder(NULL);
  in_child(emfile_child_main, ab);
  free(ab[0]);
  free(ab[1]);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY), ok;
  if (fd < 0) return 0;
  ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  close(fd);
  return ok;
}

typedef struct enospc_arg {
  const char *f1, *f2, *f3; /* three folders */
} enospc_arg;

/* In a new user namespace the watch limit is ours to lower: allow two
** watches, ask for three. */
static int enospc_child_main(void *p) {
  const enospc_arg *ea = p;
  char umap[64], gmap[64];
  emd_wdir *w1, *w2, *w3;
  emd_watch_stats s0;
  uint64_t m;
  /* Both maps are computed first: inside, unmapped ids read as 65534. */
  snprintf(umap, sizeof(umap), "0 %u 1", (unsigned)getuid());
  snprintf(gmap, sizeof(gmap), "0 %u 1", (unsigned)getgid());
  if (unshare(CLONE_NEWUSER) != 0) {
    /* EINVAL under ThreadSanitizer: its runtime keeps a thread. */
    printf("  (unshare(CLONE_NEWUSER): %s)\n", strerror(errno));
    fflush(stdout);
    return 77;
  }
  write_file("/proc/self/setgroups", "deny");
  if (!write_file("/proc/self/uid_map", umap)) return 77;
  if (!write_file("/proc/self/gid_map", gmap)) return 77;
  if (!write_file("/proc/sys/user/max_inotify_watches", "2")) return 77;
  s0 = stats();
  w1 = watch(ea->f1);
  w2 = watch(ea->f2);
  CHILD_CHECK(w1 && w2, 40);
  w3 = watch(ea->f3); /* ENOSPC */
  CHILD_CHECK(w3 == NULL, 41);
  CHILD_CHECK(stats().refused == s0.refused + 1, 42);
  CHILD_CHECK(stats().watches == 2, 43);
  /* The watched ones keep working. */
  m = settled_moment();
  CHILD_CHECK(watch(ea->f1) == w1, 44);
  CHILD_CHECK(emd_watch_unchanged(w1, m), 45);
  put(at(ea->f1, "x.md"), "x\n");
  emd_watch_drain();
  CHILD_CHECK(!emd_watch_unchanged(w1, m), 46);
  /* Room again, but the back-off holds for a second. */
  CHILD_CHECK(write_file("/proc/sys/user/max_inotify_watches", "10"), 47);
  CHILD_CHECK(watch(ea->f3) == NULL, 48);
  CHILD_CHECK(stats().refused == s0.refused + 1, 49);
  usleep(1100000);
  w3 = watch(ea->f3);
  CHILD_CHECK(w3 != NULL, 50);
  CHILD_CHECK(stats().watches == 3, 51);
  m = settled_moment();
  CHILD_CHECK(emd_watch_unchanged(w3, m), 52);
  return 0;
}

static void test_watch_limit_then_retry(void **state) {
  enospc_arg ea;
  char *f1 = new_folder(NULL), *f2 = new_folder(NULL), *f3 = new_folder(NULL);
  int status = 0;
  pid_t pid;
  (void)state;
  ea.f1 = f1;
  ea.f2 = f2;
  ea.f3 = f3;
  fflush(stdout);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(enospc_child_main(&ea));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  free(f1);
  free(f2);
  free(f3);
  if (WEXITSTATUS(status) == 77) {
    printf("  (no user namespace here: watch limit not tested)\n");
    skip();
  }
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------------
** Costs (printed, not asserted).
*/

static void test_costs(void **state) {
  char *a = new_folder(NULL);
  emd_wdir *w = watch(a);
  const long n = 10000000, nd = 200000;
  volatile long sink = 0;
  uint64_t m;
  double t0, t1;
  long i;
  (void)state;
  assert_non_null(w);
  m = settled_moment();
  t0 = now_s();
  for (i = 0; i < n; i++) sink += emd_watch_unchanged(w, m);
  t1 = now_s();
  assert_int_equal(sink, n);
  printf("  emd_watch_unchanged: %.2f ns/call\n", (t1 - t0) * 1e9 / n);
  t0 = now_s();
  for (i = 0; i < nd; i++) emd_watch_drain();
  t1 = now_s();
  printf("  emd_watch_drain, nothing queued: %.0f ns/call\n",
         (t1 - t0) * 1e9 / nd);
  t0 = now_s();
  for (i = 0; i < nd; i++) sink += emd_watch_now() > 0;
  t1 = now_s();
  printf("  emd_watch_now: %.2f ns/call\n", (t1 - t0) * 1e9 / nd);
  t0 = now_s();
  for (i = 0; i < nd; i++) sink += watch(a) == w;
  t1 = now_s();
  printf(
      "  emd_watch_dir of a watched folder (with open+fstat+close): "
      "%.0f ns/call\n",
      (t1 - t0) * 1e9 / nd);
  assert_true(emd_watch_unchanged(w, m));
  free(a);
}

static int teardown_all(void **state) {
  (void)state;
  rm_tree(g_base);
  return 0;
}

static int setup_all(void **state) {
  (void)state;
  return mkdtemp(g_base) ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      /* first: the process has no inotify instance yet */
      cmocka_unit_test(test_drain_without_instance_is_cheap),
      cmocka_unit_test(test_fs_decision),
      cmocka_unit_test(test_proc_is_refused),
      cmocka_unit_test(test_quiet_folder_is_unchanged),
      cmocka_unit_test(test_every_change_is_seen_by_the_next_drain),
      cmocka_unit_test(test_change_marks_only_its_folder),
      cmocka_unit_test(test_change_before_moment_drained_after),
      cmocka_unit_test(test_mark_at_the_moment_itself_is_a_change),
      cmocka_unit_test(test_moment_before_watch_is_not_vouched),
      cmocka_unit_test(test_simulated_overflow_changes_everything),
      cmocka_unit_test(test_real_overflow_changes_everything),
      cmocka_unit_test(test_removed_folder_is_distrusted_for_good),
      cmocka_unit_test(test_moved_folder_is_distrusted_until_rearmed),
      cmocka_unit_test(test_disabled_then_enabled),
      cmocka_unit_test(test_tmpfs_folder_is_watched),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_fork),
      cmocka_unit_test(test_no_instance_then_retry),
      cmocka_unit_test(test_watch_limit_then_retry),
      cmocka_unit_test(test_costs),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
