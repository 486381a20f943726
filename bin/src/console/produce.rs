//! `odradek produce TOPIC` (Kafka's `kafka-console-producer.sh`): one record per stdin line.
//!
//! Contract: each line (without its `\n` / `\r\n`) becomes a record; with `--key-separator`
//! the line is split at the first separator into key and value (a line without it is an
//! error for that line). The partition is `--partition`, else Kafka's murmur2 hash of the key
//! (as Java's default partitioner), else round-robin. Records collect in one batch per
//! partition, built with [`RecordBatchBuilder`]; a batch is sent when it reaches
//! `--batch-size` bytes, when its first record is `--linger-ms` old, or at end of input. With
//! `--acks 0` nothing is awaited; with 1 or all every Produce is answered before the next is
//! sent, so per-partition order is input order. A summary goes to stderr; the exit status is
//! 1 if any record failed. A batch refused with NOT_LEADER_OR_FOLLOWER or
//! LEADER_NOT_AVAILABLE is re-sent to the leader a fresh Metadata names (3 tries).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use odradek_core::record::{Record, RecordBatchBuilder};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{KafkaErrorCode, RequestBody, ResponseBody};

use super::{fail, BootstrapArgs, EXIT_ERROR, EXIT_OK, IO_TIMEOUT};
use crate::client::partitioner::{partition_for_key, RoundRobin};
use crate::client::{BrokerError, Client, ClientError, TopicInfo};

const PRODUCE_TIMEOUT_MS: i32 = 30_000;
/// Tries per batch when the partition's leader moved.
const SEND_ATTEMPTS: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// `odradek produce …`.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// Broker connection.
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Topic to write to.
    pub topic: String,
    /// Split each line into key and value at the first occurrence of this string.
    #[arg(long)]
    pub key_separator: Option<String>,
    /// Acknowledgements to wait for: 0, 1 or all (-1).
    #[arg(long, default_value = "all", value_parser = parse_acks)]
    pub acks: i16,
    /// Write every record to this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Send a partition's batch once it holds this many bytes of keys and values.
    #[arg(long, default_value_t = 16_384)]
    pub batch_size: usize,
    /// Send a partition's batch at the latest this long after its first record.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
}

/// Parses `--acks`: `0`, `1`, `all` or `-1`.
pub fn parse_acks(text: &str) -> Result<i16, String> {
    match text {
        "0" => Ok(0),
        "1" => Ok(1),
        "all" | "-1" => Ok(-1),
        other => Err(format!("expected 0, 1 or all, got {other:?}")),
    }
}

/// A record waiting in a partition's batch.
struct Pending {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

#[derive(Default)]
struct PartitionBatch {
    records: Vec<Pending>,
    bytes: usize,
    first_at: Option<Instant>,
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Records the broker accepted (or sent with acks=0).
    pub produced: u64,
    /// Records that failed.
    pub failed: u64,
}

struct Producer<'a> {
    args: &'a ProduceArgs,
    client: Client,
    topic: TopicInfo,
    round_robin: RoundRobin,
    batches: BTreeMap<i32, PartitionBatch>,
    summary: ProduceSummary,
}

