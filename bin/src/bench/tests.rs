//! Unit tests of `odradek bench`'s pure parts: flags, pacing, percentiles, CPU parsing, record
//! counting and version negotiation. The network paths are exercised by
//! `papers/bench/compare-brokers.sh` against real brokers.

use std::time::Duration;

use clap::Parser;
use odradek_core::record::BatchHeader;

use super::stats::{
    cpu_seconds_per_million, cpu_ticks_from_stat, latency_histogram, record_latency,
    ticks_to_seconds, LatencySummary, Pacer, Throughput,
};
use super::*;

#[derive(Parser, Debug)]
struct Wrapper {
    #[command(flatten)]
    bench: BenchArgs,
}

fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
    let argv = std::iter::once("bench").chain(args.iter().copied());
    Wrapper::try_parse_from(argv).map(|w| w.bench)
}

#[test]
fn defaults_produce_then_consume_a_million_100_byte_records_at_acks_1() {
    let args = parse(&[]).unwrap();
    assert_eq!(args.phases, vec![Phase::Produce, Phase::Consume]);
    assert_eq!(args.records, 1_000_000);
    assert_eq!(args.record_size, 100);
    assert_eq!(args.acks, Acks::Leader);
    assert_eq!(args.fetch_max_wait_ms, 500);
    assert_eq!(args.bootstrap.to_string(), "127.0.0.1:9092");
}

#[test]
fn flags_set_phases_acks_rate_and_pid() {
    let args = parse(&[
        "--phases",
        "latency,produce",
        "--acks",
        "all",
        "--rate",
        "2500",
        "--broker-pid",
        "42",
        "--records",
        "10_000_000",
        "--bootstrap",
        "127.0.0.1:19092",
    ])
    .unwrap();
    assert_eq!(args.phases, vec![Phase::Latency, Phase::Produce]);
    assert_eq!(args.acks, Acks::All);
    assert_eq!(args.acks.wire(), -1);
    assert_eq!(args.rate, 2500.0);
    assert_eq!(args.broker_pid, Some(42));
    assert_eq!(args.records, 10_000_000);
    assert_eq!(args.bootstrap.port(), 19092);
}

#[test]
fn bad_flags_are_rejected() {
    assert!(parse(&["--acks", "2"]).is_err());
    assert!(parse(&["--rate", "0"]).is_err());
    assert!(parse(&["--rate", "-5"]).is_err());
    assert!(parse(&["--records", "0"]).is_err());
    assert!(parse(&["--batch-records", "0"]).is_err());
    assert!(parse(&["--phases", "produce,dance"]).is_err());
    assert!(parse(&["--bootstrap", "nowhere"]).is_err());
}

#[test]
fn acks_parse_all_spellings() {
    assert_eq!(parse_acks("0"), Ok(Acks::None));
    assert_eq!(parse_acks("1"), Ok(Acks::Leader));
    assert_eq!(parse_acks("-1"), Ok(Acks::All));
    assert_eq!(parse_acks("all"), Ok(Acks::All));
    assert_eq!(Acks::All.name(), "all");
}

#[test]
fn latency_plan_sends_one_record_per_request_for_rate_times_seconds() {
    let args = parse(&[
        "--rate",
        "5000",
        "--latency-secs",
        "3",
        "--batch-records",
        "64",
    ])
    .unwrap();
    let plan = args.latency_plan();
    assert_eq!(plan.records, 15_000);
    assert_eq!(plan.batch_records, 1);
    assert_eq!(plan.requests(), 15_000);
    assert_eq!(plan.requests_per_second, Some(5000.0));
    assert_eq!(args.produce_plan().requests_per_second, None);
}

#[test]
fn produce_plan_rounds_requests_up_to_whole_batches() {
    let args = parse(&["--records", "1001", "--batch-records", "100"]).unwrap();
    assert_eq!(args.produce_plan().requests(), 11);
}

#[test]
fn pacer_schedules_sends_at_fixed_offsets_without_drift() {
    let pacer = Pacer::new(5000.0).unwrap();
    assert_eq!(pacer.interval(), Duration::from_micros(200));
    assert_eq!(pacer.due(0), Duration::ZERO);
    assert_eq!(pacer.due(5000), Duration::from_secs(1));
    // Send 10 is due at 2 ms: at 1.5 ms wait 0.5 ms; at 3 ms it is late, no wait.
    assert_eq!(
        pacer.wait_before(10, Duration::from_micros(1500)),
        Duration::from_micros(500)
    );
    assert_eq!(
        pacer.wait_before(10, Duration::from_millis(3)),
        Duration::ZERO
    );
    // A late send does not move the next one's due time.
    assert_eq!(pacer.due(11), Duration::from_micros(2200));
}

#[test]
fn pacer_flags_sends_more_than_one_interval_late() {
    let pacer = Pacer::new(1000.0).unwrap();
    assert!(!pacer.is_behind(5, Duration::from_micros(5999)));
    assert!(!pacer.is_behind(5, Duration::from_micros(6000)));
    assert!(pacer.is_behind(5, Duration::from_micros(6001)));
}

