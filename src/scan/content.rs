//! The size of a message's `content`, measured while it is parsed: no string is copied (an
//! escaped string is unescaped into the parser's scratch buffer and only counted), no block
//! is kept. This is the bulk of an assistant line, so it is read once.
//!
//! What counts (see `estimate.rs`): the characters of text and thinking blocks, and of a tool
//! call's name and raw JSON input, plus the number of tool calls. A string content counts its
//! characters. Anything else (a number, an object, an array holding a non-object, a block
//! whose text is not a string) cannot be measured: the size is zero, and the line still
//! counts. A key a block writes twice takes its last value, as in JSON.parse.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::estimate::ContentSize;

/// A `content` value's size; zero when it cannot be measured.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Content(pub ContentSize);

/// Characters of a string (what the estimate counts).
pub(crate) fn chars(s: &str) -> u64 {
    s.chars().count() as u64
}

/// A block field's last value: not met, met with a value it is measured by, or met with one
/// that cannot be measured.
#[derive(Debug, Default)]
pub(crate) enum Field<T> {
    #[default]
    Absent,
    Measured(T),
    Unmeasurable,
}

impl<T> From<Option<T>> for Field<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Unmeasurable, Field::Measured)
    }
}

impl<T> Field<T> {
    /// `None` when it cannot be measured; `Some(None)` when absent.
    fn value(self) -> Option<Option<T>> {
        match self {
            Field::Absent => Some(None),
            Field::Measured(v) => Some(Some(v)),
            Field::Unmeasurable => None,
        }
    }
}

/// The fields of a block that count, each its last value (a key written twice takes its last
/// value, as in JSON.parse). Filled by the serde reading ([`Content`]) and by the fast path's
/// hand-written one alike.
#[derive(Debug, Default)]
pub(crate) struct BlockFields<'a> {
    /// `type`: a string, or `null` (measured as no type).
    pub kind: Field<Option<Cow<'a, str>>>,
    pub text: Field<u64>,
    pub thinking: Field<u64>,
    pub name: Field<u64>,
    /// The raw input's characters (any JSON value is measured).
    pub input: Option<u64>,
}

impl BlockFields<'_> {
    /// The block's size: a tool call counts its name and raw input, any other block its text
    /// and thinking; `None` when a field it has cannot be measured.
    pub fn size(self) -> Option<ContentSize> {
        let kind = self.kind.value()?.flatten();
        let (text, thinking, name) = (self.text.value()?, self.thinking.value()?, self.name.value()?);
        let n = |x: Option<u64>| x.unwrap_or(0);
        Some(match kind.as_deref() {
            Some("tool_use" | "server_tool_use") => ContentSize { chars: n(name) + n(self.input), tool_uses: 1 },
            _ => ContentSize { chars: n(text) + n(thinking), tool_uses: 0 },
        })
    }
}

/// A running total of blocks: one block that cannot be measured spoils it.
pub(crate) fn add_block(total: Option<ContentSize>, block: Option<ContentSize>) -> Option<ContentSize> {
    match (total, block) {
        (Some(mut t), Some(b)) => {
            t += b;
            Some(t)
        }
        _ => None,
    }
}

/// Visitor methods that consume a number, a boolean or `null` and return `None`.
macro_rules! reject_scalars {
    ($t:ty) => {
        fn visit_bool<E>(self, _: bool) -> Result<$t, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$t, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$t, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$t, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<$t, E> {
            Ok(None)
        }
    };
}

/// The same for an array (its elements are consumed).
macro_rules! reject_arrays {
    ($t:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<$t, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

/// The same for an object.
macro_rules! reject_maps {
    ($t:ty) => {
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<$t, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

/// Anything but a string.
macro_rules! reject_all {
    ($t:ty) => {
        reject_scalars!($t);
        reject_arrays!($t);
        reject_maps!($t);
    };
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<ContentSize>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("message content")
            }
            fn visit_str<E>(self, s: &str) -> Result<Option<ContentSize>, E> {
                Ok(Some(ContentSize { chars: chars(s), tool_uses: 0 }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Option<ContentSize>, A::Error> {
                let mut total = Some(ContentSize::default());
                while let Some(block) = a.next_element::<Block>()? {
                    total = add_block(total, block.0);
                }
                Ok(total)
            }
            reject_scalars!(Option<ContentSize>);
            reject_maps!(Option<ContentSize>);
        }
        d.deserialize_any(V).map(|size| Content(size.unwrap_or_default()))
    }
}

/// A string field read leniently: `Some(None)` for `null`, `Some(Some(s))` for a string,
/// `None` for any other value (consumed, so parsing goes on).
struct Lenient<'de>(Option<Option<Cow<'de, str>>>);

impl<'de> Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Cow<'de, str>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Some(Cow::Owned(s.to_string())))
            }
            reject_all!(Option<Cow<'de, str>>);
        }
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<Option<Cow<'de, str>>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Some(None))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(V).map(|s| s.map(Some))
            }
        }
        d.deserialize_option(Opt).map(Lenient)
    }
}

