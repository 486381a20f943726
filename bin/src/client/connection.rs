//! One blocking connection to a Kafka broker: ApiVersions negotiation on connect, then
//! request/response exchanges matched by correlation id.
//!
//! Contract: [`Connection::open`] connects, sends ApiVersions (v3, falling back to the v0
//! body a broker sends per KIP-511 when it does not know v3) and records the negotiated
//! versions. [`Connection::call`] encodes a request at the negotiated version of its api,
//! writes it, reads exactly one size-prefixed response frame, checks its correlation id and
//! decodes it. [`Connection::send_only`] is for requests the broker does not answer
//! (Produce with acks=0). One request is outstanding at a time; every failure is a typed
//! [`ClientError`].
//!
//! Why: the console tools need nothing more than a strictly sequential conversation, and a
//! blocking socket keeps them free of an async runtime.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use odradek_core::wire::kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{
    decode_response, encode_request, RequestBody, ResponseBody, SIZE_PREFIX_LEN,
};

use super::error::ClientError;
use super::versions::{NegotiatedVersions, CLIENT_APIS};

/// The client id sent in every request header.
pub const CLIENT_ID: &str = "odradek-console";
/// The largest response frame accepted (a fetch is bounded by its max_bytes well below this).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
const API_VERSIONS_VERSION: i16 = 3;

/// A connected, version-negotiated broker connection.
#[derive(Debug)]
pub struct Connection {
    address: String,
    stream: TcpStream,
    next_correlation_id: i32,
    versions: NegotiatedVersions,
}

impl Connection {
    /// Connects to `address` (`host:port`) and negotiates api versions. `io_timeout` bounds
    /// connecting and each read and write.
    pub fn open(address: &str, io_timeout: Duration) -> Result<Connection, ClientError> {
        let stream = connect(address, io_timeout)?;
        let mut connection = Connection {
            address: address.to_string(),
            stream,
            next_correlation_id: 0,
            versions: NegotiatedVersions::default(),
        };
        connection.negotiate()?;
        Ok(connection)
    }

    /// The `host:port` this connection was opened to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The negotiated versions.
    pub fn versions(&self) -> &NegotiatedVersions {
        &self.versions
    }

    /// The negotiated version of `api`.
    pub fn version(&self, api: ApiKey) -> Result<i16, ClientError> {
        Ok(self.versions.version(api)?)
    }

    /// Sends `body` at the negotiated version of its api and returns the broker's answer.
    pub fn call(&mut self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        let api = body.api_key();
        let version = self.version(api)?;
        let correlation_id = self.write_request(&body, version)?;
        self.read_response(api, version, correlation_id)
    }

    /// Sends `body` without waiting for an answer (Produce with acks=0 gets none).
    pub fn send_only(&mut self, body: RequestBody) -> Result<(), ClientError> {
        let version = self.version(body.api_key())?;
        self.write_request(&body, version).map(|_| ())
    }

    /// Sets how long a read may block (a long-poll fetch waits up to its max_wait_ms).
    pub fn set_read_timeout(&self, timeout: Duration) -> Result<(), ClientError> {
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|source| self.io_error(source))
    }

    fn negotiate(&mut self) -> Result<(), ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(CLIENT_ID))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let body = RequestBody::ApiVersions(request);
        let correlation_id = self.write_request(&body, API_VERSIONS_VERSION)?;
        let frame = self.read_frame(correlation_id)?;
        let decoded = decode_response(ApiKey::ApiVersions, API_VERSIONS_VERSION, frame.clone())
            .or_else(|_| decode_response(ApiKey::ApiVersions, 0, frame))?;
        let ResponseBody::ApiVersions(response) = decoded.1 else {
            return Err(ClientError::UnexpectedResponse {
                api: ApiKey::ApiVersions,
            });
        };
        // An UNSUPPORTED_VERSION answer still carries the broker's ranges (KIP-511).
        if response.error_code != 0 && response.api_keys.is_empty() {
            return Err(ClientError::Broker(super::error::BrokerError::new(
                response.error_code,
                None,
            )));
        }
        self.versions = NegotiatedVersions::negotiate(&response.api_keys, CLIENT_APIS);
        Ok(())
    }

    fn write_request(&mut self, body: &RequestBody, version: i16) -> Result<i32, ClientError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(body.api_key() as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let frame = encode_request(&header, body)?;
        self.stream
            .write_all(&frame)
            .map_err(|source| self.io_error(source))?;
        Ok(correlation_id)
    }

    fn read_response(
        &mut self,
        api: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> Result<ResponseBody, ClientError> {
        let frame = self.read_frame(correlation_id)?;
        let (_, body) = decode_response(api, version, frame)?;
        if body.api_key() != api {
            return Err(ClientError::UnexpectedResponse { api });
        }
        Ok(body)
    }

    /// Reads one response frame and checks that it answers `correlation_id`.
    fn read_frame(&mut self, correlation_id: i32) -> Result<Bytes, ClientError> {
        let mut prefix = [0u8; SIZE_PREFIX_LEN];
        self.stream
            .read_exact(&mut prefix)
            .map_err(|source| self.io_error(source))?;
        let size = i32::from_be_bytes(prefix);
        let len = usize::try_from(size)
            .ok()
            .filter(|&len| (4..=MAX_RESPONSE_BYTES).contains(&len))
            .ok_or(ClientError::BadFrameSize { size })?;
        let mut frame = vec![0u8; len];
        self.stream
            .read_exact(&mut frame)
            .map_err(|source| self.io_error(source))?;
        let received = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        if received != correlation_id {
            return Err(ClientError::CorrelationMismatch {
                expected: correlation_id,
                received,
            });
        }
        Ok(Bytes::from(frame))
    }

    fn io_error(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            address: self.address.clone(),
            source,
        }
    }
}

fn connect(address: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let io_error = |source| ClientError::Io {
        address: address.to_string(),
        source,
    };
    let mut last_error = None;
    for socket_address in address.to_socket_addrs().map_err(io_error)? {
        match TcpStream::connect_timeout(&socket_address, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(io_error)?;
                stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
                stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(io_error(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "address resolved to nothing")
    })))
}
