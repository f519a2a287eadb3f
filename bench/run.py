#!/usr/bin/env python3
"""Benchmarks ccdoctor against `cat` and ccusage on synthetic config homes.

    python3 bench/run.py [--runs 5] [--dir target/bench] [--sizes 256,512,1024] [--no-ccusage]

Builds the release binary and examples/gen_corpus, writes the corpora (once; they are kept
in --dir), installs ccusage@20.0.24 with npm into --dir (once), then for each size runs
`cat FILES`, `ccdoctor scan --format json` and (on the largest size) ccusage alternately,
--runs times each (a smaller corpus proportionally more often: 4 times as often at a quarter
of the size, so that each is timed for about as long and the scaling figures are not left to
the noise of a few short runs), and prints the median wall time, the ratios, and peak RSS (from
/usr/bin/time -v). A last corpus holds one 516 MiB line and the 87 MB file, to show that
memory does not grow with them. Not run in CI: the machines are noisy, so every ratio is
measured within one run. Paste the output into BENCHMARKS.md.
"""
import argparse
import datetime
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CCUSAGE = "ccusage@20.0.24"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def header(script, argv):
    """The lines every bench script prints above its figures: the machine, the commit of this
    checkout (and whether it has uncommitted changes), the date and the command."""
    cpu, mem = "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
        with open("/proc/meminfo") as f:
            mem = f"{int(next(l.split()[1] for l in f if l.startswith('MemTotal'))) / (1 << 20):.0f} GiB"
    except (OSError, StopIteration):
        pass
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem}, {platform.platform()}",
        f"commit: {git('rev-parse', '--short', 'HEAD') or '?'}{dirty}; date: {now}; "
        f"load average {os.getloadavg()[0]:.2f} (1 min) at the start",
        f"command: python3 bench/{script} {' '.join(argv)}".rstrip(),
    ])


