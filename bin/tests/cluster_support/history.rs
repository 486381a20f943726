//! A Jepsen-style history of the cluster tests' sends and final poll, checked with the
//! queue checker (`odradek_jepsen::queue`): no acknowledged write lost, no duplicates,
//! offsets consistent.
//!
//! Key = the partition (0), values = integers. A send the leader acknowledged is `ok` with
//! its offset; one answered with an error, or whose connection failed, is `info` (it may or
//! may not have been written); a send never made (no leader reachable) is not in the history.

use crate::serve_support::{fetch_request, produce, records_from, Client, FETCH_V};
use odradek_core::wire::ResponseBody;
use odradek_jepsen::history::{read_history_str, Format};
use odradek_jepsen::queue::{check, QueueOptions, QueueReport};
use serde_json::{json, Value};
use std::time::Instant;

/// The consumer's process number (producers count up from 0).
const CONSUMER: i64 = 1_000_000;

/// The history being recorded, as JSON lines.
pub struct History {
    start: Instant,
    lines: Vec<String>,
    /// The producer's process number: a new one after every `info` (Jepsen's rule: a
    /// process whose operation has an unknown outcome is crashed and never reused).
    producer: i64,
}

impl Default for History {
    fn default() -> Self {
        History {
            start: Instant::now(),
            lines: Vec::new(),
            producer: 0,
        }
    }
}

impl History {
    fn op(&mut self, process: i64, op_type: &str, f: &str, value: Value) {
        let line = json!({
            "index": self.lines.len(),
            "time": self.start.elapsed().as_nanos() as i64,
            "process": process,
            "type": op_type,
            "f": f,
            "value": value,
        });
        self.lines.push(line.to_string());
    }

    /// Records the invocation of a send of `value`; returns the process that sent it.
    pub fn invoke_send(&mut self, value: i64) -> i64 {
        let process = self.producer;
        self.op(process, "invoke", "send", json!([["send", 0, value]]));
        process
    }

    /// Records the outcome of `process`'s send of `value`: acknowledged at `offset`, or
    /// unknown (`None`: an error answer or no answer; the process is then retired).
    pub fn complete_send(&mut self, process: i64, value: i64, offset: Option<i64>) {
        match offset {
            Some(offset) => self.op(process, "ok", "send", json!([["send", 0, [offset, value]]])),
            None => {
                self.op(process, "info", "send", json!([["send", 0, value]]));
                self.producer += 1;
            }
        }
    }

    /// Sends `value` alone to partition 0 of `topic` with `acks`, recording it; true if
    /// acknowledged.
    pub fn send(&mut self, client: &mut Client, topic: &str, acks: i16, value: i64) -> bool {
        let process = self.invoke_send(value);
        let (error_code, offset) = produce(client, topic, 0, acks, &[value.to_string()]);
        self.complete_send(process, value, (error_code == 0).then_some(offset));
        error_code == 0
    }

    /// Reads partition 0 from offset 0 to the high watermark through `client` (the
    /// leader's) as one poll of a consumer assigned partition 0.
    pub fn poll_everything(&mut self, client: &mut Client, topic: &str) {
        let read = read_partition(client, topic);
        self.record_poll(&read);
    }

    /// Records one poll of a consumer assigned partition 0 that read `read` (offset, value).
    pub fn record_poll(&mut self, read: &[(i64, i64)]) {
        self.op(CONSUMER, "invoke", "assign", json!([0]));
        self.op(CONSUMER, "ok", "assign", json!([0]));
        self.op(CONSUMER, "invoke", "poll", json!([["poll"]]));
        let pairs: Vec<Value> = read.iter().map(|(o, v)| json!([o, v])).collect();
        self.op(
            CONSUMER,
            "ok",
            "poll",
            json!([["poll", {"#map": [[0, pairs]]}]]),
        );
    }

    /// A fingerprint of the whole history (std's `DefaultHasher::new()` has fixed keys), for
    /// comparing two runs that should be identical.
    pub fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        self.lines.hash(&mut hasher);
        hasher.finish()
    }

    /// Reads `topic` back from its current leader in `cluster`, then asserts that the
    /// queue checker finds the history valid and counted all `sent` values.
    pub fn assert_valid_after_reading_back(
        &mut self,
        cluster: &super::Cluster,
        topic: &str,
        sent: i64,
    ) {
        let leader = cluster.partition_state(topic, 0).expect("a leader");
        let mut client = super::try_connect(leader.address).expect("the leader is up");
        self.poll_everything(&mut client, topic);
        let report = self.check();
        assert_eq!(
            report.validity(),
            odradek_jepsen::verdict::Validity::Valid,
            "queue checker: {:?}",
            report.anomalies
        );
        assert_eq!(
            report.stats.messages as i64, sent,
            "every value sent was counted"
        );
    }

    /// The queue checker's report on the history.
    pub fn check(&self) -> QueueReport {
        let text = self.lines.join("\n");
        let history = read_history_str(&text, Format::Jsonl).expect("a well-formed history");
        check(&history, &QueueOptions::default()).expect("a checkable history")
    }
}

/// Every (offset, integer value) of partition 0 below the high watermark.
fn read_partition(client: &mut Client, topic: &str) -> Vec<(i64, i64)> {
    let mut read = Vec::new();
    let mut offset = 0i64;
    loop {
        let ResponseBody::Fetch(response) = client.call(FETCH_V, fetch_request(topic, 0, offset))
        else {
            panic!("not a Fetch response")
        };
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, 0, "fetch error: {data:?}");
        let records = data.records.clone().unwrap_or_default();
        if records.is_empty() {
            return read;
        }
        for (record_offset, value) in records_from(records, offset) {
            read.push((record_offset, value.parse().expect("an integer value")));
            offset = record_offset + 1;
        }
    }
}
