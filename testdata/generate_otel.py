#!/usr/bin/env python3
"""Writes testdata/otel/: Claude Code telemetry with known counts (tests/otel.rs derives them
by hand from this file).

collector/claude-code-0.jsonl     OTLP JSON, integers as strings ("intValue": "300"), one line
                                  cut short on purpose; the collector's exports carry the quota's
                                  tags as resource attributes (aws.account, aws.region)
collector/claude-code-1.jsonl.gz  OTLP JSON gzip-compressed, integers as numbers; re-sends one
                                  request of file 0 and holds one request (req_o13) that
                                  testdata/claude-home's transcripts also hold
warehouse/events.csv              the flat form, attribute names as columns
warehouse/events.jsonl            the flat form as JSON lines, warehouse column names
                                  (session_id, event_name, ...)
"""

import datetime
import gzip
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "otel")
BASE = datetime.datetime(2026, 11, 20, 10, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds):
    t = BASE + datetime.timedelta(seconds=seconds)
    return t, t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def value(v, ints):
    if isinstance(v, int):
        return {"intValue": str(v) if ints == "string" else v}
    return {"stringValue": v}


def record(name, seconds, attrs, ints):
    t, iso = at(seconds)
    nanos = int(t.timestamp() * 1000) * 1_000_000
    attrs = dict(attrs)
    attrs = {"event.name": name, "event.timestamp": iso, **attrs}
    return {
        "timeUnixNano": str(nanos),
        "body": {"stringValue": "claude_code." + name},
        "attributes": [{"key": k, "value": value(v, ints)} for k, v in attrs.items()],
    }


def export(records, user):
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "claude-code"}},
                    {"key": "service.version", "value": {"stringValue": "2.1.241"}},
                    # The quota's tags the README tells a team to set in OTEL_RESOURCE_ATTRIBUTES
                    # (its --otel-where example selects these events).
                    {"key": "aws.account", "value": {"stringValue": "123456789012"}},
                    {"key": "aws.region", "value": {"stringValue": "us-east-1"}},
                ]},
                "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": records}],
            }
        ]
    }


def person(email, account):
    return {"user.email": email, "user.account_uuid": account, "organization.id": "org-1"}


ALICE = person("alice@example.com", "acct-alice")
BOB = person("bob@example.com", "acct-bob")
CAROL = person("carol@example.com", "acct-carol")
OLGA = person("olga@example.com", "acct-olga")


def req(seconds, session, who, prompt, rid, out, dur, source="repl_main_thread", model="claude-opus-4-8", ints="string"):
    return record("api_request", seconds, {
        "session.id": session, **who, "prompt.id": prompt, "query_source": source, "model": model,
        "input_tokens": 10, "output_tokens": out, "cache_read_tokens": 20000, "cache_creation_tokens": 500,
        "duration_ms": dur, "request_id": rid, "effort": "high", "speed": "normal",
    }, ints)


def err(seconds, session, who, prompt, attempt, ints="string"):
    return record("api_error", seconds, {
        "session.id": session, **who, "prompt.id": prompt, "query_source": "repl_main_thread",
        "model": "claude-opus-4-8", "error": "429 Too many tokens, please wait before trying again.",
        "status_code": 429, "attempt": attempt, "duration_ms": 400,
    }, ints)


