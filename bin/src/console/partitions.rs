//! `odradek partitions reassign|list-reassignments` (Kafka's `kafka-reassign-partitions.sh`,
//! one partition at a time).
//!
//! Contract:
//! - `reassign --topic T --partition N --replicas 2,3,4` sends AlterPartitionReassignments
//!   (KIP-455) to the bootstrap server, which forwards it to the controller; `--cancel`
//!   instead of `--replicas` sends a null replica list, which cancels a running move;
//!   `--disallow-replication-factor-change` sends v1's flag (KIP-860), so a target of
//!   another size than the current replicas is refused (INVALID_REPLICATION_FACTOR). A move
//!   the controller refuses prints Kafka's error name and the controller's message and gives
//!   exit status 1. With `--wait`, the tool then polls ListPartitionReassignments and
//!   Metadata until the move is no longer running and the replicas are the target (exit 1 if
//!   `--timeout-secs` passes first; the broker's image can lag the controller, so "not
//!   running" alone could be read before the move shows) and prints the partition's
//!   replicas, leader and ISR from Metadata.
//! - `list-reassignments [--topic T]` sends ListPartitionReassignments and prints every
//!   running move as `T-N: replicas: 1,2,4. adding: 4. removing: 1.` under a heading, or
//!   `No partition reassignments found.`, in `kafka-reassign-partitions.sh`'s wording.
//! - Flags clap rejects (no `--replicas` nor `--cancel`, both, a replica list that is not
//!   distinct integers) give the CLI's bad-input status with clap's message.
//!
//! Why: operators move partitions onto new brokers (after one joins) and off brokers being
//! retired, and need to see when the move is done.

use std::time::{Duration, Instant};

use clap::{ArgGroup, Args, Subcommand};
use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use odradek_core::wire::kafka_protocol::messages::metadata_response::MetadataResponsePartition;
use odradek_core::wire::kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{RequestBody, ResponseBody};

use super::{fail, BootstrapArgs, EXIT_OK, IO_TIMEOUT};
use crate::client::{BrokerError, Client, ClientError};

/// How long the broker may take to answer an admin request.
const ADMIN_TIMEOUT_MS: i32 = 30_000;
/// How often `--wait` asks whether the move is still running.
const WAIT_POLL: Duration = Duration::from_millis(500);

/// `odradek partitions …`.
#[derive(Args, Debug)]
pub struct PartitionsArgs {
    /// Broker connection.
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: PartitionsAction,
}

/// The `partitions` actions.
#[derive(Subcommand, Debug)]
pub enum PartitionsAction {
    /// Move a partition onto a new replica set (or cancel its running move).
    Reassign(ReassignArgs),
    /// Print the partition moves still running.
    ListReassignments {
        /// Only this topic's moves (all topics when absent).
        #[arg(long)]
        topic: Option<String>,
    },
}

/// `odradek partitions reassign …`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
#[command(group(ArgGroup::new("target").required(true).args(["replicas", "cancel"])))]
pub struct ReassignArgs {
    /// The topic.
    #[arg(long)]
    pub topic: String,
    /// The partition index.
    #[arg(long)]
    pub partition: i32,
    /// The new replica set, broker ids separated by commas; the first is the preferred
    /// leader.
    #[arg(long, value_name = "ID,ID,...", value_parser = parse_replicas)]
    pub replicas: Option<ReplicaList>,
    /// Cancel the partition's running move instead (its replicas go back to the old set).
    #[arg(long)]
    pub cancel: bool,
    /// Refuse the move if it would change the partition's replication factor (KIP-860;
    /// Kafka's flag of the same name).
    #[arg(long, conflicts_with = "cancel")]
    pub disallow_replication_factor_change: bool,
    /// After starting the move, wait until it is complete.
    #[arg(long, conflicts_with = "cancel")]
    pub wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, default_value_t = 300, requires = "wait")]
    pub timeout_secs: u64,
}

/// A replica list as given on the command line: distinct broker ids, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaList(pub Vec<i32>);

