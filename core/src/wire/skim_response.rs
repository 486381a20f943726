//! The array-length pre-check for response bodies (client side), like `skim` for requests.
//!
//! Contract: [`check_response_array_lengths`] walks a response body of a supported api and
//! version along the schema `kafka-protocol` decodes and fails only when an array claims more
//! elements than the remaining bytes could hold. Known tagged fields are walked by their type
//! (as the decoder reads them), unknown ones skipped by size.
//!
//! Why: `decode_response` is used by console tools and simulated clients; a corrupt or hostile
//! response must not make them abort on a huge pre-allocation (see `skim`).

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;

use super::skim::{verdict, ImplausibleArray, Skimmer, Walk};

/// Checks every array length in a response body (the bytes after the response header).
pub(crate) fn check_response_array_lengths(
    api_key: ApiKey,
    api_version: i16,
    body: &Bytes,
) -> Result<(), ImplausibleArray> {
    let mut skim = Skimmer {
        buf: body.clone(),
        version: api_version,
        // Flexible exactly when the *request* header is v2 (the ApiVersions response header
        // stays v0 even for flexible versions, so the response header cannot tell).
        flexible: api_key.request_header_version(api_version) >= 2,
    };
    verdict(match api_key {
        ApiKey::Produce => skim.produce_response(),
        ApiKey::Fetch => skim.fetch_response(),
        ApiKey::ListOffsets => skim.list_offsets_response(),
        ApiKey::Metadata => skim.metadata_response(),
        ApiKey::ApiVersions => skim.api_versions_response(),
        ApiKey::CreateTopics => skim.create_topics_response(),
        ApiKey::DeleteTopics => skim.delete_topics_response(),
        ApiKey::DescribeConfigs => skim.describe_configs_response(),
        ApiKey::CreatePartitions => skim.create_partitions_response(),
        ApiKey::AlterPartitionReassignments => skim.alter_partition_reassignments_response(),
        ApiKey::ListPartitionReassignments => skim.list_partition_reassignments_response(),
        ApiKey::DescribeCluster => skim.describe_cluster_response(),
        ApiKey::OffsetForLeaderEpoch => skim.offset_for_leader_epoch_response(),
        ApiKey::AlterPartition => skim.alter_partition_response(),
        // BrokerRegistration, BrokerHeartbeat and anything else without arrays.
        _ => Ok(()),
    })
}

impl Skimmer {
    /// Fixed-size fields followed by a tagged-field section (a tagged struct of scalars).
    pub(super) fn scalars_then_tags(&mut self, bytes: usize) -> Walk {
        self.skip(bytes)?;
        self.tags()
    }

