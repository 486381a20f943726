//! Unit tests of `odradek partitions`: flag parsing, the request it sends, reading the
//! answers, and the `list-reassignments` text.

use super::*;
use clap::Parser;
use odradek_core::wire::kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use odradek_core::wire::kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    args: PartitionsArgs,
}

fn parse(args: &[&str]) -> Result<PartitionsArgs, clap::Error> {
    let mut argv = vec!["partitions"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).map(|cli| cli.args)
}

fn reassign_args(args: &[&str]) -> ReassignArgs {
    let mut argv = vec!["reassign"];
    argv.extend_from_slice(args);
    match parse(&argv).expect("valid flags").action {
        PartitionsAction::Reassign(args) => args,
        other => panic!("not reassign: {other:?}"),
    }
}

#[test]
fn a_replica_list_is_distinct_broker_ids_separated_by_commas() {
    assert_eq!(parse_replicas("2,3,4"), Ok(ReplicaList(vec![2, 3, 4])));
    assert_eq!(parse_replicas(" 4, 1"), Ok(ReplicaList(vec![4, 1])));
    assert!(parse_replicas("2,x").unwrap_err().contains("\"x\""));
    assert!(parse_replicas("2,,3").is_err());
    assert!(parse_replicas("").is_err());
    assert!(parse_replicas("-1").unwrap_err().contains("negative"));
    assert!(parse_replicas("2,3,2").unwrap_err().contains("twice"));
}

#[test]
fn reassign_needs_exactly_one_of_replicas_and_cancel() {
    let neither = parse(&["reassign", "--topic", "t", "--partition", "0"]).unwrap_err();
    assert_eq!(
        neither.kind(),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    let both = parse(&[
        "reassign",
        "--topic",
        "t",
        "--partition",
        "0",
        "--replicas",
        "1",
        "--cancel",
    ])
    .unwrap_err();
    assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
    let bad = parse(&[
        "reassign",
        "--topic",
        "t",
        "--partition",
        "0",
        "--replicas",
        "1,1",
    ])
    .unwrap_err();
    assert!(bad.to_string().contains("listed twice"), "{bad}");
}

#[test]
fn wait_is_for_moves_and_its_timeout_needs_it() {
    let waiting = reassign_args(&[
        "--topic",
        "t",
        "--partition",
        "2",
        "--replicas",
        "2,3",
        "--wait",
        "--timeout-secs",
        "9",
    ]);
    assert!(waiting.wait);
    assert_eq!(waiting.timeout_secs, 9);
    let cancel_wait = parse(&[
        "reassign",
        "--topic",
        "t",
        "--partition",
        "0",
        "--cancel",
        "--wait",
    ]);
    assert!(cancel_wait.is_err());
    let timeout_alone = parse(&[
        "reassign",
        "--topic",
        "t",
        "--partition",
        "0",
        "--replicas",
        "1",
        "--timeout-secs",
        "5",
    ]);
    assert!(timeout_alone.is_err());
}

#[test]
fn a_move_sends_the_target_replicas_and_a_cancel_sends_none() {
    let orders = ["--topic", "orders", "--partition", "3"];
    let with = |extra: &[&'static str]| {
        let args: Vec<&str> = orders.iter().chain(extra).copied().collect();
        alter_request(&reassign_args(&args))
    };
    let moving = with(&["--replicas", "4,2"]);
    assert_eq!(moving.topics.len(), 1);
    assert_eq!(moving.topics[0].name.0.as_str(), "orders");
    let partition = &moving.topics[0].partitions[0];
    assert_eq!(partition.partition_index, 3);
    assert_eq!(partition.replicas, Some(vec![BrokerId(4), BrokerId(2)]));
    assert!(moving.allow_replication_factor_change);

    let cancelling = with(&["--cancel"]);
    assert_eq!(cancelling.topics[0].partitions[0].replicas, None);
    let strict = with(&["--replicas", "4,2", "--disallow-replication-factor-change"]);
    assert!(!strict.allow_replication_factor_change);
}

fn alter_response(code: i16, message: Option<&str>) -> AlterPartitionReassignmentsResponse {
    let partition = ReassignablePartitionResponse::default()
        .with_partition_index(0)
        .with_error_code(code)
        .with_error_message(message.map(|m| StrBytes::from_string(m.to_string())));
    AlterPartitionReassignmentsResponse::default().with_responses(vec![
        ReassignableTopicResponse::default()
            .with_name(topic_name("t"))
            .with_partitions(vec![partition]),
    ])
}

#[test]
fn a_refused_move_is_reported_with_kafkas_error_name_and_the_controllers_message() {
    assert_eq!(outcome_of(&alter_response(0, None), "t", 0), Ok(()));
    let refused = outcome_of(
        &alter_response(39, Some("broker 9 is not registered")),
        "t",
        0,
    )
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "INVALID_REPLICA_ASSIGNMENT: broker 9 is not registered"
    );
    let request_level = alter_response(0, None)
        .with_error_code(41)
        .with_error_message(Some(StrBytes::from_static_str("not the controller")));
    assert_eq!(outcome_of(&request_level, "t", 0).unwrap_err().code, 41);
    assert!(outcome_of(&alter_response(0, None), "t", 1).is_err());
}

#[test]
fn running_moves_are_listed_sorted_in_kafkas_wording() {
    let ongoing = |index: i32, replicas: &[i32], adding: &[i32], removing: &[i32]| {
        let ids = |list: &[i32]| list.iter().map(|id| BrokerId(*id)).collect();
        OngoingPartitionReassignment::default()
            .with_partition_index(index)
            .with_replicas(ids(replicas))
            .with_adding_replicas(ids(adding))
            .with_removing_replicas(ids(removing))
    };
    let response = ListPartitionReassignmentsResponse::default().with_topics(vec![
        OngoingTopicReassignment::default()
            .with_name(topic_name("b"))
            .with_partitions(vec![ongoing(0, &[2, 3], &[], &[])]),
        OngoingTopicReassignment::default()
            .with_name(topic_name("a"))
            .with_partitions(vec![
                ongoing(1, &[2, 3, 4, 1], &[4], &[1]),
                ongoing(0, &[1, 2, 3], &[3], &[]),
            ]),
    ]);
    let moves = running_moves(&response);
    assert_eq!(
        render(&moves),
        "Current partition reassignments:\n\
         a-0: replicas: 1,2,3. adding: 3. removing: .\n\
         a-1: replicas: 2,3,4,1. adding: 4. removing: 1.\n\
         b-0: replicas: 2,3. adding: . removing: .\n"
    );
    assert_eq!(render(&[]), "No partition reassignments found.\n");
}
