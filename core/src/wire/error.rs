//! Kafka error codes and the wire layer's own error type, in one place.
//!
//! Contract: [`KafkaErrorCode`] names every error code the broker sends, with the number the
//! Kafka protocol assigns to it (the numbers are part of the protocol and never change; a test
//! checks each against `kafka_protocol::ResponseError`). [`WireError`] is what decoding and
//! encoding return instead of panicking: each variant carries what the node needs to answer
//! (api key, version, correlation id when they could be read) or what an operator needs to
//! read in a log line.
//!
//! Why: the DESIGN asks that Kafka error codes be mapped in exactly one place, and that bad
//! input never panics the broker but gets a clear, typed error.

use kafka_protocol::messages::ApiKey;
use thiserror::Error;

/// A Kafka protocol error code the broker may put in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i16)]
pub enum KafkaErrorCode {
    /// The server experienced an unexpected error when processing the request.
    UnknownServerError = -1,
    /// No error.
    None = 0,
    /// The requested offset is not within the range of offsets the partition holds.
    OffsetOutOfRange = 1,
    /// The message failed its CRC check, exceeded the valid size, is null, or is corrupt.
    CorruptMessage = 2,
    /// This server does not host this topic-partition.
    UnknownTopicOrPartition = 3,
    /// The requested fetch size is invalid.
    InvalidFetchSize = 4,
    /// There is no leader for this topic-partition (an election is in progress).
    LeaderNotAvailable = 5,
    /// This broker is not the leader (or not a replica) of the partition.
    NotLeaderOrFollower = 6,
    /// The request timed out.
    RequestTimedOut = 7,
    /// The request included a message larger than the maximum the server accepts.
    MessageTooLarge = 10,
    /// The request attempted to perform an operation on an invalid topic.
    InvalidTopicException = 17,
    /// The request included a message batch larger than the configured segment size.
    RecordListTooLarge = 18,
    /// Messages are rejected since there are fewer in-sync replicas than required.
    NotEnoughReplicas = 19,
    /// Messages are written to the log, but to fewer in-sync replicas than required.
    NotEnoughReplicasAfterAppend = 20,
    /// Produce request specified an invalid value for required acks.
    InvalidRequiredAcks = 21,
    /// The version of the API is not supported.
    UnsupportedVersion = 35,
    /// Topic with this name already exists.
    TopicAlreadyExists = 36,
    /// Number of partitions is below 1.
    InvalidPartitions = 37,
    /// Replication factor is below 1 or larger than the number of available brokers.
    InvalidReplicationFactor = 38,
    /// Replica assignment is invalid (e.g. it names a broker that is not registered).
    InvalidReplicaAssignment = 39,
    /// Configuration is invalid.
    InvalidConfig = 40,
    /// This is not the correct controller for this cluster.
    NotController = 41,
    /// The request is malformed or violates the protocol (e.g. a flexible field out of place).
    InvalidRequest = 42,
    /// The message format version on the broker does not support the request.
    UnsupportedForMessageFormat = 43,
    /// Disk error when trying to access the log file on the disk.
    KafkaStorageError = 56,
    /// The fetch session id was not found (the broker keeps no fetch sessions).
    FetchSessionIdNotFound = 70,
    /// The leader epoch in the request is older than the epoch on the broker or controller.
    FencedLeaderEpoch = 74,
    /// The leader epoch in the request is newer than the epoch on the broker.
    UnknownLeaderEpoch = 75,
    /// The broker epoch (incarnation) in the request is not the registered one.
    StaleBrokerEpoch = 77,
    /// The preferred leader is not in the ISR or not live.
    PreferredLeaderNotAvailable = 80,
    /// Leader election is not needed: the preferred replica already leads.
    ElectionNotNeeded = 84,
    /// No partition reassignment is in progress (a cancellation found nothing to cancel).
    NoReassignmentInProgress = 85,
    /// The record failed validation on the broker and was rejected.
    InvalidRecord = 87,
    /// The throttling quota has been exceeded.
    ThrottlingQuotaExceeded = 89,
    /// The partition epoch in the request is not the current one (AlterPartition).
    InvalidUpdateVersion = 95,
    /// This server does not host this topic id.
    UnknownTopicId = 100,
    /// A broker registered with a new incarnation while its previous one is still live.
    DuplicateBrokerRegistration = 101,
    /// The broker is not registered with the controller.
    BrokerIdNotRegistered = 102,
    /// The new ISR contains at least one ineligible (fenced or non-replica) broker.
    IneligibleReplica = 107,
    /// The request was sent to an endpoint of the wrong type (KIP-919).
    MismatchedEndpointType = 114,
    /// This endpoint type is not supported (KIP-919).
    UnsupportedEndpointType = 115,
}

