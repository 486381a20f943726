//! Topic commands: create (explicit, and auto-creation for produce/metadata), delete, and
//! create partitions — Kafka's validation rules, answered with typed errors and, on success,
//! the records that carry the command out.

use super::assignment::{assign_replicas, rotation_for};
use super::config::{describe_topic_configs, validate_topic_config, DescribedConfig};
use super::error::{ControllerError, TopicNameProblem};
use super::ids::{BrokerId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};
use super::image::MetadataImage;
use super::record::{
    ConfigRecord, MetadataRecord, PartitionRecord, RemoveTopicRecord, TopicRecord,
};
use super::Controller;
use std::collections::{BTreeMap, BTreeSet};

/// Longest legal topic name (Kafka's `Topic.MAX_NAME_LENGTH`).
pub const TOPIC_NAME_LENGTH_MAX: usize = 249;
/// Most partitions a topic may have: each is a log with open files, so a typo like
/// `num_partitions = 1000000` is refused instead of exhausting the broker.
pub const PARTITIONS_PER_TOPIC_MAX: i32 = 10_000;

/// The explicit replicas of one partition in a CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaAssignment {
    /// The partition.
    pub partition: PartitionIndex,
    /// Its replicas, preferred leader first.
    pub broker_ids: Vec<BrokerId>,
}

/// One topic of a CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreateTopicRequest {
    /// The name.
    pub name: String,
    /// Partition count, or -1 for `num.partitions` (must be -1 with explicit assignments).
    pub num_partitions: i32,
    /// Replication factor, or -1 for `default.replication.factor` (must be -1 with explicit
    /// assignments).
    pub replication_factor: i16,
    /// Explicit assignments; empty to let the controller assign.
    pub assignments: Vec<ReplicaAssignment>,
    /// Topic configs; a `None` value is refused (Kafka does not accept null configs here).
    pub configs: Vec<(String, Option<String>)>,
}

impl CreateTopicRequest {
    /// A request with no assignments and no configs.
    pub fn new(name: &str, num_partitions: i32, replication_factor: i16) -> CreateTopicRequest {
        CreateTopicRequest {
            name: name.to_owned(),
            num_partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: Vec::new(),
        }
    }
}

/// What a successful create decided.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatedTopic {
    /// The name.
    pub name: String,
    /// The new id; `None` when only validating.
    pub topic_id: Option<TopicId>,
    /// Partition count.
    pub num_partitions: i32,
    /// Replication factor.
    pub replication_factor: i16,
    /// The topic's configs as DescribeConfigs would show them (CreateTopics v5+ returns them).
    pub configs: Vec<DescribedConfig>,
    /// The records to propose as one batch; empty when only validating.
    pub records: Vec<MetadataRecord>,
}

/// One topic's answer to CreateTopics.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreateTopicResult {
    /// The name, as requested.
    pub name: String,
    /// The outcome.
    pub result: Result<CreatedTopic, ControllerError>,
}

/// A topic named in DeleteTopics: by name (all versions) or by id (v6+).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum TopicRef {
    /// By name.
    Name(String),
    /// By id.
    Id(TopicId),
}

/// What a successful delete removes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeletedTopic {
    /// The topic's name.
    pub name: String,
    /// The topic's id.
    pub topic_id: TopicId,
    /// The records to propose.
    pub records: Vec<MetadataRecord>,
}

/// One topic's answer to DeleteTopics.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeleteTopicResult {
    /// The topic as requested.
    pub topic: TopicRef,
    /// The outcome.
    pub result: Result<DeletedTopic, ControllerError>,
}

