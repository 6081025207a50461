/* SPDX-License-Identifier: MIT */
/*
** parse.c - parse one event file (or a day page): bytes in, a record out.
**
** This unit has no SQLite in it.  cmark does all markdown parsing; this file
** only reads cmark's tree and applies the rules of SPEC §2:
**
**   Formats: [HTML](…) [JSON](…) [XML](…)          preamble: ignored
**   ### [2014-02-13](/news/2014/02/13/index.md)   date heading -> day_index
**   ##### Egypt–Russia relations                   topic heading
**   # Title                                        first H1 -> title
**   Summary paragraphs                             up to the next heading
**   ### Source: / ### Related: / ### Changes:      sections (also the Chinese
**   ### 信息来源: / ### 有关:                          mirror's); their list items
**                                                  become rows
**
** A day page (README.md, index.md) is read for its links to event files and
** the topic headings above them (parse_daypage()).
**
** The result is a record (record.h): only what the tables show, in one block.
** The public API (eventmd_parse) expands a record into an eventmd_event.
** The tree is read with explicit loops over first_child/next/parent (no
** recursion, so deep input cannot exhaust the stack).
*/
#include <cmark.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "eventmd.h"
#include "parser.h"
#include "text.h"

#define NOSTR ((size_t)-1) /* offset meaning "SQL NULL" */

/* Section kinds. */
enum { SEC_NONE, SEC_SOURCES, SEC_RELATED, SEC_CHANGES };

/* Rows while parsing: string offsets into the builder's pool. */
typedef struct bsrc {
  size_t name, url;
} bsrc;
typedef struct brel {
  size_t title, target, context;
} brel;
typedef struct bchg {
  size_t title, target, changed_at, label;
} bchg;
typedef struct bday {
  size_t href, topic;
} bday;

/* A growable array of fixed-size rows. */
typedef struct barray {
  void *a;    /* rows */
  size_t n;   /* rows used */
  size_t cap; /* rows allocated */
} barray;

/* The state of one parse. */
typedef struct builder {
  const eventmd_allocator *al; /* where all memory comes from */
  int oom;                     /* an allocation failed */
  char *pool;                  /* every string, NUL-terminated */
  size_t npool;                /* bytes used in pool */
  size_t cappool;              /* bytes allocated for pool */
  barray src, rel, chg, day;   /* rows of the lists */
  size_t f[EMD_NFIELDS];       /* the event's strings (EMD_F_*) */
  unsigned problems;           /* EMD_RP_* */
} builder;

/* ------------------------------------------------------------------------
** Default allocator: the C library.
*/
static void *std_malloc(void *ctx, size_t n) {
  (void)ctx;
  return malloc(n ? n : 1);
}
static void *std_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  return realloc(p, n ? n : 1);
}
static void std_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}
static const eventmd_allocator std_alloc = {std_malloc, std_realloc, std_free,
                                            NULL};

/* ------------------------------------------------------------------------
** The string pool.
*/
static int pool_reserve(builder *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (b->oom) return 0;
  need = b->npool + extra;
  if (need <= b->cappool) return 1;
  cap = b->cappool ? b->cappool : 1024;
  while (cap < need) cap *= 2;
  p = b->al->xRealloc(b->al->ctx, b->pool, cap);
  if (!p) {
    b->oom = 1;
    return 0;
  }
  b->pool = p;
  b->cappool = cap;
  return 1;
}

static void pool_put(builder *b, const char *s, size_t n) {
  if (!n || !pool_reserve(b, n)) return;
  memcpy(b->pool + b->npool, s, n);
  b->npool += n;
}

static void pool_putc(builder *b, char c) {
  pool_put(b, &c, 1);
}

/* End the string that began at offset start: trim white space, add a NUL.
** Returns start, or NOSTR when the string is empty and !keep_empty. */
static size_t pool_end(builder *b, size_t start, int keep_empty) {
  size_t a = start, e = b->npool;
  if (b->oom) return NOSTR;
  while (a < e && emd_is_space((unsigned char)b->pool[a])) a++;
  while (e > a && emd_is_space((unsigned char)b->pool[e - 1])) e--;
  if (a == e && !keep_empty) {
    b->npool = start;
    return NOSTR;
  }
  if (a > start) memmove(b->pool + start, b->pool + a, e - a);
  b->npool = start + (e - a);
  pool_putc(b, 0);
  return b->oom ? NOSTR : start;
}

/* Copy a C string into the pool; NOSTR for NULL. */
static size_t pool_str(builder *b, const char *s, size_t n) {
  size_t at = b->npool;
  if (!s) return NOSTR;
  pool_put(b, s, n);
  pool_putc(b, 0);
  return b->oom ? NOSTR : at;
}

static const char *pool_at(const builder *b, size_t off) {
  return off == NOSTR ? NULL : b->pool + off;
}

/* ------------------------------------------------------------------------
** Row arrays.
*/
static void *array_add(builder *b, barray *arr, size_t rowsize) {
  if (b->oom) return NULL;
  if (arr->n == arr->cap) {
    size_t cap = arr->cap ? arr->cap * 2 : 8;
    void *p = b->al->xRealloc(b->al->ctx, arr->a, cap * rowsize);
    if (!p) {
      b->oom = 1;
      return NULL;
    }
    arr->a = p;
    arr->cap = cap;
  }
  return (char *)arr->a + rowsize * arr->n++;
}

/* ------------------------------------------------------------------------
** Reading cmark's tree.
*/

/* The node after n in document order, staying inside root; NULL at the end.
** When descend is 0, n's children are skipped. */
static cmark_node *tree_next(cmark_node *root, cmark_node *n, int descend) {
  cmark_node *c = descend ? cmark_node_first_child(n) : NULL;
  if (c) return c;
  while (n && n != root) {
    cmark_node *nx = cmark_node_next(n);
    if (nx) return nx;
    n = cmark_node_parent(n);
  }
  return NULL;
}

