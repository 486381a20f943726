//! Leader election and ISR changes, following Kafka's KRaft `PartitionChangeBuilder` in its
//! classic (pre-ELR) form.
//!
//! # Rules
//! - **Keep a good leader.** If the current leader stays in the target ISR and can lead
//!   (registered, unfenced, not the broker being fenced), it keeps leading.
//! - **Clean election.** Otherwise the new leader is the first replica in assignment order
//!   that is in the target ISR and can lead.
//! - **Unclean election** only when the topic sets `unclean.leader.election.enable=true` (or
//!   the planted bug [`PlantedBug::UncleanElectionByDefault`] is on) and no ISR member can
//!   lead: the first replica in assignment order that can lead becomes leader and the ISR
//!   shrinks to it alone. Writes the old ISR acknowledged may be lost — that is what the
//!   config opts into.
//! - **No leader** otherwise: leader `None`, and the ISR keeps its last member (a fenced
//!   broker is never removed from an ISR of one), so the partition waits for that replica.
//! - **Epochs.** Every change bumps the partition epoch; a change of leader (including to or
//!   from none) bumps the leader epoch.
//!
//! Records are built against a scratch copy of the image ([`ChangeBatch`]), each applied as
//! it is added, so a batch that elects several partitions or fences several brokers sees its
//! own earlier changes, and a record the image would refuse is a controller bug caught here.

use super::config::ControllerConfig;
use super::ids::{BrokerId, MetadataOffset, PartitionIndex, TopicId};
use super::image::{MetadataImage, PartitionImage};
use super::record::{MetadataRecord, PartitionChangeRecord};
use crate::bugs::PlantedBug;

/// The topic config that allows unclean election.
pub const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";

/// Records of one command, each applied to a scratch image as it is added.
pub(super) struct ChangeBatch {
    scratch: MetadataImage,
    next_offset: u64,
    records: Vec<MetadataRecord>,
}

impl ChangeBatch {
    /// An empty batch over (a copy of) `view`.
    pub(super) fn new(view: &MetadataImage) -> ChangeBatch {
        ChangeBatch {
            next_offset: view.next_offset().0,
            scratch: view.clone(),
            records: Vec::new(),
        }
    }

    /// The image with this batch's records applied.
    pub(super) fn image(&self) -> &MetadataImage {
        &self.scratch
    }

    /// Adds `record`. The controller only builds records its image accepts; a refusal is a
    /// bug in the controller, never bad input, hence the assertion.
    pub(super) fn push(&mut self, record: MetadataRecord) {
        let applied = self
            .scratch
            .apply(MetadataOffset(self.next_offset), &record);
        assert_eq!(
            applied,
            Ok(()),
            "controller built a record its image refuses"
        );
        self.next_offset += 1;
        self.records.push(record);
    }

    /// The records, in order.
    pub(super) fn into_records(self) -> Vec<MetadataRecord> {
        self.records
    }
}

/// Whether `topic` allows unclean election: its override, else the broker default, else
/// Kafka's `false` — or always, with the planted bug.
pub fn unclean_election_enabled(
    config: &ControllerConfig,
    image: &MetadataImage,
    topic: &str,
) -> bool {
    if config
        .planted_bugs
        .has(PlantedBug::UncleanElectionByDefault)
    {
        return true;
    }
    let value = image
        .topic_configs(topic)
        .and_then(|c| c.get(UNCLEAN_LEADER_ELECTION_ENABLE))
        .or_else(|| {
            config
                .topic_config_defaults
                .get(UNCLEAN_LEADER_ELECTION_ENABLE)
        });
    value.is_some_and(|v| v == "true")
}

/// The change that gives partition `(topic_id, index)` the ISR `target_isr` (non-empty) and
/// a leader by the module's rules, with `unavailable` (a broker being fenced) unable to
/// lead; `None` if nothing would change.
pub(super) fn build_change(
    image: &MetadataImage,
    topic_id: TopicId,
    index: PartitionIndex,
    target_isr: Vec<BrokerId>,
    unclean_allowed: bool,
    unavailable: Option<BrokerId>,
) -> Option<PartitionChangeRecord> {
    let current = image.partition(topic_id, index)?;
    let can_lead = |b: BrokerId| image.is_unfenced(b) && Some(b) != unavailable;
    let keep = current
        .leader
        .filter(|l| target_isr.contains(l) && can_lead(*l));
    let clean = || {
        current
            .replicas
            .iter()
            .copied()
            .find(|r| target_isr.contains(r) && can_lead(*r))
    };
    let (leader, isr) = match keep.or_else(clean) {
        Some(leader) => (Some(leader), target_isr),
        None => match current.replicas.iter().copied().find(|r| can_lead(*r)) {
            Some(leader) if unclean_allowed => (Some(leader), vec![leader]),
            _ => (None, target_isr),
        },
    };
    change_record(topic_id, index, current, leader, isr)
}

