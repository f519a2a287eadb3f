#!/usr/bin/env python3
"""Times `ccdoctor check` (its default window, the last 7 days) on a year of history, against
baselines measured in the same run.

    python3 bench/check_year.py [--runs 10] [--mib 1024] [--days 365] [--dir target/bench]
                                [--bin target/release/ccdoctor]
                                [--gen target/release/examples/gen_corpus] [--heavy-week]

Builds nothing: build the two binaries first (`cargo build --release --bin ccdoctor --example
gen_corpus`) or name prebuilt ones with --bin and --gen.

The home: `gen_corpus --mib N` (the corpus of bench/run.py: real-shaped file sizes and lines,
one 87 MB file, one 32 MiB line), then spread over the last --days days: every session (a
transcript, its subagents' transcripts and its debug log) gets an end time drawn uniformly
from the last --days days (seeded), each file's timestamps are shifted so that its last one is
that end time, and the file's modification time is set to it, as Claude Code leaves it. With
--heavy-week the sessions of the two largest files (the 87 MB transcript and the one with the
32 MiB line) end yesterday instead, inside check's window: its worst week. The
settings say `cleanupPeriodDays: 365`, as a home that keeps a year must. Because the window
is relative to today, the home is written again when the day (UTC) changes.

Then, alternately, --runs times each after one untimed warm-up run (warm page cache), it
times:

- `ccdoctor check HOME`: the default window, today and the 6 days before it;
- `ccdoctor scan --format json --since DAY HOME`: a full report of the same window;
- `ccdoctor scan --format json HOME`: the full report of the whole year;
- `cat FILES > /dev/null`: every file of the home, the cost of reading the bytes once;

and prints the median wall, user and system times, the ratios of check to each baseline, and
how many files and bytes fall in the window (the only files check opens: the others are
skipped by their modification time). Paste the output into BENCHMARKS.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import header  # noqa: E402

DAY_MS = 86_400_000
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# check's window: today and the 6 days before it (src/app/check.rs, DEFAULT_DAYS).
CHECK_DAYS = 7


def iso_ms(b):
    d = datetime.datetime.strptime(b.decode(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000)


def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def session_of(home, path):
    """The session a file belongs to: a transcript's own id, a subagent's parent session
    (`<session>/subagents/agent-x.jsonl`), a debug log's name (`debug/<session>.txt`)."""
    rel = os.path.relpath(path, home).split(os.sep)
    if rel[0] == "debug":
        return os.path.splitext(rel[-1])[0]
    if len(rel) >= 4 and rel[-2] == "subagents":
        return rel[-3]
    return os.path.splitext(rel[-1])[0]


def spread(home, days, now_ms, seed, heavy_week):
    """Shifts every file's timestamps so that the file ends at its session's end time, drawn
    uniformly from the last `days` days, and sets its modification time to that."""
    rng = random.Random(seed)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(home, "projects")) for f in fs)
    files += sorted(os.path.join(home, "debug", f) for f in os.listdir(os.path.join(home, "debug")))
    ends = {}
    if heavy_week:
        for path in sorted(files, key=os.path.getsize)[-2:]:
            ends[session_of(home, path)] = now_ms - DAY_MS
    for path in files:
        session = session_of(home, path)
        if session not in ends:
            ends[session] = now_ms - 60_000 - rng.randrange(days * DAY_MS - 60_000)
        end = ends[session]
        with open(path, "rb") as f:
            data = f.read()
        stamps = TIMESTAMP.findall(data)
        if stamps:
            shift = end - max(iso_ms(s) for s in set(stamps))
            cache = {}

            def moved(m):
                s = m.group(0)
                if s not in cache:
                    cache[s] = iso(iso_ms(s) + shift).encode()
                return cache[s]

            with open(path, "wb") as f:
                f.write(TIMESTAMP.sub(moved, data))
        os.utime(path, ns=(end * 1_000_000, end * 1_000_000))
    with open(os.path.join(home, "settings.json"), "w") as f:
        json.dump({"cleanupPeriodDays": 365, "env": {"CLAUDE_CODE_USE_BEDROCK": "1"}}, f, indent=2)
    return files


