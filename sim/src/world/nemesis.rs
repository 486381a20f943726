//! The nemesis: which faults strike when, drawn from the seed before the run starts.
//!
//! The whole safety-phase schedule is drawn up front from its own RNG stream, so the fault
//! timeline of a seed does not shift when the workload or the cores change how many random
//! numbers they draw. Each action is applied by the world at its time and recorded in the
//! history as a Jepsen nemesis op (`kill`/`start`, `pause`/`resume`,
//! `start-partition`/`stop-partition`, `start-swizzle-clog`/`stop-swizzle-clog`,
//! `reset-connections`, `bump-clock`), so reports shade the fault windows.
//!
//! Process faults never overlap on one node, and network faults (partitions, clogs) never
//! overlap each other, so every stop heals exactly what its start broke.

use crate::options::{FaultKind, Options};
use crate::workload::DurabilityClass;
use odradek_core::time::Mono;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The shape of a partition, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionShape {
    /// One node cut off from everyone.
    IsolateOne,
    /// Endpoints split into two halves that cannot talk.
    Halves,
    /// Like halves, but only one direction is cut.
    OneWay,
}

impl PartitionShape {
    /// Kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            PartitionShape::IsolateOne => "isolate-one",
            PartitionShape::Halves => "halves",
            PartitionShape::OneWay => "one-way",
        }
    }
}

/// One fault action.
#[derive(Clone, Debug, PartialEq)]
pub enum NemesisAction {
    /// The node's process dies; with `power_loss` the machine loses its page cache too
    /// (unsynced writes lost or torn), otherwise unsynced writes survive in the OS.
    Crash {
        /// The node.
        node: usize,
        /// Whether the disk loses unsynced writes.
        power_loss: bool,
    },
    /// The node restarts and recovers from its disk.
    Restart {
        /// The node.
        node: usize,
    },
    /// The node stops processing (SIGSTOP).
    Pause {
        /// The node.
        node: usize,
    },
    /// The node continues (SIGCONT).
    Resume {
        /// The node.
        node: usize,
    },
    /// Messages from `from` to `to` are held (and, if `symmetric`, back too).
    Partition {
        /// The shape, for reports.
        shape: PartitionShape,
        /// Senders cut off.
        from: Vec<u32>,
        /// Receivers cut off.
        to: Vec<u32>,
        /// Cut both directions.
        symmetric: bool,
    },
    /// Every partition is healed.
    Heal,
    /// One directed link is clogged (messages held).
    Clog {
        /// Sender endpoint.
        from: u32,
        /// Receiver endpoint.
        to: u32,
        /// First clog of a swizzle (opens the report window).
        first: bool,
    },
    /// One directed link is unclogged.
    Unclog {
        /// Sender endpoint.
        from: u32,
        /// Receiver endpoint.
        to: u32,
        /// Last unclog of a swizzle (closes the report window).
        last: bool,
    },
    /// Every connection of a client is reset.
    ResetConnections {
        /// The client.
        client: usize,
    },
    /// A node's wall clock jumps.
    ClockJump {
        /// The node.
        node: usize,
        /// By how much (may be negative).
        delta_ms: i64,
    },
    /// An operator asks the active controller to move a partition's replicas onto `target`
    /// (broker ids, preferred leader first), or to cancel its running move (`None`).
    MovePartition {
        /// The topic.
        topic: &'static str,
        /// The partition.
        partition: i32,
        /// The new replica set.
        target: Option<Vec<i32>>,
    },
    /// A broker starts a controlled shutdown (SIGTERM in `odradek serve`).
    BeginControlledShutdown {
        /// The broker.
        node: usize,
    },
    /// The broker's process exits after its controlled shutdown (done or not: serve stops
    /// after its grace period either way); the machine keeps its page cache.
    StopAfterControlledShutdown {
        /// The broker.
        node: usize,
    },
}

/// The endpoint number of node `node`.
pub fn node_endpoint(node: usize) -> u32 {
    node as u32
}

