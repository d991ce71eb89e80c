#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The vNTB table of `make bench` from logs/bench.raw.

Usage: bench-vntb-table.py RAW ROUNDS

RAW has the lines "BENCH vntb-<mode> <column> <round> <metric> <value>" of
platform/scenarios/bench-vntb.sh.  Per mode and metric: the median over the
rounds of each column (C, Rust), the median of the per-round paired ratios
(oriented so that above 1 is better for Rust: Rust/C for rates, C/Rust for
times), n and the spread (interquartile range of the ratios over their
median).  Then the polled/doorbell ping ratio per mode and each doorbell
latency as a multiple of the floor of its round.  Exits 1 if a required figure is
missing.
"""
import statistics
import sys

raw, rounds = sys.argv[1], int(sys.argv[2])

# key, label, lower is better, required
METRICS = [
    ("ping_med", "ping RTT over ntb_netdev, median (us)", True, True),
    ("ping_p99", "ping RTT over ntb_netdev, p99 (us)", True, True),
    ("tcp_h2e", "TCP host -> endpoint (MB/s)", False, True),
    ("tcp_e2h", "TCP endpoint -> host (MB/s)", False, True),
    ("perf_h2e", "ntb_perf host -> endpoint, memcpy (MB/s)", False, True),
    ("perf_e2h", "ntb_perf endpoint -> host, memcpy (MB/s)", False, True),
    ("perf_e2h_dma", "ntb_perf endpoint -> host, DMA (MB/s)", False, False),
    ("pingpong", "ntb_pingpong round trips/s (delay_ms=1)", False, True),
    ("db_h2e", "doorbell host -> endpoint, median (us)", True, True),
    ("db_h2e_p99", "doorbell host -> endpoint, p99 (us)", True, True),
    ("db_e2h", "doorbell endpoint -> host, median (us)", True, True),
    ("db_e2h_p99", "doorbell endpoint -> host, p99 (us)", True, True),
    ("floor", "floor: loopback doorbell alone, median (us)", True, False),
    ("db_h2e_mean", "doorbell host -> endpoint, mean (us)", True, False),
    ("db_e2h_mean", "doorbell endpoint -> host, mean (us)", True, False),
    ("floor_mean", "floor: loopback doorbell alone, mean (us)", True, False),
    ("db_h2e_restart", "host -> endpoint: event to next ring, median (us)", True, False),
    ("db_e2h_restart", "endpoint -> host: event to next ring, median (us)", True, False),
    ("floor_restart", "floor: handler to next write, median (us)", True, False),
]

data = {}
modes = []
for line in open(raw):
    f = line.split()
    if len(f) != 6 or not f[1].startswith("vntb-"):
        continue
    mode = f[1][len("vntb-"):]
    if mode not in modes:
        modes.append(mode)
    data.setdefault((mode, f[4]), {}).setdefault(f[2], {})[int(f[3])] = float(f[5])


def med(d):
    return statistics.median(d.values()) if d else None


def fmt(v):
    if v is None:
        return "n/a"
    if v < 1:
        return f"{v:.3f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def ratios(c, r, lower):
    out = []
    for k in sorted(set(c) & set(r)):
        if c[k] and r[k]:
            out.append(c[k] / r[k] if lower else r[k] / c[k])
    return out


def spread(rs):
    if len(rs) < 4 or not statistics.median(rs):
        return "n/a"
    q = statistics.quantiles(rs, n=4)
    return f"{100 * (q[2] - q[0]) / statistics.median(rs):.0f}%"


cols = sorted({c for v in data.values() for c in v}, key=lambda c: c != "C")
print("make bench, vNTB section: um-bench kernel (no checkers), medians over n rounds")
print(f"  columns: {', '.join(cols) or 'none'}; ratio: Rust over C, above 1 is better for Rust")
print(f"{'mode':<9} {'metric':<46} {'C':>9} {'Rust':>9} {'ratio':>6} {'n':>3} {'spread':>6}")
short = False
for mode in modes:
    for key, label, lower, required in METRICS:
        d = data.get((mode, key), {})
        c, r = d.get("C", {}), d.get("Rust", {})
        if not c and not r:
            if required:
                print(f"{mode:<9} {label:<46} {'missing':>9}")
                short = True
            continue
        rs = ratios(c, r, lower)
        ratio = f"{statistics.median(rs):.3f}" if rs else "n/a"
        n = len(c) if not r else len(rs)
        short |= required and n < rounds
        print(f"{mode:<9} {label:<46} {fmt(med(c)):>9} {fmt(med(r)):>9} {ratio:>6} {n:>3} {spread(rs):>6}")

print()
print("polled/doorbell: median ping RTT with no doorbell (none, the function polls) over")
print("the RTT with one; upstream (R-Car S4, v10 cover letter of the embedded doorbell")
print("series): 4.04-12.2 ms polled, 0.837-1.23 ms embedded doorbell, 4-10x")
for col in cols:
    polled = med(data.get(("none", "ping_med"), {}).get(col, {}))
    for mode in modes:
        if mode == "none":
            continue
        m = med(data.get((mode, "ping_med"), {}).get(col, {}))
        if polled and m:
            print(f"  {col:<5} {mode:<9} {polled / 1000:.2f} ms / {m / 1000:.2f} ms = {polled / m:.2f}x")
print("doorbell latency (median) over the floor measured in the same round, median of")
print("the per-round ratios (n, spread):")
for col in cols:
    for mode in modes:
        fl = data.get((mode, "floor"), {}).get(col, {})
        # The floor is that of a doorbell to the endpoint; one to the host is an
        # MSI that the loopback delivers within raise_irq(), with no floor here.
        for key, way in (("db_h2e", "host -> endpoint"),):
            db = data.get((mode, key), {}).get(col, {})
            rs = ratios(fl, db, False)
            if rs:
                print(f"  {col:<5} {mode:<15} {way}: {med(db):.1f} us / {med(fl):.1f} us,"
                      f" {statistics.median(rs):.2f}x (n {len(rs)}, spread {spread(rs)})")
print("latency + restart (the next ring's wait for the event's aftermath), medians: a")
print("latency bound by a periodic clock (the tick, a poll) loses what the restart gains:")
for col in cols:
    for mode in modes:
        for key, way in (("floor", "floor"), ("db_h2e", "host -> endpoint"),
                         ("db_e2h", "endpoint -> host")):
            lat = med(data.get((mode, key), {}).get(col, {}))
            rst = med(data.get((mode, key + "_restart"), {}).get(col, {}))
            if lat is not None and rst is not None:
                print(f"  {col:<5} {mode:<15} {way}: {fmt(lat)} + {fmt(rst)} = {fmt(lat + rst)} us")
if short:
    print("bench: some vNTB measurements are missing; see logs/bench.vntb-*.log")
    sys.exit(1)