/* Append the plain text of the inline content under node (SPEC §2: text and
** code literals, soft break = space, hard break = newline, images give their
** alt text, raw HTML dropped, emphasis markers gone). */
static void put_inline_text(builder *b, cmark_node *node) {
  cmark_node *n = cmark_node_first_child(node);
  while (n) {
    const char *lit;
    switch (cmark_node_get_type(n)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
        lit = cmark_node_get_literal(n);
        if (lit) pool_put(b, lit, strlen(lit));
        break;
      case CMARK_NODE_SOFTBREAK: pool_putc(b, ' '); break;
      case CMARK_NODE_LINEBREAK: pool_putc(b, '\n'); break;
      default: break;
    }
    n = tree_next(node, n, 1);
  }
}

/* Plain text of one inline container, trimmed; NOSTR when empty unless
** keep_empty. */
static size_t inline_text(builder *b, cmark_node *node, int keep_empty) {
  size_t start = b->npool;
  put_inline_text(b, node);
  return pool_end(b, start, keep_empty);
}

/* Append the text of the blocks under (and including) node, one piece per
** paragraph, heading or code block, pieces separated by "\n\n".  *started
** says whether a piece was already written (so a separator is due). */
static void put_block_text(builder *b, cmark_node *node, int *started) {
  cmark_node *n = node;
  while (n) {
    int descend = 1;
    size_t mark = b->npool, at, piece;
    cmark_node_type t = cmark_node_get_type(n);
    if (t == CMARK_NODE_PARAGRAPH || t == CMARK_NODE_HEADING ||
        t == CMARK_NODE_CODE_BLOCK) {
      if (*started) pool_put(b, "\n\n", 2);
      at = b->npool;
      if (t == CMARK_NODE_CODE_BLOCK) {
        const char *lit = cmark_node_get_literal(n);
        if (lit) pool_put(b, lit, strlen(lit));
      } else {
        put_inline_text(b, n);
      }
      /* Trim the piece in place; drop it (and its separator) when empty. */
      piece = pool_end(b, at, 0);
      if (piece == NOSTR) {
        b->npool = mark;
      } else {
        b->npool--; /* remove the NUL: the text goes on */
        *started = 1;
      }
      descend = 0;
    } else if (t == CMARK_NODE_HTML_BLOCK || t == CMARK_NODE_THEMATIC_BREAK) {
      descend = 0;
    }
    if (n == node && !descend) break;
    n = tree_next(node, n, descend);
  }
}

/* The first link under node in document order, or NULL. */
static cmark_node *first_link(cmark_node *node) {
  cmark_node *n = cmark_node_first_child(node);
  while (n) {
    if (cmark_node_get_type(n) == CMARK_NODE_LINK) return n;
    n = tree_next(node, n, 1);
  }
  return NULL;
}

static int is_emphasis(cmark_node *n) {
  cmark_node_type t = cmark_node_get_type(n);
  return t == CMARK_NODE_EMPH || t == CMARK_NODE_STRONG;
}

/* The annotation of an item: the first emphasis after the link in the same
** paragraph (not one inside the link text).  Without a link: the first
** emphasis in the item. */
static cmark_node *find_annotation(cmark_node *item, cmark_node *link) {
  cmark_node *n, *block;
  if (!link) {
    n = cmark_node_first_child(item);
    while (n) {
      if (is_emphasis(n)) return n;
      n = tree_next(item, n, 1);
    }
    return NULL;
  }
  /* The block holding the link bounds the search. */
  block = cmark_node_parent(link);
  while (block && cmark_node_get_type(block) >= CMARK_NODE_FIRST_INLINE)
    block = cmark_node_parent(block);
  if (!block) return NULL;
  n = tree_next(block, link, 0);
  while (n) {
    if (is_emphasis(n)) return n;
    n = tree_next(block, n, 1);
  }
  return NULL;
}

/* ------------------------------------------------------------------------
** Items of the three sections.
*/

/* Shared first step of every item: its link text (or whole text) and href. */
static void item_basics(builder *b, cmark_node *item, cmark_node **link,
                        size_t *name, size_t *url) {
  *link = first_link(item);
  if (*link) {
    const char *u = cmark_node_get_url(*link);
    *name = inline_text(b, *link, 1);
    *url = u ? pool_str(b, u, strlen(u)) : NOSTR;
  } else {
    size_t start = b->npool;
    int started = 0;
    cmark_node *c;
    for (c = cmark_node_first_child(item); c; c = cmark_node_next(c))
      put_block_text(b, c, &started);
    *name = pool_end(b, start, 1);
    *url = NOSTR;
  }
}

/* Is the pool text at off, trimmed, equal to word (ASCII, any case)? */
static int text_is(const builder *b, size_t off, const char *word) {
  const char *s = pool_at(b, off);
  return s && emd_ascii_ieq(s, strlen(s), word);
}

/* A source item.  Its first link is the source, unless its text is "Cover
** Image": then it is the event's cover image and not a row.  A later link
** with text "IMG" (the Chinese mirror's way) is the cover image too, and
** the item stays a source.  The first cover image wins. */
static void add_source(builder *b, cmark_node *item) {
  cmark_node *link, *n;
  size_t name, url;
  bsrc *r;
  item_basics(b, item, &link, &name, &url);
  if (b->oom) return;
  if (link && text_is(b, name, "cover image")) {
    if (b->f[EMD_F_COVER] == NOSTR) b->f[EMD_F_COVER] = url;
    return;
  }
  r = array_add(b, &b->src, sizeof(bsrc));
  if (!r) return;
  r->name = name;
  r->url = url;
  if (!link || b->f[EMD_F_COVER] != NOSTR) return;
  for (n = tree_next(item, link, 0); n; n = tree_next(item, n, 1)) {
    size_t mark = b->npool, t;
    const char *u;
    if (cmark_node_get_type(n) != CMARK_NODE_LINK) continue;
    t = inline_text(b, n, 1);
    u = cmark_node_get_url(n);
    b->npool = mark;
    if (t != NOSTR && u && text_is(b, t, "img")) {
      b->f[EMD_F_COVER] = pool_str(b, u, strlen(u));
      return;
    }
  }
}

