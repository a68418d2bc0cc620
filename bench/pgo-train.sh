#!/usr/bin/env bash
# The training run of scripts/build-pgo: drives an instrumented haproxide (HAPROXIDE) with
# traffic of every kind it serves, so that each process writes its profile at exit. It
# deliberately differs from what the bench scripts measure (bench/*-vs-haproxy.sh use wrk
# and one backend): its own configuration (path routing with ACLs to two round-robin
# backends, cookie persistence, several header rules, a TCP listener), other clients
# (h2load --h1 for keep-alive HTTP/1.1, curl for one request per connection and POST
# bodies, h2load for h2c and h2 over TLS with full handshakes), other paths and sizes.
#
# Usage: HAPROXIDE=<instrumented binary> bench/pgo-train.sh
# Env:   N=20000 (requests per h2load run)
# Needs: h2load, curl, nginx, openssl, python3.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_need h2load curl openssl python3
bench_binary 0
bench_tmp pgotrain
N=${N:-20000}
read -r P_ORIGIN P_LOG P_H P_C P_T P_TCP <<<"$(free_ports 6)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/k.pem" \
    -out "$TMP/c.pem" -subj /CN=localhost -days 2 2>/dev/null
cat "$TMP/c.pem" "$TMP/k.pem" >"$TMP/srv.pem"
head -c 65536 /dev/urandom >"$TMP/body"

start_origin "$P_ORIGIN"
start_log_sink "$P_LOG"

cat >"$TMP/train.cfg" <<EOF
global
    nbthread 2
    log 127.0.0.1:$P_LOG local0
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:$P_H
    bind 127.0.0.1:$P_C proto h2
    bind 127.0.0.1:$P_T ssl crt $TMP/srv.pem alpn h2,http/1.1
    acl is_post path_beg /post
    acl api path_beg /api/
    http-request set-header X-Train %[src]
    http-request add-header X-Path %[path]
    http-request del-header X-Unwanted
    http-response set-header X-Served-By haproxide
    use_backend posts if is_post
    use_backend api if api
    default_backend small
backend small
    balance roundrobin
    cookie SRV insert indirect nocache
    server a 127.0.0.1:$P_ORIGIN cookie a
    server b 127.0.0.1:$P_ORIGIN cookie b
backend posts
    server p 127.0.0.1:$P_ORIGIN
backend api
    http-request replace-path /api/(.*) /\1
    server s 127.0.0.1:$P_ORIGIN
listen tcp
    mode tcp
    option tcplog
    bind 127.0.0.1:$P_TCP
    server t 127.0.0.1:$P_ORIGIN
EOF
"$HAPROXIDE" -f "$TMP/train.cfg" >"$TMP/proxy.log" 2>&1 &
PX=$!
PIDS+=("$PX")
for p in $P_H $P_C $P_T $P_TCP; do wait_port "$p" 10; done

run() {
    timeout 300 "$@" >"$TMP/last.out" 2>&1 || { echo "pgo-train: failed: $*" >&2; cat "$TMP/last.out" >&2; exit 1; }
    if [ "$1" = h2load ] && ! grep -q " 0 failed, 0 errored" "$TMP/last.out"; then
        echo "pgo-train: requests failed: $*" >&2; cat "$TMP/last.out" >&2; exit 1
    fi
    echo "$1 ${*: -1}: $(grep -m1 "^requests:" "$TMP/last.out" || echo done)"
}
# HTTP/1.1 keep-alive, one request at a time and a few in flight.
run h2load --h1 -n "$N" -c 20 "http://127.0.0.1:$P_H/small"
run h2load --h1 -n "$N" -c 8 "http://127.0.0.1:$P_H/api/small"
# One request per connection (curl closes after each: Connection: close).
urls=()
for i in $(seq 800); do urls+=("http://127.0.0.1:$P_H/small?i=$i"); done
run curl -s -o /dev/null -H "Connection: close" "${urls[@]}"
# POST bodies (64 KB each).
urls=()
for i in $(seq 200); do urls+=("http://127.0.0.1:$P_H/post?i=$i"); done
run curl -s -o /dev/null --data-binary @"$TMP/body" "${urls[@]}"
# 1 MB responses.
run h2load --h1 -n 300 -c 4 "http://127.0.0.1:$P_H/1mb"
# HTTP/2: cleartext prior knowledge, and TLS with ALPN h2.
run h2load -n "$N" -c 20 -m 10 "http://127.0.0.1:$P_C/small"
run h2load -n "$N" -c 20 -m 10 "https://127.0.0.1:$P_T/small"
# TLS full handshakes: many short connections.
run h2load -n 2000 -c 500 -m 1 "https://127.0.0.1:$P_T/small"
# TCP mode.
run h2load --h1 -n 5000 -c 10 "http://127.0.0.1:$P_TCP/small"
stop_pid "$PX"
echo "pgo-train: done ($(grep -c . "$TMP/proxy.log" || true) lines on the proxy's stderr)"
