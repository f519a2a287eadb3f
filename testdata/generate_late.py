#!/usr/bin/env python3
"""Writes testdata/late-home: what Claude Code 2.1.2xx leaves on disk in late 2026 (newer
models and id spellings, the newer error texts, the /btw sidechain trap, thinking tokens and
effort, a project folder named by CLAUDE_CODE_PROJECT_DIR_NAME, spilled tool results, and a
debug log at a path of the user's choosing). The expected counts are derived by hand in
tests/scan_late.rs; change both together. Run from the repository root:
python3 testdata/generate_late.py"""
import os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lines import agent, api_error, assistant, dump, env, retry, text, user, write as write_in  # noqa: E402

HOME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "late-home")
L1 = "11111111-0000-4000-8000-00000000000a"   # Opus 4.8, folder named by CLAUDE_CODE_PROJECT_DIR_NAME
L2 = "22222222-0000-4000-8000-00000000000b"   # Opus 5.5 / Opus 5, limits and spend caps
L3 = "33333333-0000-4000-8000-00000000000c"   # Sonnet 5 by Bedrock and Mantle ids
SVC = "/home/u/svc"
DATA = "/home/u/data"


def write(path, lines):
    write_in(HOME, path, [dump(l) if isinstance(l, dict) else l for l in lines])


def answer(uuid, session, ts, cwd, n, model, out, thinking=None, effort=None, stop="end_turn", version="2.1.230"):
    """A response of 2.1.97+ (final usage on every line), with thinking tokens and effort."""
    l = assistant(uuid, session, ts, cwd, f"msg_{n}", f"req_{n}", model, text("z" * 400), out, stop, version)
    if thinking is not None:
        l["message"]["usage"]["output_tokens_details"] = {"thinking_tokens": thinking}
    l["message"]["usage"]["speed"] = "standard"
    if effort is not None:
        l["effort"] = effort
    return l


def err(uuid, session, ts, cwd, text_, code=None, status=None, version="2.1.230"):
    return api_error(uuid, session, ts, cwd, text_, code, status, version)


shutil.rmtree(HOME, ignore_errors=True)

# --- L1 (2026-11-20): Opus 4.8 in a folder named anything; the newer 429 and 400 texts -----
OPUS48 = "claude-opus-4-8"
T = "2026-11-20T10:"
l1 = [
    answer("l-r1", L1, T + "00:00.000Z", SVC, "l1", OPUS48, 3000, thinking=2000, effort="high"),
    answer("l-r2", L1, T + "01:00.000Z", SVC, "l2", OPUS48, 64000, thinking=60000, effort="high", stop="max_tokens"),
    user("l-rec", L1, T + "01:05.000Z", SVC,
         "Output token limit hit. Resume directly \u2014 no apology, no recap of what you were doing.", meta=True,
         version="2.1.230"),
    answer("l-r3", L1, T + "01:10.000Z", SVC, "l3", OPUS48, 1500, thinking=0, effort="medium"),
    retry("l-y1", L1, T + "04:30.000Z", SVC, 429,
          {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}, 1, version="2.1.230"),
    retry("l-y2", L1, T + "04:40.000Z", SVC, 429,
          {"message": "Server is temporarily limiting requests (not your usage limit)"}, 1, version="2.1.230"),
    err("l-e1", L1, T + "05:00.000Z", SVC, "API Error: Request rejected (429) \u00b7 Rate limited. Please try again later.",
        "rate_limit", 429),
    err("l-e2", L1, T + "06:00.000Z", SVC,
        'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}',
        "rate_limit", 429),
    err("l-e3", L1, T + "07:00.000Z", SVC, "API Error: Server is temporarily limiting requests (not your usage limit)",
        "rate_limit", 429),
    err("l-e4", L1, T + "08:00.000Z", SVC,
        'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-opus-4-8"}}',
        "invalid_request", 400),
    err("l-e5", L1, T + "09:00.000Z", SVC, "API Error: The model has reached its context window limit.",
        "max_output_tokens"),
    {"type": "quotaLimits", "status": "allowed_warning", "rateLimitType": "five_hour", "resetsAt": 1795000000},
]
write(f"projects/work-svc/{L1}.jsonl", l1)

