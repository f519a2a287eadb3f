#!/usr/bin/env python3
"""What the fit (issue 20) adds to a full scan: this checkout's build against the build before
the fit, alternately, on the 1 GiB synthetic config home and on a throttled simulated home.

    python3 bench/fit.py [--base ddc0474] [--runs 15] [--dir target/bench]

Builds --base in a detached worktree under --dir (once; its own target directory) and this
checkout, writes the corpora (the 1 GiB one with examples/gen_corpus, as bench/run.py does;
a throttled Bedrock history of 12 sessions with examples/simulate), then for each corpus and
each set of flags runs both binaries `scan --format json` in turn, --runs times, and prints
the median wall, user and system time, the ratio to the base, and the peak RSS. Also prints
the machine, the commits and the date, for BENCHMARKS.md. Not run in CI.
"""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import corpus, header, scan_once, sh  # noqa: E402


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def build_base(rev, dir_):
    """The release binary of `rev`, built once in a worktree of its own."""
    sha = git("rev-parse", "--short", rev)
    tree = os.path.join(dir_, f"base-{sha}")
    binary = os.path.join(tree, "target/release/ccdoctor")
    if not os.path.exists(binary):
        if not os.path.isdir(tree):
            sh(["git", "worktree", "add", "--detach", tree, rev], cwd=ROOT)
        sh(["cargo", "build", "--release", "--locked", "--bin", "ccdoctor"], cwd=tree)
    return sha, binary


def throttled_home(dir_):
    """A Bedrock history throttled at 32,000: 12 sessions of the simulator on 200,000 TPM."""
    home = os.path.join(dir_, "sim-throttled-12")
    if not os.path.isdir(os.path.join(home, "projects")):
        sh([os.path.join(ROOT, "target/release/examples/simulate"), home, "--seed", "7", "--sessions", "12",
            "--turns", "6,12", "--p-task", "0.2"], stdout=subprocess.DEVNULL)
    return home


def run(binary, home, extra):
    """Wall, user and system seconds and peak RSS (KiB) of one scan."""
    r = scan_once(binary, home, extra)
    if r is None:
        sys.exit(f"{binary} failed on {home}")
    return r


def compare(name, home, extra, binaries, runs):
    for b in binaries.values():
        run(b, home, extra)  # warm the page cache
    times = {k: [] for k in binaries}
    for _ in range(runs):
        for k, b in binaries.items():
            times[k].append(run(b, home, extra))
    med = {k: [statistics.median(t[i] for t in v) for i in range(3)] + [max(t[3] for t in v)] for k, v in times.items()}
    base = med["base"]
    print(f"\n{name} ({' '.join(extra) or 'no flags'}), {runs} runs each, alternating, medians:")
    print("| build | wall | user | system | wall / base | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for k, (wall, user, system, rss) in med.items():
        print(f"| {k} | {wall * 1000:.1f} ms | {user * 1000:.0f} ms | {system * 1000:.0f} ms | {wall / base[0]:.3f} | "
              f"{rss / 1024:.1f} MiB |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="ddc0474", help="the commit before the fit")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    sh(["cargo", "build", "--release", "--locked", "--bin", "ccdoctor", "--example", "gen_corpus", "--example",
        "simulate"], cwd=ROOT)
    sha, base = build_base(a.base, a.dir)
    binaries = {"base": base, "this": os.path.join(ROOT, "target/release/ccdoctor")}
    print(header("fit.py", sys.argv[1:]))
    print(f"base: {sha}")
    big, _ = corpus(a.dir, 1024, 32)
    compare("1 GiB synthetic home", big, [], binaries, a.runs)
    compare("1 GiB synthetic home", big, ["--quota-tpm", "400000"], binaries, a.runs)
    compare("throttled simulated home", throttled_home(a.dir), [], binaries, a.runs)


if __name__ == "__main__":
    main()
