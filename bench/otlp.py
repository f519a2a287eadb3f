#!/usr/bin/env python3
"""Writes Claude Code telemetry as the OpenTelemetry Collector's file exporter does: one OTLP
JSON `ExportLogsServiceRequest` a line, each a batch of a few seconds of one session's events
(`api_request`, `api_error` and the `tool_result` / `user_prompt` events ccdoctor skips).

    bench/otlp.py OUT_DIR --requests N [--people P] [--files F] [--gzip] [--ints string|number|mixed]
                          [--tool-events K] [--flat]

Deterministic for a given seed. Sessions of each person run one after another, some with
subagents in parallel; every tenth session meets a run of 429s (retried, and now and then
failing for good). Used by bench/otel.py (speed and memory) and to write testdata/otel/.

--flat writes the same events in the flat form a warehouse query returns instead (what
`scan --otel` reads besides OTLP): one JSON object a line, one event each, the attribute
names as keys with `_` for `.` (`event_name`, `event_timestamp`, `session_id`,
`user_email`, …, `service_version` from the resource), counts as --ints says. Used by
bench/telemetry_scale.py.
"""

import argparse
import gzip
import json
import os
import random

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z

MODELS = ["claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5-20251001"]


def iso(ms):
    import datetime

    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


# The form written: OTLP JSON (False) or flat JSON lines (True, --flat). Set once by main.
FLAT = False


def attr_str(k, v):
    if FLAT:
        return '"%s":%s' % (k.replace(".", "_"), json.dumps(v))
    return '{"key":"%s","value":{"stringValue":%s}}' % (k, json.dumps(v))


def attr_int(k, v, ints, rng):
    mode = ints if ints != "mixed" else rng.choice(["string", "number"])
    if FLAT:
        return ('"%s":"%d"' if mode == "string" else '"%s":%d') % (k.replace(".", "_"), v)
    if mode == "string":
        return '{"key":"%s","value":{"intValue":"%d"}}' % (k, v)
    return '{"key":"%s","value":{"intValue":%d}}' % (k, v)


def record(name, ms, attrs):
    if FLAT:
        # The event's own time is its event.timestamp attribute, as a warehouse keeps it.
        return '{"event_name":"%s",%s}' % (name, ",".join(attrs))
    return '{"timeUnixNano":"%d","observedTimeUnixNano":"%d","severityNumber":9,"body":{"stringValue":"claude_code.%s"},"attributes":[%s]}' % (
        ms * 1_000_000,
        ms * 1_000_000,
        name,
        ",".join(attrs),
    )


class Writer:
    """Rotates to the next file every `per_file` requests, as a collector rotating by size
    gives files of about equal size."""

    def __init__(self, out, files, compress, per_file):
        self.out, self.files, self.compress, self.per_file = out, files, compress, per_file
        self.index, self.lines, self.handle = 0, 0, None
        self.written = 0
        self.requests = 0

    def _open(self):
        if self.handle:
            self.handle.close()
        name = os.path.join(self.out, "claude-code-%04d.jsonl%s" % (self.index, ".gz" if self.compress else ""))
        self.index += 1
        self.handle = gzip.open(name, "wt", compresslevel=1) if self.compress else open(name, "w")
        self.lines = 0

    def line(self, text, requests):
        if self.handle is None or (self.requests >= self.per_file * self.index and self.index < self.files):
            self._open()
        self.requests += requests
        self.handle.write(text)
        self.handle.write("\n")
        self.lines += 1
        self.written += len(text) + 1

    def close(self):
        if self.handle:
            self.handle.close()


