/* SPDX-License-Identifier: MIT */
/*
** test_parse.c - unit tests of the parser (bytes in, event out), with cmocka.
**
** 1. The seed file from the real archive (../shared/seed/example-event.md,
**    or $EVENTMD_SEED) gives exactly the rows of SPEC §3.  Its absence is a
**    failure, said loudly: the seed is on every development and CI machine.
** 2. One table-driven case per rule of SPEC §2: each case is a markdown text,
**    a path, and the expected rendering of one part of the event.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventmd.h"
#include "parser.h"
#include "seed.h"

/* ------------------------------------------------------------------------
** Helpers.
*/
static eventmd_event *parse(const char *md, size_t len, const char *path) {
  eventmd_event *ev = NULL;
  assert_int_equal(eventmd_parse(&ev, md, len, path, NULL), EVENTMD_OK);
  assert_non_null(ev);
  return ev;
}

/* Render s (NULL as "~") into a growing buffer. */
static void put(char **buf, size_t *n, const char *s) {
  size_t l;
  if (!s) s = "~";
  l = strlen(s);
  *buf = realloc(*buf, *n + l + 1);
  memcpy(*buf + *n, s, l + 1);
  *n += l;
}

/* One part of the event as text: "title", "summary", "date", "cover",
** "day_index", "is_current", "problem", "counts", "topic", or rows of "sources",
** "related", "changes" (fields joined by '|', rows by '\n'). */
static char *render(const eventmd_event *ev, const char *what) {
  char *out = calloc(1, 1), num[32];
  size_t n = 0;
  uint32_t i;
  if (!strcmp(what, "title"))
    put(&out, &n, ev->title);
  else if (!strcmp(what, "topic"))
    put(&out, &n, ev->topic);
  else if (!strcmp(what, "summary"))
    put(&out, &n, ev->summary);
  else if (!strcmp(what, "date"))
    put(&out, &n, ev->date);
  else if (!strcmp(what, "cover"))
    put(&out, &n, ev->cover_image);
  else if (!strcmp(what, "day_index"))
    put(&out, &n, ev->day_index);
  else if (!strcmp(what, "problem"))
    put(&out, &n, ev->problem);
  else if (!strcmp(what, "is_current"))
    put(&out, &n, ev->is_current ? "1" : "0");
  else if (!strcmp(what, "counts")) {
    snprintf(num, sizeof(num), "%u/%u/%u", ev->n_sources, ev->n_related,
             ev->n_changes);
    put(&out, &n, num);
  } else if (!strcmp(what, "sources")) {
    for (i = 0; i < ev->n_sources; i++) {
      if (i) put(&out, &n, "\n");
      put(&out, &n, ev->sources[i].name);
      put(&out, &n, "|");
      put(&out, &n, ev->sources[i].url);
      put(&out, &n, "|");
      put(&out, &n, ev->sources[i].domain);
    }
  } else if (!strcmp(what, "related")) {
    for (i = 0; i < ev->n_related; i++) {
      if (i) put(&out, &n, "\n");
      put(&out, &n, ev->related[i].title);
      put(&out, &n, "|");
      put(&out, &n, ev->related[i].target);
      put(&out, &n, "|");
      put(&out, &n, ev->related[i].target_date);
      put(&out, &n, "|");
      put(&out, &n, ev->related[i].context);
    }
  } else if (!strcmp(what, "changes")) {
    for (i = 0; i < ev->n_changes; i++) {
      if (i) put(&out, &n, "\n");
      put(&out, &n, ev->changes[i].title);
      put(&out, &n, "|");
      put(&out, &n, ev->changes[i].target);
      put(&out, &n, "|");
      put(&out, &n, ev->changes[i].changed_at);
      put(&out, &n, "|");
      put(&out, &n, ev->changes[i].label);
      put(&out, &n, "|");
      put(&out, &n, ev->changes[i].is_current ? "1" : "0");
    }
  } else {
    fail_msg("unknown part %s", what);
  }
  return out;
}

