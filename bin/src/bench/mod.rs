//! `odradek bench`: a load generator that speaks the Kafka protocol over TCP to any broker
//! (Odradek or another), through `odradek_core::wire`'s encoder and decoder.
//!
//! Every run first creates the topic (unless `--no-create`) and waits for the partition's
//! leader. Phases, run in the order given by `--phases`:
//! - `setup`: nothing more (a script's way to create a topic before another client runs).
//! - `produce`: N records of S bytes, `--batch-records` per request, up to `--in-flight`
//!   requests outstanding, at `--acks` 0/1/all; reports msgs/s and MB/s (payload bytes).
//! - `latency`: produce at a fixed `--rate` (records/s) for `--latency-secs`; reports request
//!   latency p50/p99/p99.9/max (HdrHistogram, microseconds).
//! - `consume`: Fetch the partition from `--consume-from` until N records are read; reports
//!   msgs/s and MB/s.
//!
//! With `--broker-pid`, each phase also reports the broker's CPU seconds (user + system, read
//! from `/proc/PID/stat` before and after) and CPU seconds per million records.
//!
//! Output: a human-readable line per phase, then a `RESULT key=value ...` line per phase for
//! scripts (`papers/bench/compare-brokers.sh` parses them).
//!
//! Why a load generator of our own next to librdkafka's `rdkafka_performance`: it needs no C
//! library, exercises our own client codec against real brokers, and measures latency the same
//! way against every broker. The paper's comparison runs both.

mod client;
mod consume;
mod produce;
pub mod stats;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

pub use consume::{count_records, ConsumePlan, Counted};
pub use produce::{record_batch, ProducePlan};

use client::Connection;
use stats::{cpu_seconds_per_million, cpu_ticks_from_stat, ticks_to_seconds, LatencySummary};

/// Exit status for a run that failed (bad flags are reported by clap with 3 in `main`).
pub const EXIT_BENCH_FAILED: u8 = 1;

/// Everything `odradek bench` can fail on.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A socket or file error.
    #[error("i/o error: {0}")]
    Io(#[source] std::io::Error),
    /// The codec refused a request or response.
    #[error("wire error: {0}")]
    Wire(#[source] odradek_core::wire::WireError),
    /// The broker answered with a Kafka error code.
    #[error("{api} failed with Kafka error code {code}")]
    Broker {
        /// The api.
        api: &'static str,
        /// The Kafka error code.
        code: i16,
    },
    /// The broker answered with another api's response.
    #[error("unexpected response to {api}")]
    UnexpectedResponse {
        /// The api asked.
        api: &'static str,
    },
    /// An answer carried the wrong correlation id.
    #[error("expected correlation id {expected}, got {actual}")]
    CorrelationMismatch {
        /// The id sent.
        expected: i32,
        /// The id received.
        actual: i32,
    },
    /// A response frame size was negative or absurd.
    #[error("response frame size {size} is out of range")]
    BadFrameSize {
        /// The size read.
        size: i32,
    },
    /// No version of an api is spoken by both sides.
    #[error("the broker supports no version of {api} this client speaks")]
    NoCommonVersion {
        /// The api.
        api: &'static str,
    },
    /// The partition got no leader in time.
    #[error("{topic}-{partition} has no leader")]
    NoLeader {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A phase ran past `--max-secs`.
    #[error("{phase} ran past its deadline")]
    DeadlineExceeded {
        /// Which phase.
        phase: &'static str,
    },
    /// The consumer got only empty answers.
    #[error("consume stalled at offset {offset} after {read} records")]
    ConsumeStalled {
        /// Offset it was stuck at.
        offset: i64,
        /// Records read before.
        read: u64,
    },
    /// The rate is not a positive finite number.
    #[error("rate {rate} is not a positive number")]
    BadRate {
        /// The rate given.
        rate: f64,
    },
    /// A batch needs at least one record.
    #[error("a batch needs at least one record")]
    EmptyBatch,
    /// The answer-reading thread stopped early.
    #[error("the answer-reading thread stopped")]
    ReceiverGone,
    /// `/proc/PID/stat` could not be read or parsed.
    #[error("cannot read CPU time of pid {pid}")]
    ProcStat {
        /// The pid.
        pid: u32,
    },
}

/// One step of a bench run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Nothing beyond what every run does first: create the topic and wait for its leader.
    Setup,
    /// Produce as fast as possible.
    Produce,
    /// Produce at a fixed rate and record latency.
    Latency,
    /// Fetch the records back.
    Consume,
}

/// The producer acknowledgement level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// No answer.
    None,
    /// The leader has it.
    Leader,
    /// Every in-sync replica has it.
    All,
}

