//! Config and broker commands: IncrementalAlterConfigs, AlterConfigs (replace-all),
//! DescribeConfigs for topics (broker registration is in `fencing`).

use super::config::{
    describe_topic_configs, topic_config_def, validate_topic_config, DescribedConfig,
};
use super::election::{push_leaderless_elections, ChangeBatch};
use super::error::ControllerError;
use super::record::{ConfigRecord, MetadataRecord};
use super::Controller;
use std::collections::BTreeSet;

/// What to do with one config key (IncrementalAlterConfigs' operations SET (0) and
/// DELETE (1); APPEND and SUBTRACT apply only to list configs, which the wire layer answers
/// with INVALID_REQUEST until a list config other than `cleanup.policy=delete` exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOperation {
    /// Set the key to this value.
    Set(String),
    /// Return the key to its default.
    Delete,
}

/// One change of an alter-configs request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChange {
    /// The key.
    pub key: String,
    /// What to do.
    pub operation: ConfigOperation,
}

impl Controller {
    /// IncrementalAlterConfigs on a topic: every change is validated (unknown keys and bad
    /// values fail the whole request, as Kafka does per resource); returns the records, none
    /// when `validate_only` or when nothing would change. Config records are followed by the
    /// elections they make possible (enabling `unclean.leader.election.enable`).
    pub fn alter_configs(
        &self,
        topic: &str,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let current = self.existing_topic_configs(topic)?;
        let mut keys = BTreeSet::new();
        let mut records = Vec::new();
        for change in changes {
            if !keys.insert(change.key.as_str()) {
                return Err(ControllerError::InvalidRequest {
                    reason: "config key given more than once".into(),
                });
            }
            let value = match &change.operation {
                ConfigOperation::Set(value) => {
                    Some(validate_topic_config(&change.key, Some(value))?)
                }
                ConfigOperation::Delete if topic_config_def(&change.key).is_none() => {
                    return Err(ControllerError::UnknownConfig {
                        key: change.key.clone(),
                    });
                }
                ConfigOperation::Delete => None,
            };
            if current.get(&change.key) != value.as_ref() {
                records.push(MetadataRecord::Config(ConfigRecord {
                    topic: topic.to_owned(),
                    key: change.key.clone(),
                    value,
                }));
            }
        }
        if validate_only || records.is_empty() {
            return Ok(Vec::new());
        }
        // Enabling unclean election may make leaderless partitions electable now, as
        // Kafka's controller elects them once the config allows it.
        let mut batch = ChangeBatch::new(self.view());
        records.into_iter().for_each(|record| batch.push(record));
        push_leaderless_elections(&mut batch, &self.config);
        Ok(batch.into_records())
    }

    /// AlterConfigs (the legacy, replace-all form): the topic's overrides become exactly
    /// `configs`; keys set now but absent from `configs` return to their defaults.
    pub fn replace_configs(
        &self,
        topic: &str,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let current = self.existing_topic_configs(topic)?;
        let mut changes: Vec<ConfigChange> = configs
            .iter()
            .map(|(key, value)| ConfigChange {
                key: key.clone(),
                operation: ConfigOperation::Set(value.clone()),
            })
            .collect();
        for key in current.keys() {
            if !configs.iter().any(|(k, _)| k == key) {
                changes.push(ConfigChange {
                    key: key.clone(),
                    operation: ConfigOperation::Delete,
                });
            }
        }
        self.alter_configs(topic, &changes, validate_only)
    }

    /// DescribeConfigs for a topic: every known config (or only `keys`), with its value and
    /// source.
    pub fn describe_configs(
        &self,
        topic: &str,
        keys: Option<&[String]>,
    ) -> Result<Vec<DescribedConfig>, ControllerError> {
        let current = self.existing_topic_configs(topic)?;
        Ok(describe_topic_configs(&self.config, Some(&current), keys))
    }

    fn existing_topic_configs(
        &self,
        topic: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, ControllerError> {
        if self.view().topic_by_name(topic).is_none() {
            return Err(ControllerError::UnknownTopic {
                name: topic.to_owned(),
            });
        }
        Ok(self
            .view()
            .topic_configs(topic)
            .cloned()
            .unwrap_or_default())
    }
}
