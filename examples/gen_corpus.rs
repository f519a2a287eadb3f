//! Writes a synthetic Claude Code config home of a given size, shaped like a real one, for
//! benchmarks (`bench/run.sh`). Not used by the tests.
//!
//! ```text
//! cargo run --release --example gen_corpus -- OUT_DIR [--mib 1024] [--long-line-mib 32] [--seed 1]
//! ```
//!
//! Shape (from a published 1.24 GiB profile of 3,142 transcripts): file sizes log-normal with
//! a median of 105 KB and a p99 of 5.4 MB, one 87 MB file; sessions of user prompts, assistant
//! responses split into one line per content block (thinking, text, tool calls) with
//! stream-start placeholder usage on the early blocks, tool results from a few bytes to a few
//! MB (some base64 images), subagent transcripts, progress and snapshot lines, every kind of
//! error (retries, final errors, output-limit errors and recovery prompts), debug logs, and
//! one very long line (a tool result full of images).
//!
//! Lines (from the real transcripts of spotter-2.1.39, 10,155 lines): most are small progress
//! lines (69% of lines, 36% of bytes: hook progress 56% of lines, median 634 bytes; tool
//! output 10%; subagent progress 2%, which echoes the subagent's messages with their usage);
//! tool results are 11% of lines but 47% of bytes (median 2.3 KB, p90 21 KB, p99 58 KB);
//! assistant lines 18% of lines and 15% of bytes (median 1.1 KB, p99 8.9 KB); line median 638
//! bytes, mean 1.6 KB. The generator's sizes, kinds and counts per turn follow these figures.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

const MEDIAN_FILE: f64 = 105_000.0;
/// σ of ln(size): p99 / median = e^(2.326 σ) = 5.4 MB / 105 KB.
const SIGMA: f64 = 1.694;
const LARGEST_FILE: u64 = 87_000_000;
const MODELS: [&str; 4] = [
    "claude-opus-4-6",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
];
const WORDS: [&str; 22] = [
    "the",
    "function",
    "returns",
    "a",
    "value",
    "when",
    "error",
    "test",
    "file",
    "line",
    "fix",
    "build",
    "struct",
    "impl",
    "\"quoted\"",
    "path/to/src",
    "{",
    "}",
    "\\",
    "self",
    "cargo",
    "ok",
];
/// Real transcripts are about 1% non-ASCII bytes (spotter-2.1.39: 1.2%), in clusters.
const NON_ASCII: [&str; 3] = ["é", "→", "日本語"];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    fn id(&mut self) -> String {
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.next() as u32,
            self.below(1 << 16),
            self.below(1 << 12),
            self.below(1 << 12),
            self.next() >> 16
        )
    }
}

/// Prose of about `len` characters, with escapes and non-ASCII characters.
fn prose(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        if rng.chance(0.003) {
            for _ in 0..1 + rng.below(30) {
                s.push_str(NON_ASCII[rng.below(NON_ASCII.len() as u64) as usize]);
                s.push(' ');
            }
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        s.push(if rng.chance(0.08) { '\n' } else { ' ' });
    }
    s
}

fn base64ish(rng: &mut Rng, len: usize) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut v = Vec::with_capacity(len);
    let mut x = rng.next();
    for i in 0..len {
        if i % 10 == 0 {
            x = rng.next();
        }
        v.push(A[(x & 63) as usize]);
        x >>= 6;
    }
    String::from_utf8(v).expect("ASCII")
}

/// A JSON object whose keys keep the order they were inserted in.
struct Event {
    fields: Vec<(String, Value)>,
    /// `type` of an assistant line, written after the body.
    deferred_type: Option<String>,
    tail: Vec<(String, Value)>,
}

impl Event {
    fn insert(&mut self, key: String, value: Value) {
        self.fields.push((key, value));
    }

    fn to_json(&self) -> Vec<u8> {
        let ty = self.deferred_type.iter().map(|t| ("type".to_string(), Value::from(t.as_str())));
        let all: Vec<(String, Value)> =
            self.fields.iter().cloned().chain(ty).chain(self.tail.iter().cloned()).collect();
        let mut out = b"{".to_vec();
        for (i, (k, v)) in all.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend(serde_json::to_vec(k).expect("serializes"));
            out.push(b':');
            out.extend(serde_json::to_vec(v).expect("serializes"));
        }
        out.push(b'}');
        out
    }
}

