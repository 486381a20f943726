//! The node's mapping of its machines' errors onto Kafka error codes, in one place.
//!
//! The mapping names [`KafkaErrorCode`] variants only: the protocol numbers live in the wire
//! module (checked there against `kafka-protocol`), never here.

use crate::controller::ControllerError;
use crate::log::LogError;
use crate::record::BatchError;
use crate::replication::ReplicationError;
use crate::wire::KafkaErrorCode;

/// The Kafka error code of a partition log error.
pub fn log_error_code(error: &LogError) -> i16 {
    let code = match error {
        LogError::InvalidBatch(BatchError::CrcMismatch { .. }) => KafkaErrorCode::CorruptMessage,
        LogError::InvalidBatch(BatchError::UnsupportedMagic { .. }) => {
            KafkaErrorCode::UnsupportedForMessageFormat
        }
        LogError::InvalidBatch(_) => KafkaErrorCode::InvalidRecord,
        LogError::OffsetOutOfRange { .. } => KafkaErrorCode::OffsetOutOfRange,
        LogError::Corruption { .. } | LogError::Storage(_) | LogError::Fenced { .. } => {
            KafkaErrorCode::KafkaStorageError
        }
        LogError::TruncateOutOfRange { .. } => KafkaErrorCode::UnknownServerError,
    };
    code.code()
}

/// The Kafka error code of a controller error (as documented on each variant).
pub fn controller_error_code(error: &ControllerError) -> i16 {
    let code = match error {
        ControllerError::InvalidTopicName { .. } | ControllerError::TopicNameCollision { .. } => {
            KafkaErrorCode::InvalidTopicException
        }
        ControllerError::TopicAlreadyExists { .. } => KafkaErrorCode::TopicAlreadyExists,
        ControllerError::UnknownTopic { .. } | ControllerError::AutoCreateDisabled { .. } => {
            KafkaErrorCode::UnknownTopicOrPartition
        }
        ControllerError::UnknownTopicId { .. } => KafkaErrorCode::UnknownTopicId,
        ControllerError::InvalidPartitions { .. } => KafkaErrorCode::InvalidPartitions,
        ControllerError::InvalidReplicationFactor { .. }
        | ControllerError::ReplicationFactorChangeNotAllowed { .. } => {
            KafkaErrorCode::InvalidReplicationFactor
        }
        ControllerError::InvalidReplicaAssignment { .. }
        | ControllerError::UnknownBroker { .. } => KafkaErrorCode::InvalidReplicaAssignment,
        ControllerError::UnknownConfig { .. }
        | ControllerError::InvalidConfigValue { .. }
        | ControllerError::UnsupportedConfigValue { .. } => KafkaErrorCode::InvalidConfig,
        ControllerError::InvalidRequest { .. }
        | ControllerError::InvalidBrokerRegistration { .. }
        | ControllerError::InvalidRecords { .. } => KafkaErrorCode::InvalidRequest,
        ControllerError::NotController => KafkaErrorCode::NotController,
        ControllerError::MetadataLogFull { .. } => KafkaErrorCode::ThrottlingQuotaExceeded,
        ControllerError::BrokerNotRegistered { .. } => KafkaErrorCode::BrokerIdNotRegistered,
        ControllerError::StaleBrokerEpoch { .. } => KafkaErrorCode::StaleBrokerEpoch,
        ControllerError::DuplicateBrokerRegistration { .. } => {
            KafkaErrorCode::DuplicateBrokerRegistration
        }
        ControllerError::UnknownPartition { .. } => KafkaErrorCode::UnknownTopicOrPartition,
        ControllerError::FencedLeaderEpoch { .. } => KafkaErrorCode::FencedLeaderEpoch,
        ControllerError::InvalidUpdateVersion { .. } => KafkaErrorCode::InvalidUpdateVersion,
        ControllerError::NotLeaderOrFollower { .. } => KafkaErrorCode::NotLeaderOrFollower,
        ControllerError::IneligibleReplica { .. } => KafkaErrorCode::IneligibleReplica,
        ControllerError::PreferredLeaderNotAvailable { .. } => {
            KafkaErrorCode::PreferredLeaderNotAvailable
        }
        ControllerError::ElectionNotNeeded => KafkaErrorCode::ElectionNotNeeded,
        ControllerError::NoReassignmentInProgress { .. } => {
            KafkaErrorCode::NoReassignmentInProgress
        }
    };
    code.code()
}

/// The Kafka error code of a replica error (as documented on each variant).
pub fn replication_error_code(error: &ReplicationError) -> i16 {
    let code = match error {
        ReplicationError::NotLeaderOrFollower { .. } | ReplicationError::UnknownReplica { .. } => {
            KafkaErrorCode::NotLeaderOrFollower
        }
        ReplicationError::FencedLeaderEpoch { .. } => KafkaErrorCode::FencedLeaderEpoch,
        ReplicationError::UnknownLeaderEpoch { .. } => KafkaErrorCode::UnknownLeaderEpoch,
        ReplicationError::NotEnoughReplicas { .. } => KafkaErrorCode::NotEnoughReplicas,
        ReplicationError::NotEnoughReplicasAfterAppend { .. } => {
            KafkaErrorCode::NotEnoughReplicasAfterAppend
        }
        ReplicationError::OffsetOutOfRange { .. } => KafkaErrorCode::OffsetOutOfRange,
        // Too many produces wait for the ISR: the client retries later.
        ReplicationError::Backpressure { .. } => KafkaErrorCode::ThrottlingQuotaExceeded,
        ReplicationError::CorruptCheckpoint { .. } => KafkaErrorCode::KafkaStorageError,
        ReplicationError::Log(error) => return log_error_code(error),
        ReplicationError::InvalidPartitionState { .. }
        | ReplicationError::EpochRegression { .. }
        | ReplicationError::NonContiguousBatch { .. } => KafkaErrorCode::UnknownServerError,
    };
    code.code()
}
