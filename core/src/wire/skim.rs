//! A pre-decoding pass over request bodies that rejects impossible array lengths.
//!
//! Contract: [`check_array_lengths`] walks a request body of a supported api and version along
//! its schema without building anything, and fails if an array claims more elements than the
//! bytes left in the frame could hold (at each element's minimum encoded size). When the input
//! ends early or is otherwise off-schema it stops and succeeds, leaving the precise error to
//! `kafka-protocol`'s decoder, which reads the same bytes in the same order.
//!
//! Why: `kafka-protocol` 0.18 decodes an array by calling `Vec::with_capacity(n)` with the
//! length `n` read from the wire *before* reading any element. A 14-byte Metadata request
//! claiming 2^31−1 topics asks the allocator for tens of gigabytes and the process aborts
//! (an allocation failure is not a panic; nothing can catch it). Checking every array length
//! against the remaining bytes first bounds what the decoder can allocate by a small multiple
//! of the frame size. Requests of both the client and the inter-broker table are walked here
//! (the inter-broker walks live in `skim_inter_broker`). The schemas below follow the field versions `kafka-protocol` decodes
//! (the walk must track it exactly; the round-trip tests at every supported version check
//! that valid requests pass).

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ApiKey;

/// An array whose claimed length cannot fit in the bytes that remain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImplausibleArray {
    /// Elements claimed.
    pub(crate) count: u64,
    /// Bytes left in the frame after the length.
    pub(crate) remaining: usize,
}

impl ImplausibleArray {
    /// The typed error for this finding in a message of `api_key` at `api_version`.
    pub(crate) fn into_error(
        self,
        api_key: ApiKey,
        api_version: i16,
        correlation_id: i32,
    ) -> super::WireError {
        super::WireError::ImplausibleArrayLength {
            api_key,
            api_version,
            correlation_id,
            count: self.count,
            remaining: self.remaining,
        }
    }
}

/// Why the walk stopped early.
pub(super) enum Stop {
    /// The input ended or went off-schema: let the real decoder report it.
    OffSchema,
    /// An array length the remaining bytes cannot hold.
    Implausible(ImplausibleArray),
}

pub(super) type Walk = Result<(), Stop>;

/// Finishes a walk: only an implausible array length is an error.
pub(super) fn verdict(walked: Walk) -> Result<(), ImplausibleArray> {
    match walked {
        Err(Stop::Implausible(implausible)) => Err(implausible),
        Ok(()) | Err(Stop::OffSchema) => Ok(()),
    }
}

/// Checks every array length in a request body (the bytes after the request header).
pub(crate) fn check_array_lengths(
    api_key: ApiKey,
    api_version: i16,
    body: &Bytes,
) -> Result<(), ImplausibleArray> {
    let mut skim = Skimmer {
        buf: body.clone(),
        version: api_version,
        // A body is flexible (compact lengths, tagged fields) exactly when its request header
        // is v2; kafka-protocol knows that per api and version.
        flexible: api_key.request_header_version(api_version) >= 2,
    };
    let walked = match api_key {
        ApiKey::Produce => skim.produce(),
        ApiKey::Fetch => skim.fetch(),
        ApiKey::ListOffsets => skim.list_offsets(),
        ApiKey::Metadata => skim.metadata(),
        ApiKey::CreateTopics => skim.create_topics(),
        ApiKey::DeleteTopics => skim.delete_topics(),
        ApiKey::CreatePartitions => skim.create_partitions(),
        ApiKey::AlterPartitionReassignments => skim.alter_partition_reassignments(),
        ApiKey::ListPartitionReassignments => skim.list_partition_reassignments(),
        ApiKey::DescribeConfigs => skim.describe_configs(),
        ApiKey::OffsetForLeaderEpoch => skim.offset_for_leader_epoch(),
        ApiKey::AlterPartition => skim.alter_partition(),
        ApiKey::BrokerRegistration => skim.broker_registration(),
        ApiKey::BrokerHeartbeat => skim.broker_heartbeat(),
        // ApiVersions, DescribeCluster and anything else without arrays.
        _ => Ok(()),
    };
    verdict(walked)
}

pub(super) struct Skimmer {
    pub(super) buf: Bytes,
    pub(super) version: i16,
    pub(super) flexible: bool,
}

