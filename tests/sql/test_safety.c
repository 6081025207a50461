/* SPDX-License-Identifier: MIT */
/*
** test_safety.c - eventmd in front of people (SPEC §4-§5): confinement,
** no escape under any plan, prompt interrupts, bounded descriptors, the
** same rows under every plan for odd names, permissions and deep paths,
** checked arguments, and edits through mmap.
**
**   build/test_safety
**
** Permission cases run in a child process as an unprivileged user
** (nobody); they need root to switch, and fail loudly without it.
*/
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char event_md[] =
    "### [2018-03-2](/news/2018/03/2/index.md)\n# Title %s\n\nSummary.\n\n"
    "### Source:\n\n1. [A](http://a.com/x)\n";

static void write_event(const char *root, const char *rel, const char *tag) {
  char *md = sqlite3_mprintf(event_md, tag);
  tu_writes(root, rel, md);
  sqlite3_free(md);
}

/* Open descriptors and threads of this process. */
static int count_entries(const char *dir) {
  char cmd[128];
  int n = 0;
  FILE *p;
  snprintf(cmd, sizeof(cmd), "ls %s | wc -l", dir);
  p = popen(cmd, "r");
  if (!p || fscanf(p, "%d", &n) != 1) n = -1;
  if (p) pclose(p);
  return n;
}

/* ------------------------------------------------------------------------
** 1. Confinement.
*/
static void test_confinement(void **state) {
  char *inside = tu_tmpdir(), *outside = tu_tmpdir(), *link;
  sqlite3 *db;
  (void)state;
  write_event(inside, "news/2018/03/2/a.md", "inside");
  write_event(outside, "news/2018/03/2/secret.md", "SECRET");
  link = sqlite3_mprintf("%s/escape", inside);
  assert_int_equal(symlink(outside, link), 0);

  setenv("EVENTMD_ROOTS", inside, 1);
  db = tu_open();
  unsetenv("EVENTMD_ROOTS");
  tu_expect(db, "1\n", "SELECT count(*) FROM eventmd_events('%q')", inside);
  /* What a web UI's visitor could type. */
  tu_expect(db, "ERROR: eventmd: root '/usr/lib' is outside the allowed roots",
            "SELECT path, markdown FROM eventmd_events('/usr/lib')");
  tu_expect(db, "ERROR: eventmd: root '/' is outside the allowed roots",
            "SELECT count(*) FROM eventmd_events('/')");
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the allowed roots", outside);
    tu_expect(db, want, "SELECT name FROM eventmd_sources('%q')", outside);
    sqlite3_free(want);
  }
  /* A link inside pointing out is resolved before the check. */
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the allowed roots", link);
    tu_expect(db, want, "SELECT count(*) FROM eventmd_events('%q')", link);
    tu_expect(db, want, "SELECT eventmd_attach('%q')", link);
    tu_expect(db, want,
              "CREATE VIRTUAL TABLE temp.x USING eventmd_events(root='%q')",
              link);
    sqlite3_free(want);
  }
  /* The environment's roots cannot be widened from SQL... */
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the roots EVENTMD_ROOTS allows",
        outside);
    tu_expect(db, want, "SELECT eventmd_config('roots', '%q')", outside);
    sqlite3_free(want);
  }
  /* ...but narrowed, and then locked. */
  tu_exec(db, "SELECT eventmd_config('roots', '%q/news')", inside);
  tu_expect(db, "0\n",
            "SELECT count(*) FROM eventmd_events('%q/news/2018/03/2') "
            "WHERE 0",
            inside);
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the allowed roots", inside);
    tu_expect(db, want, "SELECT count(*) FROM eventmd_events('%q')", inside);
    sqlite3_free(want);
  }
  tu_exec(db, "SELECT eventmd_config('lock')");
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('roots', '%q')", inside);
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('cache_bytes', 0)");
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('threads', 1)");
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "1\n", "SELECT eventmd_config('threads') > 0");
  sqlite3_close(db);

  /* Without the environment, roots from SQL and the lock. */
  db = tu_open();
  tu_expect(db, "1\n", "SELECT count(*) FROM eventmd_events('%q')", outside);
  tu_exec(db, "SELECT eventmd_config('roots', '%q')", inside);
  tu_exec(db, "SELECT eventmd_config('lock')");
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the allowed roots", outside);
    tu_expect(db, want, "SELECT count(*) FROM eventmd_events('%q')", outside);
    sqlite3_free(want);
  }
  sqlite3_close(db);

  /* An EVENTMD_ROOTS naming nothing usable allows nothing. */
  setenv("EVENTMD_ROOTS", "/no/such/folder", 1);
  db = tu_open();
  unsetenv("EVENTMD_ROOTS");
  {
    char *want = sqlite3_mprintf(
        "ERROR: eventmd: root '%s' is outside the allowed roots", inside);
    tu_expect(db, want, "SELECT count(*) FROM eventmd_events('%q')", inside);
    sqlite3_free(want);
  }
  sqlite3_close(db);

  /* EVENTMD_LOCK: locked from the start (a web UI's pooled connections),
  ** reading still works; "0" and "" leave the connection unlocked. */
  setenv("EVENTMD_ROOTS", inside, 1);
  setenv("EVENTMD_LOCK", "1", 1);
  db = tu_open();
  unsetenv("EVENTMD_LOCK");
  unsetenv("EVENTMD_ROOTS");
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('roots', '%q/news')", inside);
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('watch', 0)");
  tu_expect(db, "1\n", "SELECT count(*) FROM eventmd_events('%q')", inside);
  sqlite3_close(db);
  setenv("EVENTMD_LOCK", "0", 1);
  db = tu_open();
  unsetenv("EVENTMD_LOCK");
  tu_expect(db, "1\n", "SELECT eventmd_config('threads', 1)");
  sqlite3_close(db);
  sqlite3_free(link);
  tu_rmrf(inside);
  tu_rmrf(outside);
  free(inside);
  free(outside);
}