impl KafkaErrorCode {
    /// Every code in this enum, in numeric order (for tables and tests).
    pub const ALL: [KafkaErrorCode; 41] = [
        Self::UnknownServerError,
        Self::None,
        Self::OffsetOutOfRange,
        Self::CorruptMessage,
        Self::UnknownTopicOrPartition,
        Self::InvalidFetchSize,
        Self::LeaderNotAvailable,
        Self::NotLeaderOrFollower,
        Self::RequestTimedOut,
        Self::MessageTooLarge,
        Self::InvalidTopicException,
        Self::RecordListTooLarge,
        Self::NotEnoughReplicas,
        Self::NotEnoughReplicasAfterAppend,
        Self::InvalidRequiredAcks,
        Self::UnsupportedVersion,
        Self::TopicAlreadyExists,
        Self::InvalidPartitions,
        Self::InvalidReplicationFactor,
        Self::InvalidReplicaAssignment,
        Self::InvalidConfig,
        Self::NotController,
        Self::InvalidRequest,
        Self::UnsupportedForMessageFormat,
        Self::KafkaStorageError,
        Self::FetchSessionIdNotFound,
        Self::FencedLeaderEpoch,
        Self::UnknownLeaderEpoch,
        Self::StaleBrokerEpoch,
        Self::PreferredLeaderNotAvailable,
        Self::ElectionNotNeeded,
        Self::NoReassignmentInProgress,
        Self::InvalidRecord,
        Self::ThrottlingQuotaExceeded,
        Self::InvalidUpdateVersion,
        Self::UnknownTopicId,
        Self::DuplicateBrokerRegistration,
        Self::BrokerIdNotRegistered,
        Self::IneligibleReplica,
        Self::MismatchedEndpointType,
        Self::UnsupportedEndpointType,
    ];

    /// The code as it goes on the wire.
    pub const fn code(self) -> i16 {
        self as i16
    }