def scan_once(binary, home, extra=(), env=None):
    """Wall, user and system seconds and peak RSS (KiB, from wait4) of one `BINARY scan
    --format json EXTRA HOME`, output discarded; None when it failed."""
    start = time.perf_counter()
    p = subprocess.Popen([binary, "scan", "--format", "json", *extra, home], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        return None
    return time.perf_counter() - start, usage.ru_utime, usage.ru_stime, usage.ru_maxrss


def timed(cmd, env=None):
    """Wall seconds and peak RSS (KiB) of one run, output discarded."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env=env, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    field = lambda name: next(l.split(": ")[-1] for l in p.stderr.splitlines() if name in l)
    rss = int(field("Maximum resident set size"))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, rss, cpu


def corpus(dir_, mib, long_line_mib, name=None):
    """A generated corpus, written again when the generator's source or arguments changed
    (a stamp file beside it records both)."""
    path = os.path.join(dir_, name or f"home-{mib}")
    with open(os.path.join(ROOT, "examples/gen_corpus.rs"), "rb") as f:
        stamp = f"{hashlib.sha256(f.read()).hexdigest()} --mib {mib} --long-line-mib {long_line_mib}\n"
    stamp_file = path + ".stamp"
    current = open(stamp_file).read() if os.path.exists(stamp_file) else None
    if current != stamp or not os.path.isdir(os.path.join(path, "projects")):
        shutil.rmtree(path, ignore_errors=True)
        sh([os.path.join(ROOT, "target/release/examples/gen_corpus"), path, "--mib", str(mib),
            "--long-line-mib", str(long_line_mib)])
        with open(stamp_file, "w") as f:
            f.write(stamp)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
    return path, files


def real_corpus(dir_):
    """64 copies of ../shared/corpus/spotter-2.1.39 (real transcripts, MIT), when it is there:
    1 GiB of real lines. Copies repeat message ids, so the report dedupes them; the reading
    and parsing cost is that of 1 GiB."""
    src = os.path.join(ROOT, "..", "shared", "corpus", "spotter-2.1.39", "projects")
    if not os.path.isdir(src):
        return None
    home = os.path.join(dir_, "real-spotter-x64")
    if not os.path.isdir(os.path.join(home, "projects")):
        for i in range(64):
            for p in os.listdir(src):
                shutil.copytree(os.path.join(src, p), os.path.join(home, "projects", f"{p}-copy{i}"))
    return home


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--no-ccusage", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    sh(["cargo", "build", "--release", "--locked", "--bin", "ccdoctor", "--example", "gen_corpus"], cwd=ROOT)
    ccdoctor = os.path.join(ROOT, "target/release/ccdoctor")
    ccusage = os.path.join(a.dir, "ccusage/node_modules/.bin/ccusage")
    if not a.no_ccusage and not os.path.exists(ccusage):
        sh(["npm", "install", "--silent", "--prefix", os.path.join(a.dir, "ccusage"), CCUSAGE])

    sizes = [int(s) for s in a.sizes.split(",")]
    real = real_corpus(a.dir)
    print(header("run.py", sys.argv[1:]))
    print(f"runs: {a.runs} of each command on the largest corpus and on spotter, more on smaller ones "
          "(runs × largest / size), alternating; medians; page cache warmed by one untimed run\n")
    def measure(name, home, with_ccusage, runs):
        """Times cat, ccdoctor (and ccusage) on one corpus, alternately; one row of the table."""
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(home) for f in fs)
        cmds = {
            "cat": (["cat"] + files, None),
            "ccdoctor": ([ccdoctor, "scan", "--format", "json", home], None),
        }
        if with_ccusage:
            cmds["ccusage"] = ([ccusage, "claude", "daily", "--offline", "--json"], dict(os.environ, CLAUDE_CONFIG_DIR=home))
        for cmd, env in cmds.values():
            timed(cmd, env)  # warm the page cache and the binaries
        results = {k: [] for k in cmds}
        for _ in range(runs):
            for k, (cmd, env) in cmds.items():
                results[k].append(timed(cmd, env))
        med = {k: (statistics.median(w for w, _, _ in v), max(r for _, r, _ in v), statistics.median(c for _, _, c in v),
                   min(w for w, _, _ in v))
               for k, v in results.items()}
        return (name, len(files), sum(os.path.getsize(f) for f in files), runs, med)

    rows = [measure(mib, corpus(a.dir, mib, 32)[0], not a.no_ccusage and mib == max(sizes), a.runs * max(sizes) // mib)
            for mib in sizes]
    if real:
        rows.append(measure("spotter ×64", real, not a.no_ccusage, a.runs))

    print("| corpus | files | bytes | runs | cat | ccdoctor | ccdoctor / cat | ccusage | ccusage / ccdoctor | ccdoctor peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mib, n, total, runs, med in rows:
        cat, ccd = med["cat"][0], med["ccdoctor"][0]
        cu = med.get("ccusage")
        name = f"{mib} MiB" if isinstance(mib, int) else mib
        print(f"| {name} | {n} | {total:,} | {runs} | {cat:.3f} s | {ccd:.3f} s | {ccd / cat:.2f}× | "
              + (f"{cu[0]:.3f} s | {cu[0] / ccd:.2f}× | " if cu else "– | – | ")
              + f"{med['ccdoctor'][1] / 1024:.1f} MiB |")
    synthetic = [r for r in rows if isinstance(r[0], int)]
    if len(synthetic) > 1:
        base_mib, _, base_bytes, _, base_med = synthetic[0]
        print("\nScaling: time per byte relative to the smallest corpus: median wall / fastest wall / median CPU "
              "(user + system):")
        for mib, _, total, _, med in synthetic:
            rel = lambda k, i: (med[k][i] / total) / (base_med[k][i] / base_bytes)
            print(f"- {mib} MiB: ccdoctor {rel('ccdoctor', 0):.2f} / {rel('ccdoctor', 3):.2f} / {rel('ccdoctor', 2):.2f}, "
                  f"cat {rel('cat', 0):.2f} / {rel('cat', 3):.2f} / {rel('cat', 2):.2f}")

    # Memory with a 516 MiB line and the 87 MB file, against a corpus without them.
    plain, _ = corpus(a.dir, 164, 0, "home-164-no-long-line")
    hostile, _ = corpus(a.dir, 680, 516, "home-680-long-line")
    print("\nPeak RSS (max over runs), the same shape with and without a 516 MiB line:")
    for name, home in [("164 MiB with the 87 MB file", plain), ("680 MiB: the same plus one 516 MiB line", hostile)]:
        timed([ccdoctor, "scan", "--format", "json", home])
        runs = [timed([ccdoctor, "scan", "--format", "json", home]) for _ in range(a.runs)]
        print(f"- {name}: {max(r for _, r, _ in runs) / 1024:.1f} MiB, {statistics.median(w for w, _, _ in runs):.3f} s")


if __name__ == "__main__":
    main()
