//! `odradek serve` under bad input and bad environment: oversized frames and garbage close one
//! connection only; a taken port and an unusable data directory are clear startup errors.

mod serve_support;

use serve_support::*;
use std::io::Write;
use std::process::Command;

fn assert_still_serves(broker: &ServeProcess) {
    let mut other = broker.connect();
    create_topic(&mut other, "still-here", 1);
    assert_eq!(
        produce(&mut other, "still-here", 0, 1, &values("v", 2)).0,
        0
    );
    assert_eq!(fetch_all(&mut other, "still-here", 0), values("v", 2));
}

#[test]
fn an_oversized_frame_closes_only_its_connection_and_is_logged_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut bystander = broker.connect();
    let mut offender = broker.connect();
    let size: i32 = 200 * 1024 * 1024; // above the 100 MiB default
    offender.stream.write_all(&size.to_be_bytes()).unwrap();
    offender.stream.write_all(&[0u8; 64]).unwrap();
    assert!(offender.is_closed_by_broker());
    create_topic(&mut bystander, "after", 1);
    assert_still_serves(&broker);
    let log = broker.log();
    assert!(
        log.contains(&size.to_string()),
        "log does not name the size:\n{log}"
    );
    assert!(
        log.contains("127.0.0.1:"),
        "log does not name the peer:\n{log}"
    );
}

#[test]
fn garbage_bytes_get_the_connection_closed_and_the_broker_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = ServeProcess::start(&dir.path().join("data"), &[]);
    for garbage in [
        &[0xffu8, 0xff, 0xff, 0xff][..], // negative size
        &[0, 0, 0, 12, 0x7f, 0x7f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0][..], // unknown api key
        &[0, 0, 0, 4, 1, 2, 3, 4][..],   // too short for a header
        &[
            0, 0, 0, 16, 0, 3, 0, 12, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ][..],
    ] {
        let mut client = broker.connect();
        client.stream.write_all(garbage).unwrap();
        assert!(client.is_closed_by_broker(), "not closed after {garbage:?}");
    }
    assert!(broker.is_running());
    assert_still_serves(&broker);
}

#[test]
fn a_taken_port_is_a_clear_error_with_exit_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(["serve", "--listen", &address, "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}

#[test]
fn an_unusable_data_dir_is_a_clear_error_with_exit_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("data directory"), "{stderr}");
    assert!(stderr.contains("not-a-directory"), "{stderr}");
}

#[test]
fn a_second_broker_on_the_same_data_dir_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = ServeProcess::start(&data, &[]);
    create_topic(&mut broker.connect(), "locked", 1);
    let output = Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("data directory"));
}

#[test]
fn a_client_leaving_with_an_acks_all_produce_pending_harms_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "300"]);
    let mut setup = broker.connect();
    create_topic(&mut setup, "left", 1);
    {
        let mut leaver = broker.connect();
        leaver.send(
            PRODUCE_V,
            produce_request("left", 0, -1, &values("gone", 3)),
        );
    } // dropped: the connection closes before the interval flush answers it
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(broker.is_running());
    let mut stayer = broker.connect();
    assert_eq!(
        produce(&mut stayer, "left", 0, -1, &values("kept", 2)),
        (0, 3)
    );
    let mut expected = values("gone", 3);
    expected.extend(values("kept", 2));
    assert_eq!(fetch_all(&mut stayer, "left", 0), expected);
}

#[test]
fn max_request_bytes_from_the_config_file_bounds_frames() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("odradek.toml");
    std::fs::write(&config, "max_request_bytes = 2048\n").unwrap();
    let config = config.display().to_string();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--config", &config]);
    let mut small = broker.connect();
    create_topic(&mut small, "bounded", 1);
    assert_eq!(produce(&mut small, "bounded", 0, 1, &values("s", 2)).0, 0);
    let mut large = broker.connect();
    large.send(
        PRODUCE_V,
        produce_request("bounded", 0, 1, &values(&"x".repeat(100), 40)),
    );
    assert!(large.is_closed_by_broker());
    assert_eq!(fetch_all(&mut small, "bounded", 0), values("s", 2));
}
