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

#[cfg(test)]
mod tests {
    use super::*;
    use odradek_core::wire::kafka_protocol::messages::MetadataRequest;
    use odradek_core::wire::{
        api_versions_response, encode_api_versions_fallback, encode_response, peek_request_prefix,
        KafkaErrorCode,
    };
    use std::net::TcpListener;

    /// Reads one request frame from `stream`; returns its correlation id and api version.
    fn read_request(stream: &mut TcpStream) -> (i32, i16) {
        let mut prefix = [0u8; 4];
        stream.read_exact(&mut prefix).unwrap();
        let mut frame = vec![0u8; i32::from_be_bytes(prefix) as usize];
        stream.read_exact(&mut frame).unwrap();
        let request = peek_request_prefix(&frame).unwrap();
        (request.correlation_id, request.api_version)
    }

    /// A one-connection fake broker running `script` on the accepted socket.
    fn fake_broker(script: impl FnOnce(TcpStream) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            script(stream);
        });
        address
    }

    #[test]
    fn a_kip_511_fallback_answer_still_yields_the_brokers_ranges() {
        let address = fake_broker(|mut stream| {
            let (correlation_id, version) = read_request(&mut stream);
            assert_eq!(version, API_VERSIONS_VERSION);
            let answer = encode_api_versions_fallback(correlation_id).unwrap();
            stream.write_all(&answer).unwrap();
        });
        let connection = Connection::open(&address, Duration::from_secs(5)).unwrap();
        for api in CLIENT_APIS {
            assert_eq!(connection.version(api.api_key).unwrap(), api.max_version);
        }
    }

    #[test]
    fn a_response_with_another_correlation_id_is_an_error() {
        let address = fake_broker(|mut stream| {
            let (correlation_id, _) = read_request(&mut stream);
            let body = ResponseBody::ApiVersions(api_versions_response(KafkaErrorCode::None));
            let answer = encode_response(
                ApiKey::ApiVersions,
                API_VERSIONS_VERSION,
                correlation_id,
                &body,
            )
            .unwrap();
            stream.write_all(&answer).unwrap();
            let (correlation_id, version) = read_request(&mut stream);
            let body = ResponseBody::Metadata(Default::default());
            let wrong = encode_response(ApiKey::Metadata, version, correlation_id + 7, &body);
            stream.write_all(&wrong.unwrap()).unwrap();
        });
        let mut connection = Connection::open(&address, Duration::from_secs(5)).unwrap();
        let error = connection
            .call(RequestBody::Metadata(MetadataRequest::default()))
            .unwrap_err();
        assert!(
            matches!(error, ClientError::CorrelationMismatch { expected, received } if received == expected + 7),
            "{error}"
        );
    }

    #[test]
    fn a_broker_that_hangs_up_gives_an_io_error_naming_its_address() {
        let address = fake_broker(drop);
        let error = Connection::open(&address, Duration::from_secs(5)).unwrap_err();
        assert!(error.to_string().contains(&address), "{error}");
    }
}