/// Checks Kafka's topic name rules: 1..=249 characters from `[a-zA-Z0-9._-]`, not `.`/`..`.
pub fn validate_topic_name(name: &str) -> Result<(), ControllerError> {
    let problem = if name.is_empty() {
        Some(TopicNameProblem::Empty)
    } else if name == "." || name == ".." {
        Some(TopicNameProblem::DotOrDotDot)
    } else if name.len() > TOPIC_NAME_LENGTH_MAX {
        Some(TopicNameProblem::TooLong)
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some(TopicNameProblem::IllegalCharacter)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ControllerError::InvalidTopicName {
            name: name.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Topic ids handed out during one command: the image's counter plus what this command took.
struct TopicIdAllocator<'a> {
    controller: &'a Controller,
    sequence: u64,
    taken: BTreeSet<TopicId>,
}

impl TopicIdAllocator<'_> {
    fn next(&mut self) -> TopicId {
        loop {
            let candidate = TopicId::derive(self.controller.config.seed, self.sequence);
            self.sequence += 1;
            if !candidate.is_reserved()
                && !self.controller.view().is_topic_id_used(candidate)
                && self.taken.insert(candidate)
            {
                return candidate;
            }
        }
    }
}

impl Controller {
    /// CreateTopics: validates each topic independently (a name given twice fails every time
    /// it appears, with INVALID_REQUEST) and returns one result per request, in order.
    pub fn create_topics(
        &self,
        requests: &[CreateTopicRequest],
        validate_only: bool,
    ) -> Vec<CreateTopicResult> {
        let mut ids = TopicIdAllocator {
            controller: self,
            sequence: self.view().topics_created_total(),
            taken: BTreeSet::new(),
        };
        requests
            .iter()
            .map(|request| {
                let named = requests.iter().filter(|r| r.name == request.name).count();
                let result = if named > 1 {
                    Err(ControllerError::InvalidRequest {
                        reason: "topic named more than once in the request".into(),
                    })
                } else {
                    self.create_topic(request, &mut ids, validate_only)
                };
                CreateTopicResult {
                    name: request.name.clone(),
                    result,
                }
            })
            .collect()
    }

    /// Creates a missing topic with the broker defaults, for Produce and Metadata requests
    /// when `auto.create.topics.enable` is on.
    pub fn auto_create_topic(&self, name: &str) -> Result<CreatedTopic, ControllerError> {
        if !self.config.auto_create_topics_enable {
            validate_topic_name(name)?;
            if self.view().topic_by_name(name).is_some() {
                return Err(ControllerError::TopicAlreadyExists {
                    name: name.to_owned(),
                });
            }
            return Err(ControllerError::AutoCreateDisabled {
                name: name.to_owned(),
            });
        }
        let request = CreateTopicRequest::new(name, -1, -1);
        let mut ids = TopicIdAllocator {
            controller: self,
            sequence: self.view().topics_created_total(),
            taken: BTreeSet::new(),
        };
        self.create_topic(&request, &mut ids, false)
    }

    fn create_topic(
        &self,
        request: &CreateTopicRequest,
        ids: &mut TopicIdAllocator<'_>,
        validate_only: bool,
    ) -> Result<CreatedTopic, ControllerError> {
        validate_topic_name(&request.name)?;
        if self.view().topic_by_name(&request.name).is_some() {
            return Err(ControllerError::TopicAlreadyExists {
                name: request.name.clone(),
            });
        }
        self.check_name_collision(&request.name)?;
        let explicit = if request.assignments.is_empty() {
            None
        } else {
            if request.num_partitions != -1 || request.replication_factor != -1 {
                return Err(ControllerError::InvalidRequest {
                    reason: "explicit assignments need num_partitions and replication_factor -1"
                        .into(),
                });
            }
            Some(self.validate_explicit_assignments(&request.assignments)?)
        };
        let (partition_count, replication_factor) = match &explicit {
            Some(plan) => (plan.len(), plan[0].len()),
            None => (
                self.resolve_partition_count(request.num_partitions)?,
                self.resolve_replication_factor(request.replication_factor)?,
            ),
        };
        let configs = validate_new_configs(&request.configs)?;
        let topic_id = ids.next();
        let plan = match explicit {
            Some(plan) => plan,
            None => {
                let brokers = self.view().usable_brokers();
                let rotation = rotation_for(topic_id, brokers.len());
                assign_replicas(&brokers, 0, partition_count, replication_factor, rotation)
            }
        };
        let described = describe_topic_configs(&self.config, Some(&configs), None);
        let records = if validate_only {
            Vec::new()
        } else {
            topic_records(self.view(), &request.name, topic_id, &plan, &configs)?
        };
        Ok(CreatedTopic {
            name: request.name.clone(),
            topic_id: (!validate_only).then_some(topic_id),
            num_partitions: partition_count as i32,
            replication_factor: replication_factor as i16,
            configs: described,
            records,
        })
    }

    /// Kafka refuses a name that differs from a live topic's only by '.' versus '_'.
    fn check_name_collision(&self, name: &str) -> Result<(), ControllerError> {
        let unified = |n: &str| n.replace('.', "_");
        let wanted = unified(name);
        match self
            .view()
            .topic_ids_by_name()
            .keys()
            .find(|existing| unified(existing) == wanted)
        {
            Some(existing) => Err(ControllerError::TopicNameCollision {
                name: name.to_owned(),
                existing: existing.clone(),
            }),
            None => Ok(()),
        }
    }

    fn resolve_partition_count(&self, requested: i32) -> Result<usize, ControllerError> {
        let count = if requested == -1 {
            self.config.num_partitions
        } else {
            requested
        };
        if count < 1 {
            return Err(ControllerError::InvalidPartitions {
                requested,
                reason: "must be at least 1 (or -1 for the broker default)".into(),
            });
        }
        if count > PARTITIONS_PER_TOPIC_MAX {
            return Err(ControllerError::InvalidPartitions {
                requested,
                reason: "more than PARTITIONS_PER_TOPIC_MAX (10000)".into(),
            });
        }
        Ok(count as usize)
    }

    fn resolve_replication_factor(&self, requested: i16) -> Result<usize, ControllerError> {
        let factor = if requested == -1 {
            self.config.default_replication_factor
        } else {
            requested
        };
        let available_brokers = self.view().usable_brokers().len();
        if factor < 1 || factor as usize > available_brokers {
            return Err(ControllerError::InvalidReplicationFactor {
                requested: factor,
                available_brokers,
            });
        }
        Ok(factor as usize)
    }

    /// Explicit assignments: partitions 0..n each exactly once, every list non-empty, of one
    /// length, without repeats, on registered brokers.
    fn validate_explicit_assignments(
        &self,
        assignments: &[ReplicaAssignment],
    ) -> Result<Vec<Vec<BrokerId>>, ControllerError> {
        let mut by_partition: BTreeMap<i32, &Vec<BrokerId>> = BTreeMap::new();
        for assignment in assignments {
            if by_partition
                .insert(assignment.partition.0, &assignment.broker_ids)
                .is_some()
            {
                return Err(bad_assignment(
                    assignment.partition,
                    "partition assigned twice",
                ));
            }
        }
        let count = by_partition.len();
        if count as i64 > i64::from(PARTITIONS_PER_TOPIC_MAX) {
            return Err(ControllerError::InvalidPartitions {
                requested: i32::try_from(count).unwrap_or(i32::MAX),
                reason: "more than PARTITIONS_PER_TOPIC_MAX (10000)".into(),
            });
        }
        let plan: Vec<Vec<BrokerId>> = by_partition.values().map(|b| (*b).clone()).collect();
        for (index, partition) in by_partition.keys().enumerate() {
            if *partition != index as i32 {
                return Err(bad_assignment(
                    PartitionIndex(*partition),
                    "partitions must be numbered 0, 1, 2, … without gaps",
                ));
            }
        }
        self.validate_replica_lists(&plan, 0, plan[0].len())?;
        Ok(plan)
    }

    /// Each list has `replication_factor` distinct registered brokers. `first` numbers the
    /// lists for error messages.
    fn validate_replica_lists(
        &self,
        plan: &[Vec<BrokerId>],
        first: usize,
        replication_factor: usize,
    ) -> Result<(), ControllerError> {
        for (offset, replicas) in plan.iter().enumerate() {
            let partition = PartitionIndex((first + offset) as i32);
            if replicas.is_empty() {
                return Err(bad_assignment(
                    partition,
                    "a partition needs at least one replica",
                ));
            }
            if replicas.len() != replication_factor {
                return Err(bad_assignment(partition, "inconsistent replication factor"));
            }
            if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
                return Err(bad_assignment(partition, "a broker is listed twice"));
            }
            if let Some(&broker_id) = replicas
                .iter()
                .find(|b| !self.view().brokers().contains_key(b))
            {
                return Err(ControllerError::UnknownBroker { broker_id });
            }
        }
        Ok(())
    }

    /// DeleteTopics: one result per named topic, in order; a topic named twice (by name or
    /// id) fails every time with INVALID_REQUEST.
    pub fn delete_topics(&self, topics: &[TopicRef]) -> Vec<DeleteTopicResult> {
        let resolved: Vec<Result<TopicId, ControllerError>> =
            topics.iter().map(|t| self.resolve_topic(t)).collect();
        topics
            .iter()
            .zip(&resolved)
            .map(|(topic, resolution)| {
                let result = resolution.clone().and_then(|topic_id| {
                    let named = resolved.iter().filter(|r| *r == &Ok(topic_id)).count();
                    if named > 1 {
                        return Err(ControllerError::InvalidRequest {
                            reason: "topic named more than once in the request".into(),
                        });
                    }
                    let name = self
                        .view()
                        .topic(topic_id)
                        .map_or_else(String::new, |t| t.name.clone());
                    Ok(DeletedTopic {
                        name,
                        topic_id,
                        records: vec![MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id })],
                    })
                });
                DeleteTopicResult {
                    topic: topic.clone(),
                    result,
                }
            })
            .collect()
    }

    fn resolve_topic(&self, topic: &TopicRef) -> Result<TopicId, ControllerError> {
        match topic {
            TopicRef::Name(name) => self
                .view()
                .topic_ids_by_name()
                .get(name)
                .copied()
                .ok_or_else(|| ControllerError::UnknownTopic { name: name.clone() }),
            TopicRef::Id(topic_id) => match self.view().topic(*topic_id) {
                Some(_) => Ok(*topic_id),
                None => Err(ControllerError::UnknownTopicId {
                    topic_id: *topic_id,
                }),
            },
        }
    }

    /// CreatePartitions: grows `topic` to `new_total` partitions. Only increases (else
    /// INVALID_PARTITIONS). `assignments`, if given, lists the replicas of each *new*
    /// partition and must match the topic's replication factor.
    pub fn create_partitions(
        &self,
        topic: &str,
        new_total: i32,
        assignments: Option<&[Vec<BrokerId>]>,
        validate_only: bool,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let existing =
            self.view()
                .topic_by_name(topic)
                .ok_or_else(|| ControllerError::UnknownTopic {
                    name: topic.to_owned(),
                })?;
        let current = existing.partitions.len();
        if new_total <= current as i32 {
            return Err(ControllerError::InvalidPartitions {
                requested: new_total,
                reason: "the partition count can only increase".into(),
            });
        }
        if new_total > PARTITIONS_PER_TOPIC_MAX {
            return Err(ControllerError::InvalidPartitions {
                requested: new_total,
                reason: "more than PARTITIONS_PER_TOPIC_MAX (10000)".into(),
            });
        }
        let added = new_total as usize - current;
        let replication_factor = existing.replication_factor();
        let plan = match assignments {
            Some(plan) => {
                if plan.len() != added {
                    return Err(bad_assignment(
                        PartitionIndex(current as i32),
                        "one assignment is needed per new partition",
                    ));
                }
                self.validate_replica_lists(plan, current, replication_factor)?;
                plan.to_vec()
            }
            None => {
                let brokers = self.view().usable_brokers();
                if replication_factor > brokers.len() {
                    return Err(ControllerError::InvalidReplicationFactor {
                        requested: replication_factor as i16,
                        available_brokers: brokers.len(),
                    });
                }
                let rotation = rotation_for(existing.topic_id, brokers.len());
                assign_replicas(&brokers, current, added, replication_factor, rotation)
            }
        };
        if validate_only {
            return Ok(Vec::new());
        }
        plan.into_iter()
            .enumerate()
            .map(|(offset, replicas)| {
                partition_record(self.view(), existing.topic_id, current + offset, replicas)
            })
            .collect()
    }
}

