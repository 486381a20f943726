//! The array-length pre-check (see `skim`) for the inter-broker apis' requests and responses.
//!
//! Contract: each walk follows the schema `kafka-protocol` 0.18 decodes for its api and
//! version (known tagged fields by their type, as the decoder reads them; unknown ones by
//! size) and fails only when an array claims more elements than the remaining bytes could
//! hold. Fetch is walked by `skim` / `skim_response`, which cover every inter-broker Fetch
//! version. Apis without arrays (the BrokerRegistration and BrokerHeartbeat responses) need
//! no walk.
//!
//! Why: the inter-broker decoders face bytes from the network like the client ones, and must
//! not let a corrupt or hostile frame make the process abort on a huge pre-allocation.

use super::skim::{Skimmer, Walk};

impl Skimmer {
    pub(super) fn offset_for_leader_epoch(&mut self) -> Walk {
        self.skip(if self.version >= 3 { 4 } else { 0 })?; // replica_id
        let partition_min = 4 + 4 + 4 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(4 + 4 + 4)?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    pub(super) fn offset_for_leader_epoch_response(&mut self) -> Walk {
        self.skip(4)?; // throttle_time_ms
        let partition_min = 2 + 4 + 4 + 8 + self.min_tags();
        let topic_min = self.min_string() + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.string()?;
            s.array(partition_min, |s| {
                s.skip(2 + 4 + 4 + 8)?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    pub(super) fn alter_partition(&mut self) -> Walk {
        let v = self.version;
        self.skip(4 + 8)?; // broker_id, broker_epoch
        let member_min = if v >= 3 { 4 + 8 + self.min_tags() } else { 4 };
        let partition_min = 4 + 4 + self.min_array() + 1 + 4 + self.min_tags();
        let topic_min = 16 + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.skip(16)?; // topic_id
            s.array(partition_min, |s| {
                s.skip(4 + 4)?; // partition_index, leader_epoch
                if v >= 3 {
                    s.array(member_min, |s| {
                        s.skip(4 + 8)?;
                        s.tags()
                    })?;
                } else {
                    s.array(member_min, |s| s.skip(4))?;
                }
                s.skip(1 + 4)?; // leader_recovery_state, partition_epoch
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    pub(super) fn alter_partition_response(&mut self) -> Walk {
        self.skip(4 + 2)?; // throttle_time_ms, error_code
        let partition_min = 4 + 2 + 4 + 4 + self.min_array() + 1 + 4 + self.min_tags();
        let topic_min = 16 + self.min_array() + self.min_tags();
        self.array(topic_min, |s| {
            s.skip(16)?;
            s.array(partition_min, |s| {
                s.skip(4 + 2 + 4 + 4)?;
                s.array(4, |s| s.skip(4))?; // isr
                s.skip(1 + 4)?;
                s.tags()
            })?;
            s.tags()
        })?;
        self.tags()
    }

    pub(super) fn broker_registration(&mut self) -> Walk {
        let v = self.version;
        self.skip(4)?; // broker_id
        self.string()?; // cluster_id
        self.skip(16)?; // incarnation_id
        let listener_min = 2 * self.min_string() + 2 + 2 + self.min_tags();
        self.array(listener_min, |s| {
            s.string()?;
            s.string()?;
            s.skip(2 + 2)?;
            s.tags()
        })?;
        let feature_min = self.min_string() + 2 + 2 + self.min_tags();
        self.array(feature_min, |s| {
            s.string()?;
            s.skip(2 + 2)?;
            s.tags()
        })?;
        self.string()?; // rack
        self.skip(usize::from(v >= 1))?; // is_migrating_zk_broker
        if v >= 2 {
            self.array(16, |s| s.skip(16))?; // log_dirs
        }
        self.skip(if v >= 3 { 8 } else { 0 })?; // previous_broker_epoch
        self.tags()
    }

    pub(super) fn broker_heartbeat(&mut self) -> Walk {
        let v = self.version;
        self.skip(4 + 8 + 8 + 1 + 1)?;
        self.tags_with(|s, tag| {
            // offline_log_dirs: a compact array of uuids (v1+; the decoder rejects it below).
            (tag == 0 && v >= 1).then(|| s.array(16, |s| s.skip(16)))
        })
    }
}
