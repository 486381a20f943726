//! The node's mapping of its machines' errors onto Kafka error codes, in one place.
//!
//! Codes the wire module's [`KafkaErrorCode`] already names come from it; the few it does not
//! name yet are the constants below (numbers from the Kafka protocol guide), to be moved into
//! `KafkaErrorCode` by the wire module's owner.

use crate::controller::ControllerError;
use crate::log::LogError;
use crate::record::BatchError;
use crate::wire::KafkaErrorCode;

/// INVALID_REPLICA_ASSIGNMENT.
pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
/// NOT_CONTROLLER.
pub const NOT_CONTROLLER: i16 = 41;
/// THROTTLING_QUOTA_EXCEEDED.
pub const THROTTLING_QUOTA_EXCEEDED: i16 = 89;
/// UNKNOWN_TOPIC_ID.
pub const UNKNOWN_TOPIC_ID: i16 = 100;
/// UNSUPPORTED_ENDPOINT_TYPE (DescribeCluster asked for controllers of a broker).
pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 119;

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
        ControllerError::UnknownTopicId { .. } => return UNKNOWN_TOPIC_ID,
        ControllerError::InvalidPartitions { .. } => KafkaErrorCode::InvalidPartitions,
        ControllerError::InvalidReplicationFactor { .. } => {
            KafkaErrorCode::InvalidReplicationFactor
        }
        ControllerError::InvalidReplicaAssignment { .. }
        | ControllerError::UnknownBroker { .. } => return INVALID_REPLICA_ASSIGNMENT,
        ControllerError::UnknownConfig { .. }
        | ControllerError::InvalidConfigValue { .. }
        | ControllerError::UnsupportedConfigValue { .. } => KafkaErrorCode::InvalidConfig,
        ControllerError::InvalidRequest { .. }
        | ControllerError::InvalidBrokerRegistration { .. } => KafkaErrorCode::InvalidRequest,
        ControllerError::NotController => return NOT_CONTROLLER,
        ControllerError::MetadataLogFull { .. } => return THROTTLING_QUOTA_EXCEEDED,
    };
    code.code()
}