/// The endpoint number of client `client`.
pub fn client_endpoint(client: usize) -> u32 {
    1_000 + client as u32
}

const MS: u64 = 1_000_000;

/// Draws the safety phase's fault schedule, in time order.
pub fn draw_schedule(options: &Options, rng: &mut ChaCha8Rng) -> Vec<(Mono, NemesisAction)> {
    let kinds: Vec<FaultKind> = [
        FaultKind::Partition,
        FaultKind::SwizzleClog,
        FaultKind::ConnectionReset,
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::RestartStorm,
        FaultKind::ClockJump,
        FaultKind::MovePartition,
        FaultKind::ControlledShutdown,
    ]
    .into_iter()
    .filter(|kind| options.has(*kind))
    .collect();
    let mut planner = Planner {
        options,
        actions: Vec::new(),
        node_free_at: vec![0; options.nodes + options.controllers],
        network_free_at: 0,
    };
    if kinds.is_empty() {
        return Vec::new();
    }
    let intensity = options.intensity.clamp(0.0, 1.0);
    let mean_gap = (3_000.0 * (1.1 - intensity)) as u64 * MS;
    let mut at = rng.random_range(0..=mean_gap);
    while at < options.safety_ns {
        let kind = kinds[rng.random_range(0..kinds.len())];
        planner.plan(kind, at, rng);
        at += rng.random_range(mean_gap / 4..=mean_gap * 2).max(MS);
    }
    let mut actions = planner.actions;
    actions.sort_by_key(|(at, _)| *at);
    actions
}

struct Planner<'o> {
    options: &'o Options,
    actions: Vec<(Mono, NemesisAction)>,
    node_free_at: Vec<u64>,
    network_free_at: u64,
}

