//! The `odradek` command line: see `odradek --help`.

use clap::{Parser, Subcommand};

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
    /// Print the version and what this build can do.
    Info,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            println!("odradek {}", env!("CARGO_PKG_VERSION"));
            std::process::ExitCode::SUCCESS
        }
    }
}