/* ------------------------------------------------------------------------
** 2. No escape under any plan, with links that leave the root, loop, and
** are swapped while scans run.
*/
static const char *const plan_shapes[] = {
    "SELECT path, problem, markdown FROM ev",
    "SELECT path, problem, markdown FROM ev ORDER BY path",
    "SELECT path, problem, markdown FROM ev ORDER BY date",
    "SELECT path, problem, markdown FROM ev ORDER BY date, path",
    "SELECT path, problem, markdown FROM ev WHERE date = '2018-03-03'",
    "SELECT path, problem, markdown FROM ev WHERE date BETWEEN '2018-01-01' "
    "AND '2018-12-31'",
    "SELECT path, problem, markdown FROM ev WHERE date IN ('2018-03-02', "
    "'2018-03-03', '2018-03-05')",
    "SELECT path, problem, markdown FROM ev WHERE path IN (SELECT path FROM "
    "ev)",
    "SELECT path, problem, markdown FROM ev WHERE path = "
    "'/news/2018/03/3/secret.md'",
    "SELECT path, problem, markdown FROM ev WHERE path = "
    "'/news/2018/03/4/outside.md'",
    "SELECT path, problem, markdown FROM ev WHERE path = "
    "'/news/loop/2018/03/2/a.md'",
    "SELECT e.path, s.name, e.markdown FROM ev e JOIN src s ON s.event_path "
    "= e.path",
    "SELECT path, problem, markdown FROM ev ORDER BY rowid",
    "SELECT path, problem, markdown FROM ev WHERE rowid > 0 ORDER BY rowid "
    "LIMIT 50",
    "SELECT path, problem, markdown FROM ev LIMIT 3",
};

/* Make root/rel a symbolic link to target. */
static void link_at(const char *root, const char *rel, const char *target) {
  char *p = sqlite3_mprintf("%s/%s", root, rel);
  if (symlink(target, p) != 0) fail_msg("symlink %s: %s", p, strerror(errno));
  sqlite3_free(p);
}

static void escape_tree(const char *root, const char *outside) {
  char *p;
  write_event(root, "news/2018/03/2/a.md", "a");
  write_event(outside, "day/secret.md", "SECRET");
  write_event(outside, "file.md", "SECRET");
  tu_mkdirs(root, "news/2018/03/4/x");
  p = sqlite3_mprintf("%s/day", outside);
  link_at(root, "news/2018/03/3", p);
  sqlite3_free(p);
  p = sqlite3_mprintf("%s/file.md", outside);
  link_at(root, "news/2018/03/4/outside.md", p);
  sqlite3_free(p);
  /* A loop back to an ancestor, and a relative escape. */
  link_at(root, "news/loop", "..");
  link_at(root, "news/2018/03/up", "../../../..");
}

