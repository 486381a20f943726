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
    /// Create, list, describe and delete topics (like kafka-topics.sh).
    Topics(odradek::console::topics::TopicsArgs),
    /// Produce stdin lines to a topic (like kafka-console-producer.sh).
    Produce(odradek::console::produce::ProduceArgs),
    /// Move a partition onto other brokers, cancel a move, list running moves (like
    /// kafka-reassign-partitions.sh).
    Partitions(odradek::console::partitions::PartitionsArgs),
    /// Print a topic's records (like kafka-console-consumer.sh), by assignment.
    Consume(odradek::console::consume::ConsumeArgs),
    /// Load-generate against a Kafka broker (Odradek or any other): produce, fixed-rate
    /// latency, consume; prints one `RESULT` line per phase.
    Bench(odradek::bench::BenchArgs),
    /// Run a broker: the Kafka protocol on a TCP listener, data in a directory. Prints one
    /// line with the listen address once serving; SIGINT/SIGTERM shut it down gracefully.
    /// Exit status: 0 after a clean shutdown, 1 if it cannot start.
    Serve(ServeFlags),
    /// Run the deterministic simulator on one seed (`--seed N`) or sweep seeds
    /// (`--seeds A..B` on `--jobs` threads); every failure prints the command that replays it.
    /// Exit status: 0 every seed passed, 1 any seed failed, 3 bad input.
    Sim(odradek::sim::SimArgs),
    /// Start (`up --nodes 3`) or stop (`down`) a local cluster of `serve` processes on
    /// loopback, every node a broker and a controller. Exit status: 0 success, 1 failure.
    Cluster(odradek::cluster::ClusterArgs),
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
        Command::Topics(args) => ExitCode::from(odradek::console::topics::run(&args)),
        Command::Produce(args) => ExitCode::from(odradek::console::produce::run(&args)),
        Command::Partitions(args) => ExitCode::from(odradek::console::partitions::run(&args)),
        Command::Consume(args) => ExitCode::from(odradek::console::consume::run(&args)),
        Command::Bench(args) => ExitCode::from(odradek::bench::run(&args)),
        Command::Serve(flags) => odradek::serve::run(&flags),
        Command::Sim(args) => ExitCode::from(odradek::sim::execute(&args, odradek_sim::run)),
        Command::Cluster(args) => ExitCode::from(odradek::cluster::run(&args)),
    }
}
