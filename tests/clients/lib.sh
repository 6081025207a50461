# SPDX-License-Identifier: MIT
# lib.sh - what the client test scripts share; sourced, after setting
# $me (the script's name, for its messages).
#
#   check NAME EXPECTED ACTUAL   one numbered "ok" / "FAIL" line; $fails counts
#   say, pass, fail              a runner's messages; $passed, $failed count
#   missing TEST WHAT HOW        a client that cannot run: under CI ($CI true
#                                or 1) a failure, otherwise a loud SKIPPED
#                                banner ($skipped, $skip_list)
#   banner LINE...               a block on stderr that cannot be missed
#   summary WHAT                 the closing lines for WHAT ("client test");
#                                true when nothing failed
#   now, took START              timing; have COMMAND: is it on PATH?

case ${CI:-} in
  true | TRUE | True | 1 | yes) ci=1 ;;
  *) ci=0 ;;
esac
nl='
'
fails=0
n=0
passed=0
failed=0
skipped=0
skip_list=""

check() { # name expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then
    printf 'ok %s - %s\n' "$n" "$1"
  else
    printf 'FAIL %s - %s\n' "$n" "$1"
    printf '  expected: %s\n' "$2"
    printf '  actual:   %s\n' "$3"
    fails=$((fails + 1))
  fi
}

say() { printf '%s: %s\n' "$me" "$*"; }
fail() { say "FAIL: $*" >&2; failed=$((failed + 1)); }
pass() { say "$*"; passed=$((passed + 1)); }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
have() { command -v "$1" >/dev/null 2>&1; }

banner() { # line...
  {
    echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
    for line; do printf '%s\n' "$line" | sed 's/^/!!! /'; done
    echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
  } >&2
}

missing() { # test what how
  if [ "$ci" = 1 ]; then
    fail "$1 cannot run under CI: $2; to install it: $3"
  else
    skipped=$((skipped + 1))
    skip_list="$skip_list$nl$1: $2"
    banner "SKIPPED: $1 is NOT run" \
      "because: $2" \
      "to run it: $3" \
      "(with CI=true this is a failure, not a skip)"
  fi
}

summary() { # what
  if [ "$skipped" -gt 0 ]; then
    banner "SKIPPED: $skipped $1(s) did NOT run:$skip_list" \
      "(set CI=true to make a missing client a failure)"
  fi
  if [ "$failed" = 0 ] && [ "$skipped" = 0 ]; then
    say "all $1s passed"
  elif [ "$failed" = 0 ]; then
    say "the $1s that ran passed; $skipped SKIPPED" >&2
  else
    say "$1s FAILED" >&2
  fi
  say "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" = 0 ]
}