struct Session<'a> {
    rng: &'a mut Rng,
    id: String,
    cwd: String,
    version: &'static str,
    agent: Option<String>,
    clock: i64,
    parent: Option<String>,
    out: BufWriter<File>,
    written: u64,
}

impl Session<'_> {
    fn stamp(&mut self) -> String {
        self.clock += 1_000 + self.rng.below(20_000) as i64;
        ccdoctor::time::iso_timestamp(self.clock)
    }

    /// An event in Claude Code's key order: the scalar envelope fields, then `type` (for an
    /// assistant line, after `message` and `requestId`), the body, `uuid` and `timestamp`.
    fn envelope(&mut self, kind: &str) -> Event {
        let uuid = self.rng.id();
        let mut e = Event { fields: Vec::new(), deferred_type: None, tail: Vec::new() };
        e.insert("parentUuid".into(), self.parent.clone().map_or(Value::Null, Value::String));
        e.insert("isSidechain".into(), Value::Bool(self.agent.is_some()));
        e.insert("userType".into(), "external".into());
        e.insert("cwd".into(), self.cwd.clone().into());
        e.insert("sessionId".into(), self.id.clone().into());
        e.insert("version".into(), self.version.into());
        e.insert("gitBranch".into(), "main".into());
        if let Some(a) = &self.agent {
            e.insert("agentId".into(), a.clone().into());
        }
        if kind == "assistant" {
            e.deferred_type = Some(kind.to_string());
        } else {
            e.insert("type".into(), kind.into());
        }
        let ts = self.stamp();
        e.tail = vec![("uuid".into(), uuid.clone().into()), ("timestamp".into(), ts.into())];
        self.parent = Some(uuid);
        e
    }

    fn emit(&mut self, e: &Event) {
        let mut line = e.to_json();
        line.push(b'\n');
        self.out.write_all(&line).expect("write");
        self.written += line.len() as u64;
    }

    fn user_prompt(&mut self) {
        let mut e = self.envelope("user");
        let n = 40 + self.rng.below(800) as usize;
        let text = prose(self.rng, n);
        e.insert("message".into(), json!({"role": "user", "content": text}));
        self.emit(&e);
    }

    fn tool_result(&mut self, big: bool) {
        let mut e = self.envelope("user");
        let len = if big { self.rng.log_normal(150_000.0, 1.0) } else { self.rng.log_normal(1_500.0, 1.6) } as usize;
        let content = if self.rng.chance(0.03) {
            json!([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64ish(self.rng, len)}}])
        } else {
            Value::String(prose(self.rng, len))
        };
        e.insert(
            "message".into(),
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": content}]}),
        );
        if self.rng.chance(0.5) {
            e.insert(
                "toolUseResult".into(),
                json!({"stdout": prose(self.rng, len / 4), "stderr": "", "interrupted": false}),
            );
        }
        self.emit(&e);
    }

    /// One response: a line per content block, placeholders first, final usage last (unless
    /// the writer never recorded it).
    fn response(&mut self, model: &str, final_usage: bool, stop_max_tokens: bool) {
        let msg_id = format!("msg_{}", base64ish(self.rng, 24));
        let req_id = format!("req_{}", base64ish(self.rng, 24));
        let blocks = 1 + self.rng.below(2);
        let mut chars = 0usize;
        for b in 0..blocks {
            let last = b + 1 == blocks;
            let content = match (b, self.rng.below(3)) {
                (0, 0) => {
                    let t = {
                        let n = self.rng.log_normal(400.0, 1.0) as usize;
                        prose(self.rng, n)
                    };
                    chars += t.len();
                    json!([{"type": "thinking", "thinking": t, "signature": base64ish(self.rng, 400)}])
                }
                (_, 1) => {
                    let body = {
                        let n = self.rng.log_normal(200.0, 1.5) as usize;
                        prose(self.rng, n)
                    };
                    chars += body.len();
                    json!([{"type": "tool_use", "id": "toolu_x", "name": "Write", "input": {"file_path": "/src/a.rs", "content": body}}])
                }
                _ => {
                    let t = {
                        let n = self.rng.log_normal(220.0, 1.2) as usize;
                        prose(self.rng, n)
                    };
                    chars += t.len();
                    json!([{"type": "text", "text": t}])
                }
            };
            let output = if last && final_usage { (chars as f64 / 2.5) as u64 + 10 } else { 1 + self.rng.below(30) };
            let mut e = self.envelope("assistant");
            e.insert(
                "message".into(),
                json!({
                    "model": model, "id": msg_id, "type": "message", "role": "assistant", "content": content,
                    "stop_reason": if last && stop_max_tokens { Value::from("max_tokens") } else { Value::Null },
                    "stop_sequence": null,
                    "usage": {"input_tokens": 3 + self.rng.below(50), "cache_creation_input_tokens": self.rng.below(5000),
                              "cache_read_input_tokens": self.rng.below(150_000), "output_tokens": output,
                              "service_tier": "standard"}
                }),
            );
            e.insert("requestId".into(), req_id.clone().into());
            self.emit(&e);
        }
    }

    fn final_error(&mut self, text: &str, code: Option<&str>, status: Option<u64>) {
        let mut e = self.envelope("assistant");
        let id = self.rng.id();
        e.insert(
            "message".into(),
            json!({"id": id, "model": "<synthetic>", "role": "assistant", "type": "message",
                   "stop_reason": "stop_sequence", "stop_sequence": "", "usage": {"input_tokens": 0, "output_tokens": 0},
                   "content": [{"type": "text", "text": text}]}),
        );
        e.insert("isApiErrorMessage".into(), true.into());
        if let Some(c) = code {
            e.insert("error".into(), c.into());
        }
        if let Some(s) = status {
            e.insert("apiErrorStatus".into(), s.into());
        }
        self.emit(&e);
    }

    fn retry(&mut self, status: u64, kind: &str, attempt: u64) {
        let mut e = self.envelope("system");
        e.insert("subtype".into(), "api_error".into());
        e.insert("level".into(), "error".into());
        e.insert(
            "error".into(),
            json!({"status": status, "headers": {}, "requestID": null, "error": {"type": "error", "error": {"type": kind, "message": "Too many tokens, please wait before trying again."}}}),
        );
        e.insert("retryInMs".into(), (500u64 << attempt.min(8)).into());
        e.insert("retryAttempt".into(), attempt.into());
        e.insert("maxRetries".into(), 10.into());
        self.emit(&e);
    }

    fn other_lines(&mut self) {
        match self.rng.below(3) {
            0 => {
                let mut e = self.envelope("progress");
                e.insert(
                    "data".into(),
                    json!({"type": "hook_progress", "hookName": "PostToolUse", "command": prose(self.rng, 120)}),
                );
                self.emit(&e);
            }
            1 => {
                let mut snap = Event { fields: Vec::new(), deferred_type: None, tail: Vec::new() };
                snap.insert("type".into(), "file-history-snapshot".into());
                snap.insert("messageId".into(), self.rng.id().into());
                snap.insert(
                    "snapshot".into(),
                    json!({"trackedFileBackups": {"/src/a.rs": {"backupFileName": "x@v2", "version": 2}}}),
                );
                self.emit(&snap);
            }
            _ => {
                let mut e = self.envelope("system");
                e.insert("subtype".into(), "local_command".into());
                e.insert(
                    "content".into(),
                    "<local-command-stdout>API Error: 429 Too many tokens</local-command-stdout>".into(),
                );
                self.emit(&e);
            }
        }
    }

    /// A turn: prompt or tool result, a response, sometimes an error.
    fn turn(&mut self, model: &str) {
        if self.rng.chance(0.2) {
            self.user_prompt();
        } else {
            let big = self.rng.chance(0.004);
            self.tool_result(big);
        }
        let r = self.rng.below(1000);
        match r {
            0..=4 => {
                for a in 1..=1 + self.rng.below(3) {
                    self.retry(429, "rate_limit_error", a);
                }
            }
            5..=6 => self.final_error("API Error: 429 Too many tokens, please wait before trying again.", Some("rate_limit"), Some(429)),
            7 => self.final_error("API Error: Claude's response exceeded the 32000 output token maximum. To configure this behavior, set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.", Some("max_output_tokens"), None),
            8 => self.final_error("API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment.", Some("server_error"), Some(529)),
            9 => self.final_error("You've hit your session limit · resets 1:40pm (Europe/Paris)", Some("rate_limit"), Some(429)),
            10 => self.final_error("API Error: 429 Too many tokens per day, please wait before trying again.", Some("rate_limit"), Some(429)),
            11 => self.final_error("API Error: Connection error.", None, None),
            12 => self.retry(529, "overloaded_error", 1),
            _ => {}
        }
        let stop = self.rng.chance(0.003);
        let final_usage = self.agent.is_none() || self.rng.chance(0.3);
        self.response(model, final_usage, stop);
        if stop {
            let mut e = self.envelope("user");
            e.insert("isMeta".into(), true.into());
            e.insert(
                "message".into(),
                json!({"role": "user", "content": [{"type": "text", "text": "Output token limit hit. Resume directly from where you left off, no apology, no recap."}]}),
            );
            self.emit(&e);
        }
        if self.rng.chance(0.1) {
            self.other_lines();
        }
        // Progress lines: about six per turn, a third of real transcripts' bytes. In
        // spotter-2.1.39: hook progress 56% of all lines (small), tool output 10%, and 2%
        // subagent progress echoing the subagent's messages, usage included (not responses
        // of the session: a trap for counting).
        for _ in 0..self.rng.below(12) {
            let mut e = self.envelope("progress");
            let data = match self.rng.below(100) {
                0..=81 => {
                    let n = self.rng.log_normal(180.0, 0.3) as usize;
                    json!({"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": "PostToolUse:Bash",
                           "command": prose(self.rng, n)})
                }
                82..=96 => {
                    let n = self.rng.log_normal(500.0, 1.0) as usize;
                    json!({"type": "bash_progress", "output": prose(self.rng, n), "elapsedTimeSeconds": 3})
                }
                _ => {
                    let (n, m) = (self.rng.log_normal(1_000.0, 1.0) as usize, self.rng.log_normal(800.0, 0.8) as usize);
                    let (text, prompt) = (prose(self.rng, n), prose(self.rng, m));
                    json!({
                        "message": {"type": "assistant", "message": {
                            "model": MODELS[2], "id": format!("msg_{}", base64ish(self.rng, 24)), "type": "message",
                            "role": "assistant", "content": [{"type": "text", "text": text}],
                            "stop_reason": null, "usage": {"input_tokens": 3, "output_tokens": 1 + self.rng.below(900)}}},
                        "normalizedMessages": [], "type": "agent_progress", "prompt": prompt,
                    })
                }
            };
            e.insert("data".into(), data);
            e.insert("toolUseID".into(), "toolu_x".into());
            self.emit(&e);
        }
    }
}

