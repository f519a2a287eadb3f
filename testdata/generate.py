#!/usr/bin/env python3
"""Writes testdata/claude-home: a hand-built config home with every case the scanner must get
right. The expected counts are stated (and derived by hand) in tests/scan_testdata.rs; change
both together. Run from the repository root: python3 testdata/generate.py"""
import os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lines import agent, api_error, assistant, dump, env, retry, text, user, write as write_in  # noqa: E402

HOME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "claude-home")
SONNET45 = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
OPUS41 = "claude-opus-4-1-20250805"
BEDROCK = "us.anthropic.claude-sonnet-4-20250514-v1:0"
SA = "aaaaaaaa-0000-4000-8000-000000000001"   # main session
SB = "bbbbbbbb-0000-4000-8000-000000000002"   # resumed copy of SA
SW = "cccccccc-0000-4000-8000-000000000003"   # Bedrock project
SO = "dddddddd-0000-4000-8000-000000000004"   # 1.0.x session


def write(path, lines, **kw):
    write_in(HOME, path, lines, **kw)


shutil.rmtree(HOME, ignore_errors=True)
APP = "/home/u/app"

# --- Main session (2026-03-01) ----------------------------------------------------------
r1a = assistant("a-r1-1", SA, "2026-03-01T10:00:00.000Z", APP, "msg_a1", "req_a1", SONNET45,
                text("Let me look at the failing test first, then fix."), 3)
