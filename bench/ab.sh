#!/usr/bin/env bash
# A/B of several haproxide binaries (allocators, features, commits) through one of the
# *-vs-haproxy.sh benches: each round runs the bench once (-r 1) per binary, the binaries
# in a rotating order, so that every binary meets the same machine load; HAProxy runs in
# each bench run too, so each haproxide figure also has its same-run HAProxy ratio.
# Reported: per metric and binary, the median over the rounds of haproxide's value and of
# its ratio to HAProxy [min–max].
#
# Usage: bench/ab.sh [-r ROUNDS] BENCH NAME=BINARY NAME=BINARY... [-- BENCH_ARGS...]
#   e.g. SKIP="big idle" bench/ab.sh -r 3 bench/http-vs-haproxy.sh \
#            glibc=/tmp/b/haproxide-glibc mimalloc=/tmp/b/haproxide-mimalloc
# The bench's own environment (T, CONNS, SKIP, N...) passes through.
set -euo pipefail

ROUNDS=3
[ "${1:-}" = -r ] && { ROUNDS=$2; shift 2; }
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
BENCH=$1; shift
NAMES=() BINS=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    NAMES+=("${1%%=*}"); BINS+=("${1#*=}")
    [ -x "${1#*=}" ] || { echo "not an executable: ${1#*=}" >&2; exit 2; }
    shift
done
[ "${1:-}" = -- ] && shift
OUT=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-ab.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
n=${#NAMES[@]}
for r in $(seq "$ROUNDS"); do
    for k in $(seq 0 $((n - 1))); do
        i=$(((k + r - 1) % n))
        echo "== round $r/$ROUNDS: ${NAMES[$i]} (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        HAPROXIDE=${BINS[$i]} "$BENCH" --no-build -r 1 "$@" >"$OUT/${NAMES[$i]}.$r.md" 2>"$OUT/${NAMES[$i]}.$r.log" ||
            { echo "${NAMES[$i]} round $r failed:" >&2; tail -20 "$OUT/${NAMES[$i]}.$r.log" >&2; }
    done
done
echo "Command: \`$0 -r $ROUNDS $BENCH ${NAMES[*]} $*\`; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$OUT" "$ROUNDS" "${NAMES[@]}" <<'PY'
import glob, os, re, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
# Bench reports are markdown tables: | metric | better | HAProxy | haproxide | ratio | ... |
vals = {}
order = []
num = lambda s: float(re.sub(r"[*,]", "", s.split()[0])) if s.strip() not in ("–", "") else None
def add(key, name, x, h):
    if key not in order:
        order.append(key)
    vals.setdefault((key, name), []).append((x, x / h if h else None))
for name in names:
    for path in sorted(glob.glob(os.path.join(out, f"{name}.*.md"))):
        raw = {}
        for line in open(path):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            toks = line.split()
            # h2-vs-haproxy.sh: "TEST PROXY REQ/S CPU"; tls-vs-haproxy.sh: "PROXY TEST RATE CPU ..."
            if len(toks) >= 4 and ("haproxy" in toks[:2] or "haproxide" in toks[:2]) and "|" not in line:
                p, t = (toks[1], toks[0]) if toks[1] in ("haproxy", "haproxide") else (toks[0], toks[1])
                try:
                    raw.setdefault(t, {})[p] = (float(toks[2]), float(toks[3]))
                except ValueError:
                    pass
                continue
            if len(cells) < 5 or cells[1] not in ("higher", "lower"):
                continue
            try:
                h, x = num(cells[2]), num(cells[3])
            except ValueError:
                continue
            if x is None:
                continue
            add((cells[0], cells[1]), name, x, h)
        for t, by in raw.items():
            if "haproxide" in by:
                h = by.get("haproxy", (None, None))
                add((f"{t}: rate", "higher"), name, by["haproxide"][0], h[0])
                add((f"{t}: proxy CPU per unit", "lower"), name, by["haproxide"][1], h[1])
def cell(v):
    if not v:
        return "–"
    m = statistics.median(v)
    f = (lambda a: f"{a:.0f}") if abs(m) >= 100 else (lambda a: f"{a:.2f}")
    return f"{f(m)} [{f(min(v))}–{f(max(v))}]" if len(v) > 1 else f(m)
print(f"Medians of {rounds} rounds [min–max]: haproxide's value, and its ratio to HAProxy in the same run.")
print()
print("| metric | better | " + " | ".join(f"{n} | {n} / HAProxy" for n in names) + " |")
print("|---|---|" + "---|---|" * len(names))
for key in order:
    row = []
    for n in names:
        v = vals.get((key, n), [])
        row += [cell([a for a, _ in v]), cell([b for _, b in v if b is not None])]
    print(f"| {key[0]} | {key[1]} | " + " | ".join(row) + " |")
PY