struct Args {
    out: PathBuf,
    bytes: u64,
    long_line: u64,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args { out: PathBuf::new(), bytes: 1 << 30, long_line: 32 << 20, seed: 1 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |what: &str| -> u64 {
            it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{what} takes a number"))
        };
        match arg.as_str() {
            "--mib" => a.bytes = num("--mib") << 20,
            "--long-line-mib" => a.long_line = num("--long-line-mib") << 20,
            "--seed" => a.seed = num("--seed"),
            _ if a.out.as_os_str().is_empty() => a.out = PathBuf::from(arg),
            _ => panic!("usage: gen_corpus OUT_DIR [--mib N] [--long-line-mib N] [--seed N]"),
        }
    }
    assert!(!a.out.as_os_str().is_empty(), "usage: gen_corpus OUT_DIR [--mib N] [--long-line-mib N] [--seed N]");
    a
}

fn session_file(
    rng: &mut Rng,
    path: &Path,
    target: u64,
    model: &str,
    agent: Option<String>,
    id: &str,
    clock: i64,
) -> (u64, i64) {
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    let out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create"));
    let version = ["2.0.50", "2.1.39", "2.1.114"][rng.below(3) as usize];
    let cwd = format!(
        "/home/u/{}",
        path.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    );
    let mut s = Session { rng, id: id.to_string(), cwd, version, agent, clock, parent: None, out, written: 0 };
    while s.written < target {
        s.turn(model);
    }
    s.out.flush().expect("flush");
    (s.written, s.clock)
}

