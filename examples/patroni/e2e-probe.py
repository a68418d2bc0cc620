#!/usr/bin/env python3
"""Continuous probe for the Patroni end-to-end suite (runs with the lab's Patroni venv,
which has psycopg2).

    e2e-probe.py probe --out FILE --t0-ms EPOCH_MS --duration-ms MS [--seq-base N]
                       [--hold PORT] PORT:INTERVAL_MS[:w] [...]

Opens a new PostgreSQL connection through PORT every INTERVAL_MS, each in its own thread
(a slow or hanging connection does not delay the next one), asks
`SELECT inet_server_port(), pg_is_in_recovery()` and, for a `:w` target, then writes a
sequence number (`INSERT INTO e2e_writes`, autocommit: the INSERT returning is the
acknowledgement). Appends one CSV line per connection to FILE:

    launch_ms,port,result,end_ms,seq,acked

times relative to --t0-ms; result is "<server port>|<t|f: in recovery>" or "ERR"; seq is
0 for read-only targets; acked is 1 when the write was acknowledged.

--hold PORT also opens one session through PORT at the start and runs `SELECT 1` on it
every 100 ms until it fails; appends "hold,PORT,<server port>|<t|f>,open_ms,cut_ms" to
FILE (cut_ms -1: still open at the end).

Bounded: stops launching after --duration-ms and waits at most 6 s more.

    e2e-probe.py lost --port PGPORT [--killed-port K] --csv FILE [FILE ...]

Prints "acked lost lost_on_killed first_lost...": every acknowledged seq in the CSVs must
be in e2e_writes on the PostgreSQL at PGPORT (the final leader, connected to directly);
lost_on_killed counts the missing ones acknowledged by the node at port K (a leader that
was SIGKILLed: asynchronous replication loses its last commits, not the proxy).

    e2e-probe.py first --csv FILE --leader-port P --ports PORT [...] [--prefix X_]

Prints "first_PORT=MS" per port: when the first connection through PORT was answered by
the leader at P (end_ms; -1: never). Used to compare several proxies.

    e2e-probe.py analyze --csv FILE --leader-port P [--rw 5000] [--old-port O --after-ms T]
                         [--prefix X_]

Prints key=value lines (for e2e.sh): read-write connections that first / from then on only
reached the leader at port P, reached a node in recovery, failed; read-only connections
that reached a primary; the held session's server and cut time; with --old-port, the
read-write connections launched after T ms that still reached the node at port O.
"""
import argparse
import sys
import threading
import time

import psycopg2


def now_ms():
    return int(time.time() * 1000)


def connect(host, port, timeout=2):
    return psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres",
                            connect_timeout=timeout, options="-c statement_timeout=3000")


def cmd_probe(a):
    lock = threading.Lock()
    out = open(a.out, "a", buffering=1)
    threads = []
    seq_lock = threading.Lock()
    seq = [a.seq_base]

    def emit(line):
        with lock:
            out.write(line + "\n")

    def probe(port, launch, write):
        result, s, acked = "ERR", 0, 0
        if write:
            with seq_lock:
                seq[0] += 1
                s = seq[0]
        try:
            conn = connect(a.host, port)
            try:
                conn.autocommit = True
                cur = conn.cursor()
                cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
                p, rec = cur.fetchone()
                result = f"{p}|{'t' if rec else 'f'}"
                if write and not rec:
                    cur.execute("INSERT INTO e2e_writes (seq, port) VALUES (%s, %s)", (s, p))
                    acked = 1
            finally:
                conn.close()
        except Exception:
            pass
        emit(f"{launch},{port},{result},{now_ms() - a.t0_ms},{s},{acked}")

    def hold(port):
        opened = now_ms() - a.t0_ms
        try:
            conn = connect(a.host, port)
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            p, rec = cur.fetchone()
        except Exception:
            emit(f"hold,{port},ERR,{opened},{now_ms() - a.t0_ms}")
            return
        server = f"{p}|{'t' if rec else 'f'}"
        opened = now_ms() - a.t0_ms
        cut = -1
        while now_ms() - a.t0_ms < a.duration_ms:
            time.sleep(0.1)
            try:
                cur.execute("SELECT 1")
                cur.fetchone()
            except Exception:
                cut = now_ms() - a.t0_ms
                break
        try:
            conn.close()
        except Exception:
            pass
        emit(f"hold,{port},{server},{opened},{cut}")

    def schedule(port, interval, write):
        nxt = time.time()
        while True:
            launch = now_ms() - a.t0_ms
            if launch >= a.duration_ms:
                return
            t = threading.Thread(target=probe, args=(port, launch, write), daemon=True)
            t.start()
            threads.append(t)
            nxt += interval / 1000.0
            time.sleep(max(0.0, nxt - time.time()))

    workers = []
    if a.hold:
        h = threading.Thread(target=hold, args=(a.hold,))
        h.start()
        workers.append(h)
    for spec in a.targets:
        parts = spec.split(":")
        w = threading.Thread(target=schedule,
                             args=(int(parts[0]), int(parts[1]), len(parts) > 2 and parts[2] == "w"))
        w.start()
        workers.append(w)
    for w in workers:
        w.join()
    deadline = time.time() + 6
    for t in list(threads):
        t.join(max(0.0, deadline - time.time()))
    out.close()


