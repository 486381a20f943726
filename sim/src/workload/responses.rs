//! Reading the broker's answers the way a careful Kafka client does, into plain outcomes.
//!
//! Contract: nothing here panics on any response. A produce outcome is `ok` only on error
//! code 0, `fail` only on a code the broker returns *before* appending (so the record is
//! certainly not in the log), and `info` for everything else, unknown codes included: an
//! outcome the client cannot know is never guessed.
//!
//! Leadership codes: LEADER_NOT_AVAILABLE (5), FENCED_LEADER_EPOCH (74) and
//! UNKNOWN_LEADER_EPOCH (75) refuse a produce before it reaches the log: `fail`.
//! NOT_LEADER_OR_FOLLOWER (6) is `fail` for an `acks=1` send only: Kafka's leader refuses
//! with it before appending, but an `acks=all` produce that was appended and then waited
//! for replication is also answered 6 when the broker stops leading meanwhile (Apache
//! Kafka's `Partition.checkEnoughReplicasReachOffset`), so the record may survive on the
//! new leader: `info`. NOT_ENOUGH_REPLICAS (19) is checked before appending (`fail`);
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND (20) and REQUEST_TIMED_OUT (7) come after it (`info`). Fetched bytes are split into batches,
//! each batch's CRC-32C and framing checked ([`validate_batch`]) and its records decoded;
//! a batch that fails, or a record whose key is not the partition's history key or whose
//! value does not start with a decimal integer (optionally followed by a space and payload),
//! makes the whole read [`FetchOutcome::Corrupt`].

use super::leaders::UNKNOWN_LEADER_EPOCH;
use bytes::Bytes;
use odradek_core::record::{validate_batch, BatchHeader, RecordIter, COMPRESSION_CODEC_MASK};
use odradek_core::wire::kafka_protocol::messages::produce_response::PartitionProduceResponse;
use odradek_core::wire::{KafkaErrorCode, ResponseBody};
use std::collections::BTreeMap;

/// A Kafka error code as text for a history's `error` field.
pub(crate) fn error_name(code: i16) -> String {
    match KafkaErrorCode::from_code(code) {
        Some(known) => known.name().to_owned(),
        None if code == UNKNOWN_LEADER_EPOCH => "UNKNOWN_LEADER_EPOCH".to_owned(),
        None => format!("error-code-{code}"),
    }
}

/// Codes with which the broker refuses a produce with `acks` before appending anything:
/// the record is certainly not in the log, so the send completes `fail`.
pub(crate) fn produce_certainly_not_appended(code: i16, acks: i16) -> bool {
    if code == KafkaErrorCode::NotLeaderOrFollower.code() {
        return acks != -1; // acks=all: also answered after an append (module docs)
    }
    code == UNKNOWN_LEADER_EPOCH
        || matches!(
            KafkaErrorCode::from_code(code),
            Some(
                KafkaErrorCode::UnknownTopicOrPartition
                    | KafkaErrorCode::InvalidRecord
                    | KafkaErrorCode::CorruptMessage
                    | KafkaErrorCode::NotEnoughReplicas
                    | KafkaErrorCode::MessageTooLarge
                    | KafkaErrorCode::RecordListTooLarge
                    | KafkaErrorCode::InvalidRequiredAcks
                    | KafkaErrorCode::InvalidTopicException
                    | KafkaErrorCode::UnsupportedForMessageFormat
                    | KafkaErrorCode::LeaderNotAvailable
                    | KafkaErrorCode::FencedLeaderEpoch
            )
        )
}

/// What a produce response says about the one batch a send put in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Appended at this offset (`None` if the broker gave no offset).
    Ok { offset: Option<i64> },
    /// Certainly not appended.
    Fail { error: String },
    /// Maybe appended.
    Info { error: String },
}

/// The error code of `topic`/`partition` in a Produce answer, if it holds that partition.
pub(crate) fn produce_error_code(body: &ResponseBody, topic: &str, partition: i32) -> Option<i16> {
    produce_answer(body, topic, partition).map(|p| p.error_code)
}

fn produce_answer<'a>(
    body: &'a ResponseBody,
    topic: &str,
    partition: i32,
) -> Option<&'a PartitionProduceResponse> {
    let ResponseBody::Produce(response) = body else {
        return None;
    };
    response
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition)
}

/// The outcome of the send with `acks` to `topic`/`partition` that `body` answers.
pub(crate) fn produce_outcome(
    body: &ResponseBody,
    topic: &str,
    partition: i32,
    acks: i16,
) -> SendOutcome {
    if !matches!(body, ResponseBody::Produce(_)) {
        return SendOutcome::Info {
            error: format!("unexpected-response-{:?}", body.api_key()),
        };
    }
    let Some(answer) = produce_answer(body, topic, partition) else {
        return SendOutcome::Info {
            error: "partition-missing-from-response".to_owned(),
        };
    };
    match answer.error_code {
        0 => SendOutcome::Ok {
            offset: (answer.base_offset >= 0).then_some(answer.base_offset),
        },
        code if produce_certainly_not_appended(code, acks) => SendOutcome::Fail {
            error: error_name(code),
        },
        code => SendOutcome::Info {
            error: error_name(code),
        },
    }
}

/// What one partition of a fetch returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartitionRead {
    /// The partition's error code (0: the records below are valid).
    pub error_code: i16,
    /// (offset, value) of every record at or after the fetch position, in log order.
    pub records: Vec<(i64, i64)>,
    /// Where the next fetch of this partition starts.
    pub next_position: i64,
}

