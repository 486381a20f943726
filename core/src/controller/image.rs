//! The applied metadata state: what applying the metadata log's records in order gives.
//!
//! [`MetadataImage::apply`] is deterministic and atomic per record: it checks the record
//! against the image first and changes nothing when it returns an error. Every map is a
//! `BTreeMap`, so two images built from the same records are equal (`==`) and iterate in the
//! same order — replaying a log into a fresh image gives an identical image, the property a
//! replicated metadata log (issue 6) relies on.
//!
//! Fencing (issue 6): a broker is fenced from its registration until its first heartbeat
//! (an `UnfenceBroker` record) and again when it stops heartbeating (`FenceBroker`). A fenced
//! broker leads nothing: records that would break this are refused, so a batch that fences a
//! leader moves its leadership first (`PartitionChange` records before the fencing one).

use super::error::ApplyError;
use super::ids::{BrokerId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId};
use super::record::{
    BrokerFencingRecord, BrokerRegistration, ConfigRecord, MetadataRecord, PartitionChangeRecord,
    PartitionReassignmentRecord, PartitionRecord, RemoveTopicRecord, TopicRecord,
};
use std::collections::{BTreeMap, BTreeSet};

/// One partition's current assignment and leadership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionImage {
    /// Brokers holding a replica, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas, a subset of `replicas`.
    pub isr: Vec<BrokerId>,
    /// The leader, a member of `isr`.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch.
    pub partition_epoch: PartitionEpoch,
    /// A running reassignment's target replicas that were not in sync when it started.
    pub adding_replicas: Vec<BrokerId>,
    /// A running reassignment's replicas to drop once the target is in sync.
    pub removing_replicas: Vec<BrokerId>,
}

impl PartitionImage {
    /// Is a reassignment running?
    pub fn is_reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replicas the partition had before the running reassignment (all of them when
    /// none runs): `replicas` without the ones being added.
    pub fn original_replicas(&self) -> Vec<BrokerId> {
        self.replicas
            .iter()
            .copied()
            .filter(|b| !self.adding_replicas.contains(b))
            .collect()
    }

    /// The replicas the partition will have when no reassignment runs: `replicas` without
    /// the ones being removed.
    pub fn target_replicas(&self) -> Vec<BrokerId> {
        self.replicas
            .iter()
            .copied()
            .filter(|b| !self.removing_replicas.contains(b))
            .collect()
    }
}

/// One live topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicImage {
    /// Its name.
    pub name: String,
    /// Its id.
    pub topic_id: TopicId,
    /// Its partitions; index `i` is partition `i`.
    pub partitions: Vec<PartitionImage>,
}

impl TopicImage {
    /// The partition with this index.
    pub fn partition(&self, partition: PartitionIndex) -> Option<&PartitionImage> {
        usize::try_from(partition.0)
            .ok()
            .and_then(|index| self.partitions.get(index))
    }

    /// The replication factor (that of partition 0; all partitions share it).
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }
}

/// The cluster metadata as of the last applied record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataImage {
    brokers: BTreeMap<BrokerId, BrokerRegistration>,
    fenced_brokers: BTreeSet<BrokerId>,
    topics: BTreeMap<TopicId, TopicImage>,
    topic_ids_by_name: BTreeMap<String, TopicId>,
    topic_configs: BTreeMap<String, BTreeMap<String, String>>,
    used_topic_ids: BTreeSet<TopicId>,
    topics_created_total: u64,
    last_applied_offset: Option<MetadataOffset>,
}

impl MetadataImage {
    /// An empty image: nothing applied yet.
    pub fn new() -> MetadataImage {
        MetadataImage::default()
    }

    /// The offset of the last applied record.
    pub fn last_applied_offset(&self) -> Option<MetadataOffset> {
        self.last_applied_offset
    }

    /// The offset the next record must have at least.
    pub fn next_offset(&self) -> MetadataOffset {
        self.last_applied_offset
            .map_or(MetadataOffset(0), |o| MetadataOffset(o.0 + 1))
    }

    /// Registered brokers by id.
    pub fn brokers(&self) -> &BTreeMap<BrokerId, BrokerRegistration> {
        &self.brokers
    }

