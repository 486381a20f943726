//! # odradek-sim
//!
//! The deterministic simulator. Everything here is a pure function of one `u64` seed: no
//! clocks, no OS randomness, no randomly-ordered maps. It runs Odradek's core state machines
//! under injected faults and replays any run bit for bit from its seed.
//!
//! - [`disk`]: `SimDisk`, an in-memory implementation of `core::storage::Storage` with
//!   seeded faults (torn and lost unsynced writes at crash, corruption, misdirected writes,
//!   ENOSPC, fsync failure with fsyncgate semantics, latency).
//! - [`net`]: `SimNet`, the simulated network: TCP-like streams and datagrams between
//!   endpoints with seeded delay, drop (retransmitted on streams), duplicate, reorder,
//!   partitions, swizzle-clog and resets; it tells the world when each message is due.
//!
//! - [`controllers`]: `ControllerHost`, one simulated controller process: a Controller on
//!   one node of the Raft metadata quorum, serving brokers' typed controller requests.
//! - [`options`]: what a run does (fault kinds, intensity, workload size, planted bug),
//!   drawn from the seed.
//! - [`outcome`]: what a run reports (summary, failure, history, trace hash).
//! - [`planted`]: the planted-bug catalogue (scenario and seed bound per bug) and the hunt.
//! - [`world`]: the event loop that runs nodes, disks, network, workload and nemesis, in a
//!   safety and a liveness phase, and checks the history; [`run`] runs one seed.
//! - [`invariants`]: the properties checked at every emitted response.
//! - [`workload`]: the simulated Kafka clients (producers per `acks` class, assign-mode
//!   consumers, final readers) as a deterministic machine recording a Jepsen queue history.

pub mod controllers;
pub mod disk;
pub mod invariants;
pub mod net;
pub mod options;
pub mod outcome;
pub mod planted;
pub mod workload;
pub mod world;

pub use options::{options_from_seed, FaultKind, FaultSelection, FaultSet, Options};
pub use outcome::{Failure, RunResult, Summary};
pub use world::run;