impl Skimmer {
    pub(super) fn skip(&mut self, n: usize) -> Walk {
        if self.buf.remaining() < n {
            return Err(Stop::OffSchema);
        }
        self.buf.advance(n);
        Ok(())
    }

    pub(super) fn varint(&mut self) -> Result<u32, Stop> {
        let mut value = 0u32;
        for shift in 0..5 {
            let byte = self.buf.try_get_u8().map_err(|_| Stop::OffSchema)?;
            value |= u32::from(byte & 0x7f) << (shift * 7);
            if byte < 0x80 {
                break;
            }
        }
        Ok(value)
    }

    /// A (nullable) string, or (nullable) bytes when `wide` (i32 length when not flexible).
    pub(super) fn string_or_bytes(&mut self, wide: bool) -> Walk {
        let len = if self.flexible {
            i64::from(self.varint()?) - 1
        } else if wide {
            i64::from(self.buf.try_get_i32().map_err(|_| Stop::OffSchema)?)
        } else {
            i64::from(self.buf.try_get_i16().map_err(|_| Stop::OffSchema)?)
        };
        match usize::try_from(len) {
            Ok(len) => self.skip(len),
            Err(_) if len == -1 => Ok(()),
            Err(_) => Err(Stop::OffSchema),
        }
    }

    pub(super) fn string(&mut self) -> Walk {
        self.string_or_bytes(false)
    }

    /// Minimum encoded size of a string (its length prefix).
    pub(super) fn min_string(&self) -> usize {
        if self.flexible {
            1
        } else {
            2
        }
    }

    /// Minimum encoded size of an array (its length prefix).
    pub(super) fn min_array(&self) -> usize {
        if self.flexible {
            1
        } else {
            4
        }
    }

    /// Minimum encoded size of a tagged-field section.
    pub(super) fn min_tags(&self) -> usize {
        usize::from(self.flexible)
    }

    /// A tagged-field section (flexible versions only); each field is skipped by its size.
    pub(super) fn tags(&mut self) -> Walk {
        self.tags_with(|_, _| None)
    }

    /// A tagged-field section whose known tags are walked by `known` (which returns `None`
    /// for tags it does not know; those are skipped by their size, as the decoder does).
    pub(super) fn tags_with(
        &mut self,
        mut known: impl FnMut(&mut Self, u32) -> Option<Walk>,
    ) -> Walk {
        if !self.flexible {
            return Ok(());
        }
        let count = self.varint()?;
        for _ in 0..count {
            let tag = self.varint()?;
            let size = self.varint()?;
            match known(self, tag) {
                Some(walked) => walked?,
                None => self.skip(size as usize)?,
            }
        }
        Ok(())
    }

    /// A (nullable) array whose elements take at least `min_element` bytes each.
    pub(super) fn array(
        &mut self,
        min_element: usize,
        mut element: impl FnMut(&mut Self) -> Walk,
    ) -> Walk {
        let count = if self.flexible {
            i64::from(self.varint()?) - 1
        } else {
            i64::from(self.buf.try_get_i32().map_err(|_| Stop::OffSchema)?)
        };
        let Ok(count) = u64::try_from(count) else {
            return Ok(()); // null (or negative, which the decoder rejects)
        };
        let remaining = self.buf.remaining();
        if count.saturating_mul(min_element.max(1) as u64) > remaining as u64 {
            return Err(Stop::Implausible(ImplausibleArray { count, remaining }));
        }
        for _ in 0..count {
            element(self)?;
        }
        Ok(())
    }