/* Skip a prefix such as "Context:" (ASCII case ignored) and the white space
** after it in pool text at off. */
static size_t strip_prefix(builder *b, size_t off, const char *prefix) {
  const char *s = pool_at(b, off);
  size_t n = strlen(prefix);
  if (!s || strlen(s) < n || !emd_ascii_ieq(s, n, prefix)) return off;
  off += n;
  while (emd_is_space((unsigned char)b->pool[off])) off++;
  return off;
}

static void add_related(builder *b, cmark_node *item) {
  static const char *const prefixes[] = {
      "context:", "\xe6\xb6\x88\xe6\x81\xaf:",
      "\xe6\xb6\x88\xe6\x81\xaf\xef\xbc\x9a"};
  cmark_node *link, *ann;
  size_t title, target;
  brel *r;
  item_basics(b, item, &link, &title, &target);
  ann = find_annotation(item, link);
  if (b->oom) return;
  r = array_add(b, &b->rel, sizeof(brel));
  if (!r) return;
  r->title = title;
  r->target = target;
  r->context = NOSTR;
  if (ann) {
    size_t c = inline_text(b, ann, 0), k;
    if (c != NOSTR) {
      for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
        size_t after = strip_prefix(b, c, prefixes[k]);
        if (after != c) {
          c = after;
          break;
        }
      }
      if (!b->pool[c]) c = NOSTR;
    }
    r->context = c;
  }
}

/* A Changes time stamp, "YYYY-MM-DD HH:MM:SS": its length, and where the
** time's parts start. */
#define DATETIME_LEN 19
#define AT_HOUR 11
#define AT_MINUTE 14
#define AT_SECOND 17

/* "YYYY-MM-DD HH:MM:SS" at s? */
static int is_datetime(const char *s) {
  int hh, mm, ss, i;
  for (i = 0; i < DATETIME_LEN; i++)
    if (!s[i]) return 0;
  if (!emd_is_iso_date(s, EMD_DATE_LEN) || s[EMD_DATE_LEN] != ' ' ||
      s[AT_MINUTE - 1] != ':' || s[AT_SECOND - 1] != ':')
    return 0;
  for (i = AT_HOUR; i < DATETIME_LEN; i++)
    if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9')) return 0;
  hh = (s[AT_HOUR] - '0') * 10 + (s[AT_HOUR + 1] - '0');
  mm = (s[AT_MINUTE] - '0') * 10 + (s[AT_MINUTE + 1] - '0');
  ss = (s[AT_SECOND] - '0') * 10 + (s[AT_SECOND + 1] - '0');
  return hh < 24 && mm < 60 && ss < 61;
}

static void add_change(builder *b, cmark_node *item) {
  cmark_node *link, *ann;
  size_t title, target;
  bchg *r;
  item_basics(b, item, &link, &title, &target);
  ann = find_annotation(item, link);
  if (b->oom) return;
  r = array_add(b, &b->chg, sizeof(bchg));
  if (!r) return;
  r->title = title;
  r->target = target;
  r->changed_at = NOSTR;
  r->label = NOSTR;
  if (ann) {
    size_t a = inline_text(b, ann, 0), rest, end;
    if (a == NOSTR) return;
    rest = a;
    if (is_datetime(b->pool + a)) {
      r->changed_at = a;
      rest = a + DATETIME_LEN;
      if (b->pool[rest]) {
        /* Split: the date-time keeps its own NUL, the label is copied after
        ** it (reserve first: the copy reads from the pool itself). */
        size_t lab = b->npool, restlen = strlen(b->pool + rest) + 1;
        if (!pool_reserve(b, restlen)) return;
        memcpy(b->pool + lab, b->pool + rest, restlen);
        b->npool += restlen;
        b->pool[a + DATETIME_LEN] = 0;
        rest = lab;
      }
    }
    while (emd_is_space((unsigned char)b->pool[rest])) rest++;
    end = rest + strlen(b->pool + rest);
    if (end > rest && b->pool[rest] == '(' && b->pool[end - 1] == ')') {
      rest++;
      end--;
      while (rest < end && emd_is_space((unsigned char)b->pool[rest])) rest++;
      while (end > rest && emd_is_space((unsigned char)b->pool[end - 1])) end--;
      b->pool[end] = 0;
    }
    if (end > rest) r->label = rest;
  }
}

/* Section kind of a heading's text: "Source:", "Related", "信息来源:" ... */
static int section_kind(const char *s) {
  static const char fullwidth_colon[] = "\xef\xbc\x9a";
  size_t n = strlen(s);
  if (n && s[n - 1] == ':')
    n--;
  else if (n >= 3 && !memcmp(s + n - 3, fullwidth_colon, 3))
    n -= 3;
  while (n && emd_is_space((unsigned char)s[n - 1])) n--;
  if (emd_ascii_ieq(s, n, "source") || emd_ascii_ieq(s, n, "sources") ||
      emd_ascii_ieq(s, n, "\xe4\xbf\xa1\xe6\x81\xaf\xe6\x9d\xa5\xe6\xba\x90"))
    return SEC_SOURCES;
  if (emd_ascii_ieq(s, n, "related") ||
      emd_ascii_ieq(s, n, "\xe6\x9c\x89\xe5\x85\xb3"))
    return SEC_RELATED;
  if (emd_ascii_ieq(s, n, "changes")) return SEC_CHANGES;
  return SEC_NONE;
}

