//! # odradek-jepsen
//!
//! Jepsen-grade history checking, usable on Odradek's own histories and on Jepsen's
//! `history.edn` from any system:
//! - [`history`]: the operation/history data model, pairing of invocations with completions,
//!   and the JSON-lines and EDN formats;
//! - `queue`: the Kafka queue checker with the anomaly names and meanings of Jepsen's Kafka
//!   workload;
//! - `linearizable`: a Wing–Gong/Lowe linearizability checker with P-compositional
//!   partitioning and pluggable models;
//! - `report`: verdicts and self-contained HTML reports with plots.
//!
//! The checkers never guess: a search that runs out of budget answers `unknown`.

pub mod history;
pub mod linearizable;
pub mod queue;
pub mod report;
pub mod verdict;
