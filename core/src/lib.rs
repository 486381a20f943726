//! # odradek-core
//!
//! Odradek's pure state machines and the Kafka RecordBatch v2 format. Nothing in this crate
//! touches the OS: time arrives as a [`Now`] argument, randomness as a seed in configuration,
//! and storage through the [`storage::Storage`] trait, whose real implementation lives in the
//! `odradek` binary and whose simulated one (`SimDisk`) lives in `odradek-sim`.
//!
//! Why: the same machines run under the deterministic simulator and in production, so any
//! dependence on clocks, OS randomness, threads or run-dependent iteration order would make the
//! simulator lie. `core/clippy.toml` forbids those APIs and the test suite checks that this
//! crate's dependency tree has no async runtime in it.
//!
//! Modules:
//! - [`time`]: the monotonic and wall clocks as plain values.
//! - [`storage`]: the storage contract (segment files) and its durability semantics.
//! - [`record`]: validation and offset assignment for Kafka RecordBatch v2 bytes.
//! - [`log`]: a partition's segmented, checksummed, crash-recoverable commit log.
//! - [`controller`]: cluster metadata (topics, assignments, configs, brokers) as records applied
//!   from a metadata log, and the commands that produce them.
//! - [`replication`]: a partition replica (leader/follower, ISR, high watermark, leader
//!   epochs with epoch-based truncation, `acks`), Kafka's replication design as a machine.
//! - [`quorum`]: the controller quorum's replicated metadata log, a pure Raft machine per
//!   controller node, and its adapter to the controller's `MetadataLog`.
//! - [`node`]: the broker as a pure state machine over decoded Kafka requests, composing the
//!   controller and one partition log per partition.
//! - [`bugs`]: named planted bugs the simulator can switch the core into (never `serve`).
//! - [`wire`]: the Kafka wire protocol codec (frames, requests, responses, error codes).

pub mod bugs;
pub mod controller;
pub mod log;
pub mod node;
pub mod quorum;
pub mod record;
pub mod replication;
pub mod storage;
pub mod time;
pub mod wire;

pub use time::{Mono, Now};
