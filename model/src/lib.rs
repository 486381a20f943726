//! # odradek-model
//!
//! Executable reference specifications: plain, obviously-right implementations of what
//! Odradek's cores must do, with no performance concerns and no failure handling beyond what
//! the specification itself says. Model tests (proptest) run a core and its model side by side
//! and compare them after every operation, crashes included.
//!
//! - [`controller`]: topic metadata as a map of name → partition count and configs.
//! - [`log`]: a partition log as a `Vec` of batches.

pub mod controller;
pub mod log;
