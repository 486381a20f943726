//! One simulated controller process: [`ControllerHost`] runs core's controller logic
//! ([`odradek_core::controller::ControllerHost`], the same code `odradek serve` runs over
//! openraft) on a [`QuorumMetadataLog`] (one node of the Raft metadata quorum) and serves
//! brokers' typed controller requests. The world owns one host per controller node (3, or 1,
//! or 5), sends their quorum messages as datagrams and routes broker requests to them.
//!
//! # Contract
//! - **Pure and deterministic.** Time comes in as [`Now`]; the host reads no clock and keeps
//!   only ordered maps and vectors. Shape: `handle_*` in, [`ControllerHost::poll_output`]
//!   (quorum messages, broker replies) and [`ControllerHost::poll_timeout`] out. After every
//!   `handle_*`/`start` call the driver drains `poll_output` and re-reads `poll_timeout`.
//! - **Durability.** The Raft [`PersistentState`] (term, vote, log) is what a crash keeps.
//!   The quorum's driver contract is to store it after each call, before sending that call's
//!   messages. Controller disks are not faulted (yet): a store always succeeds and survives
//!   every crash intact, and crashes happen between calls, so storing after every call is
//!   the same as capturing the state at the crash. The host does the latter (copying the log
//!   once per crash instead of once per message); a faulty controller disk will need a real
//!   store per call. Everything else (the Controller, its heartbeat sessions, the committed
//!   list, pending answers, unsent outputs) is volatile.
//! - **Restart.** [`ControllerHost::start`] rebuilds the quorum node with
//!   `QuorumNode::restart` and a fresh Controller; committed records are applied again as
//!   the node relearns its commit index.
//! - **Every node applies every committed record**, in offset order, to its Controller
//!   (followers keep an image too), and keeps the committed list.
//!   Only the *active* node answers `FetchMetadata` (from that list); others answer
//!   NotController: a follower, or a node restarted a moment ago (its commit index starts
//!   at 0), may know only a prefix of the committed log, and a broker that took a short
//!   answer for the whole log would delete the logs of topics it has not heard of yet.
//! - **Active.** A host is *active* while it leads the quorum and has applied every record
//!   committed before its term, i.e. the quorum's commit index has reached an entry of its
//!   own term (the leader marker), as `LeadershipChange::Became` demands. On becoming
//!   leader the Controller is rebuilt from the committed records, so heartbeat sessions
//!   from an earlier leadership never fence a broker that heartbeated to someone else.
//! - **Commands** (Register, Heartbeat, AlterPartition, CreateTopics) are served only when
//!   active, else answered `NotController`. Their records are proposed and the answer waits
//!   until the batch's last offset commits; a command yielding no records is answered at
//!   once unless this leader's earlier proposals are still uncommitted (the view the answer
//!   was computed from includes them), in which case it waits for them. Losing leadership
//!   (or a new term) answers every pending command `NotController`: it may still commit, and
//!   the broker's retry is idempotent (a retried CreateTopics whose first attempt committed
//!   gets `TopicAlreadyExists`, as in Kafka). At most [`PENDING_ANSWERS_MAX`] commands wait;
//!   beyond that a command is refused with `MetadataLogFull`.
//! - **Broker sessions.** While active, the Controller's session timer runs
//!   (`Controller::poll_timeout`); expired sessions yield fencing records, proposed like a
//!   command (nobody waits for them). A refused fencing proposal is retried after
//!   [`FENCING_RETRY_MS`].
//! - **A record that does not apply** (a bug upstream) stops the node from applying further
//!   records and from serving commands; [`ControllerHost::check_invariants`] reports it.

use odradek_core::controller::{
    BrokerId, CommittedRecord, Controller, ControllerConfig, ControllerEnvelope, ControllerError,
    ControllerHost as HostLogic, ControllerRequest, ControllerResponse, MetadataImage, MetadataLog,
    MetadataLogError, MetadataOffset, MetadataRecord,
};
use odradek_core::quorum::{
    PersistentState, QuorumConfig, QuorumConfigError, QuorumMessage, QuorumMetadataLog, QuorumNode,
};
use odradek_core::time::{Mono, Now};
use std::cell::Cell;
use std::collections::VecDeque;

