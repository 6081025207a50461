/*
** parse.c - parse one event file: bytes in, an eventmd_event out.
**
** This unit has no SQLite in it.  cmark does all markdown parsing; this file
** only reads cmark's tree and applies the rules of SPEC §2:
**
**   ### [2014-02-13](/news/2014/02/13/index.md)   date heading -> day_index
**   # Title                                        first H1 -> title
**   Summary paragraphs                             up to the next heading
**   ### Source: / ### Related: / ### Changes:      sections; their list items
**                                                  become rows
**
** The tree is read with explicit loops over first_child/next/parent (no
** recursion, so deep input cannot exhaust the stack).  Every string of the
** result lives in one allocation made at the end (see finish()), so a parsed
** event is one block of memory that the cache can count and free at once.
*/
#include <cmark.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "eventmd.h"
#include "text.h"

#define NOSTR ((size_t)-1) /* offset meaning "SQL NULL" */

/* Section kinds. */
enum { SEC_NONE, SEC_SOURCES, SEC_RELATED, SEC_CHANGES };

/* Rows while parsing: string offsets into the builder's pool. */
typedef struct bsrc {
  size_t name, url, domain;
} bsrc;
typedef struct brel {
  size_t title, target, target_date, context;
} brel;
typedef struct bchg {
  size_t title, target, changed_at, label;
  int is_current;
} bchg;

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
  barray src, rel, chg;        /* rows of the three child tables */
  size_t title, summary, cover, day_index, heading_date, path_date, date;
  unsigned problems; /* EVENTMD_PROBLEM_* */
  const char *guard; /* guard message when the file was not parsed */
  int is_current;    /* computed at the end */
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

