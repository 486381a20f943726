//! Client connections: the acceptor and one task per connection.
//!
//! # Contract
//! - The acceptor numbers each accepted socket with a fresh [`ConnectionId`], announces it to
//!   the node task ([`Event::Opened`], carrying the connection's outbound sender) *before* any
//!   of its requests, and spawns its task. It stops when told to (shutdown).
//! - A connection task splits the byte stream with [`FrameDecoder`] (frames above
//!   `max_request_bytes` are refused), decodes each frame with [`decode_request`] and sends
//!   [`NodeInput::Request`] or [`NodeInput::Undecodable`] to the node task, in arrival order.
//!   It writes the frames the node task hands it in the order handed (the node orders
//!   responses per connection; frames already queued go out in one vectored write), and closes the socket on [`Outbound::Close`], after the
//!   frames before it.
//! - Backpressure: at most [`IN_FLIGHT_MAX`] requests awaiting a response per connection; the
//!   task stops reading the socket, and stops handing on frames already read, above that
//!   (as Kafka mutes a channel with a request in progress). The outbound channel holds more than that, so the node task never waits for
//!   a client.
//! - A frame error (negative or oversized size prefix), a read or write error, or EOF ends the
//!   task: it logs why, naming the peer, and reports [`NodeInput::ConnectionClosed`].
//! - Idle connections (Kafka's `connections.max.idle.ms`): a connection with no request bytes
//!   read and no response written for [`ConnectionSettings::max_idle`], and no request
//!   awaiting its response, is closed (logged at debug), as Kafka's broker does, so
//!   abandoned clients do not hold sockets and buffers forever. The timer is re-armed lazily
//!   (one `Instant::now` per read or write, no timer reset), so it costs the hot path nothing.
//!
//! No protocol decisions: the only thing looked at is whether a produce has `acks=0` (it gets
//! no response, so it takes no in-flight slot).

use bytes::BytesMut;
use odradek_core::node::{ConnectionId, NodeInput};
use odradek_core::wire::kafka_protocol::messages::ApiKey;
use odradek_core::wire::{
    decode_inter_broker_request, decode_request, peek_request_prefix, DecodedRequest, FrameDecoder,
    InterBrokerRequestBody, RequestBody, WireError,
};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};

use super::socket::{readable as readable_socket, try_read, ReadStash};

/// Most requests per connection awaiting their response before reading pauses.
pub const IN_FLIGHT_MAX: usize = 128;
/// Capacity of a connection's outbound channel (responses plus a close).
pub const OUTBOUND_CAPACITY: usize = IN_FLIGHT_MAX + 2;
/// Most response frames written with one vectored write.
const FRAMES_PER_WRITE: usize = 64;
/// Bytes read from a socket per read call.
const READ_CHUNK: usize = 32 * 1024;

/// Per-connection limits from the serve configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Largest request frame accepted (`socket.request.max.bytes`).
    pub max_request_bytes: usize,
    /// How long a connection may be idle before it is closed (`connections.max.idle.ms`);
    /// `None` keeps idle connections forever.
    pub max_idle: Option<Duration>,
    /// The id of the first connection accepted (listeners of one node number their
    /// connections in disjoint ranges).
    pub first_connection_id: u64,
    /// The inter-broker listener: also decodes the inter-broker apis a follower sends
    /// (OffsetForLeaderEpoch), which clients never may.
    pub inter_broker: bool,
}

/// Connection ids of the inter-broker listener start here (the client listener's at 0).
pub const INTER_BROKER_FIRST_CONNECTION_ID: u64 = 1 << 48;

/// Decodes a request frame; on the inter-broker listener OffsetForLeaderEpoch too (through
/// the inter-broker table, then handed to the node as the ordinary request it is).
fn decode(frame: bytes::Bytes, inter_broker: bool) -> Result<DecodedRequest, WireError> {
    if !inter_broker {
        return decode_request(frame);
    }
    let is_epoch_query = peek_request_prefix(&frame)
        .is_ok_and(|prefix| prefix.api_key == ApiKey::OffsetForLeaderEpoch as i16);
    if !is_epoch_query {
        return decode_request(frame);
    }
    let request = decode_inter_broker_request(frame)?;
    let body = match request.body {
        InterBrokerRequestBody::OffsetForLeaderEpoch(body) => {
            RequestBody::OffsetForLeaderEpoch(body)
        }
        _ => {
            return Err(WireError::UnsupportedApiKey {
                api_key: request.api_key as i16,
                api_version: request.api_version,
                correlation_id: request.header.correlation_id,
            })
        }
    };
    Ok(DecodedRequest {
        header: request.header,
        body,
        api_key: request.api_key,
        api_version: request.api_version,
        trailing_bytes: request.trailing_bytes,
    })
}