/// Parses `2,3,4`: non-negative distinct integers separated by commas.
pub fn parse_replicas(text: &str) -> Result<ReplicaList, String> {
    let mut ids = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let id: i32 = part
            .parse()
            .map_err(|_| format!("{part:?} is not a broker id (expected e.g. 2,3,4)"))?;
        if id < 0 {
            return Err(format!("broker id {id} is negative"));
        }
        if ids.contains(&id) {
            return Err(format!("broker {id} is listed twice"));
        }
        ids.push(id);
    }
    Ok(ReplicaList(ids))
}

/// One running move, as ListPartitionReassignments describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningMove {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Every replica during the move (old and new).
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding: Vec<i32>,
    /// Replicas being removed.
    pub removing: Vec<i32>,
}

/// Runs `odradek partitions …`; returns the exit status.
pub fn run(args: &PartitionsArgs) -> u8 {
    let mut client = match Client::connect(&args.bootstrap.bootstrap_server, IO_TIMEOUT) {
        Ok(client) => client,
        Err(error) => return fail(error),
    };
    let outcome = match &args.action {
        PartitionsAction::Reassign(reassign_args) => reassign(&mut client, reassign_args),
        PartitionsAction::ListReassignments { topic } => {
            list_running(&mut client, topic.as_deref())
                .map(|moves| print!("{}", render(&moves)))
                .map_err(PartitionsError::from)
        }
    };
    match outcome {
        Ok(()) => EXIT_OK,
        Err(error) => fail(error),
    }
}

/// Why a reassignment command failed.
#[derive(Debug, thiserror::Error)]
enum PartitionsError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("Error reassigning partition {partition}: {error}")]
    Refused {
        partition: String,
        error: BrokerError,
    },
    #[error("the reassignment of {partition} was still running after {seconds} s")]
    Timeout { partition: String, seconds: u64 },
}

fn reassign(client: &mut Client, args: &ReassignArgs) -> Result<(), PartitionsError> {
    let name = format!("{}-{}", args.topic, args.partition);
    let response = alter(client, args)?;
    if let Err(error) = outcome_of(&response, &args.topic, args.partition) {
        return Err(PartitionsError::Refused {
            partition: name,
            error,
        });
    }
    if args.cancel {
        println!("Successfully cancelled partition reassignment for {name}.");
        return Ok(());
    }
    println!("Successfully started partition reassignment for {name}.");
    if args.wait {
        wait_until_done(client, args, Duration::from_secs(args.timeout_secs))?;
        println!("Reassignment of partition {name} is complete.");
        print_partition(client, &args.topic, args.partition)?;
    }
    Ok(())
}

/// The AlterPartitionReassignments request of `args`.
pub fn alter_request(args: &ReassignArgs) -> AlterPartitionReassignmentsRequest {
    let replicas = match (&args.replicas, args.cancel) {
        (Some(list), false) => Some(list.0.iter().map(|id| BrokerId(*id)).collect()),
        _ => None,
    };
    let partition = ReassignablePartition::default()
        .with_partition_index(args.partition)
        .with_replicas(replicas);
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_allow_replication_factor_change(!args.disallow_replication_factor_change)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(topic_name(&args.topic))
            .with_partitions(vec![partition])])
}

fn alter(
    client: &mut Client,
    args: &ReassignArgs,
) -> Result<AlterPartitionReassignmentsResponse, ClientError> {
    let request = RequestBody::AlterPartitionReassignments(alter_request(args));
    match client.bootstrap().call(request)? {
        ResponseBody::AlterPartitionReassignments(response) => Ok(response),
        _ => Err(ClientError::UnexpectedResponse {
            api: ApiKey::AlterPartitionReassignments,
        }),
    }
}

/// The outcome the response gives the partition: the request-level error first, then the
/// partition's own; a response that does not mention the partition is an error too.
pub fn outcome_of(
    response: &AlterPartitionReassignmentsResponse,
    topic: &str,
    partition: i32,
) -> Result<(), BrokerError> {
    BrokerError::check(response.error_code, response.error_message.as_deref())?;
    let entry = response
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition);
    match entry {
        Some(entry) => BrokerError::check(entry.error_code, entry.error_message.as_deref()),
        None => Err(BrokerError::new(
            odradek_core::wire::KafkaErrorCode::UnknownServerError.code(),
            Some("the answer does not mention the partition"),
        )),
    }
}

