//! Interoperability of the console tools with librdkafka through `kcat` (installed by the
//! test setup; the tests say so and pass vacuously where it is missing): records kcat
//! compresses with every codec are printed by `odradek consume`, keyed records land on the
//! same partitions as with librdkafka's Java-compatible `murmur2_random` partitioner, and
//! kcat reads what `odradek produce` wrote.

mod console_support;

use std::io::Write;
use std::process::{Command, Stdio};

use console_support::Broker;

fn kcat_available() -> bool {
    let found = Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        // tests/run installs kcat and sets this: there, a missing kcat is a failure, not a skip.
        assert!(
            std::env::var_os("ODRADEK_REQUIRE_CLIENTS").is_none(),
            "kcat is required (ODRADEK_REQUIRE_CLIENTS is set) but not installed"
        );
        eprintln!("kcat not installed: skipping (tests/run installs it)");
    }
    found
}

fn kcat_produce(broker: &Broker, topic: &str, codec: &str, input: &str) {
    let mut child = Command::new("kcat")
        .args(["-P", "-b", &broker.address, "-t", topic, "-K:", "-z", codec])
        .args(["-X", "partitioner=murmur2_random"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn kcat");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    assert!(
        child.wait().expect("kcat exits").success(),
        "kcat -P failed"
    );
}

#[test]
fn records_kcat_compresses_with_every_codec_are_printed_on_the_java_partitioners_partitions() {
    if !kcat_available() {
        return;
    }
    let broker = Broker::start();
    broker.ok(&["topics", "create", "interop", "--partitions", "3"], "");
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let input: String = (0..5).map(|k| format!("key{k}:{codec}-{k}\n")).collect();
        kcat_produce(&broker, "interop", codec, &input);
    }
    // Our own producer must place the same keys on the same partitions.
    let ours: String = (0..5).map(|k| format!("key{k}:ours-{k}\n")).collect();
    broker.ok(&["produce", "interop", "--key-separator", ":"], &ours);

    let stdout = broker.ok(
        &[
            "consume",
            "interop",
            "--from-beginning",
            "--timeout-ms",
            "1000",
            "--format",
            "{partition} {key} {value}",
        ],
        "",
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 25, "{stdout}");
    for k in 0..5 {
        let key = format!("key{k}");
        let partitions: std::collections::BTreeSet<&str> = lines
            .iter()
            .filter(|line| line.split(' ').nth(1) == Some(key.as_str()))
            .map(|line| line.split(' ').next().unwrap_or_default())
            .collect();
        assert_eq!(partitions.len(), 1, "{key} on several partitions: {stdout}");
        let expected = odradek::client::partitioner::partition_for_key(key.as_bytes(), 3);
        assert!(
            partitions.contains(expected.to_string().as_str()),
            "{key}: {stdout}"
        );
        let values: Vec<&str> = lines
            .iter()
            .filter(|line| line.split(' ').nth(1) == Some(key.as_str()))
            .filter_map(|line| line.split(' ').nth(2))
            .collect();
        let want: Vec<String> = ["gzip", "snappy", "lz4", "zstd", "ours"]
            .iter()
            .map(|codec| format!("{codec}-{k}"))
            .collect();
        assert_eq!(values, want, "{key} out of order: {stdout}");
    }
}

#[test]
fn kcat_reads_what_odradek_produce_wrote() {
    if !kcat_available() {
        return;
    }
    let broker = Broker::start();
    broker.ok(&["topics", "create", "outbound"], "");
    broker.ok(
        &["produce", "outbound", "--key-separator", "="],
        "a=1\nb=2\nc=3\n",
    );
    let output = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &broker.address,
            "-t",
            "outbound",
            "-e",
            "-f",
            "%o %k %s\n",
        ])
        .stderr(Stdio::null())
        .output()
        .expect("run kcat");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "0 a 1\n1 b 2\n2 c 3\n"
    );
}
