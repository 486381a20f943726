//! Cluster mode: the follower side of replication (Kafka's replica fetcher).
//!
//! # Contract
//! - For every hosted follower replica, what it wants next
//!   ([`crate::replication::PartitionReplica::next_request`]) goes to its leader as a Kafka
//!   request in a [`NodeOutput::ToBroker`]: OffsetForLeaderEpoch (v[`EPOCH_QUERY_VERSION`])
//!   while it must find where its log and the leader's agree, then Fetch
//!   (v[`FOLLOWER_FETCH_VERSION`], with this broker's replica id, `max_wait_ms =
//!   replica_fetch_wait_max_ms`, `min_bytes = 1`). Partitions with the same leader share one
//!   request; at most one request of each kind is in flight per leader, as with Kafka's one
//!   fetcher connection per leader.
//! - Answers ([`NodeInput::FromBroker`](super::NodeInput::FromBroker)) are matched by
//!   correlation id and fed back to the replicas with the epoch and fetch offset they were
//!   asked with (the replica ignores answers that no longer fit). A partition answered with
//!   NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH waits for newer
//!   metadata (fetched at once) or, at most, a backoff of `replica_fetch_wait_max_ms` (as
//!   long as a long poll; Kafka's `replica.fetch.backoff.ms` is 1 s); any other error (the
//!   leader not knowing the partition yet, say) waits the backoff.
//! - A request unanswered after `replica_fetch_wait_max_ms + controller_request_timeout_ms`
//!   is given up (its partitions ask again), so a lost message never stalls replication;
//!   a late answer to it is ignored.
//!
//! Not done: a follower answered OFFSET_OUT_OF_RANGE (its log end below the leader's log
//! start, after retention) only backs off; Kafka truncates it fully and restarts it at the
//! leader's log start.

use super::cluster::topic_name;
use super::io::{NodeOutput, NodeResponse, TopicPartition};
use super::Node;
use crate::controller::{BrokerId, LeaderEpoch};
use crate::record::Offset;
use crate::replication::{EpochEndOffset, FetchResponse, FollowerRequest};
use crate::storage::StorageProvider;
use crate::time::{Mono, Now};
use crate::wire::{DecodedRequest, KafkaErrorCode, RequestBody, ResponseBody};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// The Fetch version followers send: v12 has KIP-320's diverging epoch and names topics
/// (v13+ name them by id).
pub const FOLLOWER_FETCH_VERSION: i16 = 12;
/// The OffsetForLeaderEpoch version followers send (the newest; v3+ carries the replica id).
pub const EPOCH_QUERY_VERSION: i16 = 4;

/// Which of the two follower requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    EpochQuery,
    Fetch,
}

/// A follower request in flight to one leader.
#[derive(Clone, Debug)]
struct InFlight {
    correlation_id: i32,
    give_up_at: Mono,
    /// Each partition asked, with the epoch and fetch offset it was asked with.
    partitions: Vec<(TopicPartition, LeaderEpoch, Offset)>,
}

/// The fetcher's state.
#[derive(Debug, Default)]
pub(super) struct FetcherState {
    next_correlation: i32,
    in_flight: BTreeMap<(BrokerId, Kind), InFlight>,
    /// Partitions waiting after an error: until this time, or until their leader or leader
    /// epoch differs from the one recorded.
    backoff: BTreeMap<TopicPartition, (Mono, Option<BrokerId>, Option<LeaderEpoch>)>,
}