/* ------------------------------------------------------------------------
** 1. The seed file.
*/
static void check_seed(const eventmd_event *ev) {
  assert_string_equal(ev->date, "2014-02-13");
  assert_string_equal(
      ev->title,
      "During a two-day visit by an Egyptian delegation in Moscow, Russian "
      "Foreign Minister Sergey Lavrov said that Moscow and Cairo have agreed "
      "to speed up work on drafting agreements on military-technological "
      "cooperation. Russian Defense Minister Sergey Shoigu added that this "
      "could include joint military exercises and training of Egyptian "
      "officers in Russian military academies.");
  assert_string_equal(ev->summary,
                      "Russian leader makes surprise declaration of support "
                      "for Field Marshal Sisi's presidential bid - which has "
                      "not yet been announced");
  assert_string_equal(ev->cover_image,
                      "http://i.telegraph.co.uk/multimedia/archive/02820/"
                      "Abdel-Fattah-al-Si_2820907k.jpg");
  assert_string_equal(ev->day_index, "/news/2014/02/13/index.md");
  assert_int_equal(ev->n_sources, 3);
  assert_int_equal(ev->n_related, 5);
  assert_int_equal(ev->n_changes, 3);
  assert_int_equal(ev->is_current, 1);
  assert_null(ev->problem);
  assert_string_equal(ev->sources[0].name, "Al-Ahram");
  assert_string_equal(ev->sources[1].name, "The Hindu");
  assert_string_equal(ev->sources[2].name, "The Telegraph");
  assert_string_equal(ev->sources[0].domain, "english.ahram.org.eg");
  assert_string_equal(ev->sources[1].domain, "thehindu.com");
  assert_string_equal(ev->sources[2].domain, "telegraph.co.uk");
  assert_string_equal(ev->related[2].target_date, "2017-10-09");
  assert_string_equal(ev->related[2].context, "Moscow");
  assert_string_equal(ev->related[0].context, "Moscow, Sergey Lavrov");
  assert_string_equal(
      ev->related[0].title,
      "U.S. Secretary of State John Kerry leaves for Moscow for talks on Syria "
      "and Ukraine with Russian President Vladimir Putin and Foreign Minister "
      "Sergey Lavrov on Wednesday. Kerry is also expected to discuss the case "
      "of Ukrainian pilot Nadiya Savchenko, who today was sentenced to 22 "
      "years in prison in the city of Donetsk.");
  assert_string_equal(ev->changes[0].changed_at, "2017-08-25 03:40:01");
  assert_string_equal(ev->changes[0].label, "First version");
  assert_int_equal(ev->changes[0].is_current, 0);
  assert_string_equal(ev->changes[1].label, "Update");
  assert_null(ev->changes[2].changed_at);
  assert_string_equal(ev->changes[2].label, "Current version");
  assert_int_equal(ev->changes[2].is_current, 1);
  assert_string_equal(ev->changes[2].target, SEED_PATH);
}

static void test_seed(void **state) {
  size_t len;
  char *md = seed_read(&len);
  eventmd_event *ev = parse(md, len, SEED_PATH);
  (void)state;
  check_seed(ev);
  eventmd_event_free(ev);
  free(md);
}

/* The seed stored under another path is an older version: is_current 0. */
static void test_seed_elsewhere_not_current(void **state) {
  size_t len;
  char *md = seed_read(&len);
  eventmd_event *ev = parse(md, len, "/news/2014/02/13/older.md");
  (void)state;
  assert_int_equal(ev->is_current, 0);
  eventmd_event_free(ev);
  free(md);
}

/* CRLF line endings give exactly the same event. */
static void test_seed_crlf(void **state) {
  size_t len, i, o = 0;
  char *md = seed_read(&len), *crlf = malloc(len * 2 + 1);
  eventmd_event *ev;
  (void)state;
  for (i = 0; i < len; i++) {
    if (md[i] == '\n') crlf[o++] = '\r';
    crlf[o++] = md[i];
  }
  ev = parse(crlf, o, SEED_PATH);
  check_seed(ev);
  eventmd_event_free(ev);
  free(crlf);
  free(md);
}

/* A UTF-8 byte order mark does not hide the date heading. */
static void test_seed_bom(void **state) {
  size_t len;
  char *md = seed_read(&len), *bom = malloc(len + 4);
  eventmd_event *ev;
  (void)state;
  memcpy(bom, "\xEF\xBB\xBF", 3);
  memcpy(bom + 3, md, len);
  ev = parse(bom, len + 3, SEED_PATH);
  check_seed(ev);
  eventmd_event_free(ev);
  free(bom);
  free(md);
}

/* ------------------------------------------------------------------------
** 2. One case per rule.
*/
typedef struct rule_case {
  const char *rule; /* what the case checks */
  const char *md;   /* the file */
  const char *path; /* its path, or NULL */
  const char *part; /* render() part */
  const char *want; /* expected rendering */
} rule_case;

#define H "### [2014-02-13](/news/2014/02/13/index.md)\n\n"
#define P "/news/2014/02/13/x.md"