def home_of(a, today):
    """The year-long home, written again when the generator, the arguments or the day changed."""
    path = os.path.join(a.dir, f"year-{a.mib}" + ("-heavy-week" if a.heavy_week else ""))
    with open(a.gen, "rb") as f:
        gen = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.abspath(__file__), "rb") as f:
        me = hashlib.sha256(f.read()).hexdigest()
    stamp = f"{gen} {me} --mib {a.mib} --days {a.days} --seed {a.seed} --heavy-week {a.heavy_week} {today}\n"
    stamp_file = path + ".stamp"
    if (open(stamp_file).read() if os.path.exists(stamp_file) else None) != stamp:
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([a.gen, path, "--mib", str(a.mib)], check=True, stdout=subprocess.DEVNULL)
        now_ms = int(time.time() * 1000)
        spread(path, a.days, now_ms, a.seed, a.heavy_week)
        with open(stamp_file, "w") as f:
            f.write(stamp)
    return path


def timed(cmd, ok=(0,)):
    """Wall, user and system seconds of one run, output discarded."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        sys.exit(f"failed ({code}): {' '.join(cmd[:4])} …")
    return wall, usage.ru_utime, usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/ccdoctor"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "target/release/examples/gen_corpus"))
    ap.add_argument("--heavy-week", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    home = home_of(a, today.isoformat())
    since = today - datetime.timedelta(days=CHECK_DAYS - 1)
    since_ms = int(datetime.datetime(since.year, since.month, since.day, tzinfo=datetime.timezone.utc).timestamp()) * 1000

    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(home) for f in fs)
    logs = [f for f in files if f.endswith((".jsonl", ".txt"))]
    size = lambda fs: sum(os.path.getsize(f) for f in fs)
    recent = [f for f in logs if os.stat(f).st_mtime_ns // 1_000_000 >= since_ms]
    mtimes = [os.stat(f).st_mtime for f in logs]
    first = datetime.datetime.fromtimestamp(min(mtimes), tz=datetime.timezone.utc).date()
    last = datetime.datetime.fromtimestamp(max(mtimes), tz=datetime.timezone.utc).date()

    print(header("check_year.py", sys.argv[1:]))
    print(f"binary: {a.bin}")
    print(f"home: {home}: {len(logs):,} transcripts and debug logs, {size(logs):,} bytes, last modified "
          f"from {first} to {last} ({a.days} days)")
    print(f"check's window: since {since} (today {today} and the 6 days before): {len(recent):,} files, "
          f"{size(recent):,} bytes ({size(recent) / max(size(logs), 1):.1%} of the bytes)")
    print(f"runs: {a.runs} of each, alternating, after one untimed warm-up run each; medians\n")

    cmds = {
        "check (default window)": ([a.bin, "check", home], (0, 1)),
        f"scan --since {since}": ([a.bin, "scan", "--format", "json", "--since", since.isoformat(), home], (0,)),
        "scan (the whole year)": ([a.bin, "scan", "--format", "json", home], (0,)),
        "cat (every file)": (["cat"] + files, (0,)),
    }
    for cmd, ok in cmds.values():
        timed(cmd, ok)
    results = {k: [] for k in cmds}
    for _ in range(a.runs):
        for k, (cmd, ok) in cmds.items():
            results[k].append(timed(cmd, ok))
    med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in results.items()}
    check = med["check (default window)"][0]
    print("| command | wall (median) | user | system | check / this |")
    print("|---|---:|---:|---:|---:|")
    for k, (wall, user, system) in med.items():
        print(f"| {k} | {wall * 1000:.1f} ms | {user * 1000:.0f} ms | {system * 1000:.0f} ms | {check / wall:.3f} |")
    out = subprocess.run([a.bin, "check", home], capture_output=True, text=True)
    print(f"\ncheck said (exit {out.returncode}): {out.stdout.strip()}")


if __name__ == "__main__":
    main()
