//! Durable cluster metadata for a single node: the controller's committed records, kept in a
//! partition log in the `__cluster_metadata-0` directory and replayed at startup.
//!
//! Each controller command's records are one RecordBatch v2 (one Kafka record per metadata
//! record, the value in the small binary format below), so a command is atomic on disk: the
//! log's recovery cuts a torn batch whole, and the batch CRC guards every byte. A batch is
//! synced *synchronously* before the records are applied and the client is answered:
//! metadata changes are rare (topic admin, one registration per start), and doing so keeps a
//! created topic from ever being acknowledged and then forgotten.
//!
//! Record value format (big-endian; strings are u16 length + UTF-8, optional strings i16
//! length with -1 for none, lists u16 count): a tag byte, then
//! 1 RegisterBroker: broker id i32, incarnation u128, listeners (name, host, port u16), rack?;
//! 2 Topic: name, topic id \[16\]; 3 Partition: topic id \[16\], partition i32, replicas, isr,
//! leader i32 (-1 none), leader epoch i32, partition epoch i32; 4 Config: topic, key, value?;
//! 5 RemoveTopic: topic id \[16\]; 6 PartitionChange: topic id \[16\], partition i32, isr,
//! leader i32 (-1 none), leader epoch i32, partition epoch i32; 7 FenceBroker and
//! 8 UnfenceBroker: broker id i32, incarnation u128.
//!
//! Issue 6 replaces this with the replicated metadata log; the record format may then become
//! Kafka's own metadata records.

use super::io::NodeError;
use crate::controller::{
    BrokerFencingRecord, BrokerId, BrokerRegistration, ConfigRecord, IncarnationId, LeaderEpoch,
    Listener, MetadataRecord, PartitionChangeRecord, PartitionEpoch, PartitionIndex,
    PartitionReassignmentRecord, PartitionRecord, RemoveTopicRecord, TopicId, TopicRecord,
};
use crate::log::{FlushPolicy, LogConfig, LogOutput, PartitionLog};
use crate::record::{split_batches, Offset, Record, RecordBatchBuilder, RecordIter};
use crate::storage::Storage;
use crate::time::Now;
use bytes::BufMut;

/// The directory of the metadata log. Its topic name is reserved.
pub const METADATA_DIRECTORY: &str = "__cluster_metadata-0";
/// The reserved topic name of the metadata log.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

const READ_CHUNK_BYTES: usize = 1024 * 1024;

/// The metadata log on storage.
pub struct MetadataStore<S: Storage> {
    log: PartitionLog<S>,
}

impl<S: Storage> MetadataStore<S> {
    /// Opens the store and returns every stored command's records, in order.
    pub fn open(
        storage: S,
        now: Now,
    ) -> Result<(MetadataStore<S>, Vec<Vec<MetadataRecord>>), NodeError> {
        let config = LogConfig {
            retention_bytes: None,
            retention_ms: None,
            flush_policy: FlushPolicy::Never,
            ..LogConfig::default()
        };
        let (mut log, _report) = PartitionLog::open(storage, config, now).map_err(log_error)?;
        let mut commands = Vec::new();
        let mut next = log.log_start_offset();
        while next < log.log_end_offset() {
            let read = log.read(next, READ_CHUNK_BYTES).map_err(log_error)?;
            let batches = split_batches(read.records).map_err(corrupt)?;
            for batch in batches {
                commands.push(decode_batch(&batch)?);
            }
            next = read.next_offset;
        }
        Ok((MetadataStore { log }, commands))
    }

    /// Appends one command's records as one batch and syncs it before returning.
    pub fn append(&mut self, now: Now, records: &[MetadataRecord]) -> Result<Offset, NodeError> {
        let mut builder = RecordBatchBuilder::new(now.wall_ms);
        for record in records {
            builder = builder.record(Record {
                timestamp_delta: 0,
                key: None,
                value: Some(encode_record(record)),
            });
        }
        let info = self.log.append(now, builder.build()).map_err(log_error)?;
        self.log.request_sync();
        while let Some(LogOutput::Sync(request)) = self.log.poll_output() {
            self.log
                .perform_sync(now, &request)
                .map_err(|error| log_error(error.into()))?;
        }
        Ok(info.last_offset)
    }
}

