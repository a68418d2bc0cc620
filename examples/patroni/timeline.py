#!/usr/bin/env python3
"""Timeline figures (SVG, standard library only) from an e2e.sh run.

    timeline.py [--out-dir DIR] E2E_OUT [PHASE ...]

For each failover phase (default: switchover kill-leader kill-patroni etcd-outage), one
SVG, E2E_OUT/PHASE.svg (or DIR/PHASE.svg), with one panel per proxy pass found in E2E_OUT
(haproxy, haproxide, haproxide-watch): each new probe connection is a mark at the time
its answer came back (ms after the phase's t = 0), on the lane of the node that answered
(node1..node3, by PostgreSQL port) or on the "failed" lane; read-write (5000) marks are
filled circles, read-only (5001) ones hollow squares; red means a wrong node (read-write
on a node in recovery, read-only on the primary). Vertical lines mark the proxy's logged
events: check UP (green) / DOWN (red), and [DCS] changes (blue: leader key, a new
leader's promotion seen on its REST API, servers in/out, watch lost/resumed).

Inputs (written by e2e.sh): PASS/PHASE.csv (e2e-probe.py's CSV), PASS/PHASE.t0 (epoch ms
of t = 0), PASS/events.csv ("epoch_ms,text" per proxy log line of interest).
"""
import argparse
import html
import os
import sys

PASSES = [("haproxy", "HAProxy 2.6"), ("haproxide", "haproxide"),
          ("haproxide-watch", "haproxide + leader watch")]
NODES = {15432: "node1", 15433: "node2", 15434: "node3"}
T0 = {"kill-leader": "SIGKILL of the leader", "kill-patroni": "SIGKILL of the leader's Patroni",
      "etcd-outage": "etcd stopped; started again ~5 s later, a switchover ~15 s later"}
LANES = ["node1", "node2", "node3", "failed"]
W, LEFT, RIGHT = 1000, 80, 20
PANEL_H, TOP = 190, 40


def read_probe(path):
    rows = []
    with open(path) as fh:
        for line in fh:
            c = line.rstrip("\n").split(",")
            if len(c) != 6 or c[0] == "hold":
                continue
            launch, port, result, end = int(c[0]), int(c[1]), c[2], int(c[3])
            rows.append((launch, port, result, end))
    return rows


def read_events(path, t0, span):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            ms, _, text = line.rstrip("\n").partition(",")
            try:
                t = int(ms) - t0
            except ValueError:
                continue
            if -500 <= t <= span:
                out.append((t, text))
    return out


def event_style(text):
    if text.startswith("[DCS]"):
        return "#1f5fbf", short_dcs(text)
    if " is UP" in text:
        return "#2a9d2a", text.split(",")[0].replace("Server ", "")
    if " is DOWN" in text:
        return "#c0392b", text.split(",")[0].replace("Server ", "")
    return None, None


def short_dcs(text):
    t = text.replace("[DCS] ", "")
    if t.startswith("Server "):
        name = t.split(" ")[1].rstrip(":")
        if "leaves rotation" in t:
            return name + " out (DCS)"
        if "back in rotation" in t:
            return name + " in (DCS)"
        return None  # out -> electing and the like: the leader line says it
    if "leader key" in t and "->" in t:
        return "DCS leader " + t.split("leader key ", 1)[1].split(" (revision")[0]
    if " is promoted:" in t:
        return t.split(": ", 1)[1].split(" is promoted")[0] + " promoted (REST API)"
    if ": lost " in t or ": cannot follow " in t:
        return "DCS lost"
    if "watching" in t:
        return "DCS watching" + (" (resumed)" if "resumed" in t else "")
    return None