    /// The enum value for a wire code, if it is one the broker knows.
    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.iter().copied().find(|known| known.code() == code)
    }

    /// Kafka's upper-snake-case name of the code, as in the protocol guide.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            Self::None => "NONE",
            Self::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            Self::CorruptMessage => "CORRUPT_MESSAGE",
            Self::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            Self::InvalidFetchSize => "INVALID_FETCH_SIZE",
            Self::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            Self::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            Self::RequestTimedOut => "REQUEST_TIMED_OUT",
            Self::MessageTooLarge => "MESSAGE_TOO_LARGE",
            Self::InvalidTopicException => "INVALID_TOPIC_EXCEPTION",
            Self::RecordListTooLarge => "RECORD_LIST_TOO_LARGE",
            Self::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            Self::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            Self::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            Self::InvalidPartitions => "INVALID_PARTITIONS",
            Self::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            Self::InvalidReplicaAssignment => "INVALID_REPLICA_ASSIGNMENT",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::NotController => "NOT_CONTROLLER",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::UnsupportedForMessageFormat => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            Self::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            Self::FetchSessionIdNotFound => "FETCH_SESSION_ID_NOT_FOUND",
            Self::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            Self::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            Self::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            Self::PreferredLeaderNotAvailable => "PREFERRED_LEADER_NOT_AVAILABLE",
            Self::ElectionNotNeeded => "ELECTION_NOT_NEEDED",
            Self::NoReassignmentInProgress => "NO_REASSIGNMENT_IN_PROGRESS",
            Self::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            Self::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            Self::BrokerIdNotRegistered => "BROKER_ID_NOT_REGISTERED",
            Self::IneligibleReplica => "INELIGIBLE_REPLICA",
            Self::InvalidRecord => "INVALID_RECORD",
            Self::ThrottlingQuotaExceeded => "THROTTLING_QUOTA_EXCEEDED",
            Self::UnknownTopicId => "UNKNOWN_TOPIC_ID",
            Self::MismatchedEndpointType => "MISMATCHED_ENDPOINT_TYPE",
            Self::UnsupportedEndpointType => "UNSUPPORTED_ENDPOINT_TYPE",
        }
    }

    /// Whether a client may retry the request after this error (per the Kafka protocol).
    pub const fn is_retriable(self) -> bool {
        matches!(
            self,
            Self::CorruptMessage
                | Self::UnknownTopicOrPartition
                | Self::LeaderNotAvailable
                | Self::NotLeaderOrFollower
                | Self::RequestTimedOut
                | Self::NotEnoughReplicas
                | Self::NotEnoughReplicasAfterAppend
                | Self::KafkaStorageError
                | Self::NotController
                | Self::FetchSessionIdNotFound
                | Self::FencedLeaderEpoch
                | Self::UnknownLeaderEpoch
                | Self::PreferredLeaderNotAvailable
                | Self::ElectionNotNeeded
                | Self::ThrottlingQuotaExceeded
                | Self::UnknownTopicId
        )
    }
}

impl std::fmt::Display for KafkaErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// Why a frame could not be decoded or a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The request frame is shorter than the fixed 8-byte prefix (api key, version,
    /// correlation id) every request header starts with.
    #[error("request frame of {len} bytes is shorter than the 8-byte header prefix")]
    FrameTooShort {
        /// Length of the frame received.
        len: usize,
    },
    /// The api key is not one Kafka defines, or not one this broker implements.
    #[error(
        "unsupported api key {api_key} (version {api_version}, correlation id {correlation_id})"
    )]
    UnsupportedApiKey {
        /// The raw api key from the frame.
        api_key: i16,
        /// The raw api version from the frame.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
    },
    /// The api is implemented, but not at this version.
    #[error(
        "unsupported version {api_version} of {api_key:?} (supported {min}..={max}, correlation id {correlation_id})"
    )]
    UnsupportedVersion {
        /// The api.
        api_key: ApiKey,
        /// The version the client asked for.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
        /// Lowest version this broker supports for the api.
        min: i16,
        /// Highest version this broker supports for the api.
        max: i16,
    },
    /// The frame ended before the header or body was complete.
    #[error("{part} of {api_key:?} v{api_version} is truncated (correlation id {correlation_id})")]
    Truncated {
        /// Which part was cut short.
        part: MessagePart,
        /// The api.
        api_key: ApiKey,
        /// The version.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
    },
    /// The header or body does not follow the schema (bad length, bad UTF-8, …).
    #[error("malformed {part} of {api_key:?} v{api_version} (correlation id {correlation_id}): {reason}")]
    Malformed {
        /// Which part is malformed.
        part: MessagePart,
        /// The api.
        api_key: ApiKey,
        /// The version.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
        /// The decoder's explanation.
        reason: String,
    },
    /// An array in the body claims more elements than the rest of the frame could hold.
    /// Checked before decoding, because the decoder would pre-allocate that many elements.
    #[error(
        "{api_key:?} v{api_version} body claims an array of {count} elements with only {remaining} bytes left (correlation id {correlation_id})"
    )]
    ImplausibleArrayLength {
        /// The api.
        api_key: ApiKey,
        /// The version.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
        /// Elements claimed.
        count: u64,
        /// Bytes left after the length.
        remaining: usize,
    },
    /// Bytes remain after a complete, valid body.
    #[error("{trailing} trailing bytes after the body of {api_key:?} v{api_version} (correlation id {correlation_id})")]
    TrailingBytes {
        /// The api.
        api_key: ApiKey,
        /// The version.
        api_version: i16,
        /// The correlation id from the frame.
        correlation_id: i32,
        /// How many bytes were left over.
        trailing: usize,
    },
    /// The body given to an encoder or decoder is for a different api than the one named.
    #[error("body is a {actual:?} message but {expected:?} was named")]
    ApiKeyMismatch {
        /// The api the caller named.
        expected: ApiKey,
        /// The api of the body.
        actual: ApiKey,
    },
    /// A message could not be encoded at the requested version (for example a field is set
    /// that the version does not have).
    #[error("cannot encode {part} of {api_key:?} v{api_version}: {reason}")]
    Encode {
        /// Which part failed.
        part: MessagePart,
        /// The api.
        api_key: ApiKey,
        /// The version.
        api_version: i16,
        /// The encoder's explanation.
        reason: String,
    },
    /// An encoded message does not fit in a frame (its length must fit in an `i32`).
    #[error("encoded message of {len} bytes does not fit in a Kafka frame")]
    TooLargeToFrame {
        /// Length of the encoded header and body.
        len: usize,
    },
}