/// What the node task sends a connection.
#[derive(Debug)]
pub enum Outbound {
    /// A size-prefixed response frame to write.
    Frame(BytesMut),
    /// Close after the frames sent before.
    Close,
}

/// What connection tasks send the node task.
#[derive(Debug)]
pub enum Event {
    /// A connection was accepted; its responses go to `outbound`.
    Opened {
        /// The connection.
        connection: ConnectionId,
        /// The peer, for logs.
        peer: SocketAddr,
        /// Where its responses go.
        outbound: mpsc::Sender<Outbound>,
    },
    /// An input for the node (boxed: a decoded request is large).
    Input(Box<NodeInput>),
}

/// Accepts connections until `stop` turns true, spawning a task for each.
pub async fn accept_loop(
    listener: TcpListener,
    events: mpsc::Sender<Event>,
    settings: ConnectionSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut next_id = settings.first_connection_id;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = ConnectionId(next_id);
        next_id += 1;
        let (outbound, responses) = mpsc::channel(OUTBOUND_CAPACITY);
        let opened = Event::Opened {
            connection,
            peer,
            outbound,
        };
        if events.send(opened).await.is_err() {
            break; // the node task is gone
        }
        tracing::debug!(%peer, id = connection.0, "connection accepted");
        let task = ConnectionTask {
            connection,
            peer,
            events: events.clone(),
            decoder: FrameDecoder::new(settings.max_request_bytes),
            inter_broker: settings.inter_broker,
            in_flight: 0,
            idle: settings.max_idle.map(IdleTimer::new),
            stash: ReadStash::default(),
        };
        tokio::spawn(task.run(stream, responses));
    }
    tracing::info!("stopped accepting connections");
}

struct ConnectionTask {
    connection: ConnectionId,
    peer: SocketAddr,
    events: mpsc::Sender<Event>,
    decoder: FrameDecoder,
    inter_broker: bool,
    in_flight: usize,
    idle: Option<IdleTimer>,
    stash: ReadStash,
}

impl ConnectionTask {
    async fn run(mut self, mut stream: TcpStream, mut responses: mpsc::Receiver<Outbound>) {
        let reason = self.serve(&mut stream, &mut responses).await;
        tracing::debug!(peer = %self.peer, id = self.connection.0, %reason, "connection closed");
        let _ = stream.shutdown().await;
        let closed = NodeInput::ConnectionClosed {
            connection: self.connection,
        };
        let _ = self.events.send(Event::Input(Box::new(closed))).await;
    }

    /// Serves until the connection ends; returns why.
    async fn serve(
        &mut self,
        stream: &mut TcpStream,
        responses: &mut mpsc::Receiver<Outbound>,
    ) -> String {
        loop {
            let readable = self.in_flight < IN_FLIGHT_MAX;
            tokio::select! {
                outbound = responses.recv() => match outbound {
                    Some(Outbound::Frame(frame)) => {
                        let (frames, close) = gather_frames(frame, responses);
                        if let Err(error) = write_frames(stream, &frames).await {
                            return format!("write failed: {error}");
                        }
                        self.touch();
                        if close {
                            return "closed by the broker".to_owned();
                        }
                        self.in_flight = self.in_flight.saturating_sub(frames.len());
                        // Frames already buffered may now go on.
                        if let Err(reason) = self.forward_frames().await {
                            return reason;
                        }
                    }
                    Some(Outbound::Close) => return "closed by the broker".to_owned(),
                    None => return "broker shutting down".to_owned(),
                },
                ready = readable_socket(stream, &mut self.stash), if readable => {
                    if let Err(error) = ready {
                        return format!("read failed: {error}");
                    }
                    match self.read_available(stream) {
                        Ok(true) => self.touch(),
                        Ok(false) => return "closed by the client".to_owned(),
                        Err(error) => return format!("read failed: {error}"),
                    }
                    if let Err(reason) = self.forward_frames().await {
                        return reason;
                    }
                }
                () = idle_deadline(&mut self.idle) => {
                    if let Some(reason) = self.idle_expired() {
                        return reason;
                    }
                }
            }
        }
    }