static const rule_case cases[] = {
    /* Plain text of inline content. */
    {"plain text: emphasis markers vanish, code literal kept",
     H "# A *b* **c** `d e` _f_\n", P, "title", "A b c d e f"},
    {"plain text: image gives its alt text, link its text",
     H "# See ![the *alt*](i.png) and [link](u)\n", P, "title",
     "See the alt and link"},
    {"plain text: raw inline HTML dropped",
     H "# a <span class=\"x\">b</span> c\n", P, "title", "a b c"},
    {"plain text: entities decoded",
     H "# Sisi&#039;s &amp; &quot;q&quot; &copy; &#x41;\n", P, "title",
     "Sisi's & \"q\" \xC2\xA9 A"},
    {"plain text: backslash escapes decoded",
     H "# a \\* b \\_ c \\[d\\] \\# \\\\\n", P, "title", "a * b _ c [d] # \\"},
    {"plain text: soft break is one space", H "# T\n\nline one\nline two\n", P,
     "summary", "line one line two"},
    {"plain text: hard break is a newline", H "# T\n\nline one  \nline two\n",
     P, "summary", "line one\nline two"},
    {"plain text: leading and trailing space trimmed",
     H "# T\n\n### Related:\n\n1. [  padded title  ](/news/2017/10/9/y.md)\n",
     P, "related", "padded title|/news/2017/10/9/y.md|2017-10-09|~"},
    /* Title. */
    {"title: setext H1",
     "### [2014-02-13](/news/2014/02/13/index.md)\n\nThe "
     "title\n=========\n\nsummary\n",
     P, "title", "The title"},
    {"title: first H1 wins", H "# One\n\n# Two\n", P, "title", "One"},
    {"title: none gives a problem", H "## Not a title\n", P, "problem",
     "no title"},
    {"title: empty H1 is no title", H "#\n\ntext\n", P, "title", "~"},
    /* Summary. */
    {"summary: paragraphs joined by a blank line",
     H "# T\n\nfirst para\n\nsecond para\n\n### Source:\n", P, "summary",
     "first para\n\nsecond para"},
    {"summary: NULL when the H1 is followed by a heading",
     H "# T\n### Source:\n1. [A](http://a.com/)\n", P, "summary", "~"},
    {"summary: HTML blocks are not text",
     H "# T\n\n<div>\nhidden\n</div>\n\nshown\n", P, "summary", "shown"},
    /* Date heading. */
    {"date heading: link href is day_index", H "# T\n", "/x.md", "day_index",
     "/news/2014/02/13/index.md"},
    {"date heading: gives the date when the path has none", H "# T\n",
     "/drafts/x.md", "date", "2014-02-13"},
    {"date heading: without a link, no day_index", "### 2014-02-13\n\n# T\n",
     "/x.md", "day_index", "~"},
    {"date heading: after the H1 it does not count", "# T\n\n### 2014-02-13\n",
     "/x.md", "problem", "no date"},
    {"date heading: differs from the path",
     "### [2014-02-12](/news/2014/02/12/index.md)\n\n# T\n", P, "problem",
     "date heading 2014-02-12 differs from path"},
    {"date heading: path date wins", "### 2014-02-12\n\n# T\n", P, "date",
     "2014-02-13"},
    {"date heading: not a real date", "### 2014-02-30\n\n# T\n", "/x.md",
     "date", "~"},
    /* Path dates. */
    {"path date: unpadded month and day", "# T\n", "/news/2017/10/9/x.md",
     "date", "2017-10-09"},
    {"path date: first run of folders", "# T\n",
     "/2014/x/2015/3/4/2016/5/6/a.md", "date", "2015-03-04"},
    {"path date: the file name is not a folder", "# T\n", "/news/2014/02/13.md",
     "date", "~"},
    {"path date: invalid day", "# T\n", "/news/2015/2/29/a.md", "date", "~"},
    {"path date: leap day", "# T\n", "/news/2016/2/29/a.md", "date",
     "2016-02-29"},
    /* Sections. */
    {"sections: heading spellings",
     H "# T\n\n## SOURCES\n\n1. [A](http://a.com/x)\n\n#### related :\n\n"
       "1. [B](/news/2015/1/2/b.md)\n\n# Changes\n\n1. [C](/c.md) _(Update)_\n",
     P, "counts", "1/1/1"},
    {"sections: repeated sections add up",
     H "# T\n\n### Source:\n\n1. [A](http://a.com/)\n\n### Source:\n\n"
       "1. [B](http://b.com/)\n",
     P, "sources", "A|http://a.com/|a.com\nB|http://b.com/|b.com"},
    {"sections: missing sections give no rows", H "# T\n\nsummary only\n", P,
     "counts", "0/0/0"},
    {"sections: another heading ends a section",
     H "# T\n\n### Source:\n\n1. [A](http://a.com/)\n\n### Notes\n\n"
       "1. [B](http://b.com/)\n",
     P, "sources", "A|http://a.com/|a.com"},
    {"sections: list numbering ignored (repeated numbers)",
     H "# T\n\n### Source:\n\n3. [A](http://a.com/)\n3. [B](http://b.com/)\n"
       "1. [C](http://c.com/)\n",
     P, "sources",
     "A|http://a.com/|a.com\nB|http://b.com/|b.com\nC|http://c.com/|c.com"},
    {"sections: bullet lists count too",
     H "# T\n\n### Source:\n\n- [A](http://a.com/)\n- [B](http://b.com/)\n", P,
     "counts", "2/0/0"},
    /* Items. */
    {"items: an item without a link keeps its text, url NULL",
     H "# T\n\n### Source:\n\n1. Print edition, page *4*\n", P, "sources",
     "Print edition, page 4|~|~"},
    {"items: Cover Image in any case sets cover_image, first wins",
     H "# T\n\n### Source:\n\n1. [A](http://a.com/)\n2. [cover "
       "IMAGE](http://c/1.jpg)\n"
       "3. [Cover Image](http://c/2.jpg)\n",
     P, "cover", "http://c/1.jpg"},
    {"items: Cover Image items are not sources rows",
     H "# T\n\n### Source:\n\n1. [A](http://a.com/)\n2. [COVER "
       "IMAGE](http://c/1.jpg)\n",
     P, "counts", "1/0/0"},
    {"items: emphasis inside the link text is not the annotation",
     H "# T\n\n### Related:\n\n1. [a _Context: no_ b](/news/2015/1/2/b.md)\n",
     P, "related", "a Context: no b|/news/2015/1/2/b.md|2015-01-02|~"},
    {"items: the annotation after the link",
     H "# T\n\n### Related:\n\n1. [a _b_](/r.md) text _Context: Cairo, Giza_ "
       "_x_\n",
     P, "related", "a b|/r.md|~|Cairo, Giza"},
    {"items: annotation in another paragraph does not count",
     H "# T\n\n### Related:\n\n1. [a](/r.md)\n\n   _Context: later_\n", P,
     "related", "a|/r.md|~|~"},
    {"items: first link of the item",
     H "# T\n\n### Related:\n\n1. see [a](/a.md) and [b](/b.md)\n", P,
     "related", "a|/a.md|~|~"},
    {"items: link URL entities and escapes decoded",
     H "# T\n\n### Source:\n\n1. [A](http://a.com/?x=1&amp;y=\\_2)\n", P,
     "sources", "A|http://a.com/?x=1&y=_2|a.com"},
    /* Changes annotations. */
    {"changes: date-time and label",
     H "# T\n\n### Changes:\n\n1. [v1](/v1.md) _2017-08-25 03:40:01 (First "
       "version)_\n"
       "2. [v2](" P ") _(Current version)_\n",
     P, "changes",
     "v1|/v1.md|2017-08-25 03:40:01|First version|0\nv2|" P
     "|~|Current version|1"},
    {"changes: current version elsewhere makes is_current 0",
     H "# T\n\n### Changes:\n\n1. [v2](/news/2014/02/13/y.md) _(Current "
       "version)_\n",
     P, "is_current", "0"},
    {"changes: no current version change is current",
     H "# T\n\n### Changes:\n\n1. [v1](/v1.md) _2017-08-25 03:40:01 (First "
       "version)_\n",
     P, "is_current", "1"},
    {"changes: a date-time without label, a label without parentheses",
     H "# T\n\n### Changes:\n\n1. [a](/a.md) _2017-08-25 03:40:01_\n"
       "2. [b](/b.md) _Update_\n",
     P, "changes", "a|/a.md|2017-08-25 03:40:01|~|0\nb|/b.md|~|Update|0"},
    {"changes: an item without a link still has its annotation",
     H "# T\n\n### Changes:\n\n1. Edited by hand _2017-08-25 03:40:01 "
       "(Update)_\n",
     P, "changes",
     "Edited by hand 2017-08-25 03:40:01 (Update)|~|2017-08-25 "
     "03:40:01|Update|0"},
    /* Domains. */
    {"domain: www. and port removed, lower-cased",
     H
     "# T\n\n### Source:\n\n1. [A](HTTP://WWW.Example.COM:8080/x)\n"
     "2. [B](https://user:pw@news.site.org/x?q#f)\n3. [C](mailto:a@b.c)\n"
     "4. [D](/relative/path)\n5. [E](//cdn.net/x)\n6. [F](http://[::1]:80/)\n",
     P, "sources",
     "A|HTTP://WWW.Example.COM:8080/x|example.com\n"
     "B|https://user:pw@news.site.org/x?q#f|news.site.org\n"
     "C|mailto:a@b.c|~\nD|/relative/path|~\nE|//cdn.net/x|cdn.net\n"
     "F|http://[::1]:80/|[::1]"},
    /* 1.1: date headings as the archive writes them. */
    {"date heading: unpadded month and day are normalised",
     "### [2018-03-2](/news/2018/03/2/index.md)\n\n# T\n", "/drafts/x.md",
     "date", "2018-03-02"},
    {"date heading: unpadded heading keeps its link as day_index",
     "### [2018-3-2](/news/2018/03/2/index.md)\n\n# T\n", "/drafts/x.md",
     "day_index", "/news/2018/03/2/index.md"},
    {"date heading: unpadded heading that differs from the path",
     "### [2018-03-1](/news/2018/03/1/index.md)\n\n# T\n",
     "/news/2018/03/2/x.md", "problem",
     "date heading 2018-03-01 differs from path"},
    {"date heading: unpadded heading equal to the path is no problem",
     "### [2018-03-2](/news/2018/03/2/index.md)\n\n# T\n",
     "/news/2018/3/2/x.md", "problem", "~"},
    {"date heading: three-digit day is not a date", "### 2018-03-002\n\n# T\n",
     "/x.md", "date", "~"},
    /* 1.1: topics. */
    {"topic: the heading before the title",
     "### [2018-03-2](/news/2018/03/2/index.md)\n##### 2018 Ouagadougou "
     "attacks\n# T\n",
     "/news/2018/03/2/x.md", "topic", "2018 Ouagadougou attacks"},
    {"topic: the last heading before the title wins",
     "##### First\n### [2018-03-2](/news/2018/03/2/index.md)\n##### "
     "Second\n# T\n",
     "/news/2018/03/2/x.md", "topic", "Second"},
    {"topic: a date-shaped heading is never a topic",
     "### [2018-03-2](/news/2018/03/2/index.md)\n##### 2018-02-30\n# T\n",
     "/news/2018/03/2/x.md", "topic", "~"},
    {"topic: the date heading is not the topic",
     "### [2018-03-2](/news/2018/03/2/index.md)\n# T\n", "/news/2018/03/2/x.md",
     "topic", "~"},
    {"topic: a section heading is not a topic",
     "### Changes:\n##### Story\n### Related:\n# T\n", "/x.md", "topic",
     "Story"},
    {"topic: headings after the title are not topics", H "# T\n\n##### Later\n",
     P, "topic", "~"},
    {"topic: plain text of the heading", H "##### *Brexit* &amp; \\#EU\n# T\n",
     P, "topic", "Brexit & #EU"},
    {"topic: no H1, the heading before the first section",
     H "##### Story\n### Source:\n1. [A](http://a.com/)\n##### Not\n", P,
     "topic", "Story"},
    {"preamble: the Formats line is neither summary nor topic",
     "Formats: [HTML](2018/03/2/x.html) [JSON](2018/03/2/x.json) "
     "[XML](2018/03/2/x.xml)\n### [2018-03-2](/news/2018/03/2/index.md)\n"
     "# T\n\nthe summary\n",
     "/news/2018/03/2/x.md", "summary", "the summary"},
    /* 1.1: the Chinese mirror. */
    {"mirror: 信息来源 is the sources section",
     H "# T\n\n### 信息来源:\n\n1. [新华网](http://www.news.cn/a)\n", P,
     "sources", "新华网|http://www.news.cn/a|news.cn"},
    {"mirror: 有关 is the related section, 消息 its context",
     H "# T\n\n### 有关:\n\n1. [标题](/zh/news/2019/03/3/x.md) _消息: "
       "北京, 上海_\n",
     P, "related", "标题|/zh/news/2019/03/3/x.md|2019-03-03|北京, 上海"},
    {"mirror: full-width colons too",
     H "# T\n\n### 有关：\n\n1. [a](/r.md) _消息：北京_\n", P, "related",
     "a|/r.md|~|北京"},
    {"mirror: [IMG] sets the cover image, the item stays a source",
     H "# T\n\n### 信息来源:\n\n1. [A](http://a.com/x) "
       "[IMG](http://img.cn/1.jpg)\n2. [B](http://b.com/y) "
       "[img](http://img.cn/2.jpg)\n",
     P, "cover", "http://img.cn/1.jpg"},
    {"mirror: [IMG] items are sources rows",
     H "# T\n\n### 信息来源:\n\n1. [A](http://a.com/x) "
       "[IMG](http://img.cn/1.jpg)\n",
     P, "sources", "A|http://a.com/x|a.com"},
    {"mirror: a Cover Image item before an [IMG] wins",
     H "# T\n\n### Source:\n\n1. [Cover Image](http://c/0.jpg)\n2. "
       "[A](http://a.com/x) [IMG](http://img.cn/1.jpg)\n",
     P, "cover", "http://c/0.jpg"},
    /* 1.1: section order. */
    {"sections: Changes before Related (newer files)",
     H "# T\n\n### Changes:\n\n1. [v](/v.md) _(Update)_\n\n### "
       "Related:\n\n1. [r](/r.md)\n2. [s](/s.md)\n",
     P, "counts", "0/2/1"},
    /* 1.1: a file's own path date is read literally. */
    {"path date: '#' and '?' in folder names are plain characters", "# T\n",
     "/a#b/2014/02/13/x.md", "date", "2014-02-13"},
    {"path date: a '?' folder before the date run", "# T\n",
     "/what?/2015/3/4/x.md", "date", "2015-03-04"},
    /* Bytes. */
    {"bytes: invalid UTF-8 replaced and reported", H "# caf\xE9 \xFF\n", P,
     "title", "caf\xEF\xBF\xBD \xEF\xBF\xBD"},
    {"bytes: invalid UTF-8 problem", H "# caf\xE9\n", P, "problem",
     "invalid UTF-8"},
    {"bytes: empty file", "", "/x.md", "problem", "no title; no date"},
    {"bytes: empty file in a day folder", "", P, "counts", "0/0/0"},
};

