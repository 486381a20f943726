//! The console client's errors, and Kafka error codes rendered the way Kafka's tools print
//! them (`UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.`).
//!
//! Contract: every failure of the client is a [`ClientError`]; an error code a broker put in
//! a response is a [`BrokerError`] whose `Display` is Kafka's upper-snake-case error name,
//! then the broker's message if it sent one, else Kafka's description of the code.

use odradek_core::wire::kafka_protocol::messages::ApiKey;
use odradek_core::wire::kafka_protocol::ResponseError;
use odradek_core::wire::{KafkaErrorCode, WireError};

use super::versions::NoCommonVersion;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed (connect, read, write, or a read timed out).
    #[error("{address}: {source}")]
    Io {
        /// The broker address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A request could not be encoded or a response could not be decoded.
    #[error("protocol error: {0}")]
    Wire(#[from] WireError),
    /// The broker and this client share no version of an api.
    #[error(transparent)]
    Version(#[from] NoCommonVersion),
    /// A response frame's size prefix is impossible.
    #[error("the broker sent a response frame of impossible size {size}")]
    BadFrameSize {
        /// The size read.
        size: i32,
    },
    /// A response answered another request than the one outstanding.
    #[error("the broker answered correlation id {received}, expected {expected}")]
    CorrelationMismatch {
        /// The id sent.
        expected: i32,
        /// The id received.
        received: i32,
    },
    /// The response body is of another api than the request.
    #[error("the broker's answer to {api:?} has the wrong type")]
    UnexpectedResponse {
        /// The api of the request.
        api: ApiKey,
    },
    /// Metadata named no broker for a partition leader.
    #[error("no address known for broker {broker_id}")]
    UnknownBroker {
        /// The broker id.
        broker_id: i32,
    },
    /// The broker answered with an error code.
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// An error code (with optional message) from a broker response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", self.name(), self.message())]
pub struct BrokerError {
    /// The wire code.
    pub code: i16,
    /// The broker's message, if it sent one.
    pub broker_message: Option<String>,
}

impl BrokerError {
    /// An error for `code` with the broker's `message`.
    pub fn new(code: i16, message: Option<&str>) -> BrokerError {
        BrokerError {
            code,
            broker_message: message.filter(|m| !m.is_empty()).map(str::to_string),
        }
    }

    /// `Err` for a non-zero code, `Ok` for 0.
    pub fn check(code: i16, message: Option<&str>) -> Result<(), BrokerError> {
        match code {
            0 => Ok(()),
            _ => Err(BrokerError::new(code, message)),
        }
    }

    /// Kafka's name for the code, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
    pub fn name(&self) -> String {
        error_name(self.code)
    }

    /// The broker's message, or a description of the code.
    pub fn message(&self) -> String {
        if let Some(message) = &self.broker_message {
            return message.clone();
        }
        match KafkaErrorCode::from_code(self.code) {
            Some(known) => describe_known(known),
            None => format!("error code {}", self.code),
        }
    }
}

/// Kafka's upper-snake-case name of an error code (`UNKNOWN(n)` for codes Kafka lacks).
pub fn error_name(code: i16) -> String {
    if let Some(known) = KafkaErrorCode::from_code(code) {
        return known.name().to_string();
    }
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN({code})"),
        Some(error) => upper_snake(&error.to_string()),
    }
}

fn describe_known(code: KafkaErrorCode) -> String {
    match code {
        KafkaErrorCode::UnknownTopicOrPartition => {
            "This server does not host this topic-partition.".to_string()
        }
        KafkaErrorCode::TopicAlreadyExists => "Topic with this name already exists.".to_string(),
        KafkaErrorCode::OffsetOutOfRange => {
            "The requested offset is not within the range of offsets maintained by the server."
                .to_string()
        }
        other => format!("error code {}", other.code()),
    }
}

/// `UnknownTopicOrPartition` → `UNKNOWN_TOPIC_OR_PARTITION`.
fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (index, character) in camel.chars().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(character.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas_upper_snake_case_names() {
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS");
        // Not in the broker's own table: named through kafka-protocol.
        assert_eq!(error_name(25), "UNKNOWN_MEMBER_ID");
        assert_eq!(error_name(-999), "UNKNOWN(-999)");
    }

    #[test]
    fn a_broker_message_is_preferred_over_the_generic_description() {
        let with_message = BrokerError::new(40, Some("retention.ms must be a number"));
        assert_eq!(
            with_message.to_string(),
            "INVALID_CONFIG: retention.ms must be a number"
        );
        let without = BrokerError::new(3, None);
        assert_eq!(
            without.to_string(),
            "UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition."
        );
    }
}
