//! One simulated machine: a broker [`Node`] core (absent while crashed), its [`SimDisk`], its
//! wall clock (skew and jumps), and the inputs held while its process is paused.
//!
//! Crash drops the core (all memory); restart recovers through `Node::open` over the same
//! disk — the very recovery path `odradek serve` runs over real files. An incarnation number
//! voids completions (fsyncs) that were in flight when the process died.

use std::collections::BTreeMap;

use crate::disk::{SimDisk, SimDiskProvider};
use crate::invariants::replication;
use odradek_core::controller::IncarnationId;
use odradek_core::node::{Node, NodeConfig, NodeError, NodeInput, TopicPartition};
use odradek_core::time::{Mono, Now};

/// Unix milliseconds at simulated time zero (2026-01-01T00:00:00Z), so record timestamps and
/// time-based retention see realistic wall-clock values.
pub const WALL_EPOCH_MS: i64 = 1_767_225_600_000;

/// The true time at simulated instant `at` (a machine without clock faults).
pub fn world_now(at: Mono) -> Now {
    Now {
        mono: at,
        wall_ms: WALL_EPOCH_MS + (at.0 / 1_000_000) as i64,
    }
}

/// Held work of a paused process, replayed in order at resume.
#[derive(Debug)]
pub enum HeldInput {
    /// A node input (request, connection closed).
    Input(Box<NodeInput>),
    /// A finished sync to perform and report.
    Sync(
        odradek_core::node::TopicPartition,
        odradek_core::log::SyncRequest,
    ),
}

/// A machine of the world.
pub struct NodeHost {
    /// The core, or `None` while crashed.
    pub node: Option<Node<SimDiskProvider>>,
    /// The disk (survives crashes).
    pub disk: SimDisk,
    /// The core's static configuration (restarts reuse it).
    pub config: NodeConfig,
    /// Bumped at every crash.
    pub incarnation: u64,
    /// Whether the process is paused.
    pub paused: bool,
    /// Inputs that arrived while paused.
    pub held: Vec<HeldInput>,
    /// Wall-clock offset from the world's clock, in milliseconds (skew plus jumps).
    pub clock_offset_ms: i64,
    /// When the node timer event currently queued is due (older timer events are stale
    /// and ignored).
    pub timer_armed_at: Option<Mono>,
    /// Times this host crashed.
    pub crashes: u64,
    /// Consecutive failed starts (for the restart backoff).
    pub failed_starts: u32,
    /// What the disk kept of each partition at the last crash (for the replication check
    /// while a restarted process has not reopened it).
    pub durable_at_crash: BTreeMap<TopicPartition, u64>,
    /// The running core's [`Node::state_version`] when its invariants last held, so an
    /// event that did not touch it does not check them again (reset at start and crash).
    pub invariants_held_at: Option<u64>,
    /// The running core's `poll_timeout` as of a state version (reset at start and crash).
    pub timeout_seen: Option<(u64, Option<Mono>)>,
}

impl NodeHost {
    /// A fresh machine with an empty disk; the core is opened by [`NodeHost::start`].
    pub fn new(disk: SimDisk, config: NodeConfig, clock_offset_ms: i64) -> NodeHost {
        NodeHost {
            node: None,
            disk,
            config,
            incarnation: 0,
            paused: false,
            held: Vec::new(),
            clock_offset_ms,
            timer_armed_at: None,
            crashes: 0,
            failed_starts: 0,
            durable_at_crash: BTreeMap::new(),
            invariants_held_at: None,
            timeout_seen: None,
        }
    }

    /// The `Now` this machine sees at simulated time `at`.
    pub fn now(&self, at: Mono) -> Now {
        let now = world_now(at);
        Now {
            mono: at,
            wall_ms: now.wall_ms + self.clock_offset_ms,
        }
    }

    /// Opens the core from the disk (first start and every restart). A cluster broker gets
    /// a fresh incarnation id for this run (Kafka's incarnation UUID): its broker id in the
    /// high half, the run count in the low half, so no two runs of any broker share one.
    pub fn start(&mut self, at: Mono) -> Result<(), NodeError> {
        if let Some(cluster) = self.config.cluster.as_mut() {
            let broker = u128::from(cluster.broker_id.0 as u32);
            cluster.incarnation = IncarnationId((broker << 64) | u128::from(self.incarnation + 1));
        }
        let provider = SimDiskProvider::new(self.disk.clone());
        let node = Node::open(provider, self.config.clone(), self.now(at))?;
        self.node = Some(node);
        self.paused = false;
        self.timer_armed_at = None;
        self.invariants_held_at = None;
        self.timeout_seen = None;
        Ok(())
    }

    /// The process dies: memory and held inputs are gone; with `power_loss` the disk loses
    /// (or tears) its unsynced writes too.
    pub fn crash(&mut self, power_loss: bool) {
        if let Some(node) = self.node.as_mut() {
            replication::durable_at_crash(node, power_loss, &mut self.durable_at_crash);
        }
        self.node = None;
        self.held.clear();
        self.paused = false;
        self.incarnation += 1;
        self.crashes += 1;
        self.timer_armed_at = None;
        self.invariants_held_at = None;
        self.timeout_seen = None;
        if power_loss {
            self.disk.crash();
        }
    }

    /// Checks the core's invariants (panicking on a violation, as `Node::check_invariants`)
    /// unless they already held at its current state version.
    pub fn check_invariants(&mut self) {
        if let Some(node) = &self.node {
            let version = node.state_version();
            if self.invariants_held_at != Some(version) {
                node.check_invariants();
                self.invariants_held_at = Some(version);
            }
        }
    }

    /// The core's next timer (`None` while crashed or paused), asking the core only when its
    /// state version moved since the last answer.
    pub fn poll_timeout(&mut self) -> Option<Mono> {
        let node = self.node.as_ref().filter(|_| !self.paused)?;
        let version = node.state_version();
        match self.timeout_seen {
            Some((seen, timeout)) if seen == version => timeout,
            _ => {
                let timeout = node.poll_timeout();
                self.timeout_seen = Some((version, timeout));
                timeout
            }
        }
    }

    /// Is the core running (not crashed, not paused)?
    pub fn is_running(&self) -> bool {
        self.node.is_some() && !self.paused
    }
}