def panel(out, y0, title, rows, events, span, rw_port):
    x = lambda ms: LEFT + (W - LEFT - RIGHT) * max(0, min(ms, span)) / span
    lane_h = (PANEL_H - 40) / len(LANES)
    ly = lambda lane: y0 + 20 + lane_h * (LANES.index(lane) + 0.5)
    out.append(f'<text x="{LEFT}" y="{y0 + 12}" font-weight="bold">{html.escape(title)}</text>')
    for lane in LANES:
        out.append(f'<text x="{LEFT - 8}" y="{ly(lane) + 4:.1f}" text-anchor="end">{lane}</text>')
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{ly(lane):.1f}" y2="{ly(lane):.1f}" stroke="#ddd"/>')
    # events, labels staggered over four rows
    seen = []
    for i, (t, text) in enumerate(events):
        color, label = event_style(text)
        if not color or not label or (label, t // 200) in seen:
            continue
        seen.append((label, t // 200))
        xx = x(t)
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{y0 + 18}" y2="{y0 + PANEL_H - 20}" stroke="{color}" stroke-dasharray="3,2"/>')
        out.append(f'<text x="{xx + 2:.1f}" y="{y0 + PANEL_H - 22 - 9 * (len(seen) % 4)}" font-size="8" fill="{color}">{html.escape(label)}</text>')
    for launch, port, result, end in rows:
        if result == "ERR":
            lane, wrong = "failed", False
        else:
            sp, rec = result.split("|")
            lane = NODES.get(int(sp), "failed")
            wrong = (rec == "t") if port == rw_port else (rec == "f")
        xx, yy = x(end), ly(lane) + (-4 if port == rw_port else 4)
        color = "#c0392b" if wrong else ("#333" if lane == "failed" else
                                         ("#1f3f7f" if port == rw_port else "#2a9d2a"))
        if port == rw_port:
            out.append(f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="2.5" fill="{color}"/>')
        else:
            out.append(f'<rect x="{xx - 2.5:.1f}" y="{yy - 2.5:.1f}" width="5" height="5" fill="none" stroke="{color}"/>')
    # axis
    ya = y0 + PANEL_H - 12
    out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{ya}" y2="{ya}" stroke="#888"/>')
    step = 1000 if span <= 20000 else 5000
    for t in range(0, span + 1, step):
        out.append(f'<text x="{x(t):.1f}" y="{ya + 10}" font-size="8" text-anchor="middle">{t // 1000}s</text>')


def figure(e2e_out, phase, out_path):
    panels = []
    span = 0
    for key, title in PASSES:
        csv = os.path.join(e2e_out, key, phase + ".csv")
        t0f = os.path.join(e2e_out, key, phase + ".t0")
        if not (os.path.exists(csv) and os.path.exists(t0f)):
            continue
        rows = read_probe(csv)
        if not rows:
            continue
        t0 = int(open(t0f).read().strip())
        span = max(span, max(r[3] for r in rows))
        panels.append((title, rows, t0, key))
    if not panels:
        return False
    span = ((span + 999) // 1000) * 1000
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{TOP + PANEL_H * len(panels) + 10}" '
           f'font-family="sans-serif" font-size="10">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{html.escape(phase)}: which node answered each new connection '
           f'(t = 0: {html.escape(T0.get(phase, "the " + phase + " request"))})</text>',
           f'<text x="{LEFT}" y="30" font-size="9">● read-write 5000, □ read-only 5001, red = wrong node; '
           f'dashed: check UP (green) / DOWN (red), DCS (blue)</text>']
    for i, (title, rows, t0, key) in enumerate(panels):
        events = read_events(os.path.join(e2e_out, key, "events.csv"), t0, span)
        panel(out, TOP + i * PANEL_H, title, rows, events, span, 5000)
    out.append("</svg>")
    with open(out_path, "w") as fh:
        fh.write("\n".join(out) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("e2e_out")
    ap.add_argument("phases", nargs="*",
                    default=["switchover", "kill-leader", "kill-patroni", "etcd-outage"])
    ap.add_argument("--out-dir")
    a = ap.parse_args()
    if a.out_dir:
        os.makedirs(a.out_dir, exist_ok=True)
    for ph in a.phases:
        path = os.path.join(a.out_dir or a.e2e_out, ph + ".svg")
        if figure(a.e2e_out, ph, path):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