/* Is the pool text at off shaped like a date ("2018-02-30" too)? */
static int date_shaped(const builder *b, size_t off) {
  const char *s = pool_at(b, off);
  int y, m, d;
  return s && emd_date_shape(s, strlen(s), &y, &m, &d);
}

/* Walk the document's top-level blocks (SPEC §2). */
/* How a piece of a file is read: the whole (or its first piece), a piece
** after a refused part, or a piece right after a refused title line (its
** summary comes first). */
enum { PIECE_FIRST, PIECE_NEXT, PIECE_AFTER_TITLE };

static void read_document(builder *b, cmark_node *doc, int piece) {
  cmark_node *c;
  int section = SEC_NONE, in_summary = piece == PIECE_AFTER_TITLE;
  int summary_started = 0, frozen = 0;
  size_t summary_at = b->npool, topic = NOSTR, topic_frozen = NOSTR;
  for (c = cmark_node_first_child(doc); c && !b->oom; c = cmark_node_next(c)) {
    cmark_node_type t = cmark_node_get_type(c);
    if (t == CMARK_NODE_HEADING) {
      size_t mark, text;
      char date[EMD_DATE_BUF];
      if (in_summary) {
        in_summary = 0;
        if (summary_started) {
          pool_putc(b, 0);
          b->f[EMD_F_SUMMARY] = summary_at;
        }
      }
      mark = b->npool;
      if (b->f[EMD_F_TITLE] == NOSTR && cmark_node_get_heading_level(c) == 1) {
        b->f[EMD_F_TITLE] = inline_text(b, c, 0);
        if (b->f[EMD_F_TITLE] == NOSTR) b->f[EMD_F_TITLE] = pool_str(b, "", 0);
        in_summary = 1;
        summary_at = b->npool;
        section = SEC_NONE;
        continue;
      }
      text = inline_text(b, c, 1);
      if (text == NOSTR) return;
      section = section_kind(b->pool + text);
      if (section != SEC_NONE) {
        /* Without an H1, the topic is the last heading before the first
        ** section. */
        if (b->f[EMD_F_TITLE] == NOSTR && !frozen) {
          frozen = 1;
          topic_frozen = topic;
        }
        b->npool = mark;
        continue;
      }
      if (b->f[EMD_F_TITLE] == NOSTR) {
        const char *s = b->pool + text;
        if (b->f[EMD_F_HEADING_DATE] == NOSTR &&
            emd_parse_date(date, s, strlen(s))) {
          cmark_node *link = first_link(c);
          const char *u = link ? cmark_node_get_url(link) : NULL;
          b->npool = mark;
          b->f[EMD_F_HEADING_DATE] = pool_str(b, date, EMD_DATE_LEN);
          if (u) b->f[EMD_F_DAY_INDEX] = pool_str(b, u, strlen(u));
          continue;
        }
        if (*s && !date_shaped(b, text)) {
          topic = text; /* keep it: the last one wins */
          continue;
        }
      }
      b->npool = mark; /* heading text no longer needed */
      continue;
    }
    if (in_summary) {
      put_block_text(b, c, &summary_started);
    } else if (section != SEC_NONE && t == CMARK_NODE_LIST) {
      cmark_node *item;
      for (item = cmark_node_first_child(c); item && !b->oom;
           item = cmark_node_next(item)) {
        if (section == SEC_SOURCES)
          add_source(b, item);
        else if (section == SEC_RELATED)
          add_related(b, item);
        else
          add_change(b, item);
      }
    }
  }
  if (in_summary && summary_started) {
    pool_putc(b, 0);
    b->f[EMD_F_SUMMARY] = summary_at;
  }
  if (piece == PIECE_FIRST)
    b->f[EMD_F_TOPIC] = b->f[EMD_F_TITLE] != NOSTR ? topic
                        : frozen                   ? topic_frozen
                                                   : topic;
}

/* Add a day page link (href of link) under topic. */
static void add_daylink(builder *b, cmark_node *link, size_t topic) {
  const char *u = cmark_node_get_url(link);
  bday *r;
  if (!u) return;
  r = array_add(b, &b->day, sizeof(bday));
  if (!r) return;
  r->href = pool_str(b, u, strlen(u));
  r->topic = topic;
}

/* A day page: each event is a heading (level 3 or more) linking to its file,
** or, in the older form, a list item linking to it; topic headings (level 4
** to 6, without a link) stand above the events they group. */
static void read_daypage(builder *b, cmark_node *doc) {
  cmark_node *c;
  size_t topic = NOSTR;
  for (c = cmark_node_first_child(doc); c && !b->oom; c = cmark_node_next(c)) {
    cmark_node_type t = cmark_node_get_type(c);
    if (t == CMARK_NODE_HEADING) {
      int level = cmark_node_get_heading_level(c);
      cmark_node *link = first_link(c);
      if (link && level >= 3) {
        add_daylink(b, link, topic);
      } else if (!link && level >= 4) {
        size_t text = inline_text(b, c, 0);
        topic = text != NOSTR && !date_shaped(b, text) ? text : NOSTR;
      } else {
        topic = NOSTR;
      }
    } else if (t == CMARK_NODE_LIST) {
      cmark_node *item;
      for (item = cmark_node_first_child(c); item && !b->oom;
           item = cmark_node_next(item)) {
        cmark_node *link = first_link(item);
        if (link) add_daylink(b, link, topic);
      }
    }
  }
}

/* ------------------------------------------------------------------------
** The result: a record (record.h).
*/
static void put_field(emd_recbuf *rb, const builder *b, size_t off,
                      int same_as_title) {
  const char *s = pool_at(b, off);
  emd_recbuf_str(rb, s, s ? strlen(s) : 0, same_as_title && s);
}