static int any_secret(const char *rows) {
  return strstr(rows, "SECRET") != NULL;
}

/* TEMP tables ev and src over root, following links. */
static void following_tables(sqlite3 *db, const char *root) {
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.ev USING eventmd_events(root='%q', "
          "follow_symlinks=1)",
          root);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.src USING eventmd_sources(root='%q', "
          "follow_symlinks=1)",
          root);
}

static void test_no_escape_any_plan(void **state) {
  char *root = tu_tmpdir(), *outside = tu_tmpdir();
  sqlite3 *db = tu_open();
  size_t i;
  (void)state;
  escape_tree(root, outside);
  following_tables(db, root);
  for (i = 0; i < sizeof(plan_shapes) / sizeof(plan_shapes[0]); i++) {
    char *rows = tu_query(db, plan_shapes[i], root);
    if (any_secret(rows) || !strncmp(rows, "ERROR", 5))
      fail_msg("plan %zu reached outside the root or failed:\n%s\n%s", i,
               plan_shapes[i], rows);
    free(rows);
  }
  /* The links that lead out or loop are rows saying so, in every plan. */
  tu_expect(db,
            "/news/2018/03/3/|symbolic link leads outside the root\n"
            "/news/2018/03/4/outside.md|symbolic link leads outside the "
            "root\n/news/2018/03/up/|symbolic link leads outside the root\n"
            "/news/loop/|symbolic link loop\n",
            "SELECT path, problem FROM ev WHERE problem IS NOT NULL ORDER BY "
            "path");
  tu_expect(db,
            "/news/2018/03/3/|symbolic link leads outside the root\n"
            "/news/2018/03/4/outside.md|symbolic link leads outside the "
            "root\n/news/2018/03/up/|symbolic link leads outside the root\n"
            "/news/loop/|symbolic link loop\n",
            "SELECT * FROM (SELECT path, problem FROM ev WHERE problem IS NOT "
            "NULL ORDER BY date) ORDER BY path");
  sqlite3_close(db);
  tu_rmrf(root);
  tu_rmrf(outside);
  free(root);
  free(outside);
}

typedef struct swapper {
  const char *root, *outside;
  volatile int stop;
} swapper;

/* Swap news/2018/03/5 between a real folder and a link out, over and over
** (rename is atomic: a scan sees one or the other). */
static void *swap_loop(void *arg) {
  swapper *w = arg;
  char *day = sqlite3_mprintf("%s/news/2018/03/5", w->root);
  char *real = sqlite3_mprintf("%s/news/2018/03/5.real", w->root);
  char *lnk = sqlite3_mprintf("%s/news/2018/03/5.link", w->root);
  char *target = sqlite3_mprintf("%s/day", w->outside);
  while (!w->stop) {
    rename(day, real); /* the folder goes */
    if (symlink(target, lnk) != 0) break;
    rename(lnk, day); /* a link out comes in its place */
    rename(day, lnk);
    unlink(lnk);
    rename(real, day); /* and the folder is back */
  }
  sqlite3_free(day);
  sqlite3_free(real);
  sqlite3_free(lnk);
  sqlite3_free(target);
  return NULL;
}

static void test_no_escape_links_swapped(void **state) {
  char *root = tu_tmpdir(), *outside = tu_tmpdir();
  sqlite3 *db = tu_open();
  swapper w;
  pthread_t t;
  double until;
  int rounds = 0;
  (void)state;
  escape_tree(root, outside);
  write_event(root, "news/2018/03/5/b.md", "b");
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
  following_tables(db, root);
  w.root = root;
  w.outside = outside;
  w.stop = 0;
  assert_int_equal(pthread_create(&t, NULL, swap_loop, &w), 0);
  until = now_s() + 2.0;
  while (now_s() < until) {
    size_t i;
    for (i = 0; i < sizeof(plan_shapes) / sizeof(plan_shapes[0]); i++) {
      char *rows = tu_query(db, plan_shapes[i], root);
      if (any_secret(rows)) {
        w.stop = 1;
        pthread_join(t, NULL);
        fail_msg("plan %zu reached outside while links were swapped:\n%s", i,
                 rows);
      }
      free(rows);
    }
    rounds++;
  }
  w.stop = 1;
  pthread_join(t, NULL);
  print_message(
      "  %d rounds of %zu plans while a link was swapped in and out\n", rounds,
      sizeof(plan_shapes) / sizeof(plan_shapes[0]));
  assert_true(rounds > 3);
  sqlite3_close(db);
  tu_rmrf(root);
  tu_rmrf(outside);
  free(root);
  free(outside);
}

