//! One simulated client's state, the state all clients share (generator, output queue,
//! counters), and the seed's draw of client roles.
//!
//! An operation may need several requests at once (a poll sends one Fetch per leader
//! node): [`InFlight`] holds them all, each [`Pending`] naming its node and the partitions
//! it asked about; the operation stays in flight until they are answered (or it fails).

use super::class::DurabilityClass;
use super::history::HistoryRecorder;
use super::leaders::LeaderCache;
use super::reader::ReaderState;
use super::requests;
use super::responses::PartitionRead;
use super::{ClientOutput, ClientRole, WorkloadConfig, RETRY_BACKOFF_NS};
use odradek_core::wire::RequestBody;
use odradek_core::Mono;
use odradek_jepsen::history::{OpType, Value};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

/// One request awaiting its answer.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub node: usize,
    pub correlation_id: i32,
    /// The partitions of the client's topic this request is about.
    pub partitions: Vec<i32>,
}

/// The operation a client is waiting on: its requests not yet answered.
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
    pub pending: Vec<Pending>,
    pub deadline: Mono,
    pub purpose: Purpose,
}

impl InFlight {
    /// Is a request to `node` still unanswered?
    pub(crate) fn awaits(&self, node: usize) -> bool {
        self.pending.iter().any(|p| p.node == node)
    }
}

/// Why a request was sent; the recorded ones are `Send` and `Poll`.
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    CreateTopics,
    Send {
        class: DurabilityClass,
        partition: i32,
        values: Vec<i64>,
    },
    Poll {
        positions: BTreeMap<i32, i64>,
        /// What the Fetches answered so far read.
        reads: BTreeMap<i32, PartitionRead>,
    },
    Metadata,
    ListOffsets {
        timestamp: i64,
    },
}

/// One simulated client.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub role: ClientRole,
    pub process: i64,
    pub wake_at: Option<Mono>,
    pub in_flight: Option<InFlight>,
    /// Consumers and final readers.
    pub reader: Option<ReaderState>,
    /// The setup client: topics not created yet.
    pub missing_topics: Vec<DurabilityClass>,
    /// The last error this client met, for progress messages.
    pub last_error: Option<String>,
    /// Producers: each send carries 1 ..= this many records (drawn per send).
    pub records_per_send_max: usize,
    /// Producers: payload bytes after each record's value (records carry data, and batches
    /// that cross 512-byte sectors are what a power loss can tear).
    pub payload_bytes: usize,
    /// Who leads the partitions of the client's topic.
    pub leaders: LeaderCache,
    /// A Metadata answer came since the client last acted on its cache: act on what it
    /// knows (even if some leader is unknown) rather than refresh again at once.
    pub metadata_fresh: bool,
    /// The node whose last Metadata (or CreateTopics) failed: the retry asks another.
    pub avoid_node: Option<usize>,
    /// Producers: the partition of the next send, drawn before its leader was known.
    pub next_send_partition: Option<i32>,
}

/// State every client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: WorkloadConfig,
    pub partitions: i32,
    pub rng: ChaCha8Rng,
    pub outputs: VecDeque<(usize, ClientOutput)>,
    pub next_correlation_id: i32,
    pub next_value: i64,
    pub next_process: i64,
    pub operations_started: u64,
    pub corrupt_batches_seen: u64,
    pub setup_complete: bool,
    pub operations_stopped: bool,
    pub final_reads_started: bool,
}

impl Shared {
    /// May a worker invoke a new send or poll now?
    pub fn may_start_operation(&self) -> bool {
        self.setup_complete
            && !self.operations_stopped
            && self.operations_started < self.config.operations_max
    }

    /// A pause of about the think time.
    pub fn think_delay(&mut self) -> u64 {
        let think = self.config.think_time_ns;
        if think == 0 {
            return 0;
        }
        self.rng
            .random_range(think / 2..=think.saturating_add(think / 2))
    }

    /// The pause after an error.
    pub fn retry_delay(&mut self) -> u64 {
        self.think_delay().max(RETRY_BACKOFF_NS)
    }