r1b = assistant("a-r1-2", SA, "2026-03-01T10:00:02.000Z", APP, "msg_a1", "req_a1", SONNET45,
                [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/home/u/app/src/lib.rs"}}], 412)
r2 = assistant("a-r2", SA, "2026-03-01T10:01:00.000Z", APP, "msg_a2", "req_a2", SONNET45, text("x" * 1000), 1)
r3 = assistant("a-r3", SA, "2026-03-01T10:02:00.000Z", APP, "msg_a3", "req_a3", SONNET45,
               text("If you see `API Error: 429 Too many tokens, please wait before trying again.` or "
                    "`Claude's response exceeded the 32000 output token maximum`, lower the setting."), 1500)
r4 = assistant("a-r4", SA, "2026-03-01T10:03:00.000Z", APP, "msg_a4", "req_a4", SONNET45, text("y" * 300), 32000, stop="max_tokens")
recovery = user("a-rec", SA, "2026-03-01T10:03:01.000Z", APP,
                [{"type": "text", "text": "Output token limit hit. Resume directly from where you left off, no apology, no recap."}], meta=True)
r5 = assistant("a-r5", SA, "2026-03-01T10:04:00.000Z", APP, "msg_a5", None, SONNET45, text("z" * 200), 90)
r6 = assistant("a-r6", SA, "2026-03-01T10:05:00.000Z", APP, "msg_a6", "req_a6", SONNET45, text("OK."), 5)
synthetic = assistant("a-syn", SA, "2026-03-01T10:05:30.000Z", APP, "c0ffee00-0000-4000-8000-000000000000", None,
                      "<synthetic>", text("No response requested."), 0)
progress = {"type": "progress", "uuid": "a-prog", "sessionId": SA, "timestamp": "2026-03-01T10:05:40.000Z",
            "data": {"type": "agent_progress", "message": {"type": "assistant", "message": {
                "id": "msg_prog", "model": HAIKU, "content": text("inner"), "usage": {"output_tokens": 99999}},
                "requestId": "req_prog"}}}
e1 = api_error("e1", SA, "2026-03-01T11:00:00.000Z", APP,
               'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}')
y1 = retry("y1", SA, "2026-03-01T10:59:50.000Z", APP, 429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}, 1)
y2 = retry("y2", SA, "2026-03-01T10:59:51.000Z", APP, 429, {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}, 2)
y3 = retry("y3", SA, "2026-03-01T12:00:00.000Z", APP, 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, 1)
out_msg = ("API Error: Claude's response exceeded the {} output token maximum. To configure this behavior, "
           "set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.")
e2 = api_error("e2", SA, "2026-03-01T13:00:00.000Z", APP, out_msg.format(32000), "max_output_tokens")
e3 = api_error("e3", SA, "2026-03-01T13:10:00.000Z", APP, out_msg.format(32000), "max_output_tokens")
e4 = api_error("e4", SA, "2026-03-01T13:20:00.000Z", APP, out_msg.format(200), "max_output_tokens")
e5 = api_error("e5", SA, "2026-03-01T13:30:00.000Z", APP,
               "API Error: 400 input length and `max_tokens` exceed context limit: 188059 + 20000 > 200000, "
               "decrease input length or `max_tokens` and try again", "max_output_tokens", 400)
e6 = api_error("e6", SA, "2026-03-01T13:40:00.000Z", APP,
               'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
e7 = api_error("e7", SA, "2026-03-01T13:50:00.000Z", APP, "API Error: Connection error.")
# Traps: error words where no error happened.
trap_prompt = user("a-trap1", SA, "2026-03-01T14:00:00.000Z", APP,
                   "I keep getting API Error: 429 Too many tokens, please wait before trying again. and "
                   "You've hit your session limit. Also Output token limit hit. Why?")
trap_tool = user("a-trap2", SA, "2026-03-01T14:00:05.000Z", APP,
                 [{"type": "tool_result", "tool_use_id": "toolu_1",
                   "content": "log: API Error: Claude's response exceeded the 32000 output token maximum.\n"
                              "API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}"}])
trap_meta_other = user("a-trap3", SA, "2026-03-01T14:00:06.000Z", APP,
                       "<local-command-stdout>API Error: 429 Too many requests</local-command-stdout>", meta=True)
trap_system = dict(env("a-trap4", SA, "2026-03-01T14:00:07.000Z", APP), type="system", subtype="local_command",
                   content="API Error: 429 Too many tokens, please wait before trying again.", level="info")
main = [r1a, r2, r1b, r3, r4, recovery, r5, r6, synthetic, progress, y1, y2, e1, y3, e2, e3, e4, e5, e6, e7,
        trap_prompt, trap_tool, trap_meta_other, trap_system,
        {"type": "file-history-snapshot", "messageId": "x", "snapshot": {}},
        {"type": "some-future-type", "uuid": "future", "payload": [1, 2, 3]}]
write(f"projects/-home-u-app/{SA}.jsonl", [dump(l) for l in main])

# --- Resumed copy (new session id, same ids), 2026-03-03 --------------------------------
def resumed(l):
    c = dict(l)
    c["sessionId"] = SB
    return c
r7 = assistant("b-r7", SB, "2026-03-03T09:00:00.000Z", APP, "msg_b1", "req_b1", SONNET45, text("w" * 3000), 2500)
write(f"projects/-home-u-app/{SB}.jsonl",
      [dump(resumed(l)) for l in [r1a, r1b, r3, recovery, y1, e1]] + [dump(r7)])

# --- Subagents --------------------------------------------------------------------------
# 2.0.x: sibling agent file.
write("projects/-home-u-app/agent-1234abcd.jsonl", [
    dump(agent(assistant("g-r8", SA, "2026-03-01T10:00:10.000Z", APP, "msg_g8", "req_g8", HAIKU, text("h" * 600), 300, version="2.0.50"), "1234abcd")),
    dump(agent(assistant("g-r9", SA, "2026-03-01T10:00:40.000Z", APP, "msg_g9", "req_g9", HAIKU, text("h" * 1500), 700, version="2.0.50"), "1234abcd")),
])
# 2.1.2+: <session>/subagents/agent-<id>.jsonl beside a .meta.json sidecar, and a compaction agent.
write(f"projects/-home-u-app/{SA}/subagents/agent-a5b6c7d.jsonl", [
    dump(agent(assistant("s-r10", SA, "2026-03-01T10:00:20.000Z", APP, "msg_s10", "req_s10", HAIKU, text("s" * 100), 50), "a5b6c7d")),
    dump(agent(assistant("s-r11", SA, "2026-03-01T10:00:30.000Z", APP, "msg_s11", "req_s11", HAIKU, text("t" * 250), 2), "a5b6c7d")),
])
with open(os.path.join(HOME, f"projects/-home-u-app/{SA}/subagents/agent-a5b6c7d.meta.json"), "w") as f:
    f.write('{"agentType":"Explore","note":"API Error: 429 Too many tokens (not a transcript)"}\n')
write(f"projects/-home-u-app/{SA}/subagents/agent-acompact-ff00ee.jsonl", [
    dump(agent(assistant("c-r12", SA, "2026-03-01T15:00:00.000Z", APP, "msg_c12", "req_c12", SONNET45, text("c" * 9000), 4000), "acompact-ff00ee")),
])

# --- Bedrock project (2026-03-02): every throttling text, usage limits, bad lines ----------
WEB = "/home/u/web"
def w_err(uuid, minute, text_, code=None, status=None):
    return api_error(uuid, SW, f"2026-03-02T08:{minute:02d}:00.000Z", WEB, text_, code, status, version="2.1.114")
r15 = assistant("w-r15", SW, "2026-03-02T08:00:00.000Z", WEB, "msg_w15", "req_w15", BEDROCK, text("b" * 14000), 6000, version="2.1.114")
r16 = assistant("w-r16", SW, "2026-03-02T08:00:30.000Z", WEB, "msg_w16", "req_w16", BEDROCK, text("b" * 20000), 9000, version="2.1.114")
bedrock_lines = [
    dump(r15, spaced=True),  # `"usage": {` with spaces
    dump(r16),
    dump(w_err("e8", 1, "API Error: 429 Too many tokens, please wait before trying again.", "rate_limit", 429)),
    "",  # blank line: fine
    dump(w_err("e9", 2, "API Error: 429 Too many requests, please wait before trying again.", "rate_limit", 429)),
    dump(w_err("e10", 3, "API Error: Request rejected (429) · Too many tokens, please wait before trying again.", "rate_limit", 429)),
    dump(w_err("e11", 4, 'API Error: 429 {"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_input_tokens_per_minute_per_base_model","status":"RESOURCE_EXHAUSTED"}}')),
    '{"type":"assistant","message":{"id":"broken"',  # malformed JSON
    dump(w_err("e12", 5, "API Error: 429 Too many tokens per day, please wait before trying again.", "rate_limit", 429)),
    b'{"type":"user","message":{"content":"\xff\xfe not utf-8"}}',  # invalid UTF-8
    dump(w_err("e13", 6, "You've hit your session limit \u00b7 resets 1:40pm (Europe/Paris)", "rate_limit", 429)),
    dump(w_err("e14", 7, "You're out of extra usage \u00b7 resets 9pm (Europe/Madrid)", "rate_limit", 429)),
    b"\x00" * 64,  # NUL-filled line (crash mid-write)
    dump(w_err("e15", 8, "API Error: 529 Overloaded. This is a server-side issue, usually temporary \u2014 try again in a moment.", "server_error", 529)),
    dump(retry("y4", SW, "2026-03-02T08:00:50.000Z", WEB, 429, {"message": "Too many tokens, please wait before trying again."}, 1, version="2.1.114")),
    dump(retry("y5", SW, "2026-03-02T08:04:50.000Z", WEB, 429, {"message": "Too many tokens per day, please wait before trying again."}, 1, version="2.1.114")),
    '{"type":"assistant","uuid":"w-trunc","message":{"id":"msg_trunc","usage":{"output_tok',  # truncated last line
]
write(f"projects/-home-u-web/{SW}.jsonl", bedrock_lines, bom=True, final_newline=False)

# --- 1.0.x session: inline sidechain, usage limit, CRLF ------------------------------------
OLD = "/home/u/old"
write(f"projects/-home-u-old/{SO}.jsonl", [
    dump(assistant("o-r13", SO, "2025-07-15T09:00:00.000Z", OLD, "msg_o13", "req_o13", OPUS41, text("o" * 2000), 800, version="1.0.30")),
    dump(agent(assistant("o-r14", SO, "2025-07-15T09:00:30.000Z", OLD, "msg_o14", "req_o14", OPUS41, text("o" * 500), 200, version="1.0.30"), None)),
    dump(api_error("e16", SO, "2025-07-15T09:30:00.000Z", OLD, "Claude AI usage limit reached|1752573600", version="1.0.30")),
], crlf_at=0)

# --- Debug log of the main session --------------------------------------------------------
os.makedirs(os.path.join(HOME, "debug"), exist_ok=True)
with open(os.path.join(HOME, f"debug/{SA}.txt"), "w") as f:
    f.write("2026-03-01T10:59:49.000Z [DEBUG] Stream started\n")
    f.write("2026-03-01T10:59:49.900Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from 100000 to 64000\n")
    # Same failure as transcript retry y1 (attempt 1): counts once.
    f.write('2026-03-01T10:59:49.995Z [ERROR] API error (attempt 1/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}\n')
    # Only in the debug log (attempt 3): counts.
    f.write('2026-03-01T10:59:52.100Z [ERROR] API error (attempt 3/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}\n')
    f.write("2026-03-01T11:00:00.000Z [DEBUG] user said: API error (attempt 9/11) is scary\n")
os.symlink(f"{SA}.txt", os.path.join(HOME, "debug/latest"))

# --- Things that are not transcripts -------------------------------------------------------
os.makedirs(os.path.join(HOME, "todos"), exist_ok=True)
with open(os.path.join(HOME, "todos/t.json"), "w") as f:
    f.write('[{"content":"fix API Error: 429 Too many tokens","status":"pending"}]\n')
with open(os.path.join(HOME, "todos/not-a-transcript.jsonl"), "w") as f:
    f.write(dump(api_error("todo-e", SA, "2026-03-01T16:00:00.000Z", APP, "API Error: 429 Too many tokens")) + "\n")
with open(os.path.join(HOME, "projects/-home-u-app/NOTES.md"), "w") as f:
    f.write("API Error: 429 Too many tokens, please wait before trying again.\n")
with open(os.path.join(HOME, "settings.json"), "w") as f:
    f.write('{\n  "model": "sonnet",\n  "env": {\n    "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000",\n    "ANTHROPIC_API_KEY": "sk-ant-FIXTURE-SECRET-DO-NOT-PRINT"\n  }\n}\n')
print("wrote", HOME)
