#!/usr/bin/env bash
# Benchmark: `haproxide -c` vs `haproxy -c` on a generated config of
# BACKENDS backends x SERVERS servers (IPv4 literals only: nothing is resolved
# or contacted). See bench/README.md and docs/performance.md.
#
# Usage: bench/check-vs-haproxy.sh [-n BACKENDS] [-m SERVERS] [-r ROUNDS] [--no-build]
# Env:   CARGO_TARGET_DIR (honoured: the binary is $CARGO_TARGET_DIR/release/haproxide)
#        HAPROXY (default: haproxy from PATH), HAPROXIDE (skip the build, use this binary)
#        NO_UNSHARE=1 (do not re-exec under `unshare -n`), NO_HYPERFINE=1 (skip hyperfine)
set -euo pipefail

BACKENDS=10000 SERVERS=10 ROUNDS=5 BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        -n) BACKENDS=$2; shift 2 ;;
        -m) SERVERS=$2; shift 2 ;;
        -r) ROUNDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
TIME=/usr/bin/time

if [ ! -x "$TIME" ]; then
    echo "GNU time missing: apt-get install -y time" >&2
    exit 2
fi
[ -x "$HAPROXY" ] || { echo "haproxy not found ($HAPROXY)" >&2; exit 2; }

# 1. Build (before entering the network namespace: cargo may need the registry).
if [ -z "${HAPROXIDE:-}" ]; then
    TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
    if [ "$BUILD" = 1 ]; then
        (cd "$ROOT" && cargo build --release -q -p haproxide)
    fi
    HAPROXIDE=$TARGET/release/haproxide
fi
[ -x "$HAPROXIDE" ] || { echo "haproxide binary not found: $HAPROXIDE" >&2; exit 2; }
export HAPROXIDE HAPROXY

# 2. Re-exec the measuring part without network, so no DNS query can leave
#    the machine (the config contains only IP addresses anyway).
if [ -z "${BENCH_IN_NETNS:-}" ] && [ "${NO_UNSHARE:-0}" != 1 ] && command -v unshare >/dev/null \
   && unshare -rn true 2>/dev/null; then
    exec env BENCH_IN_NETNS=1 unshare -rn "$0" -n "$BACKENDS" -m "$SERVERS" -r "$ROUNDS" --no-build
fi
NETNS=${BENCH_IN_NETNS:+"yes (unshare -rn)"}
NETNS=${NETNS:-no}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haproxide-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
CFG=$TMP/bench.cfg

python3 "$ROOT/bench/gen-config.py" -n "$BACKENDS" -m "$SERVERS" "$CFG"

echo "== machine"
echo "nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "haproxy: $("$HAPROXY" -v | head -1)"
echo "haproxide: $("$HAPROXIDE" -V 2>/dev/null | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
echo "no network: $NETNS"
echo "config: $BACKENDS backends x $SERVERS servers, $(wc -l <"$CFG") lines, $(($(stat -c %s "$CFG") / 1024)) KiB"
echo

# Tools under test: label and command line.
LABELS=("haproxy -c" "haproxide -c" "haproxide check")
CMDS=(
    "$HAPROXY -c -q -f $CFG"
    "$HAPROXIDE -c -q -f $CFG"
    "$HAPROXIDE check --format short --resolve none -f $CFG"
)

# 3. Exit codes must agree (a disagreement is a bug: report it, do not hide it).
declare -a RCS
for i in "${!CMDS[@]}"; do
    set +e
    ${CMDS[$i]} >"$TMP/out.$i" 2>&1
    RCS[$i]=$?
    set -e
done
echo "== exit codes"
for i in "${!CMDS[@]}"; do
    printf '%-16s rc=%s  (%s lines of output)\n' "${LABELS[$i]}" "${RCS[$i]}" "$(wc -l <"$TMP/out.$i")"
done
MISMATCH=0
for i in 1 2; do
    if [ "${RCS[$i]}" != "${RCS[0]}" ]; then
        echo "BUG: ${LABELS[$i]} exits ${RCS[$i]} but haproxy -c exits ${RCS[0]} on the same config" >&2
        sed 's/^/    /' "$TMP/out.$i" | head -20 >&2
        MISMATCH=1
    fi
done
echo

# 4. Interleaved rounds: wall time (s) and peak RSS (KiB) via GNU time.
echo "== $ROUNDS interleaved rounds (wall s, CPU s = user+sys, peak RSS KiB)"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!CMDS[@]}"; do
        set +e
        $TIME -f '%e %M %U %S' -o "$TMP/t" ${CMDS[$i]} >/dev/null 2>&1
        set -e
        # GNU time prefixes "Command exited with non-zero status N" lines.
        read -r t m u s <<<"$(tail -1 "$TMP/t")"
        c=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
        echo "$t $m $c" >>"$TMP/res.$i"
        printf 'round %d  %-16s %6.2f s  cpu %6.2f s  %8d KiB\n' "$r" "${LABELS[$i]}" "$t" "$c" "$m"
    done
done
echo

# 5. Summary.
stats() { # file column -> "median min max"
    cut -d' ' -f"$2" "$1" | sort -g | awk '{a[NR]=$1} END {
        med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2;
        printf "%s %s %s\n", med, a[1], a[NR] }'
}
echo "== summary (median [min-max])"
printf '%-16s %-20s %-20s %-24s %-9s %-9s %-9s\n' tool "wall s" "CPU s" "peak RSS MiB" "wall/hx" "cpu/hx" "mem/hx"
read -r t0 _ _ <<<"$(stats "$TMP/res.0" 1)"
read -r m0 _ _ <<<"$(stats "$TMP/res.0" 2)"
read -r c0 _ _ <<<"$(stats "$TMP/res.0" 3)"
for i in "${!CMDS[@]}"; do
    read -r tm tmin tmax <<<"$(stats "$TMP/res.$i" 1)"
    read -r mm mmin mmax <<<"$(stats "$TMP/res.$i" 2)"
    read -r cm cmin cmax <<<"$(stats "$TMP/res.$i" 3)"
    printf '%-16s %-20s %-20s %-24s %-9s %-9s %-9s\n' "${LABELS[$i]}" \
        "$(printf '%.2f [%.2f-%.2f]' "$tm" "$tmin" "$tmax")" \
        "$(printf '%.2f [%.2f-%.2f]' "$cm" "$cmin" "$cmax")" \
        "$(awk -v a="$mm" -v b="$mmin" -v c="$mmax" 'BEGIN{printf "%.1f [%.1f-%.1f]", a/1024, b/1024, c/1024}')" \
        "$(awk -v a="$tm" -v b="$t0" 'BEGIN{printf "%.2fx", a/b}')" \
        "$(awk -v a="$cm" -v b="$c0" 'BEGIN{printf "%.2fx", a/b}')" \
        "$(awk -v a="$mm" -v b="$m0" 'BEGIN{printf "%.2fx", a/b}')"
done
echo "(wall/hx, cpu/hx, mem/hx: ratio to haproxy -c; < 1 means haproxide is faster / smaller)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# 6. Optional: hyperfine, if installed.
if [ "${NO_HYPERFINE:-0}" != 1 ] && command -v hyperfine >/dev/null; then
    echo
    echo "== hyperfine"
    hyperfine -N -w 1 -r "$ROUNDS" -i \
        -n "haproxy -c" "${CMDS[0]}" -n "haproxide -c" "${CMDS[1]}" \
        -n "haproxide check" "${CMDS[2]}"
fi

exit "$MISMATCH"
