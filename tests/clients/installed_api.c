/* SPDX-License-Identifier: MIT */
/*
** installed_api.c - a program built only from what make install puts in
** place (eventmd.h, libeventmd.a, eventmd.pc), as a user builds one:
**
**   cc -o installed_api installed_api.c $(pkg-config --cflags --libs eventmd)
**   ./installed_api ARCHIVE_DIR
**
** It parses one event with the parser's API, then registers eventmd in an
** SQLite connection through the static entry point and counts the
** archive's events.  Prints what it found, one "name: value" per line.
*/
#include <eventmd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char event[] =
    "### [2019-03-3](/news/2019/03/3/index.md)\n"
    "\n"
    "# A tornado strikes Lee County, Alabama.\n"
    "\n"
    "The tornado's path was about 112 km long.\n"
    "\n"
    "### Sources:\n"
    "\n"
    "1. [Reuters](https://www.reuters.com/article/tornado)\n"
    "2. [BBC](https://www.bbc.co.uk/news/tornado)\n";

static int parse_one(void) {
  eventmd_event *ev = NULL;
  uint32_t i;
  int rc = eventmd_parse(&ev, event, sizeof event - 1,
                         "/news/2019/03/3/a-tornado.md", NULL);
  if (rc != EVENTMD_OK || !ev) {
    fprintf(stderr, "installed_api: eventmd_parse failed (%d)\n", rc);
    return 1;
  }
  printf("version: %s\n", EVENTMD_VERSION);
  printf("date: %s\n", ev->date ? ev->date : "(null)");
  printf("title: %s\n", ev->title ? ev->title : "(null)");
  printf("problems: %u\n", ev->problems);
  printf("sources: %u\n", (unsigned)ev->n_sources);
  for (i = 0; i < ev->n_sources; i++)
    printf("domain: %s\n",
           ev->sources[i].domain ? ev->sources[i].domain : "(null)");
  eventmd_event_free(ev);
  return 0;
}

static int count_events(const char *root) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char *err = NULL;
  int rc = sqlite3_open(":memory:", &db);
  if (rc == SQLITE_OK) rc = sqlite3_eventmd_init(db, &err, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db,
                            "SELECT eventmd_version(), count(*) "
                            "FROM eventmd_events(?)",
                            -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    printf("sql version: %s\n", (const char *)sqlite3_column_text(st, 0));
    printf("events: %d\n", sqlite3_column_int(st, 1));
  } else {
    fprintf(stderr, "installed_api: %s\n", err ? err : sqlite3_errmsg(db));
    rc = SQLITE_ERROR;
  }
  sqlite3_finalize(st);
  sqlite3_free(err);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: installed_api ARCHIVE_DIR\n");
    return 2;
  }
  if (parse_one()) return 1;
  return count_events(argv[1]);
}
