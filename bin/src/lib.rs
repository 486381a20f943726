//! # odradek (library part of the binary crate)
//!
//! The OS-facing side of Odradek: real files ([`storage::FileStorage`]), and later sockets,
//! tasks and clocks for the tokio broker adapter. Also every CLI subcommand's implementation,
//! so integration tests can call them without spawning processes.
//!
//! This crate makes no protocol decisions: if code here compares offsets or epochs it belongs
//! in `odradek-core`.

pub mod bench;
pub mod check;
pub mod client;
pub mod cluster;
pub mod config;
pub mod console;
pub mod raft;
pub mod serve;
pub mod sim;
pub mod storage;