def generate(args):
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    people = [
        {"email": "dev%d@example.com" % i, "account": "acct-%08x" % rng.getrandbits(32)} for i in range(args.people)
    ]
    writer = Writer(args.out, args.files, args.gzip, max(1, args.requests // args.files))
    resource = '{"attributes":[%s,%s]}' % (attr_str("service.name", "claude-code"), attr_str("service.version", "2.1.241"))
    scope = '{"name":"com.anthropic.claude_code.events","version":"2.1.241"}'
    version = attr_str("service.version", "2.1.241")
    made = 0
    session_no = 0
    clock = [T0 + rng.randrange(0, 3_600_000) for _ in people]
    seq = 0
    while made < args.requests:
        p = session_no % len(people)
        person = people[p]
        session_no += 1
        session = "%08x-%04x-4%03x-8%03x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12), rng.getrandbits(48))
        model = MODELS[rng.randrange(len(MODELS))] if rng.random() < 0.3 else MODELS[0]
        throttled_session = session_no % 10 == 0
        t = clock[p]
        batch = []

        def common(prompt, source):
            nonlocal seq
            seq += 1
            return [
                attr_str("event.timestamp", iso(t)),
                attr_int("event.sequence", seq, args.ints, rng),
                attr_str("session.id", session),
                attr_str("user.account_uuid", person["account"]),
                attr_str("user.email", person["email"]),
                attr_str("organization.id", "org-1"),
                attr_str("terminal.type", "vscode"),
                attr_str("prompt.id", prompt),
                attr_str("query_source", source),
                attr_str("model", model),
            ]

        def api_request(at, attrs, output, duration, cache_read, cache_write_max, extra=()):
            """An api_request record: the common attributes, the counts, then `extra`."""
            return record("api_request", at, attrs + [
                attr_int("input_tokens", rng.randint(1, 50), args.ints, rng),
                attr_int("output_tokens", output, args.ints, rng),
                attr_int("cache_read_tokens", rng.randint(*cache_read), args.ints, rng),
                attr_int("cache_creation_tokens", rng.randint(0, cache_write_max), args.ints, rng),
                attr_int("duration_ms", duration, args.ints, rng),
                attr_str("request_id", "req_%024x" % rng.getrandbits(96)),
            ] + list(extra))

        def flush():
            if batch and FLAT:
                for r in batch:
                    # The resource's attribute, joined to every event as a warehouse does.
                    writer.line(r[:-1] + "," + version + "}", 1 if r.startswith('{"event_name":"api_request"') else 0)
                batch.clear()
            elif batch:
                requests = sum(1 for r in batch if "claude_code.api_request" in r)
                writer.line('{"resourceLogs":[{"resource":%s,"scopeLogs":[{"scope":%s,"logRecords":[%s]}]}]}' % (
                    resource, scope, ",".join(batch)), requests)
                batch.clear()

        turns = rng.randint(3, 12)
        for turn in range(turns):
            if made >= args.requests:
                break
            prompt = "p-%d-%d" % (session_no, turn)
            t += rng.randint(5_000, 60_000)
            batch.append(record("user_prompt", t, common(prompt, "repl_main_thread") + [attr_int("prompt_length", rng.randint(10, 2000), args.ints, rng)]))
            for step in range(rng.randint(1, 8)):
                if made >= args.requests:
                    break
                # Now and then a request is refused first (and, rarely, for good).
                if throttled_session and rng.random() < 0.3:
                    tries = rng.randint(1, 4)
                    fails = rng.random() < 0.1
                    for a in range(1, tries + (11 - tries if fails else 0) + 1):
                        t += 300
                        batch.append(record("api_error", t, common(prompt, "repl_main_thread") + [
                            attr_str("error", "429 Too many tokens, please wait before trying again."),
                            attr_int("status_code", 429, args.ints, rng),
                            attr_int("attempt", a, args.ints, rng),
                            attr_int("duration_ms", 300, args.ints, rng),
                        ]))
                        t += min(500 << (a - 1), 32_000)
                    if fails:
                        break
                output = int(min(32_000, rng.lognormvariate(6.0, 1.2)))
                duration = 1_500 + output * 16
                t += duration
                batch.append(api_request(t, common(prompt, "repl_main_thread"), output, duration, (10_000, 150_000), 5_000, [
                    attr_str("cost_usd", "%.4f" % (output * 0.000075)),
                    attr_str("effort", "high"),
                    attr_str("speed", "normal"),
                ]))
                made += 1
                # Two subagents in parallel now and then.
                if rng.random() < 0.05:
                    for k in range(2):
                        sub_t = t
                        for _ in range(rng.randint(2, 5)):
                            out = int(min(32_000, rng.lognormvariate(5.5, 1.0)))
                            d = 1_000 + out * 16
                            sub_t += d
                            made += 1
                            batch.append(api_request(sub_t, common(prompt, "agent:custom"), out, d, (5_000, 60_000), 3_000))
                    t = sub_t
                for _ in range(args.tool_events):
                    t += rng.randint(50, 3_000)
                    batch.append(record("tool_result", t, common(prompt, "repl_main_thread") + [
                        attr_str("tool_name", "Bash"), attr_str("success", "true"),
                        attr_int("duration_ms", rng.randint(5, 3000), args.ints, rng)]))
                if len(batch) > 60:
                    flush()
            flush()
        clock[p] = t + rng.randint(60_000, 3_600_000)
    writer.close()
    return made, writer.written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--files", type=int, default=1)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--ints", choices=["string", "number", "mixed"], default="string")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tool-events", type=int, default=2, help="tool_result events after each request")
    ap.add_argument("--flat", action="store_true", help="flat JSON lines, one event a line, instead of OTLP")
    args = ap.parse_args()
    global FLAT
    FLAT = args.flat
    made, written = generate(args)
    print("%d requests, %d bytes (uncompressed) in %s" % (made, written, args.out))


if __name__ == "__main__":
    main()
