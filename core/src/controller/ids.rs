//! Identifiers of the cluster metadata, each a newtype so that a broker id can never be passed
//! where a partition index is expected.
//!
//! [`TopicId`] is a 128-bit id like Kafka's topic UUID, rendered like Kafka renders it
//! (URL-safe base64 without padding, 22 characters). It is never drawn from OS randomness: the
//! controller derives it from its configured seed and a counter kept in the metadata image
//! ([`TopicId::derive`]), so the same seed and the same commands give the same ids, and the
//! ids travel in the log's records so that replaying the log never regenerates them.

use std::fmt;

macro_rules! i32_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub i32);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

i32_id!(
    /// A broker's `node.id` (Kafka's `broker.id`); non-negative.
    BrokerId
);
i32_id!(
    /// A partition's index within its topic, dense from 0.
    PartitionIndex
);
i32_id!(
    /// Bumped every time a partition gets a new leader (KIP-101); never decreases.
    LeaderEpoch
);
i32_id!(
    /// Bumped on every change of a partition (leader, ISR, replicas; KIP-497's partition
    /// epoch, Kafka's `partitionEpoch`); never decreases.
    PartitionEpoch
);

impl LeaderEpoch {
    /// The next epoch.
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

impl PartitionEpoch {
    /// The next epoch.
    pub fn next(self) -> PartitionEpoch {
        PartitionEpoch(self.0 + 1)
    }
}

/// The position of a record in the metadata log, dense from 0.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct MetadataOffset(pub u64);

impl fmt::Display for MetadataOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies one run of a broker process (Kafka's `incarnationId`): a restarted broker
/// registers again with a new incarnation, which is how fencing (issue 6) tells a zombie
/// from its successor.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct IncarnationId(pub u128);

/// A topic's 128-bit id (Kafka's topic UUID). See the module docs for how it is made.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct TopicId(u128);

/// The text given to [`TopicId::parse`] is not 22 characters of URL-safe base64 of 16 bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a topic id (22 characters of URL-safe base64): {text:?}")]
pub struct TopicIdParseError {
    /// The rejected text.
    pub text: String,
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// SplitMix64's finaliser: a bijective mix, so distinct inputs give distinct outputs.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl TopicId {
    /// The all-zero id, which Kafka reserves to mean "no id" (`Uuid.ZERO_UUID`).
    pub const ZERO: TopicId = TopicId(0);
    /// Kafka's reserved id of the `__cluster_metadata` topic (`Uuid.METADATA_TOPIC_ID`).
    pub const METADATA_TOPIC: TopicId = TopicId(1);

    /// The id with these 128 bits (most significant bits first, as Kafka's `Uuid`).
    pub const fn from_u128(bits: u128) -> TopicId {
        TopicId(bits)
    }

    /// The 128 bits of the id.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// The id from its 16 big-endian bytes (Kafka's wire form).
    pub fn from_bytes(bytes: [u8; 16]) -> TopicId {
        TopicId(u128::from_be_bytes(bytes))
    }

    /// The 16 big-endian bytes of the id (Kafka's wire form).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// The candidate id number `sequence` for a controller seeded with `seed`. Deterministic;
    /// may be reserved (see [`TopicId::is_reserved`]), in which case the controller moves on
    /// to the next sequence number.
    pub fn derive(seed: u64, sequence: u64) -> TopicId {
        let high = mix64(seed ^ mix64(sequence.wrapping_mul(2)));
        let low = mix64(seed.rotate_left(32) ^ mix64(sequence.wrapping_mul(2).wrapping_add(1)));
        TopicId((u128::from(high) << 64) | u128::from(low))
    }

    /// Whether Kafka would never hand out this id: the zero id, the metadata topic's id, and
    /// ids whose text starts with '-' (Kafka avoids them so that command-line tools do not
    /// take them for flags).
    pub fn is_reserved(self) -> bool {
        self == TopicId::ZERO || self == TopicId::METADATA_TOPIC || (self.0 >> 122) == 62
    }

    /// Parses Kafka's text form (22 characters of URL-safe base64, no padding).
    pub fn parse(text: &str) -> Result<TopicId, TopicIdParseError> {
        let error = || TopicIdParseError {
            text: text.to_owned(),
        };
        if text.len() != 22 {
            return Err(error());
        }
        let mut bits: u128 = 0;
        for (index, byte) in text.bytes().enumerate() {
            let value = BASE64_URL
                .iter()
                .position(|&c| c == byte)
                .ok_or_else(error)? as u128;
            if index == 21 {
                // 22 × 6 = 132 bits: the last character carries 2 bits and 4 zero bits.
                if value & 0xf != 0 {
                    return Err(error());
                }
                bits = (bits << 2) | (value >> 4);
            } else {
                bits = (bits << 6) | value;
            }
        }
        Ok(TopicId(bits))
    }

    /// The canonical UUID text form (`8-4-4-4-12` lowercase hex).
    pub fn to_uuid_string(self) -> String {
        let hex = format!("{:032x}", self.0);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

impl fmt::Display for TopicId {
    /// Kafka's text form: URL-safe base64 of the 16 bytes, without padding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(22);
        for index in 0..21 {
            let shift = 128 - 6 * (index + 1);
            text.push(BASE64_URL[((self.0 >> shift) & 0x3f) as usize] as char);
        }
        text.push(BASE64_URL[((self.0 & 0x3) << 4) as usize] as char);
        f.write_str(&text)
    }
}

impl fmt::Debug for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicId({self})")
    }
}