/* ------------------------------------------------------------------------
** 3. Interrupts and progress handlers within 100 ms, on the long paths.
*/
typedef struct stopper {
  sqlite3 *db;
  double delay;      /* seconds after start */
  double fired;      /* when the stop was asked (now_s) */
  volatile int flag; /* progress handler: stop */
  int use_handler;
} stopper;

static void *stop_later(void *arg) {
  stopper *s = arg;
  struct timespec d;
  d.tv_sec = (time_t)s->delay;
  d.tv_nsec = (long)((s->delay - (double)d.tv_sec) * 1e9);
  nanosleep(&d, NULL);
  s->fired = now_s();
  if (s->use_handler)
    s->flag = 1;
  else
    sqlite3_interrupt(s->db);
  return NULL;
}

static int handler_calls;
static int progress(void *arg) {
  stopper *s = arg;
  handler_calls++;
  return s->flag;
}

/* Run sql, stopping it after `delay`; returns the seconds from the stop
** to the statement's end, and checks it ended interrupted. */
static double stop_latency(sqlite3 *db, const char *sql, int use_handler) {
  stopper s;
  pthread_t t;
  sqlite3_stmt *st;
  int rc;
  double end;
  memset(&s, 0, sizeof(s));
  s.db = db;
  s.delay = 0.05;
  s.use_handler = use_handler;
  handler_calls = 0;
  if (use_handler) sqlite3_progress_handler(db, 100, progress, &s);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  end = now_s();
  pthread_join(t, NULL);
  sqlite3_finalize(st);
  sqlite3_progress_handler(db, 0, NULL, NULL);
  if (rc != SQLITE_INTERRUPT)
    fail_msg(
        "%s ended with %d (%s), not interrupted: the scan is too short "
        "or did not stop",
        sql, rc, sqlite3_errmsg(db));
  if (use_handler) assert_true(handler_calls > 0);
  return end - s.fired;
}