pub use odradek_core::controller::host::{FENCING_RETRY_MS, PENDING_ANSWERS_MAX};

/// What a host asks the world to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerHostOutput {
    /// A quorum message to another controller node (the world sends it as a datagram).
    Quorum {
        /// The destination controller node.
        to: u32,
        /// The message.
        message: QuorumMessage,
    },
    /// The answer to a broker's request.
    Reply {
        /// The broker that asked.
        broker: BrokerId,
        /// The answer, with the request's correlation id.
        envelope: ControllerEnvelope<ControllerResponse>,
    },
}

/// A configuration a controller host cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControllerHostError {
    /// The quorum configuration is invalid.
    #[error("quorum configuration: {0}")]
    Quorum(#[from] QuorumConfigError),
    /// The controller configuration is invalid.
    #[error("controller configuration: {0}")]
    Controller(#[from] ControllerError),
}

/// One simulated controller process. See the module docs.
#[derive(Clone, Debug)]
pub struct ControllerHost {
    quorum_config: QuorumConfig,
    controller_config: ControllerConfig,
    /// Raft's persistent state as of the last crash (while running, the node's own copy is
    /// the durable one; see the module docs).
    durable: PersistentState,
    /// The process's memory; `None` while crashed (or not started yet).
    running: Option<Running>,
}

/// The volatile state of a running host.
#[derive(Clone, Debug)]
struct Running {
    log: QuorumMetadataLog,
    host: HostLogic,
    outputs: VecDeque<ControllerHostOutput>,
    /// What the Controller's image and view looked like when its invariants last held.
    controller_checked: Cell<Option<ControllerFingerprint>>,
    /// Every invariant held and no input reached this process since: the checks read only
    /// state, so checking again would repeat the same verdict (most simulator events touch
    /// brokers, not controllers).
    unchanged_since_check: Cell<bool>,
    /// `poll_timeout`'s answer since the last input, if asked: it reads only state, and the
    /// world asks every controller after every event.
    timeout_since_input: Cell<Option<Option<Mono>>>,
}

/// Changes whenever the Controller's image or view may have changed (an applied record, a
/// proposal, a leadership change).
type ControllerFingerprint = (Option<MetadataOffset>, MetadataOffset, Option<u64>, bool);

/// The quorum log as the host logic must see it: led only while *active*, i.e. leading and
/// caught up (the commit index has reached an entry of the leader's own term), as
/// `LeadershipChange::Became` demands and the [`MetadataLog`] contract asks.
struct ActiveLog<'a>(&'a mut QuorumMetadataLog);

impl MetadataLog for ActiveLog<'_> {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        self.0.append(records)
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        self.0.poll_committed()
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        self.0.committed_offset()
    }

    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        self.0.read_committed(from, max_records)
    }

    fn leader_term(&self) -> Option<u64> {
        active_term(self.0)
    }
}

/// The term `log`'s node leads in once its commit index has reached an entry of that term.
fn active_term(log: &QuorumMetadataLog) -> Option<u64> {
    let node = log.node();
    let term = node.leader_term()?;
    let commit_index = node.commit_index();
    (commit_index > 0 && node.log()[commit_index as usize - 1].term == term).then_some(term)
}

impl ControllerHost {
    /// A controller process that is not running yet ([`ControllerHost::start`] runs it).
    /// `quorum`'s `node_id` and `voters` are replaced by `node_id` and `voters`. Fails if the
    /// quorum or the controller configuration is invalid.
    pub fn new(
        node_id: u32,
        voters: Vec<u32>,
        quorum: QuorumConfig,
        controller: ControllerConfig,
    ) -> Result<ControllerHost, ControllerHostError> {
        let quorum_config = QuorumConfig {
            node_id,
            voters,
            ..quorum
        };
        QuorumNode::new(quorum_config.clone(), Now::ZERO)?;
        Controller::new(controller.clone())?;
        Ok(ControllerHost {
            quorum_config,
            controller_config: controller,
            durable: PersistentState::default(),
            running: None,
        })
    }