    /// A fresh process number.
    pub fn fresh_process(&mut self) -> i64 {
        let process = self.next_process;
        self.next_process += 1;
        process
    }

    /// A node to ask for metadata (or to create topics): node 0 in a single-node world (no
    /// draw), else drawn from the seed among all nodes but `avoid`.
    pub fn pick_node(&mut self, avoid: Option<usize>) -> usize {
        let nodes = self.config.nodes.max(1);
        if nodes == 1 {
            return 0;
        }
        match avoid.filter(|&a| a < nodes) {
            Some(avoid) => {
                let drawn = self.rng.random_range(0..nodes - 1);
                if drawn >= avoid {
                    drawn + 1
                } else {
                    drawn
                }
            }
            None => self.rng.random_range(0..nodes),
        }
    }

    /// Emits a request from `client` and returns its correlation id.
    pub fn send(&mut self, client: usize, node: usize, body: RequestBody, version: i16) -> i32 {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.checked_add(1).unwrap_or(1);
        let client_id = format!("odradek-sim-{client}");
        let request = requests::decoded(body, version, correlation_id, &client_id);
        self.outputs
            .push_back((client, ClientOutput::Send { node, request }));
        correlation_id
    }

    /// The request timeout in whole milliseconds, for the requests that carry one.
    pub fn timeout_ms(&self) -> i32 {
        i32::try_from(self.config.request_timeout_ns / 1_000_000).unwrap_or(i32::MAX)
    }
}

impl Client {
    pub(crate) fn new(role: ClientRole, process: i64, partitions: i32, nodes: usize) -> Client {
        let reader = match role {
            ClientRole::Producer(_) | ClientRole::Setup => None,
            ClientRole::Consumer(class) => Some(ReaderState::new(class, partitions, false)),
            ClientRole::FinalReader(class) => Some(ReaderState::new(class, partitions, true)),
        };
        let missing_topics = match role {
            ClientRole::Setup => DurabilityClass::ALL.to_vec(),
            _ => Vec::new(),
        };
        Client {
            role,
            process,
            wake_at: None,
            in_flight: None,
            reader,
            missing_topics,
            last_error: None,
            records_per_send_max: 1,
            payload_bytes: 0,
            leaders: LeaderCache::new(nodes),
            metadata_fresh: false,
            avoid_node: None,
            next_send_partition: None,
        }
    }

    /// The class whose topic this client uses (none for the setup client).
    pub(crate) fn class(&self) -> Option<DurabilityClass> {
        match self.role {
            ClientRole::Setup => None,
            ClientRole::Producer(class)
            | ClientRole::Consumer(class)
            | ClientRole::FinalReader(class) => Some(class),
        }
    }

    /// Sends one request to `node` about `partitions` and waits for its answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn request(
        &mut self,
        shared: &mut Shared,
        client: usize,
        now: Mono,
        (node, partitions): (usize, Vec<i32>),
        body: RequestBody,
        version: i16,
        purpose: Purpose,
    ) {
        self.request_each(
            shared,
            client,
            now,
            vec![(node, partitions, body)],
            version,
            purpose,
        );
    }

    /// Sends one request per (node, partitions, body) and waits for all their answers.
    pub(crate) fn request_each(
        &mut self,
        shared: &mut Shared,
        client: usize,
        now: Mono,
        requests: Vec<(usize, Vec<i32>, RequestBody)>,
        version: i16,
        purpose: Purpose,
    ) {
        let pending = requests
            .into_iter()
            .map(|(node, partitions, body)| Pending {
                node,
                correlation_id: shared.send(client, node, body, version),
                partitions,
            })
            .collect();
        self.in_flight = Some(InFlight {
            pending,
            deadline: Mono(now.0.saturating_add(shared.config.request_timeout_ns)),
            purpose,
        });
    }

    /// Sends Metadata for the client's topic to a drawn node.
    pub(crate) fn refresh_metadata(&mut self, shared: &mut Shared, client: usize, now: Mono) {
        let Some(class) = self.class() else {
            return;
        };
        let node = shared.pick_node(self.avoid_node);
        let body = super::leaders::metadata_request(class.topic());
        let version = super::leaders::METADATA_VERSION;
        let target = (node, Vec::new());
        self.request(
            shared,
            client,
            now,
            target,
            body,
            version,
            Purpose::Metadata,
        );
    }

    /// Should the client refresh metadata before a request about `partitions`? (Once per
    /// answer: after a refresh it acts on what it knows.) Consumes the freshness.
    pub(crate) fn wants_refresh(&mut self, partitions: &[i32], now: Mono) -> bool {
        let fresh = std::mem::take(&mut self.metadata_fresh);
        !fresh && self.leaders.needs_refresh(partitions, now)
    }

    /// Completes the outstanding op `info` and retires the process (Jepsen: a crashed
    /// process never comes back); a reader must assign again under the new one.
    pub(crate) fn complete_info(
        &mut self,
        shared: &mut Shared,
        now: Mono,
        f: &str,
        invocation: Value,
        error: &str,
        history: &mut HistoryRecorder,
    ) {
        history.complete(
            now,
            self.process,
            OpType::Info,
            f,
            invocation,
            Some(error.to_owned()),
        );
        self.process = shared.fresh_process();
        if let Some(reader) = self.reader.as_mut() {
            reader.assigned = false;
        }
    }
}

