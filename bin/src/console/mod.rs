//! The console tools: `odradek topics`, `odradek produce`, `odradek consume` — the
//! equivalents of Kafka's `kafka-topics.sh`, `kafka-console-producer.sh` and
//! `kafka-console-consumer.sh`, speaking the Kafka protocol through [`crate::client`].
//!
//! Contract: each tool's `run` returns the process exit status: 0 success, 1 an error from the
//! broker or the connection (printed to stderr with Kafka's error name and message), 3 bad
//! flags that clap could not catch (e.g. `--offset 5` without `--partition`).
//!
//! Why here: the library part of the binary, so tests can call the pieces directly.

pub mod consume;
pub mod decompress;
pub mod format;
pub mod partitions;
pub mod produce;
pub mod topics;

use std::time::Duration;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: the broker or the connection reported an error.
pub const EXIT_ERROR: u8 = 1;
/// Exit status: bad flags.
pub const EXIT_BAD_FLAGS: u8 = 3;

/// The default `--bootstrap-server`.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";
/// How long connecting and a single request may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The flag every console tool takes.
#[derive(clap::Args, Debug, Clone)]
pub struct BootstrapArgs {
    /// The broker to connect to first (`host:port`).
    #[arg(long, default_value = DEFAULT_BOOTSTRAP, global = true)]
    pub bootstrap_server: String,
}

/// Prints `error` to stderr as `error: …` and returns [`EXIT_ERROR`].
pub(crate) fn fail(error: impl std::fmt::Display) -> u8 {
    eprintln!("error: {error}");
    EXIT_ERROR
}