    /// This controller node's id.
    pub fn node_id(&self) -> u32 {
        self.quorum_config.node_id
    }

    /// (Re)starts the process from its durable state. A running host is crashed first.
    pub fn start(&mut self, now: Now) {
        self.crash();
        let durable = std::mem::take(&mut self.durable);
        let node = QuorumNode::restart(self.quorum_config.clone(), durable, now)
            .expect("the configuration was validated by ControllerHost::new");
        let host = HostLogic::new(self.controller_config.clone())
            .expect("the configuration was validated by ControllerHost::new");
        let running = Running {
            log: QuorumMetadataLog::new(node, now),
            host,
            outputs: VecDeque::new(),
            controller_checked: Cell::new(None),
            unchanged_since_check: Cell::new(false),
            timeout_since_input: Cell::new(None),
        };
        self.running = Some(running);
        self.settle();
    }

    /// The process dies: all volatile state (including unpolled outputs) is dropped; the
    /// durable Raft state stays.
    pub fn crash(&mut self) {
        if let Some(running) = self.running.take() {
            self.durable = running.log.node().persistent_state();
        }
    }

    /// Whether the process runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Whether this node is the active controller: it leads the quorum and has applied every
    /// record committed before its term (see the module docs).
    pub fn is_active(&self) -> bool {
        self.running.as_ref().is_some_and(Running::is_active)
    }

    /// The quorum term this node leads in, if it leads (active or still catching up).
    pub fn leader_term(&self) -> Option<u64> {
        self.running.as_ref()?.log.node().leader_term()
    }

    /// The latest quorum term this node has seen (from the durable state while crashed).
    pub fn current_term(&self) -> u64 {
        match &self.running {
            Some(running) => running.log.node().current_term(),
            None => self.durable.current_term,
        }
    }

    /// What survives a crash: Raft's term, vote and log as of the end of the last call.
    pub fn durable_state(&self) -> PersistentState {
        match &self.running {
            Some(running) => running.log.node().persistent_state(),
            None => self.durable.clone(),
        }
    }

    /// A quorum message from controller node `from`. Ignored while crashed.
    pub fn handle_quorum_message(&mut self, now: Now, from: u32, message: QuorumMessage) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        running.log.handle_message(now, from, message);
        self.settle();
    }

    /// A broker's request. Ignored while crashed (a dead process answers nothing).
    pub fn handle_broker_request(
        &mut self,
        now: Now,
        broker: BrokerId,
        envelope: ControllerEnvelope<ControllerRequest>,
    ) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let client = u64::from(broker.0 as u32);
        running
            .host
            .handle_request(now, &mut ActiveLog(&mut running.log), client, envelope);
        self.settle();
    }

    /// Timers: the quorum's (elections, heartbeats) and, while active, broker session
    /// expiry. An early call does nothing.
    pub fn handle_timeout(&mut self, now: Now) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        running.log.handle_timeout(now);
        running.drain_log();
        running
            .host
            .handle_timeout(now, &mut ActiveLog(&mut running.log));
        self.settle();
    }

    /// The next output, in the order produced.
    pub fn poll_output(&mut self) -> Option<ControllerHostOutput> {
        self.running.as_mut()?.outputs.pop_front()
    }

    /// When [`ControllerHost::handle_timeout`] next has work (`None` while crashed). May be
    /// in the past: the timer is then due at once.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let running = self.running.as_ref()?;
        if let Some(known) = running.timeout_since_input.get() {
            return known;
        }
        let quorum = running.log.poll_timeout();
        let sessions = running.session_timeout();
        let timeout = match (quorum, sessions) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        running.timeout_since_input.set(Some(timeout));
        timeout
    }

    /// Every committed record this incarnation learned, in offset order (empty while
    /// crashed).
    pub fn committed_records(&self) -> &[CommittedRecord] {
        self.running
            .as_ref()
            .map_or(&[], |running| running.host.committed_records())
    }

    /// The committed metadata image (`None` while crashed).
    pub fn image(&self) -> Option<&MetadataImage> {
        Some(self.running.as_ref()?.host.controller().image())
    }

    /// The Controller (`None` while crashed), for inspection.
    pub fn controller(&self) -> Option<&Controller> {
        Some(self.running.as_ref()?.host.controller())
    }

    /// The quorum node (`None` while crashed), for inspection.
    pub fn quorum_node(&self) -> Option<&QuorumNode> {
        Some(self.running.as_ref()?.log.node())
    }

    /// How many commands wait for their records to commit.
    pub fn pending_answers(&self) -> usize {
        self.running
            .as_ref()
            .map_or(0, |r| r.host.pending_answers())
    }

    /// Panics with a description of the first broken invariant: the quorum node's, the
    /// Controller's, and the host's own (committed offsets increase and match the image,
    /// every record applied, pending answers bounded). The Controller's checks scan the
    /// whole image, so they run only when its image or view changed since they last held
    /// (heartbeats between controllers change neither).
    pub fn check_invariants(&self) {
        let Some(running) = &self.running else {
            return;
        };
        running.check_invariants(self.node_id());
    }

    /// After every call: react to leadership changes, apply commits and answer what they
    /// complete, queue the quorum's messages. Outputs become pollable only after this.
    fn settle(&mut self) {
        if let Some(running) = self.running.as_mut() {
            running.unchanged_since_check.set(false);
            running.timeout_since_input.set(None);
            running.drain_log();
        }
    }
}

