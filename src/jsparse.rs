//! JSON as JavaScript's `JSON.parse` reads it, where serde_json would refuse it.
//!
//! Claude Code reads its transcripts (line by line) and its settings with `JSON.parse`, which
//! takes three things serde_json refuses:
//!
//! - a `\u` escape of a lone surrogate (`"ok \ud83d"`: Node's `JSON.stringify` writes one
//!   when a text was cut in the middle of an emoji); JSON.parse keeps it in the string;
//! - a number too large for a double (`1e400`, 400 digits): JSON.parse reads `Infinity`;
//! - nesting deeper than serde_json's limit of 128 (V8's parser is not recursive).
//!
//! [`reading`] rewrites a text serde_json refused into one it reads as JSON.parse does, of the
//! same length byte for byte, so that every offset, line and column stays where it was (and
//! a count of characters, where only ASCII replaces ASCII): a lone surrogate becomes
//! `\ufffd` (U+FFFD, the replacement character); an overflowing number becomes `1e308` (or
//! `-1e308`), its exponent padded with zeros to the number's length: a finite number larger
//! than any count, which reads as a count no more than `Infinity` does; and, when asked, a
//! container nested deeper than a depth is emptied (its bytes but line breaks become
//! spaces), once its text has been checked to be valid JSON, so that a text JSON.parse
//! refuses is still refused. Nothing here is recursive: a text nested 3,000,000 deep costs a
//! byte of memory a level and no stack.
//!
//! Callers try serde_json first and come here only with a text it refused, so the common
//! text pays nothing; serde_json then reads the rewritten text, and gives its own verdict on
//! anything else wrong with it.

/// Deepest nesting left as it is where [`reading`] is asked to empty deeper containers:
/// settings and models files, read into values serde_json builds recursively (its own limit
/// is 128). Nothing ccdoctor reads in them lies deeper than a few levels.
pub const READ_DEPTH: usize = 100;

/// The text rewritten so that serde_json reads it as JSON.parse does (see the module's
/// documentation), or `None` when nothing in it needs rewriting. `max_depth`: empty the
/// containers nested deeper (a text's top-level value is at depth 1).
pub fn reading(text: &str, max_depth: Option<usize>) -> Option<String> {
    let b = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut depth = 0usize;
    let mut emptying = max_depth;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = string(b, i, &mut out),
            b'{' | b'[' => {
                depth += 1;
                if let Some(max) = emptying
                    && depth > max
                {
                    match value_end(b, i) {
                        Some(end) => {
                            let o = out.get_or_insert_with(|| b.to_vec());
                            for x in &mut o[i + 1..end - 1] {
                                if !matches!(*x, b'\n' | b'\r') {
                                    *x = b' ';
                                }
                            }
                            depth -= 1;
                            i = end;
                            continue;
                        }
                        // Not valid JSON from here: serde_json refuses the text whatever is
                        // emptied, so nothing more is (and nothing is checked twice).
                        None => emptying = None,
                    }
                }
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => i = number(text, i, &mut out),
            _ => i += 1,
        }
    }
    // Only ASCII replaced whole ASCII runs or whole characters: still UTF-8.
    out.map(|o| String::from_utf8(o).expect("ASCII written over whole characters"))
}

/// The four hex digits at `at`, as a number.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, &h| Some(n * 16 + (h as char).to_digit(16)?))
}

/// Past the string that starts at `start` (a quote), its lone surrogate escapes written as
/// `\ufffd` in `out`. A text cut inside the string ends it.
fn string(b: &[u8], start: usize, out: &mut Option<Vec<u8>>) -> usize {
    let mut j = start + 1;
    while let Some(k) = b.get(j..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
        j += k;
        if b[j] == b'"' {
            return j + 1;
        }
        // A backslash: an escape of two bytes, or of six for `\uXXXX`.
        if b.get(j + 1) != Some(&b'u') {
            j += 2;
            continue;
        }
        let Some(code) = hex4(b, j + 2) else {
            j += 2;
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&code)
            && b.get(j + 6..j + 8) == Some(b"\\u")
            && hex4(b, j + 8).is_some_and(|low| (0xDC00..0xE000).contains(&low));
        if paired {
            j += 12;
            continue;
        }
        if (0xD800..0xE000).contains(&code) {
            out.get_or_insert_with(|| b.to_vec())[j + 2..j + 6].copy_from_slice(b"fffd");
        }
        j += 6;
    }
    b.len()
}

