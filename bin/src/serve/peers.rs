//! Broker-to-broker links: the node's [`NodeOutput::ToBroker`] requests (a follower's Fetch
//! and OffsetForLeaderEpoch) as real Kafka frames to the peer's inter-broker listener, and
//! the peer's responses back as [`NodeInput::FromBroker`].
//!
//! # Contract
//! - **One connection per peer, in order** (the node's assumption): one task per peer owns
//!   the connection; requests are written in the order handed over; Kafka answers a
//!   connection's requests in order, so the reader pairs each response frame with the oldest
//!   unanswered request (its api and version decode the body).
//! - **Addresses come from the metadata**: the peer's registered `INTER_BROKER` listener
//!   (its first listener if it registered none). A link whose peer re-registered elsewhere is
//!   replaced.
//! - **Failures drop requests.** A connection that cannot be opened, breaks, or delivers an
//!   undecodable response ends its task; the requests in flight are lost and the node's
//!   fetcher resends them after its own timeout. The next request starts a new link.
//! - No protocol decisions.
//!
//! [`NodeOutput::ToBroker`]: odradek_core::node::NodeOutput::ToBroker

use super::connection::Event;
use super::socket::ReadHalf as OwnedReadHalf;
use bytes::BytesMut;
use odradek_core::controller::{BrokerId, MetadataImage};
use odradek_core::node::{NodeInput, NodeResponse};
use odradek_core::wire::kafka_protocol::messages::ApiKey;
use odradek_core::wire::{decode_response, encode_request, DecodedRequest, FrameDecoder};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The name of the listener peers replicate through.
pub const INTER_BROKER_LISTENER: &str = "INTER_BROKER";
/// Most requests queued for one peer; beyond that new ones are dropped (the fetcher
/// resends).
pub const PEER_QUEUE_MAX: usize = 1024;
/// Largest response frame accepted from a peer.
pub const PEER_FRAME_MAX: usize = 128 * 1024 * 1024;
/// How long connecting to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

struct PeerLink {
    address: String,
    requests: mpsc::Sender<DecodedRequest>,
}

/// The node task's side: one link per peer broker.
pub struct PeerLinks {
    links: BTreeMap<BrokerId, PeerLink>,
    events: mpsc::Sender<Event>,
}

impl PeerLinks {
    /// Links whose responses go to `events` (the node task's inbox).
    pub fn new(events: mpsc::Sender<Event>) -> PeerLinks {
        PeerLinks {
            links: BTreeMap::new(),
            events,
        }
    }

    /// Sends `request` to `broker`, found in `image`. Dropped if the broker has no address
    /// yet or its queue is full (the node resends).
    pub fn send(&mut self, image: &MetadataImage, broker: BrokerId, request: DecodedRequest) {
        let Some(address) = peer_address(image, broker) else {
            tracing::debug!(%broker, "no address for a peer broker yet");
            return;
        };
        let stale = self
            .links
            .get(&broker)
            .is_none_or(|link| link.address != address || link.requests.is_closed());
        if stale {
            let (requests, queue) = mpsc::channel(PEER_QUEUE_MAX);
            let task = LinkTask {
                broker,
                address: address.clone(),
                events: self.events.clone(),
            };
            tokio::spawn(task.run(queue));
            self.links.insert(broker, PeerLink { address, requests });
        }
        if let Some(link) = self.links.get(&broker) {
            if link.requests.try_send(request).is_err() {
                tracing::debug!(%broker, "peer queue full; request dropped");
            }
        }
    }
}

/// The `host:port` of `broker`'s inter-broker listener, per the metadata.
pub fn peer_address(image: &MetadataImage, broker: BrokerId) -> Option<String> {
    let registration = image.brokers().get(&broker)?;
    let listener = (registration.listeners.iter())
        .find(|l| l.name == INTER_BROKER_LISTENER)
        .or_else(|| registration.listeners.first())?;
    Some(format!("{}:{}", listener.host, listener.port))
}

struct LinkTask {
    broker: BrokerId,
    address: String,
    events: mpsc::Sender<Event>,
}

/// What the reader needs to decode a response: the request's api, version, correlation id.
type Expected = (ApiKey, i16, i32);

impl LinkTask {
    async fn run(self, mut queue: mpsc::Receiver<DecodedRequest>) {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.address))
            .await
        {
            Ok(Ok(stream)) => stream,
            _ => {
                tracing::debug!(broker = %self.broker, address = %self.address, "peer unreachable");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let (read, mut write) = super::socket::split(stream);
        let (expect_tx, expect_rx) = mpsc::unbounded_channel::<Expected>();
        let reader = tokio::spawn(read_responses(
            read,
            expect_rx,
            self.broker,
            self.events.clone(),
        ));
        while let Some(request) = queue.recv().await {
            let frame: BytesMut = match encode_request(&request.header, &request.body) {
                Ok(frame) => frame,
                Err(error) => {
                    tracing::error!(%error, "cannot encode a request to a peer");
                    continue;
                }
            };
            let expected = (
                request.api_key,
                request.api_version,
                request.correlation_id(),
            );
            if expect_tx.send(expected).is_err()
                || super::socket::write_all(&mut write, &frame).await.is_err()
            {
                break;
            }
            if reader.is_finished() {
                break;
            }
        }
        reader.abort();
    }
}

async fn read_responses(
    mut read: OwnedReadHalf,
    mut expected: mpsc::UnboundedReceiver<Expected>,
    broker: BrokerId,
    events: mpsc::Sender<Event>,
) {
    let mut decoder = FrameDecoder::new(PEER_FRAME_MAX);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let frame = match decoder.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => match read.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    decoder.push(&chunk[..n]);
                    continue;
                }
            },
            Err(_) => return,
        };
        let Some((api_key, api_version, correlation_id)) = expected.recv().await else {
            return;
        };
        let body = match decode_response(api_key, api_version, frame) {
            Ok((_, body)) => body,
            Err(error) => {
                tracing::warn!(%broker, %error, "undecodable response from a peer");
                return;
            }
        };
        let response = NodeResponse {
            api_key,
            api_version,
            correlation_id,
            body,
        };
        let input = NodeInput::FromBroker { broker, response };
        if events.send(Event::Input(Box::new(input))).await.is_err() {
            return;
        }
    }
}