static void test_rules(void **state) {
  size_t i, failures = 0;
  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const rule_case *c = &cases[i];
    eventmd_event *ev = parse(c->md, strlen(c->md), c->path);
    char *got = render(ev, c->part);
    if (strcmp(got, c->want) != 0) {
      print_error("rule '%s' (%s):\n  want: %s\n  got:  %s\n", c->rule, c->part,
                  c->want, got);
      failures++;
    }
    free(got);
    eventmd_event_free(ev);
  }
  assert_int_equal(failures, 0);
}

/* NUL bytes are reported and do not cut the text short. */
static void test_nul_bytes(void **state) {
  static const char md[] = H "# a\0b\n\nafter\n";
  eventmd_event *ev = parse(md, sizeof(md) - 1, P);
  (void)state;
  assert_string_equal(ev->problem, "NUL bytes");
  assert_string_equal(ev->title,
                      "a\xEF\xBF\xBD"
                      "b");
  assert_string_equal(ev->summary, "after");
  eventmd_event_free(ev);
}

/* Every string of the event lives inside its one allocation. */
static void test_one_allocation(void **state) {
  size_t len;
  char *md = seed_read(&len);
  eventmd_event *ev = parse(md, len, SEED_PATH);
  const char *lo = (const char *)ev, *hi = lo + ev->mem_size;
  uint32_t i;
  (void)state;
#define INSIDE(p) \
  assert_true(!(p) || ((const char *)(p) >= lo && (const char *)(p) < hi))
  INSIDE(ev->title);
  INSIDE(ev->summary);
  INSIDE(ev->cover_image);
  for (i = 0; i < ev->n_related; i++) {
    INSIDE(ev->related[i].title);
    INSIDE(ev->related[i].context);
  }
  for (i = 0; i < ev->n_changes; i++) INSIDE(ev->changes[i].label);
#undef INSIDE
  eventmd_event_free(ev);
  free(md);
}