/* A source's domain (eventmd_sources.domain), kept in the record so that a
** scan shows it without working it out again for every row. */
static void put_domain(emd_recbuf *rb, const char *url) {
  char buf[512], *out = buf;
  size_t n = url ? strlen(url) : 0, len;
  if (url && n >= sizeof(buf)) {
    out = rb->xRealloc(rb->ctx, NULL, n + 1);
    if (!out) {
      rb->oom = 1;
      return;
    }
  }
  if (url && emd_url_domain(url, n, out, &len))
    emd_recbuf_str(rb, out, len, 0);
  else
    emd_recbuf_str(rb, NULL, 0, 0);
  if (out != buf) rb->xFree(rb->ctx, out);
}

static const emd_rec *encode(builder *b, emd_recbuf *rb, int kind) {
  size_t i;
  const char *title = pool_at(b, b->f[EMD_F_TITLE]);
  int k;
  if (b->oom) return NULL;
  emd_recbuf_begin(rb, kind);
  for (k = 0; k < EMD_NFIELDS; k++) put_field(rb, b, b->f[k], 0);
  for (i = 0; i < b->src.n; i++) {
    const bsrc *r = (const bsrc *)b->src.a + i;
    const char *url = pool_at(b, r->url);
    emd_recbuf_row(rb, EMD_T_SOURCES);
    put_field(rb, b, r->name, 0);
    put_field(rb, b, r->url, 0);
    put_domain(rb, url);
  }
  for (i = 0; i < b->rel.n; i++) {
    const brel *r = (const brel *)b->rel.a + i;
    emd_recbuf_row(rb, EMD_T_RELATED);
    put_field(rb, b, r->title, 0);
    put_field(rb, b, r->target, 0);
    put_field(rb, b, r->context, 0);
  }
  for (i = 0; i < b->chg.n; i++) {
    const bchg *r = (const bchg *)b->chg.a + i;
    const char *t = pool_at(b, r->title);
    emd_recbuf_row(rb, EMD_T_CHANGES);
    put_field(rb, b, r->title, t && title && !strcmp(t, title));
    put_field(rb, b, r->target, 0);
    put_field(rb, b, r->changed_at, 0);
    put_field(rb, b, r->label, 0);
  }
  for (i = 0; i < b->day.n; i++) {
    const bday *r = (const bday *)b->day.a + i;
    emd_recbuf_row(rb, EMD_T_DAYLINKS);
    put_field(rb, b, r->href, 0);
    put_field(rb, b, r->topic, 0);
  }
  return emd_recbuf_end(rb, b->problems);
}

/* ------------------------------------------------------------------------
** Parsers: scratch memory reused from one file to the next.
*/
struct eventmd_parser {
  eventmd_allocator al; /* where everything comes from */
  emd_arena arena;      /* cmark's memory for one parse */
  builder b;            /* rows and strings being built (buffers kept) */
  emd_recbuf rec;       /* the record of the last parse */
  char *repaired;       /* UTF-8 repaired copy of the input */
  size_t repaired_cap;  /* bytes allocated for repaired */
};

static void *rb_realloc(void *ctx, void *p, size_t n) {
  const eventmd_allocator *al = ctx;
  return al->xRealloc(al->ctx, p, n);
}
static void rb_free(void *ctx, void *p) {
  const eventmd_allocator *al = ctx;
  al->xFree(al->ctx, p);
}

eventmd_parser *eventmd_parser_new(const eventmd_allocator *alloc) {
  eventmd_parser *p;
  if (!alloc) alloc = &std_alloc;
  p = alloc->xMalloc(alloc->ctx, sizeof(*p));
  if (!p) return NULL;
  memset(p, 0, sizeof(*p));
  p->al = *alloc;
  p->arena.al = &p->al;
  p->b.al = &p->al;
  p->rec.xRealloc = rb_realloc;
  p->rec.xFree = rb_free;
  p->rec.ctx = &p->al;
  return p;
}

void eventmd_parser_free(eventmd_parser *p) {
  if (!p) return;
  emd_arena_free(&p->arena);
  p->al.xFree(p->al.ctx, p->b.pool);
  p->al.xFree(p->al.ctx, p->b.src.a);
  p->al.xFree(p->al.ctx, p->b.rel.a);
  p->al.xFree(p->al.ctx, p->b.chg.a);
  p->al.xFree(p->al.ctx, p->b.day.a);
  p->al.xFree(p->al.ctx, p->repaired);
  emd_recbuf_free(&p->rec);
  p->al.xFree(p->al.ctx, p);
}

/* Most memory cmark may use for a file of len bytes (the guard's R5 uses the
** same bound).  Ordinary event files need 3-11x their size; inputs that make
** cmark 0.30 keep ~200 bytes per character are stopped here instead of
** exhausting the host. */
static size_t cmark_budget(size_t len) {
  return ((size_t)32 << 20) + 32 * len;
}

/* How a parse of cmark's tree ended. */
enum { RUN_OK, RUN_NOMEM, RUN_OVER_BUDGET };

/* Parse text with cmark into the parser's arena and read the tree into b
** (as a day page when daypage).  Returns RUN_*. */
static int run_cmark(eventmd_parser *p, const char *text, size_t len,
                     int daypage, int piece) {
  jmp_buf env;
  cmark_parser *cp;
  cmark_node *doc;
  p->arena.escape = &env;
  p->arena.budget = cmark_budget(len);
  emd_arena_use(&p->arena);
  if (setjmp(env)) {
    int why = p->arena.failed;
    emd_arena_use(NULL);
    emd_arena_reset(&p->arena);
    return why == EMD_ARENA_OVER_BUDGET ? RUN_OVER_BUDGET : RUN_NOMEM;
  }
  cp = cmark_parser_new_with_mem(CMARK_OPT_DEFAULT, &emd_arena_mem);
  cmark_parser_feed(cp, text, len);
  doc = cmark_parser_finish(cp);
  if (doc) {
    if (daypage)
      read_daypage(&p->b, doc);
    else
      read_document(&p->b, doc, piece);
  }
  /* No cmark_node_free / cmark_parser_free: the arena goes at once. */
  emd_arena_use(NULL);
  emd_arena_reset(&p->arena);
  return RUN_OK;
}