# /btw: a sidechain replaying the parent's first response (same message id, another request
# id, the parent's usage), then one answer of its own.
btw = "aside_question-0a1b2c"
replay = agent(answer("b-r1", L1, T + "00:00.000Z", SVC, "l1", OPUS48, 3000, thinking=2000, effort="high"), btw)
replay["requestId"] = "req_btw_replay"
write(f"projects/work-svc/{L1}/subagents/agent-{btw}.jsonl", [
    replay,
    agent(answer("b-r2", L1, T + "02:00.000Z", SVC, "btw2", OPUS48, 150, effort="high"), btw),
])
# Spilled tool output: not a transcript, whatever it holds.
write(f"projects/work-svc/{L1}/tool-results/toolu_01.jsonl", [
    err("t-e1", L1, T + "03:00.000Z", SVC, "API Error: 429 Too many tokens, please wait before trying again.",
        "rate_limit", 429),
])

# --- L2 (2026-11-24): same project by its cwd; longest prefix first; limits and caps ------
T = "2026-11-24T18:"
V = "2.1.245"
l2 = [
    answer("m-r4", L2, T + "00:00.000Z", SVC, "m4", "claude-opus-5-5", 900, effort="low", version=V),
    answer("m-r5", L2, T + "00:30.000Z", SVC, "m5", "claude-opus-5", 700, effort="low", version=V),
    err("m-e1", L2, T + "01:00.000Z", SVC, "You're out of usage credits \u00b7 resets 3am (UTC)", "rate_limit", 429, V),
    err("m-e2", L2, T + "02:00.000Z", SVC, "You've hit your weekly limit \u00b7 resets Dec 3, 9am (UTC)", "rate_limit", 429, V),
    err("m-e3", L2, T + "03:00.000Z", SVC, "You've hit your Opus limit", "rate_limit", 429, V),
    err("m-e4", L2, T + "04:00.000Z", SVC, "Your org is out of usage", "rate_limit", 429, V),
    err("m-e5", L2, T + "05:00.000Z", SVC,
        'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"enforced_spend_limit_reached"}}',
        "rate_limit", 429, V),
    err("m-e6", L2, T + "06:00.000Z", SVC, "API Error: 429 spend limit reached (daily; resets 00:00 UTC)",
        "rate_limit", 429, V),
    err("m-e7", L2, T + "07:00.000Z", SVC, "Credit balance is too low", "billing_error", None, V),
    err("m-e8", L2, T + "08:00.000Z", SVC,
        "API Error: 400 You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.",
        "invalid_request", 400, V),
]
write(f"projects/-home-u-svc/{L2}.jsonl", l2)

# --- L3 (2026-11-28): Sonnet 5 by its Bedrock and Mantle ids -------------------------------
T = "2026-11-28T07:"
write(f"projects/-home-u-data/{L3}.jsonl", [
    answer("n-r6", L3, T + "00:00.000Z", DATA, "n6", "global.anthropic.claude-sonnet-5-v1:0", 2000, version="2.1.240"),
    answer("n-r7", L3, T + "00:40.000Z", DATA, "n7", "anthropic.claude-sonnet-5", 2600, version="2.1.240"),
])

# --- A debug log where CLAUDE_CODE_DEBUG_LOGS_DIR or --debug-file put it --------------------
os.makedirs(os.path.join(HOME, "elsewhere"), exist_ok=True)
with open(os.path.join(HOME, "elsewhere/claude-debug.log"), "w") as f:
    f.write("2026-11-20T09:59:59.500Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from 128000 to 64000\n")
    # The same failure as the transcript's retry l-y1 (attempt 1): counts once.
    f.write('2026-11-20T10:04:29.900Z [ERROR] API error (attempt 1/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}\n')
    # Only here (attempt 2): counts.
    f.write('2026-11-20T10:04:31.000Z [ERROR] API error (attempt 2/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}\n')

with open(os.path.join(HOME, "settings.json"), "w") as f:
    f.write('{\n  "cleanupPeriodDays": 45,\n  "env": {\n'
            '    "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "6.4e4",\n'
            '    "MAX_THINKING_TOKENS": "31_999",\n'
            '    "CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS": "1e1",\n'
            '    "ANTHROPIC_API_KEY": "sk-ant-LATE-FIXTURE-SECRET"\n  }\n}\n')
print("wrote", HOME)