fn log_error(error: crate::log::LogError) -> NodeError {
    NodeError::Log {
        directory: METADATA_DIRECTORY.to_owned(),
        error,
    }
}

fn corrupt(error: impl std::fmt::Display) -> NodeError {
    NodeError::CorruptMetadata {
        detail: error.to_string(),
    }
}

fn decode_batch(batch: &[u8]) -> Result<Vec<MetadataRecord>, NodeError> {
    let mut records = Vec::new();
    let mut iter = RecordIter::new(batch).ok_or_else(|| corrupt("unreadable metadata batch"))?;
    while let Some(record) = iter.next_record() {
        let record = record.map_err(|()| corrupt("malformed record in metadata batch"))?;
        let value = record
            .value
            .ok_or_else(|| corrupt("metadata record without value"))?;
        records.push(decode_record(value).ok_or_else(|| corrupt("undecodable metadata record"))?);
    }
    Ok(records)
}

/// Encodes one metadata record (see the module docs for the format).
pub fn encode_record(record: &MetadataRecord) -> Vec<u8> {
    let mut out = Vec::new();
    match record {
        MetadataRecord::RegisterBroker(broker) => {
            out.put_u8(1);
            out.put_i32(broker.broker_id.0);
            out.put_u128(broker.incarnation.0);
            out.put_u16(broker.listeners.len() as u16);
            for listener in &broker.listeners {
                put_str(&mut out, &listener.name);
                put_str(&mut out, &listener.host);
                out.put_u16(listener.port);
            }
            put_opt_str(&mut out, broker.rack.as_deref());
        }
        MetadataRecord::Topic(topic) => {
            out.put_u8(2);
            put_str(&mut out, &topic.name);
            out.put_slice(&topic.topic_id.to_bytes());
        }
        MetadataRecord::Partition(partition) => {
            out.put_u8(3);
            out.put_slice(&partition.topic_id.to_bytes());
            out.put_i32(partition.partition.0);
            for list in [&partition.replicas, &partition.isr] {
                out.put_u16(list.len() as u16);
                list.iter().for_each(|broker| out.put_i32(broker.0));
            }
            out.put_i32(partition.leader.map_or(-1, |leader| leader.0));
            out.put_i32(partition.leader_epoch.0);
            out.put_i32(partition.partition_epoch.0);
        }
        MetadataRecord::Config(config) => {
            out.put_u8(4);
            put_str(&mut out, &config.topic);
            put_str(&mut out, &config.key);
            put_opt_str(&mut out, config.value.as_deref());
        }
        MetadataRecord::RemoveTopic(remove) => {
            out.put_u8(5);
            out.put_slice(&remove.topic_id.to_bytes());
        }
        MetadataRecord::PartitionChange(change) => {
            out.put_u8(6);
            out.put_slice(&change.topic_id.to_bytes());
            out.put_i32(change.partition.0);
            out.put_u16(change.isr.len() as u16);
            change.isr.iter().for_each(|broker| out.put_i32(broker.0));
            out.put_i32(change.leader.map_or(-1, |leader| leader.0));
            out.put_i32(change.leader_epoch.0);
            out.put_i32(change.partition_epoch.0);
        }
        MetadataRecord::PartitionReassignment(change) => {
            out.put_u8(9);
            out.put_slice(&change.topic_id.to_bytes());
            out.put_i32(change.partition.0);
            for list in [
                &change.replicas,
                &change.adding_replicas,
                &change.removing_replicas,
                &change.isr,
            ] {
                out.put_u16(list.len() as u16);
                list.iter().for_each(|broker| out.put_i32(broker.0));
            }
            out.put_i32(change.leader.map_or(-1, |leader| leader.0));
            out.put_i32(change.leader_epoch.0);
            out.put_i32(change.partition_epoch.0);
        }
        MetadataRecord::FenceBroker(fencing) | MetadataRecord::UnfenceBroker(fencing) => {
            out.put_u8(if matches!(record, MetadataRecord::FenceBroker(_)) {
                7
            } else {
                8
            });
            out.put_i32(fencing.broker_id.0);
            out.put_u128(fencing.incarnation.0);
        }
    }
    out
}

