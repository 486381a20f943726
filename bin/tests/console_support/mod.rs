//! Shared by the console tests: a real `odradek serve` on a free loopback port with a
//! temporary data directory (killed by PID when dropped), and a helper that runs console
//! commands as processes against it.
#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `odradek` binary under test.
pub fn odradek_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_odradek"))
}

/// A running `odradek serve`.
pub struct Broker {
    child: Child,
    pub address: String,
    _data: tempfile::TempDir,
}

impl Broker {
    /// Starts a broker with topic auto-creation on.
    pub fn start() -> Broker {
        Broker::start_with(true)
    }

    /// Starts a broker with `auto.create.topics.enable` set as given, and waits until it
    /// accepts connections.
    pub fn start_with(auto_create: bool) -> Broker {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let config = data.path().join("odradek.toml");
        std::fs::write(
            &config,
            format!("auto_create_topics_enable = {auto_create}\n"),
        )
        .expect("write config");
        let child = Command::new(odradek_binary())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", &address, "--advertised-listener", &address])
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn odradek serve");
        let broker = Broker {
            child,
            address,
            _data: data,
        };
        broker.wait_until_listening();
        broker
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(&self.address).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "odradek serve did not listen on {} within 20 s",
            self.address
        );
    }

    /// Runs `odradek ARGS --bootstrap-server ADDRESS` with `stdin`, waiting for it to exit.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.spawn(args);
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("wait for odradek")
    }

    /// Starts `odradek ARGS --bootstrap-server ADDRESS` with piped stdin, stdout and stderr.
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(odradek_binary())
            .args(args)
            .args(["--bootstrap-server", &self.address])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn odradek")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "odradek {args:?} failed with {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// The exit status and stderr of a finished command.
pub fn status_and_stderr(output: &Output) -> (Option<i32>, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
