//! Workload tests: `driver` runs the workload against a real `Node` on a `SimDisk` with zero
//! latency; `run` checks whole runs with the Jepsen queue checker; `outcomes` feeds
//! hand-made answers to check how each one completes an operation; `leaders` checks
//! leader routing and metadata refreshes in a cluster; `batches` checks
//! multi-record sends and consumers' per-poll record limits.

mod batches;
mod driver;
mod leaders;
mod outcomes;

mod run;