    fn produce_response(&mut self) -> Walk {
        let v = self.version;
        let error_min = 4 + self.min_string() + self.min_tags();
        let partition_min = 4 + 2 + 8 + 8 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4 + 2 + 8 + 8 + if v >= 5 { 8 } else { 0 })?;
                if v >= 8 {
                    s.array(error_min, |s| {
                        s.skip(4)?;
                        s.string()?;
                        s.tags()
                    })?;
                    s.string()?;
                }
                s.tags()
            })?;
            s.tags()
        })?;
        self.skip(4)?;
        self.tags()
    }

    fn fetch_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(4 + if v >= 7 { 2 + 4 } else { 0 })?;
        let aborted_min = 16 + self.min_tags();
        // Fixed fields, aborted transactions, records (both length-prefixed), tags.
        let partition_min = 4 + 2 + 8 + 8 + 2 * self.min_array() + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.topic_name_or_id(v <= 12)?;
            s.array(partition_min, |s| {
                s.skip(4 + 2 + 8 + 8 + if v >= 5 { 8 } else { 0 })?;
                s.array(aborted_min, |s| s.scalars_then_tags(16))?;
                s.skip(if v >= 11 { 4 } else { 0 })?;
                s.string_or_bytes(true)?; // records
                s.tags_with(|s, tag| match tag {
                    // diverging_epoch, current_leader, snapshot_id: tagged scalar structs.
                    0 => Some(s.scalars_then_tags(4 + 8)),
                    1 => Some(s.scalars_then_tags(4 + 4)),
                    2 => Some(s.scalars_then_tags(8 + 4)),
                    _ => None,
                })
            })?;
            s.tags()
        })?;
        self.tags_with(|s, tag| {
            // node_endpoints (v16+): (node_id, host, port, rack, tags).
            (tag == 0 && v >= 16).then(|| {
                let endpoint_min = 4 + 2 * s.min_string() + 4 + s.min_tags();
                s.array(endpoint_min, |s| {
                    s.skip(4)?;
                    s.string()?;
                    s.skip(4)?;
                    s.string()?;
                    s.tags()
                })
            })
        })
    }

    fn list_offsets_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(if v >= 2 { 4 } else { 0 })?;
        let partition_min = 4 + 2 + 8 + 8 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.scalars_then_tags(4 + 2 + 8 + 8 + if v >= 4 { 4 } else { 0 })
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn metadata_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(if v >= 3 { 4 } else { 0 })?;
        let broker_min = 4 + self.min_string() + 4 + self.min_tags();
        self.array(broker_min, |s| {
            s.skip(4)?;
            s.string()?;
            s.skip(4)?;
            if v >= 1 {
                s.string()?; // rack
            }
            s.tags()
        })?;
        if v >= 2 {
            self.string()?; // cluster_id
        }
        self.skip(if v >= 1 { 4 } else { 0 })?;
        let partition_min = 2 + 4 + 4 + 2 * self.min_array() + self.min_tags();
        let topic_min = 2 + self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.skip(2)?;
            s.string()?;
            s.skip(if v >= 10 { 16 } else { 0 } + usize::from(v >= 1))?;
            s.array(partition_min, |s| {
                s.skip(2 + 4 + 4 + if v >= 7 { 4 } else { 0 })?;
                s.array(4, |s| s.skip(4))?;
                s.array(4, |s| s.skip(4))?;
                if v >= 5 {
                    s.array(4, |s| s.skip(4))?;
                }
                s.tags()
            })?;
            s.skip(if v >= 8 { 4 } else { 0 })?;
            s.tags()
        })?;
        self.skip(if (8..=10).contains(&v) { 4 } else { 0 } + if v >= 13 { 2 } else { 0 })?;
        self.tags()
    }

    fn api_versions_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(2)?;
        let key_min = 6 + self.min_tags();
        self.array(key_min, |s| s.scalars_then_tags(6))?;
        self.skip(if v >= 1 { 4 } else { 0 })?;
        self.tags_with(|s, tag| match tag {
            // supported_features and finalized_features: arrays of (name, two i16, tags).
            0 | 2 => {
                let feature_min = s.min_string() + 4 + s.min_tags();
                Some(s.array(feature_min, |s| {
                    s.string()?;
                    s.scalars_then_tags(4)
                }))
            }
            _ => None,
        })
    }

    fn create_topics_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(4)?;
        let config_min = 2 * self.min_string() + 3 + self.min_tags();
        let topic_min = self.min_string() + 2 + self.min_string() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.skip(if v >= 7 { 16 } else { 0 } + 2)?;
            s.string()?; // error_message
            if v >= 5 {
                s.skip(4 + 2)?;
                s.array(config_min, |s| {
                    s.string()?;
                    s.string()?;
                    s.scalars_then_tags(3)
                })?;
            }
            s.tags_with(|s, tag| (tag == 0).then(|| s.skip(2)))
        })?;
        self.tags()
    }

    fn delete_topics_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(4)?;
        let result_min = self.min_string() + 2 + self.min_tags();
        self.array(result_min, |s| {
            s.string()?;
            s.skip(if v >= 6 { 16 } else { 0 } + 2)?;
            if v >= 5 {
                s.string()?;
            }
            s.tags()
        })?;
        self.tags()
    }

    fn create_partitions_response(&mut self) -> Walk {
        self.skip(4)?;
        let result_min = 2 * self.min_string() + 2 + self.min_tags();
        self.array(result_min, |s| {
            s.string()?;
            s.skip(2)?;
            s.string()?;
            s.tags()
        })?;
        self.tags()
    }

    fn alter_partition_reassignments_response(&mut self) -> Walk {
        self.skip(4 + usize::from(self.version >= 1) + 2)?;
        self.string()?;
        let partition_min = 4 + 2 + self.min_string() + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4 + 2)?;
                s.string()?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn list_partition_reassignments_response(&mut self) -> Walk {
        self.skip(4 + 2)?;
        self.string()?;
        let partition_min = 4 + 3 * self.min_array() + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4)?;
                for _ in 0..3 {
                    s.array(4, |s| s.skip(4))?;
                }
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn describe_configs_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(4)?;
        let synonym_min = 2 * self.min_string() + 1 + self.min_tags();
        let config_min = 2 * self.min_string() + 3 + self.min_array() + self.min_tags();
        let result_min = 2 + 2 * self.min_string() + 1 + self.min_array() + self.min_tags();
        self.array(result_min, |s| {
            s.skip(2)?;
            s.string()?;
            s.skip(1)?;
            s.string()?;
            s.array(config_min, |s| {
                s.string()?;
                s.string()?;
                s.skip(3)?;
                s.array(synonym_min, |s| {
                    s.string()?;
                    s.string()?;
                    s.scalars_then_tags(1)
                })?;
                if v >= 3 {
                    s.skip(1)?;
                    s.string()?;
                }
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    fn describe_cluster_response(&mut self) -> Walk {
        let v = self.version;
        self.skip(4 + 2)?;
        self.string()?;
        self.skip(usize::from(v >= 1))?;
        self.string()?;
        self.skip(4)?;
        let broker_min = 4 + 2 * self.min_string() + 4 + self.min_tags();
        self.array(broker_min, |s| {
            s.skip(4)?;
            s.string()?;
            s.skip(4)?;
            s.string()?;
            s.skip(usize::from(v >= 2))?;
            s.tags()
        })?;
        self.skip(4)?;
        self.tags()
    }
}
