//! One telemetry event as named fields, whichever form it came in: an OTLP log record
//! (`attributes: [{key, value: {stringValue | intValue | …}}]`), a flat JSON object, or a CSV
//! row whose header names the attributes.

use std::borrow::Cow;
use std::fmt;

use foldhash::HashMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::scan::line::{Scalar, flat_object};

/// A field's value. OTLP JSON writes 64-bit integers as strings (`"intValue": "512"`) and
/// some exporters as numbers; flat forms write whatever their warehouse did. Numbers are
/// read from any of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An array, a map or null: present, but of no use here.
    Other,
}

impl Val<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative whole number, from a number or a numeric string (`"512"`, `"512.0"`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Val::Int(i) => u64::try_from(*i).ok(),
            Val::Float(f) if f.is_finite() && *f >= 0.0 && *f < 1.8e19 => Some(f.round() as u64),
            Val::Str(s) => {
                let s = s.trim();
                s.parse::<u64>().ok().or_else(|| Val::Float(s.parse::<f64>().ok()?).as_u64())
            }
            _ => None,
        }
    }
}

/// An event's fields, in the order read (a later duplicate key wins on lookup, so a record's
/// own attributes override its resource's).
///
/// The fields an OTLP resource gives every record under it are [`shared`](Fields::share):
/// indexed by key once, so that each record's lookups cost the same however many
/// attributes its resource has (a search through them for every lookup of every record made
/// time grow with records × resource attributes).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields<'a> {
    pairs: Vec<(Cow<'a, str>, Val<'a>)>,
    /// The first `shared` pairs are the shared ones, found through `index`.
    shared: usize,
    /// Each shared key's last pair.
    index: HashMap<Cow<'a, str>, usize>,
}

impl<'a> Fields<'a> {
    pub fn push(&mut self, key: Cow<'a, str>, val: Val<'a>) {
        self.pairs.push((key, val));
    }

    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        let own = self.pairs[self.shared..].iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
        own.or_else(|| self.index.get(key).map(|&i| &self.pairs[i].1))
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Val::as_str).filter(|s| !s.is_empty())
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Val::as_u64)
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Forgets every field, shared ones too.
    pub fn clear(&mut self) {
        self.pairs.clear();
        self.index.clear();
        self.shared = 0;
    }

    /// Makes the fields so far shared by the events read next (a resource's attributes):
    /// indexed once.
    pub fn share(&mut self) {
        self.index.clear();
        for (i, (k, _)) in self.pairs.iter().enumerate() {
            self.index.insert(k.clone(), i);
        }
        self.shared = self.pairs.len();
    }

    /// Forgets the fields of the last event, keeping the shared ones.
    pub fn keep_shared(&mut self) {
        self.pairs.truncate(self.shared);
    }

    /// Renames the keys `rename` gives another name (each key is looked at once).
    pub fn rename_keys(&mut self, rename: impl Fn(&str) -> Option<&'static str>) {
        for (k, _) in &mut self.pairs {
            if let Some(to) = rename(k) {
                *k = Cow::Borrowed(to);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// OTLP JSON: one `ExportLogsServiceRequest` a line.

/// `{resourceLogs: [{resource: {attributes}, scopeLogs: [{logRecords: [...]}]}]}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Export<'a> {
    #[serde(borrow, default)]
    pub resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceLogs<'a> {
    #[serde(borrow, default)]
    pub resource: Option<Resource<'a>>,
    #[serde(borrow, default)]
    pub scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize)]
pub struct Resource<'a> {
    #[serde(borrow, default)]
    pub attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeLogs<'a> {
    #[serde(borrow, default)]
    pub log_records: Vec<LogRecord<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRecord<'a> {
    #[serde(default)]
    pub time_unix_nano: Option<Nanos>,
    #[serde(default)]
    pub observed_time_unix_nano: Option<Nanos>,
    #[serde(borrow, default)]
    pub body: Option<AnyValue<'a>>,
    /// Left unparsed until the body says the event is one ccdoctor reads: most events of an
    /// export (`tool_result`, `user_prompt`, …) are only counted.
    #[serde(borrow, default)]
    pub attributes: Option<&'a serde_json::value::RawValue>,
}

impl<'a> LogRecord<'a> {
    /// The record's attributes.
    pub fn attributes(&self) -> Result<Vec<KeyValue<'a>>, serde_json::Error> {
        match self.attributes {
            Some(raw) => serde_json::from_str(raw.get()),
            None => Ok(Vec::new()),
        }
    }
}

#[derive(Deserialize)]
pub struct KeyValue<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(borrow, default)]
    pub value: Option<AnyValue<'a>>,
}

/// OTLP's `AnyValue`: one of its fields is set.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AnyValue<'a> {
    #[serde(borrow, default)]
    pub string_value: Option<Cow<'a, str>>,
    #[serde(default)]
    pub int_value: Option<Number>,
    #[serde(default)]
    pub double_value: Option<Number>,
    #[serde(default)]
    pub bool_value: Option<bool>,
}