impl Running {
    fn is_active(&self) -> bool {
        self.host.apply_error().is_none() && self.active_term().is_some()
    }

    fn active_term(&self) -> Option<u64> {
        active_term(&self.log)
    }

    fn session_timeout(&self) -> Option<Mono> {
        if !self.is_active() {
            return None;
        }
        self.host.poll_timeout()
    }

    /// Lets the host logic react to what the quorum did (leadership, commits, answers),
    /// then queues its replies and the quorum's messages, in that order.
    fn drain_log(&mut self) {
        while self.log.poll_leadership().is_some() {}
        self.host.settle(&mut ActiveLog(&mut self.log));
        while let Some(reply) = self.host.poll_reply() {
            let broker = BrokerId(reply.client as u32 as i32);
            let envelope = reply.envelope;
            self.outputs
                .push_back(ControllerHostOutput::Reply { broker, envelope });
        }
        while let Some((to, message)) = self.log.poll_send() {
            self.outputs
                .push_back(ControllerHostOutput::Quorum { to, message });
        }
    }

    fn fingerprint(&self) -> ControllerFingerprint {
        let controller = self.host.controller();
        (
            controller.image().last_applied_offset(),
            controller.view().next_offset(),
            self.active_term(),
            controller.has_uncommitted(),
        )
    }

    fn check_invariants(&self, id: u32) {
        if self.unchanged_since_check.get() {
            return;
        }
        self.log.node().check_invariants();
        let fingerprint = self.fingerprint();
        if self.controller_checked.get() != Some(fingerprint) {
            self.host.controller().check_invariants();
            self.controller_checked.set(Some(fingerprint));
        }
        if let Some((offset, error)) = self.host.apply_error() {
            panic!("controller {id}: committed record at {offset:?} does not apply: {error}");
        }
        let committed = self.host.committed_records();
        for pair in committed.windows(2) {
            assert!(
                pair[0].offset < pair[1].offset,
                "controller {id}: committed offsets {:?} then {:?}",
                pair[0].offset,
                pair[1].offset
            );
        }
        assert_eq!(
            self.host.controller().image().last_applied_offset(),
            committed.last().map(|c| c.offset),
            "controller {id}: the image and the committed list disagree"
        );
        let pending = self.host.pending_answers();
        assert!(
            pending == 0 || self.active_term().is_some(),
            "controller {id}: {pending} answers pending on a node that is not active"
        );
        assert!(
            pending <= PENDING_ANSWERS_MAX,
            "controller {id}: {pending} pending answers"
        );
        self.unchanged_since_check.set(true);
    }
}