def cmd_lost(a):
    acked = {}  # seq -> server port that acknowledged it
    for f in a.csv:
        with open(f) as fh:
            for line in fh:
                c = line.rstrip("\n").split(",")
                if len(c) == 6 and c[0] != "hold" and c[5] == "1":
                    acked[int(c[4])] = int(c[2].split("|")[0])
    conn = connect(a.host, a.port, timeout=5)
    cur = conn.cursor()
    cur.execute("SELECT seq FROM e2e_writes")
    present = {r[0] for r in cur.fetchall()}
    conn.close()
    lost = sorted(set(acked) - present)
    # Acknowledged by the leader that was then SIGKILLed: lost to asynchronous
    # replication (Patroni's default), whatever the proxy does.
    by_killed = [s for s in lost if a.killed_port and acked[s] == a.killed_port]
    print(len(acked), len(lost) - len(by_killed), len(by_killed),
          " ".join(map(str, lost[:10])))


def cmd_analyze(a):
    """key=value lines for the shell (e2e.sh evals them)."""
    good = f"{a.leader_port}|f"
    rw, ro, holds = [], [], []
    with open(a.csv) as fh:
        for line in fh:
            c = line.rstrip("\n").split(",")
            if c[0] == "hold":
                holds.append(c)
            elif len(c) == 6:
                row = (int(c[0]), int(c[1]), c[2], int(c[3]), int(c[4]), int(c[5]))
                (rw if row[1] == a.rw else ro).append(row)
    rw.sort()
    ro.sort()
    first = next((r[0] for r in rw if r[2] == good), -1)
    # "fully": launch time from which every later read-write connection reached the leader.
    last_bad = max((r[0] for r in rw if r[2] != good), default=-1)
    after = [r[0] for r in rw if r[0] > last_bad]
    fully = after[0] if after else -1
    out = {
        "rw_n": len(rw),
        "rw_first": first,
        "rw_fully": fully,
        "rw_in_recovery": sum(1 for r in rw if r[2].endswith("|t")),
        "rw_other_primary": sum(1 for r in rw if r[2].endswith("|f") and r[2] != good),
        "rw_failed": sum(1 for r in rw if r[2] == "ERR"),
        "rw_acked": sum(r[5] for r in rw),
        "ro_n": len(ro),
        "ro_on_primary": sum(1 for r in ro if r[2].endswith("|f")),
        "ro_failed": sum(1 for r in ro if r[2] == "ERR"),
        "ro_first": next((r[0] for r in ro if r[2].endswith("|t")), -1),
        # When the first good answer came back (a connection may wait in the proxy).
        "rw_first_end": min((r[3] for r in rw if r[2] == good), default=-1),
        "ro_first_end": min((r[3] for r in ro if r[2].endswith("|t")), default=-1),
        # The longest a served connection took, connect to answer (launch to end).
        "wait_max": max((r[3] - r[0] for r in rw + ro if r[2] != "ERR"), default=-1),
        "ro_replicas": len({r[2] for r in ro if r[2].endswith("|t")}),
    }
    if a.old_port:
        old = f"{a.old_port}|"
        out["rw_to_old_after"] = sum(1 for r in rw if r[0] > a.after_ms and r[2].startswith(old))
    if holds:
        h = holds[0]
        out["hold_server"] = h[2].split("|")[0]
        out["hold_cut"] = int(h[4])
    for k, v in out.items():
        print(f"{a.prefix}{k}={v}")


def cmd_first(a):
    """For each port: when the first connection through it was answered by the leader
    at --leader-port (end_ms, ms after t0; -1: never), as key=value lines."""
    good = f"{a.leader_port}|f"
    first = {p: -1 for p in a.ports}
    with open(a.csv) as fh:
        for line in fh:
            c = line.rstrip("\n").split(",")
            if len(c) == 6 and c[0] != "hold" and int(c[1]) in first and c[2] == good:
                p, end = int(c[1]), int(c[3])
                if first[p] < 0 or end < first[p]:
                    first[p] = end
    for p, t in first.items():
        print(f"{a.prefix}first_{p}={t}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--out", required=True)
    p.add_argument("--t0-ms", type=int, required=True)
    p.add_argument("--duration-ms", type=int, required=True)
    p.add_argument("--seq-base", type=int, default=0)
    p.add_argument("--hold", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("targets", nargs="*", help="PORT:INTERVAL_MS[:w]")
    l = sub.add_parser("lost")
    l.add_argument("--port", type=int, required=True)
    l.add_argument("--host", default="127.0.0.1")
    l.add_argument("--csv", nargs="+", required=True)
    l.add_argument("--killed-port", type=int, default=0)
    z = sub.add_parser("analyze")
    z.add_argument("--csv", required=True)
    z.add_argument("--rw", type=int, default=5000)
    z.add_argument("--leader-port", type=int, required=True)
    z.add_argument("--old-port", type=int, default=0)
    z.add_argument("--after-ms", type=int, default=0)
    z.add_argument("--prefix", default="")
    f = sub.add_parser("first")
    f.add_argument("--csv", required=True)
    f.add_argument("--leader-port", type=int, required=True)
    f.add_argument("--ports", type=int, nargs="+", required=True)
    f.add_argument("--prefix", default="")
    a = ap.parse_args()
    {"probe": cmd_probe, "lost": cmd_lost, "analyze": cmd_analyze, "first": cmd_first}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