#[test]
fn pacer_refuses_non_positive_or_infinite_rates() {
    assert!(Pacer::new(0.0).is_none());
    assert!(Pacer::new(-1.0).is_none());
    assert!(Pacer::new(f64::NAN).is_none());
    assert!(Pacer::new(f64::INFINITY).is_none());
}

#[test]
fn latency_summary_reports_percentiles_of_recorded_samples() {
    let mut histogram = latency_histogram();
    for micros in 1..=1000 {
        record_latency(&mut histogram, Duration::from_micros(micros));
    }
    let summary = LatencySummary::of(&histogram);
    assert_eq!(summary.count, 1000);
    assert_eq!(summary.p50_us, 500);
    assert_eq!(summary.p99_us, 990);
    assert_eq!(summary.p999_us, 999);
    assert_eq!(summary.max_us, 1000);
}

#[test]
fn a_single_slow_sample_shows_only_above_p99_9() {
    let mut histogram = latency_histogram();
    for _ in 0..9999 {
        record_latency(&mut histogram, Duration::from_micros(100));
    }
    record_latency(&mut histogram, Duration::from_millis(50));
    let summary = LatencySummary::of(&histogram);
    assert_eq!(summary.p99_us, 100);
    assert_eq!(summary.p999_us, 100);
    assert!(summary.max_us >= 49_975, "{summary:?}");
}

#[test]
fn sub_microsecond_latencies_count_as_one_microsecond_and_empty_is_zero() {
    assert_eq!(LatencySummary::of(&latency_histogram()).count, 0);
    let mut histogram = latency_histogram();
    record_latency(&mut histogram, Duration::from_nanos(10));
    assert_eq!(LatencySummary::of(&histogram).p50_us, 1);
}

#[test]
fn throughput_divides_by_elapsed_time() {
    let throughput = Throughput {
        records: 1_000_000,
        payload_bytes: 100_000_000,
        elapsed: Duration::from_secs(4),
    };
    assert_eq!(throughput.records_per_sec(), 250_000.0);
    assert_eq!(throughput.megabytes_per_sec(), 25.0);
    let instant = Throughput {
        elapsed: Duration::ZERO,
        ..throughput
    };
    assert_eq!(instant.records_per_sec(), 0.0);
}

#[test]
fn cpu_time_is_parsed_after_the_command_name_even_with_spaces_and_parens() {
    let stat = "1234 (odr (a) k) S 1 1234 1234 0 -1 4194560 500 0 0 0 \
                250 75 0 0 20 0 8 0 100 1000000 500 18446744073709551615";
    assert_eq!(cpu_ticks_from_stat(stat), Some(325));
    assert_eq!(cpu_ticks_from_stat("garbage"), None);
    assert_eq!(cpu_ticks_from_stat("1 (x) S 1 2"), None);
    assert_eq!(ticks_to_seconds(325, 100), 3.25);
    assert_eq!(cpu_seconds_per_million(3.0, 2_000_000), 1.5);
    assert_eq!(cpu_seconds_per_million(3.0, 0), 0.0);
}

#[test]
fn cpu_time_of_this_process_is_readable_from_proc() {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    assert!(cpu_ticks_from_stat(&stat).is_some());
}

fn stored_batch(base_offset: u64, count: u32) -> Vec<u8> {
    let mut batch = record_batch(count, 10).unwrap().to_vec();
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
    batch
}

#[test]
fn record_batch_holds_the_requested_records() {
    let batch = record_batch(7, 100).unwrap();
    let header = BatchHeader::parse(&batch).unwrap();
    assert_eq!(header.records_count, 7);
    assert!(batch.len() > 700);
    assert!(matches!(record_batch(0, 100), Err(BenchError::EmptyBatch)));
}

#[test]
fn count_records_skips_records_before_the_fetch_offset_and_a_partial_tail() {
    let mut bytes = stored_batch(0, 5);
    bytes.extend(stored_batch(5, 3));
    let whole = bytes.len() as u64;
    let partial = stored_batch(8, 4);
    bytes.extend(&partial[..partial.len() - 1]);
    let counted = count_records(&bytes, 2);
    assert_eq!(
        counted,
        Counted {
            records: 6,
            batch_bytes: whole,
            next_offset: 8
        }
    );
}

#[test]
fn count_records_of_nothing_keeps_the_offset() {
    assert_eq!(
        count_records(&[], 17),
        Counted {
            records: 0,
            batch_bytes: 0,
            next_offset: 17
        }
    );
}

#[test]
fn result_lines_render_as_key_value_pairs() {
    let line = ResultLine {
        phase: "produce",
        records: 10,
        fields: vec![("acks", "1".to_owned()), ("msgs_per_s", "5".to_owned())],
    };
    assert_eq!(
        line.render("tansu"),
        "RESULT label=tansu phase=produce records=10 acks=1 msgs_per_s=5"
    );
}
