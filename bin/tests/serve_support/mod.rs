//! Shared helpers of the `serve_*` tests: a guard around a real `odradek serve` process
//! (killed by PID on drop) on a loopback port it picks itself, and a minimal blocking Kafka
//! client over `std::net::TcpStream` built on core's wire client helpers.
#![allow(dead_code)]

use bytes::{Buf, Bytes};
use odradek_core::record::{split_batches, RecordBatchBuilder, RecordIter};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, FetchRequest, MetadataRequest, ProduceRequest, RequestHeader,
    TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{decode_response, encode_request, RequestBody, ResponseBody};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Versions the tests speak.
pub const PRODUCE_V: i16 = 9;
pub const FETCH_V: i16 = 12;
pub const METADATA_V: i16 = 12;
pub const CREATE_TOPICS_V: i16 = 7;
pub const API_VERSIONS_V: i16 = 3;

/// A running `odradek serve`, killed (SIGKILL, by PID) when dropped.
pub struct ServeProcess {
    child: Option<Child>,
    /// The bound listen address, parsed from the startup line.
    pub address: SocketAddr,
    /// The whole startup line.
    pub startup_line: String,
    /// Where the process's stderr (its logs) goes.
    pub log_path: PathBuf,
}

impl ServeProcess {
    /// Starts `odradek serve --listen 127.0.0.1:0 --data-dir <data_dir> <extra...>` and waits
    /// for its startup line.
    pub fn start(data_dir: &Path, extra: &[&str]) -> ServeProcess {
        ServeProcess::start_logging(data_dir, extra, "info")
    }

    /// Like [`ServeProcess::start`], with `RUST_LOG=<rust_log>`.
    pub fn start_logging(data_dir: &Path, extra: &[&str], rust_log: &str) -> ServeProcess {
        let log_path = data_dir.with_extension(format!("{}.log", unique()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_odradek"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn odradek serve");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read startup line");
        let address = parse_address(&line).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("no startup line (got {line:?}); log:\n{log}")
        });
        ServeProcess {
            child: Some(child),
            address,
            startup_line: line.trim_end().to_owned(),
            log_path,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.address)
    }

    /// SIGKILL, then reap.
    pub fn kill_hard(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits (up to 20 s) for the exit status.
    pub fn terminate(self) -> ExitStatus {
        self.signal("TERM")
    }

    /// SIGTERM, then waits (up to 20 s) for the exit; the exit status and the whole log.
    pub fn terminate_with_log(self) -> (ExitStatus, String) {
        let log_path = self.log_path.clone();
        let status = self.terminate();
        (
            status,
            std::fs::read_to_string(log_path).unwrap_or_default(),
        )
    }

    /// Sends the signal `name` (e.g. `INT`), then waits (up to 20 s) for the exit status.
    pub fn signal(mut self, name: &str) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("odradek serve did not exit within 20 s of SIG{name}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The listen address in `odradek serving on <addr> advertised ...`.
pub fn parse_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("serving on ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// A blocking Kafka client on one connection.
pub struct Client {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl Client {
    pub fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            next_correlation: 1,
        }
    }

    /// Writes a request; returns its correlation id.
    pub fn send(&mut self, version: i16, body: impl Into<RequestBody>) -> i32 {
        let body = body.into();
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(body.api_key() as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(text("serve-test")));
        let frame = encode_request(&header, &body).expect("encode request");
        self.stream.write_all(&frame).expect("write request");
        correlation_id
    }

    /// Reads one response frame, or `None` if the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        if self.stream.read_exact(&mut size).is_err() {
            return None;
        }
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut frame).ok()?;
        Some(Bytes::from(frame))
    }

    /// Reads one response to a request of `api_key` at `version`: (correlation id, body).
    pub fn receive(&mut self, api_key: ApiKey, version: i16) -> (i32, ResponseBody) {
        let frame = self
            .read_frame()
            .expect("a response, not a closed connection");
        let (header, body) = decode_response(api_key, version, frame).expect("decode response");
        (header.correlation_id, body)
    }

    /// Sends a request and reads its response body.
    pub fn call(&mut self, version: i16, body: impl Into<RequestBody>) -> ResponseBody {
        let body = body.into();
        let api_key = body.api_key();
        let sent = self.send(version, body);
        let (correlation_id, response) = self.receive(api_key, version);
        assert_eq!(correlation_id, sent, "response to another request");
        response
    }

    /// True once the broker has closed the connection (reads EOF or reset).
    pub fn is_closed_by_broker(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

pub fn name(text: &str) -> TopicName {
    TopicName(StrBytes::from_string(text.to_owned()))
}

pub fn text(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

pub fn create_topics_request(topic: &str, partitions: i32) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)])
}