/// Which part of a message an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagePart {
    /// The request or response header.
    Header,
    /// The request or response body.
    Body,
}

impl std::fmt::Display for MessagePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Body => "body",
        })
    }
}

impl WireError {
    /// The correlation id of the request the error is about, when it could be read.
    pub fn correlation_id(&self) -> Option<i32> {
        match self {
            Self::UnsupportedApiKey { correlation_id, .. }
            | Self::UnsupportedVersion { correlation_id, .. }
            | Self::Truncated { correlation_id, .. }
            | Self::Malformed { correlation_id, .. }
            | Self::ImplausibleArrayLength { correlation_id, .. }
            | Self::TrailingBytes { correlation_id, .. } => Some(*correlation_id),
            Self::FrameTooShort { .. }
            | Self::ApiKeyMismatch { .. }
            | Self::Encode { .. }
            | Self::TooLargeToFrame { .. } => None,
        }
    }

    /// The Kafka error code that describes this failure to a client.
    pub fn kafka_error_code(&self) -> KafkaErrorCode {
        match self {
            Self::UnsupportedApiKey { .. } | Self::UnsupportedVersion { .. } => {
                KafkaErrorCode::UnsupportedVersion
            }
            Self::FrameTooShort { .. }
            | Self::Truncated { .. }
            | Self::Malformed { .. }
            | Self::ImplausibleArrayLength { .. }
            | Self::TrailingBytes { .. }
            | Self::ApiKeyMismatch { .. } => KafkaErrorCode::InvalidRequest,
            Self::Encode { .. } | Self::TooLargeToFrame { .. } => {
                KafkaErrorCode::UnknownServerError
            }
        }
    }
}

/// Whether a `kafka-protocol` decode error means "the input ended too early" (rather than
/// "the input is wrong"). The crate reports running out of bytes either as its own
/// `NotEnoughBytesError` or as `bytes::TryGetError`, possibly wrapped in context.
pub(crate) fn is_truncation(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<kafka_protocol::protocol::buf::NotEnoughBytesError>()
            || cause.is::<bytes::TryGetError>()
    })
}

/// Classifies a `kafka-protocol` decode error of one message part as `Truncated` or
/// `Malformed`, carrying the identity of the request it belongs to.
pub(crate) fn decode_failure(
    part: MessagePart,
    err: anyhow::Error,
    api_key: kafka_protocol::messages::ApiKey,
    api_version: i16,
    correlation_id: i32,
) -> WireError {
    if is_truncation(&err) {
        WireError::Truncated {
            part,
            api_key,
            api_version,
            correlation_id,
        }
    } else {
        WireError::Malformed {
            part,
            api_key,
            api_version,
            correlation_id,
            reason: describe(&err),
        }
    }
}

/// A one-line rendering of a `kafka-protocol` error with its causes.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    format!("{err:#}")
}
