//! The `odradek` command line: see `odradek --help`.
//!
//! Exit status: 0 success (for `check`: valid), 1 invalid history, 2 unknown verdict,
//! 3 bad input (wrong flags, unreadable files).

use clap::{Parser, Subcommand};
use odradek::check::{self, CheckArgs, EXIT_BAD_INPUT};
use odradek::config::ServeFlags;
use std::process::ExitCode;

/// Odradek: a Kafka-compatible streaming broker, a deterministic simulator, and a
/// Jepsen-grade history checker.
#[derive(Parser, Debug)]
#[command(name = "odradek", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a history (JSON lines or Jepsen EDN) for Kafka queue anomalies or
    /// linearizability. Exit status: 0 valid, 1 invalid, 2 unknown, 3 bad input.
    Check(CheckArgs),
    /// Run a broker: the Kafka protocol on a TCP listener, data in a directory. Prints one
    /// line with the listen address once serving; SIGINT/SIGTERM shut it down gracefully.
    /// Exit status: 0 after a clean shutdown, 1 if it cannot start.
    Serve(ServeFlags),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => ExitCode::from(check::run(&args)),
        Command::Serve(flags) => odradek::serve::run(&flags),
    }
}