/// What a fetch response means to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FetchOutcome {
    /// Per partition asked for (absent partitions read nothing, at their old position).
    Read(BTreeMap<i32, PartitionRead>),
    /// A batch failed its checks; nothing of this fetch may be trusted.
    Corrupt { detail: String },
    /// The whole fetch was refused (top-level error code).
    Refused { error: String },
}

/// Reads a fetch response for the partitions of `topic` at `positions`; `key_of` gives each
/// partition's history key, which every record's key must equal.
pub(crate) fn fetch_outcome(
    body: &ResponseBody,
    topic: &str,
    positions: &BTreeMap<i32, i64>,
    key_of: impl Fn(i32) -> String,
) -> FetchOutcome {
    let ResponseBody::Fetch(response) = body else {
        return FetchOutcome::Refused {
            error: format!("unexpected-response-{:?}", body.api_key()),
        };
    };
    if response.error_code != 0 {
        return FetchOutcome::Refused {
            error: error_name(response.error_code),
        };
    }
    let mut reads = BTreeMap::new();
    let partitions = response
        .responses
        .iter()
        .filter(|t| t.topic.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter());
    for data in partitions {
        let Some(&position) = positions.get(&data.partition_index) else {
            continue; // not asked for: ignored, as a client would
        };
        let mut read = PartitionRead {
            error_code: data.error_code,
            records: Vec::new(),
            next_position: position,
        };
        if data.error_code == 0 {
            let bytes = data.records.clone().unwrap_or_default();
            let key = key_of(data.partition_index);
            match decode_records(bytes, position, &key) {
                Ok((records, next)) => {
                    read.records = records;
                    read.next_position = next;
                }
                Err(detail) => {
                    let detail = format!("{key}: {detail}");
                    return FetchOutcome::Corrupt { detail };
                }
            }
        }
        reads.insert(data.partition_index, read);
    }
    FetchOutcome::Read(reads)
}

/// The records at or after `position` in `bytes` (concatenated batches; a truncated last
/// batch is ignored, as Kafka allows), and the position after the last whole batch.
pub(crate) fn decode_records(
    mut bytes: Bytes,
    position: i64,
    key: &str,
) -> Result<(Vec<(i64, i64)>, i64), String> {
    let mut records = Vec::new();
    let mut next = position;
    let mut whole_batches = 0usize;
    while !bytes.is_empty() {
        let Some(header) = BatchHeader::parse(&bytes) else {
            break; // a truncated trailing batch (fewer bytes than a header)
        };
        let Some(total) = header.total_len() else {
            return Err(format!("invalid batch length {}", header.batch_length));
        };
        if total > bytes.len() {
            break; // a truncated trailing batch
        }
        let batch = bytes.split_to(total);
        let header = validate_batch(&batch).map_err(|error| error.to_string())?;
        whole_batches += 1;
        read_batch(&batch, &header, position, key, &mut records)?;
        next = next.max(i64::try_from(header.next_offset()).unwrap_or(i64::MAX));
    }
    if whole_batches == 0 && !bytes.is_empty() {
        return Err(format!("a first batch truncated to {} bytes", bytes.len()));
    }
    Ok((records, next))
}

fn read_batch(
    batch: &[u8],
    header: &BatchHeader,
    position: i64,
    key: &str,
    records: &mut Vec<(i64, i64)>,
) -> Result<(), String> {
    if header.attributes & COMPRESSION_CODEC_MASK != 0 {
        return Err("a compressed batch (the workload never compresses)".to_owned());
    }
    let mut iter = RecordIter::new(batch).ok_or("unreadable batch")?;
    let base = i64::try_from(header.base_offset).map_err(|_| "base offset above i64")?;
    while let Some(record) = iter.next_record() {
        let record = record.map_err(|()| "a malformed record".to_owned())?;
        if record.key != Some(key.as_bytes()) {
            let found = record.key.map(String::from_utf8_lossy);
            return Err(format!("a record keyed {found:?} in partition {key}"));
        }
        let value = record
            .value
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.split(' ').next())
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or("a record value that is not a decimal integer")?;
        let offset = base.saturating_add(record.offset_delta);
        if offset >= position {
            records.push((offset, value));
        }
    }
    Ok(())
}

/// Per partition of `topic`: Ok(offset) or Err(error name), from a ListOffsets response.
pub(crate) fn list_offsets_outcome(
    body: &ResponseBody,
    topic: &str,
) -> BTreeMap<i32, Result<i64, String>> {
    let ResponseBody::ListOffsets(response) = body else {
        return BTreeMap::new();
    };
    response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            let result = match p.error_code {
                0 if p.offset >= 0 => Ok(p.offset),
                0 => Err(format!("offset {}", p.offset)),
                code => Err(error_name(code)),
            };
            (p.partition_index, result)
        })
        .collect()
}

/// The topics a CreateTopics response reports as existing now: created, or already there.
pub(crate) fn created_topics(body: &ResponseBody) -> Vec<String> {
    let ResponseBody::CreateTopics(response) = body else {
        return Vec::new();
    };
    let already = KafkaErrorCode::TopicAlreadyExists.code();
    response
        .topics
        .iter()
        .filter(|t| t.error_code == 0 || t.error_code == already)
        .map(|t| t.name.0.to_string())
        .collect()
}

/// The errors of a CreateTopics response, for a progress message.
pub(crate) fn create_topics_errors(body: &ResponseBody) -> String {
    let ResponseBody::CreateTopics(response) = body else {
        return format!("unexpected-response-{:?}", body.api_key());
    };
    let errors: Vec<String> = response
        .topics
        .iter()
        .filter(|t| t.error_code != 0)
        .map(|t| format!("{}: {}", t.name.0.as_str(), error_name(t.error_code)))
        .collect();
    errors.join(", ")
}