impl Acks {
    /// The wire value.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    /// The name a report prints.
    pub fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// Parses `0`, `1`, `all` or `-1`.
pub fn parse_acks(text: &str) -> Result<Acks, String> {
    match text {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "all" | "-1" => Ok(Acks::All),
        other => Err(format!("acks must be 0, 1 or all, not {other:?}")),
    }
}

fn parse_positive_u64(text: &str) -> Result<u64, String> {
    match text.replace('_', "").parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(err) => Err(err.to_string()),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("rate must be a positive number, not {text:?}")),
    }
}

/// Flags of `odradek bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Broker address (host:port).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bootstrap: SocketAddr,
    /// Topic to use (created with `--partitions` partitions unless `--no-create`).
    #[arg(long, default_value = "odradek-bench")]
    pub topic: String,
    /// Partition to produce to and fetch from.
    #[arg(long, default_value_t = 0)]
    pub partition: i32,
    /// Partitions to create the topic with.
    #[arg(long, default_value_t = 1)]
    pub partitions: i32,
    /// Do not create the topic.
    #[arg(long)]
    pub no_create: bool,
    /// Phases to run, in order, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "produce,consume"
    )]
    pub phases: Vec<Phase>,
    /// Records to produce and to consume.
    #[arg(long, default_value = "1000000", value_parser = parse_positive_u64)]
    pub records: u64,
    /// Value bytes per record.
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Acks: 0, 1 or all.
    #[arg(long, default_value = "1", value_parser = parse_acks)]
    pub acks: Acks,
    /// Records per produce request.
    #[arg(long, default_value = "100", value_parser = parse_positive_u64)]
    pub batch_records: u64,
    /// Produce requests outstanding at once.
    #[arg(long, default_value = "5", value_parser = parse_positive_u64)]
    pub in_flight: u64,
    /// Latency phase: records per second (one record per request).
    #[arg(long, default_value = "5000", value_parser = parse_rate)]
    pub rate: f64,
    /// Latency phase: how long to run, in seconds.
    #[arg(long, default_value = "10", value_parser = parse_positive_u64)]
    pub latency_secs: u64,
    /// Latency phase: requests outstanding at once (high, so the sender never waits).
    #[arg(long, default_value = "1000", value_parser = parse_positive_u64)]
    pub latency_in_flight: u64,
    /// Consume phase: first offset.
    #[arg(long, default_value_t = 0)]
    pub consume_from: i64,
    /// Consume phase: Fetch max_wait_ms (librdkafka's fetch.wait.max.ms default is 500).
    #[arg(long, default_value_t = 500)]
    pub fetch_max_wait_ms: i32,
    /// Consume phase: Fetch max bytes (partition and response).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub fetch_max_bytes: i32,
    /// Broker process id, to report its CPU time per phase.
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Socket read/write/connect timeout, seconds.
    #[arg(long, default_value = "30", value_parser = parse_positive_u64)]
    pub io_timeout_secs: u64,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value = "600", value_parser = parse_positive_u64)]
    pub max_secs: u64,
    /// Label printed in every RESULT line (e.g. the broker's name).
    #[arg(long, default_value = "broker")]
    pub label: String,
}

impl BenchArgs {
    fn io_timeout(&self) -> Duration {
        Duration::from_secs(self.io_timeout_secs)
    }

    /// The plan of the `produce` phase.
    pub fn produce_plan(&self) -> ProducePlan {
        ProducePlan {
            topic: self.topic.clone(),
            partition: self.partition,
            records: self.records,
            record_size: self.record_size,
            batch_records: u32::try_from(self.batch_records).unwrap_or(u32::MAX),
            acks: self.acks.wire(),
            in_flight: usize::try_from(self.in_flight).unwrap_or(usize::MAX),
            requests_per_second: None,
            deadline: Duration::from_secs(self.max_secs),
        }
    }

    /// The plan of the `latency` phase: one record per request at `rate` for `latency_secs`.
    pub fn latency_plan(&self) -> ProducePlan {
        let records = (self.rate * self.latency_secs as f64).ceil().max(1.0) as u64;
        ProducePlan {
            records,
            batch_records: 1,
            in_flight: usize::try_from(self.latency_in_flight).unwrap_or(usize::MAX),
            requests_per_second: Some(self.rate),
            ..self.produce_plan()
        }
    }

    /// The plan of the `consume` phase.
    pub fn consume_plan(&self) -> ConsumePlan {
        ConsumePlan {
            topic: self.topic.clone(),
            partition: self.partition,
            from_offset: self.consume_from,
            records: self.records,
            max_wait_ms: self.fetch_max_wait_ms,
            max_bytes: self.fetch_max_bytes,
            deadline: Duration::from_secs(self.max_secs),
            max_empty_fetches: 20,
        }
    }
}

/// Runs `odradek bench` and returns the exit status (0 ok, 1 failed).
pub fn run(args: &BenchArgs) -> u8 {
    match run_phases(args) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("odradek bench: {error}");
            EXIT_BENCH_FAILED
        }
    }
}

