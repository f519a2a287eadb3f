//! Sets one string in a settings file's `env` object by editing the text in place.
//!
//! Every byte outside the changed value stays as it was: key order, indentation, comments of
//! spacing, number spellings (`1.0`, `1e3`), escapes. A new member is written in the style of
//! its neighbours (the file's indentation and line endings; Claude Code writes 2 spaces). The
//! result is parsed again and compared with the original document plus the one change; any
//! difference is an error, never a write. Pure: text in, text out (fuzzed in `fuzz/`).

use serde_json::Value;

/// Why a settings text cannot be edited. The file is then left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("not valid JSON ({0})")]
    NotJson(String),
    #[error("not a JSON object (it is {0})")]
    NotObject(&'static str),
    #[error("`env` is not an object (it is {0})")]
    EnvNotObject(&'static str),
    /// The edit did not give the expected document: a bug, reported instead of written.
    #[error("internal error: {0}; nothing written")]
    Internal(&'static str),
}

/// The outcome of [`set_env_string`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The new text (equal to the input when nothing changed).
    pub text: String,
    /// The old value's JSON text, if the key was there.
    pub old: Option<String>,
    /// Whether the value differs from the one asked for.
    pub changed: bool,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a settings text: the document and the text without a leading byte-order mark.
/// Empty (or blank) text is an empty object.
pub fn parse(text: &str) -> Result<(serde_json::Map<String, Value>, &str), EditError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim().is_empty() {
        return Ok((serde_json::Map::new(), body));
    }
    // Where and what kind, never serde_json's message: it may quote the file (a secret).
    let v: Value = read_value(body).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Eof => "cut short",
            serde_json::error::Category::Data => "a value of the wrong shape",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => "syntax error",
        };
        EditError::NotJson(format!("{kind} at line {}, column {}", e.line(), e.column()))
    })?;
    match v {
        Value::Object(m) => {
            if let Some(env) = m.get("env")
                && !env.is_object()
            {
                return Err(EditError::EnvNotObject(kind_of(env)));
            }
            Ok((m, body))
        }
        other => Err(EditError::NotObject(kind_of(&other))),
    }
}

/// A settings text as Claude Code's `JSON.parse` reads it: what serde_json refuses but
/// JSON.parse takes (a lone surrogate, a number too large for a double, nesting deeper than
/// 128) is read through [`crate::jsparse::reading`], whose text has the same offsets, so an
/// error still names the file's own line and column. A key written twice takes its last
/// value (serde_json's maps keep the last, as JSON.parse does).
fn read_value(body: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(body).or_else(|refused| {
        match crate::jsparse::reading(body, Some(crate::jsparse::READ_DEPTH)) {
            Some(text) => serde_json::from_str(&text),
            None => Err(refused),
        }
    })
}

