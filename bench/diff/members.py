#!/usr/bin/env python3
"""Compare the set of differing tar members named by verify-release and by
diffoscope.

Usage:
  members.py VR.json DIFFOSCOPE.json   prints "equal" or "differ" on stdout,
                                       details on stderr; exit 0 if equal
  members.py --count VR.json           prints how many members VR.json names
  members.py --list FILE.json          prints the member set of either format

verify-release (docs/diff-json.md): the paths of findings of kind
only-in-a, only-in-b, header, content and order.

diffoscope: inside the node that holds the tar "file list" comparison, the
names on the changed lines of the file list (a libarchive listing: mode,
links, owner, group, size, mtime, name [-> target]) plus the names of the
sibling nodes (members whose content differs).
"""
import json
import re
import sys

VR_KINDS = {"only-in-a", "only-in-b", "header", "content", "order"}

# strmode nlink user group size|dev YYYY-MM-DD HH:MM:SS.ffffff name
LISTING = re.compile(r"^\S{10} .*? \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} (.*)$")


def vr_members(doc):
    return {f["path"] for f in doc.get("findings", []) if f.get("kind") in VR_KINDS}


def listing_name(line):
    m = LISTING.match(line)
    if not m:
        raise ValueError(f"unparsed file list line: {line!r}")
    name = m.group(1)
    if line.startswith("l") and " -> " in name:
        name = name.split(" -> ", 1)[0]
    return name


def diffoscope_members(doc):
    found, truncated = set(), []

    def walk(node):
        kids = node.get("details") or []
        lists = [k for k in kids if k.get("source1") == "file list"]
        if lists:
            for k in lists:
                for line in (k.get("unified_diff") or "").splitlines():
                    if line.startswith(("---", "+++", "@@")):
                        continue
                    if line[:1] in "+-":
                        if re.match(r"^[+-]\[ \d+ lines? removed \]", line) or "truncated" in line:
                            truncated.append(line)
                            continue
                        found.add(listing_name(line[1:]))
            for k in kids:
                if k.get("source1") != "file list":
                    found.add(k["source1"])
                    if k.get("source2") != k.get("source1"):
                        found.add(k["source2"])
        for k in kids:
            if k.get("source1") != "file list":
                walk(k)

    walk(doc)
    return found, truncated


def strip_dir_slash(names):
    return {n.rstrip("/") if n != "/" else n for n in names}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv):
    if argv[:1] == ["--count"]:
        print(len(vr_members(load(argv[1]))))
        return 0
    if argv[:1] == ["--list"]:
        doc = load(argv[1])
        names = vr_members(doc) if "findings" in doc else diffoscope_members(doc)[0]
        print("\n".join(sorted(names)))
        return 0
    vr = vr_members(load(argv[0]))
    do, truncated = diffoscope_members(load(argv[1]))
    if truncated:
        print(f"diffoscope output truncated: {truncated[:3]}", file=sys.stderr)
    # Directory names: libarchive and tar headers may or may not keep the
    # trailing slash; compare without it.
    vr_n, do_n = strip_dir_slash(vr), strip_dir_slash(do)
    if vr_n == do_n and not truncated:
        print("equal")
        return 0
    only_vr, only_do = sorted(vr_n - do_n), sorted(do_n - vr_n)
    print("differ")
    print(f"verify-release {len(vr_n)} members, diffoscope {len(do_n)} members", file=sys.stderr)
    print(f"only verify-release ({len(only_vr)}): {only_vr[:20]}", file=sys.stderr)
    print(f"only diffoscope ({len(only_do)}): {only_do[:20]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