/* Out of memory in the parser's allocator is reported, never a crash. */
typedef struct fail_ctx {
  int countdown; /* allocations to allow before failing */
  int live;      /* outstanding allocations */
} fail_ctx;
static void *f_malloc(void *ctx, size_t n) {
  fail_ctx *f = ctx;
  if (f->countdown-- <= 0) return NULL;
  f->live++;
  return malloc(n);
}
static void *f_realloc(void *ctx, void *p, size_t n) {
  fail_ctx *f = ctx;
  if (f->countdown-- <= 0) return NULL;
  if (!p) f->live++;
  return realloc(p, n);
}
static void f_free(void *ctx, void *p) {
  fail_ctx *f = ctx;
  if (p) f->live--;
  free(p);
}

static void test_parse_nomem(void **state) {
  size_t len;
  char *md = seed_read(&len);
  int n, ok = 0;
  (void)state;
  for (n = 0; n < 200 && !ok; n++) {
    fail_ctx f = {n, 0};
    eventmd_allocator al = {f_malloc, f_realloc, f_free, &f};
    eventmd_parse_options o = {&al, NULL};
    eventmd_event *ev = NULL;
    int rc = eventmd_parse(&ev, md, len, SEED_PATH, &o);
    if (rc == EVENTMD_OK) {
      check_seed(ev);
      eventmd_event_free(ev);
      ok = 1;
    } else {
      assert_int_equal(rc, EVENTMD_NOMEM);
      assert_null(ev);
    }
    assert_int_equal(f.live, 0); /* nothing leaked on any path */
  }
  assert_true(ok);
  free(md);
}

