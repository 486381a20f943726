//! Choosing a partition for a record, the way Kafka's Java producer does for keyed records.
//!
//! Contract: [`partition_for_key`] is `toPositive(murmur2(key)) % partitions`, with Kafka's
//! murmur2 (seed `0x9747b28c`) and `toPositive(x) = x & 0x7fffffff`, so a key lands on the
//! same partition whether it was produced by `odradek produce` or a Java client.
//! [`RoundRobin`] spreads records without a key over the partitions in turn.
//!
//! Why: consumers rely on "same key, same partition" for per-key order; matching Java's
//! default partitioner keeps that promise across producers.

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed 32-bit
/// value like Java's.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut hash = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        hash = hash.wrapping_mul(M);
        hash ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        hash ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        hash ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        hash ^= u32::from(first);
        hash = hash.wrapping_mul(M);
    }
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(M);
    hash ^= hash >> 15;
    hash as i32
}

/// The partition Java's default partitioner picks for `key` among `partitions` (> 0).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    let positive = (murmur2(key) & 0x7fff_ffff) as u32;
    positive % partitions.max(1)
}

/// Hands out partitions `0, 1, …, n-1, 0, …` for records without a key.
#[derive(Debug, Clone, Default)]
pub struct RoundRobin {
    next: u32,
}

impl RoundRobin {
    /// The next partition among `partitions` (> 0).
    pub fn next_partition(&mut self, partitions: u32) -> u32 {
        let chosen = self.next % partitions.max(1);
        self.next = chosen.wrapping_add(1);
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_clients_published_test_vectors() {
        // Expected values from Kafka's own UtilsTest.testMurmur2.
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn a_key_always_maps_to_the_same_partition_within_range() {
        for key in ["a", "b", "user-17", ""] {
            let first = partition_for_key(key.as_bytes(), 7);
            assert!(first < 7);
            assert_eq!(partition_for_key(key.as_bytes(), 7), first);
        }
    }

    #[test]
    fn round_robin_visits_every_partition_in_turn() {
        let mut round_robin = RoundRobin::default();
        let picks: Vec<u32> = (0..7).map(|_| round_robin.next_partition(3)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
