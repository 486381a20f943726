//! `odradek consume TOPIC` (Kafka's `kafka-console-consumer.sh`), by assignment (no group).
//!
//! Contract: reads the chosen partitions (`--partition`, else all) from their start position
//! — `--offset N` (needs `--partition`), `--offset earliest|latest`, `--from-beginning`
//! (= earliest), default latest — looked up with ListOffsets at each partition's leader. Then
//! long-poll Fetches (`max_wait_ms` ≤ 500, `min_bytes` 1) to each leader; whole
//! batches are decoded with [`RecordIter`] and every record at or after the position is
//! printed with `--format` (default `{value}`), in offset order per partition. Control
//! batches are skipped; compressed batches (gzip, snappy, lz4, zstd) are decompressed first
//! ([`super::decompress`]). Stops after `--max-messages` records, or once
//! `--timeout-ms` passes without a new record; prints `Processed a total of N messages` to
//! stderr. A partition answering NOT_LEADER_OR_FOLLOWER or LEADER_NOT_AVAILABLE makes the
//! consumer look its leaders up again and go on. Exit status 1 on a broker or connection
//! error, 3 on bad flags.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use odradek_core::record::{
    complete_batches, validate_batch, BatchHeader, RecordIter, COMPRESSION_CODEC_MASK,
    TIMESTAMP_TYPE_LOG_APPEND_TIME,
};
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, FetchRequest, ListOffsetsRequest, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{KafkaErrorCode, RequestBody, ResponseBody};

use super::decompress::decompress_batch;
use super::format::{OutputFormat, RecordLine};
use super::{fail, BootstrapArgs, EXIT_BAD_FLAGS, EXIT_OK, IO_TIMEOUT};
use crate::client::{BrokerError, Client, ClientError, TopicInfo};

/// The longest a single fetch waits at the broker for data.
const MAX_WAIT_MS: u64 = 500;
const FETCH_MAX_BYTES: i32 = 50 * 1024 * 1024;
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;
/// `attributes` bit of a control batch (transaction markers).
const CONTROL_BATCH: i16 = 0x20;
const EARLIEST_TIMESTAMP: i64 = -2;
const LATEST_TIMESTAMP: i64 = -1;

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// The log start offset.
    Earliest,
    /// The log end offset (only new records).
    Latest,
    /// An exact offset.
    At(i64),
}

/// Parses `--offset`: a non-negative number, `earliest` or `latest`.
pub fn parse_start_offset(text: &str) -> Result<StartOffset, String> {
    match text {
        "earliest" => Ok(StartOffset::Earliest),
        "latest" => Ok(StartOffset::Latest),
        number => match number.parse::<i64>() {
            Ok(offset) if offset >= 0 => Ok(StartOffset::At(offset)),
            _ => Err(format!(
                "expected a non-negative offset, earliest or latest, got {number:?}"
            )),
        },
    }
}

/// `odradek consume …`.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Broker connection.
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Topic to read.
    pub topic: String,
    /// Start at the earliest offset (same as `--offset earliest`).
    #[arg(long, conflicts_with = "offset")]
    pub from_beginning: bool,
    /// Read only this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Start offset: a number (needs --partition), earliest or latest (default).
    #[arg(long, value_parser = parse_start_offset)]
    pub offset: Option<StartOffset>,
    /// Stop after this many records.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Stop once this many milliseconds pass without a new record.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Output template: {topic} {partition} {offset} {timestamp} {key} {value}, \t, \n.
    #[arg(long)]
    pub format: Option<String>,
}

struct Consumer<'a> {
    args: &'a ConsumeArgs,
    client: Client,
    topic: TopicInfo,
    format: OutputFormat,
    positions: BTreeMap<i32, i64>,
    printed: u64,
}

/// Runs `odradek consume …`; returns the exit status.
pub fn run(args: &ConsumeArgs) -> u8 {
    let format = match args.format.as_deref().map(OutputFormat::parse) {
        None => OutputFormat::default(),
        Some(Ok(format)) => format,
        Some(Err(error)) => {
            eprintln!("error: {error}");
            return EXIT_BAD_FLAGS;
        }
    };
    if matches!(args.offset, Some(StartOffset::At(_))) && args.partition.is_none() {
        eprintln!("error: --offset with a number needs --partition");
        return EXIT_BAD_FLAGS;
    }
    let mut client = match Client::connect(&args.bootstrap.bootstrap_server, IO_TIMEOUT) {
        Ok(client) => client,
        Err(error) => return fail(error),
    };
    let topic = match client.topic(&args.topic, false) {
        Ok(topic) => topic,
        Err(error) => return fail(format_args!("topic {}: {error}", args.topic)),
    };
    let mut consumer = Consumer {
        args,
        client,
        topic,
        format,
        positions: BTreeMap::new(),
        printed: 0,
    };
    let outcome = consumer.start().and_then(|()| consumer.fetch_loop());
    eprintln!("Processed a total of {} messages", consumer.printed);
    match outcome {
        Ok(()) => EXIT_OK,
        Err(error) => fail(error),
    }
}