    /// Brokers that may be given new replicas: the registered, unfenced ones.
    pub fn usable_brokers(&self) -> Vec<&BrokerRegistration> {
        self.brokers
            .values()
            .filter(|b| !self.fenced_brokers.contains(&b.broker_id))
            .collect()
    }

    /// Registered brokers that are fenced (not heartbeating, or registered and not yet
    /// heartbeating).
    pub fn fenced_brokers(&self) -> &BTreeSet<BrokerId> {
        &self.fenced_brokers
    }

    /// Whether `broker_id` is registered and fenced.
    pub fn is_fenced(&self, broker_id: BrokerId) -> bool {
        self.fenced_brokers.contains(&broker_id)
    }

    /// Whether `broker_id` is registered and unfenced: it may lead and join ISRs.
    pub fn is_unfenced(&self, broker_id: BrokerId) -> bool {
        self.brokers.contains_key(&broker_id) && !self.fenced_brokers.contains(&broker_id)
    }

    /// One partition, by topic id and index.
    pub fn partition(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
    ) -> Option<&PartitionImage> {
        self.topics.get(&topic_id)?.partition(partition)
    }

    /// Every partition of every live topic, by topic id then index.
    pub fn partitions(&self) -> impl Iterator<Item = (TopicId, PartitionIndex, &PartitionImage)> {
        self.topics.values().flat_map(|topic| {
            topic
                .partitions
                .iter()
                .enumerate()
                .map(|(index, p)| (topic.topic_id, PartitionIndex(index as i32), p))
        })
    }

    /// Live topics by id.
    pub fn topics(&self) -> &BTreeMap<TopicId, TopicImage> {
        &self.topics
    }

    /// Live topic ids by name.
    pub fn topic_ids_by_name(&self) -> &BTreeMap<String, TopicId> {
        &self.topic_ids_by_name
    }

    /// The live topic with this name.
    pub fn topic_by_name(&self, name: &str) -> Option<&TopicImage> {
        self.topic_ids_by_name
            .get(name)
            .and_then(|id| self.topics.get(id))
    }

    /// The live topic with this id.
    pub fn topic(&self, topic_id: TopicId) -> Option<&TopicImage> {
        self.topics.get(&topic_id)
    }

    /// The configs set on a live topic (overrides only; defaults are the controller's).
    pub fn topic_configs(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.topic_configs.get(name)
    }

    /// Whether a topic id was ever used (by a live or deleted topic).
    pub fn is_topic_id_used(&self, topic_id: TopicId) -> bool {
        self.used_topic_ids.contains(&topic_id)
    }

    /// How many topic records were ever applied; the controller's topic-id counter, kept in
    /// the image so that it is the same on every replica of the log.
    pub fn topics_created_total(&self) -> u64 {
        self.topics_created_total
    }

    /// Applies one record at `offset`. On error nothing changes.
    pub fn apply(
        &mut self,
        offset: MetadataOffset,
        record: &MetadataRecord,
    ) -> Result<(), ApplyError> {
        if let Some(last_applied) = self.last_applied_offset {
            if offset <= last_applied {
                return Err(ApplyError::OffsetNotIncreasing {
                    offset,
                    last_applied,
                });
            }
        }
        match record {
            MetadataRecord::RegisterBroker(registration) => self.apply_broker(registration)?,
            MetadataRecord::Topic(topic) => self.apply_topic(topic)?,
            MetadataRecord::Partition(partition) => self.apply_partition(partition)?,
            MetadataRecord::Config(config) => self.apply_config(config)?,
            MetadataRecord::RemoveTopic(remove) => self.apply_remove_topic(remove)?,
            MetadataRecord::PartitionChange(change) => self.apply_partition_change(change)?,
            MetadataRecord::PartitionReassignment(change) => {
                self.apply_partition_reassignment(change)?;
            }
            MetadataRecord::FenceBroker(fence) => self.apply_fencing(fence, true)?,
            MetadataRecord::UnfenceBroker(unfence) => self.apply_fencing(unfence, false)?,
        }
        self.last_applied_offset = Some(offset);
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
        Ok(())
    }