fn main() {
    let a = args();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ a.seed.wrapping_mul(0x1000_0000_01b3));
    let projects = a.out.join("projects");
    fs::create_dir_all(&projects).expect("mkdir");
    fs::create_dir_all(a.out.join("debug")).expect("mkdir");
    fs::write(a.out.join("settings.json"), "{\n  \"env\": {\n    \"CLAUDE_CODE_USE_BEDROCK\": \"1\"\n  }\n}\n")
        .expect("write");
    let mut total = 0u64;
    let mut files = 0u64;
    let mut clock: i64 = 1_767_225_600_000; // 2026-01-01
    // The long line: a tool result of base64 images, in a file of its own.
    if a.long_line > 0 {
        let dir = projects.join("-home-u-images");
        fs::create_dir_all(&dir).expect("mkdir");
        let id = rng.id();
        let mut f = BufWriter::new(File::create(dir.join(format!("{id}.jsonl"))).expect("create"));
        let head = format!(
            "{{\"parentUuid\":null,\"isSidechain\":false,\"userType\":\"external\",\"cwd\":\"/home/u/images\",\"sessionId\":\"{id}\",\"version\":\"2.1.39\",\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":[{{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_img\",\"content\":[{{\"type\":\"image\",\"source\":{{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\""
        );
        f.write_all(head.as_bytes()).expect("write");
        let chunk = base64ish(&mut rng, 1 << 20);
        let mut left = a.long_line.saturating_sub(head.len() as u64 + 200);
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            f.write_all(&chunk.as_bytes()[..n]).expect("write");
            left -= n as u64;
        }
        f.write_all(b"\"}}]}]},\"uuid\":\"img-1\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}\n").expect("write");
        f.flush().expect("flush");
        total += a.long_line;
        files += 1;
    }
    let mut first = true;
    while total < a.bytes {
        let left = a.bytes - total;
        let size = if first && left >= LARGEST_FILE {
            LARGEST_FILE
        } else {
            (rng.log_normal(MEDIAN_FILE, SIGMA) as u64).clamp(2_000, LARGEST_FILE)
        };
        first = false;
        let size = size.min(left.max(2_000));
        let project = projects.join(format!("-home-u-proj{}", rng.below(40)));
        let id = rng.id();
        let model = MODELS[rng.below(MODELS.len() as u64) as usize];
        let (w, c) = session_file(&mut rng, &project.join(format!("{id}.jsonl")), size, model, None, &id, clock);
        clock = c;
        total += w;
        files += 1;
        // About one session in four runs subagents, in <session>/subagents/.
        if rng.chance(0.25) && total < a.bytes {
            let agent = format!("a{:07x}", rng.below(1 << 28));
            let path = project.join(&id).join("subagents").join(format!("agent-{agent}.jsonl"));
            let (w, _) = session_file(&mut rng, &path, (size / 3).max(2_000), MODELS[2], Some(agent), &id, clock);
            total += w;
            files += 1;
        }
        if rng.chance(0.1) {
            let mut log = String::new();
            for k in 1..=3 {
                log.push_str(&format!("2026-01-02T10:00:0{k}.000Z [ERROR] API error (attempt {k}/11): 429 429 {{\"type\":\"error\",\"error\":{{\"type\":\"rate_limit_error\",\"message\":\"Too many tokens\"}}}}\n"));
                log.push_str("2026-01-02T10:00:05.000Z [DEBUG] Stream started\n");
            }
            log.push_str("2026-01-02T10:01:00.000Z [WARN] Capped from 100000 to 64000\n");
            fs::write(a.out.join("debug").join(format!("{id}.txt")), &log).expect("write");
            total += log.len() as u64;
            files += 1;
        }
    }
    println!("wrote {files} files, {:.1} MiB, to {}", total as f64 / (1 << 20) as f64, a.out.display());
}
