//! A line read as Claude Code reads it: with JavaScript's `JSON.parse`, where a key written
//! twice in one object takes its last value (ECMA-262; see
//! `testdata/error-texts/FACTS.md`, section 4).
//!
//! serde's derived structs refuse a repeated field ("duplicate field"). A text they refuse is
//! read again through [`LastWins`], a deserializer over serde_json that hands each object to
//! the struct with every repeated key but its last left out; the values are still read by
//! serde_json, from the same text, so strings stay borrowed from the line. Only a text the
//! plain reading refuses pays for the second one.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

type Result<T> = std::result::Result<T, serde_json::Error>;

/// Reads `text` as `T`, a repeated key taking its last value. A text that is not JSON, or not
/// of `T`'s shape even so, gets serde_json's own verdict on it.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).or_else(|refused| reread(text).map_err(|_| refused))
}

fn reread<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    let mut json = serde_json::Deserializer::from_str(text);
    let raw = <&RawValue>::deserialize(&mut json)?;
    json.end()?;
    T::deserialize(LastWins(raw.get()))
}

/// One JSON value's text, already known to be valid (a [`RawValue`]'s).
struct LastWins<'a>(&'a str);

impl<'a> LastWins<'a> {
    fn json(&self) -> serde_json::Deserializer<serde_json::de::StrRead<'a>> {
        serde_json::Deserializer::from_str(self.0)
    }
}

impl<'de> Deserializer<'de> for LastWins<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.as_bytes().first() {
            Some(b'{') => visitor.visit_map(Members::of(self.0)?),
            Some(b'[') => visitor.visit_seq(Elements::of(self.0)?),
            _ => self.json().deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0 == "null" { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    /// serde_json's [`RawValue`] asks for its text this way; the line's types have no other
    /// newtype.
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value> {
        self.json().deserialize_newtype_struct(name, visitor)
    }

    /// The value was read whole already: nothing to do.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

/// An object's members in order, each key once, with its last value.
struct Members<'a> {
    members: std::vec::IntoIter<(String, &'a RawValue)>,
    value: Option<&'a RawValue>,
}

impl<'a> Members<'a> {
    fn of(text: &'a str) -> Result<Self> {
        struct Collect;
        impl<'de> Visitor<'de> for Collect {
            type Value = Vec<(String, &'de RawValue)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<Self::Value, A::Error> {
                let mut members: Vec<(String, &'de RawValue)> = Vec::new();
                let mut at: HashMap<String, usize> = HashMap::new();
                while let Some(key) = a.next_key::<String>()? {
                    let value = a.next_value()?;
                    match at.get(&key) {
                        // As JSON.parse: the key keeps its place, the value is the last one.
                        Some(&i) => members[i].1 = value,
                        None => {
                            at.insert(key.clone(), members.len());
                            members.push((key, value));
                        }
                    }
                }
                Ok(members)
            }
        }
        let members = serde_json::Deserializer::from_str(text).deserialize_map(Collect)?;
        Ok(Self { members: members.into_iter(), value: None })
    }
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((key, value)) = self.members.next() else { return Ok(None) };
        self.value = Some(value);
        let key: StringDeserializer<serde_json::Error> = key.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self.value.take().ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(LastWins(value.get()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An array's elements, each read the same way.
struct Elements<'a>(std::vec::IntoIter<&'a RawValue>);

impl<'a> Elements<'a> {
    fn of(text: &'a str) -> Result<Self> {
        Ok(Self(serde_json::from_str::<Vec<&'a RawValue>>(text)?.into_iter()))
    }
}

impl<'de> SeqAccess<'de> for Elements<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0.next().map(|v| seed.deserialize(LastWins(v.get()))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Outer<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Inner {
        n: u64,
    }

    #[test]
    fn the_last_value_of_a_repeated_key_wins_at_every_depth() {
        let text = r#"{"name":"a","inner":{"n":1,"n":2},"name":"b","list":[{"n":3,"x":[1,{"y":1,"y":2}],"n":4}]}"#;
        assert!(serde_json::from_str::<Outer>(text).is_err(), "serde's derive refuses it");
        let o: Outer = from_str(text).unwrap();
        assert_eq!(o, Outer { name: "b".into(), inner: Some(Inner { n: 2 }), list: vec![Inner { n: 4 }] });
        // Strings without escapes stay borrowed from the text.
        assert!(matches!(o.name, Cow::Borrowed(_)));
        // A later null wins too, and a wrong type earlier is overwritten.
        let o: Outer = from_str(r#"{"name":"a","inner":{"n":1},"inner":null}"#).unwrap();
        assert_eq!(o.inner, None);
        let o: Outer = from_str(r#"{"name":5,"name":"c"}"#).unwrap();
        assert_eq!(o.name, "c");
    }

    #[test]
    fn other_faults_keep_serde_jsons_verdict() {
        for text in [r#"{"name":"a","name":"b""#, r#"{"name":"a"} x"#, r#"{"name":1,"name":2}"#, "[1]"] {
            let plain = serde_json::from_str::<Outer>(text).unwrap_err().to_string();
            assert_eq!(from_str::<Outer>(text).unwrap_err().to_string(), plain, "{text}");
        }
    }
}