/* Memory a parse may take is bounded: with the guard off, input that makes
** cmark keep ~180 bytes per byte stops at the arena's budget and says so,
** instead of exhausting (or aborting) the host. */
static void test_arena_budget(void **state) {
  size_t n = 2000000, i, plen;
  char *md = malloc(n), problem[256];
  eventmd_parser *p = eventmd_parser_new(NULL);
  const emd_rec *r = NULL;
  (void)state;
  for (i = 0; i < n; i += 2) memcpy(md + i, "[a", 2);
  assert_int_equal(emd_parse_record(p, md, n, EMD_REC_EVENT, 0, &r),
                   EVENTMD_OK);
  plen = emd_rec_problem(r, "2014-02-13", problem, sizeof(problem));
  assert_true(plen > 0);
  assert_string_equal(problem,
                      "not parsed: markdown too complex (parsing it would need "
                      "too much memory)");
  assert_int_equal(emd_rec_count(r, EMD_T_SOURCES), 0);
  eventmd_parser_free(p);
  free(md);
}

/* Regression (found by fuzz_parse): the "date heading X differs from path"
** text copied the date out of the pool while appending to that same pool,
** which may move: garbled text or a use after free.  Titles of every length
** around the pool's growth steps must give the exact text. */
static void test_date_differs_pool_growth(void **state) {
  char md[3000];
  int len, bad = 0;
  (void)state;
  for (len = 900; len < 2200; len++) {
    eventmd_event *ev;
    int n = snprintf(md, sizeof(md),
                     "### [2014-02-12](/news/2014/02/12/index.md)\n\n# ");
    memset(md + n, 'x', (size_t)len);
    md[n + len] = '\n';
    ev = parse(md, (size_t)(n + len + 1), P);
    if (!ev->problem ||
        strcmp(ev->problem, "date heading 2014-02-12 differs from path")) {
      print_error("title of %d bytes: problem '%s'\n", len, ev->problem);
      bad++;
    }
    eventmd_event_free(ev);
  }
  assert_int_equal(bad, 0);
}