/// The text of a new settings file holding only `env.key = value`.
pub fn new_document(key: &str, value: &str) -> String {
    format!("{{\n  \"env\": {{\n    {}: {}\n  }}\n}}\n", json_string(key), json_string(value))
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// Sets `env[key]` to the JSON string `value` in `text`.
pub fn set_env_string(text: &str, key: &str, value: &str) -> Result<Edit, EditError> {
    let (doc, body) = parse(text)?;
    let bom = &text[..text.len() - body.len()];
    if body.trim().is_empty() {
        return Ok(Edit { text: format!("{bom}{}", new_document(key, value)), old: None, changed: true });
    }
    let wanted = Value::String(value.to_string());
    let old_value = doc.get("env").and_then(|e| e.get(key));
    if old_value == Some(&wanted) {
        let old = old_value.map(|_| json_string(value));
        return Ok(Edit { text: text.to_string(), old, changed: false });
    }

    let s = body.as_bytes();
    let top_open = skip_ws(s, 0);
    let top = object(s, top_open).ok_or(EditError::Internal("cannot locate the top-level object"))?;
    let style = Style::of(body, &top);
    let member = |k: &str, v: &str| format!("{}{}{}", json_string(k), style.colon, v);

    let (new_body, old) = match top.last(body, "env") {
        Some(env_member) => {
            let env = object(s, env_member.value.0).ok_or(EditError::Internal("cannot locate `env`"))?;
            match env.last(body, key) {
                Some(m) => {
                    let old = body[m.value.0..m.value.1].to_string();
                    (splice(body, m.value.0, m.value.1, &json_string(value)), Some(old))
                }
                None => (insert(body, &env, &style, &member(key, &json_string(value))), None),
            }
        }
        None => {
            let inner = member(key, &json_string(value));
            let depth = style.indent_of_line(body, top.open) + &style.unit;
            let env_text = if style.pretty {
                format!("{{{nl}{depth}{unit}{inner}{nl}{depth}}}", nl = style.newline, unit = style.unit)
            } else {
                format!("{{{inner}}}")
            };
            (insert(body, &top, &style, &member("env", &env_text)), None)
        }
    };
    // The file's own ending is kept: a file without a final newline stays without one.
    let new_text = format!("{bom}{new_body}");
    verify(&doc, &new_text, key, wanted)?;
    Ok(Edit { text: new_text, old, changed: true })
}

/// The edited text must parse to the original document with exactly the one change.
fn verify(doc: &serde_json::Map<String, Value>, new_text: &str, key: &str, wanted: Value) -> Result<(), EditError> {
    let mut expected = doc.clone();
    let env = expected.entry("env").or_insert_with(|| Value::Object(serde_json::Map::new()));
    env.as_object_mut().ok_or(EditError::Internal("`env` changed kind"))?.insert(key.to_string(), wanted);
    match parse(new_text) {
        Ok((got, _)) if got == expected => Ok(()),
        _ => Err(EditError::Internal("the edited file would not hold exactly the one change")),
    }
}

fn splice(body: &str, from: usize, to: usize, with: &str) -> String {
    let mut s = String::with_capacity(body.len() + with.len());
    s.push_str(&body[..from]);
    s.push_str(with);
    s.push_str(&body[to..]);
    s
}

/// Adds `member` as the last member of `obj`, in the object's own layout.
fn insert(body: &str, obj: &Object, style: &Style, member: &str) -> String {
    match obj.members.last() {
        Some(last) => {
            let first = &obj.members[0];
            let lead = &body[obj.open + 1..first.key.0];
            let sep = match lead.rfind('\n') {
                Some(i) => format!(",{}{}", style.newline, &lead[i + 1..]),
                None => format!(",{}", style.space),
            };
            splice(body, last.value.1, last.value.1, &format!("{sep}{member}"))
        }
        None if style.pretty => {
            let close_indent = style.indent_of_line(body, obj.open);
            let text =
                format!("{nl}{close_indent}{unit}{member}{nl}{close_indent}", nl = style.newline, unit = style.unit);
            splice(body, obj.open + 1, obj.close, &text)
        }
        None => splice(body, obj.open + 1, obj.close, member),
    }
}

/// How the file is laid out, read off its top-level object.
struct Style {
    /// Members on their own lines.
    pretty: bool,
    /// One level of indentation.
    unit: String,
    newline: &'static str,
    /// What follows `:` and `,` on one line.
    colon: &'static str,
    space: &'static str,
}

impl Style {
    fn of(body: &str, top: &Object) -> Self {
        let newline = if body.contains("\r\n") { "\r\n" } else { "\n" };
        let (pretty, unit) = match top.members.first() {
            Some(m) => {
                let lead = &body[top.open + 1..m.key.0];
                match lead.rfind('\n') {
                    Some(i) => (true, lead[i + 1..].to_string()),
                    None => (false, "  ".to_string()),
                }
            }
            None => (body.contains('\n'), "  ".to_string()),
        };
        let unit = if unit.is_empty() { "  ".to_string() } else { unit };
        let compact = top.members.first().is_some_and(|m| {
            let between = &body[m.key.1..m.value.0];
            between.trim() == ":" && between.len() == 1
        });
        let (colon, space) = if compact { (":", "") } else { (": ", " ") };
        Self { pretty, unit, newline, colon, space }
    }

    /// The leading whitespace of the line holding byte `at`.
    fn indent_of_line(&self, body: &str, at: usize) -> String {
        let start = body[..at].rfind('\n').map_or(0, |i| i + 1);
        body[start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect()
    }
}

/// A member's key and value as byte spans (`[start, end)`) of the text.
#[derive(Debug)]
struct Member {
    key: (usize, usize),
    value: (usize, usize),
}

#[derive(Debug)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

impl Object {
    /// The last member named `name` (the one JSON parsers keep).
    fn last(&self, body: &str, name: &str) -> Option<&Member> {
        self.members
            .iter()
            .rev()
            .find(|m| serde_json::from_str::<String>(&body[m.key.0..m.key.1]).is_ok_and(|k| k == name))
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (a `"`).
fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end of the value starting at `i`. Nested values are skipped with a depth counter, not
/// recursion, so deep nesting costs no stack.
fn value_end(s: &[u8], i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => string_end(s, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => {
                        j = string_end(s, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < s.len() && !matches!(s[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The members of the object whose `{` is at `open`, in text order.
fn object(s: &[u8], open: usize) -> Option<Object> {
    if s.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = skip_ws(s, open + 1);
    if s.get(i) == Some(&b'}') {
        return Some(Object { open, close: i, members });
    }
    loop {
        let key_end = string_end(s, i)?;
        let colon = skip_ws(s, key_end);
        if s.get(colon) != Some(&b':') {
            return None;
        }
        let v = skip_ws(s, colon + 1);
        let v_end = value_end(s, v)?;
        members.push(Member { key: (i, key_end), value: (v, v_end) });
        let next = skip_ws(s, v_end);
        match s.get(next) {
            Some(b',') => i = skip_ws(s, next + 1),
            Some(b'}') => return Some(Object { open, close: next, members }),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "CLAUDE_CODE_MAX_OUTPUT_TOKENS";

    fn set(text: &str) -> String {
        set_env_string(text, K, "6000").unwrap().text
    }

    #[test]
    fn replaces_only_the_value() {
        let text = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"ANTHROPIC_API_KEY\": \"sk-x\",\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000,\n    \"Z\": 1.0\n  },\n  \"hooks\": {}\n}\n";
        let e = set_env_string(text, K, "6000").unwrap();
        assert_eq!(e.text, text.replace("32000", "\"6000\""));
        assert_eq!(e.old.as_deref(), Some("32000"));
        assert!(e.changed);
    }

    #[test]
    fn same_value_is_no_change() {
        let text = "{\"env\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"6000\"}}";
        let e = set_env_string(text, K, "6000").unwrap();
        assert!(!e.changed);
        assert_eq!(e.text, text);
        // A number with the same digits is still changed: Claude Code 2.1.94 crashed on numbers.
        assert!(set_env_string("{\"env\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":6000}}", K, "6000").unwrap().changed);
    }

    #[test]
    fn adds_the_key_after_the_last_env_member_with_its_indent() {
        let text = "{\n  \"env\": {\n    \"A\": \"1\"\n  },\n  \"x\": [1, 2]\n}\n";
        assert_eq!(
            set(text),
            "{\n  \"env\": {\n    \"A\": \"1\",\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\n  },\n  \"x\": [1, 2]\n}\n"
        );
    }

    #[test]
    fn fills_an_empty_env() {
        assert_eq!(
            set("{\n  \"env\": {},\n  \"a\": 1\n}\n"),
            "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\n  },\n  \"a\": 1\n}\n"
        );
    }

    #[test]
    fn adds_env_at_the_end_of_the_file_object() {
        assert_eq!(
            set("{\n    \"a\": {\"b\": \"}\"}\n}"),
            "{\n    \"a\": {\"b\": \"}\"},\n    \"env\": {\n        \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\n    }\n}"
        );
        assert_eq!(set("{}\n"), "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\n  }\n}\n");
        assert_eq!(set("{}"), "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"}}");
    }

    #[test]
    fn keeps_a_compact_one_line_layout() {
        assert_eq!(set("{\"a\":1}"), "{\"a\":1,\"env\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"6000\"}}");
        assert_eq!(set("{\"env\": {\"A\": 1}}"), "{\"env\": {\"A\": 1, \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"}}");
    }

    #[test]
    fn crlf_bom_and_tabs_are_kept() {
        let text = "\u{feff}{\r\n\t\"env\": {\r\n\t\t\"A\": \"1\"\r\n\t}\r\n}\r\n";
        assert_eq!(
            set(text),
            "\u{feff}{\r\n\t\"env\": {\r\n\t\t\"A\": \"1\",\r\n\t\t\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\r\n\t}\r\n}\r\n"
        );
    }

    #[test]
    fn escaped_keys_and_duplicates_edit_the_member_parsers_keep() {
        // `\u0065nv` is `env`; the last of duplicate keys is the one that counts.
        let text = "{\"env\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"1\"},\"\\u0065nv\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"2\"}}\n";
        let e = set_env_string(text, K, "6000").unwrap();
        assert_eq!(e.old.as_deref(), Some("\"2\""));
        assert_eq!(e.text, text.replace("\"2\"", "\"6000\""));
    }

    #[test]
    fn empty_text_becomes_a_new_document() {
        assert_eq!(set(""), new_document(K, "6000"));
        assert_eq!(set(" \n"), new_document(K, "6000"));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(matches!(set_env_string("{\"a\":", K, "1"), Err(EditError::NotJson(_))));
        assert_eq!(set_env_string("[1]", K, "1"), Err(EditError::NotObject("an array")));
        assert_eq!(set_env_string("{\"env\":\"x\"}", K, "1"), Err(EditError::EnvNotObject("a string")));
        assert_eq!(set_env_string("{\"env\":null}", K, "1"), Err(EditError::EnvNotObject("null")));
        // Nested far deeper than serde_json goes, and still broken: refused.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(99_999));
        assert!(matches!(set_env_string(&deep, K, "1"), Err(EditError::NotJson(_))));
    }

    /// What JSON.parse reads and serde_json refuses (Claude Code reads the file, so ccdoctor
    /// must): a lone surrogate, numbers too large for a double, nesting 100,000 deep. Edited,
    /// every other byte kept.
    #[test]
    fn what_json_parse_reads_is_edited_in_place() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for text in [
            "{\"permissions\": {\"allow\": [\"Bash(echo \\ud83d)\"]}, \"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000}}",
            "{\"n\": 1e400, \"m\": -1e400, \"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000}}",
            &format!("{{\"a\": {deep}, \"env\": {{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000}}}}"),
        ] {
            let e = set_env_string(text, K, "6000").unwrap_or_else(|e| panic!("{e}: {}", &text[..60]));
            assert_eq!(e.text, text.replace("32000", "\"6000\""));
            assert_eq!(e.old.as_deref(), Some("32000"));
        }
        // An error still names the file's own line and column.
        let text = "{\n  \"a\": \"\\ud83d\",\n  \"b\": 1e400 x\n}";
        assert_eq!(set_env_string(text, K, "1"), Err(EditError::NotJson("syntax error at line 3, column 14".into())));
    }

    #[test]
    fn numbers_and_escapes_elsewhere_are_untouched() {
        let text = "{\"n\": 1e400, \"f\": 1.50, \"s\": \"\\u00e9\\n\", \"big\": 123456789012345678901234567890}";
        // 1e400 does not fit a double: JSON.parse reads Infinity, and the editor keeps it.
        assert_eq!(
            set(text),
            "{\"n\": 1e400, \"f\": 1.50, \"s\": \"\\u00e9\\n\", \"big\": 123456789012345678901234567890, \"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"}}"
        );
        let text = "{\"f\": 1.50, \"s\": \"\\u00e9\\n\"}";
        assert_eq!(
            set(text),
            "{\"f\": 1.50, \"s\": \"\\u00e9\\n\", \"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"}}"
        );
    }
}