impl Planner<'_> {
    fn plan(&mut self, kind: FaultKind, at: u64, rng: &mut ChaCha8Rng) {
        match kind {
            FaultKind::Partition if at >= self.network_free_at => self.partition(at, rng),
            FaultKind::SwizzleClog if at >= self.network_free_at => self.swizzle(at, rng),
            FaultKind::ConnectionReset => {
                let client = rng.random_range(0..self.options.clients.max(1));
                self.push(at, NemesisAction::ResetConnections { client });
            }
            FaultKind::Crash | FaultKind::Pause | FaultKind::RestartStorm => {
                // Brokers, then controllers: process numbers past the brokers' are
                // controllers (the world maps them).
                let processes = self.options.nodes + self.options.controllers;
                let node = rng.random_range(0..processes.max(1));
                if at >= self.node_free_at[node] {
                    self.process_fault(kind, node, at, rng);
                }
            }
            FaultKind::ClockJump => {
                let node = rng.random_range(0..self.options.nodes.max(1));
                let delta_ms = rng.random_range(-60_000..=60_000);
                self.push(at, NemesisAction::ClockJump { node, delta_ms });
            }
            FaultKind::MovePartition if self.options.is_cluster() => {
                let action = self.move_partition(rng);
                self.push(at, action);
            }
            FaultKind::ControlledShutdown if self.options.is_cluster() => {
                let node = rng.random_range(0..self.options.nodes);
                if at >= self.node_free_at[node] {
                    self.controlled_shutdown(node, at, rng);
                }
            }
            _ => {}
        }
    }

    /// A move of a random partition of a random topic onto as many random brokers as the
    /// workload's replication factor (min(3, brokers)); one in eight cancels instead.
    fn move_partition(&self, rng: &mut ChaCha8Rng) -> NemesisAction {
        let classes = DurabilityClass::ALL;
        let topic = classes[rng.random_range(0..classes.len())].topic();
        let partition = rng.random_range(0..self.options.partitions.max(1));
        let target = (rng.random_range(0..8) != 0).then(|| {
            let mut brokers: Vec<i32> = (0..self.options.nodes as i32).collect();
            brokers.shuffle(rng);
            brokers.truncate(self.options.nodes.min(3));
            brokers
        });
        NemesisAction::MovePartition {
            topic,
            partition,
            target,
        }
    }

    /// A graceful restart of broker `node`: the shutdown starts at `at`, the process exits
    /// up to 3 s later (serve's grace is 10 s; the hand-over usually takes milliseconds),
    /// and restarts after a down time like a crash's.
    fn controlled_shutdown(&mut self, node: usize, at: u64, rng: &mut ChaCha8Rng) {
        let exit = at + rng.random_range(20 * MS..=3_000 * MS);
        let restart = exit + rng.random_range(10 * MS..=2_000 * MS);
        self.push(at, NemesisAction::BeginControlledShutdown { node });
        self.push(exit, NemesisAction::StopAfterControlledShutdown { node });
        self.push(restart, NemesisAction::Restart { node });
        self.node_free_at[node] = restart + rng.random_range(MS..=100 * MS);
    }

    fn push(&mut self, at: u64, action: NemesisAction) {
        self.actions.push((Mono(at), action));
    }

    fn process_fault(&mut self, kind: FaultKind, node: usize, at: u64, rng: &mut ChaCha8Rng) {
        let power_loss = self.options.has(FaultKind::TornWrites);
        let cycles = if kind == FaultKind::RestartStorm {
            rng.random_range(3..=5)
        } else {
            1
        };
        let mut t = at;
        for _ in 0..cycles {
            let down = if kind == FaultKind::RestartStorm {
                rng.random_range(MS..=50 * MS)
            } else {
                rng.random_range(10 * MS..=2_000 * MS)
            };
            if kind == FaultKind::Pause {
                self.push(t, NemesisAction::Pause { node });
                self.push(t + down, NemesisAction::Resume { node });
            } else {
                self.push(t, NemesisAction::Crash { node, power_loss });
                self.push(t + down, NemesisAction::Restart { node });
            }
            t += down + rng.random_range(MS..=100 * MS);
        }
        self.node_free_at[node] = t;
    }

    fn endpoints(&self) -> Vec<u32> {
        let nodes = (0..self.options.nodes).map(node_endpoint);
        let controllers = (0..self.options.controllers).map(super::cluster::controller_endpoint);
        let clients = (0..self.options.clients).map(client_endpoint);
        nodes.chain(controllers).chain(clients).collect()
    }

    fn partition(&mut self, at: u64, rng: &mut ChaCha8Rng) {
        let mut all = self.endpoints();
        let shape = match rng.random_range(0..3) {
            0 => PartitionShape::IsolateOne,
            1 => PartitionShape::Halves,
            _ => PartitionShape::OneWay,
        };
        let (from, to) = if shape == PartitionShape::IsolateOne {
            let node = node_endpoint(rng.random_range(0..self.options.nodes.max(1)));
            let rest = all.iter().copied().filter(|e| *e != node).collect();
            (vec![node], rest)
        } else {
            all.shuffle(rng);
            let cut = rng.random_range(1..all.len().max(2));
            let (a, b) = all.split_at(cut.min(all.len()));
            (a.to_vec(), b.to_vec())
        };
        let symmetric = shape != PartitionShape::OneWay;
        let duration = rng.random_range(100 * MS..=3_000 * MS);
        let action = NemesisAction::Partition {
            shape,
            from,
            to,
            symmetric,
        };
        self.push(at, action);
        self.push(at + duration, NemesisAction::Heal);
        self.network_free_at = at + duration + MS;
    }

    fn swizzle(&mut self, at: u64, rng: &mut ChaCha8Rng) {
        let mut links = Vec::new();
        for node in 0..self.options.nodes {
            let n = node_endpoint(node);
            let peers = (0..self.options.clients)
                .map(client_endpoint)
                .chain((node + 1..self.options.nodes).map(node_endpoint))
                .chain((0..self.options.controllers).map(super::cluster::controller_endpoint));
            for peer in peers {
                links.push((n, peer));
                links.push((peer, n));
            }
        }
        if links.is_empty() {
            return;
        }
        links.shuffle(rng);
        let count = rng.random_range(1..=links.len());
        let mut t = at;
        for (i, (from, to)) in links.iter().take(count).enumerate() {
            let first = i == 0;
            self.push(
                t,
                NemesisAction::Clog {
                    from: *from,
                    to: *to,
                    first,
                },
            );
            t += rng.random_range(10 * MS..=100 * MS);
        }
        t += rng.random_range(100 * MS..=2_000 * MS);
        let mut clogged: Vec<(u32, u32)> = links.into_iter().take(count).collect();
        clogged.shuffle(rng);
        for (i, (from, to)) in clogged.iter().enumerate() {
            let last = i + 1 == count;
            self.push(
                t,
                NemesisAction::Unclog {
                    from: *from,
                    to: *to,
                    last,
                },
            );
            t += rng.random_range(10 * MS..=100 * MS);
        }
        self.network_free_at = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{options_from_seed, FaultSelection};
    use rand::SeedableRng;

    fn schedule(faults: &[FaultKind], seed: u64) -> Vec<(Mono, NemesisAction)> {
        let selection = FaultSelection {
            pinned: faults.iter().copied().collect(),
            only: true,
            ..FaultSelection::default()
        };
        let mut options = options_from_seed(seed, &selection);
        options.intensity = 1.0;
        draw_schedule(&options, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn no_fault_kinds_means_no_actions() {
        assert!(schedule(&[], 1).is_empty());
        assert!(schedule(&[FaultKind::NetworkDrop], 1).is_empty());
    }

    #[test]
    fn every_crash_is_followed_by_a_restart_of_the_same_node_before_the_next_crash() {
        for seed in 0..20 {
            let mut down: Vec<bool> = vec![false; 8];
            for (_, action) in schedule(&[FaultKind::Crash, FaultKind::RestartStorm], seed) {
                match action {
                    NemesisAction::Crash { node, .. } => {
                        assert!(!down[node], "seed {seed}: crash of a node already down");
                        down[node] = true;
                    }
                    NemesisAction::Restart { node } => {
                        assert!(down[node], "seed {seed}: restart of a running node");
                        down[node] = false;
                    }
                    other => panic!("unexpected action {other:?}"),
                }
            }
            assert!(down.iter().all(|d| !d), "seed {seed}: a node left down");
        }
    }

    #[test]
    fn a_controlled_shutdown_begins_then_stops_then_restarts_its_broker_alone() {
        for seed in 0..20 {
            // 0 running, 1 shutting down, 2 stopped
            let mut state: Vec<u8> = vec![0; 8];
            let mut began = 0;
            let faults = [FaultKind::ControlledShutdown, FaultKind::Crash];
            for (_, action) in schedule(&faults, seed) {
                let (node, from, to) = match action {
                    NemesisAction::BeginControlledShutdown { node } => {
                        began += 1;
                        (node, 0, 1)
                    }
                    NemesisAction::StopAfterControlledShutdown { node } => (node, 1, 2),
                    NemesisAction::Crash { node, .. } => (node, 0, 2),
                    NemesisAction::Restart { node } => (node, 2, 0),
                    other => panic!("unexpected action {other:?}"),
                };
                assert_eq!(state[node], from, "seed {seed}: {action:?} out of turn");
                state[node] = to;
            }
            assert!(
                state.iter().all(|s| *s == 0),
                "seed {seed}: a node left down"
            );
            assert!(began > 0, "seed {seed}: no controlled shutdown drawn");
        }
    }

    #[test]
    fn partitions_heal_before_the_next_network_fault() {
        for seed in 0..20 {
            let mut open = 0i32;
            let actions = schedule(&[FaultKind::Partition, FaultKind::SwizzleClog], seed);
            assert!(!actions.is_empty());
            for (_, action) in actions {
                match action {
                    NemesisAction::Partition { .. } | NemesisAction::Clog { first: true, .. } => {
                        assert_eq!(open, 0, "seed {seed}: overlapping network faults");
                        open += 1;
                    }
                    NemesisAction::Heal | NemesisAction::Unclog { last: true, .. } => open -= 1,
                    _ => {}
                }
            }
            assert_eq!(open, 0);
        }
    }
}
