//! `odradek cluster up` / `odradek cluster down`: a local cluster on loopback for
//! development and demos — N `odradek serve` processes, every one a combined
//! broker+controller of one metadata quorum.
//!
//! # Contract
//! - `up --nodes N --dir D --base-port P` starts node `i` (1..=N) as
//!   `odradek serve --node-id i --listen 127.0.0.1:(P+i-1)
//!   --controller-quorum 1@127.0.0.1:(P+100),… --inter-broker-listen 127.0.0.1:(P+200+i-1)
//!   --data-dir D/node-i`, detached from the terminal (it outlives `up`), with its stdout in
//!   `D/node-i.out`, its logs in `D/node-i.log` and its process id in `D/node-i.pid`. It
//!   waits until every node printed its startup line and Metadata lists all N brokers, then
//!   prints the bootstrap servers and exits 0; otherwise it stops what it started and exits 1.
//!   A directory whose pid files name running processes is refused (run `down` first).
//! - `down --dir D` sends SIGTERM to every process named by a `D/node-*.pid` file (by PID,
//!   through `kill`), waits up to [`STOP_GRACE`] for each to exit (then SIGKILL), and
//!   removes the pid files. Data stays in `D` for the next `up`.
//! - Exit status: 0 success, 1 failure, 3 bad input.

use crate::client::Client;
use clap::{Args, Subcommand};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `up` waits for the cluster to form.
pub const UP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `down` waits for a node to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(15);
/// Most nodes `up` starts.
pub const NODES_MAX: u16 = 9;

/// `odradek cluster`.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// The `cluster` subcommands.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Start a local cluster on loopback (combined broker+controller nodes).
    Up(UpArgs),
    /// Stop the local cluster started by `up` in the same directory.
    Down(DownArgs),
}

/// `odradek cluster up`.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// Number of nodes (each a broker and a controller).
    #[arg(long, default_value_t = 3)]
    pub nodes: u16,
    /// Directory of the nodes' data, logs and pid files.
    #[arg(long, default_value = "odradek-cluster")]
    pub dir: PathBuf,
    /// Client port of node 1; node i listens on base+i-1, its controller on base+100+i-1,
    /// its inter-broker listener on base+200+i-1.
    #[arg(long, default_value_t = 9092)]
    pub base_port: u16,
}

/// `odradek cluster down`.
#[derive(Args, Debug)]
pub struct DownArgs {
    /// The directory given to `up`.
    #[arg(long, default_value = "odradek-cluster")]
    pub dir: PathBuf,
}

/// Runs the subcommand; returns the exit status.
pub fn run(args: &ClusterArgs) -> u8 {
    let result = match &args.command {
        ClusterCommand::Up(up) => cluster_up(up),
        ClusterCommand::Down(down) => cluster_down(&down.dir),
    };
    match result {
        Ok(()) => 0,
        Err(CliError::BadInput(message)) => {
            eprintln!("odradek cluster: {message}");
            3
        }
        Err(CliError::Failed(message)) => {
            eprintln!("odradek cluster: {message}");
            1
        }
    }
}

enum CliError {
    BadInput(String),
    Failed(String),
}

fn failed(context: &str, error: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!("{context}: {error}"))
}

fn cluster_up(args: &UpArgs) -> Result<(), CliError> {
    let nodes = args.nodes;
    if nodes == 0 || nodes > NODES_MAX {
        return Err(CliError::BadInput(format!(
            "--nodes must be 1..={NODES_MAX}"
        )));
    }
    if u32::from(args.base_port) + 200 + u32::from(nodes) > 65535 {
        return Err(CliError::BadInput("--base-port too high".to_string()));
    }
    fs::create_dir_all(&args.dir).map_err(|e| failed("cannot create the directory", e))?;
    if !running_pids(&args.dir).is_empty() {
        return Err(CliError::Failed(format!(
            "a cluster is already running in {} (run `odradek cluster down` first)",
            args.dir.display()
        )));
    }
    let port = |offset: u16, id: u16| args.base_port + offset + id - 1;
    let quorum = (1..=nodes)
        .map(|id| format!("{id}@127.0.0.1:{}", port(100, id)))
        .collect::<Vec<_>>()
        .join(",");
    for id in 1..=nodes {
        if let Err(error) = start_node(&args.dir, id, port(0, id), port(200, id), &quorum) {
            let _ = cluster_down(&args.dir);
            return Err(error);
        }
    }
    let bootstrap: Vec<String> = (1..=nodes)
        .map(|id| format!("127.0.0.1:{}", port(0, id)))
        .collect();
    if let Err(error) = wait_until_formed(&args.dir, nodes, &bootstrap) {
        let _ = cluster_down(&args.dir);
        return Err(error);
    }
    println!(
        "odradek cluster of {nodes} nodes up; bootstrap servers {}; logs and data in {}",
        bootstrap.join(","),
        args.dir.display()
    );
    Ok(())
}