fn bad_assignment(partition: PartitionIndex, reason: &'static str) -> ControllerError {
    ControllerError::InvalidReplicaAssignment {
        partition: Some(partition),
        reason: reason.into(),
    }
}

/// Validates a new topic's configs: known keys, valid values, no key twice.
fn validate_new_configs(
    configs: &[(String, Option<String>)],
) -> Result<BTreeMap<String, String>, ControllerError> {
    let mut validated = BTreeMap::new();
    for (key, value) in configs {
        let value = validate_topic_config(key, value.as_deref())?;
        if validated.insert(key.clone(), value).is_some() {
            return Err(ControllerError::InvalidRequest {
                reason: "config key given more than once".into(),
            });
        }
    }
    Ok(validated)
}

/// A new partition: its ISR is its unfenced replicas and its leader the first of them, as
/// Kafka does; INVALID_REPLICA_ASSIGNMENT if every replica is fenced.
fn partition_record(
    image: &MetadataImage,
    topic_id: TopicId,
    index: usize,
    replicas: Vec<BrokerId>,
) -> Result<MetadataRecord, ControllerError> {
    let isr: Vec<BrokerId> = replicas
        .iter()
        .copied()
        .filter(|b| image.is_unfenced(*b))
        .collect();
    if isr.is_empty() {
        return Err(bad_assignment(
            PartitionIndex(index as i32),
            "every broker assigned to the partition is fenced",
        ));
    }
    Ok(MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition: PartitionIndex(index as i32),
        leader: isr.first().copied(),
        isr,
        replicas,
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(0),
    }))
}

/// A new topic's batch: the topic, its partitions in order, its configs by key.
fn topic_records(
    image: &MetadataImage,
    name: &str,
    topic_id: TopicId,
    plan: &[Vec<BrokerId>],
    configs: &BTreeMap<String, String>,
) -> Result<Vec<MetadataRecord>, ControllerError> {
    let mut records = vec![MetadataRecord::Topic(TopicRecord {
        name: name.to_owned(),
        topic_id,
    })];
    for (index, replicas) in plan.iter().enumerate() {
        records.push(partition_record(image, topic_id, index, replicas.clone())?);
    }
    records.extend(configs.iter().map(|(key, value)| {
        MetadataRecord::Config(ConfigRecord {
            topic: name.to_owned(),
            key: key.clone(),
            value: Some(value.clone()),
        })
    }));
    Ok(records)
}