/// The record moving `current` to `leader` and `isr` with the epoch rules; `None` if it
/// changes nothing.
pub(super) fn change_record(
    topic_id: TopicId,
    index: PartitionIndex,
    current: &PartitionImage,
    leader: Option<BrokerId>,
    isr: Vec<BrokerId>,
) -> Option<PartitionChangeRecord> {
    if leader == current.leader && isr == current.isr {
        return None;
    }
    let leader_epoch = if leader == current.leader {
        current.leader_epoch
    } else {
        current.leader_epoch.next()
    };
    Some(PartitionChangeRecord {
        topic_id,
        partition: index,
        leader,
        isr,
        leader_epoch,
        partition_epoch: current.partition_epoch.next(),
    })
}

/// Adds the changes that take `broker` out of every ISR it is in (but never empty an ISR)
/// and move every leadership it holds, as Kafka does when it fences a broker.
pub(super) fn push_fencing_changes(
    batch: &mut ChangeBatch,
    config: &ControllerConfig,
    broker: BrokerId,
) {
    let affected: Vec<(TopicId, PartitionIndex)> = batch
        .image()
        .partitions()
        .filter(|(_, _, p)| p.leader == Some(broker) || p.isr.contains(&broker))
        .map(|(t, i, _)| (t, i))
        .collect();
    for (topic_id, index) in affected {
        let image = batch.image();
        let Some(current) = image.partition(topic_id, index) else {
            continue;
        };
        let mut target: Vec<BrokerId> = current
            .isr
            .iter()
            .copied()
            .filter(|b| *b != broker)
            .collect();
        if target.is_empty() {
            target = current.isr.clone();
        }
        let unclean = topic_unclean(config, image, topic_id);
        if let Some(change) = build_change(image, topic_id, index, target, unclean, Some(broker)) {
            batch.push(MetadataRecord::PartitionChange(change));
        }
    }
}

/// Adds an election for every leaderless partition that now has a broker able to lead (after
/// an unfencing).
pub(super) fn push_leaderless_elections(batch: &mut ChangeBatch, config: &ControllerConfig) {
    let leaderless: Vec<(TopicId, PartitionIndex)> = batch
        .image()
        .partitions()
        .filter(|(_, _, p)| p.leader.is_none())
        .map(|(t, i, _)| (t, i))
        .collect();
    for (topic_id, index) in leaderless {
        let image = batch.image();
        let Some(current) = image.partition(topic_id, index) else {
            continue;
        };
        let unclean = topic_unclean(config, image, topic_id);
        let isr = current.isr.clone();
        if let Some(change) = build_change(image, topic_id, index, isr, unclean, None) {
            batch.push(MetadataRecord::PartitionChange(change));
        }
    }
}

fn topic_unclean(config: &ControllerConfig, image: &MetadataImage, topic_id: TopicId) -> bool {
    image
        .topic(topic_id)
        .is_some_and(|t| unclean_election_enabled(config, image, &t.name))
}

/// A leaderless partition that has a broker able to lead, if any: the controller must never
/// leave one behind after a command (checked by [`super::Controller::check_invariants`]).
pub fn leaderless_with_eligible_leader(
    config: &ControllerConfig,
    image: &MetadataImage,
) -> Option<(TopicId, PartitionIndex)> {
    image
        .partitions()
        .filter(|(_, _, p)| p.leader.is_none())
        .find(|(topic_id, _, p)| {
            let unclean = topic_unclean(config, image, *topic_id);
            p.replicas
                .iter()
                .any(|r| image.is_unfenced(*r) && (unclean || p.isr.contains(r)))
        })
        .map(|(t, i, _)| (t, i))
}