impl<'a> AnyValue<'a> {
    pub fn into_val(self) -> Val<'a> {
        if let Some(s) = self.string_value {
            Val::Str(s)
        } else if let Some(n) = self.int_value.or(self.double_value) {
            n.0
        } else if let Some(b) = self.bool_value {
            Val::Bool(b)
        } else {
            Val::Other
        }
    }
}

/// A number written as a JSON number or as a string.
pub struct Number(Val<'static>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(Val::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(unsigned(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(Val::Float(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                let t = v.trim();
                match (t.parse::<i64>(), t.parse::<f64>()) {
                    (Ok(i), _) => Ok(Number(Val::Int(i))),
                    (_, Ok(f)) => Ok(Number(Val::Float(f))),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Nanoseconds since the epoch, as a string (OTLP JSON) or a number.
pub struct Nanos(pub Option<u64>);

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(d)?;
        Ok(Nanos(n.0.as_u64().filter(|&n| n > 0)))
    }
}

impl Nanos {
    pub fn millis(&self) -> Option<i64> {
        self.0.and_then(|n| i64::try_from(n / 1_000_000).ok())
    }
}

// ---------------------------------------------------------------------------------------
// Flat JSON: one object a line, the attribute names as keys.

/// A flat JSON object's fields, strings borrowed where they need no unescaping.
pub struct FlatObject<'a>(pub Fields<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for FlatObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FlatObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<FlatObject<'a>, M::Error> {
                let mut fields = Fields::default();
                while let Some(FlatKey(key)) = map.next_key::<FlatKey<'de>>()? {
                    let val = map.next_value::<FlatValue<'de>>()?;
                    fields.push(key, val.0);
                }
                Ok(FlatObject(fields))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> FlatObject<'a> {
    /// The line read by the transcripts' fast reader ([`flat_object`]), the same fields
    /// serde_json would give; `None` for a line it leaves to serde_json (any it cannot read
    /// as serde_json would, and every line serde_json refuses).
    pub fn skim(line: &'a str) -> Option<Self> {
        // Room for a telemetry event's usual fields (about twenty), made once.
        let mut fields = Fields { pairs: Vec::with_capacity(24), ..Fields::default() };
        flat_object(line, |key, value| {
            let val = match value {
                Scalar::Str(s) => Val::Str(s),
                Scalar::Count(n) => unsigned(n),
                // serde_json reads the number as it would inside the object.
                Scalar::Number(text) => serde_json::from_str::<FlatValue>(text).ok()?.0,
                Scalar::Bool(b) => Val::Bool(b),
                Scalar::Other => Val::Other,
            };
            fields.push(Cow::Borrowed(key), val);
            Some(())
        })?;
        Some(FlatObject(fields))
    }
}

/// An unsigned integer as serde_json hands it over: a float beyond `i64`.
fn unsigned(v: u64) -> Val<'static> {
    i64::try_from(v).map_or(Val::Float(v as f64), Val::Int)
}

/// A key, borrowed from the line where it needs no unescaping (serde's own `Cow` is always
/// a new `String`: an allocation for every key of every event; `borrow` asks for its
/// borrowing visitor).
#[derive(Deserialize)]
#[serde(transparent)]
struct FlatKey<'a>(#[serde(borrow)] Cow<'a, str>);

