#!/usr/bin/env bash
# Instructions per HTTP/2 request of the server codec alone: haproxide-h2 (ours) vs the
# `h2` crate's server, replaying the same h2load session (crates/haproxide-h2/examples/
# h2_cost.rs: h2load's own bytes, 10 requests per read, nginx-like answers of 100 bytes).
# Each side runs under callgrind for N1 and N2 requests; (Ir(N2) - Ir(N1)) / (N2 - N1)
# is the cost of one request, without the start-up. No sockets, no proxy: this is the
# number that decides whether the codec replaces the crate (docs/h2.md "Own codec").
#
# Usage: bench/h2-codec-cost.sh      Env: N1=1000 N2=11000
set -euo pipefail
N1=${N1:-1000} N2=${N2:-11000}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
nice -n 19 cargo build -q --release -p haproxide-h2 --example h2_cost
bin=target/release/examples/h2_cost
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
    nice -n 19 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" "$1" "$2" >/dev/null 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/err"
}
echo "# server codec Ir/request, h2load session replayed, N $N1 -> $N2, load $(cut -d' ' -f1-3 /proc/loadavg), $(git rev-parse --short HEAD)"
for who in own h2; do
    a=$(ir "$who" "$N1") b=$(ir "$who" "$N2")
    echo "$who $(( (b - a) / (N2 - N1) ))"
done