/// The end of the run of ASCII digits from `i`.
fn digits(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// The end of the JSON number at `i` (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or
/// `Err` with where reading it stopped when it is not one.
fn number_end(b: &[u8], start: usize) -> Result<usize, usize> {
    let mut i = start;
    if b[i] == b'-' {
        i += 1;
    }
    let int = digits(b, i);
    if int == i {
        return Err(i.max(start + 1));
    }
    // A leading zero is the whole integer part.
    i = if b[i] == b'0' { i + 1 } else { int };
    if b.get(i) == Some(&b'.') {
        let frac = digits(b, i + 1);
        if frac == i + 1 {
            return Err(frac);
        }
        i = frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut e = i + 1;
        if matches!(b.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp = digits(b, e);
        if exp == e {
            return Err(exp);
        }
        i = exp;
    }
    Ok(i)
}

/// Past the number at `start`, written as `1e308` of its length in `out` when it is too
/// large for serde_json (a double's range, with a margin: above 1e308 in size).
fn number(text: &str, start: usize, out: &mut Option<Vec<u8>>) -> usize {
    let b = text.as_bytes();
    let end = match number_end(b, start) {
        Ok(end) => end,
        Err(stop) => return stop,
    };
    let v: f64 = text[start..end].parse().unwrap_or(0.0);
    if v.is_finite() && v.abs() <= 1e308 {
        return end;
    }
    let negative = b[start] == b'-';
    let len = end - start;
    // Every number this large has at least five characters (`2e308`), six with a sign.
    let Some(zeros) = len.checked_sub(if negative { 6 } else { 5 }) else { return end };
    let mut with = Vec::with_capacity(len);
    if negative {
        with.push(b'-');
    }
    with.extend_from_slice(b"1e");
    with.resize(with.len() + zeros, b'0');
    with.extend_from_slice(b"308");
    out.get_or_insert_with(|| b.to_vec())[start..end].copy_from_slice(&with);
    end
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The end of the valid JSON string at `i` (a quote): no raw control character, every escape
/// one JSON has (surrogates alone included: JSON.parse takes them).
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    hex4(b, j + 2)?;
                    j += 6;
                }
                _ => return None,
            },
            0..=0x1f => return None,
            _ => j += 1,
        }
    }
}

/// Past a member's key and its colon, from `i` (after whitespace).
fn key_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let colon = ws(b, string_end(b, i)?);
    (b.get(colon) == Some(&b':')).then_some(colon + 1)
}