/// A string's character count without keeping the string: `Some(0)` for `null`, `None` for
/// any other value.
struct Chars(Option<u64>);

impl<'de> Deserialize<'de> for Chars {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_str<E>(self, s: &str) -> Result<Option<u64>, E> {
                Ok(Some(chars(s)))
            }
            reject_all!(Option<u64>);
        }
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_none<E>(self) -> Result<Option<u64>, E> {
                Ok(Some(0))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_option(Opt).map(Chars)
    }
}

/// One content block's size; `None` when it cannot be measured.
struct Block(Option<ContentSize>);

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<ContentSize>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a content block")
            }
            fn visit_str<E>(self, _: &str) -> Result<Option<ContentSize>, E> {
                Ok(None)
            }
            reject_scalars!(Option<ContentSize>);
            reject_arrays!(Option<ContentSize>);
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Option<ContentSize>, A::Error> {
                let mut f = BlockFields::default();
                while let Some(key) = a.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "type" => f.kind = a.next_value::<Lenient<'de>>()?.0.into(),
                        "input" => f.input = Some(chars(a.next_value::<&'de RawValue>()?.get())),
                        "text" => f.text = a.next_value::<Chars>()?.0.into(),
                        "thinking" => f.thinking = a.next_value::<Chars>()?.0.into(),
                        "name" => f.name = a.next_value::<Chars>()?.0.into(),
                        _ => {
                            a.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(f.size())
            }
        }
        d.deserialize_any(V).map(Block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(json: &str) -> ContentSize {
        serde_json::from_str::<Content>(json).expect("valid JSON").0
    }

    #[test]
    fn counts_text_thinking_and_tool_calls() {
        assert_eq!(size(r#""héllo""#), ContentSize { chars: 5, tool_uses: 0 });
        assert_eq!(size(r#""a\nb\u00e9""#), ContentSize { chars: 4, tool_uses: 0 });
        let blocks = r#"[{"type":"thinking","thinking":"abc","signature":"zzzz"},
            {"type":"text","text":"hi\n"},
            {"type":"tool_use","id":"t","name":"Bash","input":{"a":1}},
            {"input":{"b":"é"},"name":"Web","type":"server_tool_use"}]"#;
        // 3 + 3 + (4 + 7) + (3 + 9); two tool calls.
        assert_eq!(size(blocks), ContentSize { chars: 29, tool_uses: 2 });
        assert_eq!(size(r#"[{"type":null,"text":null},{"text":"ab"}]"#), ContentSize { chars: 2, tool_uses: 0 });
    }

    #[test]
    fn unmeasurable_content_is_zero_not_an_error() {
        for json in [
            "5",
            "null",
            "true",
            r#"{"text":"abc"}"#,
            r#"[{"text":"abc"}, 7]"#,
            r#"[{"text":"abc"}, "x"]"#,
            r#"[{"text":1}]"#,
            r#"[{"text":"a","text":2}]"#,
            r#"[{"type":"text","type":7,"text":"a"}]"#,
        ] {
            assert_eq!(size(json), ContentSize::default(), "{json}");
        }
        // Invalid JSON inside content is still an error for the line.
        assert!(serde_json::from_str::<Content>(r#"[{"text":"a"]"#).is_err());
    }

    /// A key a block writes twice takes its last value, as in JSON.parse.
    #[test]
    fn a_repeated_key_takes_its_last_value() {
        assert_eq!(size(r#"[{"text":"a","text":"bcd"}]"#), ContentSize { chars: 3, tool_uses: 0 });
        assert_eq!(size(r#"[{"text":2,"text":"bc"}]"#), ContentSize { chars: 2, tool_uses: 0 });
        assert_eq!(size(r#"[{"type":"tool_use","input":1,"input":[1,2]}]"#), ContentSize { chars: 5, tool_uses: 1 });
        assert_eq!(
            size(r#"[{"type":"tool_use","name":"ab","type":"text","text":"xyz"}]"#),
            ContentSize { chars: 3, tool_uses: 0 }
        );
    }
}