/// Roles for `clients` workers: an `acks=all` producer and consumer first, then the other
/// classes' producers and consumers in a drawn order, then drawn roles; finally shuffled,
/// so which client number plays which role also comes from the seed.
pub(crate) fn draw_roles(rng: &mut ChaCha8Rng, clients: usize) -> Vec<ClientRole> {
    let mut others = vec![
        ClientRole::Producer(DurabilityClass::AcksOne),
        ClientRole::Consumer(DurabilityClass::AcksOne),
        ClientRole::Producer(DurabilityClass::AcksZero),
        ClientRole::Consumer(DurabilityClass::AcksZero),
    ];
    shuffle(rng, &mut others);
    let mut roles = vec![
        ClientRole::Producer(DurabilityClass::AcksAll),
        ClientRole::Consumer(DurabilityClass::AcksAll),
    ];
    roles.extend(others);
    while roles.len() < clients {
        let class = DurabilityClass::ALL[rng.random_range(0..DurabilityClass::ALL.len())];
        roles.push(if rng.random_bool(0.5) {
            ClientRole::Producer(class)
        } else {
            ClientRole::Consumer(class)
        });
    }
    roles.truncate(clients);
    shuffle(rng, &mut roles);
    roles
}

/// The most records a producer puts in one send.
pub(crate) const RECORDS_PER_SEND_MAX: usize = 4;
/// The payload sizes a producer may draw for its records.
pub(crate) const PAYLOAD_SIZES: [usize; 4] = [0, 100, 300, 700];
/// The per-poll record limits a consumer may draw (`None`: unlimited), like a Kafka
/// client's `max.poll.records`.
pub(crate) const POLL_LIMITS: [Option<usize>; 5] = [Some(1), Some(2), Some(3), Some(5), None];

/// Draws how a worker behaves within its role: a producer's most records per send
/// (1 ..= [`RECORDS_PER_SEND_MAX`], so some producers send single records) and payload size
/// (one of [`PAYLOAD_SIZES`]), and a consumer's
/// per-poll record limit (one of [`POLL_LIMITS`]).
pub(crate) fn draw_habits(rng: &mut ChaCha8Rng, client: &mut Client) {
    match client.role {
        ClientRole::Producer(_) => {
            client.records_per_send_max = rng.random_range(1..=RECORDS_PER_SEND_MAX);
            client.payload_bytes = PAYLOAD_SIZES[rng.random_range(0..PAYLOAD_SIZES.len())];
        }
        ClientRole::Consumer(_) => {
            let limit = POLL_LIMITS[rng.random_range(0..POLL_LIMITS.len())];
            if let Some(reader) = client.reader.as_mut() {
                reader.poll_limit = limit;
            }
        }
        ClientRole::Setup | ClientRole::FinalReader(_) => {}
    }
}

/// Fisher–Yates with the workload's generator.
fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}
