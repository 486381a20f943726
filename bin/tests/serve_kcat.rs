//! `odradek serve` with a real Kafka client: kcat (librdkafka) produces with `acks=all` and
//! consumes back. Skipped (with a note) where kcat is not installed.

mod serve_support;

use serve_support::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn kcat_available() -> bool {
    Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[test]
fn kcat_produces_with_acks_all_and_consumes_every_record_back() {
    if !kcat_available() {
        eprintln!("kcat not installed: skipping the librdkafka interoperability test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "every-batch"]);
    let address = broker.address.to_string();
    let mut producer = Command::new("timeout")
        .args([
            "30",
            "kcat",
            "-P",
            "-b",
            &address,
            "-t",
            "kcat-topic",
            "-X",
            "acks=all",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = (0..500).map(|i| format!("line-{i}")).collect();
    producer
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", lines.join("\n")).as_bytes())
        .unwrap();
    assert!(producer.wait().unwrap().success(), "kcat -P failed");

    let consumed = Command::new("timeout")
        .args([
            "30",
            "kcat",
            "-C",
            "-b",
            &address,
            "-t",
            "kcat-topic",
            "-e",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(consumed.status.success(), "kcat -C failed");
    let text = String::from_utf8(consumed.stdout).unwrap();
    assert_eq!(text.lines().collect::<Vec<_>>(), lines);
    assert_eq!(fetch_all(&mut broker.connect(), "kcat-topic", 0), lines);
}
