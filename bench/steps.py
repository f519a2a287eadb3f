#!/usr/bin/env python3
"""Where in a run the memory goes: each step's peak, from the binary itself.

    python3 bench/steps.py [--runs N] [--args "SCAN FLAGS"] BINARY HOME

Runs `BINARY scan --format json [SCAN FLAGS] HOME` N times (3 by default) with
CCDOCTOR_MEMORY_STEPS set: the binary then prints, at the end of each step of the run, the
most memory it held (resident) during the step, what it held after and how long it took
(Linux only; see `src/memory.rs`). Prints, for each step, the largest of the two memory
figures over the runs, the median of its time, and the step where the run peaks. The peak a
step shows is counted from the end of the step before, so that the steps' peaks are the
run's, step by step; with the variable set, a peak read from outside the process (`time`,
wait4) is only the last step's. The times are the process's own clock between marks (the
first from the start of `main`), on a noisy machine: compare builds with `bench/ab.py`.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import header  # noqa: E402

LINE = re.compile(r"^ccdoctor: memory: (.+): peak ([0-9.]+) MiB, then ([0-9.]+) MiB(?: in ([0-9]+) ms)?$")


def once(binary, home, extra):
    env = dict(os.environ, CCDOCTOR_MEMORY_STEPS="1")
    p = subprocess.run([binary, "scan", "--format", "json", *extra, home], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"{binary} failed on {home} (exit {p.returncode})")
    steps = [(m[1], float(m[2]), float(m[3]), m[4] and int(m[4])) for m in map(LINE.match, p.stderr.splitlines()) if m]
    if not steps:
        sys.exit(f"{binary} printed no memory steps (not Linux, or a binary before them)")
    return steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--args", default="")
    ap.add_argument("binary")
    ap.add_argument("home")
    a = ap.parse_args()
    runs = [once(a.binary, a.home, a.args.split()) for _ in range(a.runs)]
    names = [s[0] for s in runs[0]]
    if any([s[0] for s in r] != names for r in runs):
        sys.exit("the runs went through different steps")
    print(header("steps.py", sys.argv[1:]))
    print(f"binary: {a.binary}")
    timed = all(s[3] is not None for r in runs for s in r)
    print(f"runs: {a.runs}; each step's largest peak and largest memory after it over the runs"
          + ("; the median of its wall time (from the end of the step before; the first step's from the start)" if timed else ""))
    print()
    print("| step | peak | after |" + (" time |" if timed else ""))
    print("|---|---:|---:|" + ("---:|" if timed else ""))
    peaks = []
    for i, name in enumerate(names):
        peak = max(r[i][1] for r in runs)
        after = max(r[i][2] for r in runs)
        peaks.append((peak, name))
        took = f" {statistics.median(r[i][3] for r in runs):.0f} ms |" if timed else ""
        print(f"| {name} | {peak:.1f} MiB | {after:.1f} MiB |{took}")
    top = max(peaks)
    print()
    print(f"the run's peak: {top[0]:.1f} MiB, in the step \"{top[1]}\"")


if __name__ == "__main__":
    main()