/// Runs `odradek produce …` over stdin; returns the exit status.
pub fn run(args: &ProduceArgs) -> u8 {
    let mut client = match Client::connect(&args.bootstrap.bootstrap_server, IO_TIMEOUT) {
        Ok(client) => client,
        Err(error) => return fail(error),
    };
    let topic = match client.topic(&args.topic, true) {
        Ok(topic) => topic,
        Err(error) => return fail(format_args!("topic {}: {error}", args.topic)),
    };
    if let Some(partition) = args.partition {
        if !topic.partitions.iter().any(|p| p.index == partition) {
            return fail(format_args!(
                "topic {} has no partition {partition} ({} partitions)",
                args.topic,
                topic.partitions.len()
            ));
        }
    }
    let mut producer = Producer {
        args,
        client,
        topic,
        round_robin: RoundRobin::default(),
        batches: BTreeMap::new(),
        summary: ProduceSummary::default(),
    };
    producer.run(spawn_line_reader());
    let summary = producer.summary;
    eprintln!(
        "produced {} records to {} ({} failed)",
        summary.produced, args.topic, summary.failed
    );
    if summary.failed > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// Reads stdin lines (as bytes, line ending stripped) on a thread, so lingering batches can
/// be sent while the main thread waits for input.
fn spawn_line_reader() -> Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::sync_channel(1024);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

impl Producer<'_> {
    fn run(&mut self, lines: Receiver<Vec<u8>>) {
        let linger = Duration::from_millis(self.args.linger_ms);
        loop {
            let next = match self.oldest_batch_start() {
                None => lines.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(first_at) => {
                    let wait = (first_at + linger).saturating_duration_since(Instant::now());
                    lines.recv_timeout(wait)
                }
            };
            match next {
                Ok(line) => self.add_line(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush(|_| true);
                    return;
                }
            }
            let now = Instant::now();
            let batch_size = self.args.batch_size;
            self.flush(|batch| {
                batch.bytes >= batch_size
                    || batch.first_at.is_some_and(|first| now >= first + linger)
            });
        }
    }

    fn oldest_batch_start(&self) -> Option<Instant> {
        self.batches.values().filter_map(|b| b.first_at).min()
    }

    fn add_line(&mut self, line: Vec<u8>) {
        let (key, value) = match &self.args.key_separator {
            None => (None, line),
            Some(separator) => match split_key(&line, separator.as_bytes()) {
                Some((key, value)) => (Some(key.to_vec()), value.to_vec()),
                None => {
                    eprintln!(
                        "error: no key separator {separator:?} in line {:?}",
                        String::from_utf8_lossy(&line)
                    );
                    self.summary.failed += 1;
                    return;
                }
            },
        };
        let partitions = u32::try_from(self.topic.partitions.len()).unwrap_or(1);
        let partition = match (self.args.partition, &key) {
            (Some(fixed), _) => fixed,
            (None, Some(key)) => partition_for_key(key, partitions) as i32,
            (None, None) => self.round_robin.next_partition(partitions) as i32,
        };
        let batch = self.batches.entry(partition).or_default();
        batch.bytes += key.as_ref().map_or(0, Vec::len) + value.len();
        batch.first_at.get_or_insert_with(Instant::now);
        batch.records.push(Pending {
            timestamp: now_ms(),
            key,
            value,
        });
    }

    /// Sends every batch `ready` selects, one Produce request per leader. Batches refused
    /// because leadership moved are re-sent to the new leader (after a Metadata refresh) up
    /// to [`SEND_ATTEMPTS`] times.
    fn flush(&mut self, ready: impl Fn(&PartitionBatch) -> bool) {
        let chosen: Vec<i32> = self
            .batches
            .iter()
            .filter(|(_, batch)| !batch.records.is_empty() && ready(batch))
            .map(|(partition, _)| *partition)
            .collect();
        let mut outgoing: Vec<Outgoing> = chosen
            .into_iter()
            .filter_map(|partition| {
                let batch = self.batches.remove(&partition)?;
                Some(Outgoing {
                    partition,
                    records: batch.records.len() as u64,
                    batch: build_batch(&batch.records).freeze(),
                })
            })
            .collect();
        for attempt in 1..=SEND_ATTEMPTS {
            let mut retry = Vec::new();
            for (leader, group) in self.by_leader(outgoing) {
                retry.extend(self.send(leader, group, attempt < SEND_ATTEMPTS));
            }
            if retry.is_empty() {
                return;
            }
            std::thread::sleep(RETRY_PAUSE);
            if let Ok(topic) = self.client.topic(&self.args.topic, true) {
                self.topic = topic;
            }
            outgoing = retry;
        }
    }

    fn by_leader(&self, outgoing: Vec<Outgoing>) -> BTreeMap<i32, Vec<Outgoing>> {
        let mut grouped: BTreeMap<i32, Vec<Outgoing>> = BTreeMap::new();
        for item in outgoing {
            let leader = self
                .topic
                .partitions
                .iter()
                .find(|p| p.index == item.partition)
                .map_or(-1, |p| p.leader);
            grouped.entry(leader).or_default().push(item);
        }
        grouped
    }

    /// Sends one Produce request; counts successes and failures, and returns the batches to
    /// try again (refused with a retriable leadership error while `may_retry`).
    fn send(&mut self, leader: i32, group: Vec<Outgoing>, may_retry: bool) -> Vec<Outgoing> {
        let request = produce_request(&self.args.topic, self.args.acks, &group);
        let failures = match self.exchange(leader, request) {
            Ok(failures) => failures,
            Err(error) => {
                let total: u64 = group.iter().map(|item| item.records).sum();
                eprintln!("error: {total} records failed: {error}");
                self.summary.failed += total;
                return Vec::new();
            }
        };
        let mut retry = Vec::new();
        for item in group {
            match failures
                .iter()
                .find(|(partition, _)| *partition == item.partition)
            {
                None => self.summary.produced += item.records,
                Some((_, error)) if may_retry && is_leadership_error(error.code) => {
                    retry.push(item)
                }
                Some((partition, error)) => {
                    eprintln!(
                        "error: {} records to partition {partition} failed: {error}",
                        item.records
                    );
                    self.summary.failed += item.records;
                }
            }
        }
        retry
    }

    /// Sends one Produce request; returns the partitions the broker refused, with why.
    fn exchange(
        &mut self,
        leader: i32,
        request: ProduceRequest,
    ) -> Result<Vec<(i32, BrokerError)>, ClientError> {
        let sent: Vec<i32> = request
            .topic_data
            .iter()
            .flat_map(|t| t.partition_data.iter().map(|p| p.index))
            .collect();
        let acks = request.acks;
        let connection = self.client.leader(leader)?;
        if acks == 0 {
            connection.send_only(RequestBody::Produce(request))?;
            return Ok(Vec::new());
        }
        let ResponseBody::Produce(response) = connection.call(RequestBody::Produce(request))?
        else {
            return Err(ClientError::UnexpectedResponse {
                api: ApiKey::Produce,
            });
        };
        let answers: Vec<_> = response
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .collect();
        let mut failures = Vec::new();
        for partition in sent {
            let outcome = match answers.iter().find(|a| a.index == partition) {
                Some(answer) => {
                    BrokerError::check(answer.error_code, answer.error_message.as_deref())
                }
                None => Err(BrokerError::new(-1, Some("no answer for this partition"))),
            };
            if let Err(error) = outcome {
                failures.push((partition, error));
            }
        }
        Ok(failures)
    }
}

