//! Reference model of the cluster's topic metadata: a map from topic name to its partition
//! count and configs.
//!
//! What the controller's topic commands must do to the set of topics, and nothing about how:
//! a topic is created once (again only after deletion), with at least one partition; its
//! partition count only grows; its configs are a key → value map where setting replaces and
//! deleting removes. Validation of names and config values is the controller's own business
//! (tested rule by rule); the model is told whether a config change is valid.

use std::collections::BTreeMap;

/// One topic as the model remembers it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelTopic {
    /// Number of partitions.
    pub partitions: u32,
    /// Config overrides.
    pub configs: BTreeMap<String, String>,
}

/// Why the model refuses a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// Create of a live topic.
    AlreadyExists,
    /// Any command on a topic that is not live.
    UnknownTopic,
    /// A create with no partitions, or a partition count that does not grow.
    InvalidPartitions,
}

/// The model: live topics by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelCluster {
    /// Live topics.
    pub topics: BTreeMap<String, ModelTopic>,
}

impl ModelCluster {
    /// An empty cluster.
    pub fn new() -> ModelCluster {
        ModelCluster::default()
    }

    /// Creates `name` with `partitions` partitions and `configs`.
    pub fn create(
        &mut self,
        name: &str,
        partitions: u32,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ModelError> {
        if self.topics.contains_key(name) {
            return Err(ModelError::AlreadyExists);
        }
        if partitions == 0 {
            return Err(ModelError::InvalidPartitions);
        }
        self.topics.insert(
            name.to_owned(),
            ModelTopic {
                partitions,
                configs,
            },
        );
        Ok(())
    }

    /// Deletes `name`, configs included.
    pub fn delete(&mut self, name: &str) -> Result<(), ModelError> {
        self.topics
            .remove(name)
            .map(|_| ())
            .ok_or(ModelError::UnknownTopic)
    }

    /// Grows `name` to `new_total` partitions.
    pub fn create_partitions(&mut self, name: &str, new_total: u32) -> Result<(), ModelError> {
        let topic = self.topics.get_mut(name).ok_or(ModelError::UnknownTopic)?;
        if new_total <= topic.partitions {
            return Err(ModelError::InvalidPartitions);
        }
        topic.partitions = new_total;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) one config of `name`.
    pub fn alter_config(
        &mut self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), ModelError> {
        let topic = self.topics.get_mut(name).ok_or(ModelError::UnknownTopic)?;
        match value {
            Some(value) => topic.configs.insert(key.to_owned(), value.to_owned()),
            None => topic.configs.remove(key),
        };
        Ok(())
    }
}

/// The leader a partition must have once a controller command is done, by Kafka's classic
/// (pre-ELR) election rules, given its replicas in assignment order, its ISR and leader
/// *after* the command, its leader *before*, which brokers are live (registered and
/// unfenced) after it, and whether the topic allows unclean election:
/// the previous leader if it is still a live ISR member; else the first live ISR member in
/// assignment order; else, if unclean election is allowed, the first live replica (then the
/// ISR is that replica alone); else none.
///
/// Not for commands that move leadership on purpose (preferred-replica election).
pub fn expected_leader(
    replicas: &[i32],
    isr: &[i32],
    previous_leader: Option<i32>,
    is_live: &dyn Fn(i32) -> bool,
    unclean_allowed: bool,
) -> Option<i32> {
    if let Some(leader) = previous_leader {
        if isr.contains(&leader) && is_live(leader) {
            return Some(leader);
        }
    }
    if let Some(&first) = replicas.iter().find(|r| isr.contains(r) && is_live(**r)) {
        return Some(first);
    }
    if unclean_allowed {
        return replicas.iter().copied().find(|r| is_live(*r));
    }
    None
}
