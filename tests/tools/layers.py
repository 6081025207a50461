# SPDX-License-Identifier: MIT
"""The layering rule of ext/README.md, checked on the built objects:

  * no file of ext/ calls, directly or through others, a file that calls
    back into it (no cycle among the files' calls, read from the symbols
    each object defines and uses: nm);
  * no header includes, directly or through others, a header that includes
    it back;
  * every C file of ext/ is in ext/README.md's table, and no file there is
    missing from ext/.

    /usr/bin/python3 tests/tools/layers.py build/obj

Exits 1 naming each cycle or missing entry; prints the call graph with -v.
"""

import collections
import glob
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def strongly_connected(graph):
    """Tarjan's components of graph (dict: node -> set of nodes), iteratively."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def call_graph(objdir):
    defined, used = {}, collections.defaultdict(set)
    objs = sorted(glob.glob(os.path.join(objdir, "*.o")))
    for obj in objs:
        name = os.path.basename(obj)[:-2]
        text = subprocess.run(["nm", obj], capture_output=True, text=True,
                              check=True).stdout
        for line in text.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBR":
                defined[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                used[name].add(f[1])
    graph = {os.path.basename(o)[:-2]: set() for o in objs}
    for name, symbols in used.items():
        for s in symbols:
            if s in defined and defined[s] != name:
                graph[name].add(defined[s])
    return graph


def include_graph():
    graph = {}
    for h in glob.glob(os.path.join(REPO, "ext", "*.h")) + \
            glob.glob(os.path.join(REPO, "include", "*.h")):
        with open(h, encoding="utf-8") as f:
            graph[os.path.basename(h)] = {
                os.path.basename(m) for m in re.findall(r'#include "([^"]+)"', f.read())}
    return graph


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    objdir = args[0] if args else os.path.join(REPO, "build", "obj")
    problems = []
    calls = call_graph(objdir)
    if len(calls) < 10:
        problems.append("only %d objects in %s: build them first (make)" % (len(calls), objdir))
    for comp in strongly_connected(calls):
        if len(comp) > 1:
            problems.append("files that call each other: " + ", ".join(c + ".c" for c in comp))
    for comp in strongly_connected(include_graph()):
        if len(comp) > 1:
            problems.append("headers that include each other: " + ", ".join(comp))
    with open(os.path.join(REPO, "ext", "README.md"), encoding="utf-8") as f:
        mapped = set(re.findall(r"`([a-z_]+\.c)`", f.read()))
        mapped |= {"table_%s.c" % t for t in ("events", "sources", "related", "changes")}
    sources = {os.path.basename(c) for c in glob.glob(os.path.join(REPO, "ext", "*.c"))}
    for c in sorted(sources - mapped):
        problems.append("ext/%s is not in ext/README.md's table" % c)
    for c in sorted(mapped - sources):
        problems.append("ext/README.md names %s, which is not in ext/" % c)
    if "-v" in sys.argv:
        for a in sorted(calls):
            print("%-14s -> %s" % (a, " ".join(sorted(calls[a]))))
    for p in problems:
        print("layers.py: FAIL: " + p)
    if not problems:
        print("layers.py: %d files, no call or include cycles; ext/README.md maps them all"
              % len(calls))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