/// Runs one measured phase on a fresh connection.
type PhaseRunner = fn(Connection, &BenchArgs) -> Result<ResultLine, BenchError>;

fn run_phases(args: &BenchArgs) -> Result<(), BenchError> {
    let mut admin = Connection::open(args.bootstrap, args.io_timeout())?;
    if !args.no_create {
        admin.create_topic(&args.topic, args.partitions)?;
    }
    admin.wait_for_leader(&args.topic, args.partition)?;
    for phase in &args.phases {
        let run_phase: PhaseRunner = match phase {
            Phase::Setup => continue,
            Phase::Produce => |c, a| produce_report(c, &a.produce_plan(), "produce"),
            Phase::Latency => |c, a| produce_report(c, &a.latency_plan(), "latency"),
            Phase::Consume => |c, a| consume_report(c, &a.consume_plan()),
        };
        let cpu_before = broker_cpu_seconds(args.broker_pid)?;
        let connection = Connection::open(args.bootstrap, args.io_timeout())?;
        let mut line = run_phase(connection, args)?;
        if let (Some(before), Some(after)) = (cpu_before, broker_cpu_seconds(args.broker_pid)?) {
            let cpu = after - before;
            let per_million = cpu_seconds_per_million(cpu, line.records);
            line.fields.push(("broker_cpu_s", format!("{cpu:.2}")));
            line.fields
                .push(("broker_cpu_s_per_m", format!("{per_million:.3}")));
        }
        println!("{}", line.render(&args.label));
    }
    Ok(())
}

/// One phase's results as ordered key=value pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultLine {
    /// Phase name.
    pub phase: &'static str,
    /// Records the phase moved.
    pub records: u64,
    /// The measured values.
    pub fields: Vec<(&'static str, String)>,
}

impl ResultLine {
    /// `RESULT label=L phase=P records=N k=v ...`
    pub fn render(&self, label: &str) -> String {
        let mut out = format!(
            "RESULT label={label} phase={} records={}",
            self.phase, self.records
        );
        for (key, value) in &self.fields {
            out.push_str(&format!(" {key}={value}"));
        }
        out
    }
}

fn produce_report(
    connection: Connection,
    plan: &ProducePlan,
    phase: &'static str,
) -> Result<ResultLine, BenchError> {
    let outcome = produce::run(connection, plan)?;
    let throughput = stats::Throughput {
        records: outcome.records,
        payload_bytes: outcome.records * plan.record_size as u64,
        elapsed: outcome.elapsed,
    };
    let latency = LatencySummary::of(&outcome.latencies);
    let acks = match plan.acks {
        0 => "0",
        1 => "1",
        _ => "all",
    };
    let fields = vec![
        ("acks", acks.to_owned()),
        ("secs", format!("{:.3}", outcome.elapsed.as_secs_f64())),
        ("msgs_per_s", format!("{:.0}", throughput.records_per_sec())),
        ("mb_per_s", format!("{:.2}", throughput.megabytes_per_sec())),
        ("p50_us", latency.p50_us.to_string()),
        ("p99_us", latency.p99_us.to_string()),
        ("p999_us", latency.p999_us.to_string()),
        ("max_us", latency.max_us.to_string()),
        ("behind_schedule", outcome.behind_schedule.to_string()),
    ];
    Ok(ResultLine {
        phase,
        records: outcome.records,
        fields,
    })
}

fn consume_report(connection: Connection, plan: &ConsumePlan) -> Result<ResultLine, BenchError> {
    let outcome = consume::run(connection, plan)?;
    let throughput = stats::Throughput {
        records: outcome.records,
        payload_bytes: outcome.batch_bytes,
        elapsed: outcome.elapsed,
    };
    Ok(ResultLine {
        phase: "consume",
        records: outcome.records,
        fields: vec![
            ("secs", format!("{:.3}", outcome.elapsed.as_secs_f64())),
            ("msgs_per_s", format!("{:.0}", throughput.records_per_sec())),
            ("mb_per_s", format!("{:.2}", throughput.megabytes_per_sec())),
            ("fetches", outcome.fetches.to_string()),
        ],
    })
}

/// The broker's user + system CPU seconds so far, if a pid was given.
fn broker_cpu_seconds(pid: Option<u32>) -> Result<Option<f64>, BenchError> {
    let Some(pid) = pid else {
        return Ok(None);
    };
    let stat = std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/stat")))
        .map_err(|_| BenchError::ProcStat { pid })?;
    let ticks = cpu_ticks_from_stat(&stat).ok_or(BenchError::ProcStat { pid })?;
    Ok(Some(ticks_to_seconds(ticks, clock_ticks_per_second())))
}

/// USER_HZ from `getconf CLK_TCK`; 100 (its value on every mainstream Linux) if that fails.
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}