/* Host of a URL, lower-cased, without port and leading "www.". */
static size_t url_domain(builder *b, size_t url) {
  const char *u = pool_at(b, url);
  size_t hs, hl, at, i;
  if (!u || !emd_url_host(u, strlen(u), &hs, &hl)) return NOSTR;
  if (hl > 4 && emd_ascii_ieq(u + hs, 4, "www.")) {
    hs += 4;
    hl -= 4;
  }
  at = b->npool;
  if (!pool_reserve(b, hl + 1)) return NOSTR;
  u = b->pool + url; /* the pool may have moved */
  for (i = 0; i < hl; i++) {
    char c = u[hs + i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    b->pool[b->npool++] = c;
  }
  b->pool[b->npool++] = 0;
  return at;
}

static void add_source(builder *b, cmark_node *item) {
  cmark_node *link;
  size_t name, url;
  bsrc *r;
  item_basics(b, item, &link, &name, &url);
  if (b->oom) return;
  if (link) {
    const char *nm = pool_at(b, name);
    if (emd_ascii_ieq(nm, strlen(nm), "cover image")) {
      if (b->cover == NOSTR) b->cover = url;
      return;
    }
  }
  r = array_add(b, &b->src, sizeof(bsrc));
  if (!r) return;
  r->name = name;
  r->url = url;
  r->domain = url_domain(b, url);
}

/* Skip a case-insensitive prefix such as "Context:" in pool text at off. */
static size_t strip_prefix(builder *b, size_t off, const char *prefix) {
  const char *s = pool_at(b, off);
  size_t n = strlen(prefix);
  if (!s || strlen(s) < n || !emd_ascii_ieq(s, n, prefix)) return off;
  off += n;
  while (emd_is_space((unsigned char)b->pool[off])) off++;
  return off;
}

static void add_related(builder *b, cmark_node *item) {
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
  r->target_date = NOSTR;
  r->context = NOSTR;
  if (target != NOSTR) {
    char d[11];
    const char *t = pool_at(b, target);
    if (eventmd_path_date(d, t, strlen(t))) r->target_date = pool_str(b, d, 10);
  }
  if (ann) {
    size_t c = inline_text(b, ann, 0);
    if (c != NOSTR) {
      c = strip_prefix(b, c, "context:");
      if (!b->pool[c]) c = NOSTR;
    }
    r->context = c;
  }
}

/* "YYYY-MM-DD HH:MM:SS" at s? */
static int is_datetime(const char *s) {
  int hh, mm, ss, i;
  for (i = 0; i < 19; i++)
    if (!s[i]) return 0;
  if (!emd_is_iso_date(s, 10) || s[10] != ' ' || s[13] != ':' || s[16] != ':')
    return 0;
  for (i = 11; i < 19; i++)
    if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9')) return 0;
  hh = (s[11] - '0') * 10 + (s[12] - '0');
  mm = (s[14] - '0') * 10 + (s[15] - '0');
  ss = (s[17] - '0') * 10 + (s[18] - '0');
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
  r->is_current = 0;
  if (ann) {
    size_t a = inline_text(b, ann, 0), rest, end;
    if (a == NOSTR) return;
    rest = a;
    if (is_datetime(b->pool + a)) {
      r->changed_at = a;
      rest = a + 19;
      if (b->pool[rest]) {
        /* Split: the date-time keeps its own NUL, the label is copied after
        ** it (reserve first: the copy reads from the pool itself). */
        size_t lab = b->npool, restlen = strlen(b->pool + rest) + 1;
        if (!pool_reserve(b, restlen)) return;
        memcpy(b->pool + lab, b->pool + rest, restlen);
        b->npool += restlen;
        b->pool[a + 19] = 0;
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
    if (end > rest) {
      r->label = rest;
      r->is_current =
          emd_ascii_ieq(b->pool + rest, end - rest, "current version");
    }
  }
}

/* Section kind of a heading's text: "Source:", "Related", ... */
static int section_kind(const char *s) {
  size_t n = strlen(s);
  if (n && s[n - 1] == ':') n--;
  while (n && emd_is_space((unsigned char)s[n - 1])) n--;
  if (emd_ascii_ieq(s, n, "source") || emd_ascii_ieq(s, n, "sources"))
    return SEC_SOURCES;
  if (emd_ascii_ieq(s, n, "related")) return SEC_RELATED;
  if (emd_ascii_ieq(s, n, "changes")) return SEC_CHANGES;
  return SEC_NONE;
}

/* Walk the document's top-level blocks (SPEC §2). */
static void read_document(builder *b, cmark_node *doc) {
  cmark_node *c;
  int section = SEC_NONE, in_summary = 0, summary_started = 0;
  size_t summary_at = NOSTR;
  for (c = cmark_node_first_child(doc); c && !b->oom; c = cmark_node_next(c)) {
    cmark_node_type t = cmark_node_get_type(c);
    if (t == CMARK_NODE_HEADING) {
      size_t mark = b->npool, text;
      if (in_summary) {
        in_summary = 0;
        if (summary_started) {
          pool_putc(b, 0);
          b->summary = summary_at;
        }
        mark = b->npool;
      }
      if (b->title == NOSTR && cmark_node_get_heading_level(c) == 1) {
        b->title = inline_text(b, c, 0);
        if (b->title == NOSTR) b->title = pool_str(b, "", 0); /* seen */
        in_summary = 1;
        summary_at = b->npool;
        section = SEC_NONE;
        continue;
      }
      text = inline_text(b, c, 1);
      if (text == NOSTR) return;
      section = section_kind(b->pool + text);
      if (section == SEC_NONE && b->title == NOSTR &&
          b->heading_date == NOSTR &&
          emd_is_iso_date(b->pool + text, strlen(b->pool + text))) {
        cmark_node *link = first_link(c);
        const char *u = link ? cmark_node_get_url(link) : NULL;
        b->heading_date = text; /* keep it */
        if (u) b->day_index = pool_str(b, u, strlen(u));
      } else {
        b->npool = mark; /* heading text no longer needed */
      }
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
    b->summary = summary_at;
  }
}

/* ------------------------------------------------------------------------
** The result: one allocation holding the event, its rows and its strings.
*/
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static const char *fix(char *base, size_t off) {
  return off == NOSTR ? NULL : base + off;
}

/* Append the problem text for the bits set, "; "-joined. */
static size_t put_problems(builder *b) {
  size_t at = b->npool;
  int first = 1;
#define PROBLEM(bit, text)            \
  if (b->problems & (bit)) {          \
    if (!first) pool_put(b, "; ", 2); \
    pool_put(b, text, strlen(text));  \
    first = 0;                        \
  }
  PROBLEM(EVENTMD_PROBLEM_UTF8, "invalid UTF-8")
  PROBLEM(EVENTMD_PROBLEM_NUL, "NUL bytes")
  PROBLEM(EVENTMD_PROBLEM_UNSAFE, b->guard ? b->guard : "not parsed")
  PROBLEM(EVENTMD_PROBLEM_NO_TITLE, "no title")
  PROBLEM(EVENTMD_PROBLEM_NO_DATE, "no date")
#undef PROBLEM
  if (b->problems & EVENTMD_PROBLEM_DATE_DIFF) {
    /* Copy the date out first: pool_put() may move the pool it lives in. */
    char hd[10];
    int have = b->heading_date != NOSTR;
    if (have) memcpy(hd, b->pool + b->heading_date, 10);
    if (!first) pool_put(b, "; ", 2);
    pool_put(b, "date heading ", 13);
    if (have) pool_put(b, hd, 10);
    pool_put(b, " differs from path", 18);
    first = 0;
  }
  if (first) return NOSTR;
  pool_putc(b, 0);
  return b->oom ? NOSTR : at;
}

static int finish(builder *b, eventmd_event **out,
                  const eventmd_allocator *ral) {
  size_t problem = put_problems(b);
  size_t nsrc = b->src.n, nrel = b->rel.n, nchg = b->chg.n, i;
  size_t o_src = ALIGN8(sizeof(eventmd_event));
  size_t o_rel = ALIGN8(o_src + nsrc * sizeof(eventmd_source));
  size_t o_chg = ALIGN8(o_rel + nrel * sizeof(eventmd_related));
  size_t o_pool = o_chg + nchg * sizeof(eventmd_change);
  size_t total = o_pool + b->npool;
  char *mem, *pool;
  eventmd_event *ev;
  if (b->oom) return EVENTMD_NOMEM;
  mem = ral->xMalloc(ral->ctx, total);
  if (!mem) return EVENTMD_NOMEM;
  ev = (eventmd_event *)mem;
  memset(ev, 0, sizeof(*ev));
  pool = mem + o_pool;
  if (b->npool) memcpy(pool, b->pool, b->npool);
  ev->date = fix(pool, b->date);
  ev->path_date = fix(pool, b->path_date);
  ev->heading_date = fix(pool, b->heading_date);
  ev->title = fix(pool, b->title);
  ev->summary = fix(pool, b->summary);
  ev->cover_image = fix(pool, b->cover);
  ev->day_index = fix(pool, b->day_index);
  ev->problem = fix(pool, problem);
  ev->problems = b->problems;
  ev->is_current = b->is_current;
  ev->n_sources = (uint32_t)nsrc;
  ev->n_related = (uint32_t)nrel;
  ev->n_changes = (uint32_t)nchg;
  ev->sources = (eventmd_source *)(mem + o_src);
  ev->related = (eventmd_related *)(mem + o_rel);
  ev->changes = (eventmd_change *)(mem + o_chg);
  for (i = 0; i < nsrc; i++) {
    const bsrc *s = (const bsrc *)b->src.a + i;
    eventmd_source *d = (eventmd_source *)ev->sources + i;
    d->name = fix(pool, s->name);
    d->url = fix(pool, s->url);
    d->domain = fix(pool, s->domain);
  }
  for (i = 0; i < nrel; i++) {
    const brel *s = (const brel *)b->rel.a + i;
    eventmd_related *d = (eventmd_related *)ev->related + i;
    d->title = fix(pool, s->title);
    d->target = fix(pool, s->target);
    d->target_date = fix(pool, s->target_date);
    d->context = fix(pool, s->context);
  }
  for (i = 0; i < nchg; i++) {
    const bchg *s = (const bchg *)b->chg.a + i;
    eventmd_change *d = (eventmd_change *)ev->changes + i;
    d->title = fix(pool, s->title);
    d->target = fix(pool, s->target);
    d->changed_at = fix(pool, s->changed_at);
    d->label = fix(pool, s->label);
    d->is_current = s->is_current;
  }
  ev->mem_size = total;
  ev->xFree = ral->xFree;
  ev->pFreeCtx = ral->ctx;
  *out = ev;
  return EVENTMD_OK;
}

/* is_current, the effective date and the date problems. */
static void conclude(builder *b, const char *path) {
  size_t i;
  b->is_current = 1;
  for (i = 0; i < b->chg.n; i++) {
    const bchg *c = (const bchg *)b->chg.a + i;
    if (c->is_current) {
      const char *t = pool_at(b, c->target);
      b->is_current = path && t && strcmp(t, path) == 0;
      break;
    }
  }
  if (b->title == NOSTR || !b->pool[b->title]) {
    b->title = NOSTR;
    b->problems |= EVENTMD_PROBLEM_NO_TITLE;
  }
  b->date = b->path_date != NOSTR ? b->path_date : b->heading_date;
  if (b->date == NOSTR) b->problems |= EVENTMD_PROBLEM_NO_DATE;
  if (b->path_date != NOSTR && b->heading_date != NOSTR &&
      memcmp(b->pool + b->path_date, b->pool + b->heading_date, 10) != 0)
    b->problems |= EVENTMD_PROBLEM_DATE_DIFF;
}

/* ------------------------------------------------------------------------
** Parsers: scratch memory reused from one file to the next.
*/
struct eventmd_parser {
  eventmd_allocator al; /* where everything comes from */
  emd_arena arena;      /* cmark's memory for one parse */
  builder b;            /* rows and strings being built (buffers kept) */
  char *repaired;       /* UTF-8 repaired copy of the input */
  size_t repaired_cap;  /* bytes allocated for repaired */
};

eventmd_parser *eventmd_parser_new(const eventmd_allocator *alloc) {
  eventmd_parser *p;
  if (!alloc) alloc = &std_alloc;
  p = alloc->xMalloc(alloc->ctx, sizeof(*p));
  if (!p) return NULL;
  memset(p, 0, sizeof(*p));
  p->al = *alloc;
  p->arena.al = &p->al;
  p->b.al = &p->al;
  return p;
}

void eventmd_parser_free(eventmd_parser *p) {
  if (!p) return;
  emd_arena_free(&p->arena);
  p->al.xFree(p->al.ctx, p->b.pool);
  p->al.xFree(p->al.ctx, p->b.src.a);
  p->al.xFree(p->al.ctx, p->b.rel.a);
  p->al.xFree(p->al.ctx, p->b.chg.a);
  p->al.xFree(p->al.ctx, p->repaired);
  p->al.xFree(p->al.ctx, p);
}

/* Most memory cmark may use for a file of len bytes (the guard's R5 uses the
** same bound).  Ordinary event files need 3-11x their size; inputs that make
** cmark 0.30 keep ~200 bytes per character are stopped here instead of
** exhausting the host. */
static size_t cmark_budget(size_t len) {
  return ((size_t)32 << 20) + 32 * len;
}

/* Parse text with cmark into the parser's arena and read the tree into b.
** Returns 0, or the arena's failure (1 = out of memory, 2 = over budget). */
static int run_cmark(eventmd_parser *p, const char *text, size_t len) {
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
    return why ? why : 1;
  }
  cp = cmark_parser_new_with_mem(CMARK_OPT_DEFAULT, &emd_arena_mem);
  cmark_parser_feed(cp, text, len);
  doc = cmark_parser_finish(cp);
  if (doc) read_document(&p->b, doc);
  /* No cmark_node_free / cmark_parser_free: the arena goes at once. */
  emd_arena_use(NULL);
  emd_arena_reset(&p->arena);
  return 0;
}

static int parse_with(eventmd_parser *p, eventmd_event **out, const char *bytes,
                      size_t len, const char *path,
                      const eventmd_parse_options *opts) {
  builder *b = &p->b;
  emd_utf8_info u;
  const char *text = bytes;
  size_t textlen = len;
  int why;

  /* Reset the builder, keeping its buffers. */
  b->al = &p->al;
  b->oom = 0;
  b->npool = 0;
  b->src.n = b->rel.n = b->chg.n = 0;
  b->title = b->summary = b->cover = b->day_index = NOSTR;
  b->heading_date = b->path_date = b->date = NOSTR;
  b->problems = 0;
  b->guard = NULL;
  b->is_current = 0;

  if (path) {
    char d[11];
    if (eventmd_path_date(d, path, strlen(path)))
      b->path_date = pool_str(b, d, 10);
  }

  emd_utf8_scan(&u, bytes, len);
  if (u.has_nul) b->problems |= EVENTMD_PROBLEM_NUL;
  if (!u.valid) {
    b->problems |= EVENTMD_PROBLEM_UTF8;
    if (u.repaired_len > p->repaired_cap) {
      char *r = p->al.xRealloc(p->al.ctx, p->repaired, u.repaired_len);
      if (!r) return EVENTMD_NOMEM;
      p->repaired = r;
      p->repaired_cap = u.repaired_len;
    }
    textlen = emd_utf8_repair(p->repaired, bytes, len);
    text = p->repaired;
  }

  b->guard = (opts && opts->no_guard) ? NULL : eventmd_guard(text, textlen);
  if (!b->guard) {
    why = run_cmark(p, text, textlen);
    if (why == 1) return EVENTMD_NOMEM;
    if (why == 2)
      b->guard =
          "not parsed: markdown too complex (parsing it would need too "
          "much memory)";
  }
  if (b->oom) return EVENTMD_NOMEM;
  if (b->guard) {
    /* Not parsed (or not completely): no rows, only what the path gives. */
    b->problems |= EVENTMD_PROBLEM_UNSAFE;
    b->src.n = b->rel.n = b->chg.n = 0;
    b->title = b->summary = b->cover = b->day_index = b->heading_date = NOSTR;
    b->is_current = 1;
    b->date = b->path_date;
  } else {
    conclude(b, path);
  }
  return finish(b, out, opts && opts->alloc ? opts->alloc : &p->al);
}

int eventmd_parse(eventmd_event **out, const char *bytes, size_t len,
                  const char *path, const eventmd_parse_options *opts) {
  eventmd_parser *p = opts ? opts->parser : NULL;
  int rc;
  *out = NULL;
  if (p) return parse_with(p, out, bytes, len, path, opts);
  p = eventmd_parser_new(opts ? opts->alloc : NULL);
  if (!p) return EVENTMD_NOMEM;
  rc = parse_with(p, out, bytes, len, path, opts);
  eventmd_parser_free(p);
  return rc;
}

void eventmd_event_free(eventmd_event *ev) {
  if (ev) ev->xFree(ev->pFreeCtx, ev);
}
