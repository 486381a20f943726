//! `odradek cluster up` starts a local 3-node cluster that forms (every broker in Metadata)
//! and refuses to start twice in one directory; `odradek cluster down` stops every process
//! it started, by PID.

mod cluster_support;
mod serve_support;

use odradek_core::wire::ResponseBody;
use serve_support::{metadata_request, Client, METADATA_V};
use std::path::Path;
use std::process::{Command, Output};

fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("run odradek")
}

fn pids(dir: &Path) -> Vec<u32> {
    (1..=3)
        .filter_map(|id| std::fs::read_to_string(dir.join(format!("node-{id}.pid"))).ok())
        .map(|text| text.trim().parse().expect("a pid"))
        .collect()
}

fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// A base port whose nine ports (node i uses base+i-1, base+100+i-1 and base+200+i-1) are
/// all free right now.
fn free_port_block() -> u16 {
    loop {
        let base = cluster_support::free_port().min(60_000);
        let all_free = [0, 1, 2, 100, 101, 102, 200, 201, 202]
            .iter()
            .all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok());
        if all_free {
            return base;
        }
    }
}

#[test]
fn cluster_up_forms_a_three_node_cluster_and_cluster_down_stops_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("cluster");
    let dir_text = dir.to_str().expect("utf-8 path");
    let base = free_port_block();
    let base_text = base.to_string();
    let up = odradek(&[
        "cluster",
        "up",
        "--nodes",
        "3",
        "--dir",
        dir_text,
        "--base-port",
        &base_text,
    ]);
    let stdout = String::from_utf8_lossy(&up.stdout).to_string();
    let started = pids(&dir);
    let guard = Guard(started.clone());
    assert!(
        up.status.success(),
        "up failed: {stdout} {}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(stdout.contains("3 nodes up"), "{stdout}");
    assert_eq!(started.len(), 3);
    assert!(started.iter().all(|pid| is_running(*pid)));

    let mut client = Client::connect(format!("127.0.0.1:{base}").parse().expect("address"));
    let ResponseBody::Metadata(metadata) = client.call(METADATA_V, metadata_request(&[])) else {
        panic!("not a Metadata response");
    };
    let mut ids: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3]);

    let again = odradek(&[
        "cluster",
        "up",
        "--nodes",
        "3",
        "--dir",
        dir_text,
        "--base-port",
        &base_text,
    ]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a second up in the same directory is refused"
    );

    let down = odradek(&["cluster", "down", "--dir", dir_text]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(
        started.iter().all(|pid| !is_running(*pid)),
        "a node still runs after down"
    );
    assert!(pids(&dir).is_empty(), "pid files remain");
    drop(guard);
}

/// Kills the processes by PID if the test fails before `down`.
struct Guard(Vec<u32>);

impl Drop for Guard {
    fn drop(&mut self) {
        for pid in &self.0 {
            if is_running(*pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}
