#!/usr/bin/env python3
"""Finds where the scan got slower or bigger: the release build of each first-parent commit of
main since a base, timed against the base's build in the same run.

    python3 bench/bisect.py [--base 1b39e74] [--to main] [--every N | --commits A,B,...]
                            [--runs 7] [--dir target/bench] [--jobs 2] [--build-only]

Commits: the first-parent commits of --to after --base, oldest first (`git rev-list
--first-parent BASE..TO`); with --every N every Nth of them (the Nth, the 2Nth, …) and the
last; with --commits exactly those (any revisions; each is compared with the base).

Builds: each commit's release binary (`cargo build --release --locked --bin ccdoctor`; if the
lock file does not fit, again without --locked; a commit that does not build is skipped and
named) in a detached worktree of its own under DIR/bisect, with its own CARGO_TARGET_DIR,
which starts as a copy of the last one built so that unchanged dependencies are not built
again (the crate itself is: its path differs). Each binary is kept as
DIR/bisect/bin/ccdoctor-SHA and reused by later runs; the worktrees are removed once built,
and only the last target directory is kept (as the next one's start).

Times: on the 1 GiB synthetic home of bench/run.py (`corpus(DIR, 1024, 32)`, written with
examples/gen_corpus if it is not there), for each commit and for each of `scan --format json
HOME` and `scan --format json --provider anthropic HOME`: one untimed warm-up run of the base
and of the commit (warm page cache), then --runs times the base and the commit alternately.
Prints per commit its subject line, its median wall time and peak RSS (median over the runs;
from wait4) and their ratios to the base's in the same runs, and the ratio of its median CPU
time (user + system), which other work on the machine disturbs less than the wall time; and
the load average at the start and at the end. The column # is the commit's place among the
first-parent commits of --to after the base. HOME is set to an empty folder for every run. Prints the machine, this checkout's commit and the date; paste the output into
BENCHMARKS.md. Not run in CI.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import corpus, header, scan_once, sh  # noqa: E402

FLAGS = [[], ["--provider", "anthropic"]]


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


class Builder:
    """Release binaries of commits, each built once in a worktree and target directory of its own."""

    def __init__(self, dir_, jobs):
        self.dir = os.path.join(dir_, "bisect")
        self.bins = os.path.join(self.dir, "bin")
        self.seed = os.path.join(self.dir, "target-last")
        self.jobs = jobs
        self.failed = {}
        os.makedirs(self.bins, exist_ok=True)

    def binary(self, sha):
        """The binary of `sha` (a full hash), built if it is not there yet; None if it does not build."""
        binary = os.path.join(self.bins, f"ccdoctor-{sha[:12]}")
        if os.path.exists(binary):
            return binary
        tree = os.path.join(self.dir, f"wt-{sha[:12]}")
        target = os.path.join(self.dir, f"target-{sha[:12]}")
        shutil.rmtree(target, ignore_errors=True)
        if os.path.isdir(self.seed):
            sh(["cp", "-a", self.seed, target])
        if os.path.isdir(tree):
            sh(["git", "worktree", "remove", "--force", tree], cwd=ROOT)
        sh(["git", "worktree", "add", "--quiet", "--detach", tree, sha], cwd=ROOT)
        try:
            env = dict(os.environ, CARGO_TARGET_DIR=target)
            start = time.time()
            log = os.path.join(self.dir, f"build-{sha[:12]}.log")
            ok = False
            for locked in (["--locked"], []):
                with open(log, "a") as f:
                    cmd = ["cargo", "build", "--release", *locked, "-j", str(self.jobs), "--bin", "ccdoctor"]
                    f.write(f"$ {' '.join(cmd)}\n")
                    f.flush()
                    ok = subprocess.run(cmd, cwd=tree, env=env, stdout=f, stderr=subprocess.STDOUT).returncode == 0
                if ok:
                    break
            built = os.path.join(target, "release", "ccdoctor")
            if not ok:
                self.failed[sha] = f"does not build (see {os.path.relpath(log, ROOT)})"
                shutil.rmtree(target, ignore_errors=True)
                return None
            # A binary older than this build would be another commit's, left in the copied target.
            if os.path.getmtime(built) < start - 1:
                sys.exit(f"{sha[:12]}: cargo left {built} from before the build; not trusted")
            shutil.copy2(built, binary + ".tmp")
            os.replace(binary + ".tmp", binary)
            shutil.rmtree(self.seed, ignore_errors=True)
            os.replace(target, self.seed)
            return binary
        finally:
            sh(["git", "worktree", "remove", "--force", tree], cwd=ROOT)
            sh(["git", "worktree", "prune"], cwd=ROOT)


def run(binary, home, extra, env):
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one scan; None if it
    failed."""
    r = scan_once(binary, home, extra, env)
    return None if r is None else (r[0], r[1] + r[2], r[3])