/* The guard flags the shapes that make cmark 0.30 slow, not ordinary text. */
static void test_guard(void **state) {
  char *deep = malloc(200), *ok = malloc(200);
  size_t i;
  (void)state;
  for (i = 0; i < 66; i++) memcpy(deep + 2 * i, "> ", 2);
  strcpy(deep + 132, "a\n");
  assert_non_null(eventmd_guard(deep, strlen(deep)));
  for (i = 0; i < 6; i++) memcpy(ok + 2 * i, "> ", 2);
  strcpy(ok + 12, "- 1. a\n");
  assert_null(eventmd_guard(ok, strlen(ok)));
  free(deep);
  free(ok);
}

/* ------------------------------------------------------------------------
** 3. Day pages: their links to event files and the topics above them.
*/
static char *daylinks(const char *md) {
  eventmd_parser *p = eventmd_parser_new(NULL);
  const emd_rec *r = NULL;
  char *out = calloc(1, 1);
  size_t n = 0;
  uint32_t i;
  assert_int_equal(emd_parse_record(p, md, strlen(md), EMD_REC_DAYPAGE, 1, &r),
                   EVENTMD_OK);
  for (i = 0; i < emd_rec_count(r, EMD_T_DAYLINKS); i++) {
    emd_str f[EMD_ROW_MAXFIELDS];
    char *a, *b;
    emd_rec_row(r, EMD_T_DAYLINKS, i, f);
    a = f[0].p ? strndup(f[0].p, f[0].n) : NULL;
    b = f[1].p ? strndup(f[1].p, f[1].n) : NULL;
    if (i) put(&out, &n, "\n");
    put(&out, &n, a);
    put(&out, &n, "|");
    put(&out, &n, b);
    free(a);
    free(b);
  }
  eventmd_parser_free(p);
  return out;
}

static void test_daypage(void **state) {
  static const struct {
    const char *rule, *md, *want;
  } dcases[] = {
      {"README.md: H3 links under H5 topics",
       "Formats: [HTML](2018/03/2/index.html)  [JSON](2018/03/2/index.json)\n"
       "## [2018-03-2](/news/2018/03/2/index.md)\n"
       "##### Harbour fire\n"
       "### [A fire destroys 12 boats. ](/news/2018/03/2/a-fire.md)\n"
       "_Context: Harbour, Fire brigade_\n"
       "##### 2018 city elections\n"
       "### [Voters elect a mayor. ](/news/2018/03/2/voters.md)\n"
       "The summary of the event, with [a link](/news/2018/03/2/not.md).\n"
       "### [Turnout is high. ](/news/2018/03/2/turnout.md)\n"
       "## [Previous Day...](/news/2018/03/1/index.md)\n",
       "/news/2018/03/2/a-fire.md|Harbour fire\n"
       "/news/2018/03/2/voters.md|2018 city elections\n"
       "/news/2018/03/2/turnout.md|2018 city elections"},
      {"index.md: a numbered list of links, no topics",
       "### 2014-02-13\n\n1. [One](/news/2014/02/13/one.md)\n"
       "2. [Two](/news/2014/02/13/two.md)\n",
       "/news/2014/02/13/one.md|~\n/news/2014/02/13/two.md|~"},
      {"an H2 ends a topic; a date-shaped H5 is no topic",
       "##### Story\n## Other\n### [a](/a.md)\n##### 2018-3-2\n"
       "### [b](/b.md)\n",
       "/a.md|~\n/b.md|~"},
      {"an event before any topic has none",
       "## [2018-03-2](/news/2018/03/2/index.md)\n### [a](/a.md)\n"
       "##### T\n### [b](/zh/news/2018/03/2/b.md)\n",
       "/a.md|~\n/zh/news/2018/03/2/b.md|T"},
  };
  size_t i, failures = 0;
  (void)state;
  for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
    char *got = daylinks(dcases[i].md);
    if (strcmp(got, dcases[i].want) != 0) {
      print_error("day page '%s':\n  want: %s\n  got:  %s\n", dcases[i].rule,
                  dcases[i].want, got);
      failures++;
    }
    free(got);
  }
  assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------------
** 4. Records from outside (a cache file) are checked before use: every
** record the parser makes passes; truncated ones and ones with a byte
** changed are refused or, when they still pass, read within bounds (the
** sanitizer builds would catch a read outside).
*/
/* Touch every byte of a string (a read outside the record would show). */
static unsigned touch(emd_str s) {
  unsigned v = 0;
  uint32_t i;
  for (i = 0; s.p && i < s.n; i++) v += (unsigned char)s.p[i];
  return v;
}