static void test_interrupts(void **state) {
  char *root = tu_tmpdir();
  sqlite3 *db;
  int i, fds0, threads0;
  static const char *const queries[] = {
      /* A child table over files that give no rows: loops inside xNext. */
      "SELECT count(*) FROM eventmd_sources('%s')",
      /* Date order: files outside day folders read for their dates. */
      "SELECT count(*) FROM (SELECT path FROM eventmd_events('%s') "
      "ORDER BY date)",
      /* A date no file has: files outside day folders, all skipped. */
      "SELECT count(*) FROM eventmd_events('%s') WHERE date = '1999-01-01'",
  };
  (void)state;
  /* 6,000 folders of files outside day folders, no sources anywhere: each
  ** scan below lasts several times the 50 ms before it is stopped. */
  for (i = 0; i < 6000; i++) {
    char rel[64];
    int k;
    for (k = 0; k < 5; k++) {
      snprintf(rel, sizeof(rel), "topics/t%04d/f%d.md", i, k);
      tu_writes(root, rel,
                "### [2018-03-2](/news/2018/03/2/index.md)\n# T\n\nNo "
                "sources here.\n");
    }
  }
  db = tu_open();
  fds0 = count_entries("/proc/self/fd");
  threads0 = count_entries("/proc/self/task");
  for (i = 0; i < 3; i++) {
    char *sql = sqlite3_mprintf(queries[i], root);
    int how;
    for (how = 0; how < 2; how++) {
      double lat;
      /* Parse again every time: the scan must outlast the 50 ms. */
      tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
      tu_exec(db, "SELECT eventmd_config('threads', 1)");
      lat = stop_latency(db, sql, how);
      print_message("  %-22s query %d: stopped %.1f ms after it was asked\n",
                    how ? "progress handler," : "sqlite3_interrupt,", i,
                    lat * 1e3);
      assert_true(lat <= 0.1 * tu_time_scale());
    }
    sqlite3_free(sql);
  }
  assert_int_equal(count_entries("/proc/self/fd"), fds0);
  assert_int_equal(count_entries("/proc/self/task"), threads0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* ------------------------------------------------------------------------
** 4. No plan holds a descriptor per folder: 3,000 folders under a limit of
** 64 descriptors.
*/
static void test_descriptors_bounded(void **state) {
  char *root = tu_tmpdir();
  int i;
  pid_t pid;
  (void)state;
  for (i = 0; i < 3000; i++) {
    char rel[64];
    snprintf(rel, sizeof(rel), "topics/t%04d/f.md", i);
    tu_writes(root, rel, "### [2018-03-2](/news/2018/03/2/index.md)\n# T\n");
  }
  for (i = 0; i < 300; i++) {
    char rel[64];
    snprintf(rel, sizeof(rel), "news/2018/%d/%d/f.md", i / 28 + 1, i % 28 + 1);
    tu_writes(root, rel, "# T\n");
  }
  pid = fork();
  if (pid == 0) {
    struct rlimit rl = {64, 64};
    sqlite3 *db;
    static const char *const qs[] = {
        "SELECT count(*), count(problem) FROM (SELECT path, problem FROM "
        "eventmd_events('%q') ORDER BY date)",
        "SELECT count(*), count(problem) FROM (SELECT path, problem FROM "
        "eventmd_events('%q') ORDER BY rowid)",
        "SELECT count(*), count(problem) FROM eventmd_events('%q')",
        "SELECT count(*), count(problem) FROM eventmd_events('%q') WHERE "
        "date > '2000-01-01'",
    };
    int q, bad = 0;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(2);
    db = tu_child_open(4);
    for (q = 0; q < 4; q++) {
      char *r = tu_query(db, qs[q], root);
      if (strcmp(r, "3300|0\n") != 0) {
        fprintf(stderr, "under 64 descriptors, %s gave %s", qs[q], r);
        bad = 1;
      }
      free(r);
    }
    sqlite3_close(db);
    _exit(bad);
  }
  tu_wait_ok(pid);
  tu_rmrf(root);
  free(root);
}

/* ------------------------------------------------------------------------
** 5. The same rows under every plan: names that are not UTF-8, folders
** readable but not searchable (and the reverse), paths deeper than 4 KB.
*/
static void test_odd_names_one_rule(void **state) {
  char *root = tu_tmpdir();
  sqlite3 *db = tu_open();
  (void)state;
  write_event(root, "news/2018/03/2/bad\xff.md", "ff");
  write_event(root, "news/2018/03/2/bad\xfe.md", "fe");
  write_event(root, "news/2018/03/2/bad\xef\xbf\xbd.md", "real-fffd");
  write_event(root, "news/2018/03/2/bae.md", "bae");
  write_event(root, "news/2018/03/2/bac.md", "bac");
  tu_exec(db, "SELECT eventmd_attach('%q')", root);
  /* Order: as shown (U+FFFD sorts after 'e'), and consumed in order. */
  {
    char *a = tu_query(db, "SELECT path FROM events ORDER BY path");
    char *b = tu_query(db, "SELECT path FROM events ORDER BY +path");
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  /* What the scan shows, a lookup accepts: all three names shown alike. */
  tu_expect(db, "3\n",
            "SELECT count(*) FROM events WHERE path = "
            "'/news/2018/03/2/bad\xef\xbf\xbd.md'");
  tu_expect(db, "3\n",
            "SELECT count(*) FROM events WHERE path IN "
            "('/news/2018/03/2/bad\xef\xbf\xbd.md', '/x.md')");
  tu_expect(db, "Title fe\nTitle ff\nTitle real-fffd\n",
            "SELECT title FROM events WHERE path = "
            "'/news/2018/03/2/bad\xef\xbf\xbd.md' ORDER BY title");
  /* Joins compare shown values, pushed down or not: each of the three
  ** names shown alike meets the sources of all three (3 x 3 + 2). */
  tu_expect(db, "11\n",
            "SELECT count(*) FROM events e JOIN sources s ON s.event_path = "
            "e.path");
  tu_expect(db, "11\n",
            "SELECT count(*) FROM events e CROSS JOIN sources s ON "
            "+s.event_path = +e.path");
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* As nobody: every row of the scan is found by path = with the same
** problem, and no path = finds a row the scan lacks. */
static void test_permissions_one_rule(void **state) {
  char *root;
  struct passwd *pw = getpwnam("nobody");
  pid_t pid;
  (void)state;
  if (geteuid() != 0) fail_msg("this test needs root to become nobody");
  assert_non_null(pw);
  root = tu_tmpdir_shared(); /* nobody must be able to reach it */
  write_event(root, "news/2018/03/2/ok.md", "ok");
  write_event(root, "news/2018/03/3/a.md", "r-only folder");
  write_event(root, "news/2018/03/4/b.md", "x-only folder");
  write_event(root, "news/2018/03/5/c/d.md", "deeper under r-only");
  {
    char *p = sqlite3_mprintf("%s/news/2018/03/3", root);
    chmod(p, 0444); /* readable, not searchable */
    sqlite3_free(p);
    p = sqlite3_mprintf("%s/news/2018/03/4", root);
    chmod(p, 0111); /* searchable, not readable */
    sqlite3_free(p);
    p = sqlite3_mprintf("%s/news/2018/03/5", root);
    chmod(p, 0444);
    sqlite3_free(p);
  }
  pid = fork();
  if (pid == 0) {
    sqlite3 *db;
    char *rows, *line, *save = NULL;
    int bad = 0;
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
      _exit(3);
    db = tu_child_open(4);
    rows = tu_query(db, "SELECT eventmd_attach('%q')", root);
    if (!strncmp(rows, "ERROR", 5)) {
      fprintf(stderr, "as nobody: %s\n", rows);
      _exit(5);
    }
    free(rows);
    rows = tu_query(db,
                    "SELECT path || '|' || coalesce(problem, '') FROM "
                    "events ORDER BY path");
    for (line = strtok_r(rows, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
      char *bar = strchr(line, '|'), *got;
      *bar = 0;
      got = tu_query(db,
                     "SELECT path || '|' || coalesce(problem, '') FROM events "
                     "WHERE path = '%q'",
                     line);
      *bar = '|';
      if (strncmp(got, line, strlen(line)) != 0) {
        fprintf(stderr, "scan: %s\nlookup: %s\n", line, got);
        bad = 1;
      }
      free(got);
    }
    free(rows);
    /* Files the walk cannot list are not found by a lookup either. */
    rows = tu_query(db,
                    "SELECT count(*) FROM events WHERE path IN "
                    "('/news/2018/03/4/b.md', '/news/2018/03/5/c/d.md')");
    if (strcmp(rows, "0\n") != 0) {
      fprintf(stderr, "lookups found what the walk does not list: %s", rows);
      bad = 1;
    }
    free(rows);
    sqlite3_close(db);
    _exit(bad);
  }
  tu_wait_ok(pid);
  tu_rmrf(root);
  free(root);
}

/* Write text at root/rel one folder at a time (the whole path is longer
** than open() takes). */
static void write_deep(const char *root, const char *rel, const char *text) {
  int fd = open(root, O_RDONLY | O_DIRECTORY), nfd;
  const char *p = rel, *slash;
  char name[256];
  assert_true(fd >= 0);
  while ((slash = strchr(p, '/')) != NULL) {
    memcpy(name, p, (size_t)(slash - p));
    name[slash - p] = 0;
    mkdirat(fd, name, 0755);
    nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
    close(fd);
    fd = nfd;
    assert_true(fd >= 0);
    p = slash + 1;
  }
  nfd = openat(fd, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(nfd >= 0);
  assert_int_equal(write(nfd, text, strlen(text)), (ssize_t)strlen(text));
  close(nfd);
  close(fd);
}

/* Remove a tree too deep for nftw: rm -rf does it. */
static void rm_deep(const char *root) {
  char *cmd = sqlite3_mprintf("rm -rf '%q'", root);
  assert_int_equal(system(cmd), 0);
  sqlite3_free(cmd);
}

static void test_deep_paths(void **state) {
  char *root = tu_tmpdir(), rel[8192], name[241];
  sqlite3 *db = tu_open();
  size_t n = 0;
  int i;
  (void)state;
  memset(name, 'd', 240);
  name[240] = 0;
  for (i = 0; i < 20; i++)
    n += (size_t)snprintf(rel + n, sizeof(rel) - n, "%s/", name);
  snprintf(rel + n, sizeof(rel) - n, "deep.md");
  {
    char *md = sqlite3_mprintf(event_md, "deep");
    write_deep(root, rel, md);
    sqlite3_free(md);
  }
  assert_true(strlen(root) + strlen(rel) > 4096);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.ev USING eventmd_events(root='%q', "
          "follow_symlinks=1)",
          root);
  tu_expect(db, "Title deep|~\n", "SELECT title, problem FROM ev");
  tu_expect(db, "Title deep|~\n",
            "SELECT title, problem FROM ev WHERE path = '/%q'", rel);
  tu_expect(db, "Title deep|~\n",
            "SELECT title, problem FROM ev ORDER BY date");
  sqlite3_close(db);
  rm_deep(root);
  free(root);
}

/* ------------------------------------------------------------------------
** 6. Arguments and settings are range-checked; a table needs its root at
** CREATE.
*/
static void test_arguments(void **state) {
  char *root = tu_tmpdir();
  sqlite3 *db = tu_open();
  (void)state;
  tu_expect(db,
            "ERROR: eventmd: malformed argument "
            "'max_size=18446744073709551615': max_size must be a number of "
            "bytes from 1 to 1073741824",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='%q', "
            "max_size=18446744073709551615)",
            root);
  tu_expect(db, "ERROR: eventmd: eventmd_events needs root='/path/to/archive'",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_events");
  tu_expect(db, "ERROR: eventmd: eventmd_changes needs root='/path/to/archive'",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_changes()");
  tu_expect(db,
            "ERROR: eventmd: cache_bytes must be an integer from 0 to "
            "1099511627776",
            "SELECT eventmd_config('cache_bytes', -1)");
  tu_expect(db,
            "ERROR: eventmd: cache_bytes must be an integer from 0 to "
            "1099511627776",
            "SELECT eventmd_config('cache_bytes', 9223372036854775807)");
  tu_expect(db, "ERROR: eventmd: threads must be an integer from 1 to 64",
            "SELECT eventmd_config('threads', 65)");
  tu_expect(db, "ERROR: eventmd: threads must be an integer from 1 to 64",
            "SELECT eventmd_config('threads', '2')");
  tu_expect(db, "ERROR: eventmd: watch must be an integer from 0 to 1",
            "SELECT eventmd_config('watch', 2)");
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* ------------------------------------------------------------------------
** 9. A file edited through a shared mmap: the next statement sees it.
*/
static void test_mmap_edit(void **state) {
  char *root = tu_tmpdir(), *path;
  sqlite3 *db = tu_open();
  int fd;
  size_t len;
  char *map, *hit;
  (void)state;
  write_event(root, "news/2018/03/2/m.md", "AAAA");
  tu_exec(db, "SELECT eventmd_attach('%q')", root);
  tu_expect(db, "Title AAAA\n", "SELECT title FROM events");
  path = sqlite3_mprintf("%s/news/2018/03/2/m.md", root);
  fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  len = (size_t)lseek(fd, 0, SEEK_END);
  map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  assert_true(map != MAP_FAILED);
  hit = memmem(map, len, "AAAA", 4);
  assert_non_null(hit);
  memcpy(hit, "BBBB", 4); /* no write(), no msync */
  tu_expect(db, "Title BBBB\n", "SELECT title FROM events");
  memcpy(hit, "CCCC", 4); /* the page is already dirty: times may not move */
  tu_expect(db, "Title CCCC\n", "SELECT title FROM events");
  munmap(map, len);
  close(fd);
  sqlite3_free(path);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_confinement),
      cmocka_unit_test(test_no_escape_any_plan),
      cmocka_unit_test(test_no_escape_links_swapped),
      cmocka_unit_test(test_interrupts),
      cmocka_unit_test(test_descriptors_bounded),
      cmocka_unit_test(test_odd_names_one_rule),
      cmocka_unit_test(test_permissions_one_rule),
      cmocka_unit_test(test_deep_paths),
      cmocka_unit_test(test_arguments),
      cmocka_unit_test(test_mmap_edit),
  };
  return cmocka_run_group_tests_name("safety", tests, NULL, NULL);
}