    /// Notes activity on the connection (bytes read or a response written).
    fn touch(&mut self) {
        if let Some(idle) = &mut self.idle {
            idle.last_activity = Instant::now();
        }
    }

    /// At the idle timer's deadline: why to close, if the connection really was idle that
    /// long with nothing in flight; otherwise re-arms the timer.
    fn idle_expired(&mut self) -> Option<String> {
        let idle = self.idle.as_mut()?;
        let now = Instant::now();
        let quiet = now.saturating_duration_since(idle.last_activity);
        if self.in_flight == 0 && quiet >= idle.max_idle {
            return Some(format!(
                "idle for {} ms (connections.max.idle.ms)",
                quiet.as_millis()
            ));
        }
        let from = if self.in_flight == 0 {
            idle.last_activity
        } else {
            now
        };
        idle.sleep.as_mut().reset(from + idle.max_idle);
        None
    }

    /// Moves what the socket has into the frame decoder, through a stack buffer (so an idle
    /// connection holds no read buffer). False at end of stream.
    fn read_available(&mut self, stream: &mut TcpStream) -> std::io::Result<bool> {
        let mut chunk = [0u8; READ_CHUNK];
        match try_read(stream, &mut self.stash, &mut chunk) {
            Ok(0) => Ok(false),
            Ok(read) => {
                self.decoder.push(&chunk[..read]);
                Ok(true)
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// Decodes complete buffered frames and hands them to the node task, while fewer than
    /// [`IN_FLIGHT_MAX`] requests await a response.
    async fn forward_frames(&mut self) -> Result<(), String> {
        while self.in_flight < IN_FLIGHT_MAX {
            let frame = match self.decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(error) => {
                    tracing::warn!(peer = %self.peer, %error, "closing connection: bad frame");
                    return Err(format!("bad frame: {error}"));
                }
            };
            let input = match decode(frame, self.inter_broker) {
                Ok(request) => {
                    if request.expects_response() {
                        self.in_flight += 1;
                    }
                    NodeInput::Request {
                        connection: self.connection,
                        request,
                    }
                }
                Err(error) => {
                    tracing::warn!(peer = %self.peer, %error, "undecodable request");
                    self.in_flight += 1;
                    NodeInput::Undecodable {
                        connection: self.connection,
                        error,
                    }
                }
            };
            if self
                .events
                .send(Event::Input(Box::new(input)))
                .await
                .is_err()
            {
                return Err("broker shutting down".to_owned());
            }
        }
        Ok(())
    }
}

/// The idle-connection timer: the deadline is only moved when it fires (see the module docs).
struct IdleTimer {
    max_idle: Duration,
    last_activity: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    fn new(max_idle: Duration) -> IdleTimer {
        let now = Instant::now();
        IdleTimer {
            max_idle,
            last_activity: now,
            sleep: Box::pin(tokio::time::sleep_until(now + max_idle)),
        }
    }
}

/// Completes when the idle timer fires; never if there is none.
async fn idle_deadline(idle: &mut Option<IdleTimer>) {
    match idle {
        Some(timer) => timer.sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// `first` and the frames already queued behind it (up to [`FRAMES_PER_WRITE`]), and whether
/// a close follows them.
fn gather_frames(
    first: BytesMut,
    responses: &mut mpsc::Receiver<Outbound>,
) -> (Vec<BytesMut>, bool) {
    let mut frames = vec![first];
    while frames.len() < FRAMES_PER_WRITE {
        match responses.try_recv() {
            Ok(Outbound::Frame(frame)) => frames.push(frame),
            Ok(Outbound::Close) => return (frames, true),
            Err(_) => break,
        }
    }
    (frames, false)
}

/// Writes `frames` in order with vectored writes (no copying them together).
async fn write_frames(stream: &mut TcpStream, frames: &[BytesMut]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|frame| IoSlice::new(frame)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let written = stream.write_vectored(rest).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    // A no-op for tokio's socket; madsim's sends what was written only on flush.
    stream.flush().await
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
