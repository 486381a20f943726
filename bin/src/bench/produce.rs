//! The produce workloads: as fast as possible with up to `in_flight` requests outstanding, or
//! at a fixed rate with per-request latency recorded in an HdrHistogram.
//!
//! Contract: the request is encoded once (one uncompressed RecordBatch v2 of `batch_records`
//! values of `record_size` bytes, built by `odradek_core::record`) and only its correlation id
//! is patched per send, so the client spends its time on the socket, not on encoding. A
//! sender thread writes; a receiver thread reads answers in order, checks every partition error
//! code and records latency from the moment the request was written. A bounded channel of
//! capacity `in_flight - 1` between them is the pipelining limit: the sender blocks once
//! `in_flight` requests are unanswered. With acks=0 the broker sends no answer, so only the
//! sender runs and the time is the time to write everything.
//!
//! Why measure from the write and not from the due time: sleeping to the due time overshoots
//! by tens of microseconds on a loaded machine, which would be charged to the broker. Sends
//! that start more than one interval late are counted instead (`behind_schedule`), so a run
//! where the client could not keep up is visible rather than silently optimistic.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use odradek_core::record::RecordBatchBuilder;
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{ApiKey, ProduceRequest};
use odradek_core::wire::ResponseBody;

use super::client::{broker_error, encode, set_correlation_id, topic_name, Connection};
use super::stats::{latency_histogram, record_latency, Pacer};
use super::BenchError;

/// What one produce run is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct ProducePlan {
    /// Topic to write.
    pub topic: String,
    /// Partition to write.
    pub partition: i32,
    /// Records to write (rounded up to whole batches).
    pub records: u64,
    /// Value bytes per record.
    pub record_size: usize,
    /// Records per request.
    pub batch_records: u32,
    /// 0, 1 or -1 (all).
    pub acks: i16,
    /// Most requests unanswered at once (>= 1).
    pub in_flight: usize,
    /// Requests per second, or `None` for as fast as possible.
    pub requests_per_second: Option<f64>,
    /// Give up after this long.
    pub deadline: Duration,
}

impl ProducePlan {
    /// How many requests the plan sends.
    pub fn requests(&self) -> u64 {
        self.records.div_ceil(u64::from(self.batch_records.max(1)))
    }
}

/// What a produce run measured.
#[derive(Debug)]
pub struct ProduceOutcome {
    /// Records acknowledged (or written, for acks=0).
    pub records: u64,
    /// Wall time from the first write to the last answer.
    pub elapsed: Duration,
    /// Request latencies in microseconds (empty for acks=0).
    pub latencies: Histogram<u64>,
    /// Sends that started more than one pacing interval late.
    pub behind_schedule: u64,
}

/// Runs the plan on an open connection.
pub fn run(connection: Connection, plan: &ProducePlan) -> Result<ProduceOutcome, BenchError> {
    let frame = produce_frame(&connection, plan)?;
    let pacer = match plan.requests_per_second {
        Some(rate) => Some(Pacer::new(rate).ok_or(BenchError::BadRate { rate })?),
        None => None,
    };
    let Connection {
        mut writer,
        mut reader,
        versions,
        ..
    } = connection;
    let requests = plan.requests();
    let expects_answers = plan.acks != 0;
    let capacity = plan.in_flight.max(1) - 1;
    let (sent, to_answer) = sync_channel::<(i32, Instant)>(capacity);
    let start = Instant::now();
    let deadline = start + plan.deadline;
    let sender = |sent: SyncSender<(i32, Instant)>| -> Result<u64, BenchError> {
        let mut frame = frame;
        let mut behind = 0;
        for n in 0..requests {
            if let Some(pacer) = pacer {
                std::thread::sleep(pacer.wait_before(n, start.elapsed()));
                behind += u64::from(pacer.is_behind(n, start.elapsed()));
            }
            if Instant::now() > deadline {
                return Err(BenchError::DeadlineExceeded { phase: "produce" });
            }
            let correlation_id = correlation_id_of(n);
            set_correlation_id(&mut frame, correlation_id);
            let written_at = Instant::now();
            if expects_answers && sent.send((correlation_id, written_at)).is_err() {
                return Err(BenchError::ReceiverGone);
            }
            writer.write_frame(&frame)?;
        }
        Ok(behind)
    };
    let version = versions.produce;
    let (behind, latencies) = std::thread::scope(|scope| {
        let receiving =
            scope.spawn(|| receive_answers(&mut reader, version, to_answer, expects_answers));
        let behind = sender(sent);
        let latencies = receiving.join().map_err(|_| BenchError::ReceiverGone)?;
        let latencies = latencies?;
        Ok::<_, BenchError>((behind?, latencies))
    })?;
    let records = requests * u64::from(plan.batch_records);
    Ok(ProduceOutcome {
        records,
        elapsed: start.elapsed(),
        latencies,
        behind_schedule: behind,
    })
}

/// Correlation ids cycle through the positive i32 range.
fn correlation_id_of(n: u64) -> i32 {
    i32::try_from(n % (i32::MAX as u64)).unwrap_or(0)
}

/// Reads one answer per queued send until the sender hangs up; every partition must say 0.
fn receive_answers(
    reader: &mut super::client::FrameReader,
    version: i16,
    queue: Receiver<(i32, Instant)>,
    expects_answers: bool,
) -> Result<Histogram<u64>, BenchError> {
    let mut latencies = latency_histogram();
    if !expects_answers {
        return Ok(latencies);
    }
    while let Ok((correlation_id, written_at)) = queue.recv() {
        let body = reader.receive(ApiKey::Produce, version, correlation_id)?;
        record_latency(&mut latencies, written_at.elapsed());
        let ResponseBody::Produce(answer) = body else {
            return Err(BenchError::UnexpectedResponse { api: "Produce" });
        };
        for partition in answer.responses.iter().flat_map(|t| &t.partition_responses) {
            broker_error("Produce", partition.error_code)?;
        }
    }
    Ok(latencies)
}

/// The one produce request every send repeats, encoded.
fn produce_frame(connection: &Connection, plan: &ProducePlan) -> Result<BytesMut, BenchError> {
    let batch = record_batch(plan.batch_records, plan.record_size)?;
    let request = ProduceRequest::default()
        .with_acks(plan.acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(&plan.topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(plan.partition)
                .with_records(Some(batch))])]);
    encode(
        connection.client_id(),
        connection.versions.produce,
        0,
        &request.into(),
    )
}

/// One batch of `count` values of `size` bytes each (a repeating byte pattern).
pub fn record_batch(count: u32, size: usize) -> Result<Bytes, BenchError> {
    if count == 0 {
        return Err(BenchError::EmptyBatch);
    }
    let value: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    let mut builder = RecordBatchBuilder::new(now_ms);
    for _ in 0..count {
        builder = builder.value(0, &value);
    }
    Ok(builder.build().freeze())
}
