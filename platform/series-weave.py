#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The files of the patches of patches/ in another order (series-git.sh).

series-weave.py BASE < ORDER

The patches of patches/ apply in the order of patches/series, each to the
result of the ones before it; the series of `make series` has them in the
order of platform/series.map.  Where two patches change the same file and
the map swaps them, neither applies as it is (the context of the later one
contains lines of the earlier one), and a three-way merge fails on changes
next to each other, such as two patches that add #include lines at the same
place of a sorted list.

So every such file is woven: all the lines it ever had in the order of
patches/series, each with the patch that added it and the one that removed
it.  The file after any set of applied patches is then the lines added by a
patch of the set (or already in BASE) and removed by none of the set; in the
order of patches/series that is exactly each version.  A patch that removes
a line which a patch not yet applied adds cannot be moved before that patch:
that is an error.

Runs in a git repository (GIT_DIR) that has the commits.  BASE is the
pristine commit; ORDER on stdin is first one line "PATCH COMMIT" per patch
of patches/series in its order (COMMIT is the tree after it), then a line
"--", then the patches in the order of the map, one a line.  Prints, for
each patch in the order of the map, "= PATCH" and then one
`git update-index --index-info` line for every file the patch changes: the
file as it is once that patch and the ones before it in the map applied.
"""
import difflib
import subprocess
import sys


def git(*args, data=None):
    return subprocess.run(("git",) + args, input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def blob(commit, path):
    """The mode and the lines of PATH in COMMIT, or None if it has none."""
    out = git("ls-tree", "-z", commit, "--", path).rstrip(b"\0")
    if not out:
        return None
    mode = out.split(b" ", 1)[0].decode()
    return mode, git("cat-file", "blob", commit + ":" + path).splitlines(keepends=True)


class Weave:
    """All the lines a file had, from its versions in their order."""

    def __init__(self, base, versions):
        # Entries are [line, adding patch or None for BASE, removing patch].
        self.entries = [[line, None, None] for line in base]
        alive = list(self.entries)
        prev = base
        for patch, lines in versions:
            sm = difflib.SequenceMatcher(None, prev, lines, autojunk=False)
            now = []
            for tag, i1, i2, j1, j2 in sm.get_opcodes():
                if tag == "equal":
                    now += alive[i1:i2]
                    continue
                for e in alive[i1:i2]:
                    e[2] = patch
                new = [[line, patch, None] for line in lines[j1:j2]]
                # After the lines this change removes, before the next line.
                if i2 < len(alive):
                    at = next(k for k, e in enumerate(self.entries) if e is alive[i2])
                else:
                    at = len(self.entries)
                self.entries[at:at] = new
                now += new
            alive, prev = now, lines

    def lines(self, applied, patch, path):
        out = []
        for line, added, removed in self.entries:
            if removed in applied:
                if added is not None and added not in applied:
                    sys.exit("series: error: patches/%s changes lines of %s that patches/%s adds: "
                             "place it after that patch in platform/series.map"
                             % (removed, path, added))
                continue
            if added is None or added in applied:
                out.append(line)
        return out


def main():
    base = sys.argv[1]
    orig, order = [], []
    part = orig
    for line in sys.stdin.read().splitlines():
        if line == "--":
            part = order
        elif line:
            part.append(line.split() if part is orig else line)
    commit = dict(orig)
    parent = dict(zip([p for p, _ in orig], [base] + [c for _, c in orig]))
    # The files each patch changes, and the patches that change each file.
    paths, touching = {}, {}
    for p, c in orig:
        names = git("diff-tree", "-r", "-z", "--no-renames", "--name-only", parent[p], c)
        paths[p] = [n.decode() for n in names.split(b"\0") if n]
        for n in paths[p]:
            touching.setdefault(n, []).append(p)
    weaves = {}
    applied = set()
    for p in order:
        applied.add(p)
        print("= " + p)
        for path in paths[p]:
            mine = [q for q in touching[path] if q in applied]
            if mine == touching[path][:len(mine)]:
                # A prefix of the file's patches in their own order: the
                # file as it was after the last of them.
                version = blob(commit[mine[-1]], path)
            else:
                if path not in weaves:
                    first = blob(base, path)
                    versions = []
                    for q in touching[path]:
                        v = blob(commit[q], path)
                        if first is None or v is None:
                            sys.exit("series: error: %s: patches/ that add or delete a file "
                                     "cannot be reordered" % path)
                        versions.append((q, v[1]))
                    weaves[path] = (first[0], Weave(first[1], versions))
                mode, weave = weaves[path]
                version = (mode, weave.lines(applied, p, path))
            if version is None:
                print("0 %040d\t%s" % (0, path))
                continue
            sha = git("hash-object", "-w", "--no-filters", "--stdin", data=b"".join(version[1]))
            print("%s %s\t%s" % (version[0], sha.decode().strip(), path))


if __name__ == "__main__":
    main()