/// Strings here are topic names (≤ 249 bytes), validated config keys and values, and the
/// operator's listener host: all far below the u16 length limit.
fn put_str(out: &mut Vec<u8>, text: &str) {
    debug_assert!(
        text.len() <= usize::from(u16::MAX),
        "metadata string too long"
    );
    out.put_u16(text.len() as u16);
    out.put_slice(text.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => {
            out.put_i16(text.len() as i16);
            out.put_slice(text.as_bytes());
        }
        None => out.put_i16(-1),
    }
}

/// Decodes one metadata record; `None` if the bytes are not one valid record.
pub fn decode_record(bytes: &[u8]) -> Option<MetadataRecord> {
    let mut reader = Reader { bytes, at: 0 };
    let record = match reader.u8()? {
        1 => MetadataRecord::RegisterBroker(BrokerRegistration {
            broker_id: BrokerId(reader.i32()?),
            incarnation: IncarnationId(u128::from_be_bytes(reader.array()?)),
            listeners: (0..reader.u16()?)
                .map(|_| {
                    Some(Listener {
                        name: reader.string()?,
                        host: reader.string()?,
                        port: reader.u16()?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
            rack: reader.opt_string()?,
        }),
        2 => MetadataRecord::Topic(TopicRecord {
            name: reader.string()?,
            topic_id: TopicId::from_bytes(reader.array()?),
        }),
        3 => MetadataRecord::Partition(PartitionRecord {
            topic_id: TopicId::from_bytes(reader.array()?),
            partition: PartitionIndex(reader.i32()?),
            replicas: reader.brokers()?,
            isr: reader.brokers()?,
            leader: Some(reader.i32()?).filter(|id| *id >= 0).map(BrokerId),
            leader_epoch: LeaderEpoch(reader.i32()?),
            partition_epoch: PartitionEpoch(reader.i32()?),
        }),
        4 => MetadataRecord::Config(ConfigRecord {
            topic: reader.string()?,
            key: reader.string()?,
            value: reader.opt_string()?,
        }),
        5 => MetadataRecord::RemoveTopic(RemoveTopicRecord {
            topic_id: TopicId::from_bytes(reader.array()?),
        }),
        6 => MetadataRecord::PartitionChange(PartitionChangeRecord {
            topic_id: TopicId::from_bytes(reader.array()?),
            partition: PartitionIndex(reader.i32()?),
            isr: reader.brokers()?,
            leader: Some(reader.i32()?).filter(|id| *id >= 0).map(BrokerId),
            leader_epoch: LeaderEpoch(reader.i32()?),
            partition_epoch: PartitionEpoch(reader.i32()?),
        }),
        9 => MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
            topic_id: TopicId::from_bytes(reader.array()?),
            partition: PartitionIndex(reader.i32()?),
            replicas: reader.brokers()?,
            adding_replicas: reader.brokers()?,
            removing_replicas: reader.brokers()?,
            isr: reader.brokers()?,
            leader: Some(reader.i32()?).filter(|id| *id >= 0).map(BrokerId),
            leader_epoch: LeaderEpoch(reader.i32()?),
            partition_epoch: PartitionEpoch(reader.i32()?),
        }),
        tag @ (7 | 8) => {
            let fencing = BrokerFencingRecord {
                broker_id: BrokerId(reader.i32()?),
                incarnation: IncarnationId(u128::from_be_bytes(reader.array()?)),
            };
            if tag == 7 {
                MetadataRecord::FenceBroker(fencing)
            } else {
                MetadataRecord::UnfenceBroker(fencing)
            }
        }
        _ => return None,
    };
    (reader.at == bytes.len()).then_some(record)
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(slice)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.array()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::from(self.u16()?);
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        let len = i16::from_be_bytes(self.array()?);
        if len < 0 {
            return Some(None);
        }
        let bytes = self.take(usize::try_from(len).ok()?)?;
        String::from_utf8(bytes.to_vec()).ok().map(Some)
    }

    fn brokers(&mut self) -> Option<Vec<BrokerId>> {
        (0..self.u16()?).map(|_| self.i32().map(BrokerId)).collect()
    }
}