    fn apply_broker(&mut self, registration: &BrokerRegistration) -> Result<(), ApplyError> {
        if registration.broker_id.0 < 0 {
            return Err(ApplyError::InvalidBrokerId {
                broker_id: registration.broker_id,
            });
        }
        let broker_id = registration.broker_id;
        let same_run = self
            .brokers
            .get(&broker_id)
            .is_some_and(|b| b.incarnation == registration.incarnation);
        if !same_run {
            self.check_leads_nothing(broker_id)?;
            self.fenced_brokers.insert(broker_id);
        }
        self.brokers.insert(broker_id, registration.clone());
        Ok(())
    }

    /// Refuses a record that would fence `broker_id` while it leads a partition.
    fn check_leads_nothing(&self, broker_id: BrokerId) -> Result<(), ApplyError> {
        match self
            .partitions()
            .find(|(_, _, p)| p.leader == Some(broker_id))
        {
            Some((topic_id, partition, _)) => Err(ApplyError::FencedLeader {
                broker_id,
                topic_id,
                partition,
            }),
            None => Ok(()),
        }
    }

    fn apply_fencing(
        &mut self,
        record: &BrokerFencingRecord,
        fence: bool,
    ) -> Result<(), ApplyError> {
        let broker_id = record.broker_id;
        let invalid = |reason: &'static str| ApplyError::InvalidBrokerFencing {
            broker_id,
            reason: reason.into(),
        };
        let registration = self
            .brokers
            .get(&broker_id)
            .ok_or_else(|| invalid("not registered"))?;
        if registration.incarnation != record.incarnation {
            return Err(invalid("not the registered incarnation"));
        }
        if fence == self.fenced_brokers.contains(&broker_id) {
            return Err(invalid(if fence {
                "already fenced"
            } else {
                "not fenced"
            }));
        }
        if fence {
            self.check_leads_nothing(broker_id)?;
            self.fenced_brokers.insert(broker_id);
        } else {
            self.fenced_brokers.remove(&broker_id);
        }
        Ok(())
    }

    fn apply_partition_change(&mut self, record: &PartitionChangeRecord) -> Result<(), ApplyError> {
        let (topic_id, index) = (record.topic_id, record.partition);
        let current = self
            .partition(topic_id, index)
            .ok_or(ApplyError::UnknownTopicId { topic_id })?;
        let invalid = |reason: &'static str| ApplyError::InvalidPartitionChange {
            topic_id,
            partition: index,
            reason: reason.into(),
        };
        check_partition_shape(&current.replicas, &record.isr, record.leader).map_err(
            |reason: &'static str| ApplyError::InvalidPartitionState {
                topic_id,
                partition: index,
                reason: reason.into(),
            },
        )?;
        if record.leader == current.leader && record.isr == current.isr {
            return Err(invalid("changes nothing"));
        }
        if record.partition_epoch != current.partition_epoch.next() {
            return Err(invalid("partition epoch is not the current one plus one"));
        }
        let expected_leader_epoch = if record.leader == current.leader {
            current.leader_epoch
        } else {
            current.leader_epoch.next()
        };
        if record.leader_epoch != expected_leader_epoch {
            return Err(invalid(
                "leader epoch must grow by one exactly when the leader changes",
            ));
        }
        if let Some(partition) = self.unfenced_leader_slot(topic_id, index, record.leader)? {
            partition.leader = record.leader;
            partition.isr = record.isr.clone();
            partition.leader_epoch = record.leader_epoch;
            partition.partition_epoch = record.partition_epoch;
        }
        Ok(())
    }

    /// The partition's slot for a change that makes `leader` lead, refused when that leader
    /// is fenced.
    fn unfenced_leader_slot(
        &mut self,
        topic_id: TopicId,
        index: PartitionIndex,
        leader: Option<BrokerId>,
    ) -> Result<Option<&mut PartitionImage>, ApplyError> {
        if let Some(leader) = leader.filter(|l| self.fenced_brokers.contains(l)) {
            return Err(ApplyError::FencedLeader {
                broker_id: leader,
                topic_id,
                partition: index,
            });
        }
        let slot = usize::try_from(index.0).ok();
        Ok(self
            .topics
            .get_mut(&topic_id)
            .and_then(|t| slot.and_then(|i| t.partitions.get_mut(i))))
    }

    fn apply_partition_reassignment(
        &mut self,
        record: &PartitionReassignmentRecord,
    ) -> Result<(), ApplyError> {
        let (topic_id, index) = (record.topic_id, record.partition);
        let current = self
            .partition(topic_id, index)
            .ok_or(ApplyError::UnknownTopicId { topic_id })?;
        let invalid = |reason: &'static str| ApplyError::InvalidPartitionChange {
            topic_id,
            partition: index,
            reason: reason.into(),
        };
        check_partition_shape(&record.replicas, &record.isr, record.leader).map_err(
            |reason: &'static str| ApplyError::InvalidPartitionState {
                topic_id,
                partition: index,
                reason: reason.into(),
            },
        )?;
        let within = |list: &[BrokerId]| list.iter().all(|b| record.replicas.contains(b));
        let disjoint = !record
            .adding_replicas
            .iter()
            .any(|b| record.removing_replicas.contains(b));
        if !within(&record.adding_replicas) || !within(&record.removing_replicas) || !disjoint {
            return Err(invalid(
                "adding and removing replicas must be disjoint subsets of the replicas",
            ));
        }
        if record.partition_epoch != current.partition_epoch.next()
            || record.leader_epoch != current.leader_epoch.next()
        {
            return Err(invalid(
                "a replica set change bumps the partition and leader epochs by one",
            ));
        }
        if let Some(&broker_id) = record
            .replicas
            .iter()
            .find(|b| !self.brokers.contains_key(b))
        {
            return Err(ApplyError::UnregisteredBroker { broker_id });
        }
        if let Some(partition) = self.unfenced_leader_slot(topic_id, index, record.leader)? {
            partition.replicas = record.replicas.clone();
            partition.adding_replicas = record.adding_replicas.clone();
            partition.removing_replicas = record.removing_replicas.clone();
            partition.isr = record.isr.clone();
            partition.leader = record.leader;
            partition.leader_epoch = record.leader_epoch;
            partition.partition_epoch = record.partition_epoch;
        }
        Ok(())
    }

    fn apply_topic(&mut self, topic: &TopicRecord) -> Result<(), ApplyError> {
        if self.topic_ids_by_name.contains_key(&topic.name) {
            return Err(ApplyError::DuplicateTopicName {
                name: topic.name.clone(),
            });
        }
        if topic.topic_id.is_reserved() {
            return Err(ApplyError::ReservedTopicId {
                topic_id: topic.topic_id,
            });
        }
        if self.used_topic_ids.contains(&topic.topic_id) {
            return Err(ApplyError::DuplicateTopicId {
                topic_id: topic.topic_id,
            });
        }
        self.used_topic_ids.insert(topic.topic_id);
        self.topic_ids_by_name
            .insert(topic.name.clone(), topic.topic_id);
        self.topics.insert(
            topic.topic_id,
            TopicImage {
                name: topic.name.clone(),
                topic_id: topic.topic_id,
                partitions: Vec::new(),
            },
        );
        self.topics_created_total += 1;
        Ok(())
    }

    fn apply_partition(&mut self, record: &PartitionRecord) -> Result<(), ApplyError> {
        let topic_id = record.topic_id;
        let Some(topic) = self.topics.get(&topic_id) else {
            return Err(ApplyError::UnknownTopicId { topic_id });
        };
        let expected = PartitionIndex(topic.partitions.len() as i32);
        if record.partition != expected {
            return Err(ApplyError::PartitionNotNext {
                topic_id,
                partition: record.partition,
                expected,
            });
        }
        let invalid = |reason: &'static str| ApplyError::InvalidPartitionState {
            topic_id,
            partition: record.partition,
            reason: reason.into(),
        };
        check_partition_shape(&record.replicas, &record.isr, record.leader).map_err(invalid)?;
        if record.leader_epoch.0 < 0 || record.partition_epoch.0 < 0 {
            return Err(invalid("negative epoch"));
        }
        if let Some(&broker_id) = record
            .replicas
            .iter()
            .find(|b| !self.brokers.contains_key(b))
        {
            return Err(ApplyError::UnregisteredBroker { broker_id });
        }
        if let Some(leader) = record.leader.filter(|l| self.fenced_brokers.contains(l)) {
            return Err(ApplyError::FencedLeader {
                broker_id: leader,
                topic_id,
                partition: record.partition,
            });
        }
        let partition = PartitionImage {
            replicas: record.replicas.clone(),
            isr: record.isr.clone(),
            leader: record.leader,
            leader_epoch: record.leader_epoch,
            partition_epoch: record.partition_epoch,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        };
        if let Some(topic) = self.topics.get_mut(&topic_id) {
            topic.partitions.push(partition);
        }
        Ok(())
    }

    fn apply_config(&mut self, record: &ConfigRecord) -> Result<(), ApplyError> {
        if !self.topic_ids_by_name.contains_key(&record.topic) {
            return Err(ApplyError::UnknownTopicName {
                name: record.topic.clone(),
            });
        }
        let configs = self.topic_configs.entry(record.topic.clone()).or_default();
        match &record.value {
            Some(value) => {
                configs.insert(record.key.clone(), value.clone());
            }
            None => {
                configs.remove(&record.key);
            }
        }
        if configs.is_empty() {
            self.topic_configs.remove(&record.topic);
        }
        Ok(())
    }

    fn apply_remove_topic(&mut self, record: &RemoveTopicRecord) -> Result<(), ApplyError> {
        let Some(topic) = self.topics.remove(&record.topic_id) else {
            return Err(ApplyError::UnknownTopicId {
                topic_id: record.topic_id,
            });
        };
        self.topic_ids_by_name.remove(&topic.name);
        self.topic_configs.remove(&topic.name);
        Ok(())
    }

    /// Asserts the image's invariants: names and ids map one to one; every partition has
    /// `leader ∈ isr ⊆ replicas`, distinct replicas on registered brokers, non-negative
    /// epochs; no fenced broker leads; fenced brokers are registered; configs only for live
    /// topics; every live id is recorded as used. A failure is a bug (apply validates records
    /// first), never bad input.
    pub fn check_invariants(&self) {
        for broker_id in &self.fenced_brokers {
            assert!(self.brokers.contains_key(broker_id), "fenced unregistered");
        }
        assert_eq!(self.topics.len(), self.topic_ids_by_name.len());
        for (name, topic_id) in &self.topic_ids_by_name {
            let topic = self
                .topics
                .get(topic_id)
                .expect("name maps to a live topic");
            assert_eq!(&topic.name, name, "name index disagrees with topic");
            assert_eq!(topic.topic_id, *topic_id, "id index disagrees with topic");
            assert!(self.used_topic_ids.contains(topic_id), "live id not used");
            for partition in &topic.partitions {
                assert_eq!(
                    check_partition_shape(&partition.replicas, &partition.isr, partition.leader),
                    Ok(())
                );
                assert!(partition.leader_epoch.0 >= 0 && partition.partition_epoch.0 >= 0);
                for broker_id in &partition.replicas {
                    assert!(self.brokers.contains_key(broker_id), "replica unregistered");
                }
                if let Some(leader) = partition.leader {
                    assert!(!self.fenced_brokers.contains(&leader), "fenced leader");
                }
            }
        }
        for name in self.topic_configs.keys() {
            assert!(
                self.topic_ids_by_name.contains_key(name),
                "configs of dead topic"
            );
        }
        assert!(self.used_topic_ids.len() as u64 <= self.topics_created_total);
    }
}

/// Checks `leader ∈ isr ⊆ replicas`, no repeated broker, at least one replica.
fn check_partition_shape(
    replicas: &[BrokerId],
    isr: &[BrokerId],
    leader: Option<BrokerId>,
) -> Result<(), &'static str> {
    if replicas.is_empty() {
        return Err("no replicas");
    }
    let distinct: BTreeSet<_> = replicas.iter().collect();
    if distinct.len() != replicas.len() {
        return Err("a broker holds two replicas");
    }
    let distinct_isr: BTreeSet<_> = isr.iter().collect();
    if distinct_isr.len() != isr.len() {
        return Err("a broker is twice in the isr");
    }
    if !isr.iter().all(|b| distinct.contains(b)) {
        return Err("isr is not a subset of replicas");
    }
    if let Some(leader) = leader {
        if !isr.contains(&leader) {
            return Err("leader is not in the isr");
        }
    }
    Ok(())
}