/* Empty the builder, keeping its buffers (and the byte-level problems). */
static void reset_builder(builder *b, unsigned keep_problems) {
  int k;
  b->oom = 0;
  b->npool = 0;
  b->src.n = b->rel.n = b->chg.n = b->day.n = 0;
  for (k = 0; k < EMD_NFIELDS; k++) b->f[k] = NOSTR;
  b->problems &= keep_problems;
}

#define GUARD_CUTS 8  /* times a refused prefix is cut shorter, at most */
#define BUDGET_CUTS 4 /* times a parse over budget is tried on half of it */

/* The start of the line holding offset `at` in text. */
static size_t line_start(const char *text, size_t at) {
  while (at > 0 && text[at - 1] != '\n' && text[at - 1] != '\r') at--;
  return at;
}

/* How much of text the guard lets cmark see: *cut (0: nothing) and the
** reason for the rest (NULL: all of it). */
static const char *guarded_cut(const char *text, size_t len, size_t *cut) {
  const char *reason = NULL;
  int k;
  *cut = len;
  for (k = 0; k < GUARD_CUTS; k++) {
    size_t at;
    const char *g = emd_guard_at(text, *cut, &at);
    if (!g) return reason;
    if (!reason) reason = g;
    if (at >= *cut) break;
    *cut = at;
  }
  *cut = 0;
  return reason;
}

/* A title that cmark was not given: the text of the first ATX H1 line of
** text[from..len), literally (markers kept).  Appended to the pool. */
static size_t literal_title(builder *b, const char *text, size_t len,
                            size_t from) {
  size_t i = from;
  while (i < len) {
    size_t e = i, j = i, sp = 0;
    while (e < len && text[e] != '\n' && text[e] != '\r') e++;
    while (j < e && text[j] == ' ' && sp < 3) j++, sp++;
    if (j < e && text[j] == '#' &&
        (j + 1 == e || text[j + 1] == ' ' || text[j + 1] == '\t')) {
      size_t start = b->npool, k = e;
      /* An optional closing sequence of '#'s goes, as in CommonMark. */
      while (k > j + 1 && (text[k - 1] == ' ' || text[k - 1] == '\t')) k--;
      while (k > j + 1 && text[k - 1] == '#') k--;
      if (k < e && k > j + 1 && text[k - 1] != ' ' && text[k - 1] != '\t')
        k = e; /* "#" glued to the text is part of it */
      pool_put(b, text + j + 1, k - (j + 1));
      return pool_end(b, start, 0);
    }
    i = e;
    while (i < len && (text[i] == '\n' || text[i] == '\r')) i++;
  }
  return NOSTR;
}

/* Where parsing resumes after a part refused at line start `at`: after the
** next blank line (a block that cmark was not given ends there at the
** latest), or the end. */
static size_t resume_after(const char *text, size_t len, size_t at) {
  size_t i = at;
  int first = 1;
  while (i < len) {
    size_t e = i, k;
    int blank = 1;
    while (e < len && text[e] != '\n' && text[e] != '\r') e++;
    for (k = i; k < e; k++)
      if (text[k] != ' ' && text[k] != '\t') blank = 0;
    if (e < len && text[e] == '\r') e++;
    if (e < len && text[e] == '\n') e++;
    if (blank && !first) return e;
    first = 0;
    i = e;
  }
  return len;
}

/* Is the line at text[at] an ATX H1 ("# ...")? */
static int h1_line(const char *text, size_t len, size_t at) {
  size_t j = at, sp = 0;
  while (j < len && text[j] == ' ' && sp < 3) j++, sp++;
  return j < len && text[j] == '#' &&
         (j + 1 == len || text[j + 1] == ' ' || text[j + 1] == '\t');
}

/* The 1-based number of the line at text[at]. */
static size_t line_number(const char *text, size_t at) {
  size_t line = 1, i;
  for (i = 0; i < at; i++)
    if (text[i] == '\n' ||
        (text[i] == '\r' && (i + 1 >= at || text[i + 1] != '\n')))
      line++;
  return line;
}

#define MAX_PIECES 8 /* pieces a file with refused parts is read in, at most */

