//! The node task: the one task that owns the [`Node`], and the loop that drives it.
//!
//! # Contract
//! - Each turn waits for one of: a connection event, a disk completion, the node's timer
//!   (`sleep_until(poll_timeout)`), or the shutdown signal. It reads the clocks once into a
//!   [`Now`], feeds the event plus at most [`EVENTS_PER_TURN`] more already queued ones,
//!   runs the node's timers if due, then drains [`Node::poll_output`] and dispatches every
//!   output: a response is encoded and handed to its connection, a close closes the connection
//!   after the responses before it, a sync goes to the disk worker.
//! - Shutdown: in cluster mode, first a controlled shutdown (the node asks the controller
//!   to move its leadership away and keeps serving until it is done, at most
//!   [`CONTROLLED_SHUTDOWN_GRACE`]); then the acceptor stops, requests in flight are finished (until no connection owes a
//!   response and no sync is outstanding, or [`SHUTDOWN_GRACE`] passed), then every file of
//!   every partition is fsynced through the logs' own handles, and the connections close after
//!   writing what they were handed (waiting at most [`CLOSE_GRACE`]).
//!
//! - Syncs go to the [`DiskWorker`] thread (real files), or, with [`Syncer::Inline`] (a
//!   simulated disk under madsim, where no OS thread may run), are performed in the loop
//!   through the log's own storage before the next output is dispatched.
//!
//! No protocol decisions happen here: everything is the node's.

use super::connection::{Event, Outbound};
use super::disk::{DiskWorker, SyncJob};
use super::peers::PeerLinks;
use odradek_core::controller::{ControllerEnvelope, ControllerRequest};
use odradek_core::node::{ConnectionId, Node, NodeInput, NodeOutput};
use odradek_core::storage::{Storage, StorageProvider};
use odradek_core::time::{Mono, Now};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;

/// Most queued events handled in one turn after the one that woke it.
pub const EVENTS_PER_TURN: usize = 256;
/// Longest wait for the controller to confirm a controlled shutdown (cluster mode).
pub const CONTROLLED_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Longest wait for requests in flight when shutting down.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Longest wait for connections to write their last responses when shutting down.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The node's clocks: monotonic time from a fixed base, wall time from the system.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// A clock whose monotonic zero is now.
    pub fn start() -> Clock {
        Clock {
            base: Instant::now(),
        }
    }

    /// Reads both clocks.
    pub fn now(&self) -> Now {
        let mono = Mono(u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX));
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Now { mono, wall_ms }
    }

    /// The instant a monotonic time stands for.
    pub fn instant(&self, at: Mono) -> Instant {
        self.base + Duration::from_nanos(at.0)
    }
}

struct Peer {
    address: SocketAddr,
    outbound: mpsc::Sender<Outbound>,
}

/// Who performs the node's syncs.
#[derive(Debug)]
pub enum Syncer {
    /// The disk worker thread (real files; group commit).
    Worker(DiskWorker),
    /// The loop itself, through the log's storage (a simulated disk under madsim).
    Inline,
}

/// The node and everything its loop routes to.
pub struct Broker<P: StorageProvider> {
    node: Node<P>,
    clock: Clock,
    data_dir: PathBuf,
    peers: BTreeMap<ConnectionId, Peer>,
    disk: Syncer,
    syncs_outstanding: usize,
    cluster: Option<ClusterLinks>,
}

/// Cluster mode: where the node's controller requests and peer requests go.
pub struct ClusterLinks {
    /// The controller channel ([`super::controller_client`]).
    pub to_controller: mpsc::UnboundedSender<ControllerEnvelope<ControllerRequest>>,
    /// The links to peer brokers.
    pub peers: PeerLinks,
}

/// The channels the loop waits on.
pub struct Inbox {
    /// Connection events.
    pub events: mpsc::Receiver<Event>,
    /// Disk completions.
    pub completions: mpsc::UnboundedReceiver<NodeInput>,
}

impl<P: StorageProvider> Broker<P> {
    /// A broker around an opened node.
    pub fn new(node: Node<P>, clock: Clock, data_dir: PathBuf, disk: Syncer) -> Broker<P> {
        Broker {
            node,
            clock,
            data_dir,
            peers: BTreeMap::new(),
            disk,
            syncs_outstanding: 0,
            cluster: None,
        }
    }

    /// Cluster mode: routes the node's controller and peer requests through `links`.
    pub fn with_cluster(mut self, links: ClusterLinks) -> Broker<P> {
        self.cluster = Some(links);
        self
    }

