//! Starting the world, applying nemesis actions, and turning to the liveness phase.
//!
//! Every fault applied is recorded twice: as a nemesis op pair in the history (so reports
//! shade its window) and in the run's fault counters (so the summary proves it happened).

use super::events::Event;
use super::host::HeldInput;
use super::knobs;
use super::nemesis::{self, NemesisAction};
use super::{Phase, World};
use crate::disk::SimDiskFaults;
use crate::net::{Endpoint, NetConfig};
use odradek_core::log::LogError;
use odradek_core::node::NodeError;
use odradek_core::storage::StorageError;
use odradek_core::time::Mono;
use odradek_jepsen::history::{OpType, Value};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Did opening fail because of a storage fault the run injects (a full disk, a failed
/// fsync) rather than a recovery bug?
fn is_injected_storage_failure(error: &NodeError) -> bool {
    let storage = match error {
        NodeError::Storage(storage) => Some(storage),
        NodeError::Log {
            error: LogError::Storage(storage),
            ..
        } => Some(storage),
        _ => None,
    };
    matches!(
        storage,
        Some(StorageError::NoSpace { .. } | StorageError::SyncFailed { .. })
    )
}

fn endpoints(list: &[u32]) -> Vec<Endpoint> {
    list.iter().copied().map(Endpoint).collect()
}

impl World {
    /// Time zero: open every node, arm the disks' faults, draw the fault schedule, start the
    /// workload.
    pub(super) fn start(&mut self) -> Result<(), String> {
        self.start_controllers()?;
        for node in 0..self.hosts.len() {
            self.hosts[node]
                .start(self.now)
                .map_err(|error| format!("node {node} failed to start: {error}"))?;
            self.drain_node(node)?;
            if self.hosts[node].clock_offset_ms != 0 {
                self.count("clock-skew", 1);
            }
            let used = self.hosts[node].disk.used_bytes();
            let faults = knobs::disk_faults(&self.options, used, &mut self.rng);
            self.hosts[node].disk.set_faults(faults);
        }
        let mut nemesis_rng = ChaCha8Rng::seed_from_u64(super::derive_seed(self.options.seed, 4));
        for (at, action) in nemesis::draw_schedule(&self.options, &mut nemesis_rng) {
            self.queue.push(at, Event::Nemesis(action));
        }
        self.queue
            .push(Mono(self.options.safety_ns), Event::EndSafety);
        self.workload.handle_start(self.now, &mut self.recorder);
        self.drain_workload();
        Ok(())
    }

    /// Records a fault as Jepsen does: an `info` invocation and its `info` completion.
    fn nemesis_op(&mut self, f: &str, value: Value) {
        self.recorder
            .nemesis(self.now, OpType::Invoke, f, value.clone());
        self.recorder.nemesis(self.now, OpType::Info, f, value);
    }

    pub(super) fn apply_nemesis(&mut self, action: NemesisAction) -> Result<(), String> {
        if self.phase != Phase::Safety {
            return Ok(()); // the schedule ends with the safety phase
        }
        if let Some(controller) = self.controller_of_process(&action) {
            return self.apply_controller_fault(controller, action);
        }
        match action {
            NemesisAction::Crash { node, power_loss } => {
                self.crash(node, power_loss);
                self.nemesis_op("kill", Value::Int(node as i64));
            }
            NemesisAction::Restart { node } => {
                self.restart(node)?;
                self.nemesis_op("start", Value::Int(node as i64));
            }
            NemesisAction::Pause { node } => {
                self.hosts[node].paused = self.hosts[node].node.is_some();
                self.count("pause", 1);
                self.nemesis_op("pause", Value::Int(node as i64));
            }
            NemesisAction::Resume { node } => {
                self.resume(node)?;
                self.nemesis_op("resume", Value::Int(node as i64));
            }
            NemesisAction::Partition {
                shape,
                from,
                to,
                symmetric,
            } => {
                self.net.block(&endpoints(&from), &endpoints(&to));
                if symmetric {
                    self.net.block(&endpoints(&to), &endpoints(&from));
                }
                self.count(&format!("partition-{}", shape.name()), 1);
                let value = Value::Str(shape.name().to_owned());
                self.nemesis_op("start-partition", value);
            }
            NemesisAction::Heal => {
                let scheduled = self.net.heal(self.now);
                self.schedule(scheduled);
                self.nemesis_op("stop-partition", Value::Nil);
            }
            NemesisAction::Clog { from, to, first } => {
                self.net.clog(Endpoint(from), Endpoint(to));
                self.clogged.insert((from, to));
                self.count("clog", 1);
                if first {
                    self.nemesis_op("start-swizzle-clog", Value::Nil);
                }
            }
            NemesisAction::Unclog { from, to, last } => {
                let scheduled = self.net.unclog(self.now, Endpoint(from), Endpoint(to));
                self.schedule(scheduled);
                self.clogged.remove(&(from, to));
                if last {
                    self.nemesis_op("stop-swizzle-clog", Value::Nil);
                }
            }
            NemesisAction::ResetConnections { client } => {
                self.reset_connections(client);
                self.nemesis_op("reset-connections", Value::Int(client as i64));
            }
            NemesisAction::ClockJump { node, delta_ms } => {
                self.hosts[node].clock_offset_ms += delta_ms;
                self.count("clock-jump", 1);
                self.nemesis_op("bump-clock", Value::Int(delta_ms));
            }
            NemesisAction::MovePartition {
                topic,
                partition,
                target,
            } => {
                let value = match &target {
                    Some(brokers) => format!("{topic}/{partition} to {brokers:?}"),
                    None => format!("{topic}/{partition} cancelled"),
                };
                self.nemesis_op("move-partition", Value::Str(value));
                self.move_partition(topic, partition, target)?;
            }
            NemesisAction::BeginControlledShutdown { node } => {
                self.begin_controlled_shutdown(node)?;
                self.nemesis_op("controlled-shutdown", Value::Int(node as i64));
            }
            NemesisAction::StopAfterControlledShutdown { node } => {
                self.stop_after_controlled_shutdown(node);
                self.nemesis_op("kill", Value::Int(node as i64));
            }
        }
        Ok(())
    }

    /// The controller a process fault strikes: process numbers past the brokers'.
    fn controller_of_process(&self, action: &NemesisAction) -> Option<usize> {
        let process = match action {
            NemesisAction::Crash { node, .. }
            | NemesisAction::Restart { node }
            | NemesisAction::Pause { node }
            | NemesisAction::Resume { node } => *node,
            _ => return None,
        };
        process.checked_sub(self.hosts.len())
    }

    fn apply_controller_fault(
        &mut self,
        controller: usize,
        action: NemesisAction,
    ) -> Result<(), String> {
        let process = Value::Str(format!("controller{controller}"));
        match action {
            NemesisAction::Crash { .. } => {
                self.crash_controller(controller);
                self.nemesis_op("kill", process);
            }
            NemesisAction::Restart { .. } => {
                self.restart_controller(controller)?;
                self.nemesis_op("start", process);
            }
            NemesisAction::Pause { .. } => {
                self.pause_controller(controller, true)?;
                self.nemesis_op("pause", process);
            }
            NemesisAction::Resume { .. } => {
                self.pause_controller(controller, false)?;
                self.nemesis_op("resume", process);
            }
            _ => {}
        }
        Ok(())
    }

    /// The broker asks the controller to move its leadership away (a node that is down
    /// has nothing to shut down).
    fn begin_controlled_shutdown(&mut self, node: usize) -> Result<(), String> {
        let now = self.hosts[node].now(self.now);
        let Some(broker) = self.hosts[node].node.as_mut() else {
            return Ok(());
        };
        broker.begin_controlled_shutdown(now);
        self.count("controlled-shutdown", 1);
        self.drain_node(node)
    }

    /// The process exits: counted as done if the controller confirmed the hand-over and
    /// the broker knows it leads nothing, as forced otherwise (serve's grace ran out).
    fn stop_after_controlled_shutdown(&mut self, node: usize) {
        let Some(broker) = self.hosts[node].node.as_ref() else {
            return;
        };
        let outcome = if broker.controlled_shutdown_done() {
            "controlled-shutdown-done"
        } else {
            "controlled-shutdown-forced"
        };
        self.count(outcome, 1);
        self.crash(node, false);
    }

    fn crash(&mut self, node: usize, power_loss: bool) {
        let host = &mut self.hosts[node];
        if host.node.is_none() {
            return;
        }
        if !power_loss {
            host.disk.process_crash();
        }
        host.crash(power_loss);
        self.count("crash", 1);
        if power_loss {
            self.count("power-loss", 1);
        }
        self.awaited.retain(|(n, _, _), _| *n != node);
        let scheduled = self
            .net
            .reset_endpoint(self.now, Endpoint(nemesis::node_endpoint(node)));
        self.schedule(scheduled);
    }

    fn restart(&mut self, node: usize) -> Result<(), String> {
        if self.hosts[node].node.is_some() {
            return Ok(());
        }
        match self.hosts[node].start(self.now) {
            Ok(()) => {
                self.hosts[node].failed_starts = 0;
                self.count("restart", 1);
                // Recovery may ask to sync the recovered tail before serving it.
                self.drain_node(node)
            }
            Err(error) if is_injected_storage_failure(&error) && self.phase == Phase::Safety => {
                // A broker whose disk is full or fails its fsyncs cannot start (Kafka exits
                // too); an operator restarts it once the disk is healthy — here, a retry
                // with systemd-like backoff (100 ms doubling to 3.2 s), and the liveness phase
                // heals the disk. The failed process dies, so its unsynced writes to a failed
                // file are gone (fsyncgate).
                let host = &mut self.hosts[node];
                host.disk.process_crash();
                let backoff_ms = 100u64 << host.failed_starts.min(5);
                host.failed_starts += 1;
                self.count("restart-failed-storage", 1);
                let retry = Mono(self.now.0 + backoff_ms * 1_000_000);
                self.queue
                    .push(retry, Event::Nemesis(NemesisAction::Restart { node }));
                Ok(())
            }
            Err(error) if !self.options.unsurvivable_faults().is_empty() => {
                self.count("restart-failed-under-corruption-faults", 1);
                let _ = error;
                Ok(())
            }
            Err(error) => Err(format!("node {node} failed to recover: {error}")),
        }
    }

    fn resume(&mut self, node: usize) -> Result<(), String> {
        let host = &mut self.hosts[node];
        if !host.paused {
            return Ok(());
        }
        host.paused = false;
        let held = std::mem::take(&mut host.held);
        for input in held {
            match input {
                HeldInput::Input(input) => self.feed_node(node, *input)?,
                HeldInput::Sync(partition, request) => {
                    let incarnation = self.hosts[node].incarnation;
                    self.sync_done(node, incarnation, partition, request)?;
                }
            }
        }
        Ok(())
    }

    fn reset_connections(&mut self, client: usize) {
        let streams: Vec<_> = self
            .streams
            .iter()
            .filter(|((c, _), _)| *c == client)
            .map(|(_, stream)| *stream)
            .collect();
        for stream in streams {
            let scheduled = self.net.reset_stream(self.now, stream);
            self.schedule(scheduled);
            self.count("connection-reset", 1);
        }
    }

    /// The safety phase is over: stop new operations, heal every fault, fix the clocks,
    /// restart every node (proving recovery once more), and start the final reads.
    pub(super) fn end_safety(&mut self) -> Result<(), String> {
        self.phase = Phase::Liveness;
        self.workload.stop_operations(self.now, &mut self.recorder);
        let scheduled = self.net.heal(self.now);
        self.schedule(scheduled);
        for (from, to) in std::mem::take(&mut self.clogged) {
            let scheduled = self.net.unclog(self.now, Endpoint(from), Endpoint(to));
            self.schedule(scheduled);
        }
        self.net.set_config(NetConfig::default());
        for node in 0..self.hosts.len() {
            self.hosts[node].disk.set_faults(SimDiskFaults::default());
            self.hosts[node].clock_offset_ms = 0;
            self.resume(node)?;
            self.crash(node, false);
            self.restart(node)?;
        }
        for controller in 0..self.controllers.len() {
            self.pause_controller(controller, false)?;
            self.crash_controller(controller);
            self.restart_controller(controller)?;
        }
        self.nemesis_op("heal-all", Value::Nil);
        self.start_final_reads_when_caught_up();
        Ok(())
    }

    /// Starts the final reads once replication has caught up (at once for a standalone
    /// broker); called after every liveness-phase event until it has.
    pub(super) fn start_final_reads_when_caught_up(&mut self) {
        if self.final_reads_started
            || self.phase != Phase::Liveness
            || !self.cluster_converged()
            || !self.replication_caught_up()
        {
            return;
        }
        self.final_reads_started = true;
        self.workload
            .start_final_reads(self.now, &mut self.recorder);
        self.drain_workload();
    }

    /// Adds the network's and the disks' own counts to the run's fault counters.
    pub(super) fn collect_fault_counts(&mut self) {
        self.count_finished_moves();
        let stats = self.net.stats().clone();
        for (name, count) in [
            ("sent", stats.sent),
            ("delivered", stats.delivered),
            ("dropped", stats.dropped),
            ("retransmitted", stats.retransmitted),
            ("duplicated", stats.duplicated),
            ("duplicate-discarded", stats.duplicate_discarded),
            ("reordered", stats.reordered),
            ("held-by-partition", stats.held),
            ("stream-resets", stats.resets),
            ("stream-timeouts", stats.stream_timeouts),
            ("slow-delivery", stats.slow),
        ] {
            self.count(name, count);
        }
        let mut disk_counts: Vec<(String, u64)> = Vec::new();
        for host in &self.hosts {
            for fault in host.disk.fault_log() {
                let name = format!("disk-{}", fault.kind.name());
                match disk_counts.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => *count += 1,
                    None => disk_counts.push((name, 1)),
                }
            }
        }
        for (name, count) in disk_counts {
            self.count(&name, count);
        }
    }
}