/* Parse bytes into p->b; EVENTMD_OK or EVENTMD_NOMEM.  Markdown the guard
** refuses (or that cmark cannot parse within its budget) is left out a block
** at a time: what precedes and follows it (the date heading, topic, title,
** summary, sections) is read, a refused title line is kept as its literal
** text, and the record's note names the lines not parsed and why. */
static int parse_into(eventmd_parser *p, const char *bytes, size_t len,
                      int daypage, int guarded) {
  builder *b = &p->b;
  emd_utf8_info u;
  const char *text = bytes, *first_reason = NULL;
  size_t textlen = len, pos = 0, skip_from = 0, skip_to = 0;
  int pieces, piece = PIECE_FIRST, parsed_any = 0;

  b->al = &p->al;
  b->problems = 0;
  reset_builder(b, 0);

  emd_utf8_scan(&u, bytes, len);
  if (u.has_nul) b->problems |= EMD_RP_NUL;
  if (!u.valid) {
    b->problems |= EMD_RP_UTF8;
    if (u.repaired_len > p->repaired_cap) {
      char *r = p->al.xRealloc(p->al.ctx, p->repaired, u.repaired_len);
      if (!r) return EVENTMD_NOMEM;
      p->repaired = r;
      p->repaired_cap = u.repaired_len;
    }
    textlen = emd_utf8_repair(p->repaired, bytes, len);
    text = p->repaired;
  }

  for (pieces = 0; pieces < MAX_PIECES; pieces++) {
    const char *reason = NULL;
    size_t cut = textlen - pos, next;
    int tries, why;
    if (guarded) reason = guarded_cut(text + pos, textlen - pos, &cut);
    for (tries = 0; cut > 0; tries++) {
      why = run_cmark(p, text + pos, cut, daypage, piece);
      if (why == RUN_NOMEM) return EVENTMD_NOMEM;
      if (why == RUN_OK) break;
      /* Over its budget: the first half (at a line start) is tried. */
      reason =
          "not parsed: markdown too complex (parsing it would need too "
          "much memory)";
      cut = tries < BUDGET_CUTS ? line_start(text + pos, cut / 2) : 0;
    }
    if (cut > 0 || !reason) parsed_any = 1;
    if (pieces == 0 && !reason && textlen == 0) parsed_any = 1;
    if (b->oom) return EVENTMD_NOMEM;
    if (!reason) break;
    /* A part refused at pos + cut: skip its block, read on after it. */
    if (!first_reason) {
      first_reason = reason;
      skip_from = pos + cut;
    }
    if (!daypage && b->f[EMD_F_TITLE] == NOSTR &&
        h1_line(text, textlen, pos + cut)) {
      b->f[EMD_F_TITLE] = literal_title(b, text, textlen, pos + cut);
      piece = PIECE_AFTER_TITLE;
    } else {
      piece = PIECE_NEXT;
    }
    next = resume_after(text, textlen, pos + cut);
    skip_to = next;
    if (next >= textlen) break;
    pos = next;
  }
  if (first_reason) {
    static const char prefix[] = "not parsed: ";
    const char *why_text = first_reason;
    size_t at = b->npool, from = line_number(text, skip_from);
    char num[64];
    b->problems |= EMD_RP_PARTIAL;
    if (!strncmp(why_text, prefix, sizeof(prefix) - 1))
      why_text += sizeof(prefix) - 1;
    if (!parsed_any && b->f[EMD_F_TITLE] == NOSTR) {
      /* Nothing could be given to cmark. */
      b->f[EMD_F_NOTE] = pool_str(b, first_reason, strlen(first_reason));
    } else {
      size_t to = skip_to >= textlen ? 0 : line_number(text, skip_to) - 1;
      if (!to)
        snprintf(num, sizeof(num), "not parsed from line %zu on: ", from);
      else if (to <= from)
        snprintf(num, sizeof(num), "line %zu not parsed: ", from);
      else
        snprintf(num, sizeof(num), "lines %zu-%zu not parsed: ", from, to);
      pool_put(b, num, strlen(num));
      pool_put(b, why_text, strlen(why_text));
      pool_putc(b, 0);
      b->f[EMD_F_NOTE] = b->oom ? NOSTR : at;
    }
  }
  if (!daypage && (b->f[EMD_F_TITLE] == NOSTR || !b->pool[b->f[EMD_F_TITLE]])) {
    b->f[EMD_F_TITLE] = NOSTR;
    /* "not parsed: ..." alone says it when nothing was parsed. */
    if (parsed_any || !first_reason) b->problems |= EMD_RP_NO_TITLE;
  }
  return b->oom ? EVENTMD_NOMEM : EVENTMD_OK;
}

int emd_parse_record(eventmd_parser *p, const char *bytes, size_t len, int kind,
                     int guarded, const emd_rec **out) {
  int rc = parse_into(p, bytes, len, kind == EMD_REC_DAYPAGE, guarded);
  *out = NULL;
  if (rc != EVENTMD_OK) return rc;
  *out = encode(&p->b, &p->rec, kind);
  return *out ? EVENTMD_OK : EVENTMD_NOMEM;
}

/* ------------------------------------------------------------------------
** The public API: a record expanded into an eventmd_event.
**
** The event, its row arrays and its strings are one allocation, preceded
** by a hidden header saying how to free it.
*/
typedef struct event_block {
  eventmd_allocator al; /* how the block is freed */
  size_t size;          /* bytes of the block */
  eventmd_event ev;     /* what the caller sees */
} event_block;

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

/* Copies strings into the block's pool as NUL-terminated C strings. */
typedef struct expander {
  char *pool; /* next free byte */
} expander;

static const char *xstr(expander *x, emd_str s) {
  char *at;
  if (!s.p) return NULL;
  at = x->pool;
  memcpy(at, s.p, s.n);
  at[s.n] = 0;
  x->pool += s.n + 1;
  return at;
}

static const char *xbytes(expander *x, const char *s, size_t n) {
  emd_str t;
  t.p = s;
  t.n = (uint32_t)n;
  return xstr(x, t);
}

/* Bytes a string takes in the pool (with its NUL). */
static size_t slen(emd_str s) {
  return s.p ? (size_t)s.n + 1 : 0;
}