impl FetcherState {
    /// Correlation ids start from the incarnation (see `broker`).
    pub(super) fn new(incarnation: crate::controller::IncarnationId) -> FetcherState {
        FetcherState {
            next_correlation: ((incarnation.0 as u32 & 0x7FFF) << 16) as i32,
            ..FetcherState::default()
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Mono> {
        let give_up = self.in_flight.values().map(|f| f.give_up_at);
        let backoff = self.backoff.values().map(|(until, _, _)| *until);
        give_up.chain(backoff).min()
    }

    fn is_asking(&self, tp: &TopicPartition) -> bool {
        self.in_flight
            .values()
            .any(|f| f.partitions.iter().any(|(p, _, _)| p == tp))
    }

    /// Forgets a partition (closed, or its role changed).
    pub(super) fn forget(&mut self, tp: &TopicPartition) {
        self.backoff.remove(tp);
    }
}

impl<P: StorageProvider> Node<P> {
    /// Sends what follower replicas want from their leaders; gives up requests unanswered
    /// too long.
    pub(super) fn pump_followers(&mut self, now: Now) {
        let me = self.broker_id();
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let fetcher = &mut cluster.fetcher;
        fetcher.in_flight.retain(|_, f| f.give_up_at > now.mono);
        let mut groups: BTreeMap<(BrokerId, Kind), Vec<(TopicPartition, FollowerRequest)>> =
            BTreeMap::new();
        for (tp, replica) in &self.partitions {
            let Some(leader) = replica.leader().filter(|&l| l != me) else {
                continue;
            };
            if let Some((until, was_leader, was_epoch)) = fetcher.backoff.get(tp) {
                let same = *was_leader == replica.leader() && *was_epoch == replica.leader_epoch();
                if same && now.mono < *until {
                    continue;
                }
            }
            if fetcher.is_asking(tp) {
                continue;
            }
            let Some(request) = replica.next_request() else {
                continue;
            };
            let kind = match request {
                FollowerRequest::OffsetsForLeaderEpoch(_) => Kind::EpochQuery,
                FollowerRequest::Fetch(_) => Kind::Fetch,
            };
            if fetcher.in_flight.contains_key(&(leader, kind)) {
                continue;
            }
            groups
                .entry((leader, kind))
                .or_default()
                .push((tp.clone(), request));
        }
        fetcher.backoff.retain(|_, (until, _, _)| *until > now.mono);
        let wait_ms = cluster.config.replica_fetch_wait_max_ms;
        let give_up_at = now
            .mono
            .plus_millis(wait_ms + cluster.config.controller_request_timeout_ms);
        for ((leader, kind), members) in groups {
            let correlation_id = fetcher.next_correlation;
            fetcher.next_correlation = fetcher.next_correlation.wrapping_add(1).max(0);
            let (body, asked) = build_request(me, wait_ms, &members);
            let version = match kind {
                Kind::EpochQuery => EPOCH_QUERY_VERSION,
                Kind::Fetch => FOLLOWER_FETCH_VERSION,
            };
            fetcher.in_flight.insert(
                (leader, kind),
                InFlight {
                    correlation_id,
                    give_up_at,
                    partitions: asked,
                },
            );
            let request = DecodedRequest {
                header: RequestHeader::default()
                    .with_request_api_key(body.api_key() as i16)
                    .with_request_api_version(version)
                    .with_correlation_id(correlation_id)
                    .with_client_id(Some(StrBytes::from_string(format!("broker-{}", me.0)))),
                api_key: body.api_key(),
                api_version: version,
                body,
                trailing_bytes: 0,
            };
            self.outputs.push_back(NodeOutput::ToBroker {
                broker: leader,
                request,
            });
        }
    }

    /// A leader's answer to one of this broker's follower requests.
    pub(super) fn handle_from_broker(
        &mut self,
        now: Now,
        broker: BrokerId,
        response: NodeResponse,
    ) {
        let kind = match response.api_key {
            ApiKey::Fetch => Kind::Fetch,
            ApiKey::OffsetForLeaderEpoch => Kind::EpochQuery,
            _ => return,
        };
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let matches = cluster
            .fetcher
            .in_flight
            .get(&(broker, kind))
            .is_some_and(|f| f.correlation_id == response.correlation_id);
        if !matches {
            return; // stale: given up, or never sent
        }
        let Some(asked) = cluster.fetcher.in_flight.remove(&(broker, kind)) else {
            return;
        };
        let answers = match response.body {
            ResponseBody::Fetch(body) => fetch_answers(&body, &asked.partitions),
            ResponseBody::OffsetForLeaderEpoch(body) => epoch_answers(&body, &asked.partitions),
            _ => Vec::new(),
        };
        for (tp, epoch, answer) in answers {
            self.apply_follower_answer(now, &tp, epoch, answer);
        }
    }

    fn apply_follower_answer(
        &mut self,
        now: Now,
        tp: &TopicPartition,
        epoch: LeaderEpoch,
        answer: Result<Answer, i16>,
    ) {
        let Some(replica) = self.partitions.get_mut(tp) else {
            return;
        };
        if replica.leader_epoch() != Some(epoch) {
            return; // asked in an epoch that has passed: stale
        }
        let result = match answer {
            Ok(Answer::EpochEnd(end)) => replica
                .handle_epoch_end_offset(now, epoch, end)
                .map_err(|_| KafkaErrorCode::UnknownServerError.code()),
            Ok(Answer::Fetched(fetched)) => replica
                .handle_fetch_response(now, &fetched)
                .map_err(|_| KafkaErrorCode::UnknownServerError.code()),
            Err(code) => Err(code),
        };
        if let Err(code) = result {
            let (leader, leader_epoch) = (replica.leader(), replica.leader_epoch());
            if let Some(cluster) = self.cluster.as_mut() {
                let until = now
                    .mono
                    .plus_millis(cluster.config.replica_fetch_wait_max_ms);
                cluster
                    .fetcher
                    .backoff
                    .insert(tp.clone(), (until, leader, leader_epoch));
            }
            let stale_metadata = [
                KafkaErrorCode::NotLeaderOrFollower,
                KafkaErrorCode::FencedLeaderEpoch,
                KafkaErrorCode::UnknownLeaderEpoch,
            ];
            if stale_metadata.iter().any(|c| c.code() == code) {
                self.fetch_metadata_soon(now);
            }
        }
        self.changed_partitions.insert(tp.clone());
        self.drain_replica(now, tp);
    }
}

/// A usable answer for one partition.
enum Answer {
    EpochEnd(EpochEndOffset),
    Fetched(FetchResponse),
}

type Asked = [(TopicPartition, LeaderEpoch, Offset)];

fn fetch_answers(
    body: &kafka_protocol::messages::FetchResponse,
    asked: &Asked,
) -> Vec<(TopicPartition, LeaderEpoch, Result<Answer, i16>)> {
    let mut answers = Vec::new();
    for (tp, epoch, offset) in asked {
        let found = body
            .responses
            .iter()
            .filter(|t| t.topic.0.as_str() == tp.topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == tp.partition);
        let answer = match found {
            _ if body.error_code != 0 => Err(body.error_code),
            None => Err(KafkaErrorCode::UnknownServerError.code()),
            Some(p) if p.error_code != 0 => Err(p.error_code),
            Some(p) => Ok(Answer::Fetched(FetchResponse {
                leader_epoch: *epoch,
                fetch_offset: *offset,
                records: p.records.clone().unwrap_or_default(),
                high_watermark: Offset(u64::try_from(p.high_watermark).unwrap_or(0)),
                log_start_offset: Offset(u64::try_from(p.log_start_offset).unwrap_or(0)),
                diverging_epoch: (p.diverging_epoch.epoch >= 0
                    && p.diverging_epoch.end_offset >= 0)
                    .then_some(EpochEndOffset {
                        leader_epoch: LeaderEpoch(p.diverging_epoch.epoch),
                        end_offset: Offset(p.diverging_epoch.end_offset.max(0) as u64),
                    }),
            })),
        };
        answers.push((tp.clone(), *epoch, answer));
    }
    answers
}

fn epoch_answers(
    body: &OffsetForLeaderEpochResponse,
    asked: &Asked,
) -> Vec<(TopicPartition, LeaderEpoch, Result<Answer, i16>)> {
    let mut answers = Vec::new();
    for (tp, epoch, _) in asked {
        let found = body
            .topics
            .iter()
            .filter(|t| t.topic.0.as_str() == tp.topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition == tp.partition);
        let answer = match found {
            None => Err(KafkaErrorCode::UnknownServerError.code()),
            Some(p) if p.error_code != 0 => Err(p.error_code),
            Some(p) if p.leader_epoch < 0 || p.end_offset < 0 => {
                Err(KafkaErrorCode::UnknownServerError.code())
            }
            Some(p) => Ok(Answer::EpochEnd(EpochEndOffset {
                leader_epoch: LeaderEpoch(p.leader_epoch),
                end_offset: Offset(p.end_offset as u64),
            })),
        };
        answers.push((tp.clone(), *epoch, answer));
    }
    answers
}

/// The Kafka request for one leader's partitions, and what each was asked with.
fn build_request(
    me: BrokerId,
    wait_ms: u64,
    members: &[(TopicPartition, FollowerRequest)],
) -> (RequestBody, Vec<(TopicPartition, LeaderEpoch, Offset)>) {
    let mut asked = Vec::new();
    let mut by_topic: BTreeMap<&str, Vec<(i32, &FollowerRequest)>> = BTreeMap::new();
    for (tp, request) in members {
        let (epoch, offset) = match request {
            FollowerRequest::OffsetsForLeaderEpoch(q) => (q.current_leader_epoch, Offset(0)),
            FollowerRequest::Fetch(f) => (f.current_leader_epoch, f.fetch_offset),
        };
        asked.push((tp.clone(), epoch, offset));
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push((tp.partition, request));
    }
    let is_epoch_query = matches!(
        members.first(),
        Some((_, FollowerRequest::OffsetsForLeaderEpoch(_)))
    );
    if is_epoch_query {
        let topics = by_topic
            .iter()
            .map(|(topic, requests)| {
                let partitions = requests
                    .iter()
                    .filter_map(|(partition, r)| match r {
                        FollowerRequest::OffsetsForLeaderEpoch(q) => Some(
                            OffsetForLeaderPartition::default()
                                .with_partition(*partition)
                                .with_current_leader_epoch(q.current_leader_epoch.0)
                                .with_leader_epoch(q.leader_epoch.0),
                        ),
                        FollowerRequest::Fetch(_) => None,
                    })
                    .collect();
                OffsetForLeaderTopic::default()
                    .with_topic(topic_name(topic))
                    .with_partitions(partitions)
            })
            .collect();
        let body = OffsetForLeaderEpochRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(me.0))
            .with_topics(topics);
        return (RequestBody::OffsetForLeaderEpoch(body), asked);
    }
    let mut max_bytes = 0i32;
    let topics = by_topic
        .iter()
        .map(|(topic, requests)| {
            let partitions = requests
                .iter()
                .filter_map(|(partition, r)| match r {
                    FollowerRequest::Fetch(f) => {
                        let bytes = i32::try_from(f.max_bytes).unwrap_or(i32::MAX);
                        max_bytes = max_bytes.saturating_add(bytes);
                        Some(
                            FetchPartition::default()
                                .with_partition(*partition)
                                .with_current_leader_epoch(f.current_leader_epoch.0)
                                .with_fetch_offset(f.fetch_offset.0 as i64)
                                .with_last_fetched_epoch(f.last_fetched_epoch.map_or(-1, |e| e.0))
                                .with_log_start_offset(-1)
                                .with_partition_max_bytes(bytes),
                        )
                    }
                    FollowerRequest::OffsetsForLeaderEpoch(_) => None,
                })
                .collect();
            FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect();
    let body = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(me.0))
        .with_max_wait_ms(i32::try_from(wait_ms).unwrap_or(i32::MAX))
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    (RequestBody::Fetch(body), asked)
}
