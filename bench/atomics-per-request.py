#!/usr/bin/env python3
"""Atomic read-modify-write instructions per request, from a callgrind dump.

An instruction count (callgrind's Ir) weighs every instruction alike, but a locked
one (`lock add`, `lock cmpxchg`, `xchg` with memory: reference counts, mutexes, task
states) costs ~20 cycles where most cost one or less. This counts how many times each
of them ran: a callgrind file made with `--dump-instr=yes --dump-line=no`
(bench/h2-callgrind.sh with KEEP=<dir> CGOPTS="--dump-instr=yes --dump-line=no") gives
each instruction's address and execution count; `objdump -d` of each object in it tells
which addresses hold a locked instruction.

Usage: bench/atomics-per-request.py CALLGRIND_FILE REQUESTS [TOP]
Prints the locked instructions per request, then the TOP functions (default 25) that
ran the most of them.
"""
import collections
import re
import subprocess
import sys


def locked_addresses(path):
    """Addresses of the locked instructions of an ELF object (its link-time addresses,
    as callgrind reports them for PIE executables and shared objects)."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", path],
        capture_output=True, text=True, check=False,
    ).stdout
    addrs = set()
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if not m:
            continue
        ins = m.group(2)
        if ins.startswith("lock ") or (ins.startswith("xchg") and "(" in ins):
            addrs.add(int(m.group(1), 16))
    return addrs


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    names = {"ob": {}, "fn": {}}
    ob = fn = None
    last = 0
    skip_next = False
    per_obj_addr = collections.defaultdict(collections.Counter)
    fn_of = {}
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"(c?ob|c?fn|c?fi|c?fe|fl)=\((\d+)\)(?: (.*))?", line)
        if m:
            kind, ident, name = m.group(1), m.group(2), m.group(3)
            if kind in ("ob", "fn", "cob", "cfn"):
                table = names["ob" if kind.endswith("ob") else "fn"]
                if name:
                    table[ident] = name
                if kind == "ob":
                    ob = table.get(ident)
                elif kind == "fn":
                    fn = table.get(ident)
            continue
        if line.startswith("calls="):
            skip_next = True
            continue
        m = re.match(r"(0x[0-9a-fA-F]+|[+-]\d+|\*)\s+(\d+)", line)
        if not m:
            continue
        p = m.group(1)
        if p.startswith("0x"):
            last = int(p, 16)
        elif p != "*":
            last += int(p)
        if skip_next:
            skip_next = False
            continue
        per_obj_addr[ob][last] += int(m.group(2))
        fn_of[(ob, last)] = fn
    total = 0
    by_fn = collections.Counter()
    by_obj = collections.Counter()
    for obj, counts in per_obj_addr.items():
        if not obj:
            continue
        locked = locked_addresses(obj)
        for a, c in counts.items():
            if a in locked:
                total += c
                by_obj[obj] += c
                by_fn[fn_of.get((obj, a)) or "?"] += c
    print(f"locked instructions per request: {total / n:.1f}")
    for obj, c in by_obj.most_common():
        print(f"  {c / n:7.2f}  {obj}")
    print(f"the {top} functions that ran the most:")
    for f, c in by_fn.most_common(top):
        print(f"  {c / n:7.2f}  {f[:150]}")


if __name__ == "__main__":
    main()
