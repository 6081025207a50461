/* SPDX-License-Identifier: MIT */
/*
** watch.h - what changed in the archive's folders since a given moment,
** learnt without a stat() per file (Linux inotify).
**
** A warm query would otherwise spend most of its time on one fstatat() per
** file just to learn that nothing changed.  Instead, each folder eventmd
** lists gets an inotify watch, and every statement starts by reading the
** events queued since the last one (emd_watch_drain(), never blocking).  A
** cached fact about a folder or one of its files, checked against the disk
** at moment m (emd_watch_now(), read BEFORE the check), stays true while
** emd_watch_unchanged(folder, m) says so.
**
** Why that is safe: the kernel queues an event before the write, rename,
** unlink or chmod that causes it returns.  A drain first moves the clock
** on, then reads every queued event and marks each folder named by one as
** changed at the new time.  So a change that happened after a check at m
** is marked with a time > m by the first drain that sees it, which is at
** the latest the drain at the start of the next statement; a change marked
** at time m itself (a drain running while the check was made) is treated
** as after the check.  A watch added after m cannot vouch for m.
**
** When eventmd cannot rely on events it says so and the caller stat()s as
** before: no inotify, the watch limit reached (ENOSPC), a file system that
** reports no events for changes made elsewhere (network and FUSE file
** systems: only local disk file systems and tmpfs are trusted), a queue
** overflow (every folder counts as changed at that time), a folder whose
** watch went away (deleted, moved to another file system, unmounted).
** Changes that inotify never reports (a store into a shared mmap of the
** file; a write to a file through a hard link in another folder, which is
** reported to that folder only) are outside this: see the README's limits.
** After fork() the child never reads the parent's queue: it starts with no
** watch and re-arms folders as it opens them (see watch.c).
**
** One inotify instance per process, shared by every connection (instances
** are scarce: 128 per user by default); its state is guarded by a mutex
** and read with atomics, so connections in several threads and read-ahead
** workers use it at once.  Memory is the C library's (the state outlives
** any one connection); watch records live until the process ends.
*/
#ifndef EVENTMD_WATCH_H
#define EVENTMD_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A watched folder (process lifetime; never freed while the process runs). */
typedef struct emd_wdir emd_wdir;

/* Start of a statement: read every queued event without blocking. */
void emd_watch_drain(void);

/* The moment now, for a later emd_watch_unchanged().  Read it BEFORE the
** listing, stat() or read whose result is to be trusted. */
uint64_t emd_watch_now(void);

/* The watch of the open folder fd whose identity is dev/ino, adding one
** when there is none.  NULL when the folder cannot be watched (see above):
** the caller then checks by stat(). */
emd_wdir *emd_watch_dir(int fd, dev_t dev, ino_t ino);

/* The watch of folder dev/ino if it has one (no watch is added), or NULL. */
emd_wdir *emd_watch_find(dev_t dev, ino_t ino);

/* 1 when nothing in folder w can have changed since moment `since`: no
** name added, removed or renamed, no file written, truncated or with its
** metadata changed, the folder itself not changed, moved or removed, and
** the watch already in place at `since`.  0 otherwise (w NULL too). */
int emd_watch_unchanged(const emd_wdir *w, uint64_t since);

/* Turn watching on (the default) or off for the whole process; off, every
** emd_watch_dir() returns NULL and every emd_watch_unchanged() 0.  For
** tests and for eventmd_config('watch', 0). */
void emd_watch_set_enabled(int on);
int emd_watch_enabled(void);

/* Tests: behave as after a queue overflow (every folder changed now). */
void emd_watch_simulate_overflow(void);

/* 1 when a file system of type f_type (statfs's f_type) is trusted to
** report every change: ext2/3/4, xfs, btrfs, tmpfs, f2fs, zfs, bcachefs.
** What emd_watch_dir() decides by; exposed for tests. */
int emd_watch_fs_trusted(long f_type);

/* Counters for eventmd_stats(). */
typedef struct emd_watch_stats {
  uint64_t watches;   /* folders watched now */
  uint64_t events;    /* events read so far */
  uint64_t overflows; /* queue overflows so far */
  uint64_t refused;   /* folders that could not be watched */
} emd_watch_stats;
void emd_watch_get_stats(emd_watch_stats *out);

#endif /* EVENTMD_WATCH_H */