static int expand(const emd_rec *r, const char *path,
                  const eventmd_allocator *al, eventmd_event **out) {
  char pdate[EMD_DATE_BUF], problem[1024];
  int have_pdate = path && emd_relpath_date(pdate, path, strlen(path));
  uint32_t ns = r->n[EMD_T_SOURCES], nr = r->n[EMD_T_RELATED],
           nc = r->n[EMD_T_CHANGES], i;
  size_t plen =
      emd_rec_problem(r, have_pdate ? pdate : NULL, problem, sizeof(problem));
  size_t need = 0, o_src, o_rel, o_chg, o_pool, total;
  emd_str row[EMD_ROW_MAXFIELDS], hd;
  event_block *blk;
  eventmd_event *ev;
  expander x;
  int k, current_seen = 0;

  /* Sizes first. */
  for (k = 0; k < EMD_NFIELDS; k++) need += slen(emd_rec_field(r, k));
  need += 2 * EMD_DATE_BUF + plen + 1;
  for (i = 0; i < ns; i++) {
    emd_rec_row(r, EMD_T_SOURCES, i, row);
    need += slen(row[0]) + slen(row[1]) + slen(row[2]);
  }
  for (i = 0; i < nr; i++) {
    emd_rec_row(r, EMD_T_RELATED, i, row);
    need += slen(row[0]) + slen(row[1]) + slen(row[2]) + EMD_DATE_BUF;
  }
  for (i = 0; i < nc; i++) {
    emd_rec_row(r, EMD_T_CHANGES, i, row);
    need += slen(row[0]) + slen(row[1]) + slen(row[2]) + slen(row[3]);
  }
  o_src = ALIGN8(sizeof(event_block));
  o_rel = ALIGN8(o_src + ns * sizeof(eventmd_source));
  o_chg = ALIGN8(o_rel + nr * sizeof(eventmd_related));
  o_pool = o_chg + nc * sizeof(eventmd_change);
  total = o_pool + need;
  blk = al->xMalloc(al->ctx, total);
  if (!blk) return EVENTMD_NOMEM;
  memset(blk, 0, sizeof(*blk));
  blk->al = *al;
  blk->size = total;
  ev = &blk->ev;
  x.pool = (char *)blk + o_pool;

  ev->title = xstr(&x, emd_rec_field(r, EMD_F_TITLE));
  ev->topic = xstr(&x, emd_rec_field(r, EMD_F_TOPIC));
  ev->summary = xstr(&x, emd_rec_field(r, EMD_F_SUMMARY));
  ev->cover_image = xstr(&x, emd_rec_field(r, EMD_F_COVER));
  ev->day_index = xstr(&x, emd_rec_field(r, EMD_F_DAY_INDEX));
  hd = emd_rec_field(r, EMD_F_HEADING_DATE);
  ev->heading_date = xstr(&x, hd);
  ev->path_date = have_pdate ? xbytes(&x, pdate, EMD_DATE_LEN) : NULL;
  ev->date = ev->path_date ? ev->path_date : ev->heading_date;
  ev->problem = plen ? xbytes(&x, problem, plen) : NULL;
  if (r->problems & EMD_RP_UTF8) ev->problems |= EVENTMD_PROBLEM_UTF8;
  if (r->problems & EMD_RP_NUL) ev->problems |= EVENTMD_PROBLEM_NUL;
  if (r->problems & EMD_RP_PARTIAL) ev->problems |= EVENTMD_PROBLEM_UNSAFE;
  if (r->problems & EMD_RP_NO_TITLE) ev->problems |= EVENTMD_PROBLEM_NO_TITLE;
  if (!ev->date) ev->problems |= EVENTMD_PROBLEM_NO_DATE;
  if (ev->path_date && ev->heading_date &&
      strcmp(ev->path_date, ev->heading_date) != 0)
    ev->problems |= EVENTMD_PROBLEM_DATE_DIFF;

  ev->n_sources = ns;
  ev->n_related = nr;
  ev->n_changes = nc;
  ev->sources = (const eventmd_source *)(void *)((char *)blk + o_src);
  ev->related = (const eventmd_related *)(void *)((char *)blk + o_rel);
  ev->changes = (const eventmd_change *)(void *)((char *)blk + o_chg);
  for (i = 0; i < ns; i++) {
    eventmd_source *d = (eventmd_source *)ev->sources + i;
    emd_rec_row(r, EMD_T_SOURCES, i, row);
    d->name = xstr(&x, row[0]);
    d->url = xstr(&x, row[1]);
    d->domain = xstr(&x, row[2]);
  }
  for (i = 0; i < nr; i++) {
    eventmd_related *d = (eventmd_related *)ev->related + i;
    char td[EMD_DATE_BUF];
    emd_rec_row(r, EMD_T_RELATED, i, row);
    d->title = xstr(&x, row[0]);
    d->target = xstr(&x, row[1]);
    d->context = xstr(&x, row[2]);
    d->target_date = row[1].p && eventmd_path_date(td, row[1].p, row[1].n)
                         ? xbytes(&x, td, EMD_DATE_LEN)
                         : NULL;
  }
  ev->is_current = 1;
  for (i = 0; i < nc; i++) {
    eventmd_change *d = (eventmd_change *)ev->changes + i;
    emd_rec_row(r, EMD_T_CHANGES, i, row);
    d->title = xstr(&x, row[0]);
    d->target = xstr(&x, row[1]);
    d->changed_at = xstr(&x, row[2]);
    d->label = xstr(&x, row[3]);
    d->is_current = emd_label_is_current(row[3]);
    if (d->is_current && !current_seen) {
      current_seen = 1;
      ev->is_current = d->target && path && strcmp(d->target, path) == 0;
    }
  }
  ev->mem_size = total - offsetof(event_block, ev);
  *out = ev;
  return EVENTMD_OK;
}

int eventmd_parse(eventmd_event **out, const char *bytes, size_t len,
                  const char *path, const eventmd_parse_options *opts) {
  eventmd_parser *p = opts ? opts->parser : NULL, *own = NULL;
  const eventmd_allocator *al = opts && opts->alloc ? opts->alloc : &std_alloc;
  const emd_rec *r;
  int rc;
  *out = NULL;
  if (!p) {
    p = own = eventmd_parser_new(opts ? opts->alloc : NULL);
    if (!p) return EVENTMD_NOMEM;
  }
  rc = emd_parse_record(p, bytes, len, EMD_REC_EVENT, 1, &r);
  if (rc == EVENTMD_OK) rc = expand(r, path, al, out);
  eventmd_parser_free(own);
  return rc;
}

void eventmd_event_free(eventmd_event *ev) {
  event_block *blk;
  if (!ev) return;
  blk = (event_block *)(void *)((char *)ev - offsetof(event_block, ev));
  blk->al.xFree(blk->al.ctx, blk);
}