def main():
    os.makedirs(os.path.join(OUT, "collector"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "warehouse"), exist_ok=True)
    a, b = "a1a1a1a1-0000-4000-8000-000000000001", "b2b2b2b2-0000-4000-8000-000000000002"
    # File 0 (integers as strings): Alice's main thread, two subagents in parallel, and a
    # request refused twice before it got through; Bob's request and a request refused three
    # times, never answered; a tool_result event (skipped).
    line1 = [
        req(5, a, ALICE, "pa", "req_tel_a1", 300, 4000),
        req(20, a, ALICE, "pa", "req_tel_a2", 1200, 6000),
        req(35, a, ALICE, "pa", "req_tel_a3", 2000, 14000, source="agent:custom"),
        req(40, a, ALICE, "pa", "req_tel_a4", 2500, 18000, source="agent:custom"),
        record("tool_result", 41, {"session.id": a, **ALICE, "tool_name": "Bash", "success": "true", "duration_ms": 20}, "string"),
    ]
    line2 = [
        err(60, a, ALICE, "pa", 1),
        err(61.5, a, ALICE, "pa", 2),
        req(70, a, ALICE, "pa", "req_tel_a5", 800, 5000),
        req(30, b, BOB, "pb", "req_tel_b1", 50, 3000),
        err(120, b, BOB, "pb2", 1),
        err(121, b, BOB, "pb2", 2),
        err(123, b, BOB, "pb2", 3),
    ]
    with open(os.path.join(OUT, "collector", "claude-code-0.jsonl"), "w") as f:
        f.write(json.dumps(export(line1, ALICE), separators=(",", ":")) + "\n")
        f.write('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"17\n')
        f.write(json.dumps(export(line2, BOB), separators=(",", ":")) + "\n")
    # File 1 (gzip, integers as numbers): Carol's two requests, Bob's req_b1 again (a collector
    # that re-sent a batch), and req_o13, which testdata/claude-home's transcripts hold.
    c = "c3c3c3c3-0000-4000-8000-000000000003"
    o = "dddddddd-0000-4000-8000-000000000004"
    line3 = [
        req(200, c, CAROL, "pc", "req_tel_c1", 4000, 60000, model="claude-sonnet-5", ints="number"),
        req(260, c, CAROL, "pc", "req_tel_c2", 100, 2000, model="claude-sonnet-5", ints="number"),
        req(30, b, BOB, "pb", "req_tel_b1", 50, 3000, ints="number"),
        req(300, o, OLGA, "po", "req_o13", 700, 9000, ints="number"),
    ]
    # A fixed mtime in the gzip header, so that the file is the same on every run.
    with open(os.path.join(OUT, "collector", "claude-code-1.jsonl.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
            f.write((json.dumps(export(line3, CAROL), separators=(",", ":")) + "\n").encode())
    # The flat form a warehouse query gives: Dave's two requests and a refused attempt of his
    # that nothing followed; Erin's request with warehouse column names, and a user_prompt.
    d = "d4d4d4d4-0000-4000-8000-000000000005"
    cols = ["event.name", "event.timestamp", "session.id", "user.email", "user.account_uuid", "prompt.id", "model",
            "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "duration_ms",
            "request_id", "error", "status_code", "attempt"]
    rows = [
        ["api_request", at(400)[1], d, "dave@example.com", "acct-dave", "pd", "claude-opus-4-8", 12, 640, 30000, 0, 7000, "req_tel_d1", "", "", ""],
        ["api_request", at(420)[1], d, "dave@example.com", "acct-dave", "pd", "claude-opus-4-8", 12, 90, 30000, 0, 2000, "req_tel_d2", "", "", ""],
        ["api_error", at(500)[1], d, "dave@example.com", "acct-dave", "pd2", "claude-opus-4-8", "", "", "", "", 300, "",
         "429 Too many tokens, please wait before trying again.", 429, 1],
    ]
    with open(os.path.join(OUT, "warehouse", "events.csv"), "w") as f:
        f.write(",".join(cols) + "\n")
        for r in rows:
            f.write(",".join('"%s"' % v if isinstance(v, str) and "," in v else str(v) for v in r) + "\n")
    e = "e5e5e5e5-0000-4000-8000-000000000006"
    flat = [
        {"event_name": "user_prompt", "event_timestamp": at(595)[1], "session_id": e, "user_email": "erin@example.com"},
        {"event_name": "api_request", "event_timestamp": at(600)[1], "session_id": e, "user_email": "erin@example.com",
         "user_account_uuid": "acct-erin", "prompt_id": "pe", "model": "claude-opus-4-8", "input_tokens": 5,
         "output_tokens": "3500", "cache_read_tokens": 0, "cache_creation_tokens": 900, "duration_ms": 40000,
         "request_id": "req_tel_e1"},
    ]
    with open(os.path.join(OUT, "warehouse", "events.jsonl"), "w") as f:
        for x in flat:
            f.write(json.dumps(x) + "\n")


if __name__ == "__main__":
    main()