/// Why consuming stopped early.
#[derive(Debug, thiserror::Error)]
enum ConsumeError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("partition {partition}: {error}")]
    Partition { partition: i32, error: BrokerError },
    #[error("topic has no partition {0}")]
    NoSuchPartition(i32),
    #[error("partition {partition}: corrupt batch: {reason}")]
    Corrupt { partition: i32, reason: String },
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

impl Consumer<'_> {
    fn start(&mut self) -> Result<(), ConsumeError> {
        let chosen: Vec<i32> = match self.args.partition {
            Some(partition) if self.topic.partitions.iter().any(|p| p.index == partition) => {
                vec![partition]
            }
            Some(partition) => return Err(ConsumeError::NoSuchPartition(partition)),
            None => self.topic.partitions.iter().map(|p| p.index).collect(),
        };
        let start = match (self.args.offset, self.args.from_beginning) {
            (Some(start), _) => start,
            (None, true) => StartOffset::Earliest,
            (None, false) => StartOffset::Latest,
        };
        let timestamp = match start {
            StartOffset::At(offset) => {
                self.positions = chosen.iter().map(|&p| (p, offset)).collect();
                return Ok(());
            }
            StartOffset::Earliest => EARLIEST_TIMESTAMP,
            StartOffset::Latest => LATEST_TIMESTAMP,
        };
        for (leader, partitions) in self.by_leader(&chosen) {
            self.list_offsets(leader, &partitions, timestamp)?;
        }
        Ok(())
    }

    fn by_leader(&self, partitions: &[i32]) -> BTreeMap<i32, Vec<i32>> {
        let mut grouped: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for info in &self.topic.partitions {
            if partitions.contains(&info.index) {
                grouped.entry(info.leader).or_default().push(info.index);
            }
        }
        grouped
    }

    fn topic_name(&self) -> TopicName {
        TopicName(StrBytes::from_string(self.args.topic.clone()))
    }

    fn list_offsets(
        &mut self,
        leader: i32,
        partitions: &[i32],
        timestamp: i64,
    ) -> Result<(), ConsumeError> {
        let request = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(self.topic_name())
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                )]);
        let ResponseBody::ListOffsets(response) = self
            .client
            .leader(leader)?
            .call(RequestBody::ListOffsets(request))?
        else {
            return Err(ClientError::UnexpectedResponse {
                api: ApiKey::ListOffsets,
            }
            .into());
        };
        for answer in response.topics.iter().flat_map(|t| t.partitions.iter()) {
            BrokerError::check(answer.error_code, None).map_err(|error| {
                ConsumeError::Partition {
                    partition: answer.partition_index,
                    error,
                }
            })?;
            self.positions.insert(answer.partition_index, answer.offset);
        }
        Ok(())
    }

    fn fetch_loop(&mut self) -> Result<(), ConsumeError> {
        let mut last_record_at = Instant::now();
        let mut out = std::io::stdout().lock();
        loop {
            if self.reached_max() {
                return Ok(());
            }
            let wait_ms = match self.args.timeout_ms {
                Some(timeout) => {
                    let elapsed = last_record_at.elapsed().as_millis() as u64;
                    if elapsed >= timeout {
                        return Ok(());
                    }
                    (timeout - elapsed).min(MAX_WAIT_MS)
                }
                None => MAX_WAIT_MS,
            };
            let partitions: Vec<i32> = self.positions.keys().copied().collect();
            let before = self.printed;
            let mut leadership_moved = false;
            for (leader, led) in self.by_leader(&partitions) {
                leadership_moved |= self.fetch(leader, &led, wait_ms, &mut out)?;
                if self.reached_max() {
                    break;
                }
            }
            if leadership_moved {
                std::thread::sleep(Duration::from_millis(200));
                self.topic = self.client.topic(&self.args.topic, false)?;
            }
            out.flush().map_err(ConsumeError::Output)?;
            if self.printed > before {
                last_record_at = Instant::now();
            }
        }
    }

    fn reached_max(&self) -> bool {
        self.args
            .max_messages
            .is_some_and(|max| self.printed >= max)
    }

    /// Fetches `partitions` from `leader` and prints what came; `Ok(true)` when a partition's
    /// leadership moved (look the leaders up again).
    fn fetch(
        &mut self,
        leader: i32,
        partitions: &[i32],
        wait_ms: u64,
        out: &mut impl Write,
    ) -> Result<bool, ConsumeError> {
        let fetch_partitions = partitions
            .iter()
            .map(|&p| {
                FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(self.positions.get(&p).copied().unwrap_or(0))
                    .with_partition_max_bytes(PARTITION_MAX_BYTES)
            })
            .collect();
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(wait_ms as i32)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_topics(vec![FetchTopic::default()
                .with_topic(self.topic_name())
                .with_partitions(fetch_partitions)]);
        let connection = self.client.leader(leader)?;
        connection.set_read_timeout(IO_TIMEOUT + Duration::from_millis(wait_ms))?;
        let ResponseBody::Fetch(response) = connection.call(RequestBody::Fetch(request))? else {
            return Err(ClientError::UnexpectedResponse { api: ApiKey::Fetch }.into());
        };
        BrokerError::check(response.error_code, None)
            .map_err(|error| ConsumeError::Client(error.into()))?;
        let mut leadership_moved = false;
        for data in response.responses.iter().flat_map(|t| t.partitions.iter()) {
            let partition = data.partition_index;
            if !partitions.contains(&partition) {
                continue; // not asked for: a confused broker must not move our positions
            }
            if data.error_code == KafkaErrorCode::NotLeaderOrFollower.code()
                || data.error_code == KafkaErrorCode::LeaderNotAvailable.code()
            {
                leadership_moved = true;
                continue;
            }
            BrokerError::check(data.error_code, None)
                .map_err(|error| ConsumeError::Partition { partition, error })?;
            if let Some(records) = &data.records {
                self.print_records(partition, records.clone(), out)?;
            }
            if self.reached_max() {
                break;
            }
        }
        Ok(leadership_moved)
    }

    /// Prints the records of `records` (concatenated batches; a trailing partial batch is
    /// ignored) at or after the partition's position, and advances the position.
    fn print_records(
        &mut self,
        partition: i32,
        records: Bytes,
        out: &mut impl Write,
    ) -> Result<(), ConsumeError> {
        for (header, batch) in complete_batches(&records) {
            validate_batch(batch).map_err(|error| ConsumeError::Corrupt {
                partition,
                reason: error.to_string(),
            })?;
            let position = self.positions.get(&partition).copied().unwrap_or(0);
            let next = i64::try_from(header.next_offset()).unwrap_or(i64::MAX);
            if next <= position {
                continue;
            }
            if header.attributes & CONTROL_BATCH == 0 {
                if header.attributes & COMPRESSION_CODEC_MASK != 0 {
                    let plain = decompress_batch(batch).map_err(|error| ConsumeError::Corrupt {
                        partition,
                        reason: error.to_string(),
                    })?;
                    self.print_batch(partition, &plain, &header, position, out)?;
                } else {
                    self.print_batch(partition, batch, &header, position, out)?;
                }
                if self.reached_max() {
                    return Ok(());
                }
            }
            self.positions.insert(partition, next);
        }
        Ok(())
    }

    fn print_batch(
        &mut self,
        partition: i32,
        batch: &[u8],
        header: &BatchHeader,
        position: i64,
        out: &mut impl Write,
    ) -> Result<(), ConsumeError> {
        let corrupt = || ConsumeError::Corrupt {
            partition,
            reason: "a record does not parse".to_string(),
        };
        let mut iter = RecordIter::new(batch).ok_or_else(corrupt)?;
        let base = i64::try_from(header.base_offset).unwrap_or(i64::MAX);
        while let Some(record) = iter.next_record() {
            let record = record.map_err(|()| corrupt())?;
            let offset = base.saturating_add(record.offset_delta);
            if offset < position {
                continue;
            }
            let timestamp = if header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME != 0 {
                header.max_timestamp
            } else {
                header.base_timestamp.saturating_add(record.timestamp_delta)
            };
            let line = self.format.render(&RecordLine {
                topic: &self.args.topic,
                partition,
                offset,
                timestamp,
                key: record.key,
                value: record.value,
            });
            writeln!(out, "{line}").map_err(ConsumeError::Output)?;
            self.printed += 1;
            self.positions.insert(partition, offset.saturating_add(1));
            if self.reached_max() {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_offsets_parse_numbers_and_names() {
        assert_eq!(parse_start_offset("earliest"), Ok(StartOffset::Earliest));
        assert_eq!(parse_start_offset("latest"), Ok(StartOffset::Latest));
        assert_eq!(parse_start_offset("42"), Ok(StartOffset::At(42)));
        assert!(parse_start_offset("-3").is_err());
        assert!(parse_start_offset("soon").is_err());
    }
}
