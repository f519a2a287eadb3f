#!/usr/bin/env python3
"""Telemetry at team scale: `ccdoctor scan --otel FILE --format json` on one export of 1 M (and,
when asked, 10 M) requests, in the flat JSON lines a warehouse query returns and in OTLP JSON.

    python3 bench/telemetry_scale.py [--sizes 1000000] [--forms flat,otlp] [--runs 3]
                                     [--floor 1000] [--people 40] [--tool-events 2]
                                     [--dir target/bench/telemetry] [--max-gb 6] [--bin BINARY] [--keep]
                                     [--args "SCAN FLAGS"]

`--sizes 1000000,10000000` adds the 10 M export (opt-in: about 29 GB of OTLP as written, so
it is written gzip-compressed, see below, and the scan may need several GiB of memory).

Builds the release binary (unless --bin names one). For each form, writes with bench/otlp.py
(deterministic, seed 7: --people people, sessions with subagents in parallel, every tenth
session meeting a run of 429s, a `user_prompt` before each turn and --tool-events
`tool_result` events after each request, the same events in both forms; `--flat` for the flat
form, counts as JSON numbers there, as strings in OTLP as the Collector writes them) one file
per export, then:

- the floor: a tiny export of --floor requests scanned --runs times; its median peak RSS is
  the fixed cost of the binary whatever the export (code, stacks, buffers, the report);
- each size: one untimed warm-up run of each command (warm page cache), then --runs times
  alternately `cat FILE` (the cost of reading the bytes) and the scan; prints the median wall
  time, MB/s (bytes of the export / median wall, 10^6 bytes), the ratio to `cat`, the peak
  RSS (the largest of the runs) and the bytes a request of peak RSS above the floor.

Every scan runs with HOME set to an empty folder, so that no transcripts are read beside the
export, and its JSON is checked to have read every request; --args adds flags to every scan
(`--provider anthropic`: the export read and advised without a quota, no fit). The exports'
429s are in Bedrock's words, so that without --args the scan advises for Bedrock and fits
the quota to them (from 1dbed93; before, it advised as for the Anthropic API); the row names
the provider the scan advised for.

Disk: the exports are written under --dir one at a time and deleted once measured (unless
--keep). Before writing one, its size is estimated from the tiny export (bytes a request);
if target/bench would then hold more than --max-gb GB, or the disk would have less than 2 GB
free, the export is written gzip-compressed instead (ccdoctor reads gzip; the row says
"gzip", its MB/s counts the uncompressed bytes and `cat` reads the compressed file), and if
even that does not fit it is skipped, said in the output. Prints the machine, the commit and
the date beside the figures; paste the output into BENCHMARKS.md. Not run in CI.
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import header, sh  # noqa: E402

GB = 1_000_000_000
# Space left free on the disk whatever --max-gb says.
FREE_MARGIN = 2 * GB


def du(path):
    """Bytes under `path` (0 if it is not there)."""
    if not os.path.exists(path):
        return 0
    return int(subprocess.run(["du", "-sb", path], check=True, capture_output=True, text=True).stdout.split()[0])


def generate(path, form, requests, a, compress=False):
    """One export of about `requests` requests in `form`, written to `path` (a folder holding
    one file); returns the file, the requests written (a last burst of subagents can add a few)
    and the uncompressed bytes."""
    shutil.rmtree(path, ignore_errors=True)
    cmd = [sys.executable, os.path.join(ROOT, "bench/otlp.py"), path, "--requests", str(requests), "--people",
           str(a.people), "--files", "1", "--tool-events", str(a.tool_events)]
    if form == "flat":
        cmd += ["--flat", "--ints", "number"]
    if compress:
        cmd.append("--gzip")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    made, rest = out.split(" requests, ")
    written = int(rest.split(" bytes")[0])
    (name,) = os.listdir(path)
    return os.path.join(path, name), int(made), written


def timed(cmd, env=None, capture=False):
    """Wall seconds and peak RSS (KiB) of one run; its output if asked."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    out = p.stdout.read() if capture else None
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed (wait status {status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss, out


EXTRA = []


def scan_cmd(binary, file):
    return [binary, "scan", "--otel", file, "--format", "json"] + EXTRA


def check_read(binary, file, env, requests):
    """Runs the scan once, keeping its JSON: every request must have been read. Returns the
    telemetry's counts, with the provider advised for."""
    _, _, out = timed(scan_cmd(binary, file), env, capture=True)
    v = json.loads(out)
    t = v["telemetry"]
    if t["requests"] != requests:
        sys.exit(f"{file}: the scan read {t['requests']} requests, not {requests}")
    t["provider"] = ((v.get("recommendation") or {}).get("inputs") or {}).get("provider", "none")
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000", help="requests per export, comma-separated")
    ap.add_argument("--forms", default="flat,otlp")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--floor", type=int, default=1000, help="requests in the tiny export that gives the floor")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--tool-events", type=int, default=2)
    ap.add_argument("--dir", default=os.path.join(ROOT, "target/bench/telemetry"))
    ap.add_argument("--max-gb", type=float, default=6.0, help="most GB target/bench may hold with an export in it")
    ap.add_argument("--bin", help="a prebuilt ccdoctor (default: build this checkout's release binary)")
    ap.add_argument("--keep", action="store_true", help="keep the exports (default: delete each once measured)")
    ap.add_argument("--args", default="", help="flags added to every scan, e.g. \"--provider anthropic\"")
    a = ap.parse_args()
    EXTRA.extend(a.args.split())
    sizes = [int(s) for s in a.sizes.split(",")]
    forms = a.forms.split(",")
    if any(f not in ("flat", "otlp") for f in forms):
        sys.exit("--forms: flat, otlp or both")
    binary = a.bin
    if not binary:
        sh(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "ccdoctor"], cwd=ROOT)
        binary = os.path.join(ROOT, "target/release/ccdoctor")
    bench_dir = os.path.join(ROOT, "target/bench")
    os.makedirs(a.dir, exist_ok=True)
    empty_home = os.path.join(a.dir, "empty-home")
    os.makedirs(empty_home, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"}
    env["HOME"] = empty_home

    print(header("telemetry_scale.py", sys.argv[1:]))
    print(f"binary: {os.path.relpath(binary, ROOT)}")
    print(f"scan: ccdoctor scan --otel FILE --format json{''.join(' ' + x for x in EXTRA)}")
    print(f"exports: bench/otlp.py, seed 7, {a.people} people, {a.tool_events} tool_result events a request, "
          f"one file each; {a.runs} runs of each command, alternating with `cat`, after one untimed warm-up run "
          f"each; medians (peak RSS: the largest)\n")

    rows, notes = [], []
    for form in forms:
        # The floor, and the bytes a request of this form (for the disk estimate).
        tiny_dir = os.path.join(a.dir, f"{form}-{a.floor}")
        tiny, tiny_requests, tiny_bytes = generate(tiny_dir, form, a.floor, a)
        check_read(binary, tiny, env, tiny_requests)
        floor = statistics.median(timed(scan_cmd(binary, tiny), env)[1] for _ in range(a.runs))
        with open(tiny, "rb") as f:
            ratio = len(gzip.compress(f.read(), compresslevel=1)) / tiny_bytes
        shutil.rmtree(tiny_dir)
        per_request = tiny_bytes / tiny_requests
        notes.append(f"{form} floor: {floor / 1024:.1f} MiB peak RSS on {tiny_requests:,} requests "
                     f"({tiny_bytes:,} bytes, {per_request:.0f} bytes a request)")

        for n in sizes:
            path = os.path.join(a.dir, f"{form}-{n}")
            shutil.rmtree(path, ignore_errors=True)
            estimate = per_request * n * 1.02
            room = min(a.max_gb * GB - du(bench_dir), shutil.disk_usage(a.dir).free - FREE_MARGIN)
            compress = estimate > room
            if compress and estimate * ratio * 1.1 > room:
                notes.append(f"{form} {n:,}: skipped: about {estimate / GB:.1f} GB ({estimate * ratio / GB:.1f} GB "
                             f"gzip-compressed) against {max(room, 0) / GB:.1f} GB of room")
                continue
            file, n, written = generate(path, form, n, a, compress)
            telemetry = check_read(binary, file, env, n)
            cmds = {"cat": (["cat", file], None), "scan": (scan_cmd(binary, file), env)}
            for cmd, e in cmds.values():
                timed(cmd, e)
            runs = {k: [] for k in cmds}
            for _ in range(a.runs):
                for k, (cmd, e) in cmds.items():
                    runs[k].append(timed(cmd, e)[:2])
            cat = statistics.median(w for w, _ in runs["cat"])
            wall = statistics.median(w for w, _ in runs["scan"])
            rss = max(r for _, r in runs["scan"])
            rows.append((form + (" (gzip)" if compress else ""), n, written, os.path.getsize(file), telemetry, cat,
                         wall, rss, floor))
            if not a.keep:
                shutil.rmtree(path)

    print("| form | requests | events | sessions | people | provider | bytes | cat | scan | scan / cat | MB/s "
          "| peak RSS | above the floor | bytes a request |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for form, n, written, stored, t, cat, wall, rss, floor in rows:
        above = max(rss - floor, 0) * 1024
        size = f"{written:,}" + (f" ({stored:,} stored)" if stored != written else "")
        print(f"| {form} | {n:,} | {t['events']:,} | {t['sessions']:,} | {t['people']} | {t['provider']} | {size} "
              f"| {cat:.2f} s | {wall:.2f} s | {wall / cat:.2f}× | {written / wall / 1e6:.0f} | {rss / 1024:.1f} MiB | "
              f"{above / (1 << 20):.1f} MiB | {above / n:.0f} |")
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