fn wait_until_done(
    client: &mut Client,
    args: &ReassignArgs,
    within: Duration,
) -> Result<(), PartitionsError> {
    let deadline = Instant::now() + within;
    let target = args
        .replicas
        .as_ref()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    loop {
        let running = list_running(client, Some(&args.topic))?;
        let listed = running.iter().any(|m| m.partition == args.partition);
        // The broker's image may not show the move yet right after the controller took
        // it: done only once Metadata also shows the target replicas.
        if !listed && replicas_of(client, &args.topic, args.partition)? == target {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(PartitionsError::Timeout {
                partition: format!("{}-{}", args.topic, args.partition),
                seconds: within.as_secs(),
            });
        }
        std::thread::sleep(WAIT_POLL);
    }
}

/// The moves running for `topic` (every topic when `None`), sorted by topic and partition.
fn list_running(client: &mut Client, topic: Option<&str>) -> Result<Vec<RunningMove>, ClientError> {
    // Kafka's request names partitions one by one (an empty list names none): ask for every
    // move and keep the topic's.
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(ADMIN_TIMEOUT_MS)
        .with_topics(None);
    let ResponseBody::ListPartitionReassignments(response) = client
        .bootstrap()
        .call(RequestBody::ListPartitionReassignments(request))?
    else {
        return Err(ClientError::UnexpectedResponse {
            api: ApiKey::ListPartitionReassignments,
        });
    };
    BrokerError::check(response.error_code, response.error_message.as_deref())?;
    Ok(running_moves(&response)
        .into_iter()
        .filter(|m| topic.is_none_or(|name| name == m.topic))
        .collect())
}

/// The response's moves, sorted by topic and partition.
pub fn running_moves(response: &ListPartitionReassignmentsResponse) -> Vec<RunningMove> {
    let ids = |list: &[BrokerId]| list.iter().map(|id| id.0).collect::<Vec<_>>();
    let mut moves: Vec<RunningMove> = response
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| RunningMove {
                topic: topic.name.0.to_string(),
                partition: p.partition_index,
                replicas: ids(&p.replicas),
                adding: ids(&p.adding_replicas),
                removing: ids(&p.removing_replicas),
            })
        })
        .collect();
    moves.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    moves
}

/// `kafka-reassign-partitions.sh --list`'s text for `moves`.
pub fn render(moves: &[RunningMove]) -> String {
    if moves.is_empty() {
        return "No partition reassignments found.\n".to_string();
    }
    let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let mut out = "Current partition reassignments:\n".to_string();
    for one in moves {
        out.push_str(&format!(
            "{}-{}: replicas: {}. adding: {}. removing: {}.\n",
            one.topic,
            one.partition,
            join(&one.replicas),
            join(&one.adding),
            join(&one.removing),
        ));
    }
    out
}

/// The partition's Metadata entry (`None` when Metadata does not list it).
fn partition_metadata(
    client: &mut Client,
    topic: &str,
    partition: i32,
) -> Result<Option<MetadataResponsePartition>, ClientError> {
    let response = client.metadata(Some(&[topic.to_string()]), false)?;
    Ok(response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions.into_iter())
        .find(|p| p.partition_index == partition))
}

/// The partition's replicas per Metadata (empty when Metadata does not list it).
fn replicas_of(client: &mut Client, topic: &str, partition: i32) -> Result<Vec<i32>, ClientError> {
    let entry = partition_metadata(client, topic, partition)?;
    Ok(entry.map_or_else(Vec::new, |p| p.replica_nodes.iter().map(|b| b.0).collect()))
}

/// Prints the partition's replicas, leader and ISR per Metadata.
fn print_partition(client: &mut Client, topic: &str, partition: i32) -> Result<(), ClientError> {
    if let Some(entry) = partition_metadata(client, topic, partition)? {
        let ids = |list: &[BrokerId]| {
            list.iter()
                .map(|id| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "Topic: {topic}\tPartition: {partition}\tLeader: {}\tReplicas: {}\tIsr: {}",
            entry.leader_id.0,
            ids(&entry.replica_nodes),
            ids(&entry.isr_nodes),
        );
    }
    Ok(())
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

#[cfg(test)]
#[path = "partitions_tests.rs"]
mod tests;
