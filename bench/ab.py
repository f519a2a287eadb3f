#!/usr/bin/env python3
"""Times two or more ccdoctor binaries against each other on one corpus.

    python3 bench/ab.py [--args "SCAN FLAGS"] RUNS HOME BINARY [BINARY...]

Runs `BINARY scan --format json [SCAN FLAGS] HOME` for each binary in turn, RUNS times over (after one
untimed run each to warm the page cache), and prints the median wall, user and system time
of each and its peak RSS (the largest over the runs), with its ratio to the first binary's. Alternating the binaries spreads the noise of
a shared machine over all of them; the ratios within one run are what to compare. To compare
two commits, build each (`cargo build --release`) and copy `target/release/ccdoctor` aside.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import header, scan_once  # noqa: E402


def run(binary, home, extra):
    r = scan_once(binary, home, extra)
    if r is None:
        sys.exit(f"{binary} failed on {home}")
    return r


def main():
    args = sys.argv[1:]
    extra = []
    if args[:1] == ["--args"]:
        extra, args = args[1].split(), args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    runs, home, binaries = int(args[0]), args[1], args[2:]
    times = {b: [] for b in binaries}
    for b in binaries:
        run(b, home, extra)
    for _ in range(runs):
        for b in binaries:
            times[b].append(run(b, home, extra))
    median = lambda b, i: statistics.median(t[i] for t in times[b])
    peak = lambda b: max(t[3] for t in times[b])
    base = [median(binaries[0], i) for i in range(3)] + [peak(binaries[0])]
    print(header("ab.py", sys.argv[1:]))
    ratio = lambda x, i: f"{x / base[i]:.3f}" if base[i] > 0 else "-"
    for b in binaries:
        wall, user, system = (median(b, i) for i in range(3))
        print(f"{b}: wall {wall * 1000:.1f} ms ({ratio(wall, 0)}), user {user * 1000:.0f} ms ({ratio(user, 1)}), "
              f"system {system * 1000:.0f} ms ({ratio(system, 2)}), peak RSS {peak(b) / 1024:.1f} MiB "
              f"({ratio(peak(b), 3)})")


if __name__ == "__main__":
    main()
