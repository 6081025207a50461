/* SPDX-License-Identifier: MIT */
/*
** seed.h - the seed file from the real archive (shared/seed/example-event.md)
** for the tests that check eventmd against it.
**
** Found at $EVENTMD_SEED (the Makefile sets it), else beside the repository.
** Its absence is a failure, said loudly: the seed is on every development
** and CI machine.  Include after <cmocka.h>.
*/
#ifndef EVENTMD_TEST_SEED_H
#define EVENTMD_TEST_SEED_H

#include <stdio.h>
#include <stdlib.h>

/* Where the seed is stored in the archive (its own "Current version"). */
#define SEED_PATH                                                         \
  "/news/2014/02/13/during-a-two-day-visit-by-an-egyptian-delegation-in-" \
  "moscow-russian-foreign-minister-sergey-lavrov-said-that-moscow-and-"   \
  "cairo-have-agreed-to.md"

/* The seed's bytes (malloc'd, NUL-terminated) and their length. */
static inline char *seed_read(size_t *len) {
  const char *p = getenv("EVENTMD_SEED");
  FILE *f;
  char *buf;
  long n;
  if (!p || !*p) p = "../shared/seed/example-event.md";
  f = fopen(p, "rb");
  if (!f) {
    fprintf(stderr,
            "\n*** SEED FILE MISSING: %s ***\n"
            "*** The seed (shared/seed/example-event.md) is on every "
            "development and CI machine; set EVENTMD_SEED to its path. ***\n\n",
            p);
    fail_msg("seed file %s is missing", p);
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  buf[n] = 0;
  *len = (size_t)n;
  return buf;
}

#endif /* EVENTMD_TEST_SEED_H */