static void read_everything(const emd_rec *r) {
  int k, t;
  volatile unsigned sum = 0;
  for (k = 0; k < EMD_NFIELDS; k++) sum += touch(emd_rec_field(r, k));
  for (t = 0; t < EMD_NTABLES; t++) {
    uint32_t i;
    for (i = 0; i < emd_rec_count(r, t); i++) {
      emd_str f[EMD_ROW_MAXFIELDS];
      int nf = emd_rec_row(r, t, i, f), j;
      for (j = 0; j < nf; j++) sum += touch(f[j]);
    }
  }
}

static void test_record_check(void **state) {
  size_t len, i, refused = 0, n;
  char *md = seed_read(&len);
  eventmd_parser *p = eventmd_parser_new(NULL);
  const emd_rec *r = NULL;
  uint32_t *copy;
  (void)state;
  assert_int_equal(emd_parse_record(p, md, len, EMD_REC_EVENT, 1, &r),
                   EVENTMD_OK);
  n = r->size;
  assert_true(emd_rec_check(r, n));
  copy = malloc(n + 8);
  for (i = 0; i < n; i++) {
    memcpy(copy, r, n);
    assert_false(emd_rec_check(copy, i)); /* truncated */
    ((unsigned char *)copy)[i] ^= 0xA5;
    if (emd_rec_check(copy, n))
      read_everything((const emd_rec *)(const void *)copy);
    else
      refused++;
  }
  /* A changed header or offset byte is always refused. */
  assert_true(refused >= sizeof(emd_rec));
  free(copy);
  eventmd_parser_free(p);
  free(md);
}

/* ------------------------------------------------------------------------
** 5. What the guard refuses is left out a block at a time: what precedes
** and follows it is still read, and the problem names the lines.
*/
static char *repeat(const char *head, const char *unit, size_t times,
                    const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
  char *out = malloc(hl + ul * times + tl + 1), *o = out;
  memcpy(o, head, hl);
  o += hl;
  for (i = 0; i < times; i++, o += ul) memcpy(o, unit, ul);
  memcpy(o, tail, tl + 1);
  return out;
}

static void test_partial_parse(void **state) {
  char *md;
  eventmd_event *ev;
  (void)state;
  /* 200,000 nested block quotes between the sources and the related. */
  md = repeat(
      "### [2020-01-1](/news/2020/01/1/index.md)\n##### A topic\n# The title\n"
      "\nA summary.\n\n### Source:\n\n1. [A](http://a.com/x)\n\n",
      ">", 200000, " deep\n\n### Related:\n\n1. [r](/news/2019/1/2/r.md)\n");
  ev = parse(md, strlen(md), "/news/2020/01/01/x.md");
  assert_string_equal(ev->title, "The title");
  assert_string_equal(ev->topic, "A topic");
  assert_string_equal(ev->summary, "A summary.");
  assert_int_equal(ev->n_sources, 1);
  assert_int_equal(ev->n_related, 1);
  assert_string_equal(ev->problem,
                      "lines 11-12 not parsed: markdown nested too deeply "
                      "(over 64 levels of lists or quotes)");
  eventmd_event_free(ev);
  free(md);
  /* 100,000 nested emphasis openers and closers in the title: the title
  ** line comes out literally, markers kept; the summary after it is read. */
  md = repeat("### [2020-01-1](/news/2020/01/1/index.md)\n# *a", " *a", 99999,
              "");
  {
    char *full = repeat(md, " a*", 100000, "\n\nThe summary.\n");
    ev = parse(full, strlen(full), "/news/2020/01/01/x.md");
    assert_non_null(ev->title);
    assert_int_equal(strncmp(ev->title, "*a *a *a", 8), 0);
    assert_string_equal(ev->summary, "The summary.");
    assert_string_equal(ev->date, "2020-01-01");
    assert_non_null(strstr(ev->problem, "not parsed: markdown too complex"));
    assert_int_equal(strncmp(ev->problem, "lines 2-3", 9), 0);
    eventmd_event_free(ev);
    free(full);
  }
  free(md);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed),
      cmocka_unit_test(test_seed_elsewhere_not_current),
      cmocka_unit_test(test_seed_crlf),
      cmocka_unit_test(test_seed_bom),
      cmocka_unit_test(test_rules),
      cmocka_unit_test(test_daypage),
      cmocka_unit_test(test_record_check),
      cmocka_unit_test(test_partial_parse),
      cmocka_unit_test(test_nul_bytes),
      cmocka_unit_test(test_one_allocation),
      cmocka_unit_test(test_parse_nomem),
      cmocka_unit_test(test_arena_budget),
      cmocka_unit_test(test_guard),
      cmocka_unit_test(test_date_differs_pool_growth),
  };
  return cmocka_run_group_tests_name("parser", tests, NULL, NULL);
}