    /// Serves until `shutdown` resolves; then tells the acceptor to stop (through
    /// `stop_accepting`) and drains (see the module docs).
    pub async fn run(
        mut self,
        inbox: &mut Inbox,
        shutdown: impl std::future::Future<Output = ()>,
        stop_accepting: &tokio::sync::watch::Sender<bool>,
    ) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                turn = self.next_turn(inbox) => if !turn { break },
            }
        }
        self.controlled_shutdown(inbox).await;
        let _ = stop_accepting.send(true);
        self.drain(inbox).await;
    }

    /// Cluster mode: asks the controller to move this broker's leadership and ISR
    /// memberships elsewhere and keeps serving (clients learn the new leaders from
    /// NOT_LEADER_OR_FOLLOWER and Metadata) until that is done or
    /// [`CONTROLLED_SHUTDOWN_GRACE`] passed, as a Kafka broker does before it stops.
    async fn controlled_shutdown(&mut self, inbox: &mut Inbox) {
        if self.cluster.is_none() {
            return;
        }
        let started = Instant::now();
        self.node.begin_controlled_shutdown(self.clock.now());
        self.dispatch();
        let deadline = started + CONTROLLED_SHUTDOWN_GRACE;
        while !self.node.controlled_shutdown_done() {
            let left = deadline.saturating_duration_since(Instant::now());
            let turn = tokio::time::timeout(left, self.next_turn(inbox)).await;
            if !matches!(turn, Ok(true)) {
                tracing::warn!(
                    "controlled shutdown not confirmed by the controller in time; stopping anyway"
                );
                return;
            }
        }
        let waited_ms = started.elapsed().as_millis();
        tracing::info!(
            waited_ms,
            "controlled shutdown done: this broker leads nothing"
        );
    }

    /// Waits for the next event and handles it; false when every input channel closed.
    /// Cancel-safe: it awaits only channel receives and the timer (the handling is sync).
    async fn next_turn(&mut self, inbox: &mut Inbox) -> bool {
        let deadline = self.node.poll_timeout().map(|at| self.clock.instant(at));
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            Some(completion) = inbox.completions.recv() => self.turn(completion_event(completion), inbox),
            Some(event) = inbox.events.recv() => self.turn(event, inbox),
            () = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                let now = self.clock.now();
                self.node.handle_timeout(now);
                self.dispatch();
            }
            else => return false,
        }
        true
    }

    /// One turn: the event, then up to [`EVENTS_PER_TURN`] more queued ones, timers, dispatch.
    fn turn(&mut self, first: Event, inbox: &mut Inbox) {
        let now = self.clock.now();
        self.feed(now, first);
        for _ in 0..EVENTS_PER_TURN {
            let next = match inbox.completions.try_recv() {
                Ok(completion) => completion_event(completion),
                Err(_) => match inbox.events.try_recv() {
                    Ok(event) => event,
                    Err(_) => break,
                },
            };
            self.feed(now, next);
        }
        if self.node.poll_timeout().is_some_and(|at| at <= now.mono) {
            self.node.handle_timeout(now);
        }
        self.dispatch();
    }

    fn feed(&mut self, now: Now, event: Event) {
        match event {
            Event::Opened {
                connection,
                peer,
                outbound,
            } => {
                let peer = Peer {
                    address: peer,
                    outbound,
                };
                self.peers.insert(connection, peer);
            }
            Event::Input(input) => {
                match &*input {
                    NodeInput::Synced { .. } => {
                        self.syncs_outstanding = self.syncs_outstanding.saturating_sub(1);
                    }
                    NodeInput::ConnectionClosed { connection } => {
                        self.peers.remove(connection);
                    }
                    _ => {}
                }
                self.node.handle(now, *input);
            }
        }
    }

    /// Routes every output of the node.
    fn dispatch(&mut self) {
        while let Some(output) = self.node.poll_output() {
            match output {
                NodeOutput::Response {
                    connection,
                    response,
                } => match response.encode() {
                    Ok(frame) => self.send(connection, Outbound::Frame(frame)),
                    Err(error) => {
                        tracing::error!(%error, ?response.api_key, "cannot encode a response; closing");
                        self.close(connection);
                    }
                },
                NodeOutput::Close { connection, reason } => {
                    if let Some(peer) = self.peers.get(&connection) {
                        tracing::info!(peer = %peer.address, %reason, "closing connection");
                    }
                    self.close(connection);
                }
                NodeOutput::Sync { partition, request } => {
                    let directory = self.data_dir.join(partition.directory_name());
                    let job = SyncJob {
                        partition,
                        directory,
                        request,
                    };
                    self.submit_sync(job);
                }
                NodeOutput::ToController(envelope) => {
                    if let Some(cluster) = &self.cluster {
                        let _ = cluster.to_controller.send(envelope);
                    }
                }
                NodeOutput::ToBroker { broker, request } => {
                    if let Some(cluster) = &mut self.cluster {
                        cluster
                            .peers
                            .send(self.node.metadata_image(), broker, request);
                    }
                }
            }
        }
    }

    fn send(&mut self, connection: ConnectionId, outbound: Outbound) {
        let Some(peer) = self.peers.get(&connection) else {
            return; // the client left; the node forgets it on ConnectionClosed
        };
        match peer.outbound.try_send(outbound) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                // Cannot happen while connection tasks respect IN_FLIGHT_MAX; never block.
                tracing::error!(peer = %peer.address, "outbound queue full; closing");
                self.close(connection);
            }
        }
    }

    fn close(&mut self, connection: ConnectionId) {
        if let Some(peer) = self.peers.remove(&connection) {
            let _ = peer.outbound.try_send(Outbound::Close);
        }
    }

    fn submit_sync(&mut self, job: SyncJob) {
        let worker = match &self.disk {
            Syncer::Worker(worker) => worker,
            Syncer::Inline => {
                let now = self.clock.now();
                if let Err(error) = self.node.perform_sync(now, &job.partition, &job.request) {
                    tracing::error!(%job.partition.topic, job.partition.partition, %error, "sync failed");
                }
                return;
            }
        };
        match worker.submit(job) {
            Ok(()) => self.syncs_outstanding += 1,
            Err(job) => {
                tracing::error!("disk worker gone; failing a sync");
                let now = self.clock.now();
                let failed = NodeInput::Synced {
                    partition: job.partition,
                    id: job.request.id,
                    result: Err(odradek_core::storage::StorageError::SyncFailed {
                        name: job.directory.display().to_string(),
                        detail: "the disk worker is gone".to_owned(),
                    }),
                };
                self.node.handle(now, failed);
            }
        }
    }

    /// Requests still owed a response, on every connection.
    fn responses_owed(&self) -> usize {
        self.peers
            .keys()
            .map(|c| self.node.queued_responses(*c))
            .sum()
    }

    /// Finishes requests in flight (bounded by [`SHUTDOWN_GRACE`]), syncs, closes.
    async fn drain(mut self, inbox: &mut Inbox) {
        let owed = self.responses_owed();
        tracing::info!(
            responses_owed = owed,
            syncs = self.syncs_outstanding,
            "shutting down"
        );
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while self.responses_owed() + self.syncs_outstanding > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let turn = tokio::time::timeout(left, self.next_turn(inbox)).await;
            if !matches!(turn, Ok(true)) {
                tracing::warn!(
                    responses_owed = self.responses_owed(),
                    "shutdown grace period over; closing connections with requests in flight"
                );
                break;
            }
        }
        self.dispatch();
        self.sync_everything();
        let mut closing = BTreeSet::new();
        for (connection, peer) in std::mem::take(&mut self.peers) {
            let _ = peer.outbound.try_send(Outbound::Close);
            closing.insert(connection);
        }
        wait_for_closes(closing, &mut inbox.events).await;
        let Broker { disk, .. } = self;
        if let Syncer::Worker(worker) = disk {
            worker.finish();
        }
        tracing::info!("shutdown complete");
    }

    /// Fsyncs every file of every partition through the logs' own handles.
    fn sync_everything(&mut self) {
        let mut synced = 0usize;
        for partition in self.node.partition_names() {
            let Some(log) = self.node.partition_log(&partition) else {
                continue;
            };
            let storage = log.storage_mut();
            let files = storage.list().unwrap_or_default();
            for file in files {
                match storage.sync(&file) {
                    Ok(()) => synced += 1,
                    Err(error) => {
                        tracing::error!(%partition.topic, partition.partition, %error, "final fsync failed")
                    }
                }
            }
        }
        tracing::info!(files = synced, "synced every partition file");
    }
}

/// Waits (up to [`CLOSE_GRACE`]) until every connection in `closing` has written what it was
/// handed and closed: the runtime drops unfinished tasks when serving returns.
async fn wait_for_closes(mut closing: BTreeSet<ConnectionId>, events: &mut mpsc::Receiver<Event>) {
    let deadline = Instant::now() + CLOSE_GRACE;
    while !closing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(Event::Input(input))) => {
                if let NodeInput::ConnectionClosed { connection } = *input {
                    closing.remove(&connection);
                }
            }
            Ok(Some(Event::Opened { outbound, .. })) => {
                let _ = outbound.try_send(Outbound::Close);
            }
            Ok(None) => return,
            Err(_) => {
                tracing::warn!(
                    connections = closing.len(),
                    "connections still writing at exit"
                );
                return;
            }
        }
    }
}

fn completion_event(completion: NodeInput) -> Event {
    Event::Input(Box::new(completion))
}
