//! Length-prefixed JSON frames: the controller RPC's wire format (the same framing as the
//! raft RPCs of [`crate::raft`], so one listener serves both).
//!
//! A frame is `len: u32 BE` then `len` bytes of JSON. Frames above
//! [`crate::raft::FRAME_LEN_MAX`] are refused (the connection closes). Readers here are used
//! only from tasks that do nothing else, so `read_exact`'s lack of cancel safety never
//! matters.

use crate::raft::FRAME_LEN_MAX;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// Encodes `message` as one frame.
pub fn encode_frame<T: Serialize>(message: &T) -> io::Result<Vec<u8>> {
    let payload = serde_json::to_vec(message).map_err(io::Error::other)?;
    if payload.len() > FRAME_LEN_MAX {
        return Err(io::Error::other("frame over the size limit"));
    }
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Writes `message` as one frame.
pub async fn write_frame<W, T>(stream: &mut W, message: &T) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    super::socket::write_all(stream, &encode_frame(message)?).await
}

/// Reads one frame's payload; `None` if the peer closed the connection between frames.
pub async fn read_payload<R: AsyncRead + Unpin>(stream: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > FRAME_LEN_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// Decodes a payload read by [`read_payload`].
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> io::Result<T> {
    serde_json::from_slice(payload)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Reads and decodes one frame; `None` at a clean end of stream.
pub async fn read_frame<R, T>(stream: &mut R) -> io::Result<Option<T>>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    match read_payload(stream).await? {
        Some(payload) => decode_payload(&payload).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odradek_core::controller::{
        BrokerFencingRecord, BrokerId, CommittedRecord, ControllerEnvelope, ControllerError,
        ControllerResponse, IncarnationId, MetadataOffset, MetadataRecord, PartitionIndex,
    };

    fn round_trip<T: Serialize + DeserializeOwned>(message: &T) -> T {
        let frame = encode_frame(message).expect("encodes");
        let len = u32::from_be_bytes(frame[..4].try_into().expect("prefix")) as usize;
        assert_eq!(len, frame.len() - 4, "the prefix is the payload's length");
        decode_payload(&frame[4..]).expect("decodes")
    }

    #[test]
    fn committed_metadata_records_cross_the_wire_unchanged() {
        let records = vec![CommittedRecord {
            offset: MetadataOffset(41),
            record: MetadataRecord::UnfenceBroker(BrokerFencingRecord {
                broker_id: BrokerId(2),
                incarnation: IncarnationId(u128::MAX - 7),
            }),
        }];
        let envelope = ControllerEnvelope {
            correlation_id: u64::MAX,
            body: ControllerResponse::Metadata { records },
        };
        assert_eq!(round_trip(&envelope), envelope);
    }

    #[test]
    fn a_refusal_keeps_its_kind_and_its_reason() {
        let refused = ControllerResponse::AlterPartition(Err(ControllerError::IneligibleReplica {
            broker_id: BrokerId(3),
            reason: "fenced".into(),
        }));
        let decoded = round_trip(&refused);
        assert_eq!(decoded, refused);
        let ControllerResponse::AlterPartition(Err(error)) = decoded else {
            panic!("decoded as another answer: {decoded:?}");
        };
        assert_eq!(error.to_string(), "broker 3 cannot join the ISR: fenced");
        let unknown = ControllerResponse::AlterPartition(Err(ControllerError::UnknownPartition {
            topic_id: odradek_core::controller::TopicId::from_u128(9),
            partition: PartitionIndex(1),
        }));
        assert_eq!(round_trip(&unknown), unknown);
    }

    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_when_read() {
        let mut bytes = ((FRAME_LEN_MAX + 1) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let error = read_payload(&mut bytes.as_slice())
            .await
            .expect_err("too large");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
