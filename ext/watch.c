/* SPDX-License-Identifier: MIT */
/*
** watch.c - which archive folders changed since a moment, learnt from one
** inotify instance per process (the contract is in watch.h).
**
** State.  Everything lives in one static struct `g`: the inotify descriptor,
** the clock, the moment of the last queue overflow, the folder records in two
** chained hash tables (by dev/ino and by watch descriptor) and the counters.
** All of it is changed under g.mu.  The values read without the lock --
** g.clock (emd_watch_now), g.overflow_at, g.enabled, g.fd (emd_watch_drain's
** early return) and each record's watched_at and changed_at
** (emd_watch_unchanged) -- are written with atomic release stores and read
** with atomic acquire loads.  Memory is the C library's: the state outlives
** every connection, and a record, once handed out, is never freed (callers
** keep the pointer), so nothing here is released before the process ends.
**
** The clock.  A 64-bit counter, moved on by one only under g.mu:
**   - a drain moves it on BEFORE reading the queue (to d) and marks every
**     folder named by an event it reads as changed at d; then it moves it on
**     once more (to d + 1) after the queue is empty.  The second step closes
**     the drain: a moment read after it is larger than every mark the drain
**     made, so a check made after a drain is trusted at once.
**   - adding a watch moves it on AFTER inotify_add_watch() returned, and that
**     new value is the record's watched_at.
**
** Why emd_watch_unchanged() asks changed_at < since (strict).  Let a check
** be made after the moment m = emd_watch_now() was read, and a change happen
** after that check.  Its event is queued after m was read, and it is marked
** by the drain that reads it, at that drain's value d.  If that drain moved
** the clock on after m was read, d > m.  Otherwise it moved it on before m
** was read and read the event after: it held g.mu all along, so nothing else
** moved the clock in between and m == d.  So a change after the check is
** marked at a value >= m, and a mark equal to m may be one: only a mark < m
** is certainly older than the check (it was made by a drain closed before m
** was read, whose events were all queued before m).  "<=" would trust a
** change made during the check.
**
** Why it asks watched_at <= since (not strict).  watched_at is the value the
** clock took after inotify_add_watch() returned, and each value is taken
** once.  A moment equal to watched_at was therefore read after the watch was
** in place, so every later change is queued; a moment < watched_at was read
** before the clock reached it, possibly before the watch existed.  "<" would
** only refuse the first moment for nothing.
**
** A drain does not stop other threads asking: a thread that asks while
** another drain runs sees every mark of every drain closed before its own
** statement's drain (g.mu orders them), which is all the contract promises
** ("a write that returned before the statement began").
**
** Records.  A record is keyed by the folder's dev/ino and is in one state:
**   WATCHED  a watch is in place (wd >= 0) and the record can vouch;
**   GONE     distrusted (changed_at == UINT64_MAX): its watch went away
**            (IN_IGNORED, IN_UNMOUNT), its folder was removed or moved
**            (IN_DELETE_SELF, IN_MOVE_SELF), another record took its wd, or
**            the process forked (below);
**   FOREIGN  the file system does not report every change: never watched,
**            and emd_watch_dir() answers NULL at the cost of one lookup;
**   FAILED   fstatfs(), inotify_init1() or inotify_add_watch() failed.
** A GONE record is never trusted again for any moment taken before a later
** emd_watch_dir() re-arms it: re-arming re-checks the file system, adds the
** watch again and sets a new watched_at, so by the rule above it vouches only
** for moments read after the new watch was in place (a folder that was moved
** keeps its inode and its kernel watch: re-arming it returns the same wd).
** It is the same record (callers hold the pointer), so memory does not grow
** when folders are removed and made again, and an inode number reused by a
** new folder gets a watch on the new folder.  Re-arming stores watched_at
** before changed_at leaves UINT64_MAX, and emd_watch_unchanged() loads
** changed_at (acquire) before watched_at, so a reader never pairs the new
** changed_at with the old watched_at.
**
** Moves.  IN_MOVE_SELF distrusts the record although the inode, its entries
** and its watch survive: the rows under a folder carry its path, and a folder
** moved within the archive (or out of it and back) would otherwise keep
** vouching for rows whose path changed, while its own watch reports nothing
** else about the move.  The parent's IN_MOVED_FROM/IN_MOVED_TO mark the
** parents; the moved folder is re-armed when the walk opens it again.
**
** IN_EXCL_UNLINK is NOT used.  It stops events for a child after the name it
** was opened by is unlinked, and the kernel decides by the dentry the writer
** used, not by the inode: a file with a second name in the same folder
** (a hard link), written through an fd opened by the name since removed, would
** change that second name's content with no event.  Without the flag such
** writes to unlinked files mark the folder changed: at worst a needless stat,
** never a stale row.  (Hard links across folders are a limit of inotify
** itself: a write through a name in another folder is reported only to that
** folder; see watch.h.)
**
** Refusals and retries.  A FOREIGN folder is never retried (its file system
** will not change).  Any other failure (ENOSPC: the user's watch limit;
** ENOMEM; EMFILE from inotify_init1(); /proc not mounted; fstatfs() failing)
** is usually about the whole process, so it starts a global back-off of
** RETRY_NS: until then every folder without a watch is refused without a
** system call, and after it the next one to be asked for tries again (a
** failure starts a new back-off).  So a process at the watch limit costs at most one failing
** system call per second, and gets watches back when some are freed.
**
** Fork.  The child shares the parent's inotify instance (the same open file
** description): a read in the child would take the parent's events away.
** pthread_atfork() handlers, registered on first use (no constructor), hold
** g.mu across fork(); in the child they close the inherited descriptor and
** turn every record GONE.  The child then creates its own instance the first
** time it asks for a watch, and re-arms folders as it opens them again; no
** moment from before the fork is vouched for there, and the parent's
** instance and events are untouched.  (glibc unregisters the handlers when
** the extension is unloaded; the descriptor then stays open until exit.)
*/
#include "watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* What a watch reports.  IN_MODIFY: write(), truncate(), fallocate() as they
** return; IN_ATTRIB: chmod, chown, utimensat, link count, xattrs;
** IN_CLOSE_WRITE: a writer closing; IN_MOVED_FROM/TO, IN_CREATE, IN_DELETE:
** names; IN_DELETE_SELF, IN_MOVE_SELF: the folder itself.  IN_ONLYDIR
** refuses anything but a folder.  IN_EXCL_UNLINK is left out on purpose
** (see above). */
#define WATCH_MASK                                                        \
  (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | \
   IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

#define RETRY_NS 1000000000LL /* back-off after a failure to watch: 1 s */
#define DISTRUSTED UINT64_MAX /* changed_at of a record that cannot vouch */

/* Record states (emd_wdir.state); see the header comment. */
enum { ST_NEW, ST_WATCHED, ST_GONE, ST_FOREIGN, ST_FAILED };

struct emd_wdir {
  uint64_t watched_at; /* clock after its watch was in place (atomic) */
  uint64_t changed_at; /* drain that last saw an event here; DISTRUSTED:
                          cannot vouch (atomic) */
  dev_t dev;           /* the folder's device */
  ino_t ino;           /* the folder's inode */
  int wd;              /* its inotify watch descriptor, -1 when none */
  int state;           /* ST_* */
  emd_wdir *next_id;   /* chain in g.by_id */
  emd_wdir *next_wd;   /* chain in g.by_wd (only while wd >= 0) */
};

/* A chained hash table of records; n is 0 or a power of two. */
typedef struct wtable {
  emd_wdir **slot; /* n chains */
  size_t n;        /* number of chains */
  size_t count;    /* records linked */
} wtable;

static struct {
  pthread_mutex_t mu;   /* guards everything below */
  int fd;               /* the inotify instance, -1 when none (atomic) */
  int enabled;          /* emd_watch_set_enabled() (atomic) */
  uint64_t clock;       /* the moment now (atomic) */
  uint64_t overflow_at; /* last queue overflow, or re-enable (atomic) */
  int64_t retry_ns;     /* no new watch before this monotonic time */
  wtable by_id;         /* every record, by dev/ino */
  wtable by_wd;         /* records with a watch, by wd */
  emd_watch_stats st;   /* counters (watches: records with wd >= 0) */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .enabled = 1};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------------
** Small helpers.
*/

static uint64_t load64(const uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static void store64(uint64_t *p, uint64_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Move the clock on by one (g.mu held); the new moment. */
static uint64_t tick(void) {
  uint64_t t = g.clock + 1;
  store64(&g.clock, t);
  return t;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static size_t id_slot(const wtable *t, dev_t dev, ino_t ino) {
  return (size_t)(mix64((uint64_t)dev * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ino) &
                  (t->n - 1));
}

static size_t wd_slot(const wtable *t, int wd) {
  return (size_t)(mix64((uint64_t)(unsigned)wd) & (t->n - 1));
}

/* ------------------------------------------------------------------------
** The two tables.  They grow when they hold more records than chains; when
** memory runs out they keep their size (longer chains, still correct).
*/

static emd_wdir *find_id(dev_t dev, ino_t ino) {
  emd_wdir *r;
  if (!g.by_id.n) return NULL;
  for (r = g.by_id.slot[id_slot(&g.by_id, dev, ino)]; r; r = r->next_id)
    if (r->dev == dev && r->ino == ino) return r;
  return NULL;
}

static emd_wdir *find_wd(int wd) {
  emd_wdir *r;
  if (!g.by_wd.n) return NULL;
  for (r = g.by_wd.slot[wd_slot(&g.by_wd, wd)]; r; r = r->next_wd)
    if (r->wd == wd) return r;
  return NULL;
}

/* Make t's chain array twice as large (or 64 chains); 0 when out of memory. */
static int grow(wtable *t, int by_wd) {
  size_t n = t->n ? t->n * 2 : 64, i;
  emd_wdir **slot = calloc(n, sizeof(*slot));
  wtable nt;
  if (!slot) return 0;
  nt.slot = slot;
  nt.n = n;
  nt.count = t->count;
  for (i = 0; i < t->n; i++) {
    emd_wdir *r = t->slot[i], *next;
    for (; r; r = next) {
      size_t s;
      if (by_wd) {
        next = r->next_wd;
        s = wd_slot(&nt, r->wd);
        r->next_wd = slot[s];
      } else {
        next = r->next_id;
        s = id_slot(&nt, r->dev, r->ino);
        r->next_id = slot[s];
      }
      slot[s] = r;
    }
  }
  free(t->slot);
  *t = nt;
  return 1;
}

/* Link r into g.by_id; 0 when there is no table and no memory for one. */
static int link_id(emd_wdir *r) {
  size_t s;
  if (g.by_id.count >= g.by_id.n && !grow(&g.by_id, 0) && !g.by_id.n) return 0;
  s = id_slot(&g.by_id, r->dev, r->ino);
  r->next_id = g.by_id.slot[s];
  g.by_id.slot[s] = r;
  g.by_id.count++;
  return 1;
}

/* Link r (r->wd >= 0) into g.by_wd; 0 as link_id(). */
static int link_wd(emd_wdir *r) {
  size_t s;
  if (g.by_wd.count >= g.by_wd.n && !grow(&g.by_wd, 1) && !g.by_wd.n) return 0;
  s = wd_slot(&g.by_wd, r->wd);
  r->next_wd = g.by_wd.slot[s];
  g.by_wd.slot[s] = r;
  g.by_wd.count++;
  return 1;
}

static void unlink_wd(emd_wdir *r) {
  emd_wdir **pp;
  if (!g.by_wd.n) return;
  for (pp = &g.by_wd.slot[wd_slot(&g.by_wd, r->wd)]; *pp;
       pp = &(*pp)->next_wd) {
    if (*pp == r) {
      *pp = r->next_wd;
      r->next_wd = NULL;
      g.by_wd.count--;
      return;
    }
  }
}

/* ------------------------------------------------------------------------
** Record state changes (g.mu held).
*/

/* r can no longer vouch for anything until it is re-armed. */
static void distrust(emd_wdir *r) {
  store64(&r->changed_at, DISTRUSTED);
  if (r->state == ST_WATCHED) r->state = ST_GONE;
}

/* r no longer has a watch descriptor (the kernel dropped it, or another
** record took it). */
static void drop_wd(emd_wdir *r) {
  if (r->wd < 0) return;
  unlink_wd(r);
  r->wd = -1;
  g.st.watches--;
}

/* r could not be watched; counted once per refusal. */
static void refuse(emd_wdir *r, int state) {
  if (r->state != ST_FOREIGN && r->state != ST_FAILED) g.st.refused++;
  distrust(r);
  r->state = state;
}

/* Back off after a failure to watch (see the header comment). */
static void back_off(void) {
  g.retry_ns = mono_ns() + RETRY_NS;
}

/* ------------------------------------------------------------------------
** Fork (see the header comment).
*/

static void fork_prepare(void) {
  pthread_mutex_lock(&g.mu);
}

static void fork_parent(void) {
  pthread_mutex_unlock(&g.mu);
}

/* In the child, with g.mu held by the thread that forked: forget the
** parent's instance and every watch.  Only close() and stores. */
static void fork_child(void) {
  size_t i;
  if (g.fd >= 0) close(g.fd);
  __atomic_store_n(&g.fd, -1, __ATOMIC_RELEASE);
  for (i = 0; i < g.by_id.n; i++) {
    emd_wdir *r;
    for (r = g.by_id.slot[i]; r; r = r->next_id) {
      r->wd = -1;
      r->next_wd = NULL;
      if (r->state == ST_WATCHED) r->state = ST_GONE;
      store64(&r->changed_at, DISTRUSTED);
    }
  }
  if (g.by_wd.n) memset(g.by_wd.slot, 0, g.by_wd.n * sizeof(*g.by_wd.slot));
  g.by_wd.count = 0;
  g.st.watches = 0;
  g.retry_ns = 0;
  pthread_mutex_unlock(&g.mu);
}

static void setup_once(void) {
  /* If registration fails, a child would read the parent's events: then
  ** never watch at all (every answer is "cannot watch", which is safe). */
  if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
    __atomic_store_n(&g.enabled, -1, __ATOMIC_RELEASE);
}

static void lock(void) {
  pthread_once(&g_once, setup_once);
  pthread_mutex_lock(&g.mu);
}

static void unlock(void) {
  pthread_mutex_unlock(&g.mu);
}

static int enabled(void) {
  return __atomic_load_n(&g.enabled, __ATOMIC_ACQUIRE) == 1;
}

/* ------------------------------------------------------------------------
** Adding a watch.
*/

int emd_watch_fs_trusted(long f_type) {
  switch ((uint32_t)f_type) {
    case 0xEF53u:     /* ext2, ext3, ext4 */
    case 0x58465342u: /* xfs */
    case 0x9123683Eu: /* btrfs */
    case 0x01021994u: /* tmpfs */
    case 0xF2F52010u: /* f2fs */
    case 0x2FC12FC1u: /* zfs */
    case 0xCA451A4Eu: /* bcachefs */ return 1;
    default: return 0;
  }
}

/* Watch the folder open as fd (already checked to be r's dev/ino), or refuse
** it; 1 when r is WATCHED. */
static int arm(emd_wdir *r, int fd) {
  struct statfs sf;
  char path[40];
  int wd, ifd = g.fd;
  emd_wdir *other;
  if (fstatfs(fd, &sf) != 0) {
    back_off();
    refuse(r, ST_FAILED);
    return 0;
  }
  if (!emd_watch_fs_trusted((long)sf.f_type)) {
    refuse(r, ST_FOREIGN);
    return 0;
  }
  if (g.retry_ns && mono_ns() < g.retry_ns) {
    refuse(r, ST_FAILED);
    return 0;
  }
  if (ifd < 0) {
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0) {
      back_off();
      refuse(r, ST_FAILED);
      return 0;
    }
    __atomic_store_n(&g.fd, ifd, __ATOMIC_RELEASE);
  }
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  wd = inotify_add_watch(ifd, path, WATCH_MASK);
  if (wd < 0) {
    back_off();
    refuse(r, ST_FAILED);
    return 0;
  }
  g.retry_ns = 0;
  if (r->wd >= 0 && r->wd != wd) {
    /* r's old watch is on another inode (it cannot be: r's inode number
    ** was held by it); drop it rather than keep a stray watch. */
    inotify_rm_watch(ifd, r->wd);
    drop_wd(r);
  }
  other = find_wd(wd);
  if (other && other != r) {
    /* The kernel gave a descriptor another record holds: the same inode
    ** known by two identities, or a descriptor reused before its
    ** IN_IGNORED was drained.  Events for wd now go to r; the other
    ** record can no longer know its folder's changes. */
    drop_wd(other);
    distrust(other);
  }
  if (r->wd != wd) {
    r->wd = wd;
    if (!link_wd(r)) {
      /* No memory for the table: events could not find r. */
      r->wd = -1;
      inotify_rm_watch(ifd, wd);
      refuse(r, ST_FAILED);
      return 0;
    }
    g.st.watches++;
  }
  /* watched_at first, then changed_at: see the header comment. */
  store64(&r->watched_at, tick());
  r->state = ST_WATCHED;
  store64(&r->changed_at, 0);
  return 1;
}

emd_wdir *emd_watch_dir(int fd, dev_t dev, ino_t ino) {
  emd_wdir *r, *out = NULL;
  struct stat st;
  if (!enabled() || fd < 0) return NULL;
  lock();
  r = find_id(dev, ino);
  if (r && r->state == ST_WATCHED) {
    out = r;
  } else if (r && r->state == ST_FOREIGN) {
    out = NULL; /* its file system does not change */
  } else if (r && r->state == ST_FAILED && g.retry_ns &&
             mono_ns() < g.retry_ns) {
    out = NULL; /* backing off: no system call */
  } else if (fstat(fd, &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
    out = NULL; /* fd is not the folder named: remember nothing */
  } else {
    if (!r) {
      r = malloc(sizeof(*r));
      if (!r) goto done; /* out of memory: cannot watch */
      memset(r, 0, sizeof(*r));
      r->dev = dev;
      r->ino = ino;
      r->wd = -1;
      r->state = ST_NEW;
      r->changed_at = DISTRUSTED;
      if (!link_id(r)) {
        free(r);
        goto done;
      }
    }
    if (arm(r, fd)) out = r;
  }
done:
  unlock();
  return out;
}

emd_wdir *emd_watch_find(dev_t dev, ino_t ino) {
  emd_wdir *r;
  if (!enabled()) return NULL;
  lock();
  r = find_id(dev, ino);
  if (r && r->state != ST_WATCHED) r = NULL;
  unlock();
  return r;
}

/* ------------------------------------------------------------------------
** Draining and asking.
*/

/* Mark what one event says, at moment d (g.mu held). */
static void take_event(const struct inotify_event *ev, uint64_t d) {
  emd_wdir *r;
  g.st.events++;
  if (ev->mask & IN_Q_OVERFLOW) {
    store64(&g.overflow_at, d);
    g.st.overflows++;
    return;
  }
  r = find_wd(ev->wd);
  if (!r) return; /* a watch dropped since: nothing to mark */
  if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED))
    distrust(r);
  else if (load64(&r->changed_at) != DISTRUSTED)
    store64(&r->changed_at, d);
  if (ev->mask & IN_IGNORED) drop_wd(r); /* the kernel dropped the watch */
}

void emd_watch_drain(void) {
  union {
    struct inotify_event ev; /* for alignment */
    char bytes[8192];        /* a batch of events */
  } buf;
  uint64_t d;
  /* No instance (never watched, or a fork child that has not yet): cheap. */
  if (__atomic_load_n(&g.fd, __ATOMIC_ACQUIRE) < 0 || !enabled()) return;
  lock();
  if (g.fd < 0) {
    unlock();
    return;
  }
  d = tick();
  for (;;) {
    ssize_t n = read(g.fd, buf.bytes, sizeof(buf.bytes));
    const char *p = buf.bytes;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      /* Cannot read the queue: trust nothing read before. */
      store64(&g.overflow_at, d);
      g.st.overflows++;
      break;
    }
    while (p + sizeof(struct inotify_event) <= buf.bytes + n) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      take_event(ev, d);
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  tick(); /* close the drain: see the header comment */
  unlock();
}

uint64_t emd_watch_now(void) {
  return load64(&g.clock);
}

int emd_watch_unchanged(const emd_wdir *w, uint64_t since) {
  uint64_t changed;
  if (!w || !enabled()) return 0;
  /* changed_at before watched_at: see "Records" in the header comment. */
  changed = load64(&w->changed_at);
  return changed < since && load64(&w->watched_at) <= since &&
         load64(&g.overflow_at) < since;
}

/* ------------------------------------------------------------------------
** Switches and counters.
*/

void emd_watch_set_enabled(int on) {
  int was;
  lock();
  was = __atomic_load_n(&g.enabled, __ATOMIC_ACQUIRE);
  if (was >= 0) { /* -1: never (see setup_once) */
    if (on && !was) {
      /* Nothing was drained while off: no record vouches for a moment
      ** taken before now, as after an overflow.  Set before enabling. */
      store64(&g.overflow_at, tick());
      tick();
    }
    __atomic_store_n(&g.enabled, on ? 1 : 0, __ATOMIC_RELEASE);
  }
  unlock();
}

int emd_watch_enabled(void) {
  return enabled();
}

void emd_watch_simulate_overflow(void) {
  lock();
  store64(&g.overflow_at, tick());
  g.st.overflows++;
  tick();
  unlock();
}

void emd_watch_get_stats(emd_watch_stats *out) {
  lock();
  *out = g.st;
  unlock();
}
