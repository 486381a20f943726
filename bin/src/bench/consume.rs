//! The consume workload: Fetch from an offset until a number of records has been read, the way
//! a single consumer reads one partition (one fetch outstanding, next offset from the last
//! batch).
//!
//! Contract: records are counted from batch headers (the batches are not decompressed or
//! CRC-checked: the broker serves stored bytes and the produce side built them), only those at
//! or after the requested offset count (a broker may return a batch that starts earlier), and
//! a partial batch at the end of a response is ignored, as Kafka clients do. The loop ends when
//! enough records are read, or fails after `deadline` or after `max_empty_fetches` empty
//! answers in a row.
//!
//! Why `max_wait_ms` defaults to 500: it is librdkafka's default `fetch.wait.max.ms`, the
//! setting the issue asks consume throughput to be measured with. A broker that waits when data
//! is ready shows up here as a low rate.

use std::time::{Duration, Instant};

use bytes::Bytes;
use odradek_core::record::complete_batches;
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::FetchRequest;
use odradek_core::wire::ResponseBody;

use super::client::{broker_error, topic_name, Connection};
use super::BenchError;

/// What one consume run is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumePlan {
    /// Topic to read.
    pub topic: String,
    /// Partition to read.
    pub partition: i32,
    /// First offset to read.
    pub from_offset: i64,
    /// Stop after this many records.
    pub records: u64,
    /// Fetch `max_wait_ms`.
    pub max_wait_ms: i32,
    /// Fetch partition max bytes (and response max bytes).
    pub max_bytes: i32,
    /// Give up after this long.
    pub deadline: Duration,
    /// Give up after this many empty answers in a row.
    pub max_empty_fetches: u32,
}

/// What a consume run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConsumeOutcome {
    /// Records read.
    pub records: u64,
    /// Batch bytes read (headers included).
    pub batch_bytes: u64,
    /// Fetch requests sent.
    pub fetches: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Records and the next offset found in a fetched record set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Records at or after the requested offset.
    pub records: u64,
    /// Bytes of whole batches.
    pub batch_bytes: u64,
    /// Where the next fetch starts (the requested offset when nothing whole was found).
    pub next_offset: i64,
}

/// Counts whole batches in `records` read from `fetch_offset`.
pub fn count_records(records: &[u8], fetch_offset: i64) -> Counted {
    let mut counted = Counted {
        records: 0,
        batch_bytes: 0,
        next_offset: fetch_offset,
    };
    for (header, batch) in complete_batches(records) {
        let next = i64::try_from(header.next_offset()).unwrap_or(i64::MAX);
        let first = i64::try_from(header.base_offset)
            .unwrap_or(i64::MAX)
            .max(counted.next_offset);
        counted.records += u64::try_from(next.saturating_sub(first)).unwrap_or(0);
        counted.batch_bytes += batch.len() as u64;
        counted.next_offset = counted.next_offset.max(next);
    }
    counted
}

/// Runs the plan on an open connection.
pub fn run(mut connection: Connection, plan: &ConsumePlan) -> Result<ConsumeOutcome, BenchError> {
    let start = Instant::now();
    let mut outcome = ConsumeOutcome {
        records: 0,
        batch_bytes: 0,
        fetches: 0,
        elapsed: Duration::ZERO,
    };
    let mut offset = plan.from_offset;
    let mut empty_in_a_row = 0;
    while outcome.records < plan.records {
        if start.elapsed() > plan.deadline {
            return Err(BenchError::DeadlineExceeded { phase: "consume" });
        }
        let records = fetch_once(&mut connection, plan, offset)?;
        outcome.fetches += 1;
        let counted = count_records(&records, offset);
        if counted.records == 0 {
            empty_in_a_row += 1;
            if empty_in_a_row >= plan.max_empty_fetches {
                return Err(BenchError::ConsumeStalled {
                    offset,
                    read: outcome.records,
                });
            }
        } else {
            empty_in_a_row = 0;
        }
        outcome.records += counted.records;
        outcome.batch_bytes += counted.batch_bytes;
        offset = counted.next_offset;
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// One Fetch of the plan's partition at `offset`; the partition's record bytes.
fn fetch_once(
    connection: &mut Connection,
    plan: &ConsumePlan,
    offset: i64,
) -> Result<Bytes, BenchError> {
    let request = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(plan.max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(plan.max_bytes)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(&plan.topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(plan.partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(plan.max_bytes)])]);
    let version = connection.versions.fetch;
    let ResponseBody::Fetch(answer) = connection.call(version, request.into())? else {
        return Err(BenchError::UnexpectedResponse { api: "Fetch" });
    };
    broker_error("Fetch", answer.error_code)?;
    let mut records = Bytes::new();
    for partition in answer.responses.iter().flat_map(|t| &t.partitions) {
        broker_error("Fetch", partition.error_code)?;
        if partition.partition_index == plan.partition {
            records = partition.records.clone().unwrap_or_default();
        }
    }
    Ok(records)
}