/// Creates a topic and asserts it was created.
pub fn create_topic(client: &mut Client, topic: &str, partitions: i32) {
    let ResponseBody::CreateTopics(response) =
        client.call(CREATE_TOPICS_V, create_topics_request(topic, partitions))
    else {
        panic!("not a CreateTopics response")
    };
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

pub fn metadata_request(topics: &[&str]) -> MetadataRequest {
    MetadataRequest::default().with_topics(Some(
        topics
            .iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(name(t))))
            .collect(),
    ))
}

/// One uncompressed batch of `values`.
pub fn batch(values: &[String]) -> Bytes {
    let mut builder = RecordBatchBuilder::new(1_700_000_000_000);
    for (i, value) in values.iter().enumerate() {
        builder = builder.value(i as i64, value.as_bytes());
    }
    builder.build().freeze()
}

pub fn produce_request(
    topic: &str,
    partition: i32,
    acks: i16,
    values: &[String],
) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch(values)))])])
}

/// Produces and returns (error code, base offset) of the single partition.
pub fn produce(
    client: &mut Client,
    topic: &str,
    partition: i32,
    acks: i16,
    values: &[String],
) -> (i16, i64) {
    let ResponseBody::Produce(response) =
        client.call(PRODUCE_V, produce_request(topic, partition, acks, values))
    else {
        panic!("not a Produce response")
    };
    let answer = &response.responses[0].partition_responses[0];
    (answer.error_code, answer.base_offset)
}

pub fn fetch_request(topic: &str, partition: i32, offset: i64) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(8 * 1024 * 1024)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(8 * 1024 * 1024)])])
}

/// Every record value of the partition from offset 0, fetching until the high watermark.
pub fn fetch_all(client: &mut Client, topic: &str, partition: i32) -> Vec<String> {
    let mut values = Vec::new();
    let mut offset = 0i64;
    loop {
        let ResponseBody::Fetch(response) =
            client.call(FETCH_V, fetch_request(topic, partition, offset))
        else {
            panic!("not a Fetch response")
        };
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, 0, "fetch error: {data:?}");
        let records = data.records.clone().unwrap_or_default();
        if records.is_empty() {
            assert_eq!(
                offset, data.high_watermark,
                "fetch stalled below the high watermark"
            );
            return values;
        }
        for (record_offset, value) in records_from(records, offset) {
            values.push(value);
            offset = record_offset + 1;
        }
    }
}

/// The (offset, UTF-8 value) of every record in the uncompressed `records` of a fetch
/// answer, from offset `from` on (a fetch may return a batch starting before it).
pub fn records_from(records: Bytes, from: i64) -> Vec<(i64, String)> {
    let mut read = Vec::new();
    for batch in split_batches(records).expect("valid batches") {
        let base = (&batch[..8]).get_i64();
        let mut iter = RecordIter::new(&batch).expect("a batch");
        while let Some(record) = iter.next_record() {
            let record = record.expect("a record");
            let record_offset = base + record.offset_delta;
            if record_offset >= from {
                let value = record.value.expect("a value");
                read.push((
                    record_offset,
                    String::from_utf8(value.to_vec()).expect("utf-8"),
                ));
            }
        }
    }
    read
}

/// `count` distinct values tagged with `tag`.
pub fn values(tag: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{tag}-{i}")).collect()
}
