//! A fast, deterministic hasher for the search's memoization cache.
//!
//! The cache is hashed millions of times per second with keys built by the checker itself
//! (bitsets and model states), so resistance to adversarial keys (std's SipHash) buys
//! nothing and costs most of the search's time. This is a multiply–rotate word hasher with a
//! final fold so that the low bits, which pick the bucket, depend on every input bit.

use std::hash::{BuildHasherDefault, Hasher};

/// An odd 64-bit constant with well-spread bits (the fractional part of the golden ratio,
/// rounded to odd), used as the multiplier.
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hasher; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        let folded = (self.hash ^ (self.hash >> 32)).wrapping_mul(MULTIPLIER);
        folded ^ (folded >> 29)
    }
}

/// Builds [`WordHasher`]s for `HashSet`/`HashMap`.
pub(crate) type BuildWordHasher = BuildHasherDefault<WordHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(value: &T) -> u64 {
        BuildWordHasher::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_equally_and_nearby_keys_differ() {
        assert_eq!(hash_of(&vec![1u64, 2]), hash_of(&vec![1u64, 2]));
        assert_ne!(hash_of(&vec![1u64, 2]), hash_of(&vec![2u64, 1]));
        assert_ne!(hash_of(&"ab"), hash_of(&"ba"));
        let low_bits: std::collections::BTreeSet<u64> =
            (0u64..64).map(|i| hash_of(&(1u64 << i)) & 0xff).collect();
        assert!(
            low_bits.len() > 32,
            "single-bit keys collide in the low bits"
        );
    }
}