/// A built batch on its way to a partition.
struct Outgoing {
    partition: i32,
    records: u64,
    batch: Bytes,
}

/// Errors after which the partition's leader should be looked up again and the batch re-sent.
fn is_leadership_error(code: i16) -> bool {
    code == KafkaErrorCode::NotLeaderOrFollower.code()
        || code == KafkaErrorCode::LeaderNotAvailable.code()
}

fn produce_request(topic: &str, acks: i16, group: &[Outgoing]) -> ProduceRequest {
    let partition_data = group
        .iter()
        .map(|item| {
            PartitionProduceData::default()
                .with_index(item.partition)
                .with_records(Some(item.batch.clone()))
        })
        .collect();
    let topic_data = TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_data(partition_data);
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(PRODUCE_TIMEOUT_MS)
        .with_topic_data(vec![topic_data])
}

fn build_batch(records: &[Pending]) -> bytes::BytesMut {
    let base = records.first().map_or(0, |r| r.timestamp);
    records
        .iter()
        .fold(RecordBatchBuilder::new(base), |builder, pending| {
            builder.record(Record {
                timestamp_delta: pending.timestamp - base,
                key: pending.key.clone(),
                value: Some(pending.value.clone()),
            })
        })
        .build()
}

/// Splits `line` at the first `separator` (empty separator: no split).
pub fn split_key<'l>(line: &'l [u8], separator: &[u8]) -> Option<(&'l [u8], &'l [u8])> {
    if separator.is_empty() {
        return None;
    }
    let at = line
        .windows(separator.len())
        .position(|window| window == separator)?;
    Some((&line[..at], &line[at + separator.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_at_the_first_separator_only() {
        assert_eq!(
            split_key(b"user1:a:b", b":"),
            Some((&b"user1"[..], &b"a:b"[..]))
        );
        assert_eq!(split_key(b"k::v", b"::"), Some((&b"k"[..], &b"v"[..])));
        assert_eq!(split_key(b"no separator", b":"), None);
    }

    #[test]
    fn acks_accepts_kafkas_spellings() {
        assert_eq!(parse_acks("all"), Ok(-1));
        assert_eq!(parse_acks("-1"), Ok(-1));
        assert_eq!(parse_acks("0"), Ok(0));
        assert!(parse_acks("2").is_err());
    }
}