/// The end of the valid JSON value at `i`, checked without recursion (a stack of the
/// containers open), or `None` when it is not valid JSON.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    // The closing bracket of each container open.
    let mut open: Vec<u8> = Vec::new();
    let mut i = i;
    'value: loop {
        i = ws(b, i);
        match *b.get(i)? {
            c @ (b'{' | b'[') => {
                let close = if c == b'{' { b'}' } else { b']' };
                i = ws(b, i + 1);
                if *b.get(i)? == close {
                    i += 1;
                } else {
                    open.push(close);
                    if close == b'}' {
                        i = key_end(b, i)?;
                    }
                    continue 'value;
                }
            }
            b'"' => i = string_end(b, i)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => i = number_end(b, i).ok()?,
            _ => return None,
        }
        // After a value: close what ends here, then the next member or element.
        loop {
            let Some(&close) = open.last() else { return Some(i) };
            i = ws(b, i);
            match *b.get(i)? {
                b',' => {
                    i += 1;
                    if close == b'}' {
                        i = key_end(b, ws(b, i))?;
                    }
                    continue 'value;
                }
                c if c == close => {
                    open.pop();
                    i += 1;
                }
                _ => return None,
            }
        }
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b[i..].starts_with(word).then_some(i + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> String {
        reading(text, Some(3)).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let text =
            r#"{"a":"ok \ud83d","b":"\ud83d\ude00","c":"\uDE00\uD83D\uDE00\ud83d\n","d":"\\ud83d","e":"\ud83d\u0041"}"#;
        let got = read(text);
        assert_eq!(got.len(), text.len());
        assert_eq!(
            got,
            r#"{"a":"ok \ufffd","b":"\ud83d\ude00","c":"\ufffd\uD83D\uDE00\ufffd\n","d":"\\ud83d","e":"\ufffd\u0041"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["a"], "ok \u{fffd}");
        assert_eq!(v["b"], "\u{1f600}");
        assert_eq!(v["d"], "\\ud83d");
        // A pair is no lone surrogate, a text without one is not rewritten.
        assert_eq!(reading(r#"{"b":"\ud83d\ude00 é"}"#, None), None);
    }

    #[test]
    fn overflowing_numbers_become_1e308_of_their_length() {
        let nines = "9".repeat(400);
        let text = format!(r#"{{"a":1e400,"b":-1E+999,"c":[2e308,{nines}],"d":1e308,"e":1e-400,"f":"1e400"}}"#);
        let got = read(&text);
        assert_eq!(got.len(), text.len());
        let want = format!(
            r#"{{"a":1e308,"b":-1e0308,"c":[1e308,1e{}308],"d":1e308,"e":1e-400,"f":"1e400"}}"#,
            "0".repeat(395)
        );
        assert_eq!(got, want);
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["a"].as_f64(), Some(1e308));
        assert_eq!(v["b"].as_f64(), Some(-1e308));
        assert_eq!(v["e"].as_f64(), Some(0.0));
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "serde_json refuses the original");
    }

    #[test]
    fn containers_deeper_than_asked_are_emptied_when_valid() {
        let text = "{\"a\":[[[1,\n{\"x\":\"\u{e9}\\ud83d\"}]]],\"b\":2}";
        let got = read(text);
        assert_eq!(got.len(), text.len());
        assert_eq!(got, format!("{{\"a\":[[[  \n{}]]],\"b\":2}}", " ".repeat(16)));
        // Invalid inside: left for serde_json to refuse.
        let bad = "{\"a\":[[[1,,2]]],\"b\":1e400}";
        assert_eq!(reading(bad, Some(3)).as_deref(), Some("{\"a\":[[[1,,2]]],\"b\":1e308}"));
        for bad in ["[[[[1]]]", "[[[[\"\t\"]]]]", "[[[[01]]]]", "[[[[{\"a\" 1}]]]]", "[[[[tru]]]]", "[[[[\"\\x\"]]]]"] {
            let got = reading(bad, Some(3)).unwrap_or_else(|| bad.to_string());
            assert!(serde_json::from_str::<serde_json::Value>(&got).is_err(), "{bad}");
        }
        let good = "[[[[1, -0.5e-3, true, false, null, \"\\u00e9\\n\", {}, [], {\"a\" : [ ]}]]]]";
        assert_eq!(reading(good, Some(3)).as_deref(), Some(&*format!("[[[[{}]]]]", " ".repeat(good.len() - 8))));
    }

    #[test]
    fn millions_deep_costs_no_stack() {
        let n = 3_000_000;
        let deep = format!("{{\"a\":{}{},\"b\":\"\\ud800\"}}", "[".repeat(n), "]".repeat(n));
        let got = reading(&deep, Some(READ_DEPTH)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["b"], "\u{fffd}");
        // Unclosed: refused, in linear time.
        let open = "[".repeat(n);
        let got = reading(&open, Some(READ_DEPTH)).unwrap_or(open);
        assert!(serde_json::from_str::<serde_json::Value>(&got).is_err());
        // Cut after a backslash, in a number, in an escape.
        for cut in ["\"a\\", "\"\\u12", "\"\\ud83d", "-", "1e", "1.", "[\"\\"] {
            let _ = reading(cut, Some(1));
        }
        // Without a depth, nothing is emptied.
        assert_eq!(reading(&format!("[{}]", "[]".repeat(10)), None), None);
    }
}