struct FlatValue<'a>(Val<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for FlatValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FlatValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Str(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Str(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Str(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(unsigned(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Float(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Other))
            }
            fn visit_none<E: de::Error>(self) -> Result<FlatValue<'a>, E> {
                Ok(FlatValue(Val::Other))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<FlatValue<'a>, S::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(FlatValue(Val::Other))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<FlatValue<'a>, M::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(FlatValue(Val::Other))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_from_numbers_and_strings() {
        let line = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1780000000123000000","attributes":[
            {"key":"a","value":{"intValue":"512"}},{"key":"b","value":{"intValue":512}},
            {"key":"c","value":{"stringValue":"512"}},{"key":"d","value":{"doubleValue":511.6}},
            {"key":"e","value":{"arrayValue":{"values":[]}}}]}]}]}]}"#;
        let export: Export = serde_json::from_str(line).unwrap();
        let record = export.resource_logs.into_iter().next().unwrap().scope_logs.into_iter().next().unwrap();
        let record = record.log_records.into_iter().next().unwrap();
        assert_eq!(record.time_unix_nano.as_ref().unwrap().millis(), Some(1_780_000_000_123));
        let mut f = Fields::default();
        for kv in record.attributes().unwrap() {
            f.push(kv.key, kv.value.unwrap_or_default().into_val());
        }
        assert_eq!([f.u64("a"), f.u64("b"), f.u64("c"), f.u64("d")], [Some(512); 4]);
        assert_eq!(f.get("e"), Some(&Val::Other));
        assert_eq!(f.u64("e"), None);
    }

    #[test]
    fn a_flat_object_keeps_names_and_values() {
        let line =
            r#"{"event.name":"api_request","input_tokens":"12","output_tokens":7,"x":[1,{"y":2}],"n":null,"s":"a\"b"}"#;
        let FlatObject(f) = serde_json::from_str(line).unwrap();
        assert_eq!(f.str("event.name"), Some("api_request"));
        assert_eq!((f.u64("input_tokens"), f.u64("output_tokens")), (Some(12), Some(7)));
        assert_eq!(f.str("s"), Some("a\"b"));
        assert_eq!(f.get("x"), Some(&Val::Other));
        assert_eq!(f.len(), 6);
    }

    /// The fast reader gives serde_json's fields, numbers at the edges of their types too, and
    /// leaves to serde_json what it cannot read as serde_json does.
    #[test]
    fn the_fast_reader_gives_serde_jsons_fields() {
        let read = [
            r#"{"event_name":"api_request","input_tokens":5,"cost_usd":"0.0587","success":"true"}"#,
            r#" { "a" : -0 , "b":-1, "c":1.5, "d":2E-3, "e":18446744073709551615, "f":9223372036854775808 } "#,
            r#"{"g":99999999999999999999,"h":-9223372036854775809,"i":0,"j":1e2,"k":-2.5e+1}"#,
            r#"{"s":"a\"b\u00e9\n","t":true,"u":false,"n":null,"x":[1,{"y":[]}],"o":{},"s":"again"}"#,
            "{}",
        ];
        for line in read {
            let FlatObject(fast) = FlatObject::skim(line).unwrap_or_else(|| panic!("left to serde_json: {line}"));
            let FlatObject(plain) = serde_json::from_str(line).unwrap();
            assert_eq!(fast, plain, "{line}");
        }
        let FlatObject(f) = FlatObject::skim(read[1]).unwrap();
        assert_eq!(f.get("e"), Some(&Val::Float(18446744073709551615.0)));
        assert_eq!((f.get("b"), f.get("c")), (Some(&Val::Int(-1)), Some(&Val::Float(1.5))));
        let deep = format!(r#"{{"deep":{}{}}}"#, "[".repeat(70), "]".repeat(70));
        let left = [
            // Read by serde_json, not by the fast reader.
            r#"{"k\u0065y":1}"#,
            r#"{"s":"\ud83d\ude00"}"#,
            deep.as_str(),
            // Refused by serde_json.
            r#"{"n":1e400}"#,
            r#"{"a":1} x"#,
            r#"["not", "an object"]"#,
            r#"{"a":01}"#,
            "{\"tab\":\"a\tb\"}",
            r#"{"a":1,}"#,
        ];
        for line in left {
            assert!(FlatObject::skim(line).is_none(), "{line}");
        }
        assert!(
            serde_json::from_str::<FlatObject>(left[0]).is_ok() && serde_json::from_str::<FlatObject>(left[3]).is_err()
        );
    }

    /// Keys are borrowed from the line unless they hold an escape, which is read as written.
    #[test]
    fn a_flat_objects_keys_are_borrowed_where_they_can_be() {
        let line = r#"{"plain":1,"esc\u0061ped":2,"q\"uote":3}"#;
        let FlatObject(f) = serde_json::from_str(line).unwrap();
        assert_eq!((f.u64("plain"), f.u64("escaped"), f.u64("q\"uote")), (Some(1), Some(2), Some(3)));
        let borrowed: Vec<bool> = f.pairs.iter().map(|(k, _)| matches!(k, Cow::Borrowed(_))).collect();
        assert_eq!(borrowed, [true, false, false]);
        let mut f = f;
        f.rename_keys(|k| (k == "plain").then_some("renamed"));
        assert_eq!((f.u64("renamed"), f.u64("plain"), f.u64("escaped")), (Some(1), None, Some(2)));
    }

    /// A record's own field wins over its resource's, a later duplicate over an earlier one,
    /// and the shared fields stay for the next record.
    #[test]
    fn shared_fields_are_found_beneath_a_records_own() {
        let mut f = Fields::default();
        f.push("model".into(), Val::Str("resource".into()));
        f.push("a".into(), Val::Int(1));
        f.push("a".into(), Val::Int(2));
        f.share();
        assert_eq!(f.get("a"), Some(&Val::Int(2)));
        f.push("model".into(), Val::Str("record".into()));
        assert_eq!((f.str("model"), f.u64("a")), (Some("record"), Some(2)));
        f.keep_shared();
        assert_eq!((f.str("model"), f.len()), (Some("resource"), 3));
        f.clear();
        assert_eq!((f.get("a"), f.len()), (None, 0));
    }

    #[test]
    fn negative_and_odd_numbers_are_not_token_counts() {
        assert_eq!(Val::Int(-3).as_u64(), None);
        assert_eq!(Val::Float(f64::NAN).as_u64(), None);
        assert_eq!(Val::Str("twelve".into()).as_u64(), None);
        assert_eq!(Val::Str(" 40 ".into()).as_u64(), Some(40));
    }
}
