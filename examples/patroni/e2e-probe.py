#!/usr/bin/env python3
"""Open a new PostgreSQL connection through a port every INTERVAL ms, each in its own
thread (a slow or hanging connection does not delay the next one), and record which node
answered.

    e2e-probe.py --out FILE --t0-ms EPOCH_MS --duration-ms MS PORT:INTERVAL_MS [...]

Appends one line per connection to FILE: launch_ms,port,result,end_ms (times relative to
--t0-ms), result being "<inet_server_port()>|<t|f for pg_is_in_recovery()>" or "ERR".
Runs with the lab's Patroni venv (it has psycopg2). Bounded: stops launching after
--duration-ms and waits at most 6 s more for connections still open.
"""
import argparse
import threading
import time

import psycopg2


def now_ms():
    return int(time.time() * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--t0-ms", type=int, required=True)
    ap.add_argument("--duration-ms", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("targets", nargs="+", help="PORT:INTERVAL_MS")
    a = ap.parse_args()

    lock = threading.Lock()
    out = open(a.out, "a", buffering=1)
    threads = []

    def probe(port, launch):
        result = "ERR"
        try:
            conn = psycopg2.connect(host=a.host, port=port, user="postgres", dbname="postgres",
                                    connect_timeout=2, options="-c statement_timeout=3000")
            try:
                cur = conn.cursor()
                cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
                p, rec = cur.fetchone()
                result = f"{p}|{'t' if rec else 'f'}"
            finally:
                conn.close()
        except Exception:
            pass
        with lock:
            out.write(f"{launch},{port},{result},{now_ms() - a.t0_ms}\n")

    def schedule(port, interval):
        nxt = time.time()
        while True:
            launch = now_ms() - a.t0_ms
            if launch >= a.duration_ms:
                return
            t = threading.Thread(target=probe, args=(port, launch), daemon=True)
            t.start()
            threads.append(t)
            nxt += interval / 1000.0
            time.sleep(max(0.0, nxt - time.time()))

    schedulers = []
    for spec in a.targets:
        port, interval = spec.split(":")
        s = threading.Thread(target=schedule, args=(int(port), int(interval)))
        s.start()
        schedulers.append(s)
    for s in schedulers:
        s.join()
    deadline = time.time() + 6
    for t in list(threads):
        t.join(max(0.0, deadline - time.time()))
    out.close()


if __name__ == "__main__":
    main()
