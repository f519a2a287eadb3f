//! Compact identities for the per-response index: ids and names are hashed to 128 bits
//! (XXH3-128, a fixed function, so keys agree across threads and runs; two ids collide with a
//! chance of about 2^-128 per pair), and repeated strings (projects, sessions, versions,
//! models) are shared within a file instead of copied per response.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// The 64-bit hash a request id is known by, in transcripts and telemetry alike.
pub fn request_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes()).max(1)
}

/// A shared string, in one pointer (its length beside the text): a place holds seven, and a
/// team's telemetry has a place a stream (an `Arc<str>` is two pointers, length inline).
pub type Name = arcstr::ArcStr;

/// A 128-bit identity of one or more strings.
pub type Key = u128;

/// The key of a sequence of string parts (`None` parts count as absent, not empty).
///
/// The parts are laid out as a presence byte, a length and the bytes (so that part
/// boundaries count) and hashed at once: on the stack when they fit, as ids do.
pub fn key(parts: &[Option<&str>]) -> Key {
    let len: usize = parts.iter().map(|p| 1 + p.map_or(0, |s| 8 + s.len())).sum();
    let mut stack = [0u8; 256];
    let mut heap = Vec::new();
    let buf = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap[..]
    };
    let mut at = 0;
    for part in parts {
        match part {
            None => at += 1,
            Some(s) => {
                buf[at] = 1;
                buf[at + 1..at + 9].copy_from_slice(&(s.len() as u64).to_le_bytes());
                buf[at + 9..at + 9 + s.len()].copy_from_slice(s.as_bytes());
                at += 9 + s.len();
            }
        }
    }
    xxhash_rust::xxh3::xxh3_128(buf)
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
pub struct Names {
    all: HashSet<Name>,
    /// The last few strings handed out, compared before the set is hashed: the lines of a
    /// file mostly repeat the same session, folder, version and model.
    recent: [Option<Name>; 4],
    next: usize,
}

impl Names {
    pub fn get(&mut self, s: &str) -> Name {
        if let Some(n) = self.recent.iter().flatten().find(|n| ***n == *s) {
            return n.clone();
        }
        let n = match self.all.get(s) {
            Some(n) => n.clone(),
            None => {
                let n = Name::from(s);
                self.all.insert(n.clone());
                n
            }
        };
        self.recent[self.next] = Some(n.clone());
        self.next = (self.next + 1) % self.recent.len();
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
        let long = "p".repeat(300);
        assert_eq!(key(&[Some(&long)]), key(&[Some(&long)]));
        assert_ne!(key(&[Some(&long)]), key(&[Some(&long[1..])]));
        let mut n = Names::default();
        let (a, b) = (n.get("x"), n.get("x"));
        assert!(Name::ptr_eq(&a, &b));
        // Beyond the recent ones, the set still shares.
        let first = n.get("s0");
        for i in 1..10 {
            n.get(&format!("s{i}"));
        }
        assert!(Name::ptr_eq(&first, &n.get("s0")));
    }
}
