//! Compact identities for the per-response index: ids and names are hashed to 128 bits
//! (SipHash-1-3 with fixed keys for one half, FNV-1a for the other, so keys agree across
//! threads and runs; two different ids collide only if both 64-bit hashes do), and repeated
//! strings (projects, sessions, versions, models) are shared within a file instead of copied
//! per response.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// A shared string.
pub type Name = Arc<str>;

/// A 128-bit identity of one or more strings.
pub type Key = u128;

/// The key of a sequence of string parts (`None` parts count as absent, not empty).
pub fn key(parts: &[Option<&str>]) -> Key {
    let sip = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(parts);
    let mut fnv = Fnv(0xcbf2_9ce4_8422_2325);
    parts.hash(&mut fnv);
    (u128::from(sip) << 64) | u128::from(fnv.0)
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Hashes a [`Key`] by taking its low half (it is already a hash): no second hash per lookup.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u128 keys; fold the bytes in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64;
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = self.0.rotate_left(8) ^ u64::from(n);
    }
}

pub type KeyMap<V> = std::collections::HashMap<Key, V, BuildHasherDefault<KeyHasher>>;
pub type KeySet<K> = HashSet<K, BuildHasherDefault<KeyHasher>>;

/// Shares equal strings.
#[derive(Default)]
pub struct Names(HashSet<Name>);

impl Names {
    pub fn get(&mut self, s: &str) -> Name {
        if let Some(n) = self.0.get(s) {
            return n.clone();
        }
        let n: Name = Arc::from(s);
        self.0.insert(n.clone());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_parts_apart() {
        assert_eq!(key(&[Some("a"), None]), key(&[Some("a"), None]));
        assert_ne!(key(&[Some("a"), None]), key(&[Some("a"), Some("")]));
        assert_ne!(key(&[Some("ab"), Some("c")]), key(&[Some("a"), Some("bc")]));
        let mut n = Names::default();
        let (a, b) = (n.get("x"), n.get("x"));
        assert!(Arc::ptr_eq(&a, &b));
    }
}
