//! Durability classes: one topic per producer `acks` setting, and the history keys naming
//! one partition of one class (`"acks-all/0"`).
//!
//! Why one topic per class: the world must relax its checks on keys whose producers were
//! promised less (an `acks=1` or `acks=0` record may vanish in a crash without any bug),
//! while holding `acks=all` keys to the full standard. Keeping classes in separate topics
//! keeps that a per-key decision ([`key_class`]).

/// A producer durability class: which `acks` its producers send with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DurabilityClass {
    /// `acks=all` (-1): answered once the record is durable.
    AcksAll,
    /// `acks=1`: answered once the leader appended the record.
    AcksOne,
    /// `acks=0`: never answered.
    AcksZero,
}

impl DurabilityClass {
    /// Every class, in topic-creation order.
    pub const ALL: [DurabilityClass; 3] = [
        DurabilityClass::AcksAll,
        DurabilityClass::AcksOne,
        DurabilityClass::AcksZero,
    ];

    /// The topic of this class.
    pub fn topic(self) -> &'static str {
        match self {
            DurabilityClass::AcksAll => "acks-all",
            DurabilityClass::AcksOne => "acks-one",
            DurabilityClass::AcksZero => "acks-zero",
        }
    }

    /// The `acks` value its producers send.
    pub fn acks(self) -> i16 {
        match self {
            DurabilityClass::AcksAll => -1,
            DurabilityClass::AcksOne => 1,
            DurabilityClass::AcksZero => 0,
        }
    }

    /// The class whose topic is `topic`.
    pub fn from_topic(topic: &str) -> Option<DurabilityClass> {
        DurabilityClass::ALL
            .into_iter()
            .find(|class| class.topic() == topic)
    }

    /// The history key of one partition of this class: `"<topic>/<partition>"`.
    pub fn key(self, partition: i32) -> String {
        format!("{}/{}", self.topic(), partition)
    }
}

/// Splits a history key into its class and partition; `None` for any other string.
pub fn parse_key(key: &str) -> Option<(DurabilityClass, i32)> {
    let (topic, partition) = key.rsplit_once('/')?;
    let class = DurabilityClass::from_topic(topic)?;
    let partition: i32 = partition.parse().ok()?;
    (partition >= 0 && partition.to_string() == key[topic.len() + 1..])
        .then_some((class, partition))
}

/// The `acks` its producers used, for a history key made by [`DurabilityClass::key`]:
/// -1 (all), 1 or 0; `None` for a key the workload never writes.
pub fn key_class(key: &str) -> Option<i16> {
    parse_key(key).map(|(class, _)| class.acks())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_class_and_partition_and_parse_back() {
        assert_eq!(DurabilityClass::AcksAll.key(0), "acks-all/0");
        for class in DurabilityClass::ALL {
            assert_eq!(parse_key(&class.key(7)), Some((class, 7)));
        }
        assert_eq!(key_class("acks-all/2"), Some(-1));
        assert_eq!(key_class("acks-one/0"), Some(1));
        assert_eq!(key_class("acks-zero/1"), Some(0));
        for bad in [
            "acks-all",
            "acks-all/",
            "acks-all/-1",
            "acks-all/01",
            "x/0",
            "7",
        ] {
            assert_eq!(key_class(bad), None, "{bad}");
        }
    }
}