fn start_node(
    dir: &Path,
    id: u16,
    client: u16,
    inter_broker: u16,
    quorum: &str,
) -> Result<(), CliError> {
    let file = |suffix: &str| dir.join(format!("node-{id}.{suffix}"));
    let out = fs::File::create(file("out")).map_err(|e| failed("cannot create a log file", e))?;
    let log = fs::File::create(file("log")).map_err(|e| failed("cannot create a log file", e))?;
    let exe = std::env::current_exe().map_err(|e| failed("cannot find the odradek binary", e))?;
    let child = Command::new(exe)
        .arg("serve")
        .args(["--node-id", &id.to_string()])
        .args(["--listen", &format!("127.0.0.1:{client}")])
        .args(["--controller-quorum", quorum])
        .args([
            "--inter-broker-listen",
            &format!("127.0.0.1:{inter_broker}"),
        ])
        .arg("--data-dir")
        .arg(dir.join(format!("node-{id}")))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| failed("cannot start odradek serve", e))?;
    fs::write(file("pid"), format!("{}\n", child.id()))
        .map_err(|e| failed("cannot write a pid file", e))?;
    Ok(())
}

/// Waits for every node's startup line, then for Metadata to list every broker.
fn wait_until_formed(dir: &Path, nodes: u16, bootstrap: &[String]) -> Result<(), CliError> {
    let deadline = Instant::now() + UP_TIMEOUT;
    for id in 1..=nodes {
        let out = dir.join(format!("node-{id}.out"));
        loop {
            let line = fs::read_to_string(&out).unwrap_or_default();
            if line.starts_with("odradek serving on") {
                break;
            }
            if Instant::now() > deadline || running_pid(dir, id).is_none() {
                let log = dir.join(format!("node-{id}.log"));
                let text = fs::read_to_string(&log).unwrap_or_default();
                let last = text.lines().last().unwrap_or("(empty log)");
                return Err(CliError::Failed(format!(
                    "node {id} did not start ({}): {last}",
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    while Instant::now() < deadline {
        let listed = Client::connect(&bootstrap[0], Duration::from_secs(2))
            .and_then(|mut client| client.metadata(Some(&[]), false))
            .map_or(0, |metadata| metadata.brokers.len());
        if listed == usize::from(nodes) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(CliError::Failed(format!(
        "the brokers did not all register within {} s; see {}",
        UP_TIMEOUT.as_secs(),
        dir.display()
    )))
}

fn cluster_down(dir: &Path) -> Result<(), CliError> {
    let pids = pid_files(dir);
    if pids.is_empty() {
        println!("no cluster in {}", dir.display());
        return Ok(());
    }
    for (_, pid) in &pids {
        if is_running(*pid) {
            signal(*pid, "TERM");
        }
    }
    let mut stuck = Vec::new();
    for (path, pid) in pids {
        let deadline = Instant::now() + STOP_GRACE;
        while is_running(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if is_running(pid) {
            signal(pid, "KILL");
            stuck.push(pid);
        }
        let _ = fs::remove_file(path);
    }
    match stuck.is_empty() {
        true => {
            println!("odradek cluster in {} stopped", dir.display());
            Ok(())
        }
        false => Err(CliError::Failed(format!(
            "processes {stuck:?} ignored SIGTERM and were killed"
        ))),
    }
}

/// Every `node-*.pid` file of `dir` with the process id it names.
fn pid_files(dir: &Path) -> Vec<(PathBuf, u32)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut pids: Vec<(PathBuf, u32)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("node-") && name.ends_with(".pid")
        })
        .filter_map(|path| {
            let pid = fs::read_to_string(&path).ok()?.trim().parse().ok()?;
            Some((path, pid))
        })
        .collect();
    pids.sort();
    pids
}

fn running_pids(dir: &Path) -> Vec<u32> {
    (pid_files(dir).into_iter())
        .map(|(_, pid)| pid)
        .filter(|pid| is_running(*pid))
        .collect()
}

fn running_pid(dir: &Path, id: u16) -> Option<u32> {
    let text = fs::read_to_string(dir.join(format!("node-{id}.pid"))).ok()?;
    let pid = text.trim().parse().ok()?;
    is_running(pid).then_some(pid)
}

/// Whether process `pid` exists and is not a zombie (Linux `/proc`; elsewhere `kill -0`).
fn is_running(pid: u32) -> bool {
    if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = status.rsplit(')').next().unwrap_or("").trim_start();
        return !state.starts_with('Z') && !state.starts_with('X');
    }
    if Path::new("/proc/self").exists() {
        return false;
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}