    fn produce(&mut self) -> Walk {
        let v = self.version;
        self.string()?; // transactional_id
        self.skip(2 + 4)?; // acks, timeout_ms
        let partition_min = 4 + self.min_array() + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            if v <= 12 {
                s.string()?;
            } else {
                s.skip(16)?;
            }
            s.array(partition_min, |s| {
                s.skip(4)?;
                s.string_or_bytes(true)?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn fetch(&mut self) -> Walk {
        let v = self.version;
        self.skip(if v <= 14 { 4 } else { 0 } + 4 + 4 + 4 + 1)?;
        if v >= 7 {
            self.skip(8)?; // session id and epoch
        }
        let partition_min = 4 + 8 + 4 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.topic_name_or_id(v <= 12)?;
            s.array(partition_min, |s| {
                let epochs = if v >= 9 { 4 } else { 0 } + if v >= 12 { 4 } else { 0 };
                let log_start = if v >= 5 { 8 } else { 0 };
                s.skip(4 + epochs + 8 + log_start + 4)?;
                s.tags_with(|s, tag| match tag {
                    0 if v >= 17 => Some(s.skip(16)), // replica_directory_id
                    1 if v >= 18 => Some(s.skip(8)),  // high_watermark
                    _ => None,
                })
            })?;
            s.tags()
        })?;
        if v >= 7 {
            self.array(topic_min, |s| {
                s.topic_name_or_id(v <= 12)?;
                s.array(4, |s| s.skip(4))?;
                s.tags()
            })?;
        }
        if v >= 11 {
            self.string()?; // rack_id
        }
        self.tags_with(|s, tag| match tag {
            0 => Some(s.string()),                            // cluster_id
            1 if v >= 15 => Some(s.scalars_then_tags(4 + 8)), // replica_state (KIP-903)
            _ => None,
        })
    }

    pub(super) fn topic_name_or_id(&mut self, by_name: bool) -> Walk {
        if by_name {
            self.string()
        } else {
            self.skip(16)
        }
    }

    fn list_offsets(&mut self) -> Walk {
        let v = self.version;
        self.skip(4 + if v >= 2 { 1 } else { 0 })?;
        let partition_min = 4 + 8 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4 + if v >= 4 { 4 } else { 0 } + 8)?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.skip(if v >= 10 { 4 } else { 0 })?;
        self.tags()
    }

    fn metadata(&mut self) -> Walk {
        let v = self.version;
        let topic_min = self.min_string() + self.min_tags();
        self.array(topic_min, |s| {
            s.skip(if v >= 10 { 16 } else { 0 })?;
            s.string()?;
            s.tags()
        })?;
        let flags = usize::from(v >= 4) + usize::from((8..=10).contains(&v)) + usize::from(v >= 8);
        self.skip(flags)?;
        self.tags()
    }

    fn create_topics(&mut self) -> Walk {
        let assignment_min = 4 + self.min_array() + self.min_tags();
        let config_min = 2 * self.min_string() + self.min_tags();
        let topic_min = self.min_string() + 6 + 2 * self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.skip(4 + 2)?;
            s.array(assignment_min, |s| {
                s.skip(4)?;
                s.array(4, |s| s.skip(4))?;
                s.tags()
            })?;
            s.array(config_min, |s| {
                s.string()?;
                s.string()?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.skip(4 + 1)?;
        self.tags()
    }

    fn delete_topics(&mut self) -> Walk {
        if self.version >= 6 {
            let topic_min = self.min_string() + 16 + self.min_tags();
            self.array(topic_min, |s| {
                s.string()?;
                s.skip(16)?;
                s.tags()
            })?;
        } else {
            let name_min = self.min_string();
            self.array(name_min, |s| s.string())?;
        }
        self.skip(4)?;
        self.tags()
    }

    fn create_partitions(&mut self) -> Walk {
        let assignment_min = self.min_array() + self.min_tags();
        let topic_min = self.min_string() + 4 + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.skip(4)?;
            s.array(assignment_min, |s| {
                s.array(4, |s| s.skip(4))?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.skip(4 + 1)?;
        self.tags()
    }

    fn alter_partition_reassignments(&mut self) -> Walk {
        self.skip(4 + usize::from(self.version >= 1))?;
        let partition_min = 4 + self.min_array() + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4)?;
                s.array(4, |s| s.skip(4))?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn list_partition_reassignments(&mut self) -> Walk {
        self.skip(4)?;
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(4, |s| s.skip(4))?;
            s.tags()
        })?;
        self.tags()
    }

    fn describe_configs(&mut self) -> Walk {
        let name_min = self.min_string();
        let resource_min = 1 + self.min_string() + self.min_array() + self.min_tags();
        self.array(resource_min, |s| {
            s.skip(1)?;
            s.string()?;
            s.array(name_min, |s| s.string())?;
            s.tags()
        })?;
        self.skip(1 + usize::from(self.version >= 3))?;
        self.tags()
    }
}