def compare(base, binary, home, extra, runs, env):
    """Median wall, CPU and peak RSS of the base and of the binary, alternately; None if one failed."""
    if run(base, home, extra, env) is None or run(binary, home, extra, env) is None:
        return None
    got = {base: [], binary: []}
    for _ in range(runs):
        for b in (base, binary):
            r = run(b, home, extra, env)
            if r is None:
                return None
            got[b].append(r)
    return [[statistics.median(r[i] for r in got[b]) for i in range(3)] for b in (base, binary)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="1b39e74")
    ap.add_argument("--to", default="main")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--commits", help="comma-separated revisions instead of the first-parent list")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
    ap.add_argument("--jobs", type=int, default=2, help="cargo build -j")
    ap.add_argument("--build-only", action="store_true")
    a = ap.parse_args()

    base = git("rev-parse", a.base + "^{commit}")
    if a.commits:
        commits = [git("rev-parse", c + "^{commit}") for c in a.commits.split(",")]
    else:
        line = git("rev-list", "--first-parent", "--reverse", f"{base}..{a.to}").split()
        commits = [c for i, c in enumerate(line, 1) if i % a.every == 0 or i == len(line)]
    position = {c: i for i, c in enumerate(git("rev-list", "--first-parent", "--reverse", f"{base}..{a.to}").split(), 1)}
    subject = lambda c: git("log", "-1", "--format=%s", c)

    builder = Builder(a.dir, a.jobs)
    base_bin = builder.binary(base)
    if base_bin is None:
        sys.exit(f"the base {base[:7]} does not build")
    binaries = {}
    for c in commits:
        b = builder.binary(c)
        if b:
            binaries[c] = b
    if a.build_only:
        for c in commits:
            print(f"{c[:7]}: {binaries.get(c) or builder.failed[c]}")
        return

    if not os.path.exists(os.path.join(ROOT, "target/release/examples/gen_corpus")):
        sh(["cargo", "build", "--release", "--locked", "-j", str(a.jobs), "--example", "gen_corpus"], cwd=ROOT)
    home, files = corpus(a.dir, 1024, 32)
    empty = os.path.join(a.dir, "bisect", "empty-home")
    os.makedirs(empty, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"}
    env["HOME"] = empty

    print(header("bisect.py", sys.argv[1:]))
    print(f"base: {base[:7]} {subject(base)}")
    print(f"home: {os.path.relpath(home, ROOT)}: {len(files):,} files, {sum(os.path.getsize(f) for f in files):,} bytes")
    print(f"runs: {a.runs} of the base and of each commit, alternating, after one untimed warm-up run each; "
          "medians of wall time, CPU time (user + system) and peak RSS; × base: the ratio to the base's in the "
          "same runs")
    for c, why in builder.failed.items():
        print(f"skipped: {c[:7]} {subject(c)}: {why}")
    print()
    heads = ["no flags", "--provider anthropic"]
    print("| # | commit | subject | " + " | ".join(f"wall, {h} | × base | CPU × base | peak RSS | × base" for h in heads)
          + " |")
    print("|---:|---|---|" + "---:|---:|---:|---:|---:|" * len(FLAGS))
    for c in commits:
        if c not in binaries:
            continue
        cells = []
        for extra in FLAGS:
            r = compare(base_bin, binaries[c], home, extra, a.runs, env)
            if r is None:
                cells.append("failed | | | |")
                continue
            (bw, bcpu, brss), (w, cpu, rss) = r
            cells.append(f"{w * 1000:.1f} ms | {w / bw:.3f} | {cpu / bcpu:.3f} | {rss / 1024:.1f} MiB | {rss / brss:.3f}")
        text = subject(c).replace("|", "\\|")
        print(f"| {position.get(c, '')} | {c[:7]} | {text} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
