#!/usr/bin/env python3
"""Benchmarks reading telemetry (`scan --otel`) against the transcript scan, per byte.

    python3 bench/otel.py [--runs 3] [--dir target/bench] [--requests 350000,3500000]

Builds the release binary and examples/gen_corpus, writes (once; kept in --dir) OTLP JSON
corpora with bench/otlp.py (40 people, 8 files each) and a transcript corpus of about the
size of the smallest, then runs, alternately and --runs times each: `cat` of the OTLP files
(the floor), `ccdoctor scan --otel DIR --format json`, and `ccdoctor scan HOME --format json`
on the transcripts. Prints median wall time, MB/s, the ratio of the OTLP scan's speed per
byte to the transcript scan's, and peak RSS, per request. Not run in CI (noisy machines);
paste the output into BENCHMARKS.md.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: timed, corpus, sh)

ROOT = bench.ROOT


def otlp_corpus(dir_, requests):
    path = os.path.join(dir_, f"otlp-{requests}")
    with open(os.path.join(ROOT, "bench/otlp.py"), "rb") as f:
        import hashlib

        stamp = f"{hashlib.sha256(f.read()).hexdigest()} --requests {requests}\n"
    stamp_file = path + ".stamp"
    current = open(stamp_file).read() if os.path.exists(stamp_file) else None
    if current != stamp:
        subprocess.run(["rm", "-rf", path], check=True)
        bench.sh([sys.executable, os.path.join(ROOT, "bench/otlp.py"), path, "--requests", str(requests),
                  "--people", "40", "--files", "8"])
        with open(stamp_file, "w") as f:
            f.write(stamp)
    return path


def size_of(path):
    return sum(os.path.getsize(f) for f in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
    ap.add_argument("--requests", default="350000")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    bench.sh(["cargo", "build", "--release", "--quiet", "--bin", "ccdoctor", "--example", "gen_corpus"], cwd=ROOT)
    exe = os.path.join(ROOT, "target/release/ccdoctor")
    sizes = [int(s) for s in args.requests.split(",")]
    otlps = [(n, otlp_corpus(args.dir, n)) for n in sizes]
    first_mib = max(1, size_of(otlps[0][1]) // (1 << 20))
    home, _ = bench.corpus(args.dir, first_mib, 0, name=f"home-otel-{first_mib}")
    home_bytes = size_of(os.path.join(home, "projects"))
    env = dict(os.environ, HOME=args.dir)
    print(bench.header("otel.py", sys.argv[1:]))
    print(f"ccdoctor {subprocess.run([exe, '--version'], capture_output=True, text=True).stdout.strip()}")
    print()
    print("| input | bytes | cat | ccdoctor | MB/s | per byte vs transcripts | peak RSS | RSS per request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    files_of = lambda p: sorted(f for f in glob.glob(os.path.join(p, "**", "*"), recursive=True) if os.path.isfile(f))
    t_walls, t_rss = [], []
    results = {}
    for n, path in otlps:
        walls, cats, rss = [], [], []
        for _ in range(args.runs):
            cats.append(bench.timed(["cat"] + files_of(path))[0])
            w, r, _ = bench.timed([exe, "scan", "--otel", path, "--format", "json"], env=env)
            walls.append(w)
            rss.append(r)
            if n == sizes[0]:
                w, r, _ = bench.timed([exe, "scan", home, "--format", "json"], env=env)
                t_walls.append(w)
                t_rss.append(r)
        results[n] = (size_of(path), statistics.median(cats), statistics.median(walls), max(rss))
    t_wall = statistics.median(t_walls)
    t_speed = home_bytes / t_wall
    print(f"| transcripts ({first_mib} MiB) | {home_bytes:,} | | {t_wall:.2f} s | {home_bytes / t_wall / 1e6:.0f} | 1.00× | {max(t_rss) // 1024} MiB | |")
    for n, (size, cat, wall, rss) in results.items():
        speed = size / wall
        print(f"| OTLP, {n:,} requests | {size:,} | {cat:.2f} s | {wall:.2f} s | {speed / 1e6:.0f} | {speed / t_speed:.2f}× | "
              f"{rss // 1024} MiB | {rss * 1024 / n:.0f} B |")


if __name__ == "__main__":
    main()
