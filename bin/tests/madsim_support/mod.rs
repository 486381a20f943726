//! Shared helpers of the `madsim_*` tests (level-2 simulation, `--cfg madsim` only): a
//! minimal async Kafka client over madsim's simulated TCP, and reading a partition back to
//! its high watermark. Requests are built with `serve_support`'s builders.
#![allow(dead_code)]

use crate::serve_support::{fetch_request, records_from, FETCH_V};
use bytes::Bytes;
use odradek_core::wire::kafka_protocol::messages::{ApiKey, RequestHeader};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{decode_response, encode_request, RequestBody, ResponseBody};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for one response (the broker may be dead or cut off).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One simulated connection, one request at a time. After a failed call the connection is
/// in an unknown state: drop it and connect again.
pub struct Client {
    stream: TcpStream,
    next_correlation: i32,
}

/// Why a call got no response (the broker is gone or unreachable, or answered garbage).
#[derive(Debug)]
pub enum CallError {
    /// The connection failed.
    Io,
    /// No response within [`CALL_TIMEOUT`].
    TimedOut,
}

impl Client {
    /// Connects to `address`, within [`CALL_TIMEOUT`].
    pub async fn connect(address: SocketAddr) -> Result<Client, CallError> {
        match madsim::time::timeout(CALL_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => Ok(Client {
                stream,
                next_correlation: 1,
            }),
            Ok(Err(_)) => Err(CallError::Io),
            Err(_) => Err(CallError::TimedOut),
        }
    }

    /// Retries connecting for a while (a restarted broker may still be recovering).
    pub async fn connect_with_retries(address: SocketAddr) -> Client {
        for _ in 0..50 {
            if let Ok(client) = Client::connect(address).await {
                return client;
            }
            madsim::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{address} never accepted a connection")
    }

    /// Sends `body` and reads its response, within [`CALL_TIMEOUT`].
    pub async fn call(
        &mut self,
        version: i16,
        body: impl Into<RequestBody>,
    ) -> Result<ResponseBody, CallError> {
        let body = body.into();
        match madsim::time::timeout(CALL_TIMEOUT, self.exchange(version, body)).await {
            Ok(result) => result.map_err(|_| CallError::Io),
            Err(_) => Err(CallError::TimedOut),
        }
    }

    async fn exchange(&mut self, version: i16, body: RequestBody) -> std::io::Result<ResponseBody> {
        let api_key: ApiKey = body.api_key();
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("madsim-test")));
        let frame = encode_request(&header, &body).map_err(std::io::Error::other)?;
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await?;
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut frame).await?;
        let (header, body) =
            decode_response(api_key, version, Bytes::from(frame)).map_err(std::io::Error::other)?;
        assert_eq!(
            header.correlation_id, correlation_id,
            "response to another request"
        );
        Ok(body)
    }
}

/// Every (offset, value) of `topic`'s partition 0 from offset 0 up to the high watermark,
/// read through `client`; `Err` with the reason if the broker does not answer or answers
/// an error (it may have lost leadership: ask Metadata again).
pub async fn read_partition(
    client: &mut Client,
    topic: &str,
) -> Result<Vec<(i64, String)>, String> {
    let mut read = Vec::new();
    let mut offset = 0i64;
    loop {
        let response = client.call(FETCH_V, fetch_request(topic, 0, offset)).await;
        let Ok(ResponseBody::Fetch(response)) = response else {
            return Err(format!("no Fetch response: {response:?}"));
        };
        let data = &response.responses[0].partitions[0];
        if data.error_code != 0 {
            return Err(format!("fetch error: {data:?}"));
        }
        let records = data.records.clone().unwrap_or_default();
        if records.is_empty() {
            assert_eq!(offset, data.high_watermark, "fetch stalled below the HW");
            return Ok(read);
        }
        for (record_offset, value) in records_from(records, offset) {
            read.push((record_offset, value));
            offset = record_offset + 1;
        }
    }
}
